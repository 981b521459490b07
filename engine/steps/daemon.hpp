// {"daemon": "start" | "stop" | "restart" | "kill"} or {"daemon": {"upgrade": "/path/to/rmtfs"}}
#pragma once

#include "engine/step.hpp"

namespace rmtfs_hil::engine {

enum class DaemonAction { start, stop, restart, kill, upgrade };

struct DaemonStep final : StepAction {
    DaemonAction action = DaemonAction::start;
    std::string binary;  // upgrade only

    Capabilities needs() const override;
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
    std::optional<std::string> fault_label() const override;
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::DaemonAction> {
    using A = rmtfs_hil::engine::DaemonAction;
    static constexpr std::array entries{Named{A::start, "start"}, Named{A::stop, "stop"}, Named{A::restart, "restart"},
                                        Named{A::kill, "kill"}, Named{A::upgrade, "upgrade"}};
};
