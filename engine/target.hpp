// What a scenario's steps may ask of a world. The simulated rig is one
// implementation (engine/sim_target.hpp); a board reached through ADB is the
// next. The engine owns this interface: targets depend on the engine, never
// the reverse.
//
// Each call that waits runs the world until its result is in or its bound
// has passed. Calls marked "from a trigger" never wait: they are what a fault
// does at an exact moment, perhaps while the daemon is held inside a call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/capability.hpp"
#include "engine/report.hpp"
#include "engine/trigger.hpp"
#include "proto/bytes.hpp"
#include "proto/rmtfs.hpp"
#include "server/process_exit.hpp"
#include "server/storage_watch.hpp"
#include "sim/modem.hpp"
#include "sim/remoteproc.hpp"
#include "sim/rmtfs_client.hpp"
#include "sim/write_ledger.hpp"

namespace rmtfs_hil::engine {

// Bounds every target keeps, each in one place.
// A request's answer: the modem's own timeout reports it; this much more for
// that report to arrive before the target stops waiting.
inline constexpr std::chrono::milliseconds request_report_grace{5000};
// After SIGKILL, how long the end of the daemon may take to be reported.
inline constexpr std::chrono::milliseconds kill_report_grace{5000};
// How long the processes' reports owed (an exit, a stop or continue the
// harness sent) may take to arrive before the target calls it the machine's trouble.
inline constexpr std::chrono::milliseconds settle_bound{5000};
// Stands for the storage directory in server arguments.
inline constexpr const char* storage_placeholder = "{storage}";

using std::chrono::milliseconds;

// A scenario's storage files and what a modem's boot loads of each, unless
// the scenario says otherwise: small, so that a run is quick.
inline constexpr std::uint32_t default_partition_sectors = 256;

// Where the daemon is now.
// What the running daemon holds: its open descriptors (the shim's hidden
// channels and the preloaded libraries included, so only changes mean
// anything) and its resident memory.
struct DaemonResources {
    int pid = 0;
    std::size_t open_files = 0;
    std::size_t resident_kb = 0;
};

// A process's open descriptors and resident memory, from /proc; nothing when
// it is gone.
std::optional<DaemonResources> process_resources(int pid);

struct DaemonStatus {
    enum class State { not_started, running, stopped, ended };
    State state = State::not_started;
    std::optional<server::ProcessExit> exit;  // of its last run, once one ended

    // "running", "stopped", "exited 0", "killed by SIGKILL", "not started"
    std::string describe() const;
};

// Why the world did not come to rest for a judgment.
struct Unsettled {
    std::string why;
    bool machine = true;  // the harness's or the machine's trouble (error), or the daemon's (fail)
};

// How long a request waits for its answer: until the modem's request
// timeout, or until then or the world is at rest with no answer (none can
// come; see Rig::unrest()).
enum class AnswerWait { until_idle, full };

struct WriteResult {
    sim::WriteOutcome outcome = sim::WriteOutcome::pending;
    std::string detail;      // the response, or why there was none
    bool sent = true;        // false: the modem could not send it (detail says why)
    bool timed_out = false;  // no answer within the modem's request timeout
    std::optional<std::uint16_t> error;  // answered with a failure result: its error code
};

struct ReadResult {
    bool ok = false;
    Bytes data;
    std::string detail;      // why it failed; on success, a ledger violation the data shows, if any
    bool sent = true;        // false: the modem could not send it (detail says why)
    bool timed_out = false;  // no answer within the modem's request timeout
    bool refused = false;    // answered, with a failure result
    std::optional<std::uint16_t> error;  // when refused: the answer's error code
};

// What a modem holds: a caller id per partition (in its partitions' order)
// and its shared buffer.
struct ModemHandles {
    std::vector<std::optional<std::uint32_t>> caller_ids;
    std::optional<std::uint64_t> buffer_address;
};

enum class LinkAction { down, up, drop, delay, duplicate, reorder, clear };
enum class LinkDirection { to_daemon, to_modem };

// A fault on the packets of a modem's link.
struct LinkFault {
    LinkAction action = LinkAction::drop;
    LinkDirection direction = LinkDirection::to_daemon;
    double probability = 1.0;            // drop, duplicate
    milliseconds delay{0};               // delay
    std::uint32_t window = 2;            // reorder
    std::uint64_t seed = 1;              // drop, duplicate
};

// One event of the run: the report's TraceEntry (engine/report.hpp).
using TraceRecord = TraceEntry;

// A process's end as the trace's fields carry it.
sim::TraceExit trace_exit(const server::ProcessExit& exit);

using TriggerId = std::size_t;

class Target {
public:
    virtual ~Target() = default;

