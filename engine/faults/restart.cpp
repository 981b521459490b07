// restart: SIGTERM to the daemon, then the same binary again once it ended
// (SIGKILL after the stop grace).
#include <csignal>

#include "engine/fault.hpp"

namespace rmtfs_hil::engine {

namespace {

class RestartFault final : public Fault {
public:
    Capabilities needs() const override { return {Capability::daemon_control}; }
    std::string describe() const override { return "restart of the daemon"; }
    std::vector<int> signals() const override { return {SIGTERM, SIGKILL}; }
    bool instant() const override { return true; }
    void fire(Target& target, FaultFired&) const override { target.restart_daemon_soon(std::nullopt); }
    std::optional<StepFailure> fire_now(Target& target, FaultFired&, milliseconds) const override {
        if (auto error = target.restart_daemon(std::nullopt)) return StepFailure{"restart: " + *error, true};
        return std::nullopt;
    }
};

std::unique_ptr<Fault> load(ScenarioReader&, const Field&) { return std::make_unique<RestartFault>(); }

}  // namespace

extern const std::vector<FaultKind> restart_faults{{"restart", 50, {}, load}};

}  // namespace rmtfs_hil::engine
