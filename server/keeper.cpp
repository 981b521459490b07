#include "server/keeper.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <utility>

namespace rmtfs_hil::server::keeper {

LaunchImage::LaunchImage(std::vector<std::string> candidates, const std::vector<std::string>& argv,
                         const std::vector<std::string>& environment, std::string working_directory)
    : candidates_(std::move(candidates)),
      argv_strings_(argv),
      environment_strings_(environment),
      working_directory_(std::move(working_directory)) {
    for (auto& text : argv_strings_) argv_.push_back(text.data());
    argv_.push_back(nullptr);
    for (auto& text : environment_strings_) environment_.push_back(text.data());
    environment_.push_back(nullptr);
}

std::vector<std::string> executable_candidates(const std::string& argv0, const std::string& search_path) {
    if (argv0.find('/') != std::string::npos) return {argv0};
    std::vector<std::string> candidates;
    std::size_t begin = 0;
    while (true) {
        std::size_t end = search_path.find(':', begin);
        std::string directory = search_path.substr(begin, end == std::string::npos ? end : end - begin);
        // An empty PATH entry means the current directory, as execvp reads it.
        candidates.push_back((directory.empty() ? std::string(".") : directory) + "/" + argv0);
        if (end == std::string::npos) break;
        begin = end + 1;
    }
    return candidates;
}

namespace {

// ---- Everything below runs after fork(): async-signal-safe calls only. ----

// The keeper's watched signals. SIGTERM is its parent-death signal (and what
// anyone may send it to make it clean up); SIGHUP is treated the same.
constexpr int parent_death_signal = SIGTERM;

// Room for the pids of one read of /proc/self/task/<pid>/children; with more
// children the kill-and-reap loop simply takes more rounds.
constexpr std::size_t children_list_max_bytes = 4096;

void send_report(int channel, Report report) {
    // MSG_NOSIGNAL: with the harness gone this fails with EPIPE instead of
    // killing the keeper before it has cleaned up.
    while (::send(channel, &report, sizeof report, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

// Closes every descriptor from `first` up except those in keep[0..count).
void close_all_except(int first, const int* keep, int count) {
    // keep[] is tiny: sort it in place by insertion.
    int sorted[8];
    for (int i = 0; i < count; ++i) {
        int value = keep[i];
        int at = i;
        while (at > 0 && sorted[at - 1] > value) {
            sorted[at] = sorted[at - 1];
            --at;
        }
        sorted[at] = value;
    }
    unsigned low = static_cast<unsigned>(first);
    for (int i = 0; i <= count; ++i) {
        unsigned high = i < count ? static_cast<unsigned>(sorted[i]) : ~0u;
        if (i < count && sorted[i] < first) continue;
        if (high > low) {
            if (::syscall(SYS_close_range, low, high - 1, 0) != 0) {
                // Kernels before 5.9: walk the descriptor table.
                struct rlimit limit{};
                unsigned last = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                                    ? static_cast<unsigned>(limit.rlim_cur)
                                    : 65536u;
                for (unsigned fd = low; fd < high && fd < last; ++fd) ::close(static_cast<int>(fd));
            }
        }
        if (i < count) low = static_cast<unsigned>(sorted[i]) + 1;
    }
}

// Marks every descriptor from 3 up close-on-exec: the program gets exactly
// stdin, stdout and stderr.
void close_on_exec_from_3() {
    if (::syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0) return;
    struct rlimit limit{};
    int last = ::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY
                   ? static_cast<int>(limit.rlim_cur)
                   : 65536;
    for (int fd = 3; fd < last; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// Puts `fd` on `target` without close-on-exec, whether or not it is already there.
bool place_descriptor(int fd, int target) {
    if (fd == target) return ::fcntl(fd, F_SETFD, 0) == 0;
    return ::dup2(fd, target) == target;
}

struct StartFailure {
    std::int32_t stage;
    std::int32_t error_number;
};

[[noreturn]] void fail_start(int exec_error_pipe, StartStage stage, int error_number) {
    StartFailure failure{static_cast<std::int32_t>(stage), error_number};
    while (::write(exec_error_pipe, &failure, sizeof failure) < 0 && errno == EINTR) {
    }
    ::_exit(127);
}

// In the program's process, between fork and exec.
[[noreturn]] void become_program(const std::vector<std::string>& candidates, char* const* argv,
                                 char* const* environment, const std::string& working_directory,
                                 pid_t keeper_pid, int exec_error_pipe, int stdout_fd, int stderr_fd) {
    // Its own group, so the harness can signal it and all it spawns as one.
    ::setpgid(0, 0);
    // Dies with the keeper; re-checked because the keeper may have died
    // before the prctl took effect.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != keeper_pid) ::_exit(127);

    // Signal state is inherited through exec: ignored signals stay ignored and
    // the keeper's blocked mask would stay blocked. A daemon must start as
    // from a clean shell.
    struct sigaction default_action{};
    default_action.sa_handler = SIG_DFL;
    for (int signal_number = 1; signal_number < NSIG; ++signal_number)
        ::sigaction(signal_number, &default_action, nullptr);  // EINVAL for KILL/STOP: harmless
    sigset_t nothing;
    ::sigemptyset(&nothing);
    ::sigprocmask(SIG_SETMASK, &nothing, nullptr);

    int null_input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_input < 0) fail_start(exec_error_pipe, StartStage::standard_input, errno);
    if (!place_descriptor(null_input, 0)) fail_start(exec_error_pipe, StartStage::standard_input, errno);
    if (!place_descriptor(stdout_fd, 1) || !place_descriptor(stderr_fd, 2))
        fail_start(exec_error_pipe, StartStage::standard_input, errno);
    close_on_exec_from_3();

    if (!working_directory.empty() && ::chdir(working_directory.c_str()) != 0)
        fail_start(exec_error_pipe, StartStage::working_directory, errno);

    // execvp's rule: EACCES on one candidate is remembered, but the search goes on.
    int error_number = ENOENT;
    bool saw_access_denied = false;
    for (const auto& candidate : candidates) {
        ::execve(candidate.c_str(), argv, environment);
        error_number = errno;
        if (error_number == EACCES) {
            saw_access_denied = true;
            continue;
        }
        if (error_number == ENOENT || error_number == ENOTDIR) continue;
        break;
    }
    if (saw_access_denied && (error_number == ENOENT || error_number == ENOTDIR)) error_number = EACCES;
    fail_start(exec_error_pipe, StartStage::execute, error_number);
}

// Sends `signal_number` to the program's group; to the program too if it
// has left the group (setpgid/setsid of its own).
void signal_program(pid_t program, int signal_number) {
    ::kill(-program, signal_number);
    if (::getpgid(program) != program) ::kill(program, signal_number);
}

std::size_t format_decimal(char* out, long value) {
    char digits[24];
    std::size_t count = 0;
    do {
        digits[count++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (std::size_t i = 0; i < count; ++i) out[i] = digits[count - 1 - i];
    return count;
}

// The keeper's children as /proc lists them: the program (maybe a zombie)
// and every descendant adopted after its parent died.
struct ChildList {
    static constexpr int capacity = 1024;
    pid_t pids[capacity];
    int count = 0;
    bool available = false;  // false without /proc: only the group kill is left
};

void list_children(ChildList& list) {
    list.count = 0;
    list.available = false;
    char path[64] = "/proc/self/task/";
    std::size_t length = std::strlen(path);
    length += format_decimal(path + length, ::getpid());
    std::memcpy(path + length, "/children", sizeof "/children");

    int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char text[children_list_max_bytes];
    ssize_t size;
    while ((size = ::read(fd, text, sizeof text)) < 0 && errno == EINTR) {
    }
    ::close(fd);
    if (size < 0) return;
    list.available = true;
    long pid = 0;
    bool in_number = false;
    for (ssize_t i = 0; i <= size && list.count < ChildList::capacity; ++i) {
        char c = i < size ? text[i] : ' ';
        if (c >= '0' && c <= '9') {
            pid = pid * 10 + (c - '0');
            in_number = true;
        } else if (in_number) {
            list.pids[list.count++] = static_cast<pid_t>(pid);
            pid = 0;
            in_number = false;
        }
    }
}

// Kills the program's group and every adopted descendant, reaps them, and
// reaps the program last: while it is unreaped its pid keeps the group id
// from being reused, so the group kills can never hit a stranger.
void kill_tree_and_reap(pid_t program) {
    static ChildList children;  // the keeper is single-threaded; keeps 4 KiB off the stack
    ::kill(-program, SIGKILL);
    ::kill(program, SIGKILL);
    while (true) {
        list_children(children);
        if (!children.available) break;
        bool others = false;
        for (int i = 0; i < children.count; ++i) {
            ::kill(children.pids[i], SIGKILL);
            others = others || children.pids[i] != program;
        }
        if (!others) break;
        // Each was SIGKILLed, so each wait is short. A dying parent hands its
        // own children to the keeper before it becomes reapable, so the next
        // listing sees them.
        for (int i = 0; i < children.count; ++i)
            if (children.pids[i] != program)
                while (::waitpid(children.pids[i], nullptr, 0) < 0 && errno == EINTR) {
                }
        ::kill(-program, SIGKILL);  // a member may have forked meanwhile
    }
    while (::waitpid(program, nullptr, 0) < 0 && errno == EINTR) {
    }
    // Without /proc: reap what the group kill finished, never block on the rest.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
}

}  // namespace

[[noreturn]] void run(const LaunchImage& image, pid_t harness_pid, int channel_fd, int stdout_fd,
                      int stderr_fd) noexcept {
    // Own process group: Ctrl-C or a kill of the harness's group must not take
    // the keeper down before it has cleaned up.
    ::setpgid(0, 0);

    sigset_t watched;
    ::sigemptyset(&watched);
    ::sigaddset(&watched, SIGCHLD);
    ::sigaddset(&watched, parent_death_signal);
    ::sigaddset(&watched, SIGHUP);
    ::sigprocmask(SIG_BLOCK, &watched, nullptr);
    struct sigaction ignore{};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, nullptr);
    ::sigaction(SIGINT, &ignore, nullptr);
    ::sigaction(SIGQUIT, &ignore, nullptr);

    ::prctl(PR_SET_PDEATHSIG, parent_death_signal);
    if (::getppid() != harness_pid) ::_exit(0);  // the harness died before the prctl
    // Orphans of the program's tree come to the keeper, not to init, so it
    // can kill them even after they left the program's process group.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    // Move what we keep above stdio, then drop everything inherited from the
    // harness (its epoll fd, other programs' pipes and channels ...).
    int channel = ::fcntl(channel_fd, F_DUPFD_CLOEXEC, 3);
    int program_stdout = ::fcntl(stdout_fd, F_DUPFD_CLOEXEC, 3);
    int program_stderr = ::fcntl(stderr_fd, F_DUPFD_CLOEXEC, 3);
    if (channel < 0 || program_stdout < 0 || program_stderr < 0) ::_exit(0);
    const int keep[] = {channel, program_stdout, program_stderr};
    close_all_except(3, keep, 3);

    int signals = ::signalfd(-1, &watched, SFD_CLOEXEC | SFD_NONBLOCK);
    int exec_error[2];
    if (signals < 0 || ::pipe2(exec_error, O_CLOEXEC) != 0) {
        send_report(channel, Report{ReportKind::start_failed, static_cast<std::int32_t>(StartStage::keeper_setup), errno});
        ::_exit(0);
    }

    pid_t keeper_pid = ::getpid();
    pid_t program = ::fork();
    if (program == 0) {
        ::close(exec_error[0]);
        ::close(channel);
        ::close(signals);
        become_program(image.candidates_, image.argv_.data(), image.environment_.data(),
                       image.working_directory_, keeper_pid, exec_error[1], program_stdout, program_stderr);
    }
    int fork_error = errno;
    ::close(exec_error[1]);
    // The keeper must not hold the output pipes: the harness sees EOF only
    // when the program's whole tree has closed them.
    ::close(program_stdout);
    ::close(program_stderr);
    if (program < 0) {
        send_report(channel, Report{ReportKind::start_failed, static_cast<std::int32_t>(StartStage::fork), fork_error});
        ::_exit(0);
    }

    StartFailure failure{};
    ssize_t got;
    while ((got = ::read(exec_error[0], &failure, sizeof failure)) < 0 && errno == EINTR) {
    }
    ::close(exec_error[0]);
    if (got == static_cast<ssize_t>(sizeof failure)) {
        while (::waitpid(program, nullptr, 0) < 0 && errno == EINTR) {
        }
        send_report(channel, Report{ReportKind::start_failed, failure.stage, failure.error_number});
        ::_exit(0);
    }
    send_report(channel, Report{ReportKind::started, program, 0});

    bool harness_gone = false;
    siginfo_t program_end{};
    while (true) {
        struct pollfd watch[2] = {{signals, POLLIN, 0}, {harness_gone ? -1 : channel, POLLIN, 0}};
        if (::poll(watch, 2, -1) < 0) continue;  // EINTR

        if (watch[1].revents != 0) {
            Command command{};
            ssize_t size = ::recv(channel, &command, sizeof command, MSG_DONTWAIT);
            if (size == static_cast<ssize_t>(sizeof command) && command.kind == CommandKind::signal_group) {
                signal_program(program, command.signal);
            } else if (size == 0 || (size < 0 && errno != EAGAIN && errno != EINTR)) {
                // The harness closed the channel or died: nothing may outlive it.
                harness_gone = true;
                signal_program(program, SIGKILL);
            }
        }

        if (watch[0].revents != 0) {
            struct signalfd_siginfo received{};
            while (::read(signals, &received, sizeof received) == static_cast<ssize_t>(sizeof received)) {
                if (received.ssi_signo == static_cast<unsigned>(parent_death_signal) ||
                    received.ssi_signo == SIGHUP) {
                    harness_gone = true;
                    signal_program(program, SIGKILL);
                }
            }
        }

        // Stops and continues of the program are news for the harness.
        while (true) {
            siginfo_t change{};
            if (::waitid(P_PID, static_cast<id_t>(program), &change, WSTOPPED | WCONTINUED | WNOHANG) != 0 ||
                change.si_pid == 0)
                break;
            if (change.si_code == CLD_CONTINUED)
                send_report(channel, Report{ReportKind::continued, 0, 0});
            else
                send_report(channel, Report{ReportKind::stopped, change.si_status, 0});
        }

        // Reap adopted orphans as they die; only peek at the program.
        bool program_ended = false;
        while (true) {
            siginfo_t ended{};
            if (::waitid(P_ALL, 0, &ended, WEXITED | WNOHANG | WNOWAIT) != 0 || ended.si_pid == 0) break;
            if (ended.si_pid == program) {
                program_ended = true;
                program_end = ended;
                break;
            }
            ::waitpid(ended.si_pid, nullptr, 0);
        }
        if (program_ended) break;
    }

    kill_tree_and_reap(program);
    send_report(channel, Report{ReportKind::ended, program_end.si_code, program_end.si_status});
    // Commands left unread would make the harness's next read fail with
    // ECONNRESET ahead of the report (it copes, but need not have to).
    Command late{};
    while (::recv(channel, &late, sizeof late, MSG_DONTWAIT) > 0) {
    }
    ::_exit(0);
}

}  // namespace rmtfs_hil::server::keeper