    virtual Capabilities capabilities() const = 0;

    // ---- the world's loop
    // Runs the world until `done` or `timeout`; false on timeout or when the
    // run was interrupted (Ctrl-C).
    virtual bool wait_until(const std::function<bool()>& done, milliseconds timeout) = 0;
    virtual bool interrupted() const = 0;
    // No wait of a step goes past it (the scenario's timeout_ms); settle()
    // may, to report what the last step set off.
    virtual void set_deadline(std::chrono::steady_clock::time_point deadline) = 0;
    // Runs the world until it is at rest: no action put off by soon() waits,
    // no process owes a report (an exit, a stop or continue sent), the daemon
    // is stopped, ended or waits for input with nothing left to read, and no
    // packet is on its way. Judgments of the daemon, the service, the modems
    // and storage come after this. Why not, when the world did not come to
    // rest within the target's bound: the machine's trouble (a report never
    // came), or the daemon's (it never went idle).
    virtual std::optional<Unsettled> settle() = 0;

    // ---- the daemon (each returns why it could not, or nothing)
    virtual std::optional<std::string> start_daemon() = 0;
    // SIGTERM, SIGKILL after the grace, until it ended.
    virtual std::optional<std::string> stop_daemon(milliseconds bound) = 0;
    virtual std::optional<std::string> kill_daemon(milliseconds bound) = 0;
    // Stop, then start again (`binary`: another build in its place, an upgrade).
    virtual std::optional<std::string> restart_daemon(const std::optional<std::string>& binary) = 0;
    // From a trigger: the signal is pending before this returns.
    virtual void signal_daemon(int signal_number) = 0;
    // From a trigger: SIGTERM now; the start again once the daemon ended.
    virtual void restart_daemon_soon(const std::optional<std::string>& binary) = 0;
    // As last reported; settle() first for a judgment of it.
    virtual DaemonStatus daemon_status() = 0;
    // Its process is there (running or stopped); cheap enough for a wait's condition.
    virtual bool daemon_running() const = 0;
    virtual unsigned daemon_starts() const = 0;
    virtual const std::vector<std::string>& daemon_log() const = 0;
    // Service 14 published by the daemon's node.
    virtual bool service_published() = 0;
    // Of the daemon that runs now; nothing when none does.
    virtual std::optional<DaemonResources> daemon_resources() = 0;

    // ---- modems
    virtual std::size_t modem_count() const = 0;
    virtual std::vector<std::string> modem_partitions(std::size_t modem) const = 0;
    // Power the modem on (what the manual policy leaves to the scenario) and wait for its boot.
    virtual sim::BootResult boot_modem(std::size_t modem, milliseconds bound) = 0;
    // Until the modem's `nth` boot finished (0: the latest started).
    virtual std::optional<sim::BootResult> wait_for_boot(std::size_t modem, milliseconds bound, unsigned nth) = 0;
    // How many of the modem's boots have finished, either way.
    virtual unsigned boots_finished(std::size_t modem) const = 0;
    virtual void start_modem(std::size_t modem) = 0;
    virtual void stop_modem(std::size_t modem) = 0;
    virtual sim::ModemState modem_state(std::size_t modem) = 0;
    virtual unsigned modem_crashes(std::size_t modem) const = 0;
    virtual std::uint64_t syncs_completed(std::size_t modem) const = 0;
    virtual ModemHandles modem_handles(std::size_t modem) const = 0;
    virtual std::uint64_t shared_memory_base() const = 0;
    // A ledgered write / read of whole sectors through the modem's buffer.
    virtual WriteResult write(std::size_t modem, std::size_t partition, std::uint32_t sector, const Bytes& data,
                              AnswerWait wait) = 0;
    virtual ReadResult read(std::size_t modem, std::size_t partition, std::uint32_t sector, std::uint32_t count,
                            AnswerWait wait) = 0;
    // One request from the modem's port; nullopt when no answer came.
    virtual std::optional<sim::Response> request(std::size_t modem, const rmtfs::Message& message, AnswerWait wait) = 0;
    virtual std::optional<sim::Response> request_raw(std::size_t modem, const Bytes& qmi, AnswerWait wait) = 0;

