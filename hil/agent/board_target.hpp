// The board target of the kernel transport: a scenario on the board's own
// QRTR (AF_QIPCRTR sockets), where the agent runs. The daemon is a process
// the agent supervises, started with the scenario's arguments on storage
// files of the scenario's making in a scratch directory (`-o`); the
// simulated modem is a client on the local node (sim/local_node_link.hpp)
// and moves its data through the board's /dev/qcom_rmtfs_memN. What needs
// the emulated world (faults inside the daemon's calls, storage faults,
// power loss, link faults, the modem's processor, coupling policies, a
// userspace name service, several modems) is not among its capabilities,
// nor is a daemon on the board's raw partitions (-P) or one that drives the
// board's modem (-s) unless the run allows restarting the modem.
#pragma once

#include <filesystem>
#include <string>

#include "engine/capability.hpp"
#include "engine/runner.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::hil {

struct BoardTargetOptions {
    // Where /dev and /sys are read: "/" on a board, the device root of an
    // emulated one.
    std::filesystem::path root = "/";
    // Where each scenario's storage directory is made (and removed).
    std::filesystem::path scratch = "/tmp";
    // The daemon may drive the board's modem (rmtfs -s stops and starts it).
    bool allow_modem_restart = false;
};

engine::Capabilities board_capabilities(const BoardTargetOptions& options);

// Makes a scenario's board target; the run's TargetOptions give the daemon,
// the board profile and the seed.
engine::TargetFactory board_target_factory(BoardTargetOptions options);

}  // namespace rmtfs_hil::hil
