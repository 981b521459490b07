#include "engine/sim_target.hpp"

#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/rig.hpp"
#include "sim/link_faults.hpp"

namespace rmtfs_hil::engine {

namespace {

// Modems after the board's own take QRTR nodes from here on.
constexpr std::uint32_t extra_modem_first_node = 10;

// A scenario built in code, not loaded, may name a board there is none of.
Expected<RigOptions, std::string> rig_options(const Scenario& s, const TargetOptions& run) {
    RigOptions options;
    options.board = s.setup.board ? server::find_board(*s.setup.board) : run.board;
    if (options.board == nullptr) return unexpected("no board profile named '" + *s.setup.board + "'");
    options.server = run.server;
    options.server_args = s.setup.server.args;
    options.restart.enabled = s.setup.server.restart.enabled;
    options.restart.delay = milliseconds(s.setup.server.restart.delay_ms);
    options.restart.start_limit_burst = s.setup.server.restart.burst;
    options.restart.start_limit_interval = milliseconds(s.setup.server.restart.interval_ms);
    options.coupling = s.setup.coupling;
    options.recovery = s.setup.recovery;
    options.kernel_name_service = s.setup.name_service == NameServiceMode::kernel;
    options.partition_bytes = s.setup.storage.partition_bytes;
    options.seed = run.seed;
    options.zero_fill = s.setup.storage.fill == StorageFill::zeros;
    options.storage_from = s.setup.storage.from;
    options.ask_storage_reads = s.setup.watch_storage_reads;
    options.ask_memory_io = s.setup.watch_memory_io;
    options.modems.clear();
    for (std::size_t i = 0; i < s.setup.modems.size(); ++i) {
        const ModemSetup& m = s.setup.modems[i];
        ModemSpec spec;
        spec.name = m.name;
        spec.config.node = i == 0 ? options.board->modem_node : static_cast<std::uint32_t>(extra_modem_first_node + i);
        spec.config.partitions = m.partitions;
        spec.config.request_timeout = milliseconds(m.request_timeout_ms);
        spec.config.service_wait = milliseconds(m.service_wait_ms);
        spec.config.image_sectors = m.image_sectors;
        spec.config.transfer_sectors = m.transfer_sectors;
        spec.config.sync_interval = milliseconds(m.sync_interval_ms);
        spec.config.sync_sectors = m.sync_sectors;
        spec.config.on_service_loss = m.on_service_loss;
        spec.config.on_open_failure = m.on_open_failure;
        spec.config.seed = run.seed + i;
        options.modems.push_back(spec);
    }
    return options;
}

class SimTarget final : public Target {
public:
    SimTarget(std::unique_ptr<Rig> rig, Interrupt interrupted)
        : rig_(std::move(rig)), interrupted_(std::move(interrupted)) {
        if (interrupted_) rig_->set_interrupt(interrupted_.requested, interrupted_.wake_fd);
        for (const auto& partition : rig_->sandbox().board().partitions) {
            files_.push_back(partition.file_name);
            initial_[partition.file_name] = rig_->storage_file(partition.file_name);
        }
        rig_->on_event([this] { check_event_triggers(); });
    }
    ~SimTarget() override { rig_->on_event({}); }

    Capabilities capabilities() const override { return sim_capabilities(); }

    // The rig's loop owns the wait; it looks at the interrupt check itself.
    // Event triggers are looked at after every handler too: not every
    // change they watch (a sync count, a remote processor's state) is
    // recorded as an event.
    bool wait_until(const std::function<bool()>& done, milliseconds timeout) override {
        return rig_->run_until(
            [&] {
                check_event_triggers();
                return done();
            },
            timeout);
    }
    bool interrupted() const override { return interrupted_(); }
    void set_deadline(std::chrono::steady_clock::time_point deadline) override { rig_->set_deadline(deadline); }
    std::optional<Unsettled> settle() override {
        auto look = [this] {
            check_event_triggers();
            return false;
        };
        if (rig_->run_until_rest(look, settle_bound, Rig::StoppedDaemon::at_rest, Rig::PastDeadline::allowed) ||
            interrupted())
            return std::nullopt;
        std::string bound = std::to_string(settle_bound.count()) + " ms";
        if (!rig_->settled())
            return Unsettled{"the world did not settle within " + bound +
                                 ": a process's exit, stop or continue was never reported (is the machine overloaded?)",
                             true};
        auto why = rig_->unrest(Rig::StoppedDaemon::at_rest);
        if (!why) return std::nullopt;  // at rest just now
        bool daemons = why->starts_with("the daemon") || why->starts_with("program ");
        return Unsettled{"the world did not come to rest within " + bound + " for a judgment: " + *why, !daemons};
    }

