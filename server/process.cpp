#include "server/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <utility>

#include "proto/contract.hpp"
#include "server/keeper.hpp"
#include "proto/errno_names.hpp"

extern char** environ;

namespace rmtfs_hil::server {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;


namespace {

// One read from an output pipe; a pipe holds 64 KiB, so this takes a full
// pipe in four reads.
constexpr std::size_t output_read_chunk_bytes = 16 * 1024;
// Where argv[0] is looked up when neither the program's environment nor the
// harness has a PATH (glibc's execvp default, minus the current directory).
constexpr const char* fallback_search_path = "/usr/local/bin:/usr/bin:/bin";

std::string search_path_of(const std::vector<std::string>& environment) {
    for (const auto& entry : environment)
        if (entry.rfind("PATH=", 0) == 0) return entry.substr(5);
    if (const char* harness_path = std::getenv("PATH")) return harness_path;
    return fallback_search_path;
}

StartError::Stage stage_from_keeper(std::int32_t stage) {
    switch (static_cast<keeper::StartStage>(stage)) {
        case keeper::StartStage::keeper_setup: return StartError::Stage::keeper_setup;
        case keeper::StartStage::fork: return StartError::Stage::fork;
        case keeper::StartStage::standard_input: return StartError::Stage::standard_input;
        case keeper::StartStage::working_directory: return StartError::Stage::working_directory;
        case keeper::StartStage::execute: return StartError::Stage::execute;
    }
    return StartError::Stage::keeper_setup;
}

std::string describe_start_failure(StartError::Stage stage, int error_number, const LaunchSpec& spec,
                                   const std::vector<std::string>& candidates) {
    std::string program = spec.argv.empty() ? std::string("(empty argv)") : spec.argv.front();
    std::string why = errno_text(error_number);
    switch (stage) {
        case StartError::Stage::execute: {
            std::string tried;
            if (candidates.size() > 1 || (candidates.size() == 1 && candidates.front() != program)) {
                tried = " (looked in PATH: ";
                for (std::size_t i = 0; i < candidates.size() && i < 4; ++i) tried += (i ? ", " : "") + candidates[i];
                if (candidates.size() > 4) tried += ", ...";
                tried += ")";
            }
            return "cannot execute " + program + tried + ": " + why;
        }
        case StartError::Stage::working_directory:
            return "cannot enter working directory " + spec.working_directory.string() + " for " + program + ": " + why;
        case StartError::Stage::standard_input:
            return "cannot set up stdin/stdout/stderr for " + program + ": " + why;
        case StartError::Stage::fork: return "cannot fork " + program + ": " + why;
        case StartError::Stage::keeper_setup: return "keeper process could not prepare " + program + ": " + why;
        case StartError::Stage::harness_setup: return "cannot launch " + program + ": " + why;
        case StartError::Stage::already_running: return program + " is already running";
        case StartError::Stage::no_report: return "no word from the keeper of " + program + " (is the machine overloaded?)";
        case StartError::Stage::refused: return "refused to start " + program;
    }
    return why;
}

// Lets a start run its owner's loop, and leaves the loop as it found it: one
// that ran out of work meanwhile would otherwise stay stopped for its owner.
class LoopLease {
public:
    explicit LoopLease(asio::io_context& io) : io_(io), was_stopped_(io.stopped()), guard_(asio::make_work_guard(io)) {
        if (was_stopped_) io_.restart();
    }
    ~LoopLease() {
        bool stopped_meanwhile = io_.stopped();  // by a handler: the guard kept it from running dry
        guard_.reset();
        if (was_stopped_ || stopped_meanwhile) io_.stop();
        else if (io_.stopped()) io_.restart();
    }
    LoopLease(const LoopLease&) = delete;
    LoopLease& operator=(const LoopLease&) = delete;

private:
    asio::io_context& io_;
    bool was_stopped_;
    asio::executor_work_guard<asio::io_context::executor_type> guard_;
};

// The keeper's first report, or nothing by the deadline. The loop runs on
// meanwhile (the caller holds a LoopLease): the rest of the world does not
// wait for a fork and exec.
std::optional<keeper::Report> await_first_report(asio::io_context& io, int channel,
                                                 std::chrono::milliseconds timeout) {
    struct Awaited {
        keeper::Report report{};
        bool done = false;
        bool whole = false;
    };
    auto awaited = std::make_shared<Awaited>();  // the read may end after this returns
    asio::posix::stream_descriptor descriptor(io, channel);
    descriptor.async_read_some(asio::buffer(&awaited->report, sizeof awaited->report),
                               [awaited](const boost::system::error_code& error, std::size_t size) {
                                   awaited->done = true;
                                   awaited->whole = !error && size == sizeof awaited->report;  // not EOF
                               });
    auto deadline = Clock::now() + timeout;
    // A handler that stops the loop ends the wait: no report can come then.
    while (!awaited->done && !io.stopped() && Clock::now() < deadline) io.run_one_until(deadline);
    descriptor.release();  // the channel stays the caller's; a read still pending is cancelled
    if (!awaited->done || !awaited->whole) return std::nullopt;
    return awaited->report;
}

enum class SignalEffect { none, ends, stops };

// What `signal_number` does to `pid` by its default action: nothing known
// when the program catches, ignores or blocks it (its status says which).
SignalEffect default_effect(pid_t pid, int signal_number) {
    switch (signal_number) {
        case SIGKILL: return SignalEffect::ends;
        case SIGSTOP: return SignalEffect::stops;
        case SIGCONT:
        case SIGCHLD:
        case SIGURG:
        case SIGWINCH: return SignalEffect::none;
        default: break;
    }
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    const std::uint64_t bit = std::uint64_t{1} << (signal_number - 1);
    while (std::getline(status, line))
        for (const char* mask : {"SigBlk:", "SigIgn:", "SigCgt:"})
            if (line.rfind(mask, 0) == 0 && (std::strtoull(line.c_str() + std::strlen(mask), nullptr, 16) & bit) != 0)
                return SignalEffect::none;
    if (!status.eof()) return SignalEffect::none;  // unreadable: it is gone, or we cannot tell
    bool stops = signal_number == SIGTSTP || signal_number == SIGTTIN || signal_number == SIGTTOU;
    return stops ? SignalEffect::stops : SignalEffect::ends;
}

// The keeper's status; it exits right after closing its channel, so the
// blocking wait is short. ECHILD (the harness set SIGCHLD to SIG_IGN) is fine.
void reap(pid_t keeper_pid) {
    while (::waitpid(keeper_pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

struct UniqueFd {
    int fd = -1;
    UniqueFd() = default;
    explicit UniqueFd(int value) : fd(value) {}
    UniqueFd(UniqueFd&& other) noexcept : fd(std::exchange(other.fd, -1)) {}
    UniqueFd& operator=(UniqueFd&&) = delete;
    ~UniqueFd() {
        if (fd >= 0) ::close(fd);
    }
    int release() { return std::exchange(fd, -1); }
};

}  // namespace

std::vector<std::string> current_environment() {
    std::vector<std::string> environment;
    for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) environment.emplace_back(*entry);
    return environment;
}

// One start of the program: its keeper, channel and output pipes. Pending
// asynchronous operations hold it, so their buffers live as long as they do.
struct Run {
    Run(asio::io_context& io, pid_t keeper, pid_t program, int channel_fd, int stdout_fd, int stderr_fd)
        : keeper_pid(keeper),
          program_pid(program),
          channel(io, channel_fd),
          standard_output(io, stdout_fd),
          standard_error(io, stderr_fd),
          drain_timer(io),
          // Readable once the program has exited: the kernel's word, ahead of the keeper's report.
          exit_watch(static_cast<int>(::syscall(SYS_pidfd_open, program, 0))),
          gone_at_start(exit_watch < 0 && errno == ESRCH) {}
    ~Run() {
        if (exit_watch >= 0) ::close(exit_watch);
    }
    Run(const Run&) = delete;
    Run& operator=(const Run&) = delete;

    pid_t keeper_pid;
    pid_t program_pid;
    asio::posix::stream_descriptor channel;
    asio::posix::stream_descriptor standard_output;
    asio::posix::stream_descriptor standard_error;
    LineSplitter stdout_lines{OutputStream::standard_output};
    LineSplitter stderr_lines{OutputStream::standard_error};
    std::array<char, output_read_chunk_bytes> stdout_buffer{};
    std::array<char, output_read_chunk_bytes> stderr_buffer{};
    keeper::Report report{};
    bool channel_open = true;
    bool stdout_open = true;
    bool stderr_open = true;
    bool drain_expired = false;
    std::optional<ProcessExit> end;
    Clock::time_point end_at;
    asio::steady_timer drain_timer;
    int exit_watch;      // a pidfd; -1 when the kernel has none to give
    bool gone_at_start;  // reaped before the pidfd could be had
    // Job control as the keeper reported it, and the report a signal we sent owes.
    bool reported_stopped = false;
    enum class Owed { nothing, stopped, continued, end } owed = Owed::nothing;
    bool end_on_continue = false;  // a fatal signal waits in a stopped program

    bool exited() const {
        struct pollfd watch{exit_watch, POLLIN, 0};
        return gone_at_start || (exit_watch >= 0 && ::poll(&watch, 1, 0) == 1);
    }

    void close_all() {
        boost::system::error_code ignored;
        channel.close(ignored);
        standard_output.close(ignored);
        standard_error.close(ignored);
        drain_timer.cancel();
    }
};

struct SupervisedProcess::Core : std::enable_shared_from_this<Core> {
    Core(asio::io_context& context, LaunchSpec launch, ProcessEvents callbacks, RestartPolicy policy)
        : io(context),
          spec(std::move(launch)),
          events(std::move(callbacks)),
          restart(policy),
          restart_timer(context),
          stop_timer(context) {}

    asio::io_context& io;
    LaunchSpec spec;
    ProcessEvents events;
    RestartPolicy restart;
    State state = State::idle;
    std::shared_ptr<Run> run;
    asio::steady_timer restart_timer;
    asio::steady_timer stop_timer;
    unsigned successful_starts = 0;
    std::deque<Clock::time_point> start_attempts;  // within the start-limit interval
    std::optional<ProcessExit> last_exit;
    bool stop_requested = false;
    bool destroyed = false;

    Expected<ProcessStarted, StartError> start_run();
    void read_channel(const std::shared_ptr<Run>& current);
    void read_output(const std::shared_ptr<Run>& current, OutputStream stream);
    void on_report(const std::shared_ptr<Run>& current, const keeper::Report& report);
    void on_channel_closed(const std::shared_ptr<Run>& current);
    void maybe_finish(const std::shared_ptr<Run>& current);
    void after_end();
    void attempt_restart();
    Expected<SignalSent, SignalError> send_signal(int signal_number);
    void owe_report(int signal_number);
    bool settling() const;
    void shut_down();

    void deliver(std::vector<OutputLine> lines) {
        for (auto& line : lines) {
            if (destroyed) return;
            if (events.output) events.output(line);
        }
    }
};

Expected<ProcessStarted, StartError> SupervisedProcess::Core::start_run() {
    auto failure = [&](StartError::Stage stage, int error_number, const std::vector<std::string>& candidates) {
        return unexpected(StartError{stage, error_number, describe_start_failure(stage, error_number, spec, candidates)});
    };
    if (run) return failure(StartError::Stage::already_running, EBUSY, {});
    if (spec.argv.empty() || spec.argv.front().empty()) return failure(StartError::Stage::execute, ENOENT, {});

    start_attempts.push_back(Clock::now());
    std::vector<std::string> candidates = keeper::executable_candidates(spec.argv.front(), search_path_of(spec.environment));
    if (spec.admit) {
        for (const std::string& candidate : candidates) {
            fs::path program = candidate;
            if (program.is_relative() && !spec.working_directory.empty()) program = spec.working_directory / program;
            struct stat status {};
            if (::stat(program.c_str(), &status) != 0 || !S_ISREG(status.st_mode) || ::access(program.c_str(), X_OK) != 0)
                continue;  // execve would pass it by
            if (auto why = spec.admit(program))
                return unexpected(StartError{StartError::Stage::refused, EPERM, "refused to start " + spec.argv.front() + ": " + *why});
            break;
        }
    }
    keeper::LaunchImage image(candidates, spec.argv, spec.environment, spec.working_directory.string());

    int channel_pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel_pair) != 0)
        return failure(StartError::Stage::harness_setup, errno, candidates);
    UniqueFd channel(channel_pair[0]), keeper_channel(channel_pair[1]);
    int stdout_pipe[2];
    if (::pipe2(stdout_pipe, O_CLOEXEC) != 0) return failure(StartError::Stage::harness_setup, errno, candidates);
    UniqueFd stdout_read(stdout_pipe[0]), stdout_write(stdout_pipe[1]);
    int stderr_pipe[2];
    if (::pipe2(stderr_pipe, O_CLOEXEC) != 0) return failure(StartError::Stage::harness_setup, errno, candidates);
    UniqueFd stderr_read(stderr_pipe[0]), stderr_write(stderr_pipe[1]);

