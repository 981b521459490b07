// {"raw": {"hex": "00 01 00 01 00 ...", "expect": {"answered": false}}}
// A hand-built QMI message (any bytes) from the modem's port.
#pragma once

#include "engine/step.hpp"
#include "engine/step_support.hpp"

namespace rmtfs_hil::engine {

struct RawStep final : StepAction {
    std::size_t modem = 0;
    Bytes bytes;
    AnswerExpectation expect;
    AnswerWait wait = AnswerWait::until_idle;

    Capabilities needs() const override { return {Capability::simulated_modem, Capability::hand_built_requests}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
};

}  // namespace rmtfs_hil::engine
