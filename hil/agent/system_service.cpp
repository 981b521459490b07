#include "hil/agent/system_service.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "engine/scenario.hpp"
#include "proto/errno_names.hpp"
#include "server/board_profile.hpp"

extern char** environ;

namespace rmtfs_hil::hil {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A manager's command (systemctl start waits for the daemon to start).
constexpr milliseconds command_bound{30000};
// The manager's state reaching what was asked.
constexpr milliseconds state_bound{15000};
constexpr milliseconds state_poll{50};

constexpr const char* systemd_unit = "rmtfs.service";
constexpr const char* init_service = "rmtfs";

struct Ran {
    int status = -1;     // the exit status; -1 when it did not run to an end
    std::string output;  // stdout and stderr
    std::string trouble;  // why it did not run to an end
};

// Runs `argv` (no shell), collecting its output; killed past `bound`.
Ran run_command(const std::vector<std::string>& argv, milliseconds bound = command_bound) {
    Ran ran;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        ran.trouble = "pipe: " + errno_text(errno);
        return ran;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    int spawned = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (spawned != 0) {
        ::close(fds[0]);
        ran.trouble = "cannot run " + argv[0] + ": " + errno_text(spawned);
        return ran;
    }
    auto deadline = Clock::now() + bound;
    char buffer[4096];
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) {
            ::kill(pid, SIGKILL);
            ran.trouble = argv[0] + " did not end within " + std::to_string(bound.count()) + " ms";
            break;
        }
        pollfd in{fds[0], POLLIN, 0};
        int ready = ::poll(&in, 1, static_cast<int>(left));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        ssize_t got = ::read(fds[0], buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        if (ran.output.size() < 65536) ran.output.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fds[0]);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (ran.trouble.empty()) {
        if (WIFEXITED(status)) ran.status = WEXITSTATUS(status);
        else ran.trouble = argv[0] + " was killed by signal " + std::to_string(WTERMSIG(status));
    }
    return ran;
}

std::string trimmed(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
    std::size_t start = text.find_first_not_of(" \n");
    return start == std::string::npos ? std::string() : text.substr(start);
}

std::string said(const Ran& ran) {
    if (!ran.trouble.empty()) return ran.trouble;
    std::string text = trimmed(ran.output);
    return "exit status " + std::to_string(ran.status) + (text.empty() ? "" : ": " + text);
}

// The first of the board's own directories holding `program`.
std::optional<std::string> board_program(const fs::path& root, const char* program,
                                         std::initializer_list<const char*> dirs) {
    for (const char* dir : dirs) {
        fs::path candidate = root / dir / program;
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return std::nullopt;
}

std::optional<std::string> systemctl(const fs::path& root) {
    return board_program(root, "systemctl", {"usr/bin", "bin"});
}

std::optional<std::string> android_tool(const fs::path& root, const char* name) {
    return board_program(root, name, {"system/bin", "vendor/bin"});
}

std::vector<std::string> words(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string word; in >> word;) out.push_back(word);
    return out;
}

// systemd's ExecStart property: "ExecStart={ path=… ; argv[]=/usr/bin/rmtfs -r -P -s ; … }".
std::vector<std::string> exec_start_argv(const std::string& shown) {
    std::size_t at = shown.find("argv[]=");
    if (at == std::string::npos) return {};
    at += 7;
    std::size_t end = shown.find(" ;", at);
    return words(shown.substr(at, end == std::string::npos ? std::string::npos : end - at));
}

std::vector<std::string> process_command_line(const fs::path& root, const std::string& pid) {
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) return {};
    std::ifstream in(root / "proc" / pid / "cmdline", std::ios::binary);
    std::vector<std::string> argv;
    for (std::string arg; std::getline(in, arg, '\0');) argv.push_back(arg);
    return argv;
}

// The manager's word for its state, and whether that means a daemon runs
// (or is about to: systemd's "activating" and init's "restarting" come back
// by themselves).
bool running_state(ServiceManager manager, const std::string& state) {
    if (manager == ServiceManager::systemd)
        return state == "active" || state == "activating" || state == "reloading" || state == "deactivating";
    return state == "running" || state == "restarting";
}

