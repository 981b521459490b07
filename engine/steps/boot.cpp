#include "engine/steps/boot.hpp"

#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<BootStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, {"modem", "expect", "reason"});
    reader.get_index(reader.field(f, "modem"), step->modem, "modem");
    reader.get_enum(reader.field(f, "expect"), step->expect, "expectation");
    reader.get_string(reader.field(f, "reason"), step->reason);
    if (step->expect != BootExpectation::fail) reader.reject(f, "reason", "'reason' is only for \"expect\": \"fail\"");
    return step;
}

}  // namespace

extern const StepKind boot_step{"boot", 20, load};

std::optional<StepFailure> BootStep::run(StepContext& context) const {
    sim::BootResult boot = context.target.boot_modem(modem, context.timeout);
    std::string who = "modem " + std::to_string(modem);
    if (expect == BootExpectation::ok && !boot.ok) return StepFailure{who + " did not boot: " + boot.reason};
    if (expect == BootExpectation::fail && boot.ok) return StepFailure{who + " booted; the scenario expects its boot to fail"};
    if (expect == BootExpectation::fail && !reason.empty() && boot.reason.find(reason) == std::string::npos)
        return StepFailure{"the boot failed for another reason: " + boot.reason + " (expected '" + reason + "')"};
    return std::nullopt;
}

std::string BootStep::describe() const {
    return "boot modem " + std::to_string(modem) + " (expect " + std::string(name_of(expect)) + ")";
}

}  // namespace rmtfs_hil::engine
