// The emulated device's shell, which never runs a shell of the host: a command
// line is split into words by POSIX quoting rules (anything a real shell would
// act on — lists, pipes, redirections, expansions — is refused), and the words
// name either a built-in board command, implemented here inside the device
// root, or a program the host pushed under /data/local/tmp, run with execve.
// Also the programs it starts: each in its own process group, its stdio on
// pipes the ADB stream reads and writes, and never left running.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "hil/emulated_device/device_root.hpp"
#include "proto/bytes.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::hil::emulated {

// Exit statuses as a POSIX shell gives them.
inline constexpr int exit_syntax_error = 2;
inline constexpr int exit_cannot_execute = 126;
inline constexpr int exit_not_found = 127;
// systemctl's status for "not active" and for "no such unit".
inline constexpr int exit_systemctl_inactive = 3;
inline constexpr int exit_systemctl_no_unit = 5;

// Where pushed programs live, and the only place `rm` removes from.
inline constexpr std::string_view program_directory = "/data/local/tmp";
// Runs aarch64 programs on another host (Debian's qemu-user-static).
inline constexpr std::string_view aarch64_runner = "qemu-aarch64-static";

// What a command produced when it ran to its end at once: a built-in, or a
// command line refused before anything ran.
struct CommandOutput {
    int exit_status = 0;
    std::string standard_output;
    std::string standard_error;
};

// Words, or the refusal (exit_not_found for a shell metacharacter outside
// quotes, exit_syntax_error for an unterminated quote) with its message.
Expected<std::vector<std::string>, CommandOutput> split_words(std::string_view command_line);

// A pushed program, ready for execve.
struct ProgramLaunch {
    std::filesystem::path executable;  // host path; qemu-aarch64-static for an aarch64 program elsewhere
    std::vector<std::string> argv;     // the words; behind qemu's own arguments when it runs the program
    std::filesystem::path working_directory;  // the device's root, as adbd starts commands in "/"
    std::vector<std::string> environment;     // complete: "NAME=value" each
};

using CommandPlan = std::variant<CommandOutput, ProgramLaunch>;

// One command line the device was asked to run, whatever became of it.
struct CommandRecord {
    std::string command_line;
    std::vector<std::string> argv;  // empty when the line was refused before it had words
    std::string outcome;            // "built-in, exit 0", "program /tmp/…/prog", "refused: …"
};

class Shell {
public:
    // `search_path`: where helper programs of the host (qemu-aarch64-static)
    // are looked for, ':'-separated like PATH.
    Shell(DeviceRoot& root, Board& board, std::string search_path, LogSink log);

    // Runs a built-in or a refusal to its end, or says which program to
    // start; records the command either way.
    CommandPlan plan(std::string_view command_line);

    // A built-in board command a program on the device ran (`caller`: how,
    // for the record); anything else is refused. Recorded like a command line.
    CommandOutput run_builtin(const std::vector<std::string>& words, std::string_view caller);

    // Every command line so far, in order; safe from any thread.
    std::vector<CommandRecord> commands() const;

    // Adds to the environment of every program started from now on (a
    // world's variables, which put the program in it).
    void set_environment_hook(std::function<std::vector<std::string>(std::vector<std::string>)> hook) {
        environment_hook_ = std::move(hook);
    }

private:
    CommandPlan plan_words(const std::vector<std::string>& words, std::string& outcome);
    CommandPlan plan_program(const std::vector<std::string>& words, std::string& outcome);
    std::vector<std::string> program_environment() const;
    void record(std::string_view command_line, std::vector<std::string> argv, std::string outcome);

    DeviceRoot& root_;
    Board& board_;
    std::string search_path_;
    LogSink log_;
    mutable std::mutex mutex_;
    std::vector<CommandRecord> commands_;
    std::function<std::vector<std::string>(std::vector<std::string>)> environment_hook_;
};

// ---------------------------------------------------------------------------
// Programs the device started.

enum class OutputStream { standard_output, standard_error };

struct ProgramEvents {
    // Output as it arrives; paused while the reader asked so.
    std::function<void(OutputStream stream, ByteView bytes)> output;
    // After the last output: the exit status, 128 + N for death by signal N.
    // Not called when the program is killed by Programs::kill_all.
    std::function<void(int exit_status)> ended;
};

class Programs;

// One started program. When its main process ends, whatever is left of its
// process group is killed, so its pipes close and the end is reported. (A
// descendant that left the group, by setsid, and keeps the output open holds
// the end back until it closes it; Programs::kill_all does not see it.)
class RunningProgram : public std::enable_shared_from_this<RunningProgram> {
public:
    pid_t pid() const { return pid_; }  // also its process group id

    // Writes to the program's stdin, then calls `written` (also when the
    // program no longer reads: the bytes are dropped). One write at a time.
    void write_stdin(Bytes bytes, std::function<void()> written);
    void close_stdin();

    // Backpressure: stop reading its output while the reader cannot keep up.
    void pause_output();
    void resume_output();

    // The reader went away: SIGTERM to the process group, SIGKILL after the
    // grace if the program is still there.
    void terminate();

private:
    friend class Programs;
    // Takes the descriptors: the pidfd and the parent's ends of the three pipes.
    RunningProgram(boost::asio::io_context& io, Programs& table, pid_t pid, int pidfd, int stdin_fd,
                   int stdout_fd, int stderr_fd, ProgramEvents events);

    void begin();
    void read_output(OutputStream stream);
    void wait_for_exit();
    void exited();
    void finish_if_done();
    void signal_group(int signal_number);
    void kill_now();  // SIGKILL and reap, synchronously; no events

    Programs& table_;
    pid_t pid_;
    bool reaped_ = false;
    bool finished_ = false;  // the end was reported (or will never be: killed)
    bool killed_ = false;  // by kill_now: handlers still queued do nothing
    bool paused_ = false;
    int exit_status_ = 0;
    boost::asio::posix::stream_descriptor pidfd_;
    boost::asio::posix::stream_descriptor stdin_;
    boost::asio::posix::stream_descriptor outputs_[2];
    bool reading_[2] = {false, false};
    Bytes output_buffers_[2];
    Bytes stdin_pending_;
    boost::asio::steady_timer grace_;
    ProgramEvents events_;
};

// Every process the device started, until it is reaped. Ignores SIGPIPE in
// the whole process: writing to the stdin of a program that has ended must
// fail with EPIPE, not kill the device.
class Programs {
public:
    // `stop_grace`: from terminate()'s SIGTERM to its SIGKILL.
    Programs(boost::asio::io_context& io, std::chrono::milliseconds stop_grace, LogSink log);
    ~Programs();  // kill_all()
    Programs(const Programs&) = delete;
    Programs& operator=(const Programs&) = delete;

    // Starts `launch` in its own process group; an execve failure comes back
    // as the shell's output for it (126 or 127 and a message).
    Expected<std::shared_ptr<RunningProgram>, CommandOutput> start(const ProgramLaunch& launch,
                                                                    ProgramEvents events);
    // SIGKILLs every process group and reaps every program, before returning.
    void kill_all();

private:
    friend class RunningProgram;
    void reaped(const std::shared_ptr<RunningProgram>& program);

    boost::asio::io_context& io_;
    std::chrono::milliseconds stop_grace_;
    LogSink log_;
    std::set<std::shared_ptr<RunningProgram>> running_;
};

}  // namespace rmtfs_hil::hil::emulated