Expected<std::string, std::string> state_of(const fs::path& root, ServiceManager manager) {
    if (manager == ServiceManager::systemd) {
        auto program = systemctl(root);
        if (!program) return unexpected(std::string("systemctl is gone"));
        Ran ran = run_command({*program, "is-active", systemd_unit});
        if (!ran.trouble.empty()) return unexpected("systemctl is-active " + std::string(systemd_unit) + ": " + ran.trouble);
        // is-active prints the state whatever its exit status says.
        std::string state = trimmed(ran.output);
        return state.empty() ? std::string("unknown") : state;
    }
    auto getprop = android_tool(root, "getprop");
    if (!getprop) return unexpected(std::string("getprop is gone"));
    Ran ran = run_command({*getprop, std::string("init.svc.") + init_service});
    if (ran.status != 0) return unexpected("getprop init.svc." + std::string(init_service) + ": " + said(ran));
    return trimmed(ran.output);
}

// Waits until the manager's state is (or is not) a running one.
std::optional<std::string> await_state(const fs::path& root, ServiceManager manager, bool running) {
    auto deadline = Clock::now() + state_bound;
    std::string last;
    for (;;) {
        auto state = state_of(root, manager);
        if (!state) return state.error();
        last = *state;
        if (running_state(manager, last) == running && (!running || last != "activating")) return std::nullopt;
        if (Clock::now() >= deadline) break;
        std::this_thread::sleep_for(state_poll);
    }
    return std::string("still ") + last + " after " + std::to_string(state_bound.count()) + " ms";
}

// Asks the manager to stop or start the service and waits until it has.
std::optional<std::string> command_service(const fs::path& root, const SystemService& service, bool start) {
    const char* verb = start ? "start" : "stop";
    Ran ran;
    std::string command;
    if (service.manager == ServiceManager::systemd) {
        auto program = systemctl(root);
        if (!program) return std::string("systemctl is gone");
        command = std::string("systemctl ") + verb + " " + systemd_unit;
        ran = run_command({*program, verb, systemd_unit});
    } else {
        auto setprop = android_tool(root, "setprop");
        if (!setprop) return std::string("setprop is not on the board");
        std::string property = std::string("ctl.") + verb;
        command = "setprop " + property + " " + init_service;
        ran = run_command({*setprop, property, init_service});
    }
    if (ran.status != 0) return command + ": " + said(ran);
    if (auto waited = await_state(root, service.manager, start)) return command + ": " + *waited;
    return std::nullopt;
}

// The guardian: waits until the agent's end of `watch_fd` closes, however
// the agent ends, then starts the service again. Never returns.
[[noreturn]] void guard(const fs::path& root, const SystemService& service, int watch_fd) {
    ::setsid();  // out of the agent's process group: whatever kills it spares this
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) ::signal(signal_number, SIG_IGN);
    int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        ::dup2(null, STDIN_FILENO);
        ::dup2(null, STDOUT_FILENO);  // the protocol's stream is the agent's alone
    }
    char byte;
    while (::read(watch_fd, &byte, 1) != 0 && errno == EINTR) {
    }
    auto failed = command_service(root, service, true);
    std::string line = "rmtfs-hil agent: " + service.name + (failed ? " NOT started again: " + *failed : " started again") + "\n";
    [[maybe_unused]] ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
    ::_exit(failed ? 1 : 0);
}

}  // namespace

std::optional<std::string> read_board_attribute(const fs::path& file) {
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) < 0 && errno == EINTR) {
    }
    ::close(fd);
    std::string text;
    if (got > 0) text.assign(buffer, static_cast<std::size_t>(got));
    return text.substr(0, text.find('\n'));
}

