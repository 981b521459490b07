// power_loss: the daemon dies at once (SIGKILL), storage loses what was not
// made durable, the remote processors lose power too.
#include <csignal>

#include "engine/fault.hpp"

namespace rmtfs_hil::engine {

namespace {

class PowerLossFault final : public Fault {
public:
    Capabilities needs() const override { return {Capability::power_loss}; }
    std::string describe() const override { return "power loss"; }
    std::vector<int> signals() const override { return {SIGKILL}; }
    bool instant() const override { return true; }
    void fire(Target& target, FaultFired&) const override { target.lose_power_soon(); }
    std::optional<StepFailure> fire_now(Target& target, FaultFired&, milliseconds) const override {
        if (auto error = target.lose_power()) return StepFailure{"power loss: " + *error, true};
        return std::nullopt;
    }
};

std::unique_ptr<Fault> load(ScenarioReader&, const Field&) { return std::make_unique<PowerLossFault>(); }

}  // namespace

extern const std::vector<FaultKind> power_loss_faults{{"power_loss", 70, {}, load}};

}  // namespace rmtfs_hil::engine
