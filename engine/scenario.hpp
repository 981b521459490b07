// A scenario, as loaded from its JSON file (scenarios/scenario.schema.json;
// scenarios/README.md documents every field): the setup as plain data, the
// steps as objects (engine/step.hpp). The loader fills it
// (engine/scenario_loader.hpp), the runner acts it out on a target
// (engine/runner.hpp).
//
// Every field's JSON name is the C++ name; defaults are the C++ defaults.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <memory>
#include <vector>

#include "engine/scenario_error.hpp"
#include "engine/step.hpp"
#include "proto/names.hpp"
#include "sim/coupling.hpp"
#include "sim/modem.hpp"

namespace rmtfs_hil::engine {

enum class TargetKind { sim, adb };
enum class NameServiceMode { kernel, none };
enum class StorageFill { pattern, zeros };
enum class ObservedVerdict { fail, error };

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

// The modem's knobs as a scenario gives them; the defaults are the simulated
// modem's own (sim::ModemConfig) but for how much boot loads.
struct ModemSetup {
    std::string name = "modem";
    sim::ServiceLoss on_service_loss = defaults().on_service_loss;
    sim::OpenFailure on_open_failure = defaults().on_open_failure;
    std::uint32_t request_timeout_ms = in_ms(defaults().request_timeout);
    std::uint32_t service_wait_ms = in_ms(defaults().service_wait);
    std::uint32_t image_sectors = default_partition_sectors;  // what boot loads per partition (capped at the partition)
    std::uint32_t transfer_sectors = defaults().transfer_sectors;
    std::uint32_t sync_interval_ms = in_ms(defaults().sync_interval);  // periodic EFS syncs; 0: none
    std::uint32_t sync_sectors = defaults().sync_sectors;
    std::vector<std::string> partitions = defaults().partitions;
    bool boot = true;  // under the manual policy: boot it before the steps

private:
    static const sim::ModemConfig& defaults() {
        static const sim::ModemConfig config;
        return config;
    }
    static std::uint32_t in_ms(milliseconds duration) { return static_cast<std::uint32_t>(duration.count()); }
};

struct StorageSetup {
    std::uint64_t partition_bytes = std::uint64_t{default_partition_sectors} * rmtfs::sector_size_bytes;
    StorageFill fill = StorageFill::pattern;  // pattern: from the seed
    // Or the images of a board: a folder holding modem_fs1, modem_fs2,
    // modem_fsg, modem_fsc (copied; each keeps its size). Relative to the
    // scenario's file; the loader makes it absolute.
    std::string from;
    // Or the board's own EFS partitions: the board agent reads them once per
    // run into its scratch directory and sets `from` to that copy. Only a
    // board has them (Capability::board_efs).
    bool board_efs = false;
};

struct Setup {
    // A built-in board profile's name (server/boards/); nothing: the run's
    // board (--board), SDM845 by default.
    std::optional<std::string> board;
    sim::CouplingPolicy coupling = sim::CouplingPolicy::manual;
    bool recovery = true;              // a crashed modem is restarted
    NameServiceMode name_service = NameServiceMode::kernel;  // none: qrtr-ns may be started by a step
    ServerSetup server;
    std::vector<ModemSetup> modems = {ModemSetup{}};
    StorageSetup storage;
    bool watch_storage_reads = false;  // needed for read faults on storage
    bool watch_memory_io = false;      // needed for faults on the rmtfs_mem device
};

// ---- steps ---------------------------------------------------------------------
// One step is a JSON object with exactly one action key (a step kind's name),
// plus optional "timeout_ms" (its bound; default per kind) and "note".

struct Step {
    std::shared_ptr<const StepAction> action;
    std::string kind;  // the action key: "daemon", "boot", ...
    std::optional<std::uint32_t> timeout_ms;
    std::string note;
    SourceLocation where;

    milliseconds timeout() const { return timeout_ms ? milliseconds(*timeout_ms) : action->default_timeout(); }
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
    ObservedVerdict observed = ObservedVerdict::fail;  // the verdict seen with the known-bad server
    std::string match;     // a substring of the failure (not its step or place) that identifies it
    std::optional<std::uint32_t> step;  // 1-based: the step it shows up at; another is a new failure
};

struct Scenario {
    std::string name;         // unique in a library; [a-z0-9-]+
    std::string description;
    std::vector<std::string> tags;
    std::vector<TargetKind> targets = {TargetKind::sim};
    std::uint64_t seed = 1;
    std::uint32_t timeout_ms = 120000;           // the whole scenario's bound
    Setup setup;
    std::vector<Step> steps;
    Invariants invariants;
    std::optional<KnownIssue> known_issue;
    SourceLocation where;     // the file
};

// What the scenario needs of a target: its setup's and its steps'.
Capabilities needs_of(const Scenario& scenario);
// What a daemon's own options ask of the world, read as getopt does: -P
// (raw_partitions) and -s (daemon_drives_modem), alone or among other short
// options ("-rPs"); -o and -S take a value, in the same word or the next.
Capabilities needs_of_server_args(const std::vector<std::string>& args);
// Why a target cannot make the scenario's storage yet: `storage.board_efs`
// with no snapshot put in `storage.from` (the board agent's job); a target
// never makes other storage in its place.
std::optional<std::string> storage_not_ready(const Scenario& scenario);

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::TargetKind> {
    using T = rmtfs_hil::engine::TargetKind;
    static constexpr std::array entries{Named{T::sim, "sim"}, Named{T::adb, "adb"}};
};
template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::NameServiceMode> {
    using N = rmtfs_hil::engine::NameServiceMode;
    static constexpr std::array entries{Named{N::kernel, "kernel"}, Named{N::none, "none"}};
};
template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::StorageFill> {
    using F = rmtfs_hil::engine::StorageFill;
    static constexpr std::array entries{Named{F::pattern, "pattern"}, Named{F::zeros, "zeros"}};
};
template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::ObservedVerdict> {
    using V = rmtfs_hil::engine::ObservedVerdict;
    static constexpr std::array entries{Named{V::fail, "fail"}, Named{V::error, "error"}};
};
