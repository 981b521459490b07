// A scenario, as loaded from its JSON file (scenarios/scenario.schema.json;
// scenarios/README.md documents every field). Plain data: the loader fills
// it (engine/scenario_loader.hpp), the runner acts it out on a rig
// (engine/runner.hpp). Names stay strings where the loader has checked them
// against a closed list, so this header needs nothing from sim/ or server/.
//
// Every field's JSON name is the C++ name; defaults are the C++ defaults.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rmtfs_hil::engine {

// Where a value was in its file: for errors and for reports.
struct SourceLocation {
    std::string file;
    std::size_t line = 0;    // 1-based; 0: unknown
    std::size_t column = 0;  // 1-based, in bytes
    std::string pointer;     // JSON pointer: "/steps/3/fault"
};

// ---- setup -------------------------------------------------------------------

struct RestartSetup {
    bool enabled = false;               // Restart=always
    std::uint32_t delay_ms = 1000;      // RestartSec=
    std::uint32_t burst = 5;            // StartLimitBurst=
    std::uint32_t interval_ms = 10000;  // StartLimitIntervalSec=
};

struct ServerSetup {
    // After the binary (the run's --server); "{storage}" is the storage dir.
    std::vector<std::string> args = {"-o", "{storage}", "-v"};
    RestartSetup restart;
    bool start = true;  // start it (and wait for service 14) before the steps
};

struct ModemSetup {
    std::string name = "modem";
    std::string on_service_loss = "fatal";  // fatal | reopen | ignore
    std::string on_open_failure = "fail";   // fail | crash | skip
    std::uint32_t request_timeout_ms = 2000;
    std::uint32_t service_wait_ms = 10000;
    std::uint32_t image_sectors = 256;      // what boot loads per partition (capped at the partition)
    std::uint32_t transfer_sectors = 64;
    std::uint32_t sync_interval_ms = 0;     // periodic EFS syncs; 0: none
    std::uint32_t sync_sectors = 8;
    std::vector<std::string> partitions = {"/boot/modem_fs1", "/boot/modem_fs2", "/boot/modem_fsg", "/boot/modem_fsc"};
    bool boot = true;  // under the manual policy: boot it before the steps
};

struct StorageSetup {
    std::uint64_t partition_bytes = 256 * 512;
    std::string fill = "pattern";  // pattern (from the seed) | zeros
    // Or the images of a board: a folder holding modem_fs1, modem_fs2,
    // modem_fsg, modem_fsc (copied; each keeps its size). Relative to the
    // scenario's file; the loader makes it absolute.
    std::string from;
};

struct Setup {
    std::string board = "sdm845";      // sdm845 | apq8016
    std::string coupling = "manual";   // manual | rmtfs-sysfs | mem-open | service-watch
    bool recovery = true;              // a crashed modem is restarted
    std::string name_service = "kernel";  // kernel | none (qrtr-ns may be started by a step)
    ServerSetup server;
    std::vector<ModemSetup> modems = {ModemSetup{}};
    StorageSetup storage;
    bool watch_storage_reads = false;  // needed for read faults on storage
    bool watch_memory_io = false;      // needed for faults on the rmtfs_mem device
};

// ---- steps ---------------------------------------------------------------------
// One step is a JSON object with exactly one action key, plus optional
// "timeout_ms" (its bound; default per action) and "note" (shown in reports).

// {"daemon": "start" | "stop" | "restart" | "kill"} or {"daemon": {"upgrade": "/path/to/rmtfs"}}
struct DaemonStep {
    std::string action;   // start | stop | restart | kill | upgrade
    std::string binary;   // upgrade only
};

// {"boot": {"modem": 0, "expect": "ok" | "fail"}}: power the modem on, wait for its boot.
struct BootStep {
    std::size_t modem = 0;
    std::string expect = "ok";  // ok | fail | any
    std::string reason;         // with fail: a substring of the failure reason
};

// {"modem": {"index": 0, "action": "stop" | "start"}}: power off / on without waiting.
struct ModemStep {
    std::size_t index = 0;
    std::string action;  // start | stop
};

// Data a step writes or expects: "pattern" (from the seed and the step) or hex.
struct DataSpec {
    std::string pattern;  // any label: the bytes are a function of the seed and this label
    std::string hex;      // or exact bytes, "de ad be ef ..." (whole sectors)
    std::string fill;     // or one byte repeated, "0x00"
};

