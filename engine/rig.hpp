// A rig: one run of the real daemon against simulated modems, assembled and
// driven on one event loop — the sandbox (fabric, name service, devices,
// storage), the supervised daemon, the remoteprocs with their coupling
// policy, the modems with their write ledger, the fault points, and one
// trace of all of it. Scenarios, the Python module and the tests drive it
// step by step: each call runs the loop until its result is in or its bound
// has passed.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/expected.hpp"
#include "server/board_profile.hpp"
#include "server/process.hpp"
#include "server/process_faults.hpp"
#include "server/sandbox.hpp"
#include "server/storage_watch.hpp"
#include "sim/coupling.hpp"
#include "sim/link_faults.hpp"
#include "sim/modem.hpp"
#include "sim/qrtr_endpoint.hpp"
#include "sim/trace.hpp"
#include "sim/write_ledger.hpp"
#include "engine/modem_requests.hpp"
#include "engine/target.hpp"

namespace rmtfs_hil::engine {

using namespace std::chrono_literals;

inline constexpr const char* default_server = "/usr/bin/rmtfs";

// The rig's bounds, each in one place (those every target keeps: target.hpp).
// The loop stalled this long past a timer's due time without computing
// (starved of CPU, or stopped) makes every timing it saw suspect.
inline constexpr std::chrono::milliseconds starvation_threshold = 500ms;
// How often the starvation watch's timer looks (it wakes an idle loop).
inline constexpr std::chrono::milliseconds starvation_watch_period = 250ms;
// The userspace name service binding the control port once started.
inline constexpr std::chrono::milliseconds name_service_start_bound = 5s;
// Default bounds of the blocking calls below.
inline constexpr std::chrono::milliseconds default_service_wait = 10s;
inline constexpr std::chrono::milliseconds default_exit_wait = 10s;
inline constexpr std::chrono::milliseconds default_boot_wait = 20s;

struct ModemSpec {
    std::string name = "modem";
    sim::ModemConfig config;  // its node, partitions, timeouts, service-loss policy, syncs
};

struct RigOptions {
    const server::BoardProfile* board = &server::default_board();
    std::string server = default_server;
    // After the binary; "{storage}" is replaced by the storage directory.
    std::vector<std::string> server_args = {"-o", storage_placeholder, "-v"};
    server::RestartPolicy restart;
    sim::CouplingPolicy coupling = sim::CouplingPolicy::manual;
    bool recovery = true;  // a crashed modem's remoteproc restarts it
    // One or more remote processors; the first is the board's modem (node 0).
    std::vector<ModemSpec> modems = {ModemSpec{}};
    // Storage files: each partition this many bytes, filled from `seed`.
    std::uint64_t partition_bytes = std::uint64_t{default_partition_sectors} * rmtfs::sector_size_bytes;
    std::uint64_t seed = 1;
    bool zero_fill = false;  // zeros instead of the seed's pattern
    // Or copies of a board's images (a folder with modem_fs1 ...): each keeps its size.
    std::filesystem::path storage_from;
    bool kernel_name_service = true;
    bool ask_storage_reads = false;  // needed for read faults on storage
    bool ask_memory_io = false;      // needed for faults on the rmtfs_mem device
    bool keep_world = false;
};

class Rig {
public:
    static Expected<std::unique_ptr<Rig>, std::string> create(RigOptions options);
    ~Rig();
    Rig(const Rig&) = delete;
    Rig& operator=(const Rig&) = delete;

    boost::asio::io_context& io() { return io_; }
    server::Sandbox& sandbox() { return *sandbox_; }
    const RigOptions& options() const { return options_; }
    std::filesystem::path storage_dir() { return sandbox_->world().storage_dir(); }

    // Runs the loop until `done` or `timeout`, and no later than the deadline
    // (set_deadline) unless `past_deadline` allows it; false on timeout, or when
    // the interrupt check says to stop (it may also throw, to unwind a caller).
    enum class PastDeadline { no, allowed };
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                   PastDeadline past_deadline = PastDeadline::no);
    // Every wait ends by then (a scenario's timeout_ms); nullopt: no deadline.
    void set_deadline(std::optional<std::chrono::steady_clock::time_point> deadline) { deadline_ = deadline; }
    // Asked between handlers while any wait runs (Ctrl-C, a Python signal).
    // `wake_fd` (>= 0) becomes readable when the check turns true: waits wake
    // on it; without one they look every interrupt_poll.
    void set_interrupt(std::function<bool()> check, int wake_fd = -1);
    // Runs the loop for `duration` (lets things happen; not a wait for them).
    void run_for(std::chrono::milliseconds duration);
    // Runs `action` from the loop once the work in hand is done.
    void defer(std::function<void()> action);
    // Nothing is in flight: no deferred action waits, and no process owes a
    // report (an exit the kernel knows of, a stop or continue sent).
    bool settled() const;
    // Why the world may still move, or nothing when it is at rest: settled(),
    // the daemon ended or idle (server/process_idle.hpp: every thread waits
    // for input, without a timeout), every program has read what the harness
    // wrote to it and been answered what it asked, and no packet is on a link.
    // A daemon stopped by a signal is at rest only with StoppedDaemon::at_rest
    // (a judgment of its state); a wait for its answer must allow for a
    // continue.
    enum class StoppedDaemon { moving, at_rest };
    std::optional<std::string> unrest(StoppedDaemon stopped = StoppedDaemon::moving) const;
    // Runs the loop until `done`, `timeout`, or the world at rest — looked at
    // on a timer (a program going idle makes no event), first after
    // rest_poll_first, then at twice the last interval up to rest_poll_max.
    // True when it ended at rest with `done` false.
    bool run_until_rest(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                        StoppedDaemon stopped = StoppedDaemon::moving,
                        PastDeadline past_deadline = PastDeadline::no);

