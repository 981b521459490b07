// {"write": {"modem": 0, "partition": "/boot/modem_fs1", "sector": 8, "sectors": 4,
//            "data": {"pattern": "a"}, "expect": "ok" | "failed" | "unknown" | "any",
//            "error": n (with "failed"), "full_wait": bool}}
// A ledgered write of whole sectors through the modem's buffer.
#pragma once

#include "engine/data_spec.hpp"
#include "engine/step.hpp"

namespace rmtfs_hil::engine {

enum class WriteExpectation { ok, failed, unknown, any };

struct WriteStep final : StepAction {
    std::size_t modem = 0;
    std::string partition = "/boot/modem_fs1";
    std::uint32_t sector = 0;
    std::uint32_t sectors = 1;
    DataSpec data;
    WriteExpectation expect = WriteExpectation::ok;
    std::optional<std::uint16_t> error;  // of the failure answer, with expect failed
    AnswerWait wait = AnswerWait::until_idle;

    Capabilities needs() const override { return {Capability::simulated_modem}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::WriteExpectation> {
    using E = rmtfs_hil::engine::WriteExpectation;
    static constexpr std::array entries{Named{E::ok, "ok"}, Named{E::failed, "failed"}, Named{E::unknown, "unknown"},
                                        Named{E::any, "any"}};
};
