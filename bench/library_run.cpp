// Benchmark: the whole scenario library through the engine, with one job and
// with two, against the floor of what every scenario pays at least once:
// starting the real rmtfs in a fresh sandbox until its service appears,
// measured in the same run. Prints one JSON object.
//
//   library_run [--rmtfs PATH] [--scenarios DIR] [--floor-runs N]
#include <cstdio>
#include <filesystem>
#include <string>

#include "bench/bench_support.hpp"
#include "engine/rig.hpp"
#include "engine/suite.hpp"

namespace {

using namespace rmtfs_hil;
namespace fs = std::filesystem;
using bench::Clock;

double ms_since(Clock::time_point start) { return std::chrono::duration<double, std::milli>(Clock::now() - start).count(); }

// Sandbox built, daemon started, service 14 published: one scenario's
// unavoidable start, in ms; nullopt (and why on stderr) when it fails.
std::optional<double> daemon_until_service(const std::string& rmtfs) {
    auto start = Clock::now();
    engine::RigOptions options;
    options.server = rmtfs;
    auto rig = engine::Rig::create(options);
    if (!rig) {
        std::fprintf(stderr, "library_run: %s\n", rig.error().c_str());
        return std::nullopt;
    }
    if (auto started = (*rig)->start_daemon(); !started || !(*rig)->wait_for_service(std::chrono::seconds(10))) {
        std::fprintf(stderr, "library_run: the daemon did not publish its service\n%s", (*rig)->trace_text(40).c_str());
        return std::nullopt;
    }
    return ms_since(start);
}

}  // namespace

int main(int argc, char** argv) {
    bench::NumberOption floor_runs{"--floor-runs", "daemon starts timed for the floor", 3, 100, 10};
    bench::CommandLine command{"library_run",
                               "  The scenario library (scenarios/ of the source tree) with --jobs 1 and\n"
                               "  --jobs 2, against the floor: sandbox + rmtfs start until service 14 appears.\n",
                               {&floor_runs}};
    // --scenarios DIR is this benchmark's own; the rest is the common line.
    fs::path library = fs::path(RMTFS_HIL_SOURCE_DIR) / "scenarios";
    std::vector<char*> rest{argv[0]};
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--scenarios" && i + 1 < argc) library = argv[++i];
        else rest.push_back(argv[i]);
    }
    if (auto exit = command.parse(static_cast<int>(rest.size()), rest.data())) return *exit;

    engine::LoadedSuite suite = engine::load_suite({library});
    for (const auto& error : suite.errors) std::fprintf(stderr, "%s\n", error.describe().c_str());
    if (!suite.errors.empty() || suite.scenarios.empty()) {
        std::fprintf(stderr, "library_run: no runnable library in %s\n", library.c_str());
        return 2;
    }

    std::vector<double> floor_samples;
    for (long i = 0; i < floor_runs.value; ++i) {
        auto sample = daemon_until_service(command.rmtfs);
        if (!sample) return 1;
        floor_samples.push_back(*sample);
    }
    bench::Summary floor = bench::summarise(floor_samples);

    double wall[2] = {0, 0};
    std::size_t verdicts[2][4] = {};
    for (unsigned jobs : {1u, 2u}) {
        engine::SuiteOptions options;
        options.run.server = command.rmtfs;
        options.jobs = jobs;
        auto start = Clock::now();
        engine::RunReport report = engine::run_suite(suite.scenarios, options);
        wall[jobs - 1] = ms_since(start);
        for (const auto& r : report.scenarios) {
            auto v = static_cast<std::size_t>(r.verdict);
            ++verdicts[jobs - 1][v];
        }
    }
    const double n = static_cast<double>(suite.scenarios.size());
    std::printf("{\"benchmark\": \"library_run\", \"rmtfs\": \"%s\", \"scenarios\": %zu, "
                "\"floor_daemon_until_service_median_ms\": %.2f, \"floor_p99_ms\": %.2f, "
                "\"jobs1_ms\": %.1f, \"jobs2_ms\": %.1f, \"jobs1_per_scenario_ms\": %.1f, \"jobs2_per_scenario_ms\": %.1f, "
                "\"jobs1_ratio_to_floor_per_scenario\": %.2f, \"jobs2_ratio_to_floor_per_scenario\": %.2f, "
                "\"speedup_jobs2\": %.2f, \"verdicts_jobs1\": {\"pass\": %zu, \"fail\": %zu, \"error\": %zu, \"skip\": %zu}, "
                "\"verdicts_jobs2\": {\"pass\": %zu, \"fail\": %zu, \"error\": %zu, \"skip\": %zu}}\n",
                bench::json_escaped(command.rmtfs).c_str(), suite.scenarios.size(), floor.median, floor.p99, wall[0], wall[1],
                wall[0] / n, wall[1] / n, wall[0] / n / floor.median, wall[1] / n / floor.median, wall[0] / wall[1],
                verdicts[0][0], verdicts[0][1], verdicts[0][2], verdicts[0][3], verdicts[1][0], verdicts[1][1],
                verdicts[1][2], verdicts[1][3]);
    return 0;
}
