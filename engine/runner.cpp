#include "engine/runner.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstring>
#include <map>
#include <set>

#include "engine/rig.hpp"
#include "sim/errno_names.hpp"
#include "sim/name_service.hpp"

namespace rmtfs_hil::engine {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds default_wait = 10s;
constexpr milliseconds default_boot_wait = 20s;
constexpr milliseconds service_wait_at_start = 10s;

// A step that did not go as the scenario says: `server` failures are the
// daemon's (verdict fail), the rest the harness's or the scenario's (error).
struct StepFailure {
    std::string message;
    bool harness = false;
};

std::string location_of(const SourceLocation& where) {
    return where.file + ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
}

// Deterministic bytes for a data label: a function of the seed, the label
// and the position, never constant.
Bytes pattern_bytes(std::uint64_t seed, const std::string& label, std::size_t size) {
    std::uint64_t x = 1469598103934665603ull ^ (seed * 0x9e3779b97f4a7c15ull);
    for (char c : label) x = (x ^ static_cast<std::uint8_t>(c)) * 1099511628211ull;
    Bytes bytes(size);
    for (auto& byte : bytes) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        byte = static_cast<std::uint8_t>(x >> 24);
    }
    return bytes;
}

std::optional<Bytes> hex_bytes(const std::string& text) {
    Bytes bytes;
    int high = -1;
    for (char c : text) {
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -2;
        if (v == -2) {
            if (c == ' ' || c == ':' || c == '\n' || c == '\t') continue;
            return std::nullopt;
        }
        if (high < 0) {
            high = v;
        } else {
            bytes.push_back(static_cast<std::uint8_t>(high << 4 | v));
            high = -1;
        }
    }
    if (high >= 0) return std::nullopt;
    return bytes;
}

Bytes data_of(const DataSpec& spec, std::uint64_t seed, std::size_t size) {
    if (!spec.hex.empty()) {
        Bytes bytes = hex_bytes(spec.hex).value_or(Bytes{});
        bytes.resize(size);
        return bytes;
    }
    if (!spec.fill.empty()) {
        auto value = static_cast<std::uint8_t>(std::stoul(spec.fill, nullptr, 0));
        return Bytes(size, value);
    }
    return pattern_bytes(seed, spec.pattern, size);
}

std::string sha256_hex(const Bytes& bytes);

std::optional<std::uint16_t> message_id_named(const std::string& name) {
    for (std::uint16_t id = 1; id <= 6; ++id)
        if (rmtfs::to_string(static_cast<rmtfs::MessageId>(id)) == name) return id;
    return std::nullopt;
}

sim::ServiceLoss service_loss_named(const std::string& name) {
    if (name == "reopen") return sim::ServiceLoss::reopen;
    if (name == "ignore") return sim::ServiceLoss::ignore;
    return sim::ServiceLoss::fatal;
}

sim::OpenFailure open_failure_named(const std::string& name) {
    if (name == "crash") return sim::OpenFailure::crash;
    if (name == "skip") return sim::OpenFailure::skip;
    return sim::OpenFailure::fail;
}

RigOptions rig_options(const Scenario& s, const RunOptions& run, std::uint64_t seed) {
    RigOptions options;
    options.board = server::find_board(s.setup.board);
    if (options.board == nullptr) options.board = &server::default_board();
    options.server = run.server;
    options.server_args = s.setup.server.args;
    options.restart.enabled = s.setup.server.restart.enabled;
    options.restart.delay = milliseconds(s.setup.server.restart.delay_ms);
    options.restart.start_limit_burst = s.setup.server.restart.burst;
    options.restart.start_limit_interval = milliseconds(s.setup.server.restart.interval_ms);
    options.coupling = sim::coupling_policy_named(s.setup.coupling).value_or(sim::CouplingPolicy::manual);
    options.recovery = s.setup.recovery;
    options.kernel_name_service = s.setup.name_service == "kernel";
    options.partition_bytes = s.setup.storage.partition_bytes;
    options.seed = seed;
    options.zero_fill = s.setup.storage.fill == "zeros";
    options.storage_from = s.setup.storage.from;
    options.ask_storage_reads = s.setup.watch_storage_reads;
    options.ask_memory_io = s.setup.watch_memory_io;
    options.modems.clear();
    for (std::size_t i = 0; i < s.setup.modems.size(); ++i) {
        const ModemSetup& m = s.setup.modems[i];
        ModemSpec spec;
        spec.name = m.name;
        spec.config.node = i == 0 ? options.board->modem_node : static_cast<std::uint32_t>(10 + i);
        spec.config.partitions = m.partitions;
        spec.config.request_timeout = milliseconds(m.request_timeout_ms);
        spec.config.service_wait = milliseconds(m.service_wait_ms);
        spec.config.image_sectors = m.image_sectors;
        spec.config.transfer_sectors = m.transfer_sectors;
        spec.config.sync_interval = milliseconds(m.sync_interval_ms);
        spec.config.sync_sectors = m.sync_sectors;
        spec.config.on_service_loss = service_loss_named(m.on_service_loss);
        spec.config.on_open_failure = open_failure_named(m.on_open_failure);
        spec.config.seed = seed + i;
        options.modems.push_back(spec);
    }
    return options;
}

