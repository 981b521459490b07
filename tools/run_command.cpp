// rmtfs-hil run / validate / matrix: scenario files against the real daemon.
#include <signal.h>
#include <unistd.h>

#include <climits>
#include <ctime>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "engine/report.hpp"
#include "engine/suite.hpp"
#include "engine/wording.hpp"
#include "tools/commands.hpp"
#include "tools/find_server.hpp"
#include "hil/agent/agent_protocol.hpp"
#include "hil/host/board_run.hpp"
#include "server/sandbox.hpp"

namespace rmtfs_hil::commands {

namespace fs = std::filesystem;

const std::string_view run_help = R"(Usage: rmtfs-hil run [OPTIONS] PATH...

Runs JSON scenarios (files, or folders searched for *.json) against the real
rmtfs daemon, each in its own sandbox: an emulated QRTR fabric and name
service, the rmtfs_mem device, the modem's remoteproc and a simulated modem.
Prints one line per scenario as it ends, then a summary table; a failure
prints the one command that reproduces it.

Options:
  --server PATH   The daemon under test (default: rmtfs from PATH,
                  /usr/bin/rmtfs on Debian). Point it at your own build.
  --board B       The board of scenarios that name none in setup.board: a
                  built-in profile (sdm845, the default; apq8016; qcm6490) or
                  a board file (JSON; server/boards/README.md).
  --jobs N        Scenarios in parallel, each in its own sandbox (default 1).
  --seed N        Seed for every scenario (default: each scenario's own).
  --target T      Where the scenarios run: sim (default; the simulated world
                  on this machine) or adb[:SERIAL] (a board, or `rmtfs-hil hil
                  emulate`, through the real adb: the agent and the scenarios
                  are pushed, run there, and reported here). Scenarios that
                  are not for the target, or need what it cannot do, are
                  skipped with the reason named.
  --transport T   With --target adb, how the agent runs the scenarios there:
                  loopback (default: the emulated QRTR world, on any board)
                  or kernel (the board's own AF_QIPCRTR: the agent stops the
                  board's rmtfs service for the run, runs its own daemon on
                  scratch storage, and starts the service again afterwards,
                  also after Ctrl-C or a lost connection; one scenario at a
                  time).
  --allow-modem-restart
                  With --transport kernel: the board's modem may be stopped
                  and started (a system service run with rmtfs -s stops it
                  when stopped; scenarios whose daemon has -s). Without it
                  such runs are refused and such scenarios skipped.
  --adb PATH      The adb client for --target adb (default: adb on PATH).
  --agent PATH    The agent pushed for --target adb (default: this program;
                  for an aarch64 board, its aarch64 build).
  --filter TEXT   Only scenarios whose name or a tag contains TEXT.
  --shard K/N     Only the K-th of N shares of the suite (after --filter): the
                  scenarios sorted by name, every N-th from the K-th. N CI
                  jobs given 1/N .. N/N run each scenario exactly once, each
                  with its own reports; a share with no scenario in it runs
                  nothing and exits 0.
  --junit FILE    Write a JUnit XML report (failure text, daemon log).
  --json FILE     Write the whole run as JSON.
  --report DIR    Write a self-contained HTML report to DIR/index.html:
                  a timeline per scenario (modem, name service, daemon,
                  remoteproc, faults), the daemon's log, the ledger verdict.
                  All three reports are rewritten whole as each scenario
                  finishes: a killed run leaves every finished one reported.
  --strict        Known issues fail the run too (by default a scenario that
                  fails exactly as its known_issue says is reported, not fatal).
  -q, --quiet     No progress lines; the summary only.

Verdicts: pass; fail (the daemon did not do what a correct server must, with
the evidence); error (the harness or machine could not run the scenario);
skip (not for this target). Scenarios with a known_issue are marked known
(fails as described), fixed (passes now) or new (fails differently).

Ctrl-C stops: running scenarios end as errors, reports are still written.

Exit status: 0 all passed (known issues allowed unless --strict), 1 some
scenario failed or errored, 2 usage or scenario-file errors (nothing ran),
3 the machine lacks something (e.g. the daemon), 130 interrupted.

Example:
  rmtfs-hil run scenarios/ --jobs 2 --report report/
)";

const std::string_view validate_help = R"(Usage: rmtfs-hil validate PATH...

Loads scenario files (or folders of them) and reports every error with its
file, line, column and JSON pointer, and what was expected. Runs nothing.

Exit status: 0 all valid, 2 some file has errors.
)";

