// `rmtfs-hil hil`: real boards through ADB. `hil emulate` runs an emulated
// board that Debian's real adb client connects to, so the board path can be
// tried (by people and by CI) without a board.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>

#include "hil/emulated_device/device.hpp"
#include "tools/commands.hpp"

namespace rmtfs_hil::commands {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace emulated = hil::emulated;

const std::string_view hil_help = R"(rmtfs-hil hil — real boards through ADB, and an emulated board to try them on

Usage:
  rmtfs-hil hil emulate [OPTIONS]

Subcommands:
  emulate   Run an emulated Android/Linux board on 127.0.0.1 that Debian 12's
            real adb connects to (adb connect 127.0.0.1:PORT); shell, push,
            pull and reboot work against it. Runs until Ctrl-C or SIGTERM.

Options of emulate:
  --port PORT      TCP port on 127.0.0.1, 1-65535; 0 (the default) picks a
                   free one. The adb server's emulator ports 5555-5585 are
                   refused.
  --board NAME     Board: sdm845 (Dragonboard 845c, the default).
  --root DIR       The device root: the board's files (/sys/class/remoteproc,
                   /dev/disk/by-partlabel, /etc/os-release, /data/local/tmp)
                   live in DIR and stay there. Default: a fresh directory,
                   removed at the end.
  --require-auth   Ask for adb authentication and accept no key: adb lists the
                   device as `unauthorized` (for negative tests).
  --log FILE       Append the device's log (connections, commands, pushes,
                   block-device writes, reboots) to FILE. It also goes to
                   stderr.
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

Exit status: 0 after Ctrl-C or SIGTERM; 2 for a usage error; 3 when the
device cannot start (the port is taken, the root cannot be made).
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
            std::string name = arguments.value_of(arg);
            options.board = emulated::find_board(name);
            if (options.board == nullptr)
                throw cli::UsageError("hil emulate: unknown board '" + name + "' (boards: " + emulated::board_names() + ")");
        } else if (arg == "--root") {
            options.root = fs::absolute(arguments.value_of(arg));
        } else if (arg == "--require-auth") {
            options.require_auth = true;
        } else if (arg == "--log") {
            options.log_file = fs::absolute(arguments.value_of(arg));
        } else {
            throw cli::UsageError("hil emulate: unknown option '" + arg + "'");
        }
    }
    return options;
}

int emulate(cli::Arguments& arguments) {
    emulated::DeviceOptions options = parse_emulate(arguments);
    options.log = [](std::string_view line) {
        std::fprintf(stderr, "%.*s\n", static_cast<int>(line.size()), line.data());
    };
    const bool root_given = !options.root.empty();
    asio::io_context io;
    auto created = emulated::Device::create(io, std::move(options));
    if (!created) throw cli::EnvironmentError("hil emulate: " + created.error());
    emulated::Device& device = **created;

    asio::signal_set interrupts(io, SIGINT, SIGTERM);
    interrupts.async_wait([&](const boost::system::error_code& error, int) {
        if (!error) device.stop();
    });
    std::printf("emulated device listening on %s (root %s); try: adb connect %s\n", device.serial().c_str(),
                device.root().c_str(), device.serial().c_str());
    std::fflush(stdout);
    io.run();
    const fs::path root = device.root();
    created->reset();  // kills what it started; removes the root it made
    if (root_given) std::fprintf(stderr, "emulated device stopped; its root is kept: %s\n", root.c_str());
    else std::fprintf(stderr, "emulated device stopped\n");
    return cli::exit_ok;
}

}  // namespace

int hil(cli::Arguments& arguments) {
    if (arguments.done()) throw cli::UsageError("hil: no subcommand given (subcommands: emulate)");
    std::string subcommand = arguments.take();
    if (subcommand == "emulate") return emulate(arguments);
    throw cli::UsageError("hil: unknown subcommand '" + subcommand + "' (subcommands: emulate)");
}

}  // namespace rmtfs_hil::commands