int signal_of_action(const std::string& action) {
    if (action == "sigkill") return SIGKILL;
    if (action == "sigterm" || action == "restart") return SIGTERM;
    if (action == "sigstop") return SIGSTOP;
    if (action == "sigcont") return SIGCONT;
    return 0;
}

std::string describe_response(const std::optional<sim::Response>& response) {
    if (!response) return "no answer";
    if (*response) return rmtfs::summary(**response);
    return std::string(sim::to_string(response->error().kind)) + ": " + response->error().detail;
}

const rmtfs::Result* result_of(const rmtfs::Message& message) {
    return std::visit(
        [](const auto& m) -> const rmtfs::Result* {
            if constexpr (requires { m.result; }) return &m.result;
            return nullptr;
        },
        message);
}

// One scenario's run: the rig, the steps and the evidence.
class ScenarioRun {
public:
    ScenarioRun(const Scenario& scenario, const RunOptions& options)
        : s_(scenario), options_(options), seed_(options.seed.value_or(scenario.seed)), started_(Clock::now()) {}

    ScenarioResult run();

private:
    void finish_with(std::string verdict, std::string reason) {
        if (result_.verdict.empty()) {
            result_.verdict = std::move(verdict);
            result_.reason = std::move(reason);
        }
    }
    bool interrupted() const { return options_.interrupted && options_.interrupted(); }
    bool past_deadline() const { return Clock::now() - started_ > milliseconds(s_.timeout_ms); }
    double now_ms() const { return std::chrono::duration<double, std::milli>(Clock::now() - started_).count(); }

    std::optional<StepFailure> setup();
    std::optional<StepFailure> run_step(const Step& step);
    std::optional<StepFailure> step(const DaemonStep& d, milliseconds timeout);
    std::optional<StepFailure> step(const BootStep& b, milliseconds timeout);
    std::optional<StepFailure> step(const ModemStep& m, milliseconds timeout);
    std::optional<StepFailure> step(const WriteStep& w, milliseconds timeout);
    std::optional<StepFailure> step(const ReadStep& r, milliseconds timeout);
    std::optional<StepFailure> step(const RequestStep& r, milliseconds timeout);
    std::optional<StepFailure> step(const RawStep& r, milliseconds timeout);
    std::optional<StepFailure> step(const FaultStep& f, milliseconds timeout);
    std::optional<StepFailure> step(const IoFaultStep& f, milliseconds timeout);
    std::optional<StepFailure> step(const LinkStep& l, milliseconds timeout);
    std::optional<StepFailure> step(const NetworkResetStep&, milliseconds timeout);
    std::optional<StepFailure> step(const PowerLossStep&, milliseconds timeout);
    std::optional<StepFailure> step(const NameServiceStep& n, milliseconds timeout);
    std::optional<StepFailure> step(const RemoteprocStep& r, milliseconds timeout);
    std::optional<StepFailure> step(const WaitStep& w, milliseconds timeout);
    std::optional<StepFailure> step(const ExpectStep& e, milliseconds timeout);

    std::optional<StepFailure> check_answer(const std::optional<sim::Response>& response, const AnswerExpectation& expect,
                                            const ModemSetup& modem);
    std::optional<std::size_t> partition_index(std::size_t modem, const std::string& path) const;
    Expected<std::size_t, StepFailure> handle_for(std::size_t modem, const std::string& partition) const;
    bool daemon_stopped() const;
    std::optional<StepFailure> crashed_invariant();
    void unanswered(const std::string& what, const ModemSetup& modem);
    bool wait(const std::function<bool()>& done, milliseconds timeout);
    void collect_evidence();
    std::string describe_violations(const std::vector<sim::LedgerViolation>& violations) const;

    const Scenario& s_;
    const RunOptions& options_;
    std::uint64_t seed_;
    Clock::time_point started_;
    std::unique_ptr<Rig> rig_;
    ScenarioResult result_;
    std::map<std::string, Bytes> initial_;  // storage files before the daemon ran
    std::set<int> signals_sent_;
    std::size_t ends_checked_ = 0;
    bool ledger_judged_ = false;  // an expect step already judged the ledger
    std::vector<std::string> invariant_failures_;
    // Faults armed for later, by the step that armed them: one that never
    // fired means the scenario did not test what it says.
    std::size_t current_step_ = 0;
    std::vector<std::pair<std::size_t, std::size_t>> process_faults_armed_, io_faults_armed_;
    std::optional<std::string> unfired_fault() const {
        for (auto [index, step] : process_faults_armed_)
            if (!rig_->process_faults().fired(index))
                return "the fault armed by step " + std::to_string(step + 1) + " never fired";
        for (auto [index, step] : io_faults_armed_)
            if (rig_->storage().fault_hits(index) == 0)
                return "the I/O fault armed by step " + std::to_string(step + 1) + " never hit a call";
        return std::nullopt;
    }
};

bool ScenarioRun::wait(const std::function<bool()>& done, milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
        if (Clock::now() >= deadline || interrupted()) return false;
        milliseconds slice = std::min<milliseconds>(milliseconds(50),
                                                    std::chrono::duration_cast<milliseconds>(deadline - Clock::now()) + 1ms);
        rig_->run_until(done, slice);
    }
    return true;
}

std::optional<std::size_t> ScenarioRun::partition_index(std::size_t modem, const std::string& path) const {
    const auto& partitions = s_.setup.modems.at(modem).partitions;
    auto it = std::find(partitions.begin(), partitions.end(), path);
    if (it == partitions.end()) return std::nullopt;
    return static_cast<std::size_t>(it - partitions.begin());
}

