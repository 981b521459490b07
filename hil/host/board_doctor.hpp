// `rmtfs-hil hil doctor`: is a board ready for `run --target adb`? Checks
// what the host can ask through adb (reachable, authorized, root, the
// architecture, the system's rmtfs service and its command line), then
// pushes the agent and runs `agent --doctor` for what only the board's own
// files tell (hil/agent/board_check.hpp). Every check says what it found
// and, when something is missing, how to fix it.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "hil/agent/agent_protocol.hpp"

namespace rmtfs_hil::hil {

struct DoctorOptions {
    std::string adb = "adb";
    std::string serial;           // empty: adb's only device
    std::filesystem::path agent;  // pushed for the board's own checks
    std::filesystem::path shim;   // pushed beside it, as a run does
    std::string board;            // --board as given: a name or a host file; empty: the default
    std::string server;           // --server: the daemon's path on the board
    std::string remote_dir = "/data/local/tmp/rmtfs-hil-doctor";
};

// Each check as it is made (`each`), and all of them. Checks that cannot be
// made because an earlier one failed (no adb, no device) are left out.
std::vector<Check> check_board_over_adb(const DoctorOptions& options, const std::function<void(const Check&)>& each);

}  // namespace rmtfs_hil::hil
