// upgrade: the daemon stops (SIGTERM, SIGKILL after the grace) and another
// build starts in its place with the same arguments — at once, or at any
// trigger: {"fault": {"action": "upgrade", "binary": "/path/to/rmtfs",
// "when": {"request": "RW_IOVEC", "nth": 3}}}.
#include <csignal>

#include "engine/fault.hpp"
#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

class UpgradeFault final : public Fault {
public:
    explicit UpgradeFault(std::string binary) : binary_(std::move(binary)) {}
    Capabilities needs() const override { return {Capability::daemon_control, Capability::daemon_upgrade}; }
    std::string describe() const override { return "upgrade of the daemon to " + binary_; }
    std::vector<int> signals() const override { return {SIGTERM, SIGKILL}; }
    bool instant() const override { return true; }
    void fire(Target& target, FaultFired&) const override { target.restart_daemon_soon(binary_); }
    std::optional<StepFailure> fire_now(Target& target, FaultFired&, milliseconds) const override {
        if (auto error = target.restart_daemon(binary_)) return StepFailure{"upgrade: " + *error, true};
        return std::nullopt;
    }

private:
    std::string binary_;
};

std::unique_ptr<Fault> load(ScenarioReader& reader, const Field& f) {
    std::string binary;
    if (!f->contains("binary"))
        reader.error(f.pointer, "an upgrade needs 'binary': the build to start in the daemon's place");
    else
        reader.get_string(reader.field(f, "binary"), binary, true);
    return std::make_unique<UpgradeFault>(binary);
}

}  // namespace

extern const std::vector<FaultKind> upgrade_faults{{"upgrade", 60, {"binary"}, load}};

}  // namespace rmtfs_hil::engine