// The partition's index when the modem can move its data now. A missing
// handle or buffer is a failure (the daemon may be why); a partition the
// modem does not have is the scenario's error.
Expected<std::size_t, StepFailure> ScenarioRun::handle_for(std::size_t modem, const std::string& partition) const {
    auto index = partition_index(modem, partition);
    if (!index)
        return unexpected(StepFailure{"partition " + partition + " is not one of modem " + std::to_string(modem) + "'s", true});
    const sim::Modem* m = rig_->modem(modem);
    if (m == nullptr || !m->caller_ids().at(*index) || !m->buffer_address())
        return unexpected(StepFailure{"modem " + std::to_string(modem) + " has no handle for " + partition + " (state " +
                                      std::string(sim::to_string(rig_->modem_state(modem))) + ")"});
    return *index;
}

bool ScenarioRun::daemon_stopped() const {
    // The kernel's word first: the keeper's report of a stop or continue
    // may still be on its way when the daemon already runs again.
    if (auto pid = rig_->daemon().pid()) {
        // Plain reads: a process dying meanwhile fails them (ESRCH), quietly.
        std::string path = "/proc/" + std::to_string(*pid) + "/stat";
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        char text[512];
        ssize_t got = fd < 0 ? -1 : ::read(fd, text, sizeof text - 1);
        if (fd >= 0) ::close(fd);
        if (got > 0) {
            std::string_view stat(text, static_cast<std::size_t>(got));
            auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
            if (close != std::string_view::npos && close + 2 < stat.size())
                return stat[close + 2] == 'T' || stat[close + 2] == 't';
        }
    }
    for (auto it = rig_->events().rbegin(); it != rig_->events().rend(); ++it) {
        if (it->source != "server") continue;
        if (it->kind == "stopped") return true;
        if (it->kind == "continued" || it->kind == "started" || it->kind == "ended") return false;
    }
    return false;
}

void ScenarioRun::unanswered(const std::string& what, const ModemSetup& modem) {
    if (!s_.invariants.requests_answered || !rig_->daemon_running() || daemon_stopped()) return;
    invariant_failures_.push_back(what + " went unanswered for its " + std::to_string(modem.request_timeout_ms) +
                                  " ms timeout while the daemon was running");
}