const std::string_view matrix_help = R"(Usage: rmtfs-hil matrix [OPTIONS] [PATH...]

Runs each fault scenario (tag "fault"; PATH defaults to the scenario library)
under every coupling policy — manual, rmtfs-sysfs, mem-open, service-watch —
and prints the matrix: is the modem up at the end, was acknowledged data
lost, how long did recovery take.

Options: --server PATH, --jobs N, --seed N, --filter TEXT (default "fault"),
--shard K/N, --json FILE, --report DIR (the matrix is in the HTML report too), -q, and
--target adb[:SERIAL] with --adb, --agent, --board, --transport as for `run`:
the agent on the board runs the scenarios once per policy (with the kernel
transport only the manual policy runs; the others are skipped).

Exit status: 0 the matrix was made (its cells are findings, not failures),
1 some run errored, 2 usage or scenario-file errors, 3 environment.
)";

namespace {

// Made before the handler is installed, alive until the process ends.
engine::StopRequest* interrupt_request = nullptr;

// The partial reports this run may be writing, known before any signal can
// come: a second Ctrl-C removes them before the harness dies, so it leaves
// nothing behind. Writers count themselves in before they create one; the
// handler waits (briefly) for the count to drop, so no write begins after.
struct PartialReports {
    static constexpr std::size_t capacity = 3;
    char paths[capacity][PATH_MAX] = {};
    std::size_t count = 0;
    std::atomic<int> writing{0};
    std::atomic<bool> dying{false};
};
PartialReports partial_reports;
std::atomic<int> interrupts{0};
thread_local bool writing_here = false;  // this thread is inside write_atomically

void wait_for_report_writers() noexcept {
    if (writing_here) return;  // the write the signal interrupted will not finish
    timespec start{};
    ::clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (partial_reports.writing.load() == 0) return;
        timespec now{};
        ::clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= 2) return;  // a writer stuck on a full disk: give up on it
    }
}

extern "C" void on_interrupt(int signal_number) {
    if (interrupts.fetch_add(1) == 0) {
        if (interrupt_request != nullptr) interrupt_request->request();
        return;
    }
    // The second one ends the harness at once; the daemons die with it
    // (their keepers see the harness go).
    partial_reports.dying.store(true);
    wait_for_report_writers();
    for (std::size_t i = 0; i < partial_reports.count; ++i) ::unlink(partial_reports.paths[i]);
    ::signal(signal_number, SIG_DFL);
    ::raise(signal_number);
}

struct RunArguments {
    std::vector<fs::path> paths;
    std::string server;
    std::string board;  // as given: a name or a file
    const server::BoardProfile* board_profile = &server::default_board();
    unsigned jobs = 1;
    std::optional<std::uint64_t> seed;
    std::string filter;
    std::optional<engine::Shard> shard;
    std::string target{name_of(engine::TargetKind::sim)};
    engine::TargetKind target_kind = engine::TargetKind::sim;
    std::string adb = "adb";  // the adb client (--target adb)
    std::optional<fs::path> agent;  // the agent to push (--target adb)
    std::optional<hil::Transport> transport;  // the agent's (--target adb)
    bool allow_modem_restart = false;      // the agent's (--transport kernel)
    std::optional<fs::path> junit, json, report;
    bool strict = false;
    bool quiet = false;
    std::string given;  // the arguments as given, for the report
};

