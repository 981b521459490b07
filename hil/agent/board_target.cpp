#include "hil/agent/board_target.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>

#include "engine/modem_requests.hpp"
#include "engine/target.hpp"
#include "proto/errno_names.hpp"
#include "server/process.hpp"
#include "server/process_idle.hpp"
#include "server/world.hpp"
#include "sim/local_node_link.hpp"
#include "sim/modem.hpp"
#include "sim/write_ledger.hpp"

namespace rmtfs_hil::hil {

namespace fs = std::filesystem;
using engine::Capability;
using engine::kill_report_grace;
using engine::milliseconds;
using engine::settle_bound;
using Clock = std::chrono::steady_clock;
using Source = sim::TraceSource;
using Kind = sim::TraceKind;

namespace {

// How often a wait looks at the interrupt check and the world's rest.
constexpr milliseconds poll_interval{5};
// The name service lists the servers it knows at once.
constexpr milliseconds lookup_bound{2000};

// The board's rmtfs_mem region through its char device, as the modem's
// side reaches it: by physical address (pread/pwrite at the offset).
class DeviceMemory final : public sim::SharedMemory {
public:
    static Expected<std::unique_ptr<DeviceMemory>, std::string> open(const fs::path& root,
                                                                     const server::RmtfsMemRegion& region) {
        fs::path device = root / "dev" / region.device_name();
        int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) return unexpected(device.string() + ": " + errno_text(errno));
        // The region as the kernel says (what the daemon reads too); the
        // profile's where the class attributes are missing.
        fs::path attributes = root / "sys/class/rmtfs" / region.device_name();
        std::uint64_t base = read_number(attributes / "phys_addr").value_or(region.phys_addr);
        std::uint64_t size = read_number(attributes / "size").value_or(region.size_bytes);
        return std::unique_ptr<DeviceMemory>(new DeviceMemory(device, fd, base, size));
    }
    ~DeviceMemory() override { ::close(fd_); }
    std::uint64_t base() const override { return base_; }
    std::uint64_t size_bytes() const override { return size_; }
    Expected<Bytes, std::string> read(std::uint64_t phys_addr, std::size_t length) const override {
        if (auto why = outside(phys_addr, length)) return unexpected(*why);
        Bytes bytes(length);
        ssize_t got = ::pread(fd_, bytes.data(), length, static_cast<off_t>(phys_addr - base_));
        if (got != static_cast<ssize_t>(length))
            return unexpected(device_.string() + ": read of " + std::to_string(length) + " bytes: " +
                              (got < 0 ? errno_text(errno) : "short, " + std::to_string(got)));
        return bytes;
    }
    Expected<std::size_t, std::string> write(std::uint64_t phys_addr, ByteView bytes) override {
        if (auto why = outside(phys_addr, bytes.size())) return unexpected(*why);
        ssize_t put = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(phys_addr - base_));
        if (put != static_cast<ssize_t>(bytes.size()))
            return unexpected(device_.string() + ": write of " + std::to_string(bytes.size()) + " bytes: " +
                              (put < 0 ? errno_text(errno) : "short, " + std::to_string(put)));
        return bytes.size();
    }

private:
    DeviceMemory(fs::path device, int fd, std::uint64_t base, std::uint64_t size)
        : device_(std::move(device)), fd_(fd), base_(base), size_(size) {}
    static std::optional<std::uint64_t> read_number(const fs::path& file) {
        std::ifstream in(file);
        std::string text;
        if (!(in >> text)) return std::nullopt;
        try {
            return std::stoull(text, nullptr, 0);
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    std::optional<std::string> outside(std::uint64_t phys_addr, std::size_t length) const {
        if (phys_addr >= base_ && phys_addr - base_ <= size_ && length <= size_ - (phys_addr - base_)) return std::nullopt;
        return device_.string() + ": " + std::to_string(length) + " bytes at " + std::to_string(phys_addr) +
               " are outside the region";
    }
    fs::path device_;
    int fd_;
    std::uint64_t base_;
    std::uint64_t size_;
};

// A scenario's storage directory under the scratch directory, removed with it.
class ScratchDirectory {
public:
    static Expected<ScratchDirectory, std::string> make(const fs::path& scratch) {
        // Owned: one a SIGKILLed agent left is removed by the next run.
        auto made = server::make_owned_directory(scratch, "board-");
        if (!made) return unexpected(made.error());
        return ScratchDirectory(*made);
    }
    ScratchDirectory(ScratchDirectory&& other) noexcept : path_(std::exchange(other.path_, {})) {}
    ScratchDirectory& operator=(ScratchDirectory&&) = delete;
    ~ScratchDirectory() {
        std::error_code ignored;
        if (!path_.empty()) fs::remove_all(path_, ignored);
    }
    const fs::path& path() const { return path_; }

private:
    explicit ScratchDirectory(fs::path path) : path_(std::move(path)) {}
    fs::path path_;
};

class BoardTarget final : public engine::Target {
public:
    static Expected<std::unique_ptr<engine::Target>, std::string> create(const engine::Scenario& s,
                                                                          const engine::TargetOptions& run,
                                                                          const BoardTargetOptions& board);
    ~BoardTarget() override {
        modem_.reset();
        link_.reset();
        daemon_.reset();
    }

    engine::Capabilities capabilities() const override { return capabilities_; }

    bool wait_until(const std::function<bool()>& done, milliseconds timeout) override { return run_until(done, timeout); }
    bool interrupted() const override { return interrupted_(); }
    void set_deadline(Clock::time_point deadline) override { deadline_ = deadline; }
    std::optional<engine::Unsettled> settle() override {
        bool at_rest = false;
        run_until([&] { return (at_rest = !unrest()); }, settle_bound, true);
        if (at_rest || interrupted()) return std::nullopt;
        auto why = unrest();
        if (!why) return std::nullopt;
        bool daemons = why->starts_with("the daemon");
        return engine::Unsettled{"the world did not come to rest within " + std::to_string(settle_bound.count()) +
                                     " ms for a judgment: " + *why,
                                 !daemons};
    }

    // ---- the daemon
    std::optional<std::string> start_daemon() override {
        auto started = daemon_->start();
        if (!started) return started.error().message;
        return std::nullopt;
    }
    std::optional<std::string> stop_daemon(milliseconds bound) override {
        daemon_->stop();
        if (!wait_for_daemon_end(bound)) return "the daemon did not end after SIGTERM and SIGKILL";
        return std::nullopt;
    }
    std::optional<std::string> kill_daemon(milliseconds bound) override {
        signal_daemon(SIGKILL);
        if (!wait_for_daemon_end(bound)) return "the daemon did not die of SIGKILL";
        return std::nullopt;
    }
    std::optional<std::string> restart_daemon(const std::optional<std::string>& binary) override {
        if (daemon_running()) {
            daemon_->stop();
            if (!wait_for_daemon_end(server::default_stop_grace + kill_report_grace))
                return "the daemon did not end after SIGTERM and SIGKILL";
        }
        if (binary) {
            make_daemon(*binary);
            record(Source::harness, Kind::restart, "starting " + *binary + " in place of the daemon");
        } else {
            record(Source::harness, Kind::restart, "starting the daemon again");
        }
        return start_daemon();
    }
    void signal_daemon(int signal_number) override {
        auto sent = daemon_->signal(signal_number);
        sim::TraceFields fields;
        if (auto pid = daemon_->pid()) fields.pid = static_cast<std::uint32_t>(*pid);
        record(Source::harness, Kind::signal,
               "signal " + std::to_string(signal_number) + " to the daemon" + (sent ? "" : ": " + sent.error().message), fields);
    }
    void restart_daemon_soon(const std::optional<std::string>& binary) override {
        if (daemon_running()) signal_daemon(SIGTERM);
        soon([this, binary] {
            if (auto failed = restart_daemon(binary)) harness_error("restart: " + *failed);
        });
    }
    engine::DaemonStatus daemon_status() override {
        using State = engine::DaemonStatus::State;
        if (daemon_running()) return {stopped_ ? State::stopped : State::running, daemon_->last_exit()};
        if (auto exit = daemon_->last_exit()) return {State::ended, exit};
        return {};
    }
    bool daemon_running() const override {
        auto state = daemon_->state();
        return state == server::SupervisedProcess::State::running || state == server::SupervisedProcess::State::stopping;
    }
    unsigned daemon_starts() const override { return daemon_->starts(); }
    const std::vector<std::string>& daemon_log() const override { return daemon_log_; }
    bool service_published() override {
        auto server = modem_->endpoint().find_server(rmtfs::service_id);
        return server && server->address.node == link_->local_node();
    }
    std::optional<engine::DaemonResources> daemon_resources() override {
        auto pid = daemon_->pid();
        if (!pid || !daemon_running()) return std::nullopt;
        return engine::process_resources(*pid);
    }

    // ---- the modem
    std::size_t modem_count() const override { return 1; }
    std::vector<std::string> modem_partitions(std::size_t) const override { return modem_->config().partitions; }
    sim::BootResult boot_modem(std::size_t, milliseconds bound) override {
        if (!boot_results_.empty() && boot_results_.size() == boots_ && !boot_results_.back().ok) stop_modem(0);
        start_modem(0);
        auto result = wait_for_boot(0, bound, 0);
        if (!result) return sim::BootResult{false, "the boot did not finish within " + std::to_string(bound.count()) + " ms"};
        return *result;
    }
    std::optional<sim::BootResult> wait_for_boot(std::size_t, milliseconds bound, unsigned nth) override {
        std::size_t wanted = nth != 0 ? nth : std::max(boots_, 1u);
        if (!run_until([&] { return boot_results_.size() >= wanted; }, bound)) return std::nullopt;
        return boot_results_[wanted - 1];
    }
    unsigned boots_finished(std::size_t) const override { return static_cast<unsigned>(boot_results_.size()); }
    void start_modem(std::size_t) override {
        if (powered_) return;
        powered_ = true;
        ++boots_;
        modem_->boot([this](const sim::BootResult& result) {
            boot_results_.push_back(result);
            record(Source::modem, result.ok ? Kind::booted : Kind::boot_failed, "modem" + (result.ok ? "" : ": " + result.reason));
        });
    }
    void stop_modem(std::size_t) override {
        if (!powered_) return;
        powered_ = false;
        link_->bring_down();
        modem_->shutdown();
        if (boot_results_.size() < boots_)
            boot_results_.push_back(sim::BootResult{false, "the modem was stopped before the boot finished"});
    }
    sim::ModemState modem_state(std::size_t) override { return modem_->state(); }
    unsigned modem_crashes(std::size_t) const override { return crashes_; }
    std::uint64_t syncs_completed(std::size_t) const override { return modem_->syncs_completed(); }
    engine::ModemHandles modem_handles(std::size_t) const override {
        return engine::ModemHandles{modem_->caller_ids(), modem_->buffer_address()};
    }
    std::uint64_t shared_memory_base() const override { return memory_->base(); }
    engine::WriteResult write(std::size_t, std::size_t partition, std::uint32_t sector, const Bytes& data,
                              engine::AnswerWait wait) override {
        return engine::modem_write(*modem_, books(), partition, sector, data, awaiting(wait));
    }
    engine::ReadResult read(std::size_t, std::size_t partition, std::uint32_t sector, std::uint32_t count,
                            engine::AnswerWait wait) override {
        return engine::modem_read(*modem_, books(), partition, sector, count, awaiting(wait));
    }
    std::optional<sim::Response> request(std::size_t, const rmtfs::Message& message, engine::AnswerWait wait) override {
        return engine::modem_request(*modem_, books(), message, awaiting(wait));
    }
    std::optional<sim::Response> request_raw(std::size_t, const Bytes& qmi, engine::AnswerWait wait) override {
        return engine::modem_request_raw(*modem_, books(), qmi, awaiting(wait));
    }

    // ---- not among the capabilities: never called for a scenario that runs
    sim::RemoteprocState remoteproc_state(std::size_t) override { return sim::RemoteprocState::offline; }
    int write_remoteproc(std::size_t, std::string_view) override {
        unavailable("remoteproc_control");
        return EPERM;
    }
    void crash_remoteproc(std::size_t) override { unavailable("remoteproc_control"); }
    engine::TriggerId at(const engine::Trigger& trigger, const std::string& what, std::function<void()> action) override {
        engine::TriggerId id = fired_.size();
        fired_.push_back(false);
        if (trigger.kind != engine::TriggerKind::now) {
            unavailable("exact_faults (" + what + ")");
            return id;
        }
        fired_[id] = true;
        action();
        return id;
    }
    bool fired(engine::TriggerId id) const override { return fired_.at(id); }
    void soon(std::function<void()> action) override {
        ++deferred_;
        boost::asio::post(io_, [this, action = std::move(action)] {
            --deferred_;
            action();
        });
    }
    std::size_t arm_io_fault(const server::IoFault&) override {
        unavailable("storage_io_faults");
        return 0;
    }
    unsigned io_fault_hits(std::size_t) const override { return 0; }
    void link_fault(std::size_t, const engine::LinkFault&) override { unavailable("link_faults"); }
    void network_reset() override { unavailable("network_reset"); }
    std::optional<std::string> lose_power() override { return "a board target cannot cut power (power_loss)"; }
    void lose_power_soon() override { unavailable("power_loss"); }
    std::optional<std::string> trouble() const override { return trouble_; }
    std::optional<std::string> starvation() const override { return std::nullopt; }
    std::optional<std::string> start_name_service() override {
        return "a board's name service is the kernel's (userspace_name_service)";
    }
    void stop_name_service() override {}

    // ---- storage
    std::vector<std::string> storage_files() const override { return files_; }
    Bytes storage_file(const std::string& name) override {
        std::ifstream in(storage_.path() / name, std::ios::binary);
        return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const Bytes& initial_storage(const std::string& name) const override { return initial_.at(name); }
    std::vector<sim::LedgerViolation> check_ledger() override {
        std::vector<sim::LedgerViolation> violations;
        for (const std::string& file : files_) {
            auto found = ledger_.check("/boot/" + file, storage_file(file));
            violations.insert(violations.end(), found.begin(), found.end());
        }
        violations.insert(violations.end(), read_violations_.begin(), read_violations_.end());
        return violations;
    }
    const sim::WriteLedger& ledger() const override { return ledger_; }
    const std::vector<engine::TraceRecord>& events() const override { return events_; }

private:
    BoardTarget(ScratchDirectory storage, engine::Capabilities capabilities, engine::Interrupt interrupted)
        : storage_(std::move(storage)), capabilities_(capabilities), interrupted_(std::move(interrupted)),
          epoch_(Clock::now()) {}

    void record(Source source, Kind kind, std::string detail, sim::TraceFields fields = {}) {
        double at = std::chrono::duration<double, std::milli>(Clock::now() - epoch_).count();
        events_.push_back(engine::TraceRecord{at, source, kind, std::move(detail), std::move(fields)});
    }
    void harness_error(std::string what) {
        if (!trouble_) trouble_ = what;
        record(Source::harness, Kind::error, std::move(what));
    }
    // A call the capabilities rule out came anyway: the harness's error.
    void unavailable(const std::string& capability) {
        harness_error("the board target cannot do this: " + capability + " is not among its capabilities");
    }

    // Runs the loop until `done` (looked at after every handler and at least
    // every poll_interval), `timeout`, the deadline (unless past it is
    // allowed) or an interrupt; false unless `done`.
    bool run_until(const std::function<bool()>& done, milliseconds timeout, bool past_deadline = false) {
        auto until = Clock::now() + timeout;
        if (!past_deadline && deadline_ && *deadline_ < until) until = *deadline_;
        auto guard = boost::asio::make_work_guard(io_);  // an idle loop waits, it does not spin
        while (!done()) {
            auto now = Clock::now();
            if (interrupted() || now >= until) return false;
            io_.restart();
            io_.run_one_for(std::min<Clock::duration>(poll_interval, until - now));
        }
        return true;
    }
    bool wait_for_daemon_end(milliseconds bound) {
        unsigned ends = daemon_ends_;
        if (!daemon_running()) return true;
        return run_until([&] { return daemon_ends_ != ends; }, bound);
    }

    // Why the world may still move, or nothing when it is at rest for a
    // judgment (a daemon stopped by a signal is at rest).
    std::optional<std::string> unrest() const {
        if (deferred_ != 0 || daemon_->settling()) return "a process owes a report, or the harness has work queued";
        std::optional<pid_t> pid = daemon_running() ? daemon_->pid() : std::nullopt;
        if (stopped_) pid.reset();
        std::optional<server::ProcessSample> before;
        if (pid) {
            before = server::sample_process(*pid);
            if (before->busy) return "the daemon is busy: " + *before->busy;
        }
        if (link_->in_flight() != 0) return "datagrams wait on the modem's sockets";
        if (pid && server::sample_process(*pid) != *before) return "the daemon ran while the harness looked";
        return std::nullopt;
    }
    // Every request waits for its answer up to the modem's timeout: whether
    // an answer is still on its way cannot be told from here where the QRTR
    // is emulated by another process (the world's fabric), so the early end
    // of AnswerWait::until_idle is not taken.
    engine::AwaitAnswer awaiting(engine::AnswerWait) {
        return [this](const std::function<bool()>& answered) {
            run_until(answered, modem_->config().request_timeout + engine::request_report_grace);
        };
    }
    engine::ModemBooks books() { return engine::ModemBooks{*memory_, ledger_, read_violations_}; }

    void make_daemon(const std::string& binary) {
        std::vector<std::string> argv{binary};
        for (const std::string& arg : server_args_)
            argv.push_back(arg == engine::storage_placeholder ? storage_.path().string() : arg);
        server::LaunchSpec spec{argv, server::current_environment(), {}};
        daemon_ = std::make_unique<server::SupervisedProcess>(io_, std::move(spec), daemon_events_, restart_);
    }
    void make_events() {
        daemon_events_.output = [this](const server::OutputLine& line) {
            daemon_log_.push_back(line.text);
            record(Source::server, Kind::log, line.text);
        };
        daemon_events_.started = [this](const server::ProcessStarted& s) {
            stopped_ = false;
            sim::TraceFields fields;
            fields.pid = static_cast<std::uint32_t>(s.pid);
            record(Source::server, Kind::started, "pid " + std::to_string(s.pid) + " (start " + std::to_string(s.starts) + ")", fields);
        };
        daemon_events_.ended = [this](const server::ProcessEnded& e) {
            stopped_ = false;
            ++daemon_ends_;
            sim::TraceFields fields;
            fields.exit = engine::trace_exit(e.exit);
            record(Source::server, Kind::ended, e.exit.describe(), fields);
        };
        daemon_events_.job_control = [this](const server::JobControlChange& c) {
            stopped_ = c.stopped;
            record(Source::server, c.stopped ? Kind::stopped : Kind::continued,
                   c.stopped ? "by signal " + std::to_string(c.signal) : "");
        };
        daemon_events_.gave_up = [this](const server::GaveUp& g) { record(Source::server, Kind::gave_up, g.reason); };
        daemon_events_.start_failed = [this](const server::StartError& e) { record(Source::server, Kind::start_failed, e.message); };
    }

    boost::asio::io_context io_;
    ScratchDirectory storage_;
    engine::Capabilities capabilities_;
    engine::Interrupt interrupted_;
    Clock::time_point epoch_;
    std::optional<Clock::time_point> deadline_;
    std::vector<engine::TraceRecord> events_;
    std::optional<std::string> trouble_;
    std::vector<std::string> server_args_;
    server::RestartPolicy restart_;
    server::ProcessEvents daemon_events_;
    std::unique_ptr<server::SupervisedProcess> daemon_;
    std::vector<std::string> daemon_log_;
    unsigned daemon_ends_ = 0;
    bool stopped_ = false;
    std::unique_ptr<DeviceMemory> memory_;
    std::unique_ptr<sim::LocalNodeLink> link_;
    std::unique_ptr<sim::Modem> modem_;
    bool powered_ = false;
    unsigned boots_ = 0;
    unsigned crashes_ = 0;
    std::vector<sim::BootResult> boot_results_;
    sim::WriteLedger ledger_;
    std::vector<sim::LedgerViolation> read_violations_;
    std::vector<std::string> files_;
    std::map<std::string, Bytes> initial_;
    std::vector<bool> fired_;
    unsigned deferred_ = 0;
};

Expected<std::unique_ptr<engine::Target>, std::string> BoardTarget::create(const engine::Scenario& s,
                                                                            const engine::TargetOptions& run,
                                                                            const BoardTargetOptions& options) {
    // The runner skips scenarios for other boards (RunOptions::fixed_board).
    const server::BoardProfile& board = *run.board;
    if (auto missing = engine::storage_not_ready(s)) return unexpected(*missing);
    auto scratch = ScratchDirectory::make(options.scratch);
    if (!scratch) return unexpected(scratch.error());
    std::unique_ptr<BoardTarget> t(new BoardTarget(std::move(*scratch), board_capabilities(options), run.interrupted));

    // The scenario's storage, as the simulated bench makes it: copied images
    // (a folder's, or the agent's snapshot of the board's EFS), or made.
    const bool copied = !s.setup.storage.from.empty();
    server::StorageContent content = copied ? server::StorageContent::copy_from(s.setup.storage.from)
                                     : s.setup.storage.fill == engine::StorageFill::zeros
                                         ? server::StorageContent::zeros()
                                         : server::StorageContent::pattern(run.seed);
    if (auto failed = server::fill_storage(t->storage_.path(), board, s.setup.storage.partition_bytes, content))
        return unexpected(*failed);
    for (const auto& partition : board.partitions) {
        t->files_.push_back(partition.file_name);
        t->initial_[partition.file_name] = t->storage_file(partition.file_name);
        t->ledger_.set_initial("/boot/" + partition.file_name, t->initial_[partition.file_name]);
    }

    auto memory = DeviceMemory::open(options.root, board.rmtfs_mem);
    if (!memory) return unexpected(memory.error());
    t->memory_ = std::move(*memory);
    auto link = sim::LocalNodeLink::open(t->io_);
    if (!link) return unexpected(link.error());
    t->link_ = std::move(*link);
    BoardTarget* self = t.get();
    t->link_->on_send_error = [self](const std::string& what) { self->record(Source::fabric, Kind::drop, what); };

    const engine::ModemSetup& m = s.setup.modems.at(0);
    sim::ModemConfig config;
    config.node = board.modem_node;
    config.partitions = m.partitions;
    config.request_timeout = milliseconds(m.request_timeout_ms);
    config.service_wait = milliseconds(m.service_wait_ms);
    // Boot loads no more than a made partition holds (copied images keep
    // their own sizes; a read past one's end is the daemon's to answer).
    config.image_sectors = copied ? m.image_sectors
                                  : std::min(m.image_sectors, static_cast<std::uint32_t>(s.setup.storage.partition_bytes /
                                                                                         rmtfs::sector_size_bytes));
    config.transfer_sectors = m.transfer_sectors;
    config.sync_interval = milliseconds(m.sync_interval_ms);
    config.sync_sectors = m.sync_sectors;
    config.on_service_loss = m.on_service_loss;
    config.on_open_failure = m.on_open_failure;
    config.seed = run.seed;
    config.buffer_bytes = board.modem_buffer_bytes;
    sim::Modem::Events events;
    events.state_changed = [self](sim::ModemState state) {
        sim::TraceFields fields;
        fields.state = std::string(sim::to_string(state));
        self->record(Source::modem, Kind::state, "modem: " + *fields.state, fields);
    };
    events.service_lost = [self](const sim::RemoteServer&) { self->record(Source::modem, Kind::service_lost, "modem"); };
    events.crashed = [self, recovery = s.setup.recovery](const std::string& reason) {
        ++self->crashes_;
        self->record(Source::modem, Kind::crashed, "modem: " + reason);
        self->ledger_.resolve_pending_as_unknown();
        // Recovery, as a remoteproc restarts a crashed processor: off, then on.
        if (recovery)
            self->soon([self] {
                self->stop_modem(0);
                self->start_modem(0);
            });
    };
    events.recovered = [self] { self->record(Source::modem, Kind::recovered, "modem"); };
    events.machine_trouble = [self](const std::string& what) { self->harness_error(what); };
    events.read_violation = [self](const sim::LedgerViolation& v) { self->read_violations_.push_back(v); };
    t->modem_ = std::make_unique<sim::Modem>(t->io_, *t->link_, *t->memory_, config, events,
                                             [self](const sim::TraceEvent& e) { self->record(e.source, e.kind, e.detail, e.fields); });
    t->modem_->attach_ledger(t->ledger_);
    t->modem_->client().late_answer = [self](std::uint16_t txn) {
        self->harness_error("the modem was answered (txn " + std::to_string(txn) +
                            ") after the harness had judged the world at rest and given up on the request: "
                            "rerun the step with \"full_wait\": true");
    };

    // Another server of the service (the system's rmtfs) would take the
    // modem's requests, and the real modem's would reach ours.
    t->link_->look_up();
    if (!t->run_until([&] { return t->link_->listed(); }, lookup_bound))
        return unexpected("the name service did not list the services within " + std::to_string(lookup_bound.count()) +
                          " ms (is the kernel's QRTR name service there?)");
    // A server that just ended (the system's service stopped for the run, the
    // previous scenario's daemon) leaves the listing a moment later.
    t->run_until([&] { return !t->modem_->endpoint().find_server(rmtfs::service_id); }, lookup_bound);
    if (auto other = t->modem_->endpoint().find_server(rmtfs::service_id))
        return unexpected("the RMTFS service (14) is already served, at " + sim::to_string(other->address) +
                          ": stop the system's rmtfs first (systemctl stop rmtfs, or stop rmtfs on Android)");

    t->server_args_ = s.setup.server.args;
    t->restart_.enabled = s.setup.server.restart.enabled;
    t->restart_.delay = milliseconds(s.setup.server.restart.delay_ms);
    t->restart_.start_limit_burst = s.setup.server.restart.burst;
    t->restart_.start_limit_interval = milliseconds(s.setup.server.restart.interval_ms);
    t->make_events();
    t->make_daemon(run.server);
    return std::unique_ptr<engine::Target>(std::move(t));
}

}  // namespace

engine::Capabilities board_capabilities(const BoardTargetOptions& options) {
    engine::Capabilities capabilities{Capability::daemon_control, Capability::daemon_upgrade,
                                      Capability::simulated_modem, Capability::hand_built_requests,
                                      Capability::storage_contents, Capability::storage_images};
    if (options.allow_modem_restart) capabilities.add(Capability::daemon_drives_modem);
    return capabilities;
}

engine::TargetFactory board_target_factory(BoardTargetOptions options) {
    return [options](const engine::Scenario& scenario, const engine::TargetOptions& run) {
        return BoardTarget::create(scenario, run, options);
    };
}

}  // namespace rmtfs_hil::hil
