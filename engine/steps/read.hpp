// {"read": {"modem": 0, "partition": ..., "sector": 8, "sectors": 1, "expect": "ok", "data": {...}}}
// The ledger checks every successful read against what may be on storage.
#pragma once

#include <optional>

#include "engine/data_spec.hpp"
#include "engine/step.hpp"

namespace rmtfs_hil::engine {

enum class ReadExpectation { ok, failed, any };

struct ReadStep final : StepAction {
    std::size_t modem = 0;
    std::string partition = "/boot/modem_fs1";
    std::uint32_t sector = 0;
    std::uint32_t sectors = 1;
    std::optional<std::uint16_t> error;  // of the failure answer, with expect failed
    AnswerWait wait = AnswerWait::until_idle;
    ReadExpectation expect = ReadExpectation::ok;
    std::optional<DataSpec> data;

    Capabilities needs() const override { return {Capability::simulated_modem}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::ReadExpectation> {
    using E = rmtfs_hil::engine::ReadExpectation;
    static constexpr std::array entries{Named{E::ok, "ok"}, Named{E::failed, "failed"}, Named{E::any, "any"}};
};
