// Supervision of one real program (the rmtfs daemon, a QRTR tool, a script)
// on the harness's event loop: start it in its own process group, capture
// its output as lines, report how it ended, signal it, stop it, restart it
// like systemd's Restart=always — and make sure nothing it started outlives
// the harness.
//
// What "nothing outlives the harness" guarantees. Each program runs under a
// keeper process (server/keeper.hpp) that is its parent and a child
// subreaper, and that watches the harness through a channel and a
// parent-death signal. Whenever the keeper sees the harness go, it SIGKILLs
// the program's process group and every descendant adopted by it, and reaps
// them. A descendant that left the group (setsid, setpgid) is adopted by the
// keeper as soon as its parent dies in the group kill, and killed in turn. So
// the program and everything it started are killed and reaped (before any
// end is reported) when:
//   * the SupervisedProcess is destroyed (normal shutdown, an exception
//     unwinding through its owner): the destructor asks the keeper and waits;
//   * the harness exits without running destructors (exit(), an uncaught
//     exception's abort, a default-action SIGTERM/SIGINT): the channel closes;
//   * the harness is SIGKILLed: the channel closes and the keeper gets its
//     parent-death SIGTERM;
//   * the program ends by itself: what it left behind is killed with it
//     (like systemd's KillMode=control-group, without the SIGTERM first).
// Not covered: the keeper itself being SIGKILLed (then the program dies by its
// own PDEATHSIG SIGKILL, and the harness, if alive, SIGKILLs the group; a
// descendant outside the group survives), a process stuck in uninterruptible
// sleep (killed when it wakes), and a forking thread that exits before the
// harness does (the parent-death signal follows the thread that forked; call
// start() from the thread that runs the io_context).
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/expected.hpp"
#include "server/output_lines.hpp"
#include "server/process_exit.hpp"

namespace rmtfs_hil::server {

using namespace std::chrono_literals;

// systemd's RestartSec default for Restart=always units written for rmtfs.
inline constexpr std::chrono::milliseconds default_restart_delay = 1s;
// systemd's DefaultStartLimitBurst / DefaultStartLimitIntervalSec.
inline constexpr unsigned default_start_limit_burst = 5;
inline constexpr std::chrono::milliseconds default_start_limit_interval = 10s;
// systemd's TimeoutStopSec is 90 s; a test bench wants a verdict sooner.
inline constexpr std::chrono::milliseconds default_stop_grace = 5s;
// After the program ended, how long its output pipes may stay open (held by
// something that escaped the kill) before the end is reported anyway.
inline constexpr std::chrono::milliseconds output_drain_timeout = 2s;
// start() waits this long for the keeper to say "started" or "failed" (fork +
// exec; seconds only on a machine under extreme load), running the loop.
inline constexpr std::chrono::milliseconds start_report_timeout = 10s;

struct LaunchSpec {
    // argv[0] is looked up in the PATH of `environment` (or the harness's PATH
    // when `environment` has none) unless it contains a '/'.
    std::vector<std::string> argv;
    // The program's complete environment, "NAME=value" each.
    std::vector<std::string> environment;
    // Empty: the harness's working directory.
    std::filesystem::path working_directory;
    // Asked before each start with the program execve would run (the first
    // candidate that is an executable file); a reason refuses the start.
    std::function<std::optional<std::string>(const std::filesystem::path& program)> admit = {};
};

// The harness's own environment, "NAME=value" each: a base for LaunchSpec.
std::vector<std::string> current_environment();

struct RestartPolicy {
    bool enabled = false;  // Restart=always: after any end we did not ask for
    std::chrono::milliseconds delay = default_restart_delay;  // RestartSec=
    // More than `start_limit_burst` starts within `start_limit_interval`
    // and the supervisor gives up (StartLimitBurst= / StartLimitIntervalSec=):
    // a crash loop is reported, not spun forever.
    unsigned start_limit_burst = default_start_limit_burst;
    std::chrono::milliseconds start_limit_interval = default_start_limit_interval;
};

struct StartError {
    enum class Stage {
        already_running,   // start() while a run is live
        harness_setup,     // pipes/socketpair/fork in the harness
        keeper_setup,      // the keeper could not prepare
        fork,              // the keeper could not fork the program
        standard_input,    // /dev/null or the output pipes could not be placed
        working_directory, // chdir failed
        execute,           // execve failed: ENOENT, EACCES, ENOEXEC, ...
        no_report,         // the keeper said nothing within start_report_timeout
        refused,           // LaunchSpec::admit refused the program
    };
    Stage stage = Stage::execute;
    int error_number = 0;  // errno, 0 when none applies
    std::string message;   // "cannot execute /usr/bin/rmtfs: Permission denied (EACCES)"
};

struct ProcessStarted {
    pid_t pid = 0;        // also the program's process group id
    unsigned starts = 0;  // successful starts so far, this one included
    std::chrono::steady_clock::time_point at;
};

// One run's end, after all of its output lines.
struct ProcessEnded {
    ProcessExit exit;
    pid_t pid = 0;
    std::chrono::steady_clock::time_point at;  // when the keeper reported it
};

// The program was stopped (SIGSTOP, SIGTSTP, ...) or continued. Reported
// when the program itself stops: a program waiting in vfork() for a child
// that was stopped before its exec stops only after the group continues.
struct JobControlChange {
    bool stopped = false;  // false: continued
    int signal = 0;        // the stop signal; 0 for a continue
    std::chrono::steady_clock::time_point at;
};

// The restart policy stopped restarting.
struct GaveUp {
    unsigned starts_in_interval = 0;
    std::string reason;  // "5 starts within 10000 ms (start limit): crash loop"
};

// Every callback is optional and runs on the io_context's thread.
struct ProcessEvents {
    std::function<void(const OutputLine&)> output;
    std::function<void(const ProcessStarted&)> started;
    std::function<void(const ProcessEnded&)> ended;
    std::function<void(const JobControlChange&)> job_control;
    // A restart that failed to start (start() itself returns its error).
    std::function<void(const StartError&)> start_failed;
    std::function<void(const GaveUp&)> gave_up;
};

struct SignalError {
    std::string message;  // "not running"
};

struct SignalSent {
    int signal = 0;
    pid_t group = 0;
};

class SupervisedProcess {
public:
    enum class State {
        idle,             // never started, or ended with no restart due
        running,
        stopping,         // stop() sent SIGTERM; SIGKILL follows after the grace
        restart_pending,  // ended; the restart timer runs
        gave_up,          // the start limit was hit
    };

