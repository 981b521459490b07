// The rmtfs-hil command line: one executable, one subcommand per job.
#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "rmtfs_hil/version.hpp"
#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "hil/emulated_device/board_world.hpp"

namespace {

using namespace rmtfs_hil;

constexpr std::string_view help_text = R"(rmtfs-hil — test bench for the Qualcomm RMTFS service

A simulated modem speaks the real RMTFS QMI protocol, over an emulated QRTR
fabric or the kernel's, to the real, unmodified rmtfs daemon, and replays JSON
scenarios against it; the same scenarios run on boards through ADB.

Usage:
  rmtfs-hil run [OPTIONS] PATH...
  rmtfs-hil validate PATH...
  rmtfs-hil matrix [OPTIONS] [PATH...]
  rmtfs-hil sandbox [OPTIONS] -- COMMAND [ARGS...]
  rmtfs-hil hil SUBCOMMAND [OPTIONS]
  rmtfs-hil agent [OPTIONS] PATH...
  rmtfs-hil help [COMMAND]
  rmtfs-hil --version

Commands:
  run       Run JSON scenarios (files or folders) against the real daemon and
            judge them: pass / fail / error / skip, a reason for each, the
            command that reproduces a failure, JUnit / JSON / HTML reports.
  validate  Check scenario files; every error with file:line:column, JSON
            pointer and what was expected. Runs nothing.
  matrix    Each fault scenario under every coupling policy: modem up at the
            end? acknowledged data lost? time to recover?
  sandbox   Run any program in the emulated world: AF_QIPCRTR sockets, the
            rmtfs_mem device, the modem's remoteproc.
  hil       Real boards through ADB. `hil doctor`: is a board ready, and
            how to fix what is missing. `hil emulate`: an emulated board that
            Debian's adb connects to (adb connect 127.0.0.1:PORT), to try the
            board path without a board.
  agent     The board side of `run --target adb` (pushed there and run
            through adb shell; streams each result back as a JSON line).

  `rmtfs-hil help COMMAND` (or COMMAND --help) explains each.

Options:
  -h, --help     Show this text (or a command's, after the command) and exit.
  -V, --version  Print the version and exit.

Exit status:
  0  success (sandbox: the command's own status is passed through)
  1  a check or scenario failed
  2  usage error (unknown option or command, missing argument, bad input,
     a scenario file with errors)
  3  the machine lacks something the harness needs (named in the message)
  130  interrupted (Ctrl-C); the reports of what ran are written

See README.md in the source tree for the quick start.
)";

std::optional<std::string_view> help_of(std::string_view command) {
    if (command == "sandbox") return commands::sandbox_help;
    if (command == "hil") return commands::hil_help;
    if (command == "run") return commands::run_help;
    if (command == "validate") return commands::validate_help;
    if (command == "matrix") return commands::matrix_help;
    if (command == "agent") return commands::agent_help;
    return std::nullopt;
}

int usage_error(const std::string& message) {
    std::fprintf(stderr, "rmtfs-hil: %s\nTry 'rmtfs-hil --help' for more information.\n", message.c_str());
    return cli::exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
    // Called as systemctl: the emulated device's (hil emulate --qrtr).
    if (argc > 0 && std::filesystem::path(argv[0]).filename() == "systemctl")
        return hil::emulated::systemctl_client(argc, argv);
    if (argc < 2) return usage_error("no command given");
    std::string_view first = argv[1];
    if (first == "-h" || first == "--help" || first == "help") {
        if (argc == 3 && first == "help") {
            if (auto text = help_of(argv[2])) {
                std::fwrite(text->data(), 1, text->size(), stdout);
                return cli::exit_ok;
            }
            return usage_error("no command '" + std::string(argv[2]) + "'");
        }
        if (argc > 2) return usage_error("'" + std::string(first) + "' takes no arguments but a command name");
        std::fwrite(help_text.data(), 1, help_text.size(), stdout);
        return cli::exit_ok;
    }
    if (first == "-V" || first == "--version") {
        if (argc > 2) return usage_error("'" + std::string(first) + "' takes no arguments");
        std::printf("rmtfs-hil %s\n", RMTFS_HIL_VERSION);
        return cli::exit_ok;
    }
    try {
        cli::Arguments arguments(argc, argv, 2);
        // COMMAND ... --help ...: the command's help (not past a "--").
        for (int i = 2; i < argc && std::string_view(argv[i]) != "--"; ++i) {
            std::string_view arg = argv[i];
            if (arg != "--help" && arg != "-h") continue;
            if (auto text = help_of(first)) {
                std::fwrite(text->data(), 1, text->size(), stdout);
                return cli::exit_ok;
            }
        }
        if (first == "sandbox") return commands::sandbox(arguments);
        if (first == "hil") return commands::hil(arguments);
        if (first == "run") return commands::run(arguments);
        if (first == "validate") return commands::validate(arguments);
        if (first == "matrix") return commands::matrix(arguments);
        if (first == "agent") return commands::agent(arguments);
    } catch (const cli::UsageError& e) {
        return usage_error(e.what());
    } catch (const cli::EnvironmentError& e) {
        std::fprintf(stderr, "rmtfs-hil: %s\n", e.what());
        return cli::exit_environment;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "rmtfs-hil: internal error: %s\n", e.what());
        return cli::exit_environment;
    }
    if (!first.empty() && first[0] == '-') return usage_error("unknown option '" + std::string(first) + "'");
    return usage_error("unknown command '" + std::string(first) + "'");
}
