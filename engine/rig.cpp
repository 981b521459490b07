#include "engine/rig.hpp"

#include <fcntl.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <cstdio>
#include <fstream>

#include "proto/errno_names.hpp"
#include "server/process_idle.hpp"
#include "sim/name_service.hpp"

namespace rmtfs_hil::engine {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// How often a wait looks at the interrupt check when nothing happens.
constexpr std::chrono::milliseconds interrupt_poll{50};
// A program going idle makes no event: a wait for rest looks at it first
// after this, then at twice the last interval, up to rest_poll_max.
constexpr std::chrono::microseconds rest_poll_first{500};
constexpr std::chrono::milliseconds rest_poll_max{16};

// One remote processor: its remoteproc, link, modem and coupling.
struct Rig::ModemSlot {
    ModemSpec spec;
    sim::Remoteproc* remoteproc = nullptr;
    std::unique_ptr<sim::FabricLink> link;
    std::unique_ptr<sim::Modem> modem;
    std::unique_ptr<sim::ModemCoupling> coupling;
    std::function<void()> power_on;   // what the remoteproc starting does to it
    std::function<void()> power_off;
    std::vector<sim::BootResult> boot_results;  // one per finished boot, in order
    unsigned boots = 0;
    unsigned crashes = 0;
    std::size_t remoteproc_watch = 0;  // the trace's listener on the remoteproc

