// `rmtfs-hil hil`: real boards through ADB. `hil emulate` runs an emulated
// board that Debian's real adb client connects to, so the board path can be
// tried (by people and by CI) without a board.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "engine/report.hpp"
#include "hil/emulated_device/device.hpp"
#include "hil/host/board_connection.hpp"
#include "hil/host/board_doctor.hpp"
#include "server/board_profile.hpp"
#include "tools/commands.hpp"
#include "tools/find_server.hpp"

namespace rmtfs_hil::commands {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace emulated = hil::emulated;

const std::string_view hil_help = R"(rmtfs-hil hil — real boards through ADB, and an emulated board to try them on

Usage:
  rmtfs-hil hil doctor [OPTIONS]
  rmtfs-hil hil emulate [OPTIONS]

Subcommands:
  doctor    Check that a board is ready for `run --target adb`, and say for
            each thing missing how to fix it.
  emulate   Run an emulated Android/Linux board on 127.0.0.1 that Debian 12's
            real adb connects to (adb connect 127.0.0.1:PORT); shell, push,
            pull and reboot work against it. Runs until Ctrl-C or SIGTERM.

Options of doctor:
  --serial S       The board as adb names it (adb devices -l), or HOST:PORT
                   for a board on the network (connected afresh). Default:
                   adb's only device.
  --board B        The board profile the checks compare with: a built-in
                   name or a board file; default sdm845.
  --server PATH    The daemon on the board a run would use (default: rmtfs
                   on the board's PATH).
  --adb PATH       The adb client (default: adb on PATH).
  --agent PATH     The agent pushed to check the board's files (default:
                   this program; for an aarch64 board, its aarch64 build:
                   build-aarch64/bin/rmtfs-hil).
  --json           One JSON object per check instead of the table.

  What it checks: adb runs; the board is online and authorized; the shell
  is root; the board is aarch64; the system's rmtfs service (systemd's
  rmtfs.service or AOSP's init service), its state and command line. Then,
  through the agent on the board: the rmtfs program; the kernel's QRTR
  (AF_QIPCRTR); the modem's remoteproc, found as rmtfs -s finds it, and its
  state; /dev/qcom_rmtfs_memN and its size; each EFS partition of the
  profile and its size; free scratch space. It reads only: nothing on the
  board is started, stopped or written, and what it pushed is removed.
  Exit status: 0 ready (warnings allowed), 1 a problem found, 2 usage.

Options of emulate:
  --port PORT      TCP port on 127.0.0.1, 1-65535; 0 (the default) picks a
                   free one. The adb server's emulator ports 5555-5585 are
                   refused.
  --board B        The board: a built-in name or a board file (see
                   `rmtfs-hil help boards`); default sdm845 (Dragonboard 845c).
  --root DIR       The device root: the board's files (/sys/class/remoteproc,
                   /dev/disk/by-partlabel, /etc/os-release, /data/local/tmp)
                   live in DIR and stay there. Default: a fresh directory,
                   removed at the end.
  --require-auth   Ask for adb authentication and accept no key: adb lists the
                   device as `unauthorized` (for negative tests).
  --qrtr           Give the board its own QRTR, as a board's kernel does:
                   programs run in an emulated world (AF_QIPCRTR sockets,
                   /dev/qcom_rmtfs_memN, the modem's remoteproc), where the
                   board's rmtfs.service runs its daemon (`rmtfs -r -P -s`)
                   while active; /usr/bin/systemctl on the board stops and
                   starts it. So `run --target adb --transport kernel` can be
                   tried without a board. Programs must be of this machine
                   (an aarch64 agent under qemu is not in the world).
  --server PATH    With --qrtr: the daemon rmtfs.service runs (default:
                   rmtfs on PATH).
  --log FILE       Append the device's log (connections, commands, pushes,
                   block-device writes, reboots) to FILE. It also goes to
                   stderr, where lines are dropped (and counted) rather
                   than stall the device when nobody reads it.
  -h, --help       Show this text.

