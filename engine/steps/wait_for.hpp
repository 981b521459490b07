// {"wait_for": {"event": "...", ...}}: never a bare sleep; an event
// (engine/event_condition.hpp), bounded by the step's timeout_ms.
#pragma once

#include "engine/event_condition.hpp"
#include "engine/step.hpp"

namespace rmtfs_hil::engine {

struct WaitStep final : StepAction {
    EventCondition condition;

    Capabilities needs() const override;
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override { return "wait for " + condition.describe(); }
};

}  // namespace rmtfs_hil::engine
