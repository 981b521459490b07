// What the agent checks of the board it runs on, for `rmtfs-hil hil doctor`
// (`rmtfs-hil agent --doctor`): the things a run needs that only the board's
// own files tell — the modem's remoteproc, the rmtfs_mem device, the EFS
// partitions and their sizes, the kernel's QRTR, the daemon program and
// whether the loopback world's preload libraries can enter it, room for a
// snapshot. Reads only: a block device is opened read-only, for its
// size, and nothing is written anywhere.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "hil/agent/agent_protocol.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::hil {

struct BoardCheckOptions {
    // Where the board's "/" is: "/" on a board; the emulated device's root
    // (RMTFS_HIL_DEVICE_ROOT) when it runs the agent.
    std::filesystem::path root = "/";
    const server::BoardProfile* board = &server::default_board();
    // The daemon program a run would start; empty: none was found (the
    // check says so).
    std::string server;
    std::string server_search;  // how it was looked for, for the message
    // The loopback world's preload libraries as a run would find them;
    // empty: not found.
    std::filesystem::path shim;
    std::filesystem::path umockdev_preload;
    // Where the agent keeps its scratch files (snapshots, worlds).
    std::filesystem::path scratch;
};

std::vector<Check> check_board(const BoardCheckOptions& options);

}  // namespace rmtfs_hil::hil
