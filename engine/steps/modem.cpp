#include "engine/steps/modem.hpp"

#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<ModemStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, {"index", "action"});
    reader.require(f, {"action"});
    reader.get_index(reader.field(f, "index"), step->index, "modem");
    reader.get_enum(reader.field(f, "action"), step->action, "action");
    return step;
}

}  // namespace

extern const StepKind modem_step{"modem", 30, load};

std::optional<StepFailure> ModemStep::run(StepContext& context) const {
    if (action == PowerAction::start)
        context.target.start_modem(index);
    else
        context.target.stop_modem(index);
    return std::nullopt;
}

std::string ModemStep::describe() const { return std::string(name_of(action)) + " modem " + std::to_string(index); }

}  // namespace rmtfs_hil::engine
