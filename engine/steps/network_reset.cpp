#include "engine/steps/network_reset.hpp"

#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    reader.no_options(f);
    return std::make_unique<NetworkResetStep>();
}

}  // namespace

extern const StepKind network_reset_step{"network_reset", 110, load};

std::optional<StepFailure> NetworkResetStep::run(StepContext& context) const {
    context.target.network_reset();
    return std::nullopt;
}

}  // namespace rmtfs_hil::engine
