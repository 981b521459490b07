// `rmtfs-hil agent`: the board side of `run --target adb`. The host pushes
// this program and the scenarios to the board and runs it through `adb
// shell`; it runs the scenarios where it is and streams each result back as
// one JSON line (hil/agent_protocol.hpp), so the host's reports are the same
// as for a simulated run.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "engine/interrupt.hpp"
#include "engine/sim_target.hpp"
#include "engine/suite.hpp"
#include "hil/agent/agent_protocol.hpp"
#include "hil/agent/board_target.hpp"
#include "hil/agent/board_check.hpp"
#include "hil/agent/efs_partitions.hpp"
#include "hil/agent/system_service.hpp"
#include "rmtfs_hil/version.hpp"
#include "server/board_profile.hpp"
#include "server/sandbox.hpp"
#include "server/world.hpp"
#include "tools/commands.hpp"
#include "tools/find_server.hpp"

namespace rmtfs_hil::commands {

namespace fs = std::filesystem;

const std::string_view agent_help = R"(Usage: rmtfs-hil agent [OPTIONS] PATH...
       rmtfs-hil agent --doctor [--board B] [--server PATH]

The board agent: what `rmtfs-hil run --target adb` pushes to a board and runs
there through `adb shell`. It runs the scenarios on the board and writes one
JSON object per line to stdout: a hello (its version, transport, board and
capabilities), then each scenario's result as it ends, then done. People do
not usually run it by hand; the host turns its lines into the same reports
as a simulated run.

Options:
  --server PATH       The daemon on the board (default: rmtfs on PATH).
  --board B           The board profile: a built-in name or a board file.
  --transport T       loopback (default): the emulated QRTR world, with the
                      daemon under the preload shim; kernel: the board's own
                      AF_QIPCRTR, the daemon a process the agent supervises
                      on scratch storage (-o, never -P), the simulated modem
                      a client on the local node. The board's own rmtfs
                      service (systemd's rmtfs.service, or init's rmtfs on
                      Android) is stopped before the first scenario and
                      started again when the agent ends, however it ends: a
                      guardian process does it even after SIGKILL. A modem
                      still running then would be a client of the run's
                      daemons: refused (exit 3).
  --allow-modem-restart
                      With --transport kernel: the board's modem may be
                      stopped and started: stopping a service that runs
                      rmtfs -s does (refused without this flag), and so do
                      scenarios whose daemon has -s (skipped without it).
  --seed N            Seed for every scenario.
  --coupling P        Run every scenario under this coupling policy instead
                      of its own (manual, rmtfs-sysfs, mem-open,
                      service-watch): `rmtfs-hil matrix --target adb` runs
                      the agent once per policy.
  --jobs N            Scenarios in parallel, each in its own world (default 1).
  --lava              Also report to LAVA: one test set per PATH
                      (lava-test-set start NAME / stop), one lava-test-case
                      per scenario (pass, fail, skip; an error is unknown).
  --doctor            Run no scenario: check the board (the modem's
                      remoteproc, /dev/qcom_rmtfs_memN, the EFS partitions
                      and their sizes, the kernel's QRTR, the daemon, scratch
                      space) and write one check line each; `rmtfs-hil hil
                      doctor` on the host runs this. Reads only.

The board's files are read under RMTFS_HIL_DEVICE_ROOT when it is set (an
emulated device sets it to its root), else under /.

SIGINT, SIGTERM and SIGHUP stop it as Ctrl-C stops a run: running scenarios
end as errors, and done says interrupted. So does the host going away (its
end of stdout closed), at once, not at the next line.

Exit status: 0 every scenario reported (the verdicts are in the lines), 2
usage or scenario-file errors, 3 the board lacks something (or its rmtfs
service would need --allow-modem-restart), 4 the board's rmtfs service could
not be started again (done says why), 130 stopped.
)";

static_assert(cli::exit_environment == hil::agent_exit_board_lacks, "the host reads the agent's exit status");