std::uint64_t number_of(const std::string& option, const std::string& text, std::uint64_t min, std::uint64_t max) {
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
        value = std::stoull(text, &used, 10);
    } catch (const std::exception&) {
        used = 0;
    }
    if (used != text.size() || text.empty() || text[0] == '-' || value < min || value > max)
        throw cli::UsageError("option '" + option + "' needs a number from " + std::to_string(min) + " to " +
                              std::to_string(max) + ", not '" + text + "'");
    return value;
}

// sim, or adb[:SERIAL].
engine::TargetKind check_target(const std::string& target) {
    std::string kind = target.substr(0, target.find(':'));
    auto named_kind = named<engine::TargetKind>(kind);
    if (!named_kind || (*named_kind == engine::TargetKind::sim && kind != target) ||
        (*named_kind == engine::TargetKind::adb && target.size() == kind.size() + 1))
        throw cli::UsageError("option '--target' takes sim or adb[:SERIAL], not '" + target + "'");
    return *named_kind;
}

RunArguments parse(cli::Arguments& arguments, bool paths_required) {
    RunArguments a;
    while (!arguments.done()) {
        std::string arg = arguments.take();
        a.given += " " + arg;
        auto value = [&] {
            std::string v = arguments.value_of(arg);
            a.given += " " + v;
            return v;
        };
        if (arg == "--server") a.server = value();
        else if (arg == "--board") {
            a.board = value();
            auto board = server::resolve_board(a.board);
            if (!board) throw cli::UsageError("option '--board': " + board.error());
            a.board_profile = *board;
        }
        else if (arg == "--jobs") a.jobs = static_cast<unsigned>(number_of(arg, value(), 1, 64));
        else if (arg == "--seed") a.seed = number_of(arg, value(), 0, UINT64_MAX);
        else if (arg == "--filter") a.filter = value();
        else if (arg == "--shard") {
            auto shard = engine::parse_shard(value());
            if (!shard) throw cli::UsageError("option '--shard' " + shard.error());
            a.shard = *shard;
        }
        else if (arg == "--target") a.target = value();
        else if (arg == "--transport") {
            std::string name = value();
            a.transport = named<hil::Transport>(name);
            if (!a.transport) throw cli::UsageError("option '--transport' takes loopback or kernel, not '" + name + "'");
        }
        else if (arg == "--allow-modem-restart") a.allow_modem_restart = true;
        else if (arg == "--adb") a.adb = value();
        else if (arg == "--agent") a.agent = value();
        else if (arg == "--junit") a.junit = value();
        else if (arg == "--json") a.json = value();
        else if (arg == "--report") a.report = value();
        else if (arg == "--strict") a.strict = true;
        else if (arg == "-q" || arg == "--quiet") a.quiet = true;
        else if (arg == "--") {
            for (auto& rest : arguments.rest()) a.paths.emplace_back(rest);
        } else if (!arg.empty() && arg[0] == '-') throw cli::UsageError("unknown option '" + arg + "'");
        else a.paths.emplace_back(arg);
    }
    if (paths_required && a.paths.empty()) throw cli::UsageError("no scenario files or folders given");
    a.target_kind = check_target(a.target);
    if (a.transport) {
        if (a.target_kind != engine::TargetKind::adb)
            throw cli::UsageError("--transport is for --target adb (the simulated world has its own QRTR)");
        if (*a.transport == hil::Transport::kernel && a.jobs > 1)
            throw cli::UsageError("--transport kernel runs one scenario at a time (one QRTR node, one RMTFS service on the "
                                  "board): give no --jobs");
    }
    if (a.allow_modem_restart && a.transport != hil::Transport::kernel)
        throw cli::UsageError("--allow-modem-restart is for --target adb --transport kernel");
    return a;
}