    pid_t harness_pid = ::getpid();
    pid_t keeper_pid = ::fork();
    if (keeper_pid < 0) return failure(StartError::Stage::harness_setup, errno, candidates);
    if (keeper_pid == 0) keeper::run(image, harness_pid, keeper_channel.fd, stdout_write.fd, stderr_write.fd);

    // Only the keeper and the program may hold the write ends, or EOF never comes.
    { UniqueFd closing_channel(keeper_channel.release()), closing_out(stdout_write.release()), closing_err(stderr_write.release()); }

    LoopLease lease(io);  // until the run's own reads hold the loop
    std::optional<keeper::Report> first = await_first_report(io, channel.fd, start_report_timeout);
    if (!first) {
        ::kill(keeper_pid, SIGKILL);  // the program, if any, dies by its parent-death signal
        reap(keeper_pid);
        return failure(StartError::Stage::no_report, 0, candidates);
    }
    if (first->kind != keeper::ReportKind::started) {
        reap(keeper_pid);
        if (first->kind == keeper::ReportKind::start_failed)
            return failure(stage_from_keeper(first->a), first->b, candidates);
        return failure(StartError::Stage::no_report, 0, candidates);
    }

    run = std::make_shared<Run>(io, keeper_pid, static_cast<pid_t>(first->a), channel.release(), stdout_read.release(),
                                stderr_read.release());
    ++successful_starts;
    state = State::running;
    stop_requested = false;
    ProcessStarted started{run->program_pid, successful_starts, Clock::now()};