namespace {

struct AgentArguments {
    std::vector<fs::path> paths;
    std::string server;
    const server::BoardProfile* board = &server::default_board();
    hil::Transport transport = hil::Transport::loopback;
    std::optional<std::uint64_t> seed;
    std::optional<sim::CouplingPolicy> coupling;
    unsigned jobs = 1;
    bool lava = false;
    bool doctor = false;
    bool allow_modem_restart = false;
};

AgentArguments parse(cli::Arguments& arguments) {
    AgentArguments a;
    while (!arguments.done()) {
        std::string arg = arguments.take();
        if (arg == "-h" || arg == "--help") {
            std::fwrite(agent_help.data(), 1, agent_help.size(), stdout);
            std::exit(cli::exit_ok);
        } else if (arg == "--server") {
            a.server = arguments.value_of(arg);
        } else if (arg == "--board") {
            auto board = server::resolve_board(arguments.value_of(arg));
            if (!board) throw cli::UsageError("option '--board': " + board.error());
            a.board = *board;
        } else if (arg == "--transport") {
            std::string name = arguments.value_of(arg);
            auto transport = named<hil::Transport>(name);
            if (!transport) throw cli::UsageError("option '--transport' takes loopback or kernel, not '" + name + "'");
            a.transport = *transport;
        } else if (arg == "--seed") {
            std::string text = arguments.value_of(arg);
            char* end = nullptr;
            errno = 0;
            unsigned long long value = std::strtoull(text.c_str(), &end, 10);
            if (text.empty() || text[0] == '-' || *end != '\0' || errno != 0)
                throw cli::UsageError("option '--seed' needs a number, not '" + text + "'");
            a.seed = value;
        } else if (arg == "--coupling") {
            std::string name = arguments.value_of(arg);
            a.coupling = named<sim::CouplingPolicy>(name);
            if (!a.coupling)
                throw cli::UsageError("option '--coupling' takes manual, rmtfs-sysfs, mem-open or service-watch, not '" +
                                      name + "'");
        } else if (arg == "--jobs") {
            std::string text = arguments.value_of(arg);
            char* end = nullptr;
            unsigned long value = std::strtoul(text.c_str(), &end, 10);
            if (text.empty() || text[0] == '-' || *end != '\0' || value < 1 || value > 64)
                throw cli::UsageError("option '--jobs' needs a number from 1 to 64, not '" + text + "'");
            a.jobs = static_cast<unsigned>(value);
        } else if (arg == "--lava") {
            a.lava = true;
        } else if (arg == "--allow-modem-restart") {
            a.allow_modem_restart = true;
        } else if (arg == "--doctor") {
            a.doctor = true;
        } else if (arg == "--") {
            for (auto& rest : arguments.rest()) a.paths.emplace_back(rest);
        } else if (!arg.empty() && arg[0] == '-') {
            throw cli::UsageError("unknown option '" + arg + "'");
        } else {
            a.paths.emplace_back(arg);
        }
    }
    if (a.doctor && !a.paths.empty()) throw cli::UsageError("--doctor runs no scenario: give no PATH");
    if (!a.doctor && a.paths.empty()) throw cli::UsageError("no scenario files or folders given");
    if (a.transport == hil::Transport::kernel && a.jobs > 1)
        throw cli::UsageError("--transport kernel runs one scenario at a time (one QRTR node, one RMTFS service): "
                              "give no --jobs");
    if (a.allow_modem_restart && a.transport != hil::Transport::kernel)
        throw cli::UsageError("--allow-modem-restart is for --transport kernel (the loopback world's modem is simulated)");
    return a;
}

// The board's "/" (hil::device_root_variable).
fs::path device_root() {
    const char* root = std::getenv(hil::device_root_variable);
    return root != nullptr && *root != '\0' ? fs::path(root) : fs::path("/");
}

// Where the agent keeps its scratch files (snapshots, scenarios' storage).
fs::path scratch_directory() {
    std::error_code error;
    fs::path scratch = fs::temp_directory_path(error);
    return error ? fs::path(".") : scratch;
}

engine::StopRequest* agent_stop = nullptr;

extern "C" void on_agent_signal(int) {
    if (agent_stop != nullptr) agent_stop->request();
}

struct Suite {
    std::string name;
    std::vector<engine::Scenario> scenarios;
};

// A test set's name: the folder's or the file's, without ".json".
std::string suite_name(const fs::path& path) {
    fs::path clean = path.lexically_normal();
    if (clean.filename().empty()) clean = clean.parent_path();
    std::string name = clean.filename().string();
    if (name.ends_with(".json")) name.resize(name.size() - 5);
    return name.empty() || name == "." ? "scenarios" : name;
}

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::string dirs = path == nullptr ? "" : path;
    for (std::size_t start = 0; start <= dirs.size();) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) end = dirs.size();
        fs::path candidate = fs::path(dirs.substr(start, end - start)) / program;
        if (::access(candidate.c_str(), X_OK) == 0) return true;
        start = end + 1;
    }
    return false;
}