    // ---- the daemon
    std::optional<std::string> start_daemon() override {
        auto started = rig_->start_daemon();
        if (!started) return started.error();
        return std::nullopt;
    }
    std::optional<std::string> stop_daemon(milliseconds bound) override {
        rig_->daemon().stop();
        if (!rig_->wait_for_daemon_exit(bound)) return "the daemon did not end after SIGTERM and SIGKILL";
        return std::nullopt;
    }
    std::optional<std::string> kill_daemon(milliseconds bound) override {
        rig_->signal_daemon(SIGKILL);
        if (!rig_->wait_for_daemon_exit(bound)) return "the daemon did not die of SIGKILL";
        return std::nullopt;
    }
    std::optional<std::string> restart_daemon(const std::optional<std::string>& binary) override {
        auto restarted = rig_->restart_daemon(binary);
        if (!restarted) return restarted.error();
        return std::nullopt;
    }
    void signal_daemon(int signal_number) override { rig_->signal_daemon(signal_number); }
    void restart_daemon_soon(const std::optional<std::string>& binary) override { rig_->restart_daemon_soon(binary); }
    DaemonStatus daemon_status() override {
        if (rig_->daemon_running())
            return DaemonStatus{rig_->daemon_reported_stopped() ? DaemonStatus::State::stopped : DaemonStatus::State::running,
                                rig_->daemon().last_exit()};
        if (auto exit = rig_->daemon().last_exit()) return DaemonStatus{DaemonStatus::State::ended, exit};
        return DaemonStatus{};
    }
    bool daemon_running() const override { return rig_->daemon_running(); }
    unsigned daemon_starts() const override { return rig_->daemon_starts(); }
    const std::vector<std::string>& daemon_log() const override { return rig_->daemon_log(); }
    bool service_published() override { return rig_->service_published(); }
    std::optional<DaemonResources> daemon_resources() override {
        auto pid = rig_->daemon().pid();
        if (!pid || !rig_->daemon_running()) return std::nullopt;
        return process_resources(*pid);
    }

    // ---- modems
    std::size_t modem_count() const override { return rig_->modem_count(); }
    std::vector<std::string> modem_partitions(std::size_t modem) const override {
        return rig_->options().modems.at(modem).config.partitions;
    }
    sim::BootResult boot_modem(std::size_t modem, milliseconds bound) override { return rig_->boot_modem(modem, bound); }
    std::optional<sim::BootResult> wait_for_boot(std::size_t modem, milliseconds bound, unsigned nth) override {
        return rig_->wait_for_boot(modem, bound, nth);
    }
    unsigned boots_finished(std::size_t modem) const override { return rig_->boots_finished(modem); }
    void start_modem(std::size_t modem) override { rig_->start_modem(modem); }
    void stop_modem(std::size_t modem) override { rig_->stop_modem(modem); }
    sim::ModemState modem_state(std::size_t modem) override { return rig_->modem_state(modem); }
    unsigned modem_crashes(std::size_t modem) const override { return rig_->modem_crashes(modem); }
    std::uint64_t syncs_completed(std::size_t modem) const override { return rig_->modem(modem)->syncs_completed(); }
    ModemHandles modem_handles(std::size_t modem) const override {
        const sim::Modem& m = *rig_->modem(modem);
        return ModemHandles{m.caller_ids(), m.buffer_address()};
    }
    std::uint64_t shared_memory_base() const override { return rig_->sandbox().board().rmtfs_mem.phys_addr; }
    WriteResult write(std::size_t modem, std::size_t partition, std::uint32_t sector, const Bytes& data,
                      AnswerWait wait) override {
        return rig_->write(modem, partition, sector, data, wait);
    }
    ReadResult read(std::size_t modem, std::size_t partition, std::uint32_t sector, std::uint32_t count,
                    AnswerWait wait) override {
        return rig_->read(modem, partition, sector, count, wait);
    }
    std::optional<sim::Response> request(std::size_t modem, const rmtfs::Message& message, AnswerWait wait) override {
        return rig_->request(modem, message, wait);
    }
    std::optional<sim::Response> request_raw(std::size_t modem, const Bytes& qmi, AnswerWait wait) override {
        return rig_->request_raw(modem, qmi, wait);
    }

    // ---- remote processors
    sim::RemoteprocState remoteproc_state(std::size_t index) override { return rig_->remoteproc(index).state(); }
    int write_remoteproc(std::size_t index, std::string_view text) override {
        return rig_->remoteproc(index).write_state(text);
    }
    void crash_remoteproc(std::size_t index) override { rig_->crash_modem(index); }

    // ---- faults
    TriggerId at(const Trigger& trigger, const std::string& what, std::function<void()> action) override;
    bool fired(TriggerId id) const override;
    void soon(std::function<void()> action) override { rig_->defer(std::move(action)); }
    std::size_t arm_io_fault(const server::IoFault& fault) override { return rig_->storage().arm(fault); }
    unsigned io_fault_hits(std::size_t index) const override { return rig_->storage().fault_hits(index); }
    void link_fault(std::size_t modem, const LinkFault& fault) override;
    void network_reset() override { rig_->network_reset(); }
    std::optional<std::string> lose_power() override {
        auto lost = rig_->lose_power();
        if (!lost) return lost.error();
        return std::nullopt;
    }
    void lose_power_soon() override { rig_->lose_power_soon(); }
    std::optional<std::string> trouble() const override { return rig_->trouble(); }
    std::optional<std::string> starvation() const override { return rig_->starvation(); }
    std::optional<std::string> start_name_service() override {
        auto started = rig_->start_name_service();
        if (!started) return started.error();
        return std::nullopt;
    }
    void stop_name_service() override { rig_->stop_name_service(); }