std::optional<StepFailure> ScenarioRun::crashed_invariant() {
    if (!s_.invariants.server_alive) return std::nullopt;
    const auto& events = rig_->events();
    for (; ends_checked_ < events.size(); ++ends_checked_) {
        const RigEvent& e = events[ends_checked_];
        if (e.source != "server" || e.kind != "ended" || e.detail.rfind("killed by ", 0) != 0) continue;
        std::string name = e.detail.substr(std::strlen("killed by "));
        name = name.substr(0, name.find(' '));
        bool sent = false;
        for (int signal_number : signals_sent_) sent |= server::signal_name(signal_number) == name;
        if (!sent) return StepFailure{"the daemon crashed: " + e.detail + " (no step sent it that signal)", false};
    }
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::setup() {
    for (const auto& partition : rig_->sandbox().board().partitions)
        initial_[partition.file_name] = rig_->storage_file(partition.file_name);
    if (s_.setup.server.start) {
        auto started = rig_->start_daemon();
        if (!started) return StepFailure{"setup: the daemon did not start: " + started.error(), true};
        bool waited = wait([&] { return rig_->service_published() || !rig_->daemon_running(); }, service_wait_at_start);
        if (interrupted()) return StepFailure{"interrupted", true};
        if (!waited || !rig_->service_published())
            return StepFailure{"setup: the daemon did not publish service 14 within " +
                                   std::to_string(service_wait_at_start.count()) + " ms" +
                                   (rig_->daemon_running() ? "" : " (it ended)"),
                               false};
    }
    for (std::size_t i = 0; i < s_.setup.modems.size(); ++i) {
        if (!s_.setup.modems[i].boot || !s_.setup.server.start) continue;
        std::optional<sim::BootResult> boot;
        if (s_.setup.coupling == "manual") boot = rig_->boot_modem(i, default_boot_wait);
        else boot = rig_->wait_for_boot(i, default_boot_wait);
        if (interrupted()) return StepFailure{"interrupted", true};
        if (!boot) return StepFailure{"setup: the " + s_.setup.coupling + " policy never booted modem " + std::to_string(i), false};
        if (!boot->ok) return StepFailure{"setup: modem " + std::to_string(i) + " did not boot: " + boot->reason, false};
    }
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::run_step(const Step& st) {
    milliseconds timeout = st.timeout_ms ? milliseconds(*st.timeout_ms)
                           : std::holds_alternative<BootStep>(st.action) ? default_boot_wait
                                                                         : default_wait;
    auto failure = std::visit([&](const auto& action) { return step(action, timeout); }, st.action);
    if (failure && !failure->harness) {
        // The daemon's death explains a step's failure better than the step
        // can: wait (briefly) for its end to be reported, then say it.
        wait([&] { return !rig_->daemon_running(); }, milliseconds(rig_->daemon_running() &&
                                                                   failure->message.find("service_gone") == std::string::npos
                                                               ? 0
                                                               : 2000));
        if (auto crash = crashed_invariant()) return StepFailure{crash->message + "; the step: " + failure->message, false};
    }
    if (failure) return failure;
    return crashed_invariant();
}

// ---- the steps ---------------------------------------------------------------------

std::optional<StepFailure> ScenarioRun::step(const DaemonStep& d, milliseconds timeout) {
    if (d.action == "start") {
        auto started = rig_->start_daemon();
        if (!started) return StepFailure{"the daemon did not start: " + started.error(), true};
        return std::nullopt;
    }
    if (d.action == "kill") {
        signals_sent_.insert(SIGKILL);
        rig_->signal_daemon(SIGKILL);
        if (!rig_->wait_for_daemon_exit(timeout)) return StepFailure{"the daemon did not die of SIGKILL", true};
        return std::nullopt;
    }
    signals_sent_.insert(SIGTERM);
    signals_sent_.insert(SIGKILL);  // after the stop grace
    if (d.action == "stop") {
        rig_->daemon().stop();
        if (!rig_->wait_for_daemon_exit(timeout + server::default_stop_grace))
            return StepFailure{"the daemon did not end after SIGTERM and SIGKILL", true};
        return std::nullopt;
    }
    auto restarted = d.action == "upgrade" ? rig_->restart_daemon(d.binary) : rig_->restart_daemon();
    if (!restarted) return StepFailure{"restart: " + restarted.error(), true};
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const BootStep& b, milliseconds timeout) {
    sim::BootResult boot = rig_->boot_modem(b.modem, timeout);
    if (b.expect == "ok" && !boot.ok) return StepFailure{"modem " + std::to_string(b.modem) + " did not boot: " + boot.reason};
    if (b.expect == "fail" && boot.ok) return StepFailure{"modem " + std::to_string(b.modem) + " booted; the scenario expects its boot to fail"};
    if (b.expect == "fail" && !b.reason.empty() && boot.reason.find(b.reason) == std::string::npos)
        return StepFailure{"the boot failed for another reason: " + boot.reason + " (expected '" + b.reason + "')"};
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const ModemStep& m, milliseconds) {
    if (m.action == "start") rig_->start_modem(m.index);
    else rig_->stop_modem(m.index);
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const WriteStep& w, milliseconds) {
    auto index = handle_for(w.modem, w.partition);
    if (!index) return index.error();
    Bytes data = data_of(w.data, seed_, static_cast<std::size_t>(w.sectors) * rmtfs::sector_size_bytes);
    WriteResult result = rig_->write(w.modem, *index, w.sector, data);
    if (!result.sent) return StepFailure{"write of " + w.partition + ": " + result.detail, true};
    std::string outcome(sim::to_string(result.outcome));
    if (result.detail.find("timeout") == 0) unanswered("a write of " + w.partition, s_.setup.modems.at(w.modem));
    if (w.expect != "any" && outcome != w.expect)
        return StepFailure{"write of " + std::to_string(w.sectors) + " sectors at " + w.partition + " sector " +
                           std::to_string(w.sector) + ": " + outcome + " (" + result.detail + "), expected " + w.expect};
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const ReadStep& r, milliseconds) {
    auto index = handle_for(r.modem, r.partition);
    if (!index) return index.error();
    ReadResult read = rig_->read(r.modem, *index, r.sector, r.sectors);
    if (!read.sent) return StepFailure{"read of " + r.partition + ": " + read.detail, true};
    if (!read.ok && read.detail.find("timeout") != std::string::npos)
        unanswered("a read of " + r.partition, s_.setup.modems.at(r.modem));
    std::string what = "read of " + std::to_string(r.sectors) + " sectors at " + r.partition + " sector " + std::to_string(r.sector);
    if (r.expect == "ok" && !read.ok) return StepFailure{what + " failed: " + read.detail};
    if (r.expect == "failed" && read.ok) return StepFailure{what + " succeeded; the scenario expects it to fail"};
    if (read.ok && !read.detail.empty() && s_.invariants.ledger)
        return StepFailure{what + " returned data storage never held: " + read.detail};
    if (read.ok && r.data) {
        Bytes want = data_of(*r.data, seed_, read.data.size());
        if (want != read.data) return StepFailure{what + " returned other bytes than the scenario expects"};
    }
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::check_answer(const std::optional<sim::Response>& response,
                                                     const AnswerExpectation& expect, const ModemSetup& modem) {
    bool answered = response && (*response || (response->error().kind != sim::RequestFailure::Kind::timeout &&
                                               response->error().kind != sim::RequestFailure::Kind::service_gone &&
                                               response->error().kind != sim::RequestFailure::Kind::no_service));
    if (!expect.answered) {
        if (answered) return StepFailure{"an answer came (" + describe_response(response) + "); the scenario expects none"};
        return std::nullopt;
    }
    if (!answered) {
        unanswered("a request", modem);
        return StepFailure{"no answer: " + describe_response(response)};
    }
    if (!*response) return StepFailure{"the answer did not decode: " + describe_response(response)};
    const rmtfs::Result* result = result_of(**response);
    if ((expect.result || expect.error) && result == nullptr) return StepFailure{"the answer has no result TLV"};
    if (expect.result && result->result != *expect.result)
        return StepFailure{"answer " + describe_response(response) + ": result " + std::to_string(result->result) +
                           ", expected " + std::to_string(*expect.result)};
    if (expect.error && result->error != *expect.error)
        return StepFailure{"answer " + describe_response(response) + ": error " + std::to_string(result->error) +
                           ", expected " + std::to_string(*expect.error)};
    if (expect.caller_id) {
        const auto* open = std::get_if<rmtfs::OpenResponse>(&**response);
        if (open == nullptr || open->caller_id != expect.caller_id)
            return StepFailure{"answer " + describe_response(response) + ": expected caller id " + std::to_string(*expect.caller_id)};
    }
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const RequestStep& r, milliseconds) {
    sim::Modem* modem = rig_->modem(r.modem);
    auto caller = [&]() -> std::uint32_t {
        if (r.caller_id) return *r.caller_id;
        if (r.partition)
            if (auto index = partition_index(r.modem, *r.partition); index && modem->caller_ids().at(*index))
                return *modem->caller_ids()[*index];
        for (const auto& id : modem->caller_ids())
            if (id) return *id;
        return 0;
    };
    rmtfs::Message message;
    if (r.message == "OPEN") {
        message = rmtfs::OpenRequest{r.path.value_or("/boot/modem_fs1")};
    } else if (r.message == "CLOSE") {
        message = rmtfs::CloseRequest{caller()};
    } else if (r.message == "RW_IOVEC") {
        rmtfs::RwIovecRequest rw{caller(), r.direction.value_or(0), {}, r.force_sync.value_or(0)};
        auto buffer = static_cast<std::uint32_t>(modem->buffer_address().value_or(rig_->sandbox().board().rmtfs_mem.phys_addr));
        for (const auto& entry : r.iovec)
            rw.iovec.push_back(rmtfs::IovecEntry{entry.sector_addr, entry.phys_offset.value_or(buffer), entry.num_sector});
        message = rw;
    } else if (r.message == "ALLOC_BUFF") {
        message = rmtfs::AllocBuffRequest{caller(), r.size.value_or(0x100000)};
    } else {
        message = rmtfs::GetDevErrorRequest{caller()};
    }
    return check_answer(rig_->request(r.modem, message), r.expect, s_.setup.modems.at(r.modem));
}

std::optional<StepFailure> ScenarioRun::step(const RawStep& r, milliseconds) {
    auto bytes = hex_bytes(r.hex);
    if (!bytes) return StepFailure{"bad hex in the raw message", true};
    return check_answer(rig_->request_raw(r.modem, *bytes), r.expect, s_.setup.modems.at(r.modem));
}

std::optional<StepFailure> ScenarioRun::step(const FaultStep& f, milliseconds) {
    auto action = server::process_action_named(f.action);
    if (!action) return StepFailure{"unknown fault action " + f.action, true};
    signals_sent_.insert(signal_of_action(f.action));
    if (f.action == "restart") signals_sent_.insert(SIGKILL);
    if (f.when == "now") {
        if (*action == server::ProcessAction::restart) {
            auto restarted = rig_->restart_daemon();
            if (!restarted) return StepFailure{"restart: " + restarted.error(), true};
        } else {
            rig_->signal_daemon(signal_of_action(f.action));
        }
        return std::nullopt;
    }
    server::ProcessTrigger trigger;
    if (f.when == "request") trigger = server::AtRequest{message_id_named(f.request).value_or(0), f.nth};
    else if (f.when == "after_write") trigger = server::AfterWrite{f.nth, f.file};
    else trigger = server::AfterDelay{milliseconds(f.after_ms)};
    process_faults_armed_.push_back({rig_->process_faults().arm(trigger, *action), current_step_});
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const IoFaultStep& f, milliseconds) {
    server::IoFault fault;
    fault.call = server::io_call_named(f.call).value_or(server::IoCall::write);
    fault.target = f.target == "memory" ? server::IoTarget::memory : server::IoTarget::storage;
    fault.file = f.file;
    fault.nth = f.nth;
    fault.times = f.times;
    fault.error = f.error.empty() ? 0 : sim::errno_named(f.error).value_or(EIO);
    fault.short_bytes = f.short_bytes;
    io_faults_armed_.push_back({rig_->storage().arm(fault), current_step_});
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const LinkStep& l, milliseconds) {
    sim::FabricLink& link = rig_->link(l.modem);
    auto direction = l.direction == "to_modem" ? sim::FabricLink::Direction::to_remote : sim::FabricLink::Direction::to_fabric;
    if (l.action == "down") link.bring_down();
    else if (l.action == "up") link.bring_up();
    else if (l.action == "clear") link.clear_faults();
    else if (l.action == "drop") link.add_fault(direction, sim::drop_fault(l.probability, seed_));
    else if (l.action == "duplicate") link.add_fault(direction, sim::duplicate_fault(l.probability, seed_));
    else if (l.action == "delay") link.add_fault(direction, sim::delay_fault(rig_->io(), milliseconds(l.delay_ms)));
    else if (l.action == "reorder") link.add_fault(direction, sim::reorder_fault());
    else return StepFailure{"unknown link action " + l.action, true};
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const NetworkResetStep&, milliseconds) {
    rig_->network_reset();
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const PowerLossStep&, milliseconds) {
    signals_sent_.insert(SIGKILL);
    auto lost = rig_->lose_power();
    if (!lost) return StepFailure{"power loss: " + lost.error(), true};
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const NameServiceStep& n, milliseconds) {
    if (n.action == "stop") {
        rig_->stop_name_service();
        return std::nullopt;
    }
    auto started = rig_->start_name_service();
    if (!started) return StepFailure{"the userspace name service did not start: " + started.error(), true};
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const RemoteprocStep& r, milliseconds) {
    if (r.crash) {
        rig_->crash_modem(r.index);
        return std::nullopt;
    }
    int error = rig_->remoteproc(r.index).write_state(r.write);
    if (r.expect_error && error != *r.expect_error)
        return StepFailure{"writing '" + r.write + "' to the remoteproc's state gave " +
                           (error == 0 ? std::string("success") : sim::errno_name(error)) + ", expected " +
                           (*r.expect_error == 0 ? std::string("success") : sim::errno_name(*r.expect_error))};
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const WaitStep& w, milliseconds timeout) {
    std::function<bool()> done;
    std::string what = w.event;
    if (w.event == "service_published") done = [&] { return rig_->service_published(); };
    else if (w.event == "service_gone") done = [&] { return !rig_->service_published(); };
    else if (w.event == "daemon_exit") done = [&] { return !rig_->daemon_running(); };
    else if (w.event == "daemon_started") done = [&] { return rig_->daemon_running(); };
    else if (w.event == "modem_state") {
        done = [&] { return sim::to_string(rig_->modem_state(w.index)) == w.state; };
        what += " " + w.state;
    } else if (w.event == "remoteproc_state") {
        done = [&] { return sim::to_string(rig_->remoteproc(w.index).state()) == w.state; };
        what += " " + w.state;
    } else if (w.event == "log") {
        done = [&] {
            std::uint32_t seen = 0;
            for (const auto& line : rig_->daemon_log()) seen += line.find(w.text) != std::string::npos;
            return seen >= w.count;
        };
        what += " '" + w.text + "'";
    } else if (w.event == "syncs") {
        done = [&] { return rig_->modem(w.index) != nullptr && rig_->modem(w.index)->syncs_completed() >= w.count; };
        what += " " + std::to_string(w.count);
    } else if (w.event == "restarts") {
        done = [&] { return rig_->daemon_starts() >= w.count + 1; };
        what += " " + std::to_string(w.count);
    } else if (w.event == "boot_finished") {
        auto boot = rig_->wait_for_boot(w.index, timeout, w.count);
        if (!boot) return StepFailure{"boot " + std::to_string(w.count) + " of modem " + std::to_string(w.index) +
                                      " did not finish within " + std::to_string(timeout.count()) + " ms"};
        return std::nullopt;
    } else {
        return StepFailure{"unknown event " + w.event, true};
    }
    if (!wait(done, timeout)) {
        if (interrupted()) return StepFailure{"interrupted", true};
        return StepFailure{"waited " + std::to_string(timeout.count()) + " ms for " + what + "; it did not happen"};
    }
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::step(const ExpectStep& e, milliseconds) {
    if (e.modem_state && sim::to_string(rig_->modem_state(e.index)) != *e.modem_state)
        return StepFailure{"modem " + std::to_string(e.index) + " is " +
                           std::string(sim::to_string(rig_->modem_state(e.index))) + ", expected " + *e.modem_state};
    if (e.remoteproc_state && sim::to_string(rig_->remoteproc(e.index).state()) != *e.remoteproc_state)
        return StepFailure{"the remoteproc is " + std::string(sim::to_string(rig_->remoteproc(e.index).state())) +
                           ", expected " + *e.remoteproc_state};
    if (e.service && rig_->service_published() != *e.service)
        return StepFailure{*e.service ? "service 14 is not published" : "service 14 is still published"};
    if (e.daemon) {
        std::string now = rig_->daemon_running() ? (daemon_stopped() ? "stopped" : "running")
                          : rig_->daemon().last_exit() ? rig_->daemon().last_exit()->describe()
                                                       : "not started";
        bool fine = now == *e.daemon || (*e.daemon == "exited" && now.rfind("exited", 0) == 0) ||
                    (*e.daemon == "killed" && now.rfind("killed", 0) == 0);
        if (!fine) return StepFailure{"the daemon is " + now + ", expected " + *e.daemon};
    }
    auto log = rig_->daemon_log();
    auto logged = [&](const std::string& text) {
        return std::any_of(log.begin(), log.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
    };
    for (const auto& text : e.log)
        if (!logged(text)) return StepFailure{"the daemon never logged '" + text + "'"};
    for (const auto& text : e.no_log)
        if (logged(text)) return StepFailure{"the daemon logged '" + text + "'"};
    if (e.ledger) {
        // A scenario that expects a violation has judged the ledger itself;
        // "clean" now does not vouch for what later steps do.
        if (*e.ledger == "violated") ledger_judged_ = true;
        auto violations = rig_->check_storage();
        if (*e.ledger == "clean" && !violations.empty())
            return StepFailure{"the ledger is violated: " + describe_violations(violations)};
        if (*e.ledger == "violated") {
            if (violations.empty()) return StepFailure{"the ledger is clean; the scenario expects a violation"};
            for (const auto& wanted : e.ledger_violations) {
                bool found = std::any_of(violations.begin(), violations.end(), [&](const sim::LedgerViolation& v) {
                    return v.describe().find(wanted) != std::string::npos;
                });
                if (!found) return StepFailure{"no ledger violation matches '" + wanted + "': " + describe_violations(violations)};
            }
        }
    }
    for (const auto& check : e.storage) {
        Bytes file = rig_->storage_file(check.file);
        std::size_t from = static_cast<std::size_t>(check.sector) * rmtfs::sector_size_bytes;
        std::size_t length = static_cast<std::size_t>(check.sectors) * rmtfs::sector_size_bytes;
        if (from + length > file.size()) return StepFailure{check.file + " is shorter than the sectors checked"};
        Bytes got(file.begin() + static_cast<std::ptrdiff_t>(from), file.begin() + static_cast<std::ptrdiff_t>(from + length));
        std::string where = check.file + " sectors " + std::to_string(check.sector) + "+" + std::to_string(check.sectors);
        if (check.data && got != data_of(*check.data, seed_, length)) return StepFailure{where + " do not hold the expected data"};
        if (!check.sha256.empty() && sha256_hex(got) != check.sha256)
            return StepFailure{where + " hash to " + sha256_hex(got) + ", expected " + check.sha256};
        if (check.unchanged) {
            const Bytes& initial = initial_[check.file];
            bool same = initial.size() >= from + length &&
                        std::equal(got.begin(), got.end(), initial.begin() + static_cast<std::ptrdiff_t>(from));
            if (same != *check.unchanged) return StepFailure{where + (same ? " are unchanged" : " changed")};
        }
    }
    if (e.daemon_starts && rig_->daemon_starts() != *e.daemon_starts)
        return StepFailure{"the daemon started " + std::to_string(rig_->daemon_starts()) + " times, expected " +
                           std::to_string(*e.daemon_starts)};
    if (e.modem_crashes && rig_->modem_crashes(e.index) != *e.modem_crashes)
        return StepFailure{"modem " + std::to_string(e.index) + " crashed " + std::to_string(rig_->modem_crashes(e.index)) +
                           " times, expected " + std::to_string(*e.modem_crashes)};
    return std::nullopt;
}

std::string ScenarioRun::describe_violations(const std::vector<sim::LedgerViolation>& violations) const {
    std::string text;
    for (std::size_t i = 0; i < violations.size() && i < 5; ++i) text += (i ? "; " : "") + violations[i].describe();
    if (violations.size() > 5) text += "; and " + std::to_string(violations.size() - 5) + " more";
    return text;
}

// ---- the run -------------------------------------------------------------------------

void ScenarioRun::collect_evidence() {
    if (!rig_) return;
    for (const auto& e : rig_->events()) result_.trace.push_back(TraceEntry{e.at_ms, e.source, e.kind, e.detail});
    result_.daemon_log = rig_->daemon_log();
    auto violations = rig_->check_storage();
    const sim::WriteLedger& ledger = rig_->ledger();
    for (const auto& v : violations) result_.ledger_violations.push_back(v.describe());
    result_.ledger_verdict = violations.empty()
                                 ? "clean: " + std::to_string(ledger.writes()) + " writes (" +
                                       std::to_string(ledger.count(sim::WriteOutcome::ok)) + " ok, " +
                                       std::to_string(ledger.count(sim::WriteOutcome::failed)) + " failed, " +
                                       std::to_string(ledger.count(sim::WriteOutcome::unknown)) + " unknown)"
                                 : std::to_string(violations.size()) + " violation" + (violations.size() == 1 ? "" : "s");
    result_.data_lost = std::any_of(violations.begin(), violations.end(),
                                    [](const sim::LedgerViolation& v) { return v.kind == "acknowledged write lost"; });
    result_.modem_up_at_end = rig_->modem_count() > 0 && rig_->modem_state(0) == sim::ModemState::running;
    // Time to recover: from the first fault to the modem running again.
    std::optional<double> fault_at;
    for (const auto& e : rig_->events()) {
        bool fault = (e.source == "harness" && (e.kind == "fault" || e.kind == "power_loss" || e.kind == "network_reset" ||
                                                e.kind == "signal" || e.kind == "restart")) ||
                     (e.source == "server" && e.kind == "io_fault");
        if (fault && !fault_at) fault_at = e.at_ms;
        if (fault_at && e.source == "modem" && (e.kind == "booted" || e.kind == "recovered") && e.at_ms > *fault_at) {
            result_.recovery_ms = e.at_ms - *fault_at;
            break;
        }
    }
}

ScenarioResult ScenarioRun::run() {
    result_.name = s_.name;
    result_.description = s_.description;
    result_.file = s_.where.file;
    result_.tags = s_.tags;
    result_.seed = seed_;
    result_.coupling = s_.setup.coupling;
    result_.known_issue = s_.known_issue ? s_.known_issue->text : "";
    result_.reproduce = options_.reproduce_prefix + " " + s_.where.file;
    for (const auto& st : s_.steps) {
        if (const auto* f = std::get_if<FaultStep>(&st.action)) result_.faults.push_back(f->action + (f->when == "now" ? "" : "@" + f->when));
        else if (const auto* io = std::get_if<IoFaultStep>(&st.action))
            result_.faults.push_back((io->error.empty() ? "short " : io->error + " ") + io->call);
        else if (std::holds_alternative<PowerLossStep>(st.action)) result_.faults.push_back("power_loss");
        else if (std::holds_alternative<NetworkResetStep>(st.action)) result_.faults.push_back("network_reset");
        else if (const auto* d = std::get_if<DaemonStep>(&st.action); d && d->action != "start") result_.faults.push_back(d->action);
        else if (const auto* l = std::get_if<LinkStep>(&st.action); l && l->action != "up" && l->action != "clear")
            result_.faults.push_back("link " + l->action);
    }

    if (std::find(s_.targets.begin(), s_.targets.end(), options_.target) == s_.targets.end()) {
        finish_with("skip", "not for target " + options_.target + " (the scenario's targets: " +
                                [&] {
                                    std::string t;
                                    for (const auto& x : s_.targets) t += (t.empty() ? "" : ", ") + x;
                                    return t;
                                }() + ")");
        return result_;
    }
    auto created = Rig::create(rig_options(s_, options_, seed_));
    if (!created) {
        finish_with("error", "the harness could not build the sandbox: " + created.error());
        return result_;
    }
    rig_ = std::move(*created);
    if (options_.interrupted) rig_->set_interrupt(options_.interrupted);

    if (auto setup_failure = setup()) {
        finish_with(setup_failure->harness ? "error" : "fail", setup_failure->message);
    } else {
        for (std::size_t i = 0; i < s_.steps.size(); ++i) {
            const Step& st = s_.steps[i];
            StepResult step_result;
            step_result.index = i;
            step_result.kind = st.kind;
            step_result.note = st.note;
            step_result.where = location_of(st.where);
            step_result.started_ms = now_ms();
            current_step_ = i;
            std::optional<StepFailure> failure;
            if (interrupted()) failure = StepFailure{"interrupted", true};
            else if (past_deadline())
                failure = StepFailure{"the scenario ran past its " + std::to_string(s_.timeout_ms) + " ms bound", true};
            else failure = run_step(st);
            // A step cut short by Ctrl-C says so, not what it saw meanwhile.
            if (failure && interrupted()) failure = StepFailure{"interrupted", true};
            if (!failure && !invariant_failures_.empty()) failure = StepFailure{invariant_failures_.front()};
            step_result.ended_ms = now_ms();
            step_result.status = !failure ? "passed" : failure->harness ? "error" : "failed";
            step_result.message = failure ? failure->message : "";
            result_.steps.push_back(step_result);
            if (options_.step_done) options_.step_done(step_result);
            if (failure) {
                finish_with(failure->harness ? "error" : "fail",
                            "step " + std::to_string(i + 1) + " (" + st.kind + ", " + location_of(st.where) + "): " + failure->message);
                for (std::size_t j = i + 1; j < s_.steps.size(); ++j)
                    result_.steps.push_back(StepResult{j, s_.steps[j].kind, s_.steps[j].note, "skipped", "", 0, 0,
                                                       location_of(s_.steps[j].where)});
                break;
            }
        }
    }
    if (result_.verdict.empty()) {
        // The invariants at the end, once a death the last step caused has
        // had time to be reported.
        rig_->run_for(milliseconds(30));
        if (auto crashed = crashed_invariant()) finish_with("fail", crashed->message);
        if (s_.invariants.ledger && !ledger_judged_) {
            auto violations = rig_->check_storage();
            if (!violations.empty()) finish_with("fail", "ledger: " + describe_violations(violations));
        }
        if (auto unfired = unfired_fault()) finish_with("error", *unfired + ": the scenario did not test what it says");
    }
    finish_with("pass", "");
    collect_evidence();
    rig_.reset();  // the daemon and the sandbox go now, not with the result
    return result_;
}

// SHA-256 (FIPS 180-4), for storage checks by hash.
std::string sha256_hex(const Bytes& bytes) {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
        0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
        0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
        0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
        0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
        0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
        0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    Bytes m = bytes;
    std::uint64_t bits = static_cast<std::uint64_t>(bytes.size()) * 8;
    m.push_back(0x80);
    while (m.size() % 64 != 56) m.push_back(0);
    for (int i = 7; i >= 0; --i) m.push_back(static_cast<std::uint8_t>(bits >> (i * 8)));
    auto rotr = [](std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); };
    for (std::size_t chunk = 0; chunk < m.size(); chunk += 64) {
        std::uint32_t w[64];
        for (int i = 0; i < 16; ++i)
            w[i] = static_cast<std::uint32_t>(m[chunk + 4 * i] << 24 | m[chunk + 4 * i + 1] << 16 | m[chunk + 4 * i + 2] << 8 |
                                              m[chunk + 4 * i + 3]);
        for (int i = 16; i < 64; ++i) {
            std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
            std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; ++i) {
            std::uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
            std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
    }
    std::string hex;
    char part[9];
    for (std::uint32_t v : h) {
        std::snprintf(part, sizeof part, "%08x", v);
        hex += part;
    }
    return hex;
}

}  // namespace

std::string known_issue_status(const Scenario& scenario, const ScenarioResult& result) {
    if (!scenario.known_issue) return "";
    // Not run, or not to the end: nothing to compare.
    if (result.verdict == "skip" || (result.verdict == "error" && result.reason.ends_with("interrupted"))) return "";
    const KnownIssue& known = *scenario.known_issue;
    if (result.verdict == "pass") return "fixed";
    if (result.verdict == known.observed && result.reason.find(known.match) != std::string::npos) return "known";
    return "new";
}

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options) {
    ScenarioRun run(scenario, options);
    auto started = Clock::now();
    ScenarioResult result = run.run();
    result.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    result.known_status = known_issue_status(scenario, result);
    return result;
}

}  // namespace rmtfs_hil::engine