    ~ModemSlot() {
        if (remoteproc && remoteproc_watch) remoteproc->unwatch(remoteproc_watch);
    }
};

Expected<std::unique_ptr<Rig>, std::string> Rig::create(RigOptions options) {
    if (options.modems.empty()) return unexpected(std::string("a rig needs at least one modem"));
    if (options.coupling == sim::CouplingPolicy::service_watch && !options.kernel_name_service)
        return unexpected(std::string("the service-watch policy follows the kernel's name service: it needs "
                                      "kernel_name_service (a userspace qrtr-ns is not watched)"));
    std::unique_ptr<Rig> rig(new Rig(std::move(options)));
    server::SandboxOptions sandbox;
    sandbox.board = rig->options_.board;
    sandbox.kernel_name_service = rig->options_.kernel_name_service;
    sandbox.world.keep = rig->options_.keep_world;
    sandbox.world.partition_size_bytes = rig->options_.partition_bytes;
    sandbox.world.storage_content = !rig->options_.storage_from.empty()
                                        ? server::StorageContent::copy_from(rig->options_.storage_from)
                                    : rig->options_.zero_fill ? server::StorageContent::zeros()
                                                              : server::StorageContent::pattern(rig->options_.seed);
    auto created = server::Sandbox::create(rig->io_, sandbox);
    if (!created) return unexpected(created.error().message);
    rig->sandbox_ = std::move(*created);
    Rig& r = *rig;
    r.sandbox_->fabric().set_trace([&r](const sim::TraceEvent& e) {
        r.record(e.source, e.kind, e.detail, e.fields);
    });
    server::StorageWatch& storage = r.sandbox_->storage_watch();
    storage.on_machine_trouble([&r](const std::string& what) { r.harness_error(what); });
    r.watch_starvation();
    storage.ask_storage_reads(r.options_.ask_storage_reads);
    storage.ask_memory_io(r.options_.ask_memory_io);

    server::ProcessEvents& events = r.daemon_events_;
    events.output = [&r](const server::OutputLine& line) {
        r.daemon_log_.push_back(line.text);
        r.record(Source::server, Kind::log, line.text);
    };
    events.started = [&r](const server::ProcessStarted& s) {
        r.reported_stopped_ = false;
        sim::TraceFields fields;
        fields.pid = static_cast<std::uint32_t>(s.pid);
        r.record(Source::server, Kind::started, "pid " + std::to_string(s.pid) + " (start " + std::to_string(s.starts) + ")",
                 fields);
    };
    events.ended = [&r](const server::ProcessEnded& e) {
        r.last_exit_ = e.exit;
        r.reported_stopped_ = false;
        ++r.daemon_ends_;
        r.record_end(Source::server, e.exit);
    };
    events.job_control = [&r](const server::JobControlChange& c) {
        r.reported_stopped_ = c.stopped;
        r.record(Source::server, c.stopped ? Kind::stopped : Kind::continued,
                 c.stopped ? "by signal " + std::to_string(c.signal) : "");
    };
    events.gave_up = [&r](const server::GaveUp& g) { r.record(Source::server, Kind::gave_up, g.reason); };
    events.start_failed = [&r](const server::StartError& e) { r.record(Source::server, Kind::start_failed, e.message); };
    r.make_daemon(r.options_.server);

    server::ProcessFaults::Target target;
    target.pid = [&r] { return r.daemon_->pid(); };
    target.signal = [&r](int signal_number) { r.signal_daemon(signal_number); };
    target.restart = [&r] { r.restart_daemon_soon(); };
    r.process_faults_ = std::make_unique<server::ProcessFaults>(r.io_, r.sandbox_->fabric(), storage, target);

    // Every partition's starting contents are what the ledger allows first.
    for (const auto& partition : r.sandbox_->board().partitions)
        r.ledger_.set_initial("/boot/" + partition.file_name, r.storage_file(partition.file_name));

    for (std::size_t i = 0; i < r.options_.modems.size(); ++i) r.make_modem(i);
    storage.on_memory([&r](bool opened, unsigned count) {
        for (auto& slot : r.modems_) slot->coupling->memory_device(opened, count);
    });
    return rig;
}

Rig::Rig(RigOptions options) : options_(std::move(options)), epoch_(Clock::now()), left_wait_(epoch_) {}

Rig::~Rig() {
    // The modems and couplings hold callbacks into the sandbox's objects.
    modems_.clear();
    process_faults_.reset();
    daemon_.reset();
    name_service_.reset();
    if (sandbox_) sandbox_->fabric().set_trace({});
}

void Rig::record(Source source, Kind kind, std::string detail, sim::TraceFields fields) {
    double at = std::chrono::duration<double, std::milli>(Clock::now() - epoch_).count();
    events_.push_back(TraceRecord{at, source, kind, std::move(detail), std::move(fields)});
    if (event_listener_) event_listener_();
}

void Rig::record_end(Source source, const server::ProcessExit& exit) {
    sim::TraceFields fields;
    fields.exit = trace_exit(exit);
    record(source, Kind::ended, exit.describe(), fields);
}

void Rig::harness_error(std::string what) {
    if (!trouble_) trouble_ = what;
    record(Source::harness, Kind::error, std::move(what));
}

std::vector<std::string> Rig::daemon_argv(const std::string& binary) const {
    std::vector<std::string> argv{binary};
    for (const auto& arg : options_.server_args)
        argv.push_back(arg == storage_placeholder ? sandbox_->world().storage_dir().string() : arg);
    return argv;
}

void Rig::make_daemon(const std::string& binary) {
    daemon_ = std::make_unique<server::SupervisedProcess>(io_, sandbox_->launch(daemon_argv(binary)), daemon_events_,
                                                          options_.restart);
}

void Rig::make_modem(std::size_t index) {
    auto slot = std::make_unique<ModemSlot>();
    slot->spec = options_.modems[index];
    sim::ModemConfig& config = slot->spec.config;
    // Boot loads no more than a partition holds (copied board images keep
    // their own sizes, and a read past one's end is the daemon's to answer).
    auto partition_sectors = static_cast<std::uint32_t>(options_.partition_bytes / rmtfs::sector_size_bytes);
    if (options_.storage_from.empty()) config.image_sectors = std::min(config.image_sectors, partition_sectors);
    // The board's region decides the buffer the modem can have.
    config.buffer_bytes = sandbox_->board().modem_buffer_bytes;
    if (index == 0) {
        slot->remoteproc = &sandbox_->modem();
        config.node = sandbox_->board().modem_node;
    } else {
        slot->remoteproc = &sandbox_->remoteprocs().add("remoteproc" + std::to_string(index), slot->spec.name);
    }
    ModemSlot* s = slot.get();
    slot->remoteproc_watch = slot->remoteproc->watch([this](const sim::Remoteproc& r, const sim::Remoteproc::Change& c) {
        sim::TraceFields fields;
        fields.state = std::string(sim::to_string(c.after));
        std::string how = c.error ? std::string(c.command) + " refused: " + errno_name(c.error) : std::string(c.command);
        record(Source::remoteproc, Kind::state,
               r.sysfs_name() + ": " + std::string(sim::to_string(c.before)) + " -> " + *fields.state + " (" + how + ")",
               fields);
    });
    slot->link = std::make_unique<sim::FabricLink>(io_, sandbox_->fabric(), slot->spec.name);
    slot->link->bring_down();  // its processor is off until something starts it
    sim::Modem::Events events;
    std::string name = slot->spec.name;
    events.state_changed = [this, name](sim::ModemState state) {
        sim::TraceFields fields;
        fields.state = std::string(sim::to_string(state));
        record(Source::modem, Kind::state, name + ": " + *fields.state, fields);
    };
    events.service_lost = [this, name](const sim::RemoteServer&) { record(Source::modem, Kind::service_lost, name); };
    events.crashed = [this, s](const std::string& reason) {
        ++s->crashes;
        record(Source::modem, Kind::crashed, s->spec.name + ": " + reason);
        ledger_.resolve_pending_as_unknown();
        boost::asio::post(io_, [s, reason] { s->coupling->modem_crashed(reason); });
    };
    events.recovered = [this, name] { record(Source::modem, Kind::recovered, name); };
    events.machine_trouble = [this](const std::string& what) { harness_error(what); };
    events.read_violation = [this](const sim::LedgerViolation& v) { read_violations_.push_back(v); };
    slot->modem = std::make_unique<sim::Modem>(
        io_, *slot->link, sandbox_->shared_memory(), config, events,
        [this](const sim::TraceEvent& e) { record(e.source, e.kind, e.detail, e.fields); });
    slot->modem->attach_ledger(ledger_);
    slot->modem->client().late_answer = [this, name](std::uint16_t txn) {
        harness_error(name + " was answered (txn " + std::to_string(txn) +
                      ") after the harness had judged the world at rest and given up on the request: "
                      "the rest check was wrong; rerun the step with \"full_wait\": true");
    };
    slot->power_on = [this, s] {
            s->link->bring_up();
            ++s->boots;
            s->modem->boot([this, s](const sim::BootResult& result) {
                s->boot_results.push_back(result);
                record(Source::modem, result.ok ? Kind::booted : Kind::boot_failed, s->spec.name + (result.ok ? "" : ": " + result.reason));
            });
    };
    slot->power_off = [s] {
        s->link->bring_down();
        s->modem->shutdown();
        if (s->boot_results.size() < s->boots)
            s->boot_results.push_back(sim::BootResult{false, "the processor was stopped before the boot finished"});
    };
    slot->coupling = std::make_unique<sim::ModemCoupling>(
        options_.coupling, *slot->remoteproc, sandbox_->fabric().name_service(),
        sim::ModemCoupling::Actions{[s] { s->power_on(); }, [s] { s->power_off(); }}, options_.recovery);
    modems_.push_back(std::move(slot));
}

namespace {

std::chrono::nanoseconds thread_cpu() {
    timespec t{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return std::chrono::seconds(t.tv_sec) + std::chrono::nanoseconds(t.tv_nsec);
}

}  // namespace

void Rig::starvation_base() {
    starvation_wall_ = Clock::now();
    starvation_cpu_ = thread_cpu();
    outside_wait_ = Clock::duration::zero();
}

void Rig::watch_starvation() {
    if (!starvation_timer_) starvation_timer_ = std::make_unique<boost::asio::steady_timer>(io_);
    starvation_base();
    starvation_timer_->expires_after(starvation_watch_period);
    starvation_timer_->async_wait([this](const boost::system::error_code& error) {
        if (error) return;
        // Time past the due time not spent computing: the loop was runnable
        // and not run, or stopped. Counted from the later of the arming and
        // the entry into the current wait (outside a wait nothing runs it).
        auto now = Clock::now();
        auto cpu = thread_cpu() - starvation_cpu_;
        auto stall = std::chrono::duration_cast<std::chrono::nanoseconds>(now - starvation_wall_ - outside_wait_) -
                     starvation_watch_period - cpu;
        if (stall > starvation_threshold && stall > worst_stall_) {
            worst_stall_ = stall;
            auto ms = [](std::chrono::nanoseconds d) { return std::to_string(d.count() / 1000000); };
            starvation_ = "the harness was starved of CPU: its loop's timer fired " + ms(stall + cpu) +
                          " ms late while it computed for " + ms(cpu) + " ms (the machine is overloaded, or the "
                          "harness was stopped)";
            record(Source::harness, Kind::error, *starvation_);
        }
        watch_starvation();
    });
}

bool Rig::run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout, PastDeadline past_deadline) {
    // Time outside the loop's waits is the caller's, not a stall.
    if (wait_depth_++ == 0) outside_wait_ += Clock::now() - left_wait_;
    struct Leave {
        Rig& rig;
        ~Leave() {
            if (--rig.wait_depth_ == 0) rig.left_wait_ = Clock::now();
        }
    } leave{*this};
    auto deadline = Clock::now() + timeout;
    if (deadline_ && past_deadline == PastDeadline::no) deadline = std::min(deadline, *deadline_);
    while (!done()) {
        if (Clock::now() >= deadline || (interrupt_ && interrupt_())) return false;
        if (io_.stopped()) io_.restart();
        // An interrupt with a wake descriptor wakes the loop itself; one that
        // can only be asked is looked at between handlers and, on a quiet
        // loop, every interrupt_poll.
        bool ask_on_a_timer = interrupt_ && !interrupt_wake_;
        io_.run_one_until(ask_on_a_timer ? std::min(deadline, Clock::now() + interrupt_poll) : deadline);
    }
    return true;
}

void Rig::set_interrupt(std::function<bool()> check, int wake_fd) {
    interrupt_ = std::move(check);
    interrupt_wake_.reset();
    if (wake_fd < 0) return;
    int own = ::fcntl(wake_fd, F_DUPFD_CLOEXEC, 0);
    if (own < 0) return;  // looked at on a timer then
    interrupt_wake_ = std::make_unique<boost::asio::posix::stream_descriptor>(io_, own);
    interrupt_wake_->async_wait(boost::asio::posix::stream_descriptor::wait_read, [](const boost::system::error_code&) {});
}

void Rig::run_for(std::chrono::milliseconds duration) {
    run_until([] { return false; }, duration);
}

void Rig::defer(std::function<void()> action) {
    ++deferred_;
    boost::asio::post(io_, [this, action = std::move(action)] {
        --deferred_;
        action();
    });
}

bool Rig::settled() const {
    return deferred_ == 0 && !daemon_->settling() && !(name_service_ && name_service_->settling());
}

std::optional<std::string> Rig::unrest(StoppedDaemon stopped) const {
    if (!settled()) return "a process owes a report, or the harness has work queued";
    // The daemon's threads, sampled before and after the look at the queues:
    // idle in both and not run in between (server/process_idle.hpp).
    std::optional<server::ProcessSample> before;
    std::optional<pid_t> pid = daemon_running() ? daemon_->pid() : std::nullopt;
    std::optional<pid_t> stopped_pid;
    if (pid && reported_stopped_) {
        if (stopped == StoppedDaemon::moving) return "the daemon is stopped";
        stopped_pid = pid;  // at rest for a judgment of its state: it reads nothing until continued
        pid.reset();
    }
    if (pid) {
        before = server::sample_process(*pid);
        if (before->busy) return "the daemon is busy: " + *before->busy;
    }
    if (auto busy = sandbox_->shim_server().busy(stopped_pid)) return *busy;
    for (const auto& slot : modems_)
        if (slot->link->in_flight() != 0) return "packets are on " + slot->spec.name + "'s link";
    if (pid && server::sample_process(*pid) != *before) return "the daemon ran while the harness looked";
    return std::nullopt;
}

bool Rig::run_until_rest(const std::function<bool()>& done, std::chrono::milliseconds timeout, StoppedDaemon stopped,
                         PastDeadline past_deadline) {
    // The timer only wakes the loop; the look at the world is done() itself.
    // Its state outlives this call: a wait that completed before the cancel
    // below still runs its handler later.
    struct Poll {
        explicit Poll(boost::asio::io_context& io) : timer(io) {}
        boost::asio::steady_timer timer;
        Clock::duration interval = std::chrono::duration_cast<Clock::duration>(rest_poll_first);
        bool due = true;  // look at once: the world may be at rest already
        bool active = true;
        static void arm(const std::shared_ptr<Poll>& poll) {
            poll->timer.expires_after(poll->interval);
            poll->timer.async_wait([poll](const boost::system::error_code& error) {
                if (error || !poll->active) return;
                poll->due = true;
                poll->interval = std::min<Clock::duration>(poll->interval * 2, rest_poll_max);
                arm(poll);
            });
        }
    };
    auto poll = std::make_shared<Poll>(io_);
    Poll::arm(poll);
    bool at_rest = false;
    run_until(
        [&] {
            if (done()) return true;
            if (!std::exchange(poll->due, false)) return false;
            at_rest = !unrest(stopped);
            return at_rest;
        },
        timeout, past_deadline);
    poll->active = false;
    poll->timer.cancel();
    return at_rest && !done();
}

void Rig::await_answer(ModemSlot& slot, const std::function<bool()>& answered, AnswerWait wait) {
    auto bound = slot.modem->config().request_timeout + request_report_grace;
    if (wait == AnswerWait::full) {
        run_until(answered, bound);
        return;
    }
    auto started = Clock::now();
    if (!run_until_rest(answered, bound)) return;
    auto waited = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    char figure[32];
    std::snprintf(figure, sizeof figure, "%.1f", waited);
    slot.modem->client().give_up("after " + std::string(figure) +
                                 " ms the daemon waits for input with nothing left to read, so no answer will come "
                                 "(\"full_wait\": true waits the whole request timeout)");
}

// ---- the daemon ----------------------------------------------------------------

Expected<pid_t, std::string> Rig::start_daemon() {
    auto started = daemon_->start();
    if (!started) return unexpected(started.error().message);
    return started->pid;
}

bool Rig::service_published() {
    sim::NameService* ns = sandbox_->fabric().name_service();
    if (ns == nullptr) {
        // A userspace name service (or none): what it announced to the
        // modems is what is known.
        for (const auto& slot : modems_)
            if (auto server = slot->modem->endpoint().find_server(rmtfs::service_id);
                server && server->address.node == sandbox_->board().local_node)
                return true;
        return false;
    }
    for (const auto& server : ns->servers_of(rmtfs::service_id))
        if (server.node == sandbox_->board().local_node) return true;
    return false;
}

bool Rig::wait_for_service(std::chrono::milliseconds timeout) {
    return run_until([this] { return service_published(); }, timeout);
}

void Rig::signal_daemon(int signal_number) {
    auto sent = daemon_->signal(signal_number);
    sim::TraceFields fields;
    if (auto pid = daemon_->pid()) fields.pid = static_cast<std::uint32_t>(*pid);
    record(Source::harness, Kind::signal,
           "signal " + std::to_string(signal_number) + " to the daemon" + (sent ? "" : ": " + sent.error().message), fields);
}

bool Rig::daemon_running() const {
    auto state = daemon_->state();
    return state == server::SupervisedProcess::State::running || state == server::SupervisedProcess::State::stopping;
}

unsigned Rig::daemon_starts() const { return daemon_->starts(); }

std::optional<server::ProcessExit> Rig::wait_for_daemon_exit(std::chrono::milliseconds timeout) {
    unsigned ends = daemon_ends_;
    if (!daemon_running()) return last_exit_;
    if (!run_until([&] { return daemon_ends_ != ends; }, timeout)) return std::nullopt;
    return last_exit_;
}

Expected<pid_t, std::string> Rig::restart_daemon(std::optional<std::string> other_binary) {
    if (daemon_running()) {
        unsigned ends = daemon_ends_;
        daemon_->stop();
        if (!run_until([&] { return daemon_ends_ != ends; }, server::default_stop_grace + kill_report_grace))
            return unexpected(std::string("the daemon did not end after SIGTERM and SIGKILL"));
    }
    if (other_binary) {
        // An upgrade: the same arguments, events and restart policy.
        make_daemon(*other_binary);
        record(Source::harness, Kind::restart, "starting " + *other_binary + " in place of the daemon");
    } else {
        record(Source::harness, Kind::restart, "starting the daemon again");
    }
    return start_daemon();
}

void Rig::restart_daemon_soon(std::optional<std::string> other_binary) {
    if (daemon_running()) signal_daemon(SIGTERM);
    // Restarting waits on the loop; do it from a fresh handler.
    defer([this, other_binary] {
        if (auto restarted = restart_daemon(other_binary); !restarted) harness_error("restart: " + restarted.error());
    });
}

// ---- modems ----------------------------------------------------------------------

sim::Modem* Rig::modem(std::size_t index) { return index < modems_.size() ? modems_[index]->modem.get() : nullptr; }
sim::Remoteproc& Rig::remoteproc(std::size_t index) { return *modems_.at(index)->remoteproc; }
sim::FabricLink& Rig::link(std::size_t index) { return *modems_.at(index)->link; }
sim::ModemState Rig::modem_state(std::size_t index) { return modems_.at(index)->modem->state(); }
unsigned Rig::modem_crashes(std::size_t index) const { return modems_.at(index)->crashes; }
unsigned Rig::modem_boots(std::size_t index) const { return modems_.at(index)->boots; }
unsigned Rig::boots_finished(std::size_t index) const {
    return static_cast<unsigned>(modems_.at(index)->boot_results.size());
}

void Rig::start_modem(std::size_t index) {
    ModemSlot& slot = *modems_.at(index);
    if (slot.remoteproc->state() == sim::RemoteprocState::running) return;
    slot.remoteproc->set_state(sim::RemoteprocState::running, "started by the harness");
    slot.power_on();
}

sim::BootResult Rig::boot_modem(std::size_t index, std::chrono::milliseconds timeout) {
    // A processor whose last boot failed is booted afresh (off, then on), not
    // answered with that old failure.
    const ModemSlot& slot = *modems_.at(index);
    if (!slot.boot_results.empty() && slot.boot_results.size() == slot.boots && !slot.boot_results.back().ok)
        stop_modem(index);
    start_modem(index);
    auto result = wait_for_boot(index, timeout);
    if (!result) return sim::BootResult{false, "the boot did not finish within " + std::to_string(timeout.count()) + " ms"};
    return *result;
}

std::optional<sim::BootResult> Rig::wait_for_boot(std::size_t index, std::chrono::milliseconds timeout, unsigned nth) {
    ModemSlot& slot = *modems_.at(index);
    std::size_t wanted = nth != 0 ? nth : std::max(slot.boots, 1u);
    if (!run_until([&] { return slot.boot_results.size() >= wanted; }, timeout)) return std::nullopt;
    return slot.boot_results[wanted - 1];
}

void Rig::stop_modem(std::size_t index) {
    ModemSlot& slot = *modems_.at(index);
    if (slot.remoteproc->state() == sim::RemoteprocState::offline) return;
    slot.remoteproc->set_state(sim::RemoteprocState::offline, "stopped by the harness");
    slot.power_off();
}

ModemBooks Rig::books() { return ModemBooks{sandbox_->shared_memory(), ledger_, read_violations_}; }

WriteResult Rig::write(std::size_t modem_index, std::size_t partition, std::uint32_t sector, const Bytes& data,
                       AnswerWait wait) {
    ModemSlot& slot = *modems_.at(modem_index);
    return modem_write(*slot.modem, books(), partition, sector, data,
                       [&](const std::function<bool()>& answered) { await_answer(slot, answered, wait); });
}

std::optional<sim::Response> Rig::request(std::size_t modem_index, const rmtfs::Message& message, AnswerWait wait) {
    ModemSlot& slot = *modems_.at(modem_index);
    return modem_request(*slot.modem, books(), message,
                         [&](const std::function<bool()>& answered) { await_answer(slot, answered, wait); });
}

std::optional<sim::Response> Rig::request_raw(std::size_t modem_index, const Bytes& qmi, AnswerWait wait) {
    ModemSlot& slot = *modems_.at(modem_index);
    return modem_request_raw(*slot.modem, books(), qmi,
                             [&](const std::function<bool()>& answered) { await_answer(slot, answered, wait); });
}

void Rig::crash_modem(std::size_t index) {
    ModemSlot& slot = *modems_.at(index);
    if (slot.remoteproc->state() != sim::RemoteprocState::running) return;
    ++slot.crashes;
    record(Source::modem, Kind::crashed, slot.spec.name + ": crash injected");
    slot.power_off();
    ledger_.resolve_pending_as_unknown();
    slot.coupling->modem_crashed("crash injected by the harness");
}

ReadResult Rig::read(std::size_t modem_index, std::size_t partition, std::uint32_t sector, std::uint32_t count,
                     AnswerWait wait) {
    ModemSlot& slot = *modems_.at(modem_index);
    return modem_read(*slot.modem, books(), partition, sector, count,
                      [&](const std::function<bool()>& answered) { await_answer(slot, answered, wait); });
}

// ---- faults ----------------------------------------------------------------------

Expected<std::vector<server::RevertedRange>, std::string> Rig::lose_power() {
    record(Source::harness, Kind::power_loss, "power lost: the daemon dies, unsynced storage writes are lost");
    if (daemon_running()) {
        unsigned ends = daemon_ends_;
        daemon_->kill();
        if (!run_until([&] { return daemon_ends_ != ends; }, kill_report_grace))
            return unexpected("the daemon did not die of SIGKILL within " + std::to_string(kill_report_grace.count()) + " ms");
    }
    // The whole SoC lost power: the remote processors are off too.
    for (std::size_t i = 0; i < modems_.size(); ++i) stop_modem(i);
    ledger_.resolve_pending_as_unknown();
    auto reverted = sandbox_->storage_watch().lose_power();
    for (const auto& range : reverted) {
        sim::TraceFields fields;
        fields.file = range.file;
        fields.sector = range.offset / rmtfs::sector_size_bytes;
        record(Source::harness, Kind::reverted,
               range.file + ": " + std::to_string(range.length) + " bytes at " + std::to_string(range.offset), fields);
    }
    return reverted;
}

void Rig::lose_power_soon() {
    if (daemon_running()) daemon_->kill();
    defer([this] {
        if (auto lost = lose_power(); !lost) harness_error("power loss: " + lost.error());
    });
}

void Rig::network_reset() {
    record(Source::harness, Kind::network_reset, "ENETRESET on every bound socket");
    sandbox_->fabric().reset_network();
}

Expected<pid_t, std::string> Rig::start_name_service(const std::string& binary) {
    if (options_.kernel_name_service)
        return unexpected(std::string("the kernel's name service holds the control port (set kernel_name_service off)"));
    if (name_service_ && name_service_->pid()) return unexpected(std::string("the name service is already running"));
    server::ProcessEvents events;
    events.output = [this](const server::OutputLine& line) { record(Source::name_service, Kind::log, line.text); };
    events.ended = [this](const server::ProcessEnded& e) { record_end(Source::name_service, e.exit); };
    // -f: in the foreground, where the supervisor sees it; node 1 is ours.
    name_service_ = std::make_unique<server::SupervisedProcess>(
        io_, sandbox_->launch({binary, "-f", std::to_string(sandbox_->board().local_node)}), events);
    auto started = name_service_->start();
    if (!started) return unexpected(started.error().message);
    record(Source::harness, Kind::name_service, binary + " started, pid " + std::to_string(started->pid));
    // Serving once it holds the control port: what reaches that port before
    // is dropped, as the kernel drops it.
    if (!run_until([&] { return sandbox_->fabric().port_bound(qrtr::port_control) || !name_service_->pid(); }, name_service_start_bound) ||
        !sandbox_->fabric().port_bound(qrtr::port_control))
        return unexpected(binary + " did not bind the control port within " +
                          std::to_string(name_service_start_bound.count()) + " ms");
    return started->pid;
}

void Rig::stop_name_service() {
    if (!name_service_) return;
    record(Source::harness, Kind::name_service, "stopping the userspace name service");
    name_service_.reset();  // killed with everything it started
}

// ---- checks ----------------------------------------------------------------------

Bytes Rig::storage_file(const std::string& file_name) {
    fs::path path = sandbox_->world().storage_dir() / file_name;
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<sim::LedgerViolation> Rig::check_storage() {
    std::vector<sim::LedgerViolation> violations;
    for (const auto& partition : sandbox_->board().partitions) {
        std::string key = "/boot/" + partition.file_name;
        auto found = ledger_.check(key, storage_file(partition.file_name));
        violations.insert(violations.end(), found.begin(), found.end());
    }
    violations.insert(violations.end(), read_violations_.begin(), read_violations_.end());
    return violations;
}

std::string Rig::trace_text(std::size_t last) const {
    std::string text;
    std::size_t from = last == 0 || last >= events_.size() ? 0 : events_.size() - last;
    char stamp[32];
    for (std::size_t i = from; i < events_.size(); ++i) {
        const TraceRecord& e = events_[i];
        std::snprintf(stamp, sizeof stamp, "%10.3f ", e.at_ms);
        text += stamp + std::string(name_of(e.source)) + " " + std::string(name_of(e.kind)) + " " + e.detail + "\n";
    }
    return text;
}

}  // namespace rmtfs_hil::engine
