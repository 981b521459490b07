// {"name_service": "start" | "stop"}: the userspace name service (qrtr-tools'
// qrtr-ns) in a world without the kernel's.
#pragma once

#include "engine/step.hpp"
#include "engine/steps/modem.hpp"

namespace rmtfs_hil::engine {

struct NameServiceStep final : StepAction {
    PowerAction action = PowerAction::start;

    Capabilities needs() const override { return {Capability::userspace_name_service}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override { return std::string(name_of(action)) + " the userspace name service"; }
};

}  // namespace rmtfs_hil::engine
