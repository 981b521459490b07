// `rmtfs-hil run --target adb[:SERIAL]`: the host side. Pushes the board
// agent, its preload shim and the scenarios with the real `adb`, runs the
// agent through `adb shell`, and turns the lines it streams back
// (hil/agent/agent_protocol.hpp) into the same results as a simulated run.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/report.hpp"
#include "engine/scenario.hpp"
#include "engine/suite.hpp"
#include "hil/agent/agent_protocol.hpp"
#include "hil/host/board_connection.hpp"

namespace rmtfs_hil::hil {


struct BoardRunOptions {
    std::string adb = "adb";
    std::string serial;                // empty: adb's only device
    std::filesystem::path agent;       // the agent executable to push
    std::filesystem::path shim;        // its preload shim, pushed to bin/../lib beside it
    std::string server;                // the daemon on the board; empty: rmtfs on the board's PATH
    std::string board;                 // --board as given: a name, or a host file pushed too
    std::optional<std::uint64_t> seed;
    std::optional<Transport> transport;  // the agent's --transport; its default when not given
    bool allow_modem_restart = false;
    std::optional<sim::CouplingPolicy> coupling;  // every scenario under this policy (the matrix)
    std::string reproduce_prefix;      // a result's reproduce line: this, then its host file
    std::string remote_dir = "/data/local/tmp/rmtfs-hil";
};

// The serial of `--target adb[:SERIAL]` (empty for adb's only device).
std::string serial_of_target(const std::string& target);

struct BoardRun {
    engine::RunReport report;
    // The board's rmtfs service, stopped for a kernel-transport run, was not
    // started again: why (the agent's words). Empty when all is back.
    std::string not_restored;
};

BoardRun run_on_board(const std::vector<engine::Scenario>& scenarios, const BoardRunOptions& options,
                      const engine::SuiteOptions& suite);

}  // namespace rmtfs_hil::hil