    // ---- the daemon ----------------------------------------------------------
    // The new pid, or why it did not start.
    Expected<pid_t, std::string> start_daemon();
    // Until service 14 is published by the local node. With the kernel's
    // name service, as it lists it; without (a userspace qrtr-ns, or none),
    // as announced to a modem whose link is up.
    bool wait_for_service(std::chrono::milliseconds timeout = default_service_wait);
    bool service_published();
    void signal_daemon(int signal_number);
    // Until the daemon's current run ended; its exit, or nullopt on timeout.
    std::optional<server::ProcessExit> wait_for_daemon_exit(std::chrono::milliseconds timeout = default_exit_wait);
    // SIGTERM (then SIGKILL after the grace), wait for the end, start again.
    Expected<pid_t, std::string> restart_daemon(std::optional<std::string> other_binary = std::nullopt);
    // The same without waiting, for a fault at an exact moment: SIGTERM is
    // pending before this returns; the stop and start follow on the loop.
    void restart_daemon_soon(std::optional<std::string> other_binary = std::nullopt);
    server::SupervisedProcess& daemon() { return *daemon_; }
    bool daemon_running() const;
    // Stopped by a signal, by the supervisor's last report (settled(): no
    // report owed).
    bool daemon_reported_stopped() const { return reported_stopped_; }
    const std::vector<std::string>& daemon_log() const { return daemon_log_; }
    unsigned daemon_starts() const;

    // ---- modems --------------------------------------------------------------
    std::size_t modem_count() const { return modems_.size(); }
    sim::Modem* modem(std::size_t index = 0);  // nullptr for an index beyond the modems
    sim::Remoteproc& remoteproc(std::size_t index = 0);
    sim::FabricLink& link(std::size_t index = 0);
    // Powers the modem on by hand (what the manual policy leaves to the
    // scenario): its remoteproc goes running and it starts booting.
    void start_modem(std::size_t index = 0);
    // start_modem() and the boot's result within `timeout`; after a failed boot, a
    // fresh one (the processor off, then on).
    sim::BootResult boot_modem(std::size_t index = 0, std::chrono::milliseconds timeout = default_boot_wait);
    // Until the modem's `nth` boot (1: the first since the rig was made)
    // finished; nth 0: the latest boot started, or the first if none has.
    std::optional<sim::BootResult> wait_for_boot(std::size_t index = 0, std::chrono::milliseconds timeout = default_boot_wait,
                                                 unsigned nth = 0);
    void stop_modem(std::size_t index = 0);
    // How many of the modem's boots have finished, either way.
    unsigned boots_finished(std::size_t index = 0) const;
    sim::ModemState modem_state(std::size_t index = 0);
    // A ledgered write of whole sectors; waits for the answer (or the timeout
    // of the modem's request). Not sent (sent false, the reason in detail)
    // when the modem holds no handle for the partition or no buffer, or the
    // data is not whole sectors or does not fit its buffer.
    // With AnswerWait::until_idle (the default) the wait ends as soon as the
    // world is at rest without an answer (unrest()): none can come then, and
    // the modem gives up on its requests as on a timeout. An answer that
    // comes anyway is the harness's error.
    WriteResult write(std::size_t modem_index, std::size_t partition, std::uint32_t sector, const Bytes& data,
                      AnswerWait wait = AnswerWait::until_idle);
    ReadResult read(std::size_t modem_index, std::size_t partition, std::uint32_t sector, std::uint32_t count,
                    AnswerWait wait = AnswerWait::until_idle);
    // One request of any type (or hand-built bytes) from the modem's port;
    // its answer, or nullopt when none came within the request timeout and
    // `grace` more (the modem's client reports the timeout itself).
    std::optional<sim::Response> request(std::size_t modem_index, const rmtfs::Message& message,
                                         AnswerWait wait = AnswerWait::until_idle);
    std::optional<sim::Response> request_raw(std::size_t modem_index, const Bytes& qmi,
                                             AnswerWait wait = AnswerWait::until_idle);
    // The processor dies on its own (a watchdog bite): the coupling's crash
    // handling and recovery follow.
    void crash_modem(std::size_t index = 0);
    unsigned modem_crashes(std::size_t index = 0) const;
    unsigned modem_boots(std::size_t index = 0) const;

