#include "engine/steps/wait_for.hpp"

#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<WaitStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, Names(std::begin(event_condition_keys), std::end(event_condition_keys)));
    reader.require(f, {"event"});
    load_event_condition(reader, f, step->condition);
    return step;
}

}  // namespace

extern const StepKind wait_for_step{"wait_for", 150, load};

Capabilities WaitStep::needs() const {
    switch (condition.event) {
        case WaitEvent::modem_state:
        case WaitEvent::syncs:
        case WaitEvent::boot_finished: return {Capability::simulated_modem};
        default: return {Capability::daemon_control};
    }
}

std::optional<StepFailure> WaitStep::run(StepContext& context) const {
    Target& target = context.target;
    if (target.wait_until([&] { return condition.holds(target); }, context.timeout)) return std::nullopt;
    if (target.interrupted()) return StepFailure{"interrupted", true};
    const std::string bound = std::to_string(context.timeout.count()) + " ms";
    if (condition.event == WaitEvent::boot_finished)
        return StepFailure{"boot " + std::to_string(condition.count) + " of modem " + std::to_string(condition.index) +
                           " did not finish within " + bound};
    return StepFailure{"waited " + bound + " for " + condition.describe() + "; it did not happen"};
}

}  // namespace rmtfs_hil::engine
