#include "engine/steps/read.hpp"

#include "engine/scenario_reader.hpp"
#include "engine/step_support.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<ReadStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, {"modem", "partition", "sector", "sectors", "expect", "data", "error", "full_wait"});
    bool sectors_ok = reader.load_transfer(f, step->modem, step->partition, step->sector, step->sectors);
    reader.get_enum(reader.field(f, "expect"), step->expect, "expectation");
    load_failure_error(reader, f, step->expect == ReadExpectation::failed, step->error);
    step->wait = load_wait(reader, f);
    if (Field data = reader.field(f, "data")) {
        step->data = reader.data_value(data, sectors_ok ? std::optional<std::uint32_t>(step->sectors) : std::nullopt);
        if (step->expect == ReadExpectation::failed)
            reader.error_at_key(data.pointer, "'data' cannot be checked on a read expected to fail");
    }
    return step;
}

}  // namespace

extern const StepKind read_step{"read", 50, load};

std::optional<StepFailure> ReadStep::run(StepContext& context) const {
    auto index = handle_for(context, modem, partition);
    if (!index) return index.error();
    ReadResult read = context.target.read(modem, *index, sector, sectors, wait);
    if (!read.sent) return StepFailure{"read of " + partition + ": " + read.detail, true};
    if (!read.ok && read.timed_out) context.unanswered("a read of " + partition, read.detail);
    std::string what = describe();
    if (expect == ReadExpectation::ok && !read.ok) return StepFailure{what + " failed: " + read.detail};
    if (expect == ReadExpectation::failed && read.ok) return StepFailure{what + " succeeded; the scenario expects it to fail"};
    if (expect == ReadExpectation::failed && !read.refused)
        return StepFailure{what + " was not refused (" + read.detail + "); the scenario expects a failure answer"};
    if (expect == ReadExpectation::failed) return check_failure_error(what, error, read.error);
    if (read.ok && !read.detail.empty() && context.scenario.invariants.ledger)
        return StepFailure{what + " returned data storage never held: " + read.detail};
    if (read.ok && data && bytes_of(*data, context.seed, read.data.size()) != read.data)
        return StepFailure{what + " returned other bytes than the scenario expects"};
    return std::nullopt;
}

std::string ReadStep::describe() const {
    return "read of " + std::to_string(sectors) + " sectors at " + partition + " sector " + std::to_string(sector);
}

}  // namespace rmtfs_hil::engine