// The scenario library: RMTFS_HIL_SCENARIOS, installed beside the program
// (bin/../share/rmtfs-hil/scenarios), or above a build dir in the source tree.
fs::path find_library() {
    if (const char* dir = std::getenv("RMTFS_HIL_SCENARIOS"); dir != nullptr && *dir != '\0') return dir;
    std::error_code error;
    fs::path exe = fs::canonical("/proc/self/exe", error);
    if (fs::path installed = exe.parent_path().parent_path() / RMTFS_HIL_INSTALL_DATA_DIR / "scenarios";
        !error && fs::exists(installed / "scenario.schema.json", error))
        return installed;
    for (fs::path dir = exe.parent_path(); !error && !dir.empty() && dir != dir.root_path(); dir = dir.parent_path())
        if (fs::exists(dir / "scenarios" / "scenario.schema.json")) return dir / "scenarios";
    throw cli::EnvironmentError("the scenario library was not found above " + exe.string() +
                                "; give PATH or set RMTFS_HIL_SCENARIOS");
}

engine::LoadedSuite load_or_explain(const std::vector<fs::path>& paths) {
    engine::LoadedSuite suite = engine::load_suite(paths);
    for (const auto& error : suite.errors) std::fprintf(stderr, "%s\n", error.describe().c_str());
    return suite;
}

// This executable as the user can type it from here: build/bin/rmtfs-hil.
std::string self_command() {
    std::error_code error;
    fs::path exe = fs::canonical("/proc/self/exe", error);
    if (error) return "rmtfs-hil";
    fs::path here = fs::current_path(error);
    fs::path relative = error ? fs::path() : exe.lexically_relative(here);
    if (!relative.empty() && *relative.begin() != "..") return relative.string();
    return exe.string();
}

std::string reproduce_prefix(const RunArguments& a, const std::string& server) {
    std::string prefix = engine::wording::shell_quote(self_command()) + " run";
    if (!server.empty()) prefix += " --server " + engine::wording::shell_quote(server);
    if (a.target_kind != engine::TargetKind::sim) prefix += " --target " + engine::wording::shell_quote(a.target);
    if (a.transport) prefix += " --transport " + std::string(name_of(*a.transport));
    if (a.allow_modem_restart) prefix += " --allow-modem-restart";
    if (!a.board.empty()) prefix += " --board " + engine::wording::shell_quote(a.board);
    if (a.seed) prefix += " --seed " + std::to_string(*a.seed);
    return prefix;
}

const char* mark(const engine::ScenarioResult& r) {
    if (r.verdict == engine::Verdict::pass) return r.known_status == engine::KnownStatus::fixed ? "FIXED" : "pass";
    if (r.verdict == engine::Verdict::skip) return "skip";
    if (r.known_status == engine::KnownStatus::known) return "known";
    return r.verdict == engine::Verdict::fail ? "FAIL" : "ERROR";
}

const engine::StopRequest& install_interrupt_handler() {
    static engine::StopRequest request;
    interrupt_request = &request;
    struct sigaction action {};
    action.sa_handler = on_interrupt;  // the second one ends the harness at once
    action.sa_flags = SA_NODEFER;      // so that it can come while the first is handled
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGHUP, &action, nullptr);  // the terminal went away: stop as for Ctrl-C
    // Output piped into `head`: printing fails quietly and the run goes on to
    // its reports. (The daemons start with every signal at its default.)
    ::signal(SIGPIPE, SIG_IGN);
    return request;
}

// Where a report is written before it replaces `path`: beside it, so the
// rename is atomic; named after this process, so a later run knows whose.
fs::path partial_path(const fs::path& path) {
    return path.parent_path() / ("." + path.filename().string() + ".partial-" + std::to_string(::getpid()));
}

// Partial reports of runs that were killed while writing: their process is gone.
void remove_stale_partials(const fs::path& path) {
    std::error_code error;
    fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
    std::string prefix = "." + path.filename().string() + ".partial-";
    for (const auto& entry : fs::directory_iterator(dir, error)) {
        std::string name = entry.path().filename().string();
        if (!name.starts_with(prefix)) continue;
        char* end = nullptr;
        long pid = std::strtol(name.c_str() + prefix.size(), &end, 10);
        if (end == nullptr || *end != '\0' || pid <= 0) continue;
        if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
        std::error_code ignored;
        fs::remove(entry.path(), ignored);
    }
}

