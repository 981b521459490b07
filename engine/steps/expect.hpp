// {"expect": {...}}: checks of the world now, each optional; at least one.
#pragma once

#include <optional>
#include <vector>

#include "engine/data_spec.hpp"
#include "engine/step.hpp"

namespace rmtfs_hil::engine {

enum class LedgerVerdict { clean, violated };

// What an expect says of the daemon: how it is, and for an end, maybe the
// exit status or the signal ("exited 3", "killed by SIGSEGV").
struct DaemonExpectation {
    enum class Is { running, stopped, exited, killed };
    Is is = Is::running;
    std::optional<int> code;    // exited with it
    std::optional<int> signal;  // killed by it
    std::string words;          // as the scenario says it

    bool holds(const DaemonStatus& status) const;
};

struct ExpectStep final : StepAction {
    std::optional<std::string> modem_state;       // of modem `index`
    std::optional<std::string> remoteproc_state;  // of remoteproc `index`
    std::size_t index = 0;
    std::optional<bool> service;                  // service 14 published
    std::optional<DaemonExpectation> daemon;
    std::vector<std::string> log;                 // substrings the daemon's log must hold
    std::vector<std::string> no_log;              // ... must not hold
    std::optional<LedgerVerdict> ledger;
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
    // At most this many more open descriptors than the daemon held when the
    // setup was done (the same daemon process): a leak per request shows.
    std::optional<std::uint32_t> daemon_fds_added;
    // At most this much more resident memory (KiB) than after the setup.
    std::optional<std::uint32_t> daemon_memory_added_kb;

    Capabilities needs() const override;
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::DaemonExpectation::Is> {
    using I = rmtfs_hil::engine::DaemonExpectation::Is;
    static constexpr std::array entries{Named{I::running, "running"}, Named{I::stopped, "stopped"},
                                        Named{I::exited, "exited"}, Named{I::killed, "killed"}};
};

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::LedgerVerdict> {
    using V = rmtfs_hil::engine::LedgerVerdict;
    static constexpr std::array entries{Named{V::clean, "clean"}, Named{V::violated, "violated"}};
};
