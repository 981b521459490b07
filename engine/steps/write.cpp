#include "engine/steps/write.hpp"

#include "engine/scenario_reader.hpp"
#include "engine/step_support.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<WriteStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, {"modem", "partition", "sector", "sectors", "data", "expect", "error", "full_wait"});
    bool sectors_ok = reader.load_transfer(f, step->modem, step->partition, step->sector, step->sectors);
    if (Field data = reader.field(f, "data")) {
        auto spec = reader.data_value(data, sectors_ok ? std::optional<std::uint32_t>(step->sectors) : std::nullopt);
        if (spec) step->data = std::move(*spec);
    }
    reader.get_enum(reader.field(f, "expect"), step->expect, "expectation");
    load_failure_error(reader, f, step->expect == WriteExpectation::failed, step->error);
    step->wait = load_wait(reader, f);
    return step;
}

bool as_expected(sim::WriteOutcome outcome, WriteExpectation expect) {
    switch (expect) {
        case WriteExpectation::ok: return outcome == sim::WriteOutcome::ok;
        case WriteExpectation::failed: return outcome == sim::WriteOutcome::failed;
        case WriteExpectation::unknown: return outcome == sim::WriteOutcome::unknown;
        case WriteExpectation::any: return true;
    }
    return false;
}

}  // namespace

extern const StepKind write_step{"write", 40, load};

std::optional<StepFailure> WriteStep::run(StepContext& context) const {
    auto index = handle_for(context, modem, partition);
    if (!index) return index.error();
    Bytes bytes = bytes_of(data, context.seed, static_cast<std::size_t>(sectors) * rmtfs::sector_size_bytes);
    WriteResult result = context.target.write(modem, *index, sector, bytes, wait);
    if (!result.sent) return StepFailure{"write of " + partition + ": " + result.detail, true};
    if (result.timed_out) context.unanswered("a write of " + partition, result.detail);
    if (!as_expected(result.outcome, expect))
        return StepFailure{describe() + ": " + std::string(sim::to_string(result.outcome)) + " (" + result.detail +
                           "), expected " + std::string(name_of(expect))};
    if (expect == WriteExpectation::failed) return check_failure_error(describe(), error, result.error);
    return std::nullopt;
}

std::string WriteStep::describe() const {
    return "write of " + std::to_string(sectors) + " sectors at " + partition + " sector " + std::to_string(sector);
}

}  // namespace rmtfs_hil::engine
