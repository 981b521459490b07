// A target that cannot do everything: the runner skips exactly the scenarios
// that need what it lacks, before anything is built, and names the
// capability and the step. Checked over the whole scenario library, with the
// expectation worked out from the files' JSON here, independently of the
// steps' own needs().
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "engine/runner.hpp"
#include "engine/sim_target.hpp"
#include "engine/suite.hpp"

namespace rmtfs_hil::engine {
namespace {

using Json = nlohmann::json;

// The library's files as JSON, by scenario name.
std::map<std::string, Json> library_json() {
    std::map<std::string, Json> files;
    for (const auto& entry : std::filesystem::directory_iterator(RMTFS_HIL_SCENARIO_LIBRARY)) {
        const auto& path = entry.path();
        if (path.extension() != ".json" || path.string().ends_with(".schema.json")) continue;
        std::ifstream in(path);
        Json scenario = Json::parse(in);
        files[scenario.at("name").get<std::string>()] = scenario;
    }
    return files;
}

bool any_step(const Json& scenario, const std::function<bool(const std::string&, const Json&)>& matches) {
    for (const Json& step : scenario.at("steps"))
        for (const auto& [kind, value] : step.items())
            if (matches(kind, value)) return true;
    return false;
}

// Runs every scenario on a target with all capabilities but `lacking`; the
// world is never built (a scenario that is not skipped ends as an error
// naming the fake), so no daemon runs.
// `where`: how the reason places the need ("(step " or "(the setup)").
void expect_skips(Capability lacking, const std::function<bool(const Json&)>& needs, const std::string& where = "(step ") {
    LoadedSuite suite = load_suite({RMTFS_HIL_SCENARIO_LIBRARY});
    ASSERT_TRUE(suite.errors.empty());
    auto files = library_json();
    RunOptions options;
    options.capabilities = Capabilities::all();
    options.capabilities.remove(lacking);
    options.make_target = [](const Scenario&, const TargetOptions&) -> Expected<std::unique_ptr<Target>, std::string> {
        return unexpected(std::string("a fake world that is never built"));
    };
    std::size_t skipped = 0;
    for (const Scenario& scenario : suite.scenarios) {
        ScenarioResult result = run_scenario(scenario, options);
        bool expected_skip = needs(files.at(scenario.name));
        if (expected_skip) {
            ++skipped;
            EXPECT_EQ(result.verdict, Verdict::skip) << scenario.name << ": " << result.reason;
            EXPECT_NE(result.reason.find(std::string(name_of(lacking))), std::string::npos) << result.reason;
            EXPECT_NE(result.reason.find(std::string(name_of(lacking)) + " " + where), std::string::npos)
                << "names where it is needed: " << result.reason;
            EXPECT_EQ(result.known_status, KnownStatus::none) << "a skip says nothing about a known issue";
        } else {
            EXPECT_EQ(result.verdict, Verdict::error) << scenario.name << " should have been run: " << result.reason;
            EXPECT_NE(result.reason.find("a fake world"), std::string::npos) << result.reason;
        }
    }
    EXPECT_GT(skipped, 0u) << "the library has scenarios that need " << name_of(lacking);
    EXPECT_LT(skipped, suite.scenarios.size());
}

TEST(Capabilities, WithoutPowerLossOnlyThePowerLossScenariosAreSkipped) {
    expect_skips(Capability::power_loss, [](const Json& s) {
        return any_step(s, [](const std::string& kind, const Json& value) {
            return kind == "power_loss" || (kind == "fault" && value.value("action", "") == "power_loss");
        });
    });
}

TEST(Capabilities, WithoutStorageFaultsOnlyTheStorageFaultScenariosAreSkipped) {
    expect_skips(Capability::storage_io_faults, [](const Json& s) {
        return any_step(s, [](const std::string& kind, const Json& value) {
            bool io_fault = kind == "io_fault" || (kind == "fault" && value.value("action", "") == "io_fault");
            return io_fault && value.value("target", "storage") == "storage";
        });
    });
}

TEST(Capabilities, WithoutExactFaultsOnlyTheTriggeredFaultScenariosAreSkipped) {
    expect_skips(Capability::exact_faults, [](const Json& s) {
        return any_step(s, [](const std::string& kind, const Json& value) { return kind == "fault" && value.contains("when"); });
    });
}

TEST(Capabilities, WithoutHandBuiltRequestsOnlyTheRawScenariosAreSkipped) {
    expect_skips(Capability::hand_built_requests,
                 [](const Json& s) { return any_step(s, [](const std::string& kind, const Json&) { return kind == "raw"; }); });
}

TEST(Capabilities, WithoutCouplingPoliciesOnlyTheManualScenariosRun) {
    expect_skips(Capability::coupling_policies, [](const Json& s) {
        return s.contains("setup") && s["setup"].value("coupling", "manual") != "manual";
    }, "(the setup)");
}

// The daemon's arguments as rmtfs's getopt reads them ("o:PrsS:v"), worked
// out here independently of the loader.
bool server_flag(const Json& s, char flag) {
    if (!s.contains("setup") || !s["setup"].contains("server") || !s["setup"]["server"].contains("args")) return false;
    bool value_next = false;
    for (const Json& word : s["setup"]["server"]["args"]) {
        std::string arg = word.get<std::string>();
        if (value_next) {
            value_next = false;
            continue;
        }
        if (arg.size() < 2 || arg[0] != '-') continue;
        for (std::size_t i = 1; i < arg.size(); ++i) {
            if (arg[i] == flag) return true;
            if (arg[i] == 'o' || arg[i] == 'S') {
                value_next = i + 1 == arg.size();
                break;
            }
        }
    }
    return false;
}

TEST(Capabilities, WithoutRawPartitionsOnlyTheDashPScenariosAreSkipped) {
    expect_skips(Capability::raw_partitions, [](const Json& s) { return server_flag(s, 'P'); }, "(the setup)");
}

TEST(Capabilities, WithoutTheDaemonDrivingTheModemOnlyTheDashSScenariosAreSkipped) {
    expect_skips(Capability::daemon_drives_modem, [](const Json& s) { return server_flag(s, 's'); }, "(the setup)");
}

// Scenarios built in code, so every spelling getopt accepts is covered.
Capabilities needs_for_args(std::vector<std::string> args) {
    Scenario scenario;
    scenario.setup.server.args = std::move(args);
    return needs_of(scenario);
}

TEST(Capabilities, TheDaemonsOptionsAreReadAsGetoptReadsThem) {
    auto raw = [](std::vector<std::string> args) { return needs_for_args(std::move(args)).contains(Capability::raw_partitions); };
    auto drives = [](std::vector<std::string> args) {
        return needs_for_args(std::move(args)).contains(Capability::daemon_drives_modem);
    };
    EXPECT_TRUE(raw({"-r", "-P", "-s"}));
    EXPECT_TRUE(drives({"-r", "-P", "-s"}));
    EXPECT_TRUE(raw({"-rPs"}));
    EXPECT_TRUE(drives({"-rPs"}));
    EXPECT_TRUE(raw({"-o", "/dev/block/by-name", "-P"}));
    EXPECT_FALSE(raw({"-o", "-P"})) << "-P here is -o's value";
    EXPECT_FALSE(drives({"-o-s"})) << "-s here is -o's value";
    EXPECT_FALSE(drives({"-S", "-s"})) << "-s here is -S's value";
    EXPECT_TRUE(drives({"-S", "_a", "-s"}));
    EXPECT_FALSE(raw({"-o", "{storage}", "-v"}));
    EXPECT_FALSE(drives({"-o", "{storage}", "-v"}));
}

TEST(Capabilities, AFixedBoardSkipsTheScenariosForOtherBoards) {
    LoadedSuite suite = load_suite({RMTFS_HIL_SCENARIO_LIBRARY});
    ASSERT_TRUE(suite.errors.empty());
    RunOptions options;
    options.fixed_board = true;
    options.make_target = [](const Scenario&, const TargetOptions&) -> Expected<std::unique_ptr<Target>, std::string> {
        return unexpected(std::string("a fake world that is never built"));
    };
    std::size_t other_boards = 0;
    for (const Scenario& scenario : suite.scenarios) {
        ScenarioResult result = run_scenario(scenario, options);
        if (scenario.setup.board && *scenario.setup.board != options.board->name) {
            ++other_boards;
            EXPECT_EQ(result.verdict, Verdict::skip) << scenario.name;
            EXPECT_NE(result.reason.find("for board " + *scenario.setup.board), std::string::npos) << result.reason;
        } else {
            EXPECT_EQ(result.verdict, Verdict::error) << scenario.name << ": " << result.reason;
        }
    }
    EXPECT_GT(other_boards, 0u);
    options.fixed_board = false;
    for (const Scenario& scenario : suite.scenarios)
        EXPECT_NE(run_scenario(scenario, options).verdict, Verdict::skip) << scenario.name << ": the sim makes any board";
}

TEST(Capabilities, TheSkipReasonNamesTheCapabilityAndTheStep) {
    LoadedSuite suite = load_suite({std::filesystem::path(RMTFS_HIL_SCENARIO_LIBRARY) / "power-loss.json"});
    ASSERT_TRUE(suite.errors.empty());
    Capabilities some = Capabilities::all();
    some.remove(Capability::power_loss);
    auto why = missing_capabilities(suite.scenarios.at(0), some);
    ASSERT_TRUE(why.has_value());
    EXPECT_NE(why->find("power_loss (step "), std::string::npos) << *why;
    EXPECT_NE(why->find("power-loss.json:"), std::string::npos) << *why;
    EXPECT_FALSE(missing_capabilities(suite.scenarios.at(0), Capabilities::all()).has_value());
}

TEST(SimTarget, AScenarioBuiltInCodeForAnUnknownBoardIsRefusedNotAnAbort) {
    Scenario scenario;
    scenario.name = "no-such-board";
    scenario.setup.board = "not-a-board";
    auto target = make_sim_target(scenario, TargetOptions{});
    ASSERT_FALSE(target.has_value());
    EXPECT_EQ(target.error(), "no board profile named 'not-a-board'");
}

}  // namespace
}  // namespace rmtfs_hil::engine
