// `rmtfs-hil sandbox`: run any program inside the emulated world and pass its
// exit status through.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "server/board_profile.hpp"
#include "server/process.hpp"
#include "server/sandbox.hpp"
#include "sim/remoteproc.hpp"
#include "tools/commands.hpp"

namespace rmtfs_hil::commands {

namespace fs = std::filesystem;
namespace asio = boost::asio;

const std::string_view sandbox_help = R"(rmtfs-hil sandbox — run a program in the emulated Qualcomm world

Usage:
  rmtfs-hil sandbox [OPTIONS] -- COMMAND [ARGS...]

Runs COMMAND (and everything it starts) with what the real rmtfs expects from
a Qualcomm kernel, on any Linux machine and without root:
  * AF_QIPCRTR sockets (family 42): a QRTR fabric with the local node 1 and
    the in-kernel name service, served by a preload library, so unmodified
    rmtfs, qrtr-lookup and python3's socket module work;
  * /dev/qcom_rmtfs_mem1 as a char device libudev finds, with its sysfs
    attributes phys_addr and size (the board's shared memory region);
  * /sys/class/remoteproc/remoteproc0, the modem, whose `state` answers reads
    and writes like the kernel (start while running: EBUSY; stop while
    offline: EINVAL).
The world lives in a fresh directory, removed when COMMAND ends (see --keep).

Options:
  --board NAME|FILE
                   Board profile: a built-in one, sdm845 (Dragonboard 845c,
                   the default), apq8016 (Dragonboard 410c) or qcm6490 (RB3
                   gen 2, a modem booted by PAS: compatible -mpss-pas), or
                   your board's own file (JSON: server/boards/README.md).
  --storage DIR    Use DIR as the EFS storage directory (the one to give to
                   `rmtfs -o`). Its files are used as they are and never
                   removed. Default: a fresh directory with zeroed images
                   modem_fs1, modem_fs2, modem_fsg, modem_fsc (2 MiB each).
  --keep           Keep the world directory afterwards (its path is printed).
  --trace FILE     Write the trace (every QRTR packet, name-service change,
                   remoteproc write, output line) to FILE. Default: trace.log
                   in the world directory.
  -q, --quiet      Do not print where the world lives.
  -h, --help       Show this text.

Environment COMMAND gets:
  RMTFS_HIL_STORAGE  the storage directory: rmtfs -o "$RMTFS_HIL_STORAGE"
  RMTFS_HIL_WORLD    the world directory
  RMTFS_HIL_SOCKET   the fabric's socket (for the preload library)
  LD_PRELOAD         the rmtfs-hil shim and umockdev's preload library
  UMOCKDEV_DIR       umockdev's testbed inside the world
  RMTFS_HIL_SHIM_LIBRARY (read, not set) overrides where the shim is found,
  RMTFS_HIL_UMOCKDEV_PRELOAD where umockdev's preload library is (both are
  preloaded into the daemon: they must be of its architecture).

Examples:
  rmtfs-hil sandbox -- sh -c 'rmtfs -v -o "$RMTFS_HIL_STORAGE" -s & sleep 1; qrtr-lookup'
  rmtfs-hil sandbox --keep -- python3 -c 'import socket; print(socket.socket(42, 2).getsockname())'

A COMMAND the preload libraries cannot enter — statically linked, linked
against Android's bionic, or built for another machine than the shim — would
act on this machine's real devices instead of the world's: it is refused,
with the reason, and never started.

Exit status: COMMAND's own (128+N when it was killed by signal N); 2 for a
usage error; 3 when the machine lacks something (umockdev, the shim library)
or COMMAND cannot be held in the world.
)";