    // ---- remote processors
    virtual sim::RemoteprocState remoteproc_state(std::size_t index) = 0;
    // A write to its state file, answered like the kernel: 0 or the errno.
    virtual int write_remoteproc(std::size_t index, std::string_view text) = 0;
    // From a trigger too: the processor dies on its own (a watchdog bite).
    virtual void crash_remoteproc(std::size_t index) = 0;

    // ---- faults
    // Calls `action` when `trigger` fires (a trigger's kind `now` fires at once),
    // at that exact moment: inside a datagram's delivery, while the daemon is
    // held in a write, inside the recording of an event. An action that does
    // more than signal the daemon hands its work to soon().
    virtual TriggerId at(const Trigger& trigger, const std::string& what, std::function<void()> action) = 0;
    // Runs `action` from the target's loop once the work in hand is done,
    // before anything that happens after it (the daemon's next held call,
    // its answer to a request delivered now).
    virtual void soon(std::function<void()> action) = 0;
    virtual bool fired(TriggerId id) const = 0;
    virtual std::size_t arm_io_fault(const server::IoFault& fault) = 0;
    virtual unsigned io_fault_hits(std::size_t index) const = 0;
    // From a trigger too.
    virtual void link_fault(std::size_t modem, const LinkFault& fault) = 0;
    virtual void network_reset() = 0;
    // The daemon dies at once, storage loses what was not durable, the
    // modems lose power. Returns when all that is done.
    virtual std::optional<std::string> lose_power() = 0;
    // From a trigger: SIGKILL now, the rest once the daemon ended.
    virtual void lose_power_soon() = 0;
    // The first work the target did on its own (a restart or power loss a
    // trigger set off) that failed, or the machine failing it (no space on
    // the world's file system): the harness's trouble, not the daemon's.
    virtual std::optional<std::string> trouble() const = 0;
    // When the harness was starved of CPU while it waited (its timers fired
    // far later than due): what it saw time out may be the machine's doing.
    virtual std::optional<std::string> starvation() const = 0;
    virtual std::optional<std::string> start_name_service() = 0;
    virtual void stop_name_service() = 0;

    // ---- storage and its judgment
    virtual std::vector<std::string> storage_files() const = 0;
    virtual Bytes storage_file(const std::string& name) = 0;
    // What a file held before the daemon first ran.
    virtual const Bytes& initial_storage(const std::string& name) const = 0;
    virtual std::vector<sim::LedgerViolation> check_ledger() = 0;
    virtual const sim::WriteLedger& ledger() const = 0;

    // ---- the trace
    virtual const std::vector<TraceRecord>& events() const = 0;
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::LinkAction> {
    using A = rmtfs_hil::engine::LinkAction;
    static constexpr std::array entries{Named{A::down, "down"},   Named{A::up, "up"},
                                        Named{A::drop, "drop"},   Named{A::delay, "delay"},
                                        Named{A::duplicate, "duplicate"}, Named{A::reorder, "reorder"},
                                        Named{A::clear, "clear"}};
};
template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::LinkDirection> {
    using D = rmtfs_hil::engine::LinkDirection;
    static constexpr std::array entries{Named{D::to_daemon, "to_daemon"}, Named{D::to_modem, "to_modem"}};
};
