// {"boot": {"modem": 0, "expect": "ok" | "fail" | "any", "reason": "..."}}:
// power the modem on and wait for its boot.
#pragma once

#include "engine/step.hpp"

namespace rmtfs_hil::engine {

enum class BootExpectation { ok, fail, any };

struct BootStep final : StepAction {
    std::size_t modem = 0;
    BootExpectation expect = BootExpectation::ok;
    std::string reason;  // with fail: a substring of the failure reason

    Capabilities needs() const override { return {Capability::simulated_modem}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
    milliseconds default_timeout() const override { return default_boot_timeout; }
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::BootExpectation> {
    using E = rmtfs_hil::engine::BootExpectation;
    static constexpr std::array entries{Named{E::ok, "ok"}, Named{E::fail, "fail"}, Named{E::any, "any"}};
};