    // ---- faults --------------------------------------------------------------
    server::StorageWatch& storage() { return sandbox_->storage_watch(); }
    server::ProcessFaults& process_faults() { return *process_faults_; }
    // ENETRESET on every bound socket (what a name service binding the
    // control port does).
    void network_reset();
    // With RigOptions::kernel_name_service off there is no name service
    // until this starts the userspace one (qrtr-tools' qrtr-ns) in the
    // sandbox; it lives until stop_name_service() or the rig's end.
    Expected<pid_t, std::string> start_name_service(const std::string& binary = "qrtr-ns");
    void stop_name_service();

    // Power loss: the daemon dies at once, storage loses what was not made
    // durable, the modems lose power too (their processors go offline).
    // Power comes back with start_daemon() and the modems' boots. Returns
    // what storage lost.
    Expected<std::vector<server::RevertedRange>, std::string> lose_power();
    // The same without waiting, for a fault at an exact moment: SIGKILL is
    // pending before this returns; the rest follows on the loop.
    void lose_power_soon();

    // ---- checks --------------------------------------------------------------
    sim::WriteLedger& ledger() { return ledger_; }
    // Storage files against the ledger: every acknowledged write there, every
    // unknown one old or new per sector; and the reads no step judged (boot
    // loads, hand-built RW_IOVEC reads) that returned what storage never held.
    std::vector<sim::LedgerViolation> check_storage();
    Bytes storage_file(const std::string& file_name);

    // The first thing the rig failed to do on its own (a restart or power
    // loss a trigger set off): the harness's trouble, not the daemon's.
    const std::optional<std::string>& trouble() const { return trouble_; }
    // The worst stall of the loop while it waited, when one passed
    // starvation_threshold: how late a timer fired and how little of that
    // the harness spent computing. Timeouts it saw may be the machine's.
    const std::optional<std::string>& starvation() const { return starvation_; }

    const std::vector<TraceRecord>& events() const { return events_; }
    // Called after every event is recorded (what event triggers look at).
    void on_event(std::function<void()> listener) { event_listener_ = std::move(listener); }
    // The trace as text lines, for evidence in failure messages.
    std::string trace_text(std::size_t last = 0) const;

private:
    explicit Rig(RigOptions options);
    struct ModemSlot;

    using Source = sim::TraceSource;
    using Kind = sim::TraceKind;
    void record(Source source, Kind kind, std::string detail, sim::TraceFields fields = {});
    // A process's end: its exit in the fields.
    void record_end(Source source, const server::ProcessExit& exit);
    void harness_error(std::string what);
    void make_modem(std::size_t index);
    // Where the modems' requests are judged (engine/modem_requests.hpp).
    ModemBooks books();
    // Runs the loop until `answered`, the modem's request timeout (and the
    // grace for its report), or, unless `wait` is full, the world at rest:
    // then the modem gives up on what it asked.
    void await_answer(ModemSlot& slot, const std::function<bool()>& answered, AnswerWait wait);
    void make_daemon(const std::string& binary);
    std::vector<std::string> daemon_argv(const std::string& binary) const;

    RigOptions options_;
    boost::asio::io_context io_;
    std::chrono::steady_clock::time_point epoch_;
    std::vector<TraceRecord> events_;
    std::function<void()> event_listener_;
    std::vector<std::string> daemon_log_;
    std::optional<std::string> trouble_;
    // The starvation watch: a timer on the loop, and where the last look left
    // the wall and the loop thread's CPU clock.
    void watch_starvation();
    void starvation_base();
    std::unique_ptr<boost::asio::steady_timer> starvation_timer_;
    std::chrono::steady_clock::time_point starvation_wall_;
    std::chrono::nanoseconds starvation_cpu_{0};
    std::chrono::nanoseconds worst_stall_{0};
    int wait_depth_ = 0;                               // run_until() calls in progress
    std::chrono::steady_clock::time_point left_wait_;  // when the outermost one last returned
    std::chrono::steady_clock::duration outside_wait_{};  // since the base, outside any wait
    std::optional<std::string> starvation_;
    std::unique_ptr<server::Sandbox> sandbox_;
    std::function<bool()> interrupt_;
    std::unique_ptr<boost::asio::posix::stream_descriptor> interrupt_wake_;
    server::ProcessEvents daemon_events_;
    std::unique_ptr<server::SupervisedProcess> daemon_;
    std::optional<server::ProcessExit> last_exit_;
    unsigned daemon_ends_ = 0;
    bool reported_stopped_ = false;
    unsigned deferred_ = 0;  // actions posted by defer() not yet run
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    std::unique_ptr<server::ProcessFaults> process_faults_;
    std::unique_ptr<server::SupervisedProcess> name_service_;
    sim::WriteLedger ledger_;
    std::vector<sim::LedgerViolation> read_violations_;
    std::vector<std::unique_ptr<ModemSlot>> modems_;
};

}  // namespace rmtfs_hil::engine
