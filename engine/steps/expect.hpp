// {"expect": {...}}: checks of the world now, each optional; at least one.
#pragma once

#include <optional>
#include <vector>

#include "engine/data_spec.hpp"
#include "engine/step.hpp"

namespace rmtfs_hil::engine {

enum class LedgerVerdict { clean, violated };

struct ExpectStep final : StepAction {
    std::optional<std::string> modem_state;       // of modem `index`
    std::optional<std::string> remoteproc_state;  // of remoteproc `index`
    std::size_t index = 0;
    std::optional<bool> service;                  // service 14 published
    std::optional<std::string> daemon;            // running | stopped | exited | "exited N" | killed | "killed by SIGNAME"
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

    Capabilities needs() const override;
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::LedgerVerdict> {
    using V = rmtfs_hil::engine::LedgerVerdict;
    static constexpr std::array entries{Named{V::clean, "clean"}, Named{V::violated, "violated"}};
};
