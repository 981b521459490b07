// {"network_reset": {}}: ENETRESET on every bound socket (what a name service
// binding the control port does).
#pragma once

#include "engine/step.hpp"

namespace rmtfs_hil::engine {

struct NetworkResetStep final : StepAction {
    Capabilities needs() const override { return {Capability::network_reset}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override { return "ENETRESET on every bound socket"; }
    std::optional<std::string> fault_label() const override { return "network_reset"; }
};

}  // namespace rmtfs_hil::engine
