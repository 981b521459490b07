// A target where nothing takes time and everything answers plainly: the
// daemon runs, requests go unanswered, reads return zeros, storage is zeros.
// For driving the runner with any scenario the loader accepts, to find the
// harness's own crashes after validation (tests/fuzz/scenario_loader_fuzz.cpp).
#pragma once

#include <map>

#include "engine/scenario.hpp"
#include "engine/target.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::testing {

class FakeTarget final : public engine::Target {
public:
    explicit FakeTarget(const engine::Scenario& scenario) : scenario_(scenario) {
        const server::BoardProfile* board = scenario.setup.board ? server::find_board(*scenario.setup.board) : nullptr;
        if (board == nullptr) board = &server::default_board();
        for (const auto& partition : board->partitions) {
            files_.push_back(partition.file_name);
            storage_[partition.file_name] = Bytes(static_cast<std::size_t>(scenario.setup.storage.partition_bytes));
        }
    }

    engine::Capabilities capabilities() const override { return engine::Capabilities::all(); }
    bool wait_until(const std::function<bool()>& done, engine::milliseconds) override { return done(); }
    bool interrupted() const override { return false; }
    void set_deadline(std::chrono::steady_clock::time_point) override {}
    std::optional<engine::Unsettled> settle() override { return std::nullopt; }

    std::optional<std::string> start_daemon() override { return run_daemon(); }
    std::optional<std::string> stop_daemon(engine::milliseconds) override { return end_daemon(); }
    std::optional<std::string> kill_daemon(engine::milliseconds) override { return end_daemon(); }
    std::optional<std::string> restart_daemon(const std::optional<std::string>&) override { return run_daemon(); }
    void signal_daemon(int) override {}
    void restart_daemon_soon(const std::optional<std::string>&) override { run_daemon(); }
    engine::DaemonStatus daemon_status() override {
        engine::DaemonStatus status;
        status.state = running_ ? engine::DaemonStatus::State::running : engine::DaemonStatus::State::not_started;
        return status;
    }
    bool daemon_running() const override { return running_; }
    unsigned daemon_starts() const override { return starts_; }
    const std::vector<std::string>& daemon_log() const override { return log_; }
    bool service_published() override { return running_; }
    std::optional<engine::DaemonResources> daemon_resources() override {
        if (!running_) return std::nullopt;
        return engine::DaemonResources{1, 3, 1000};
    }

    std::size_t modem_count() const override { return scenario_.setup.modems.size(); }
    std::vector<std::string> modem_partitions(std::size_t modem) const override {
        return scenario_.setup.modems.at(modem).partitions;
    }
    sim::BootResult boot_modem(std::size_t, engine::milliseconds) override { return sim::BootResult{true, {}}; }
    std::optional<sim::BootResult> wait_for_boot(std::size_t, engine::milliseconds, unsigned) override {
        return sim::BootResult{true, {}};
    }
    unsigned boots_finished(std::size_t) const override { return 1; }
    void start_modem(std::size_t) override {}
    void stop_modem(std::size_t) override {}
    sim::ModemState modem_state(std::size_t) override { return sim::ModemState::running; }
    unsigned modem_crashes(std::size_t) const override { return 0; }
    std::uint64_t syncs_completed(std::size_t) const override { return 0; }
    engine::ModemHandles modem_handles(std::size_t modem) const override {
        engine::ModemHandles handles;
        for (std::size_t i = 0; i < modem_partitions(modem).size(); ++i)
            handles.caller_ids.emplace_back(static_cast<std::uint32_t>(i));
        handles.buffer_address = shared_memory_base();
        return handles;
    }
    std::uint64_t shared_memory_base() const override { return server::default_board().rmtfs_mem.phys_addr; }
    engine::WriteResult write(std::size_t, std::size_t, std::uint32_t, const Bytes&, engine::AnswerWait) override {
        return engine::WriteResult{sim::WriteOutcome::ok, "fake", true, false, std::nullopt};
    }
    engine::ReadResult read(std::size_t, std::size_t, std::uint32_t, std::uint32_t count, engine::AnswerWait) override {
        return engine::ReadResult{true, Bytes(static_cast<std::size_t>(count) * 512), "", true, false, false, std::nullopt};
    }
    std::optional<sim::Response> request(std::size_t, const rmtfs::Message&, engine::AnswerWait) override {
        return std::nullopt;
    }
    std::optional<sim::Response> request_raw(std::size_t, const Bytes&, engine::AnswerWait) override {
        return std::nullopt;
    }

    sim::RemoteprocState remoteproc_state(std::size_t) override { return sim::RemoteprocState::running; }
    int write_remoteproc(std::size_t, std::string_view) override { return 0; }
    void crash_remoteproc(std::size_t) override {}

    engine::TriggerId at(const engine::Trigger&, const std::string&, std::function<void()>) override { return 0; }
    void soon(std::function<void()> action) override { action(); }
    bool fired(engine::TriggerId) const override { return false; }
    std::size_t arm_io_fault(const server::IoFault&) override { return 0; }
    unsigned io_fault_hits(std::size_t) const override { return 0; }
    void link_fault(std::size_t, const engine::LinkFault&) override {}
    void network_reset() override {}
    std::optional<std::string> lose_power() override { return end_daemon(); }
    void lose_power_soon() override { end_daemon(); }
    std::optional<std::string> trouble() const override { return std::nullopt; }
    std::optional<std::string> starvation() const override { return std::nullopt; }
    std::optional<std::string> start_name_service() override { return std::nullopt; }
    void stop_name_service() override {}

    std::vector<std::string> storage_files() const override { return files_; }
    Bytes storage_file(const std::string& name) override { return storage_.at(name); }
    const Bytes& initial_storage(const std::string& name) const override { return storage_.at(name); }
    std::vector<sim::LedgerViolation> check_ledger() override { return {}; }
    const sim::WriteLedger& ledger() const override { return ledger_; }
    const std::vector<engine::TraceRecord>& events() const override { return events_; }

private:
    std::optional<std::string> run_daemon() {
        running_ = true;
        ++starts_;
        return std::nullopt;
    }
    std::optional<std::string> end_daemon() {
        running_ = false;
        return std::nullopt;
    }

    const engine::Scenario& scenario_;
    bool running_ = false;
    unsigned starts_ = 0;
    std::vector<std::string> log_;
    std::vector<std::string> files_;
    std::map<std::string, Bytes> storage_;
    sim::WriteLedger ledger_;
    std::vector<engine::TraceRecord> events_;
};

}  // namespace rmtfs_hil::testing