// LAVA's words for a verdict: an error is neither a pass nor a fail.
const char* lava_result(engine::Verdict verdict) {
    switch (verdict) {
        case engine::Verdict::pass: return "pass";
        case engine::Verdict::fail: return "fail";
        case engine::Verdict::skip: return "skip";
        case engine::Verdict::error: return "unknown";
    }
    return "unknown";
}

// A LAVA helper, as a program with its arguments (no shell); its output
// goes to stderr, so that stdout stays the protocol's.
void run_helper(const std::vector<std::string>& argv) {
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(STDERR_FILENO, STDOUT_FILENO);
        ::execvp(args[0], args.data());
        std::fprintf(stderr, "rmtfs-hil agent: cannot run %s: %s\n", args[0], std::strerror(errno));
        ::_exit(127);
    }
    int status = 0;
    if (pid > 0)
        while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
    if (pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        std::fprintf(stderr, "rmtfs-hil agent: %s did not succeed\n", argv[0].c_str());
}

// One line, written whole: the host reads lines.
void emit(const std::string& line) {
    std::string whole = line + "\n";
    const char* data = whole.data();
    std::size_t left = whole.size();
    while (left > 0) {
        ssize_t wrote = ::write(STDOUT_FILENO, data, left);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) {
            // The host is gone: stop as for Ctrl-C (nobody would hear the rest).
            if (agent_stop != nullptr) agent_stop->request();
            return;
        }
        data += wrote;
        left -= static_cast<std::size_t>(wrote);
    }
}

// The host going away (adb's stream closed: the read end of stdout is gone)
// stops the run at once, as Ctrl-C does — not at the next line, which a
// long scenario may not write for minutes. A stdout that cannot hang up (a
// file, a terminal) leaves the watch blocked, harmlessly.
void watch_for_host_gone() {
    std::thread([] {
        pollfd out{STDOUT_FILENO, 0, 0};
        for (;;) {
            int ready = ::poll(&out, 1, -1);
            if (ready < 0 && errno == EINTR) continue;
            if (ready < 0) return;
            if (out.revents & (POLLERR | POLLHUP | POLLNVAL)) {
                if (agent_stop != nullptr) agent_stop->request();
                return;
            }
        }
    }).detach();
}

