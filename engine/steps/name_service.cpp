#include "engine/steps/name_service.hpp"

#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<NameServiceStep>();
    if (f->is_string())
        reader.enum_value(*f, f.pointer, step->action, "action");
    else
        reader.error(f.pointer, "expected " + wording::alternatives(names_of<PowerAction>()) + ", found " + found(*f));
    return step;
}

}  // namespace

extern const StepKind name_service_step{"name_service", 130, load};

std::optional<StepFailure> NameServiceStep::run(StepContext& context) const {
    if (action == PowerAction::stop) {
        context.target.stop_name_service();
        return std::nullopt;
    }
    if (auto error = context.target.start_name_service())
        return StepFailure{"the userspace name service did not start: " + *error, true};
    return std::nullopt;
}

}  // namespace rmtfs_hil::engine