void remember_partial(const fs::path& partial) {
    const std::string& name = partial.native();
    if (partial_reports.count == PartialReports::capacity || name.size() >= PATH_MAX) return;
    std::memcpy(partial_reports.paths[partial_reports.count], name.c_str(), name.size() + 1);
    ++partial_reports.count;
}

// The whole report or the old one, never half: written beside, then renamed over.
bool write_atomically(const fs::path& path, const std::function<void(std::ostream&)>& write) {
    partial_reports.writing.fetch_add(1);
    writing_here = true;
    struct Done {
        ~Done() {
            writing_here = false;
            partial_reports.writing.fetch_sub(1);
        }
    } done;
    if (partial_reports.dying.load()) return false;
    fs::path partial = partial_path(path);
    std::ofstream out(partial, std::ios::trunc);
    if (out) write(out);
    out.close();
    int error = errno;
    if (out && ::rename(partial.c_str(), path.c_str()) == 0) return true;
    if (!out) errno = error;
    std::fprintf(stderr, "rmtfs-hil: cannot write %s: %s\n", path.c_str(), std::strerror(errno));
    std::error_code ignored;
    fs::remove(partial, ignored);
    return false;
}

// Before anything runs: every report's destination can be written (a run is
// not thrown away for a typo in --junit).
// The HTML report's page, when one was asked for.
std::optional<fs::path> html_page(const RunArguments& a) {
    if (!a.report) return std::nullopt;
    return *a.report / "index.html";
}

void check_report_destinations(const RunArguments& a) {
    if (a.report) {
        std::error_code error;
        fs::create_directories(*a.report, error);
        if (error) throw cli::UsageError("cannot write the HTML report in " + a.report->string() + ": " + error.message());
    }
    for (const auto& path : {a.junit, a.json, html_page(a)}) {
        if (!path) continue;
        remove_stale_partials(*path);
        remember_partial(partial_path(*path));
        std::ofstream probe(partial_path(*path));
        int error = errno;
        std::error_code ignored;
        fs::remove(partial_path(*path), ignored);
        if (!probe) throw cli::UsageError("cannot write " + path->string() + ": " + std::strerror(error));
    }
}

// Writes what was asked for; false when a report could not be written.
bool write_file_reports(const engine::RunReport& report, const RunArguments& a) {
    bool ok = true;
    if (a.junit) ok &= write_atomically(*a.junit, [&](std::ostream& out) { engine::write_junit(report, out); });
    if (a.json) ok &= write_atomically(*a.json, [&](std::ostream& out) { engine::write_json(report, out); });
    if (auto page = html_page(a)) ok &= write_atomically(*page, [&](std::ostream& out) { out << engine::render_html(report); });
    return ok;
}

// The JSON, JUnit and HTML reports as scenarios finish, so that a run killed
// midway leaves every finished scenario reported. A writer thread replaces
// them whole with the latest results; after each write it rests four times
// as long as the write took, so writing costs a small share of the run, and
// results that came meanwhile go out together.
class IncrementalReports {
public:
    IncrementalReports(const RunArguments& a, engine::RunReport header) : a_(a), report_(std::move(header)) {
        report_.interrupted = true;  // until the run says otherwise: it has not finished
        if (a_.junit || a_.json || a_.report) writer_ = std::thread([this] { write_loop(); });
    }
    ~IncrementalReports() { stop(); }

    void finished(const engine::ScenarioResult& result) {
        if (!writer_.joinable()) return;
        std::lock_guard<std::mutex> guard(lock_);
        report_.scenarios.push_back(result);
        dirty_ = true;
        wake_.notify_one();
    }
    // Before the final reports: no write of ours may race them.
    void stop() {
        {
            std::lock_guard<std::mutex> guard(lock_);
            stopping_ = true;
        }
        wake_.notify_one();
        if (writer_.joinable()) writer_.join();
    }

private:
    using Clock = std::chrono::steady_clock;