What the emulated board does:
  * `adb shell` never reaches a host shell: the command line is split into
    words by POSIX quoting rules (; | & $ ` < > ( ) and newlines outside
    quotes are refused with status 127), then runs a built-in (true, false,
    echo, id, uname, getprop, cat, ls, mkdir, rm, chmod, systemctl for
    rmtfs.service) or a program pushed under /data/local/tmp, directly, in
    its own process group, with RMTFS_HIL_DEVICE_ROOT set to the device
    root. aarch64 programs run under qemu-aarch64-static when on PATH.
  * Exit statuses, stdout and stderr come back separately (shell_v2); a
    program whose `adb shell` goes away gets SIGTERM, then SIGKILL after 2 s.
  * Nothing is written to /dev through adb: a push there fails with
    "read-only block device". Every write any process attempts on a
    partition file is logged as a BLOCK DEVICE WRITE.
  * `adb reboot` drops every connection, kills every program, resets the
    board's services and modem state; the adb server reattaches by itself.

Example:
  rmtfs-hil hil emulate --port 15555 &
  adb connect 127.0.0.1:15555
  adb -s 127.0.0.1:15555 shell uname -m

Exit status of emulate: 0 after Ctrl-C or SIGTERM; 2 for a usage error; 3
when the device cannot start (the port is taken, the root cannot be made).
)";

namespace {

std::uint16_t parse_port(const std::string& text) {
    unsigned value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value > 65535)
        throw cli::UsageError("hil emulate: --port takes a number from 0 to 65535, not '" + text + "'");
    const auto port = static_cast<std::uint16_t>(value);
    if (emulated::is_adb_emulator_port(port))
        throw cli::UsageError("hil emulate: --port " + text + " is among the adb server's emulator ports (" +
                              std::to_string(emulated::adb_emulator_port_first) + "-" +
                              std::to_string(emulated::adb_emulator_port_last) + "); pick another");
    return port;
}

emulated::DeviceOptions parse_emulate(cli::Arguments& arguments) {
    emulated::DeviceOptions options;
    while (!arguments.done()) {
        std::string arg = arguments.take();
        if (arg == "-h" || arg == "--help") {
            std::fwrite(hil_help.data(), 1, hil_help.size(), stdout);
            std::exit(cli::exit_ok);
        } else if (arg == "--port") {
            options.port = parse_port(arguments.value_of(arg));
        } else if (arg == "--board") {
            auto board = server::resolve_board(arguments.value_of(arg));
            if (!board) throw cli::UsageError("hil emulate: option '--board': " + board.error());
            options.board = *board;
        } else if (arg == "--root") {
            options.root = fs::absolute(arguments.value_of(arg));
        } else if (arg == "--require-auth") {
            options.require_auth = true;
        } else if (arg == "--qrtr") {
            options.qrtr = true;
        } else if (arg == "--server") {
            options.system_server = arguments.value_of(arg);
        } else if (arg == "--log") {
            options.log_file = fs::absolute(arguments.value_of(arg));
        } else {
            throw cli::UsageError("hil emulate: unknown option '" + arg + "'");
        }
    }
    if (!options.system_server.empty() && !options.qrtr)
        throw cli::UsageError("hil emulate: --server is the daemon of the board's QRTR: give --qrtr too");
    if (options.qrtr) {
        options.system_server = cli::find_server(options.system_server.string());
        cli::require_server_in_world(options.system_server.string());
        std::error_code error;
        options.systemctl_program = fs::canonical("/proc/self/exe", error);
        if (error) throw cli::EnvironmentError("hil emulate: cannot find this program: " + error.message());
    }
    return options;
}

// The device's log lines on stderr, written by a thread of their own: a
// stderr nobody reads (a full pipe) must not stall the device. Past a
// bound, lines are dropped and counted; --log FILE keeps them all. At the
// end the writer is given a moment to drain, then left behind (it shares
// its state, so nothing it touches goes away under it).
class StderrPump {
public:
    StderrPump() : state_(std::make_shared<State>()) {
        writer_ = std::thread([state = state_] { run(*state); });
    }
    ~StderrPump() {
        std::unique_lock lock(state_->mutex);
        state_->closing = true;
        state_->wake.notify_all();
        const bool drained = state_->wake.wait_for(lock, std::chrono::seconds(1), [&] { return state_->finished; });
        lock.unlock();
        if (drained) writer_.join();
        else writer_.detach();  // blocked on a stderr nobody reads
    }
    StderrPump(const StderrPump&) = delete;
    StderrPump& operator=(const StderrPump&) = delete;

    void push(std::string_view line) {
        std::lock_guard lock(state_->mutex);
        if (state_->lines.size() >= max_queued_lines) {
            ++state_->dropped;
            return;
        }
        state_->lines.emplace_back(line);
        state_->wake.notify_all();
    }

private:
    static constexpr std::size_t max_queued_lines = 10000;

    struct State {
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<std::string> lines;
        std::size_t dropped = 0;
        bool closing = false;
        bool finished = false;
    };

    // Straight to the descriptor: stdio's lock on stderr, held by a writer
    // blocked on a full pipe, would stall the process's exit.
    static void write_stderr(const std::string& text) {
        const char* data = text.data();
        std::size_t left = text.size();
        while (left > 0) {
            ssize_t wrote = ::write(STDERR_FILENO, data, left);
            if (wrote < 0 && errno == EINTR) continue;
            if (wrote <= 0) return;  // stderr closed: the lines have nowhere to go
            data += wrote;
            left -= static_cast<std::size_t>(wrote);
        }
    }

    static void run(State& state) {
        std::unique_lock lock(state.mutex);
        for (;;) {
            state.wake.wait(lock, [&] { return state.closing || !state.lines.empty(); });
            if (state.lines.empty()) break;
            std::string line = std::move(state.lines.front());
            state.lines.pop_front();
            std::size_t dropped = std::exchange(state.dropped, 0);
            lock.unlock();
            if (dropped != 0)
                write_stderr("[" + std::to_string(dropped) + " log lines dropped: stderr is not being read]\n");
            write_stderr(line + "\n");
            lock.lock();
        }
        state.finished = true;
        state.wake.notify_all();
    }

    std::shared_ptr<State> state_;
    std::thread writer_;
};

int emulate(cli::Arguments& arguments) {
    emulated::DeviceOptions options = parse_emulate(arguments);
    StderrPump pump;
    options.log = [&pump](std::string_view line) { pump.push(line); };
    const bool root_given = !options.root.empty();
    const bool qrtr = options.qrtr;
    asio::io_context io;
    auto created = emulated::Device::create(io, std::move(options));
    if (!created) throw cli::EnvironmentError("hil emulate: " + created.error());
    emulated::Device& device = **created;

    asio::signal_set interrupts(io, SIGINT, SIGTERM);
    interrupts.async_wait([&](const boost::system::error_code& error, int) {
        if (error) return;
        device.stop();
        // The board's QRTR world keeps the loop busy until it is destroyed,
        // which happens below, outside the loop.
        if (qrtr) io.stop();
    });
    std::printf("emulated device listening on %s (root %s); try: adb connect %s\n", device.serial().c_str(),
                device.root().c_str(), device.serial().c_str());
    std::fflush(stdout);
    io.run();
    const fs::path root = device.root();
    created->reset();  // kills what it started; removes the root it made
    pump.push(root_given ? "emulated device stopped; its root is kept: " + root.string() : "emulated device stopped");
    return cli::exit_ok;
}

void print_check(const hil::Check& check, bool as_json) {
    if (as_json) {
        std::printf("%s\n", hil::check_line(check).c_str());
    } else {
        const char* status = check.status == hil::CheckStatus::ok        ? "ok"
                             : check.status == hil::CheckStatus::warning ? "WARNING"
                                                                          : "PROBLEM";
        std::printf("  %-8s %-24s %s\n", status, check.name.c_str(), engine::sanitize_line(check.found).c_str());
        if (!check.fix.empty()) std::printf("  %-8s %-24s fix: %s\n", "", "", engine::sanitize_line(check.fix).c_str());
    }
    std::fflush(stdout);
}

int doctor(cli::Arguments& arguments) {
    hil::DoctorOptions options;
    std::optional<std::string> agent;
    bool as_json = false;
    while (!arguments.done()) {
        std::string arg = arguments.take();
        if (arg == "-h" || arg == "--help") {
            std::fwrite(hil_help.data(), 1, hil_help.size(), stdout);
            std::exit(cli::exit_ok);
        } else if (arg == "--serial") {
            options.serial = arguments.value_of(arg);
            if (options.serial.empty()) throw cli::UsageError("hil doctor: --serial needs a serial");
        } else if (arg == "--board") {
            options.board = arguments.value_of(arg);
            auto board = server::resolve_board(options.board);
            if (!board) throw cli::UsageError("hil doctor: option '--board': " + board.error());
        } else if (arg == "--server") {
            options.server = arguments.value_of(arg);
        } else if (arg == "--adb") {
            options.adb = arguments.value_of(arg);
        } else if (arg == "--agent") {
            agent = arguments.value_of(arg);
        } else if (arg == "--json") {
            as_json = true;
        } else {
            throw cli::UsageError("hil doctor: unknown option '" + arg + "'");
        }
    }
    std::error_code error;
    options.agent = agent ? fs::path(*agent) : fs::canonical("/proc/self/exe", error);
    if (!fs::is_regular_file(options.agent, error))
        throw cli::UsageError("hil doctor: --agent " + options.agent.string() + ": no such file");
    options.shim = hil::shim_for_agent(options.agent);
    if (!as_json) {
        std::printf("rmtfs-hil hil doctor: %s, board profile %s\n",
                    options.serial.empty() ? "adb's only device" : options.serial.c_str(),
                    options.board.empty() ? server::default_board().name.c_str() : options.board.c_str());
        std::fflush(stdout);
    }
    auto checks = hil::check_board_over_adb(options, [as_json](const hil::Check& check) { print_check(check, as_json); });
    std::size_t problems = 0, warnings = 0;
    for (const auto& check : checks) {
        problems += check.status == hil::CheckStatus::problem;
        warnings += check.status == hil::CheckStatus::warning;
    }
    if (!as_json)
        std::printf("%zu check%s: %zu problem%s, %zu warning%s: %s\n", checks.size(), checks.size() == 1 ? "" : "s",
                    problems, problems == 1 ? "" : "s",
                    warnings, warnings == 1 ? "" : "s", problems == 0 ? "the board is ready" : "the board is not ready");
    return problems == 0 ? cli::exit_ok : cli::exit_failed;
}

}  // namespace

int hil(cli::Arguments& arguments) {
    if (arguments.done()) throw cli::UsageError("hil: no subcommand given (subcommands: doctor, emulate)");
    std::string subcommand = arguments.take();
    if (subcommand == "emulate") return emulate(arguments);
    if (subcommand == "doctor") return doctor(arguments);
    throw cli::UsageError("hil: unknown subcommand '" + subcommand + "' (subcommands: doctor, emulate)");
}

}  // namespace rmtfs_hil::commands