namespace {

struct SandboxOptions {
    const server::BoardProfile* board = &server::default_board();
    std::optional<fs::path> storage;
    std::optional<fs::path> trace;
    bool keep = false;
    bool quiet = false;
    std::vector<std::string> command;
};

SandboxOptions parse(cli::Arguments& arguments) {
    SandboxOptions options;
    while (!arguments.done()) {
        std::string arg = arguments.take();
        if (arg == "--") {
            options.command = arguments.rest();
            break;
        }
        if (arg == "-h" || arg == "--help") {
            std::fwrite(sandbox_help.data(), 1, sandbox_help.size(), stdout);
            std::exit(cli::exit_ok);
        } else if (arg == "--board") {
            auto board = server::resolve_board(arguments.value_of(arg));
            if (!board) throw cli::UsageError("sandbox: --board: " + board.error());
            options.board = *board;
        } else if (arg == "--storage") {
            fs::path dir = arguments.value_of(arg);
            if (!fs::is_directory(dir)) throw cli::UsageError("sandbox: --storage " + dir.string() + " is not a directory");
            options.storage = fs::absolute(dir);
        } else if (arg == "--trace") {
            options.trace = fs::absolute(arguments.value_of(arg));
        } else if (arg == "--keep") {
            options.keep = true;
        } else if (arg == "-q" || arg == "--quiet") {
            options.quiet = true;
        } else {
            throw cli::UsageError("sandbox: unknown option '" + arg + "' (the command goes after '--')");
        }
    }
    if (options.command.empty())
        throw cli::UsageError("sandbox: no command: put it after '--', as in rmtfs-hil sandbox -- sh");
    return options;
}

// One line per event, with the time since the world came up.
class TraceFile {
public:
    TraceFile(const fs::path& path) : out_(path), start_(std::chrono::steady_clock::now()) {
        if (!out_) throw cli::EnvironmentError("cannot write the trace file " + path.string());
    }
    void write(std::chrono::steady_clock::time_point at, std::string_view source, std::string_view kind,
               std::string_view detail) {
        double ms = std::chrono::duration<double, std::milli>(at - start_).count();
        char stamp[32];
        std::snprintf(stamp, sizeof stamp, "%10.3f ms ", ms);
        out_ << stamp << source << ' ' << kind << ' ' << detail << '\n';
        out_.flush();
    }

private:
    std::ofstream out_;
    std::chrono::steady_clock::time_point start_;
};

int exit_status_of(const server::ProcessExit& exit) {
    if (const auto* e = std::get_if<server::Exited>(&exit.outcome())) return e->code;
    if (const auto* k = std::get_if<server::Killed>(&exit.outcome())) return 128 + k->signal;
    return cli::exit_environment;
}

}  // namespace

int sandbox(cli::Arguments& arguments) {
    SandboxOptions options = parse(arguments);

    server::SandboxOptions sandbox_options;
    sandbox_options.board = options.board;
    sandbox_options.world.keep = options.keep;
    sandbox_options.world.storage = options.storage;
    asio::io_context io;
    auto created = server::Sandbox::create(io, sandbox_options);
    if (!created) throw cli::EnvironmentError(created.error().message);
    server::Sandbox& sandbox = **created;

    fs::path trace_path = options.trace.value_or(sandbox.world().root() / "trace.log");
    TraceFile trace(trace_path);
    sandbox.fabric().set_trace([&](const sim::TraceEvent& e) { trace.write(e.at, sim::to_string(e.source), sim::to_string(e.kind), e.detail); });
    sandbox.modem().watch([&](const sim::Remoteproc& r, const sim::Remoteproc::Change& c) {
        trace.write(std::chrono::steady_clock::now(), "remoteproc", "state",
                    r.sysfs_name() + " '" + std::string(c.command) + "' -> " +
                        (c.error ? std::string("error ") + std::strerror(c.error) : std::string("ok")) + ", " +
                        std::string(sim::to_string(c.before)) + " -> " + std::string(sim::to_string(c.after)));
    });

    if (!options.quiet)
        std::fprintf(stderr, "rmtfs-hil sandbox: board %s, world %s%s\n  storage %s\n  trace   %s\n",
                     options.board->name.c_str(), sandbox.world().root().c_str(), options.keep ? " (kept)" : "",
                     sandbox.world().storage_dir().c_str(), trace_path.c_str());

    std::optional<server::ProcessExit> ended;
    server::ProcessEvents events;
    events.output = [&](const server::OutputLine& line) {
        std::FILE* to = line.stream == server::OutputStream::standard_output ? stdout : stderr;
        std::fwrite(line.text.data(), 1, line.text.size(), to);
        if (!line.unterminated && !line.continues) std::fputc('\n', to);
        std::fflush(to);
        trace.write(line.at, "command", server::to_string(line.stream), line.text);
    };
    events.ended = [&](const server::ProcessEnded& e) {
        ended = e.exit;
        trace.write(e.at, "command", "ended", e.exit.describe());
        io.stop();
    };
    server::SupervisedProcess command(io, sandbox.launch(options.command), events);

    asio::signal_set interrupts(io, SIGINT, SIGTERM, SIGHUP);
    interrupts.async_wait([&](const boost::system::error_code& error, int signal_number) {
        if (error) return;
        trace.write(std::chrono::steady_clock::now(), "harness", "signal",
                    "received " + server::signal_name(signal_number) + ": stopping the command");
        command.stop();
    });

    auto started = command.start();
    if (!started) {
        std::fprintf(stderr, "rmtfs-hil sandbox: %s\n", started.error().message.c_str());
        return started.error().stage == server::StartError::Stage::execute ? 127 : cli::exit_environment;
    }
    io.run();
    if (!ended) return cli::exit_environment;
    if (options.keep && !options.quiet)
        std::fprintf(stderr, "rmtfs-hil sandbox: world kept at %s\n", sandbox.world().root().c_str());
    return exit_status_of(*ended);
}

}  // namespace rmtfs_hil::commands