    // ---- storage
    std::vector<std::string> storage_files() const override { return files_; }
    Bytes storage_file(const std::string& name) override { return rig_->storage_file(name); }
    const Bytes& initial_storage(const std::string& name) const override { return initial_.at(name); }
    std::vector<sim::LedgerViolation> check_ledger() override { return rig_->check_storage(); }
    const sim::WriteLedger& ledger() const override { return rig_->ledger(); }

    const std::vector<TraceRecord>& events() const override { return rig_->events(); }

private:
    // An armed trigger: on the rig's fault points (index into them), or an
    // event condition looked at after every recorded event.
    struct Armed {
        std::optional<std::size_t> fault_point;
        std::optional<EventCondition> event;
        std::string what;
        std::function<void()> action;
        bool fired = false;
    };
    void check_event_triggers();

    std::unique_ptr<Rig> rig_;
    Interrupt interrupted_;
    std::vector<std::string> files_;
    std::map<std::string, Bytes> initial_;
    std::vector<Armed> armed_;
    bool checking_events_ = false;
};

TriggerId SimTarget::at(const Trigger& trigger, const std::string& what, std::function<void()> action) {
    TriggerId id = armed_.size();
    Armed armed{std::nullopt, std::nullopt, what, std::move(action), false};
    auto& faults = rig_->process_faults();
    switch (trigger.kind) {
        case TriggerKind::now:
            armed.fired = true;
            armed_.push_back(std::move(armed));
            armed_.back().action();
            return id;
        case TriggerKind::request: {
            std::optional<std::uint32_t> node;
            if (trigger.modem) node = rig_->options().modems.at(*trigger.modem).config.node;
            armed.fault_point = faults.arm(server::AtRequest{static_cast<std::uint16_t>(trigger.request), trigger.nth, node},
                                           what, armed.action);
            break;
        }
        case TriggerKind::after_write:
            armed.fault_point = faults.arm(server::AfterWrite{trigger.nth, trigger.file}, what, armed.action);
            break;
        case TriggerKind::after_ms:
            armed.fault_point = faults.arm(server::AfterDelay{milliseconds(trigger.after_ms)}, what, armed.action);
            break;
        case TriggerKind::event:
            armed.event = trigger.event;
            armed.fault_point = faults.arm(server::OnEvent{trigger.describe()}, what, armed.action);
            break;
    }
    armed_.push_back(std::move(armed));
    if (trigger.kind == TriggerKind::event) check_event_triggers();  // it may hold already
    return id;
}

bool SimTarget::fired(TriggerId id) const {
    const Armed& armed = armed_.at(id);
    if (armed.fault_point) return rig_->process_faults().fired(*armed.fault_point);
    return armed.fired;
}

void SimTarget::check_event_triggers() {
    if (checking_events_) return;  // an action's own events are looked at once it is done
    checking_events_ = true;
    for (std::size_t i = 0; i < armed_.size(); ++i) {
        if (!armed_[i].event || fired(i) || !armed_[i].event->holds(*this)) continue;
        rig_->process_faults().fire(*armed_[i].fault_point);
    }
    checking_events_ = false;
}

void SimTarget::link_fault(std::size_t modem, const LinkFault& fault) {
    sim::FabricLink& link = rig_->link(modem);
    auto direction = fault.direction == LinkDirection::to_modem ? sim::FabricLink::Direction::to_remote
                                                                : sim::FabricLink::Direction::to_fabric;
    switch (fault.action) {
        case LinkAction::down: link.bring_down(); return;
        case LinkAction::up: link.bring_up(); return;
        case LinkAction::clear: link.clear_faults(); return;
        case LinkAction::drop: link.add_fault(direction, sim::drop_fault(fault.probability, fault.seed)); return;
        case LinkAction::duplicate: link.add_fault(direction, sim::duplicate_fault(fault.probability, fault.seed)); return;
        case LinkAction::delay: link.add_fault(direction, sim::delay_fault(rig_->io(), fault.delay)); return;
        case LinkAction::reorder: link.add_fault(direction, sim::reorder_fault()); return;
    }
    RMTFS_HIL_ASSERT(false, "a link action without a case");
}

}  // namespace

Capabilities sim_capabilities() {
    Capabilities capabilities = Capabilities::all();
    capabilities.remove(Capability::board_efs);
    return capabilities;
}

Expected<std::unique_ptr<Target>, std::string> make_sim_target(const Scenario& scenario, const TargetOptions& options) {
    if (auto missing = storage_not_ready(scenario)) return unexpected(*missing);
    auto rig_setup = rig_options(scenario, options);
    if (!rig_setup) return unexpected(rig_setup.error());
    auto rig = Rig::create(std::move(*rig_setup));
    if (!rig) return unexpected(rig.error());
    return std::unique_ptr<Target>(std::make_unique<SimTarget>(std::move(*rig), options.interrupted));
}

}  // namespace rmtfs_hil::engine