    auto current = run;
    read_channel(current);
    read_output(current, OutputStream::standard_output);
    read_output(current, OutputStream::standard_error);
    if (events.started) events.started(started);
    return started;
}

void SupervisedProcess::Core::read_channel(const std::shared_ptr<Run>& current) {
    current->channel.async_read_some(
        asio::buffer(&current->report, sizeof current->report),
        [weak = weak_from_this(), current](const boost::system::error_code& error, std::size_t size) {
            auto self = weak.lock();
            if (!self || self->destroyed || error == asio::error::operation_aborted) return;
            if (error == asio::error::connection_reset) {
                // The keeper exited with a command of ours unread: the kernel
                // reports that once, ahead of the reports still queued for us.
                self->read_channel(current);
                return;
            }
            if (error || size != sizeof current->report) {
                self->on_channel_closed(current);
                return;
            }
            self->on_report(current, current->report);
            if (!self->destroyed && current->channel_open) self->read_channel(current);
        });
}

void SupervisedProcess::Core::read_output(const std::shared_ptr<Run>& current, OutputStream stream) {
    bool is_stdout = stream == OutputStream::standard_output;
    auto& descriptor = is_stdout ? current->standard_output : current->standard_error;
    auto& buffer = is_stdout ? current->stdout_buffer : current->stderr_buffer;
    descriptor.async_read_some(
        asio::buffer(buffer), [weak = weak_from_this(), current, is_stdout, stream](const boost::system::error_code& error,
                                                                                  std::size_t size) {
            auto self = weak.lock();
            if (!self || self->destroyed || error == asio::error::operation_aborted) return;
            auto& splitter = is_stdout ? current->stdout_lines : current->stderr_lines;
            auto& buffer_now = is_stdout ? current->stdout_buffer : current->stderr_buffer;
            if (error) {  // EOF: every holder of the write end is gone
                (is_stdout ? current->stdout_open : current->stderr_open) = false;
                self->deliver(splitter.finish(Clock::now()));
                if (!self->destroyed) self->maybe_finish(current);
                return;
            }
            self->deliver(splitter.feed(std::string_view(buffer_now.data(), size), Clock::now()));
            if (!self->destroyed && self->run == current) self->read_output(current, stream);
        });
}

void SupervisedProcess::Core::on_report(const std::shared_ptr<Run>& current, const keeper::Report& report) {
    switch (report.kind) {
        case keeper::ReportKind::stopped:
            current->reported_stopped = true;
            if (current->owed == Run::Owed::stopped) current->owed = Run::Owed::nothing;
            if (events.job_control) events.job_control(JobControlChange{true, report.a, Clock::now()});
            return;
        case keeper::ReportKind::continued:
            current->reported_stopped = false;
            if (current->owed == Run::Owed::continued) current->owed = Run::Owed::nothing;
            if (events.job_control) events.job_control(JobControlChange{false, 0, Clock::now()});
            return;
        case keeper::ReportKind::ended:
            current->end = ProcessExit::from_child_status(report.a, report.b);
            current->end_at = Clock::now();
            return;
        case keeper::ReportKind::started:
        case keeper::ReportKind::start_failed:
            break;
    }
    RMTFS_HIL_ASSERT(false, "the keeper sent a start report after the start");
}

void SupervisedProcess::Core::on_channel_closed(const std::shared_ptr<Run>& current) {
    current->channel_open = false;
    boost::system::error_code ignored;
    current->channel.close(ignored);
    reap(current->keeper_pid);
    if (!current->end) {
        // The keeper died without a word (killed from outside). The program
        // died by its PDEATHSIG; kill the rest of its group while its id is
        // still fresh (only a new group made in these microseconds could
        // reuse it).
        ::kill(-current->program_pid, SIGKILL);
        current->end = ProcessExit(SupervisionLost{});
        current->end_at = Clock::now();
    }
    if (current->stdout_open || current->stderr_open) {
        current->drain_timer.expires_after(output_drain_timeout);
        current->drain_timer.async_wait([weak = weak_from_this(), current](const boost::system::error_code& error) {
            auto self = weak.lock();
            if (!self || self->destroyed || error) return;
            current->drain_expired = true;
            self->deliver(current->stdout_lines.finish(Clock::now()));
            if (!self->destroyed) self->deliver(current->stderr_lines.finish(Clock::now()));
            if (!self->destroyed) self->maybe_finish(current);
        });
    }
    maybe_finish(current);
}

void SupervisedProcess::Core::maybe_finish(const std::shared_ptr<Run>& current) {
    if (run != current || current->channel_open || !current->end) return;
    if ((current->stdout_open || current->stderr_open) && !current->drain_expired) return;
    current->close_all();
    run.reset();
    stop_timer.cancel();
    last_exit = current->end;
    if (events.ended) events.ended(ProcessEnded{*current->end, current->program_pid, current->end_at});
    if (!destroyed) after_end();
}

void SupervisedProcess::Core::after_end() {
    if (run) return;  // a callback started it again
    if (stop_requested || !restart.enabled) {
        state = State::idle;
        return;
    }
    auto now = Clock::now();
    while (!start_attempts.empty() && now - start_attempts.front() > restart.start_limit_interval)
        start_attempts.pop_front();
    if (start_attempts.size() >= restart.start_limit_burst) {
        state = State::gave_up;
        if (events.gave_up)
            events.gave_up(GaveUp{static_cast<unsigned>(start_attempts.size()),
                                  std::to_string(start_attempts.size()) + " starts within " +
                                      std::to_string(restart.start_limit_interval.count()) +
                                      " ms (start limit): crash loop, not restarting"});
        return;
    }
    state = State::restart_pending;
    restart_timer.expires_after(restart.delay);
    restart_timer.async_wait([weak = weak_from_this()](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (!self || self->destroyed || error || self->state != State::restart_pending) return;
        self->attempt_restart();
    });
}

void SupervisedProcess::Core::attempt_restart() {
    auto started = start_run();
    if (started) return;
    if (destroyed) return;
    if (events.start_failed) events.start_failed(started.error());
    if (!destroyed) after_end();
}

Expected<SignalSent, SignalError> SupervisedProcess::Core::send_signal(int signal_number) {
    if (!run || !run->channel_open || run->end) return unexpected(SignalError{"not running"});
    // Straight to the group, so the signal is pending before this returns:
    // faults that must land before the program's next step rely on it. The
    // only window in which the group could be gone and its number reused is
    // between the keeper reaping the program and its report arriving here
    // (run->end); the keeper relays only when the kernel refuses.
    if (::kill(-run->program_pid, signal_number) == 0) {
        owe_report(signal_number);
        return SignalSent{signal_number, run->program_pid};
    }
    keeper::Command command{keeper::CommandKind::signal_group, signal_number};
    ssize_t sent;
    while ((sent = ::send(run->channel.native_handle(), &command, sizeof command, MSG_NOSIGNAL | MSG_DONTWAIT)) < 0 &&
           errno == EINTR) {
    }
    if (sent != static_cast<ssize_t>(sizeof command))
        return unexpected(SignalError{"keeper unreachable: " + errno_text(errno)});
    owe_report(signal_number);
    return SignalSent{signal_number, run->program_pid};
}

// What a signal sent to a running program owes: its end where the default
// action ends it (the signal neither caught, ignored nor blocked), a report
// of its stop, of its continuing when it was reported stopped. A SIGCONT that
// overtakes a stop not yet taken may leave either report or neither: nothing
// is owed then. A fatal signal to a stopped program acts once it continues.
void SupervisedProcess::Core::owe_report(int signal_number) {
    Run& r = *run;
    if (r.owed == Run::Owed::end) return;
    bool stopped = r.reported_stopped || r.owed == Run::Owed::stopped;
    if (signal_number == SIGCONT) {
        if (r.end_on_continue) r.owed = Run::Owed::end;
        else r.owed = r.reported_stopped ? Run::Owed::continued : Run::Owed::nothing;
        return;
    }
    switch (default_effect(r.program_pid, signal_number)) {
        case SignalEffect::ends:
            if (!stopped || signal_number == SIGKILL) r.owed = Run::Owed::end;
            else r.end_on_continue = true;
            return;
        case SignalEffect::stops:
            if (!stopped) r.owed = Run::Owed::stopped;
            return;
        case SignalEffect::none: return;
    }
}

bool SupervisedProcess::Core::settling() const {
    if (!run) return false;
    return run->end || !run->channel_open || run->owed != Run::Owed::nothing || run->exited();
}

void SupervisedProcess::Core::shut_down() {
    destroyed = true;
    restart_timer.cancel();
    stop_timer.cancel();
    if (!run) return;
    auto current = std::move(run);
    if (current->channel_open) {
        // EOF on the channel: the keeper kills the whole tree, reaps it, exits.
        ::shutdown(current->channel.native_handle(), SHUT_RDWR);
        current->close_all();
        reap(current->keeper_pid);
    }
    current->close_all();
}

SupervisedProcess::SupervisedProcess(asio::io_context& io, LaunchSpec spec, ProcessEvents events, RestartPolicy restart)
    : core_(std::make_shared<Core>(io, std::move(spec), std::move(events), restart)) {}

SupervisedProcess::~SupervisedProcess() { core_->shut_down(); }

Expected<ProcessStarted, StartError> SupervisedProcess::start() {
    if (core_->state == State::restart_pending) core_->restart_timer.cancel();
    // An explicit start is a fresh decision (systemctl reset-failed + start):
    // the start limit counts only automatic restarts after it.
    if (!core_->run) core_->start_attempts.clear();
    auto started = core_->start_run();
    if (!started && core_->state != State::running) core_->state = State::idle;
    return started;
}

Expected<SignalSent, SignalError> SupervisedProcess::signal(int signal_number) { return core_->send_signal(signal_number); }

bool SupervisedProcess::settling() const { return core_->settling(); }

void SupervisedProcess::stop(std::chrono::milliseconds grace) {
    auto& core = *core_;
    if (core.state == State::restart_pending) {
        core.restart_timer.cancel();
        core.state = State::idle;
        return;
    }
    if (!core.run || core.run->end) {
        core.stop_requested = true;
        return;
    }
    core.stop_requested = true;
    core.state = State::stopping;
    core.send_signal(SIGTERM);
    core.send_signal(SIGCONT);
    core.stop_timer.expires_after(grace);
    core.stop_timer.async_wait([weak = core.weak_from_this(), current = core.run](const boost::system::error_code& error) {
        auto self = weak.lock();
        if (!self || self->destroyed || error || self->run != current) return;
        self->send_signal(SIGKILL);
    });
}

SupervisedProcess::State SupervisedProcess::state() const { return core_->state; }

std::optional<pid_t> SupervisedProcess::pid() const {
    if (core_->run && !core_->run->end) return core_->run->program_pid;
    return std::nullopt;
}

unsigned SupervisedProcess::starts() const { return core_->successful_starts; }

unsigned SupervisedProcess::restarts() const {
    return core_->successful_starts > 0 ? core_->successful_starts - 1 : 0;
}

std::optional<ProcessExit> SupervisedProcess::last_exit() const { return core_->last_exit; }

const LaunchSpec& SupervisedProcess::spec() const { return core_->spec; }

std::string_view to_string(SupervisedProcess::State state) {
    switch (state) {
        case SupervisedProcess::State::idle: return "idle";
        case SupervisedProcess::State::running: return "running";
        case SupervisedProcess::State::stopping: return "stopping";
        case SupervisedProcess::State::restart_pending: return "restart pending";
        case SupervisedProcess::State::gave_up: return "gave up";
    }
    return "unknown state";
}

std::string_view to_string(StartError::Stage stage) {
    switch (stage) {
        case StartError::Stage::already_running: return "already running";
        case StartError::Stage::harness_setup: return "harness setup";
        case StartError::Stage::keeper_setup: return "keeper setup";
        case StartError::Stage::fork: return "fork";
        case StartError::Stage::standard_input: return "standard input/output";
        case StartError::Stage::working_directory: return "working directory";
        case StartError::Stage::execute: return "execute";
        case StartError::Stage::no_report: return "no report";
        case StartError::Stage::refused: return "refused";
    }
    return "unknown stage";
}

}  // namespace rmtfs_hil::server
