// The rmtfs-hil command line: one executable, one subcommand per job.
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "rmtfs_hil/version.hpp"

namespace {

// Exit statuses every subcommand shares; scripts and CI branch on them.
constexpr int exit_ok = 0;
constexpr int exit_usage = 2;

constexpr std::string_view help_text = R"(rmtfs-hil — test bench for the Qualcomm RMTFS service

A simulated modem speaks the real RMTFS QMI protocol, over an emulated QRTR
fabric or the kernel's, to the real, unmodified rmtfs daemon, and replays JSON
scenarios against it; the same scenarios run on boards through ADB.

Usage:
  rmtfs-hil [--help | --version]
  rmtfs-hil help

Options:
  -h, --help     Show this text and exit.
  -V, --version  Print the version and exit.

Commands arrive as the project grows (sandbox, run, validate, matrix);
`rmtfs-hil --help` always lists the ones this build has.

Exit status:
  0  success
  2  usage error (unknown option or command, missing argument)

See README.md in the source tree for the quick start.
)";

int usage_error(const std::string& message) {
    std::fprintf(stderr, "rmtfs-hil: %s\nTry 'rmtfs-hil --help' for more information.\n",
                 message.c_str());
    return exit_usage;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return usage_error("no command given");
    std::string_view first = argv[1];
    if (first == "-h" || first == "--help" || first == "help") {
        if (argc > 2) return usage_error("'" + std::string(first) + "' takes no arguments");
        std::fwrite(help_text.data(), 1, help_text.size(), stdout);
        return exit_ok;
    }
    if (first == "-V" || first == "--version") {
        if (argc > 2) return usage_error("'" + std::string(first) + "' takes no arguments");
        std::printf("rmtfs-hil %s\n", RMTFS_HIL_VERSION);
        return exit_ok;
    }
    if (!first.empty() && first[0] == '-') return usage_error("unknown option '" + std::string(first) + "'");
    return usage_error("unknown command '" + std::string(first) + "'");
}
