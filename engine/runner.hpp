// Acts a scenario out on a rig and judges it: each step runs the rig's event
// loop until its result is in or its bound has passed; the invariants are
// checked throughout and at the end. The verdict is pass, fail (the server
// did not do what a correct one must), error (the harness or the machine
// could not run it) or skip (the scenario is not for this target), each with
// its reason.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "engine/report.hpp"
#include "engine/scenario.hpp"

namespace rmtfs_hil::engine {

struct RunOptions {
    std::string server = "/usr/bin/rmtfs";
    std::optional<std::uint64_t> seed;  // overrides the scenario's
    std::string target = "sim";
    // Polled between steps and inside waits: true stops the scenario (verdict
    // error, "interrupted").
    std::function<bool()> interrupted;
    // Called with each step as it finishes (progress for long scenarios).
    std::function<void(const StepResult&)> step_done;
    // The command that reruns one scenario: its file is appended.
    std::string reproduce_prefix = "rmtfs-hil run";
};

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options);

// How a result compares with the scenario's known issue: "" (none), "known",
// "fixed" or "new".
std::string known_issue_status(const Scenario& scenario, const ScenarioResult& result);

}  // namespace rmtfs_hil::engine
