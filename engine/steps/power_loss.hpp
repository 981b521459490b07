// {"power_loss": {}}: the daemon dies at once, storage loses what was not
// made durable, the modems lose power. Power comes back with the daemon's
// start and the modems' boots.
#pragma once

#include "engine/step.hpp"

namespace rmtfs_hil::engine {

struct PowerLossStep final : StepAction {
    Capabilities needs() const override { return {Capability::power_loss}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override { return "power loss"; }
    std::optional<std::string> fault_label() const override { return "power_loss"; }
};

}  // namespace rmtfs_hil::engine