// {"write": {"modem": 0, "partition": "/boot/modem_fs1", "sector": 8, "sectors": 4,
//            "data": {"pattern": "a"}, "expect": "ok"}}
struct WriteStep {
    std::size_t modem = 0;
    std::string partition = "/boot/modem_fs1";
    std::uint32_t sector = 0;
    std::uint32_t sectors = 1;
    DataSpec data;
    std::string expect = "ok";  // ok | failed | unknown | any
};

// {"read": {"partition": ..., "sector": 8, "sectors": 1, "expect": "ok", "data": {...}}}
// The ledger checks every successful read against what may be on storage.
struct ReadStep {
    std::size_t modem = 0;
    std::string partition = "/boot/modem_fs1";
    std::uint32_t sector = 0;
    std::uint32_t sectors = 1;
    std::string expect = "ok";  // ok | failed | any
    std::optional<DataSpec> data;
};

// Expected answer of a request step.
struct AnswerExpectation {
    bool answered = true;           // false: expect no answer within the timeout
    std::optional<std::uint16_t> result;  // 0 success, 1 failure
    std::optional<std::uint16_t> error;   // 0 none, 1 internal, 2 malformed
    std::optional<std::uint32_t> caller_id;  // OPEN's
};

// {"request": {"message": "OPEN", "path": "/boot/modem_fs1", "expect": {"result": 0}}}
// One RMTFS request, fields as the message has them; omitted ones come from
// the modem's state (its caller id for the partition, its buffer).
struct RequestStep {
    std::size_t modem = 0;
    std::string message;  // OPEN | CLOSE | RW_IOVEC | ALLOC_BUFF | GET_DEV_ERROR
    std::optional<std::string> path;          // OPEN
    std::optional<std::uint32_t> caller_id;   // CLOSE, RW_IOVEC, ALLOC_BUFF, GET_DEV_ERROR
    std::optional<std::string> partition;     // or the caller id the modem holds for it
    std::optional<std::uint8_t> direction;    // RW_IOVEC: 0 read, 1 write
    struct Iovec {
        std::uint32_t sector_addr = 0;
        std::optional<std::uint32_t> phys_offset;  // default: the modem's buffer
        std::uint32_t num_sector = 1;
    };
    std::vector<Iovec> iovec;                 // RW_IOVEC
    std::optional<std::uint8_t> force_sync;   // RW_IOVEC
    std::optional<std::uint32_t> size;        // ALLOC_BUFF
    AnswerExpectation expect;
};

// {"raw": {"hex": "00 01 00 01 00 ...", "expect": {"answered": false}}}
// A hand-built QMI message (any bytes) from the modem's port.
struct RawStep {
    std::size_t modem = 0;
    std::string hex;
    AnswerExpectation expect;
};

// {"fault": {"action": "sigkill", "when": {"request": "RW_IOVEC", "nth": 2}}}
// when: {"request": MESSAGE, "nth": k} | {"after_write": k, "file": "modem_fs1"}
//     | {"after_ms": t} | omitted: now.
struct FaultStep {
    std::string action;  // sigkill | sigterm | sigstop | sigcont | restart
    std::string when = "now";  // now | request | after_write | after_ms
    std::string request;       // message name, with when = request
    std::uint32_t nth = 1;     // with request / after_write
    std::string file;          // with after_write: only writes to this storage file
    std::uint32_t after_ms = 0;
};

// {"io_fault": {"call": "write", "error": "EIO", "target": "storage", "file": "modem_fs1",
//               "nth": 1, "times": 1}}  or "short_bytes": 100 instead of "error".
struct IoFaultStep {
    std::string call;               // open | read | write | sync
    std::string error;              // errno name, "EIO"
    std::optional<std::uint32_t> short_bytes;
    std::string target = "storage"; // storage | memory
    std::string file;               // storage file name; empty: any
    std::uint32_t nth = 1;
    std::uint32_t times = 1;        // 0: every matching call from then on
};

// {"link": {"modem": 0, "action": "down" | "up" | "drop" | "delay" | "duplicate" | "reorder" | "clear",
//           "direction": "to_daemon" | "to_modem", "probability": 1.0, "delay_ms": 50, "window": 2}}
struct LinkStep {
    std::size_t modem = 0;
    std::string action;
    std::string direction = "to_daemon";
    double probability = 1.0;
    std::uint32_t delay_ms = 0;
    std::uint32_t window = 2;  // reorder: packets held and released reversed
};