    void write_loop() {
        // The interrupt handler waits for report writers: it must not run on one.
        sigset_t blocked;
        sigemptyset(&blocked);
        for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&blocked, signal_number);
        ::pthread_sigmask(SIG_BLOCK, &blocked, nullptr);
        std::unique_lock<std::mutex> guard(lock_);
        for (;;) {
            wake_.wait(guard, [this] { return dirty_ || stopping_; });
            if (stopping_) return;
            engine::RunReport snapshot = report_;
            dirty_ = false;
            guard.unlock();
            auto began = Clock::now();
            write_file_reports(snapshot, a_);
            auto rest = (Clock::now() - began) * 4;
            guard.lock();
            wake_.wait_for(guard, rest, [this] { return stopping_; });
            if (stopping_) return;
        }
    }

    const RunArguments& a_;
    engine::RunReport report_;
    std::mutex lock_;
    std::condition_variable wake_;
    bool dirty_ = false;
    bool stopping_ = false;
    std::thread writer_;
};

// --target adb: the agent is this very program unless --agent names another
// (a build for the board's architecture), with the shim beside it.
hil::BoardRun run_on_board(const std::vector<engine::Scenario>& scenarios, const RunArguments& a,
                           const engine::SuiteOptions& options) {
    hil::BoardRunOptions board;
    board.adb = a.adb;
    board.serial = hil::serial_of_target(a.target);
    std::error_code error;
    board.agent = a.agent ? *a.agent : fs::canonical("/proc/self/exe", error);
    if (!fs::is_regular_file(board.agent, error)) throw cli::EnvironmentError("--agent " + board.agent.string() + ": no such file");
    board.shim = hil::shim_for_agent(board.agent);
    // The daemon is the board's: --server names a path there.
    board.server = a.server;
    board.board = a.board;
    board.seed = a.seed;
    board.transport = a.transport;
    board.allow_modem_restart = a.allow_modem_restart;
    board.coupling = options.coupling;
    board.reproduce_prefix = options.run.reproduce_prefix;
    try {
        return hil::run_on_board(scenarios, board, options);
    } catch (const hil::BoardError& e) {
        throw cli::EnvironmentError(std::string("--target ") + a.target + ": " + e.what());
    }
}

bool write_reports(const engine::RunReport& report, const RunArguments& a) {
    bool ok = write_file_reports(report, a);
    if (auto page = html_page(a); page && ok) std::printf("HTML report: %s\n", page->c_str());
    return ok;
}

