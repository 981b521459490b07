// The simulated modem: a remote QRTR node that boots like the real one —
// finds the RMTFS service, opens its EFS partitions, asks for the shared
// buffer, loads the images through it — and then reads and writes sectors on
// request. Requests of every type are also available one by one, raw ones
// included, for scenarios that probe the daemon.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/names.hpp"
#include "proto/rmtfs.hpp"
#include "sim/qrtr_endpoint.hpp"
#include "sim/rmtfs_client.hpp"
#include "sim/shared_memory.hpp"
#include "sim/write_ledger.hpp"

namespace rmtfs_hil::sim {

using namespace std::chrono_literals;

// What the modem does when the RMTFS service goes away (the daemon died or
// restarted): a real modem's handles are gone and it does not reopen them.
enum class ServiceLoss {
    fatal,   // crash, and wait for the remote processor to be restarted
    reopen,  // the hypothetical modem: wait for the service, open again, go on
    ignore,  // carry on; later requests fail
};

// What the modem does when the daemon refuses to open a partition it asks for.
enum class OpenFailure {
    fail,   // the boot fails; the modem stays down (failed)
    crash,  // it crashes like a real modem: its remoteproc may restart it
    skip,   // it carries on without that partition
};

struct ModemConfig {
    std::uint32_t node = 0;
    std::uint32_t port = 0x4d;  // the modem's client port; any port of its own node
    std::vector<std::string> partitions = {"/boot/modem_fs1", "/boot/modem_fs2", "/boot/modem_fsg", "/boot/modem_fsc"};
    std::chrono::milliseconds request_timeout = 2s;
    // How long the booting modem waits for the RMTFS service to appear.
    std::chrono::milliseconds service_wait = 10s;
    std::uint32_t buffer_bytes = 0x100000;
    // Boot loads each partition's first `image_sectors` sectors, this many per RW_IOVEC.
    std::uint32_t image_sectors = 4096;  // 2 MiB
    std::uint32_t transfer_sectors = 64;
    ServiceLoss on_service_loss = ServiceLoss::fatal;
    OpenFailure on_open_failure = OpenFailure::fail;
    // Periodic EFS syncs once running: every interval, `sync_sectors` sectors
    // of new data to fs1 and fs2 in turn (the first two partitions), from
    // sector `sync_first_sector`. Zero interval: no syncs.
    std::chrono::milliseconds sync_interval = 0ms;
    std::uint32_t sync_sectors = 8;
    std::uint32_t sync_first_sector = 0;
    std::uint64_t seed = 1;  // the sync data is a function of the seed and the sync's number
};

enum class ModemState { offline, waiting_for_service, opening, allocating, loading, running, failed, crashed };

struct BootResult {
    bool ok = false;
    std::string reason;  // why it failed: "OPEN /boot/modem_fsg refused: result=1 error=1"
};

// Why a read brought no data.
struct ReadFailure {
    std::string detail;      // refused, failed or unanswered, and how
    bool timed_out = false;  // no answer within the request timeout
    bool refused = false;    // answered, with a failure result
    std::uint16_t error = 0; // when refused: the answer's error code
};
using ReadHandler = std::function<void(const Expected<Bytes, ReadFailure>&)>;

class Modem {
public:
    struct Events {
        std::function<void(ModemState)> state_changed;
        std::function<void(const RemoteServer&)> service_lost;
        // The modem died (ServiceLoss::fatal): the remote processor must be restarted.
        std::function<void(const std::string& reason)> crashed;
        // A reopening modem has its handles again.
        std::function<void()> recovered;
        // The harness's own side failed (the shared memory's backing file):
        // the machine's trouble, whatever the request's outcome says.
        std::function<void(const std::string& what)> machine_trouble;
        // A boot load returned bytes storage never held (by the ledger).
        std::function<void(const LedgerViolation&)> read_violation;
    };

    Modem(boost::asio::io_context& io, Link& link, SharedMemory& memory, ModemConfig config, Events events = {},
          TraceSink trace = {});
    ~Modem();