// The board's rmtfs service out of the way of a kernel-transport run; a
// service that drives the modem (-s) only with --allow-modem-restart, as
// stopping it stops the modem.
std::unique_ptr<hil::StoppedService> stop_system_service(const AgentArguments& a) {
    fs::path root = device_root();
    auto found = hil::find_system_service(root);
    if (!found) throw cli::EnvironmentError("the board's rmtfs service: " + found.error());
    if (!*found || !(*found)->running) return nullptr;
    const hil::SystemService& service = **found;
    if (service.drives_modem() && !a.allow_modem_restart)
        throw cli::EnvironmentError(service.describe() + " must be stopped for --transport kernel, and stopping it stops "
                                    "the board's modem (rmtfs -s" +
                                    (service.command_line.empty() ? " assumed: its command line cannot be read" : "") +
                                    "): give --allow-modem-restart to allow that");
    auto stopped = hil::StoppedService::stop(root, service);
    if (!stopped) throw cli::EnvironmentError(stopped.error());
    std::fprintf(stderr, "rmtfs-hil agent: stopped %s for the run; it is started again when the agent ends\n",
                 service.describe().c_str());
    return std::move(*stopped);
}

// The board's real modem, running, would be a client of the run's daemons
// beside the simulated one (and would read the scenarios' storage as its
// EFS): refused, with how to stop it. A stopped system service is started
// again as the refusal unwinds.
void require_modem_off() {
    auto modem = hil::find_board_modem(device_root());
    if (!modem || modem->state != "running") return;
    throw cli::EnvironmentError("the board's modem (" + modem->remoteproc +
                                ") is running and would be a client of the run's daemons: stop it for the run (echo stop "
                                "> /sys/class/remoteproc/" + modem->remoteproc +
                                "/state), or run the board's rmtfs service with -s and give --allow-modem-restart");
}

std::optional<std::string> restore_system_service(hil::StoppedService& stopped) {
    auto failed = stopped.restore();
    if (failed) std::fprintf(stderr, "rmtfs-hil agent: %s NOT restored: %s\n", stopped.service().name.c_str(), failed->c_str());
    return failed ? std::optional<std::string>(stopped.service().name + " was not started again: " + *failed) : std::nullopt;
}

// `--doctor`: the board's checks, one line each, then done.
int doctor(const AgentArguments& a) {
    hil::BoardCheckOptions options;
    options.root = device_root();
    options.board = a.board;
    options.server_search = a.server.empty() ? "rmtfs on PATH" : "--server " + a.server;
    try {
        options.server = cli::find_server(a.server);
    } catch (const cli::EnvironmentError&) {
        // The check says so, with the fix.
    }
    options.shim = server::find_shim_library();
    options.umockdev_preload = server::find_umockdev_preload();
    options.scratch = scratch_directory();
    ::signal(SIGPIPE, SIG_IGN);
    for (const hil::Check& check : hil::check_board(options)) emit(hil::check_line(check));
    emit(hil::done_line(false, ""));
    return cli::exit_ok;
}

}  // namespace

