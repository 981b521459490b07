// {"link": {"modem": 0, "action": "down" | "up" | "drop" | "delay" | "duplicate" | "reorder" | "clear",
//           "direction": "to_daemon" | "to_modem", "probability": 1.0, "delay_ms": 50, "window": 2}}
// Faults on the packets of a modem's QRTR link.
#pragma once

#include "engine/step.hpp"

namespace rmtfs_hil::engine {

struct LinkStep final : StepAction {
    std::size_t modem = 0;
    LinkFault fault;

    Capabilities needs() const override { return {Capability::link_faults}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
    std::optional<std::string> fault_label() const override;
};

}  // namespace rmtfs_hil::engine
