#include "engine/steps/power_loss.hpp"

#include <csignal>

#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    reader.no_options(f);
    return std::make_unique<PowerLossStep>();
}

}  // namespace

extern const StepKind power_loss_step{"power_loss", 120, load};

std::optional<StepFailure> PowerLossStep::run(StepContext& context) const {
    context.book.signals_sent.insert(SIGKILL);
    if (auto error = context.target.lose_power()) return StepFailure{"power loss: " + *error, true};
    return std::nullopt;
}

}  // namespace rmtfs_hil::engine