std::optional<BoardModem> find_board_modem(const fs::path& root) {
    auto first_line = [](const fs::path& file) { return read_board_attribute(file).value_or(""); };
    std::error_code error;
    std::vector<fs::path> entries;
    for (const auto& entry : fs::directory_iterator(root / "sys/class/remoteproc", error)) entries.push_back(entry.path());
    std::sort(entries.begin(), entries.end());
    for (const fs::path& entry : entries) {
        if (!server::is_modem_modalias(first_line(entry / "device/modalias"))) continue;
        std::string state = first_line(entry / "state");
        return BoardModem{entry.filename().string(), state};
    }
    return std::nullopt;
}

bool SystemService::drives_modem() const {
    if (command_line.empty()) return true;
    std::vector<std::string> args(command_line.begin() + 1, command_line.end());
    return engine::needs_of_server_args(args).contains(engine::Capability::daemon_drives_modem);
}

std::string SystemService::describe() const {
    std::string line;
    for (const auto& word : command_line) line += (line.empty() ? "" : " ") + word;
    return name + " (" + std::string(name_of(manager)) + ", " + state + ": " +
           (line.empty() ? "command line unknown" : line) + ")";
}

Expected<std::optional<SystemService>, std::string> find_system_service(const fs::path& root) {
    SystemService service;
    std::error_code error;
    if (fs::is_directory(root / "run/systemd/system", error)) {
        auto program = systemctl(root);
        if (!program) return unexpected(std::string("systemd runs the board, but systemctl is not in /usr/bin or /bin"));
        service.manager = ServiceManager::systemd;
        service.name = systemd_unit;
        Ran shown = run_command({*program, "show", "-p", "ExecStart", systemd_unit});
        if (shown.status != 0) return unexpected("systemctl show -p ExecStart " + std::string(systemd_unit) + ": " + said(shown));
        // An unknown unit shows an empty ExecStart.
        service.command_line = exec_start_argv(shown.output);
        if (service.command_line.empty()) return std::optional<SystemService>();
    } else if (android_tool(root, "getprop")) {
        service.manager = ServiceManager::android_init;
        service.name = init_service;
    } else {
        return std::optional<SystemService>();
    }
    auto state = state_of(root, service.manager);
    if (!state) return unexpected(state.error());
    // init has no such service: its property is empty.
    if (service.manager == ServiceManager::android_init && state->empty()) return std::optional<SystemService>();
    service.state = *state;
    service.running = running_state(service.manager, service.state);
    if (service.manager == ServiceManager::android_init && service.running) {
        Ran pid = run_command({*android_tool(root, "getprop"), std::string("init.svc_debug_pid.") + init_service});
        service.command_line = process_command_line(root, trimmed(pid.output));
    }
    return std::optional<SystemService>(std::move(service));
}

Expected<std::unique_ptr<StoppedService>, std::string> StoppedService::stop(const fs::path& root, SystemService service) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return unexpected("cannot watch over " + service.name + ": pipe: " + errno_text(errno));
    std::fflush(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        int error = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        return unexpected("cannot watch over " + service.name + ": fork: " + errno_text(error));
    }
    if (pid == 0) {
        ::close(fds[1]);
        guard(root, service, fds[0]);
    }
    ::close(fds[0]);
    std::unique_ptr<StoppedService> stopped(new StoppedService(root, std::move(service), pid, fds[1]));
    if (auto failed = command_service(root, stopped->service_, false)) {
        auto restored = stopped->restore();
        return unexpected("cannot stop " + stopped->service_.describe() + ": " + *failed +
                          (restored ? "; and starting it again failed too: " + *restored : ""));
    }
    return stopped;
}

std::optional<std::string> StoppedService::restore() {
    if (restored_) return std::nullopt;
    restored_ = true;
    ::close(watch_fd_);
    int status = 0;
    pid_t got;
    while ((got = ::waitpid(guardian_, &status, 0)) < 0 && errno == EINTR) {
    }
    if (got == guardian_ && WIFEXITED(status) && WEXITSTATUS(status) == 0) return std::nullopt;
    auto state = state_of(root_, service_.manager);
    return service_.name + " is " + (state ? *state : state.error()) + " after the run (the guardian's words are on stderr)";
}

StoppedService::~StoppedService() { restore(); }

}  // namespace rmtfs_hil::hil
