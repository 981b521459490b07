// {"modem": {"index": 0, "action": "start" | "stop"}}: power a modem's
// processor on or off without waiting for anything.
#pragma once

#include "engine/step.hpp"

namespace rmtfs_hil::engine {

enum class PowerAction { start, stop };

struct ModemStep final : StepAction {
    std::size_t index = 0;
    PowerAction action = PowerAction::start;

    Capabilities needs() const override { return {Capability::simulated_modem, Capability::modem_power}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::PowerAction> {
    using A = rmtfs_hil::engine::PowerAction;
    static constexpr std::array entries{Named{A::start, "start"}, Named{A::stop, "stop"}};
};
