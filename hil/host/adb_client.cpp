#include "hil/host/adb_client.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>


namespace rmtfs_hil::hil {

namespace {

using Clock = std::chrono::steady_clock;

// A running adb client with its stdout and stderr on pipes.
class Child {
public:
    explicit Child(const std::vector<std::string>& argv) {
        int out[2], err[2];
        if (::pipe2(out, O_CLOEXEC) != 0) return;
        if (::pipe2(err, O_CLOEXEC) != 0) {
            ::close(out[0]);
            ::close(out[1]);
            return;
        }
        std::vector<char*> args;
        for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
        args.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ == 0) {
            // The client dies with the harness: the device then closes the
            // command's stream and the agent restores the board by itself.
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            int null = ::open("/dev/null", O_RDONLY);
            ::dup2(null, STDIN_FILENO);
            ::dup2(out[1], STDOUT_FILENO);
            ::dup2(err[1], STDERR_FILENO);
            ::execvp(args[0], args.data());
            std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
            ::_exit(127);
        }
        ::close(out[1]);
        ::close(err[1]);
        out_ = out[0];
        err_ = err[0];
        if (pid_ < 0) close_pipes();
    }
    ~Child() {
        if (pid_ > 0) end();
        close_pipes();
    }
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    bool started() const { return pid_ > 0; }

    // Reads both pipes until they close, the deadline passes or `stop` is
    // asked; stdout goes to `on_out` as it comes.
    enum class Ended { closed, deadline, stopped };
    Ended pump(const std::function<void(std::string_view)>& on_out, std::string& err, Clock::time_point deadline,
               const engine::Interrupt& stop) {
        std::array<char, 65536> buffer{};
        while (out_ >= 0 || err_ >= 0) {
            if (stop()) return Ended::stopped;
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
            if (left <= 0) return Ended::deadline;
            pollfd fds[3] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}, {stop.wake_fd, POLLIN, 0}};
            // Without a wake fd the stop request is looked at every 50 ms.
            int wait = static_cast<int>(std::min<long long>(left, stop.wake_fd >= 0 ? 60000 : 50));
            if (::poll(fds, 3, wait) < 0 && errno != EINTR) return Ended::closed;
            for (int i = 0; i < 2; ++i) {
                int& fd = i == 0 ? out_ : err_;
                if (fd < 0 || (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
                ssize_t got = ::read(fd, buffer.data(), buffer.size());
                if (got < 0 && errno == EINTR) continue;
                if (got <= 0) {
                    ::close(fd);
                    fd = -1;
                    continue;
                }
                std::string_view data(buffer.data(), static_cast<std::size_t>(got));
                if (i == 0) on_out(data);
                else err.append(data);
            }
        }
        return Ended::closed;
    }

    // SIGTERM, then SIGKILL after a grace; the exit status as AdbResult has it.
    int end() {
        if (pid_ <= 0) return -1;
        ::kill(pid_, SIGTERM);
        auto deadline = Clock::now() + std::chrono::seconds(2);
        int status = 0;
        while (::waitpid(pid_, &status, WNOHANG) == 0) {
            if (Clock::now() > deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, &status, 0);
                break;
            }
            ::usleep(10000);
        }
        pid_ = -1;
        return decode(status);
    }
    int wait() {
        int status = 0;
        while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        return decode(status);
    }

private:
    static int decode(int status) {
        if (WIFEXITED(status)) return WEXITSTATUS(status);
        if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
        return -1;
    }
    void close_pipes() {
        for (int* fd : {&out_, &err_})
            if (*fd >= 0) {
                ::close(*fd);
                *fd = -1;
            }
    }

    pid_t pid_ = -1;
    int out_ = -1, err_ = -1;
};

AdbResult drive(const std::vector<std::string>& argv, const std::function<void(std::string_view)>& on_out,
                Clock::time_point deadline, const engine::Interrupt& stop) {
    AdbResult result;
    Child child(argv);
    if (!child.started()) {
        result.err = "cannot start " + argv[0] + ": " + std::strerror(errno);
        return result;
    }
    Child::Ended ended = child.pump(on_out, result.err, deadline, stop);
    if (ended == Child::Ended::closed) {
        result.status = child.wait();
    } else {
        result.timed_out = ended == Child::Ended::deadline;
        result.status = child.end();
    }
    return result;
}

}  // namespace

std::string AdbResult::describe(std::string_view what) const {
    std::string text(what);
    if (timed_out) text += " timed out";
    else if (status < 0) text += " could not run";
    else text += " exited " + std::to_string(status);
    std::string detail = err.empty() ? out : err;
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == '\r')) detail.pop_back();
    if (!detail.empty()) text += ": " + detail;
    return text;
}

AdbClient::AdbClient(std::string adb_binary, std::string serial) : adb_(std::move(adb_binary)), serial_(std::move(serial)) {}

std::vector<std::string> AdbClient::command(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{adb_};
    if (!serial_.empty()) argv.insert(argv.end(), {"-s", serial_});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

AdbResult AdbClient::run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const {
    std::string out;
    AdbResult result = drive(command(args), [&](std::string_view data) { out.append(data); }, Clock::now() + timeout, {});
    result.out = std::move(out);
    return result;
}

AdbResult AdbClient::shell(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) const {
    return run({"shell", device_command(argv)}, timeout);
}

AdbResult AdbClient::shell_lines(const std::vector<std::string>& argv, const std::function<void(std::string_view)>& on_line,
                                 const engine::Interrupt& stop) const {
    std::string pending;
    auto split = [&](std::string_view data) {
        pending.append(data);
        std::size_t start = 0;
        for (std::size_t nl; (nl = pending.find('\n', start)) != std::string::npos; start = nl + 1) {
            std::string_view line(pending.data() + start, nl - start);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            on_line(line);
        }
        pending.erase(0, start);
    };
    AdbResult result = drive(command({"shell", device_command(argv)}), split, Clock::time_point::max(), stop);
    if (!pending.empty()) on_line(pending);
    return result;
}

bool AdbClient::server_running() {
    int port = 5037;
    if (const char* text = std::getenv("ANDROID_ADB_SERVER_PORT"); text != nullptr && *text != '\0') port = std::atoi(text);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool up = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return up;
}

std::string AdbClient::device_command(const std::vector<std::string>& argv) {
    std::string line;
    for (const auto& word : argv) {
        if (!line.empty()) line += ' ';
        // Always quoted: the device's shell sees each word as one argument.
        line += '\'';
        for (char c : word) line += c == '\'' ? std::string("'\\''") : std::string(1, c);
        line += '\'';
    }
    return line;
}

}  // namespace rmtfs_hil::hil