int agent(cli::Arguments& arguments) {
    AgentArguments a = parse(arguments);
    if (a.doctor) return doctor(a);
    if (a.transport == hil::Transport::kernel) {
        int probe = ::socket(hil::af_qipcrtr, SOCK_DGRAM, 0);
        if (probe < 0)
            throw cli::EnvironmentError("--transport kernel: this kernel has no AF_QIPCRTR sockets (load qrtr.ko, or use "
                                        "--transport loopback)");
        ::close(probe);
    }
    // One suite per PATH (a LAVA test set each).
    std::vector<Suite> suites;
    std::size_t total = 0, errors = 0;
    bool wants_board_efs = false;
    for (const fs::path& path : a.paths) {
        engine::LoadedSuite loaded = engine::load_suite({path});
        for (const auto& error : loaded.errors) std::fprintf(stderr, "%s\n", error.describe().c_str());
        errors += loaded.errors.size();
        total += loaded.scenarios.size();
        for (const engine::Scenario& s : loaded.scenarios) wants_board_efs = wants_board_efs || s.setup.storage.board_efs;
        suites.push_back({suite_name(path), std::move(loaded.scenarios)});
    }
    if (errors != 0) return cli::exit_usage;
    if (a.lava && !on_path("lava-test-case"))
        throw cli::EnvironmentError("--lava: lava-test-case is not on PATH (it is there inside a LAVA test shell)");

    engine::SuiteOptions options;
    options.run.server = cli::find_server(a.server);
    if (a.transport == hil::Transport::kernel) {
        hil::BoardTargetOptions board;
        board.root = device_root();
        board.scratch = scratch_directory();
        board.allow_modem_restart = a.allow_modem_restart;
        options.run.make_target = hil::board_target_factory(board);
        options.run.capabilities = hil::board_capabilities(board);
        options.run.fixed_board = true;
    } else {
        cli::require_server_in_world(options.run.server);
    }
    // The board's EFS, for scenarios with storage.board_efs: a board without
    // its partitions skips them, naming the capability.
    const bool has_efs = hil::board_has_efs(device_root(), *a.board);
    if (has_efs) options.run.capabilities.add(engine::Capability::board_efs);
    options.run.board = a.board;
    options.run.seed = a.seed;
    options.run.target = engine::TargetKind::adb;  // the scenarios chosen for boards

    // The board's own rmtfs would serve the modem's requests beside the
    // run's daemon: stopped now (while the agent has one thread: the
    // guardian is forked), started again when the agent ends, however.
    std::unique_ptr<hil::StoppedService> system_service;
    if (a.transport == hil::Transport::kernel) {
        system_service = stop_system_service(a);
        require_modem_off();
    }
    // Read once, after the system's daemon stopped writing (kernel
    // transport); the scenarios' daemons work on copies of the copy.
    std::optional<hil::EfsSnapshot> efs;
    if (wants_board_efs && has_efs) {
        auto taken = hil::EfsSnapshot::take(device_root(), *a.board, scratch_directory());
        if (!taken) {
            // The board lacks what the run needs: said before anything ran.
            std::fprintf(stderr, "rmtfs-hil: storage.board_efs: cannot snapshot the board's EFS partitions: %s\n",
                         taken.error().c_str());
            if (system_service)
                if (auto not_restored = restore_system_service(*system_service)) {
                    emit(hil::done_line(false, *not_restored));
                    return hil::agent_exit_not_restored;
                }
            return hil::agent_exit_board_lacks;
        }
        efs.emplace(std::move(*taken));
        for (Suite& suite : suites)
            for (engine::Scenario& s : suite.scenarios)
                if (s.setup.storage.board_efs) s.setup.storage.from = efs->path().string();
    }

    static engine::StopRequest stop;
    agent_stop = &stop;
    struct sigaction action {};
    action.sa_handler = on_agent_signal;
    sigemptyset(&action.sa_mask);
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signal_number, &action, nullptr);
    ::signal(SIGPIPE, SIG_IGN);
    watch_for_host_gone();

    options.jobs = a.jobs;
    options.coupling = a.coupling;
    options.interrupted = &stop;
    options.progress = [&a](const engine::ScenarioResult& result, std::size_t, std::size_t) {
        emit(hil::result_line(result));
        if (a.lava) run_helper({"lava-test-case", result.name, "--result", lava_result(result.verdict)});
    };
    hil::Hello hello{RMTFS_HIL_VERSION, a.transport, a.board->name, options.run.capabilities, total};
    emit(hil::hello_line(hello));
    bool interrupted = false;
    for (const Suite& suite : suites) {
        if (a.lava) run_helper({"lava-test-set", "start", suite.name});
        engine::RunReport report = engine::run_suite(suite.scenarios, options);
        if (a.lava) run_helper({"lava-test-set", "stop"});
        if ((interrupted = report.interrupted)) break;
    }
    std::optional<std::string> not_restored;
    if (system_service) not_restored = restore_system_service(*system_service);
    emit(hil::done_line(interrupted, not_restored.value_or("")));
    if (not_restored) return hil::agent_exit_not_restored;
    return interrupted ? 130 : cli::exit_ok;
}

}  // namespace rmtfs_hil::commands
