#include "engine/steps/link.hpp"

#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<LinkStep>();
    LinkFault& fault = step->fault;
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, {"modem", "action", "direction", "probability", "delay_ms", "window"});
    reader.require(f, {"action"});
    reader.get_index(reader.field(f, "modem"), step->modem, "modem");
    bool action_ok = reader.get_enum(reader.field(f, "action"), fault.action, "link action");
    reader.get_enum(reader.field(f, "direction"), fault.direction, "direction");
    if (Field probability = reader.field(f, "probability")) {
        if (!probability->is_number()) {
            reader.error(probability.pointer, "expected a number from 0 to 1, found " + found(*probability));
        } else {
            double value = probability->get<double>();
            if (!(value >= 0.0 && value <= 1.0))
                reader.error(probability.pointer, "out of range: " + found(*probability) + " is not between 0 and 1");
            else
                fault.probability = value;
        }
    }
    std::uint32_t delay_ms = 0;
    if (reader.get_uint(reader.field(f, "delay_ms"), delay_ms)) fault.delay = milliseconds(delay_ms);
    reader.get_uint(reader.field(f, "window"), fault.window, 2);
    if (!action_ok) return step;
    const LinkAction a = fault.action;
    const std::string name(name_of(a));
    if (a != LinkAction::drop && a != LinkAction::duplicate)
        reader.reject(f, "probability", "'probability' is only for actions 'drop' and 'duplicate'");
    if (a != LinkAction::delay) reader.reject(f, "delay_ms", "'delay_ms' is only for action 'delay'");
    if (a == LinkAction::delay && !f->contains("delay_ms")) reader.error(f.pointer, "action 'delay' needs 'delay_ms'");
    if (a != LinkAction::reorder) reader.reject(f, "window", "'window' is only for action 'reorder'");
    if (a == LinkAction::down || a == LinkAction::up)
        reader.reject(f, "direction", "'direction' is not for '" + name + "': the whole link goes " + name);
    return step;
}

}  // namespace

extern const StepKind link_step{"link", 100, load};

std::optional<StepFailure> LinkStep::run(StepContext& context) const {
    LinkFault seeded = fault;
    seeded.seed = context.seed;
    context.target.link_fault(modem, seeded);
    return std::nullopt;
}

std::string LinkStep::describe() const {
    return "link of modem " + std::to_string(modem) + ": " + std::string(name_of(fault.action));
}

std::optional<std::string> LinkStep::fault_label() const {
    if (fault.action == LinkAction::up || fault.action == LinkAction::clear) return std::nullopt;
    return "link " + std::string(name_of(fault.action));
}

}  // namespace rmtfs_hil::engine
