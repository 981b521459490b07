// Acts a scenario out on a target and judges it. The runner keeps the loop
// of steps and the verdict; each step runs itself (engine/step.hpp). The
// verdict is pass, fail (the server did not do what a correct one must),
// error (the harness or the machine could not run it) or skip (the scenario
// is not for this target, or needs what the target cannot do), each with its
// reason.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "engine/report.hpp"
#include "engine/scenario.hpp"
#include "engine/sim_target.hpp"

namespace rmtfs_hil::engine {

using TargetFactory =
    std::function<Expected<std::unique_ptr<Target>, std::string>(const Scenario&, const TargetOptions&)>;

struct RunOptions {
    std::string server = "/usr/bin/rmtfs";
    // The board of scenarios that name none (--board).
    const server::BoardProfile* board = &server::default_board();
    std::optional<std::uint64_t> seed;  // overrides the scenario's
    TargetKind target = TargetKind::sim;
    // The world each scenario runs in, and what it can do (checked before it is made).
    TargetFactory make_target = make_sim_target;
    Capabilities capabilities = sim_capabilities();
    // The target is one board (a real one): a scenario for another board is
    // skipped, not run on this one.
    bool fixed_board = false;
    // Asked between steps and inside waits: true stops the scenario (verdict
    // error, "interrupted").
    Interrupt interrupted;
    // Called with each step as it finishes (progress for long scenarios).
    std::function<void(const StepResult&)> step_done;
    // The command that reruns one scenario: its file is appended.
    std::string reproduce_prefix = "rmtfs-hil run";
};

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options);

// How a scenario ended: its verdict, the failure itself (without the step and
// place its reason names) and the 0-based step it came at, if a step's.
struct Outcome {
    Verdict verdict = Verdict::pass;
    std::string finding;
    std::optional<std::size_t> step;
};
// How that compares with the scenario's known issue (KnownStatus): the match
// is looked for in the finding, at the known issue's step if it names one.
KnownStatus known_issue_status(const Scenario& scenario, const Outcome& outcome);

// Why the scenario cannot run on a target with these capabilities ("needs
// power_loss (step 4, power_loss, file:12:5)"), or nothing.
std::optional<std::string> missing_capabilities(const Scenario& scenario, const Capabilities& capabilities);

}  // namespace rmtfs_hil::engine
