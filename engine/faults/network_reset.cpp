// network_reset: ENETRESET on every bound socket, as when a name service
// binds the control port.
#include "engine/fault.hpp"

namespace rmtfs_hil::engine {

namespace {

class NetworkResetFault final : public Fault {
public:
    Capabilities needs() const override { return {Capability::network_reset}; }
    std::string describe() const override { return "ENETRESET on every bound socket"; }
    void fire(Target& target, FaultFired&) const override { target.network_reset(); }
};

std::unique_ptr<Fault> load(ScenarioReader&, const Field&) { return std::make_unique<NetworkResetFault>(); }

}  // namespace

extern const std::vector<FaultKind> network_reset_faults{{"network_reset", 80, {}, load}};

}  // namespace rmtfs_hil::engine
