#include "hil/host/board_run.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "engine/wording.hpp"
#include "hil/agent/agent_protocol.hpp"
#include "hil/host/adb_client.hpp"
#include "hil/host/board_connection.hpp"

namespace rmtfs_hil::hil {

namespace {

namespace fs = std::filesystem;

// What the board got: the host file each pushed scenario came from. The
// agent is given board paths relative to "/", where adb's shell starts its
// commands (an emulated device starts them at its root).
struct Pushed {
    std::vector<std::string> remote_files;            // as the agent is given them
    std::map<std::string, std::string> host_file_of;  // that -> the host path
    std::string board_argument;                       // --board for the agent, if any
};

Pushed push_everything(const AdbClient& adb, const std::vector<engine::Scenario>& scenarios, const BoardRunOptions& o) {
    push_agent(adb, o.remote_dir, o.agent);
    if (!o.shim.empty()) push_shim(adb, o.remote_dir, o.shim);
    Pushed pushed;
    for (std::size_t i = 0; i < scenarios.size(); ++i) {
        const engine::Scenario& s = scenarios[i];
        fs::path host = s.where.file;
        std::string dir = o.remote_dir + "/scenarios/" + std::to_string(i);
        std::string remote = dir + "/" + host.filename().string();
        must(adb.run({"push", host.string(), remote}, push_bound), "pushing " + host.string());
        // Board images beside the scenario keep their place relative to it.
        if (!s.setup.storage.from.empty()) {
            fs::path relative = fs::path(s.setup.storage.from).lexically_relative(host.parent_path());
            if (relative.empty() || *relative.begin() == "..")
                throw BoardError(host.string() + ": its storage.from folder is not beside it, so it cannot go to the board");
            must(adb.run({"push", s.setup.storage.from, dir + "/" + relative.parent_path().string() + "/"}, push_bound),
                 "pushing " + s.setup.storage.from);
        }
        pushed.remote_files.push_back(from_root(remote));
        pushed.host_file_of[from_root(remote)] = host.string();
    }
    pushed.board_argument = push_board(adb, o.remote_dir, o.board);
    return pushed;
}

std::vector<std::string> agent_command(const BoardRunOptions& o, const Pushed& pushed, unsigned jobs) {
    std::vector<std::string> argv{o.remote_dir + "/bin/rmtfs-hil", "agent", "--jobs", std::to_string(jobs)};
    if (!o.server.empty()) argv.insert(argv.end(), {"--server", o.server});
    if (!pushed.board_argument.empty()) argv.insert(argv.end(), {"--board", pushed.board_argument});
    if (o.seed) argv.insert(argv.end(), {"--seed", std::to_string(*o.seed)});
    if (o.transport) argv.insert(argv.end(), {"--transport", std::string(name_of(*o.transport))});
    if (o.allow_modem_restart) argv.emplace_back("--allow-modem-restart");
    if (o.coupling) argv.insert(argv.end(), {"--coupling", std::string(name_of(*o.coupling))});
    argv.emplace_back("--");
    argv.insert(argv.end(), pushed.remote_files.begin(), pushed.remote_files.end());
    return argv;
}

// The result as the host reports it: its host file, and the command that
// reruns it from here.
engine::ScenarioResult on_host(engine::ScenarioResult result, const Pushed& pushed, const BoardRunOptions& o) {
    if (auto it = pushed.host_file_of.find(result.file); it != pushed.host_file_of.end()) {
        // Places (file:line:column) name the file here, as in a simulated run.
        auto here = [&](std::string& text) {
            for (std::size_t at = 0; (at = text.find(it->first, at)) != std::string::npos; at += it->second.size())
                text.replace(at, it->first.size(), it->second);
        };
        here(result.reason);
        for (engine::StepResult& step : result.steps) {
            here(step.where);
            here(step.message);
        }
        result.file = it->second;
    }
    if (result.verdict != engine::Verdict::pass && result.verdict != engine::Verdict::skip)
        result.reproduce = o.reproduce_prefix + " " + engine::wording::shell_quote(result.file);
    else
        result.reproduce.clear();
    return result;
}

// A scenario the agent never reported: an error with what is known of why.
engine::ScenarioResult unreported(const engine::Scenario& s, const std::string& why, const BoardRunOptions& o) {
    engine::ScenarioResult result;
    result.name = s.name;
    result.description = s.description;
    result.file = s.where.file;
    result.tags = s.tags;
    result.verdict = engine::Verdict::error;
    result.reason = why;
    result.reproduce = o.reproduce_prefix + " " + engine::wording::shell_quote(result.file);
    return result;
}

}  // namespace

std::string serial_of_target(const std::string& target) {
    std::size_t colon = target.find(':');
    return colon == std::string::npos ? std::string() : target.substr(colon + 1);
}

BoardRun run_on_board(const std::vector<engine::Scenario>& scenarios, const BoardRunOptions& o,
                      const engine::SuiteOptions& suite) {
    AdbClient adb(o.adb, o.serial);
    AdbServerGuard server_guard(adb);
    connect_board(adb);
    engine::RunReport report = engine::suite_header(suite);
    auto started = std::chrono::steady_clock::now();
    Pushed pushed;
    try {
        pushed = push_everything(adb, scenarios, o);
    } catch (const BoardError&) {
        adb.shell({"rm", "-rf", o.remote_dir}, quick_command);  // what did get there
        throw;
    }

    std::set<std::string> reported;  // host files
    std::optional<Hello> hello;
    std::string trouble;
    bool done = false;
    std::string not_restored;
    engine::Interrupt stop = suite.interrupted != nullptr ? suite.interrupted->interrupt() : engine::Interrupt{};
    auto on_line = [&](std::string_view line) {
        AgentLine parsed = parse_agent_line(line);
        if (auto* h = std::get_if<Hello>(&parsed)) {
            hello = *h;
        } else if (auto* r = std::get_if<ResultLine>(&parsed)) {
            engine::ScenarioResult result = on_host(std::move(r->result), pushed, o);
            reported.insert(result.file);
            report.scenarios.push_back(result);
            if (suite.progress) suite.progress(result, report.scenarios.size(), scenarios.size());
        } else if (auto* d = std::get_if<Done>(&parsed)) {
            done = true;
            report.interrupted = d->interrupted;
            not_restored = d->not_restored;
        } else if (auto* bad = std::get_if<BadLine>(&parsed)) {
            if (trouble.empty()) trouble = "the agent's line was not understood: " + bad->why;
        } else {
            std::fprintf(stderr, "board: %s\n", engine::sanitize_line(std::get<OtherLine>(parsed).text).c_str());
        }
    };
    AdbResult ran = adb.shell_lines(agent_command(o, pushed, suite.jobs), on_line, stop);
    bool stopped = suite.interrupted != nullptr && suite.interrupted->requested();
    // The agent found the board lacking before it began (its exit status 3):
    // the machine's trouble, said once, not a verdict on each scenario.
    if (!hello && !stopped && ran.status == agent_exit_board_lacks) {
        adb.shell({"rm", "-rf", o.remote_dir}, quick_command);
        std::string why = ran.err;
        while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
        throw BoardError("the agent on the board cannot run the scenarios: " + engine::sanitize_line(why));
    }
    if (!done && trouble.empty() && !stopped) trouble = ran.describe("the agent");
    if (!hello && !stopped && trouble.empty()) trouble = "the agent said no hello";
    for (const engine::Scenario& s : scenarios) {
        if (reported.contains(s.where.file) || stopped) continue;
        report.scenarios.push_back(unreported(s, "the board agent ended before reporting it: " + trouble, o));
        if (suite.progress) suite.progress(report.scenarios.back(), report.scenarios.size(), scenarios.size());
    }
    report.interrupted = report.interrupted || stopped;
    // In the suite's order, as a simulated run reports them.
    std::map<std::string, std::size_t> order;
    for (std::size_t i = 0; i < scenarios.size(); ++i) order[scenarios[i].where.file] = i;
    std::stable_sort(report.scenarios.begin(), report.scenarios.end(),
                     [&](const auto& a, const auto& b) { return order[a.file] < order[b.file]; });
    // Nothing of the run stays on the board (a stopped run's agent may still be ending).
    adb.shell({"rm", "-rf", o.remote_dir}, quick_command);
    report.duration_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return BoardRun{std::move(report), std::move(not_restored)};
}

}  // namespace rmtfs_hil::hil
