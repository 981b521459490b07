// What the board agent (`rmtfs-hil agent`) tells the host, one JSON object
// per line on its stdout: a hello first, then each scenario's result as it
// ends, then done. Anything else on the line stream (a daemon's stray
// output, a shell's complaint) is not a protocol line and is kept as such.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "engine/capability.hpp"
#include "engine/report.hpp"
#include "proto/names.hpp"

namespace rmtfs_hil::hil {

// Linux's address family number for QRTR sockets.
inline constexpr int af_qipcrtr = 42;
// Where the agent reads the board's files (/dev, /sys, ...) when set: an
// emulated device sets it to its root; a board leaves it unset ("/").
inline constexpr const char* device_root_variable = "RMTFS_HIL_DEVICE_ROOT";
// Bumped when a line's meaning changes: the host refuses an agent that speaks another.
inline constexpr int agent_protocol_version = 1;

// The agent's exit status when the board lacks what the scenarios need
// (said on its stderr): the host reports it once, as the machine's trouble.
inline constexpr int agent_exit_board_lacks = 3;
// Its exit status when the board's own rmtfs service, stopped for a
// kernel-transport run, could not be started again (done says why).
inline constexpr int agent_exit_not_restored = 4;

enum class Transport : std::uint8_t { loopback, kernel };

struct Hello {
    std::string version;  // the agent's rmtfs-hil version
    Transport transport = Transport::loopback;
    std::string board;    // the board profile's name
    engine::Capabilities capabilities;
    std::size_t scenarios = 0;  // how many it will run
    int protocol = agent_protocol_version;
};

struct Done {
    bool interrupted = false;
    // The board's rmtfs service stopped for the run and not started again:
    // why (empty when nothing was stopped, or all is back).
    std::string not_restored;
};

// One thing `rmtfs-hil hil doctor` checks of a board (the agent checks what
// it can read on the board itself: `agent --doctor`).
enum class CheckStatus : std::uint8_t { ok, warning, problem };

struct Check {
    std::string name;    // "modem remoteproc"
    CheckStatus status = CheckStatus::ok;
    std::string found;   // what is there, or what is missing
    std::string fix;     // how to mend it; empty when ok
};

struct ResultLine {
    engine::ScenarioResult result;
};

// A line that is not the protocol's, kept verbatim.
struct OtherLine {
    std::string text;
};

// What went wrong with a line that claims to be the protocol's.
struct BadLine {
    std::string why;
};

using AgentLine = std::variant<Hello, ResultLine, Done, Check, OtherLine, BadLine>;

std::string hello_line(const Hello& hello);
std::string result_line(const engine::ScenarioResult& result);
std::string done_line(bool interrupted, const std::string& not_restored);
std::string check_line(const Check& check);

// A line as the host reads it (without its newline).
AgentLine parse_agent_line(std::string_view line);

}  // namespace rmtfs_hil::hil

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::hil::Transport> {
    using T = rmtfs_hil::hil::Transport;
    static constexpr std::array entries{Named{T::loopback, "loopback"}, Named{T::kernel, "kernel"}};
};

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::hil::CheckStatus> {
    using T = rmtfs_hil::hil::CheckStatus;
    static constexpr std::array entries{Named{T::ok, "ok"}, Named{T::warning, "warning"}, Named{T::problem, "problem"}};
};
