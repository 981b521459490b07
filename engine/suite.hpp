// A suite: scenario files and folders loaded together, then run — one rig per
// scenario, `jobs` at a time on their own threads (each rig has its own
// event loop, sandbox and daemon) — into one report.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/report.hpp"
#include "engine/runner.hpp"
#include "engine/scenario.hpp"
#include "engine/scenario_loader.hpp"

namespace rmtfs_hil::engine {

struct LoadedSuite {
    std::vector<Scenario> scenarios;   // in path order, files in a folder sorted by name
    std::vector<ScenarioError> errors; // every file's errors; a suite with any does not run
};

// Files are taken as given; folders are searched recursively for *.json
// (JSON Schemas, *.schema.json, are not scenarios). Two scenarios with one
// name are an error, as is a path that does not exist or holds no scenario.
LoadedSuite load_suite(const std::vector<std::filesystem::path>& paths);

// Scenarios whose name or one of whose tags contains `filter` (all when empty).
std::vector<Scenario> filter_suite(const std::vector<Scenario>& scenarios, const std::string& filter);

// The `index`-th of `count` shares of a suite (1-based): the scenarios sorted
// by name, every count-th from the index-th, so that the shares 1..count
// hold each scenario exactly once, whatever order the paths were given in,
// and their sizes differ by at most one. Kept in the suite's order.
struct Shard {
    unsigned index = 1;
    unsigned count = 1;
};
// "K/N" with 1 <= K <= N <= 10000, or why not.
Expected<Shard, std::string> parse_shard(const std::string& text);
std::vector<Scenario> shard_suite(const std::vector<Scenario>& scenarios, Shard shard);

struct SuiteOptions {
    RunOptions run;
    unsigned jobs = 1;
    // Requested (from a signal handler) to stop: running scenarios end as
    // errors ("interrupted"), the rest are not started and not reported.
    const StopRequest* interrupted = nullptr;
    // Each result as it comes in, with how many are done of how many.
    std::function<void(const ScenarioResult&, std::size_t done, std::size_t total)> progress;
    // Run every scenario under this coupling policy instead of its own (the
    // matrix); "rmtfs-sysfs" also gives the daemon -s.
    std::optional<sim::CouplingPolicy> coupling;
};

// A run's report before any scenario: when it started, the server, seed and jobs.
RunReport suite_header(const SuiteOptions& options);
// Results in the scenarios' order whatever order they finished in.
RunReport run_suite(const std::vector<Scenario>& scenarios, const SuiteOptions& options);

// The scenario as it runs under `coupling` (for the matrix).
Scenario with_coupling(Scenario scenario, sim::CouplingPolicy coupling);

}  // namespace rmtfs_hil::engine