// {"network_reset": {}}, {"power_loss": {}}, {"name_service": "start" | "stop"}
struct NetworkResetStep {};
struct PowerLossStep {};
struct NameServiceStep {
    std::string action;  // start | stop
};

// {"remoteproc": {"index": 0, "write": "start" | "stop"}} as a program writing the
// state file would; {"remoteproc": {"index": 0, "crash": true}} as the kernel
// reporting the processor crashed.
struct RemoteprocStep {
    std::size_t index = 0;
    std::string write;  // start | stop
    bool crash = false;
    std::optional<int> expect_error;  // errno the write must fail with (EBUSY, EINVAL); 0: success
};

// {"wait_for": {"event": "...", ...}} — never a bare sleep: an event, bounded by timeout_ms.
//   service_published | service_gone | daemon_exit | daemon_started | modem_state (state) |
//   remoteproc_state (state) | log (text) | syncs (count: completed periodic syncs) |
//   boot_finished (modem, nth) | restarts (count: daemon starts after the first)
struct WaitStep {
    std::string event;
    std::size_t index = 0;      // modem / remoteproc index
    std::string state;          // modem_state / remoteproc_state
    std::string text;           // log
    std::uint32_t count = 1;    // syncs, restarts, boot_finished's nth
};

// {"expect": {...}}: checks now, each optional.
struct ExpectStep {
    std::optional<std::string> modem_state;       // of modem `index`
    std::optional<std::string> remoteproc_state;
    std::size_t index = 0;
    std::optional<bool> service;                  // service 14 published
    std::optional<std::string> daemon;            // running | "exited 0" | "killed by SIGKILL" | "exited" | "killed" | stopped
    std::vector<std::string> log;                 // substrings the daemon's log must hold
    std::vector<std::string> no_log;              // ... must not hold
    std::optional<std::string> ledger;            // clean | violated
    std::vector<std::string> ledger_violations;   // with violated: substrings, each matched by a violation
    struct StorageCheck {
        std::string file = "modem_fs1";
        std::uint32_t sector = 0;
        std::uint32_t sectors = 1;
        std::optional<DataSpec> data;    // equals these bytes
        std::string sha256;              // or hashes to this
        std::optional<bool> unchanged;   // equals the initial contents
    };
    std::vector<StorageCheck> storage;
    std::optional<std::uint32_t> daemon_starts;
    std::optional<std::uint32_t> modem_crashes;
};

using StepAction = std::variant<DaemonStep, BootStep, ModemStep, WriteStep, ReadStep, RequestStep, RawStep, FaultStep,
                                IoFaultStep, LinkStep, NetworkResetStep, PowerLossStep, NameServiceStep,
                                RemoteprocStep, WaitStep, ExpectStep>;

struct Step {
    StepAction action;
    std::string kind;  // the action key: "daemon", "boot", ...
    std::optional<std::uint32_t> timeout_ms;
    std::string note;
    SourceLocation where;
};

// ---- invariants, known issues ------------------------------------------------------

// Checked throughout and at the end; all on by default.
struct Invariants {
    bool ledger = true;              // every acknowledged write on storage, every read real
    bool server_alive = true;        // the daemon never dies of a signal it was not sent
    bool requests_answered = true;   // no modem request unanswered past its timeout while the daemon runs
};

// The real daemon misbehaves here: what a correct server must do is what the
// scenario asserts; this says what is observed instead, so CI can tell
// "known bad" from "newly broken" and notice a fix.
struct KnownIssue {
    std::string text;      // what goes wrong, for people
    std::string observed = "fail";  // the verdict seen with the known-bad server: fail | error
    std::string match;     // a substring of the failure reason that identifies it
};

struct Scenario {
    std::string name;         // unique in a library; [a-z0-9-]+
    std::string description;
    std::vector<std::string> tags;
    std::vector<std::string> targets = {"sim"};  // sim | adb
    std::uint64_t seed = 1;
    std::uint32_t timeout_ms = 120000;           // the whole scenario's bound
    Setup setup;
    std::vector<Step> steps;
    Invariants invariants;
    std::optional<KnownIssue> known_issue;
    SourceLocation where;     // the file
};

}  // namespace rmtfs_hil::engine
