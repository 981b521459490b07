// The simulated target: a scenario's world built as a rig (engine/rig.hpp) —
// the real daemon in a sandbox against simulated modems — and offered to
// the steps through the Target interface.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/interrupt.hpp"
#include "engine/scenario.hpp"
#include "engine/target.hpp"
#include "proto/expected.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::engine {

struct TargetOptions {
    std::string server = "/usr/bin/rmtfs";  // the daemon's binary
    // The board of scenarios that name none (--board).
    const server::BoardProfile* board = &server::default_board();
    std::uint64_t seed = 1;
    // Asked while the world runs: true ends waits early (Ctrl-C).
    Interrupt interrupted;
};

// Everything a simulated world can do: all but what only a board has (its
// own EFS partitions).
Capabilities sim_capabilities();

Expected<std::unique_ptr<Target>, std::string> make_sim_target(const Scenario& scenario, const TargetOptions& options);

}  // namespace rmtfs_hil::engine