    ModemState state() const { return state_; }
    const ModemConfig& config() const { return config_; }
    // The caller id the daemon gave each partition, in config order.
    const std::vector<std::optional<std::uint32_t>>& caller_ids() const { return caller_ids_; }
    std::optional<std::uint64_t> buffer_address() const { return buffer_address_; }
    // What boot loaded, per partition.
    const std::vector<Bytes>& images() const { return images_; }
    RmtfsClient& client() { return client_; }
    QrtrEndpoint& endpoint() { return endpoint_; }

    void boot(std::function<void(const BootResult&)> done);
    // The remote processor was stopped: everything the modem held is gone.
    void shutdown();
    // Every write from now on is recorded in `ledger`, keyed by partition path,
    // and resolved by its answer: ok, failed (refused), unknown (no answer).
    void attach_ledger(WriteLedger& ledger) { ledger_ = &ledger; }
    std::uint64_t syncs_completed() const { return syncs_completed_; }

    // One RW_IOVEC write of `data` (whole sectors) at `sector` of partition
    // `index`, through the shared buffer.
    void write(std::size_t index, std::uint32_t sector, const Bytes& data, ResponseHandler done);
    // One RW_IOVEC read of `count` sectors; the bytes come from the buffer.
    void read(std::size_t index, std::uint32_t sector, std::uint32_t count, ReadHandler done);

private:
    static bool is_rmtfs(const RemoteServer& server);
    bool fits_region(std::uint64_t address, std::size_t length) const;
    std::string outside_region(std::uint64_t address, std::size_t length) const;
    std::optional<RemoteServer> find_rmtfs() const;
    void set_state(ModemState state);
    void wait_for_service();
    void open_next(std::size_t index);
    void allocate();
    void load(std::size_t partition, std::uint32_t sector);
    void fail_boot(std::string reason);
    void crash(std::string reason);
    void on_service_lost(const RemoteServer& server);
    void finish_recovery();
    void schedule_sync();
    void sync();

    boost::asio::io_context& io_;
    SharedMemory& memory_;
    ModemConfig config_;
    Events events_;
    TraceSink trace_;
    QrtrEndpoint endpoint_;
    RmtfsClient client_;
    ModemState state_ = ModemState::offline;
    std::function<void(const BootResult&)> boot_done_;
    boost::asio::steady_timer service_timer_;
    std::vector<std::optional<std::uint32_t>> caller_ids_;
    std::optional<std::uint64_t> buffer_address_;
    std::vector<Bytes> images_;
    bool recovering_ = false;  // reopening after a service loss: no image load
    WriteLedger* ledger_ = nullptr;
    boost::asio::steady_timer sync_timer_;
    std::uint64_t syncs_started_ = 0;
    std::uint64_t syncs_completed_ = 0;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rmtfs_hil::sim

namespace rmtfs_hil {
template <>
struct NameTable<sim::ServiceLoss> {
    static constexpr std::array entries{Named{sim::ServiceLoss::fatal, "fatal"}, Named{sim::ServiceLoss::reopen, "reopen"}, Named{sim::ServiceLoss::ignore, "ignore"}};
};
template <>
struct NameTable<sim::OpenFailure> {
    static constexpr std::array entries{Named{sim::OpenFailure::fail, "fail"}, Named{sim::OpenFailure::crash, "crash"}, Named{sim::OpenFailure::skip, "skip"}};
};
template <>
struct NameTable<sim::ModemState> {
    static constexpr std::array entries{Named{sim::ModemState::offline, "offline"}, Named{sim::ModemState::waiting_for_service, "waiting_for_service"}, Named{sim::ModemState::opening, "opening"}, Named{sim::ModemState::allocating, "allocating"}, Named{sim::ModemState::loading, "loading"}, Named{sim::ModemState::running, "running"}, Named{sim::ModemState::failed, "failed"}, Named{sim::ModemState::crashed, "crashed"}};
};
}  // namespace rmtfs_hil

namespace rmtfs_hil::sim {
inline std::string_view to_string(ServiceLoss policy) { return name_of(policy); }
inline std::string_view to_string(OpenFailure policy) { return name_of(policy); }
inline std::string_view to_string(ModemState state) { return name_of(state); }
}  // namespace rmtfs_hil::sim
