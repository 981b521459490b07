// link_down, link_up: one modem's QRTR link goes away (its node is gone, as
// when its processor stops) or comes back; {"modem": i} picks it.
#include "engine/fault.hpp"
#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

class LinkFaultOfModem final : public Fault {
public:
    LinkFaultOfModem(std::size_t modem, LinkAction action) : modem_(modem), action_(action) {}
    Capabilities needs() const override { return {Capability::link_faults}; }
    std::string describe() const override { return "link " + std::string(name_of(action_)) + " of modem " + std::to_string(modem_); }
    void fire(Target& target, FaultFired&) const override { target.link_fault(modem_, LinkFault{action_}); }

private:
    std::size_t modem_;
    LinkAction action_;
};

template <LinkAction action>
std::unique_ptr<Fault> load(ScenarioReader& reader, const Field& f) {
    std::size_t modem = 0;
    reader.get_index(reader.field(f, "modem"), modem, "modem");
    return std::make_unique<LinkFaultOfModem>(modem, action);
}

}  // namespace

extern const std::vector<FaultKind> link_faults{
    {"link_down", 100, {"modem"}, load<LinkAction::down>},
    {"link_up", 110, {"modem"}, load<LinkAction::up>},
};

}  // namespace rmtfs_hil::engine