int run_and_report(const std::vector<engine::Scenario>& scenarios, const RunArguments& a, const std::string& command,
                   bool matrix) {
    engine::SuiteOptions options;
    // On a board, --server is a path there; here, it must be a program.
    options.run.server = a.target_kind == engine::TargetKind::sim ? cli::find_server(a.server) : a.server;
    if (a.target_kind == engine::TargetKind::sim) cli::require_server_in_world(options.run.server);
    options.run.seed = a.seed;
    options.run.board = a.board_profile;
    options.run.reproduce_prefix = reproduce_prefix(a, options.run.server);
    options.jobs = a.jobs;
    engine::RunReport header = engine::suite_header(options);
    header.command = command;
    IncrementalReports incremental(a, header);
    options.progress = [&](const engine::ScenarioResult& r, std::size_t done, std::size_t total) {
        incremental.finished(r);
        if (a.quiet) return;
        std::printf("[%zu/%zu] %-6s %s (%.1f s)%s%s\n", done, total, mark(r), engine::sanitize_line(r.name).c_str(),
                    r.duration_ms / 1000.0, r.reason.empty() ? "" : ": ", engine::sanitize_line(r.reason).c_str());
        std::fflush(stdout);
    };
    check_report_destinations(a);
    options.interrupted = &install_interrupt_handler();
    std::string board_not_restored;
    auto run_once = [&]() {
        if (scenarios.empty()) return engine::suite_header(options);  // an empty --shard: nothing to start
        if (a.target_kind != engine::TargetKind::adb) return engine::run_suite(scenarios, options);
        hil::BoardRun run = run_on_board(scenarios, a, options);
        if (board_not_restored.empty()) board_not_restored = std::move(run.not_restored);
        return std::move(run.report);
    };
    engine::RunReport report;
    if (!matrix) {
        report = run_once();
    } else {
        // Every fault scenario under every policy, in one report.
        for (sim::CouplingPolicy policy : values_of<sim::CouplingPolicy>()) {
            options.coupling = policy;
            if (!a.quiet) std::printf("== coupling policy %s\n", std::string(name_of(policy)).c_str());
            engine::RunReport part = run_once();
            for (auto& r : part.scenarios) report.scenarios.push_back(std::move(r));
            report.duration_ms += part.duration_ms;
            report.started_at = report.started_at.empty() ? part.started_at : report.started_at;
            report.server = part.server;
            report.jobs = part.jobs;
            report.interrupted = part.interrupted;
            if (part.interrupted) break;
        }
    }
    report.command = command;
    std::printf("\n");
    if (matrix) engine::write_matrix_table(report, std::cout);
    else engine::write_summary_table(report, std::cout);
    std::cout.flush();
    incremental.stop();
    bool written = write_reports(report, a);
    // The board left without its own rmtfs: the machine's trouble, above all verdicts.
    if (!board_not_restored.empty()) {
        std::fprintf(stderr, "rmtfs-hil: --target %s: the board's rmtfs service is NOT running again: %s\n",
                     a.target.c_str(), engine::sanitize_line(board_not_restored).c_str());
        return cli::exit_environment;
    }
    if (report.interrupted) {
        std::fprintf(stderr, "rmtfs-hil: interrupted; %zu scenario(s) reported\n", report.scenarios.size());
        return 130;
    }
    bool failed = false;
    for (const auto& r : report.scenarios) {
        if (r.verdict == engine::Verdict::error) failed = true;
        if (!matrix && r.verdict == engine::Verdict::fail && (a.strict || r.known_status != engine::KnownStatus::known)) failed = true;
    }
    if (failed) return cli::exit_failed;
    return written ? cli::exit_ok : cli::exit_environment;
}

// The scenarios to run, or nothing (the reason already on stderr).
std::optional<std::vector<engine::Scenario>> load_filtered(const RunArguments& a) {
    engine::LoadedSuite suite = load_or_explain(a.paths);
    if (!suite.errors.empty()) return std::nullopt;
    auto scenarios = engine::filter_suite(suite.scenarios, a.filter);
    if (scenarios.empty()) {
        std::fprintf(stderr, "rmtfs-hil: no scenario matches --filter '%s'\n", a.filter.c_str());
        return std::nullopt;
    }
    if (a.shard) {
        const std::size_t whole = scenarios.size();
        scenarios = engine::shard_suite(scenarios, *a.shard);
        // Said even with -q: a CI job's log tells which share it ran.
        std::printf("shard %u/%u: %zu of %zu scenario(s)\n", a.shard->index, a.shard->count, scenarios.size(), whole);
        std::fflush(stdout);
    }
    return scenarios;
}

}  // namespace

int run(cli::Arguments& arguments) {
    RunArguments a = parse(arguments, true);
    auto scenarios = load_filtered(a);
    if (!scenarios) return cli::exit_usage;
    return run_and_report(*scenarios, a, "rmtfs-hil run" + a.given, false);
}

int validate(cli::Arguments& arguments) {
    RunArguments a = parse(arguments, true);
    engine::LoadedSuite suite = load_or_explain(a.paths);
    if (!suite.errors.empty()) {
        std::fprintf(stderr, "%zu error(s); %zu scenario(s) valid\n", suite.errors.size(), suite.scenarios.size());
        return cli::exit_usage;
    }
    std::printf("%zu scenario(s) valid\n", suite.scenarios.size());
    return cli::exit_ok;
}

int matrix(cli::Arguments& arguments) {
    RunArguments a = parse(arguments, false);
    if (a.paths.empty()) a.paths.push_back(find_library());
    if (a.filter.empty()) a.filter = "fault";
    auto scenarios = load_filtered(a);
    if (!scenarios) return cli::exit_usage;
    return run_and_report(*scenarios, a, "rmtfs-hil matrix" + a.given, true);
}

}  // namespace rmtfs_hil::commands
