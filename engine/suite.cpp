#include "engine/suite.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>

#include "engine/wording.hpp"

namespace rmtfs_hil::engine {

namespace fs = std::filesystem;

namespace {

bool is_scenario_file(const fs::path& path) {
    return path.extension() == ".json" && !path.filename().string().ends_with(".schema.json");
}

std::string iso8601_now() {
    std::time_t now = std::time(nullptr);
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

ScenarioError error_at(const fs::path& path, std::string message) {
    ScenarioError error;
    error.where.file = path.string();
    error.message = std::move(message);
    return error;
}

}  // namespace

RunReport suite_header(const SuiteOptions& options) {
    RunReport report;
    report.started_at = iso8601_now();
    report.server = options.run.server;
    report.seed = options.run.seed.value_or(0);
    report.jobs = std::max(1u, options.jobs);
    return report;
}

LoadedSuite load_suite(const std::vector<fs::path>& paths) {
    LoadedSuite suite;
    std::vector<fs::path> files;
    for (const fs::path& path : paths) {
        std::error_code error;
        if (fs::is_directory(path, error)) {
            std::vector<fs::path> found;
            for (auto it = fs::recursive_directory_iterator(path, error); !error && it != fs::recursive_directory_iterator();
                 it.increment(error))
                if (it->is_regular_file() && is_scenario_file(it->path())) found.push_back(it->path());
            if (error) suite.errors.push_back(error_at(path, "cannot read the whole folder: " + error.message()));
            std::sort(found.begin(), found.end());
            if (found.empty()) suite.errors.push_back(error_at(path, "no scenario files (*.json) in this folder"));
            files.insert(files.end(), found.begin(), found.end());
        } else if (fs::exists(path, error)) {
            files.push_back(path);
        } else {
            suite.errors.push_back(error_at(path, "no such file or folder"));
        }
    }
    std::map<std::string, std::string> names;  // name -> file
    for (const fs::path& file : files) {
        auto loaded = load_scenario_file(file);
        if (!loaded) {
            suite.errors.insert(suite.errors.end(), loaded.error().begin(), loaded.error().end());
            continue;
        }
        auto [it, fresh] = names.emplace(loaded->name, file.string());
        if (!fresh) {
            suite.errors.push_back(error_at(file, "scenario name '" + loaded->name + "' is also the name of " + it->second));
            continue;
        }
        suite.scenarios.push_back(std::move(*loaded));
    }
    return suite;
}

std::vector<Scenario> filter_suite(const std::vector<Scenario>& scenarios, const std::string& filter) {
    if (filter.empty()) return scenarios;
    std::vector<Scenario> kept;
    for (const Scenario& s : scenarios) {
        bool match = s.name.find(filter) != std::string::npos ||
                     std::any_of(s.tags.begin(), s.tags.end(), [&](const std::string& t) { return t.find(filter) != std::string::npos; });
        if (match) kept.push_back(s);
    }
    return kept;
}

Expected<Shard, std::string> parse_shard(const std::string& text) {
    constexpr unsigned most = 10000;
    auto number = [](const std::string& digits) -> std::optional<unsigned> {
        if (digits.empty() || digits.size() > 5 || !std::all_of(digits.begin(), digits.end(), [](char c) {
                return c >= '0' && c <= '9';
            }))
            return std::nullopt;
        return static_cast<unsigned>(std::stoul(digits));
    };
    const std::size_t slash = text.find('/');
    auto index = slash == std::string::npos ? std::nullopt : number(text.substr(0, slash));
    auto count = slash == std::string::npos ? std::nullopt : number(text.substr(slash + 1));
    if (!index || !count || *count == 0 || *count > most || *index == 0 || *index > *count)
        return unexpected("takes K/N, the K-th of N shares, with 1 <= K <= N <= " + std::to_string(most) + " (e.g. 2/4), not " +
                          wording::in_quotes(text));
    return Shard{*index, *count};
}

std::vector<Scenario> shard_suite(const std::vector<Scenario>& scenarios, Shard shard) {
    std::vector<std::size_t> by_name(scenarios.size());
    for (std::size_t i = 0; i < by_name.size(); ++i) by_name[i] = i;
    std::sort(by_name.begin(), by_name.end(), [&](std::size_t a, std::size_t b) {
        return std::tie(scenarios[a].name, scenarios[a].where.file) < std::tie(scenarios[b].name, scenarios[b].where.file);
    });
    std::vector<bool> kept(scenarios.size(), false);
    for (std::size_t position = shard.index - 1; position < by_name.size(); position += shard.count) kept[by_name[position]] = true;
    std::vector<Scenario> share;
    for (std::size_t i = 0; i < scenarios.size(); ++i)
        if (kept[i]) share.push_back(scenarios[i]);
    return share;
}

Scenario with_coupling(Scenario scenario, sim::CouplingPolicy coupling) {
    scenario.setup.coupling = coupling;
    auto& args = scenario.setup.server.args;
    bool drives_remoteproc = std::find(args.begin(), args.end(), "-s") != args.end();
    bool by_daemon = coupling == sim::CouplingPolicy::rmtfs_sysfs;
    if (by_daemon && !drives_remoteproc) args.push_back("-s");
    if (!by_daemon && drives_remoteproc) args.erase(std::find(args.begin(), args.end(), "-s"));
    return scenario;
}

RunReport run_suite(const std::vector<Scenario>& scenarios, const SuiteOptions& options) {
    RunReport report = suite_header(options);
    auto started = std::chrono::steady_clock::now();

    std::vector<std::optional<ScenarioResult>> results(scenarios.size());
    std::mutex lock;
    std::size_t next = 0, done = 0;
    auto stop_requested = [&] { return options.interrupted != nullptr && options.interrupted->requested(); };
    auto worker = [&] {
        for (;;) {
            std::size_t index;
            {
                std::lock_guard<std::mutex> guard(lock);
                if (next >= scenarios.size() || stop_requested()) return;
                index = next++;
            }
            RunOptions run = options.run;
            if (options.interrupted) run.interrupted = options.interrupted->interrupt();
            const Scenario& scenario = scenarios[index];
            ScenarioResult result;
            try {
                result = options.coupling ? run_scenario(with_coupling(scenario, *options.coupling), run)
                                          : run_scenario(scenario, run);
            } catch (const std::exception& e) {
                // One scenario's harness failure is its verdict, not the run's end.
                result.name = scenario.name;
                result.description = scenario.description;
                result.file = scenario.where.file;
                result.tags = scenario.tags;
                result.verdict = Verdict::error;
                result.reason = std::string("the harness failed: ") + e.what();
                result.reproduce = run.reproduce_prefix + " " + wording::shell_quote(scenario.where.file);
            }
            std::lock_guard<std::mutex> guard(lock);
            results[index] = std::move(result);
            ++done;
            if (options.progress) options.progress(*results[index], done, scenarios.size());
        }
    };
    std::vector<std::thread> threads;
    for (unsigned i = 1; i < report.jobs; ++i) threads.emplace_back(worker);
    worker();
    for (auto& thread : threads) thread.join();

    report.interrupted = stop_requested();
    for (auto& result : results)
        if (result) report.scenarios.push_back(std::move(*result));
    report.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return report;
}

}  // namespace rmtfs_hil::engine
