// A broken contract inside one scenario (a harness bug) ends that scenario as
// an error naming the bug, and the next scenario still runs: nothing a valid
// scenario can do takes the suite down.
#include <gtest/gtest.h>

#include "engine/runner.hpp"
#include "engine/scenario_loader.hpp"
#include "proto/contract.hpp"

namespace rmtfs_hil::engine {
namespace {

Scenario one_step_scenario(const std::string& name) {
    auto loaded = load_scenario(R"({"name": ")" + name + R"(", "description": "d", "steps": [{"expect": {"service": true}}]})",
                                name + ".json");
    EXPECT_TRUE(loaded);
    return std::move(*loaded);
}

TEST(HarnessBug, ABrokenContractEndsOneScenarioAsAnError) {
    RunOptions buggy;
    buggy.make_target = [](const Scenario&, const TargetOptions&) -> Expected<std::unique_ptr<Target>, std::string> {
        RMTFS_HIL_ASSERT(false, "a harness bug while building the world");
        return unexpected(std::string("not reached"));
    };
    ScenarioResult first = run_scenario(one_step_scenario("first"), buggy);
    EXPECT_EQ(first.verdict, Verdict::error);
    EXPECT_NE(first.reason.find("a bug in the harness"), std::string::npos) << first.reason;
    EXPECT_NE(first.reason.find("contract violated: a harness bug while building the world"), std::string::npos)
        << first.reason;

    // The process lives on: the next scenario runs and gets its own verdict.
    RunOptions plain;
    plain.make_target = [](const Scenario&, const TargetOptions&) -> Expected<std::unique_ptr<Target>, std::string> {
        return unexpected(std::string("a fake world that is never built"));
    };
    ScenarioResult second = run_scenario(one_step_scenario("second"), plain);
    EXPECT_EQ(second.verdict, Verdict::error);
    EXPECT_NE(second.reason.find("a fake world that is never built"), std::string::npos) << second.reason;
}

// Outside a scenario a broken contract still stops the program at once.
TEST(HarnessBugDeathTest, OutsideAScenarioABrokenContractAborts) {
    EXPECT_DEATH(RMTFS_HIL_ASSERT(1 + 1 == 3, "arithmetic"), "contract violated: arithmetic");
}

}  // namespace
}  // namespace rmtfs_hil::engine