    SupervisedProcess(boost::asio::io_context& io, LaunchSpec spec, ProcessEvents events = {},
                      RestartPolicy restart = {});
    // Kills the program's group and all it started, reaps the keeper. Blocks
    // until they are gone (SIGKILL: milliseconds).
    ~SupervisedProcess();
    SupervisedProcess(const SupervisedProcess&) = delete;
    SupervisedProcess& operator=(const SupervisedProcess&) = delete;

    // Starts the program and waits (briefly, see start_report_timeout) until it
    // is executing or has failed to: exec errors come back here, not as a
    // mysterious exit 127. The loop runs while it waits: other handlers go on.
    Expected<ProcessStarted, StartError> start();

    // To the program's process group, directly: pending before this returns.
    Expected<SignalSent, SignalError> signal(int signal_number);
    Expected<SignalSent, SignalError> pause() { return signal(SIGSTOP); }
    Expected<SignalSent, SignalError> resume() { return signal(SIGCONT); }
    Expected<SignalSent, SignalError> kill() { return signal(SIGKILL); }

    // Ends the program on purpose (no restart): SIGTERM and SIGCONT (a stopped
    // program could not act on the TERM), then SIGKILL if it is still there
    // after `grace`. The end arrives through ProcessEvents::ended. Also
    // cancels a pending restart.
    void stop(std::chrono::milliseconds grace = default_stop_grace);

    // A report is owed: the program has exited and its end is on its way
    // (the kernel says so before the keeper does), or a stop or continue
    // sent through signal() is not reported yet. A judgment of the program's
    // state waits until this is false.
    bool settling() const;

    State state() const;
    std::optional<pid_t> pid() const;  // while running or stopping
    unsigned starts() const;           // successful starts
    unsigned restarts() const;         // starts after the first
    std::optional<ProcessExit> last_exit() const;
    const LaunchSpec& spec() const;

private:
    struct Core;
    std::shared_ptr<Core> core_;
};

std::string_view to_string(SupervisedProcess::State state);
std::string_view to_string(StartError::Stage stage);

}  // namespace rmtfs_hil::server
