// The keeper: a small process between the harness and each supervised
// program. The harness forks it; it forks the program. It exists because a
// parent-death signal reaches only a direct child: when the harness is
// SIGKILLed, the program dies by its PR_SET_PDEATHSIG, but whatever the
// program started would live on, adopted by init. The keeper outlives the
// harness just long enough to kill all of it:
//
//   harness ──fork──► keeper (own process group, child subreaper,
//                      parent-death signal SIGTERM, channel to the harness)
//                        └──fork+exec──► program (own process group =
//                                         its pid, PDEATHSIG SIGKILL)
//
// The keeper is the only one that signals the program's group, and only
// while the program is unreaped, so the group id can never name a recycled
// group. When the program ends, the keeper SIGKILLs the group and every
// descendant it adopted, reaps them all, reports the end, and exits. When the
// harness goes (channel EOF or parent-death SIGTERM), it does the same first.
//
// Internal to server/: SupervisedProcess is the interface.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace rmtfs_hil::server::keeper {

// Records on the channel, a SOCK_SEQPACKET socketpair: one record per packet.
enum class ReportKind : std::uint32_t {
    started = 1,       // a = program pid (= its process group)
    start_failed = 2,  // a = StartStage, b = errno
    stopped = 3,       // a = the stop signal
    continued = 4,
    ended = 5,         // a = waitid si_code, b = si_status; the group is gone by now
};

enum class StartStage : std::uint32_t {
    keeper_setup = 1,      // the keeper could not prepare (signalfd, pipe)
    fork = 2,              // the keeper could not fork the program
    standard_input = 3,    // /dev/null would not open
    working_directory = 4, // chdir failed
    execute = 5,           // execve failed
};

struct Report {
    ReportKind kind;
    std::int32_t a = 0;
    std::int32_t b = 0;
};

enum class CommandKind : std::uint32_t {
    signal_group = 1,  // signal = the signal to send to the program's group
};

struct Command {
    CommandKind kind;
    std::int32_t signal = 0;
};

class LaunchImage;

// The keeper's body, in the child of the harness's fork(). Never returns.
// harness_pid: the parent's pid taken before the fork (to close the
// parent-death race). The three fds are the keeper's ends of the channel and
// the program's stdout and stderr pipes.
[[noreturn]] void run(const LaunchImage& image, pid_t harness_pid, int channel_fd, int stdout_fd,
                      int stderr_fd) noexcept;

// Everything the keeper and the program need, built before fork: after fork
// in a possibly multi-threaded harness only async-signal-safe calls are
// allowed, so nothing there allocates or formats.
class LaunchImage {
public:
    // `candidates`: the paths to try for the executable, in order (a PATH
    // search is done by the harness before the fork).
    LaunchImage(std::vector<std::string> candidates, const std::vector<std::string>& argv,
                const std::vector<std::string>& environment, std::string working_directory);

    LaunchImage(const LaunchImage&) = delete;
    LaunchImage& operator=(const LaunchImage&) = delete;

private:
    friend void run(const LaunchImage& image, pid_t harness_pid, int channel_fd, int stdout_fd,
                    int stderr_fd) noexcept;
    std::vector<std::string> candidates_;
    std::vector<std::string> argv_strings_;
    std::vector<std::string> environment_strings_;
    std::vector<char*> argv_;
    std::vector<char*> environment_;
    std::string working_directory_;  // empty: inherit
};

// Executable paths for argv0: itself when it names a path (has a '/'),
// otherwise each directory of `search_path` (a PATH value) joined with it.
std::vector<std::string> executable_candidates(const std::string& argv0, const std::string& search_path);

}  // namespace rmtfs_hil::server::keeper
