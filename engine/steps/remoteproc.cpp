#include "engine/steps/remoteproc.hpp"

#include "engine/scenario_reader.hpp"
#include "proto/errno_names.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<RemoteprocStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, {"index", "write", "crash", "expect_error"});
    reader.get_index(reader.field(f, "index"), step->index, "remoteproc");
    reader.get_enum(reader.field(f, "write"), step->write, "state command");
    reader.get_bool(reader.field(f, "crash"), step->crash);
    if (Field expected = reader.field(f, "expect_error")) {
        int number = 0;
        if (expected->is_string()) {
            if (reader.get_errno(expected, number)) step->expect_error = number;
        } else if (expected->is_number_unsigned() && expected->get<std::uint64_t>() == 0) {
            step->expect_error = 0;
        } else {
            reader.error(expected.pointer, "expected an errno name such as 'EBUSY', or 0 for success, found " + found(*expected));
        }
    }
    bool writes = f->contains("write");
    if (writes && step->crash)
        reader.error(f.pointer, "give 'write' or \"crash\": true, not both");
    else if (!writes && !step->crash)
        reader.error(f.pointer, "a remoteproc step needs 'write' (" + wording::alternatives(names_of<PowerAction>()) +
                                    ") or \"crash\": true");
    if (!writes) reader.reject(f, "expect_error", "'expect_error' is only for 'write'");
    return step;
}

std::string outcome(int error) { return error == 0 ? std::string("success") : errno_name(error); }

}  // namespace

extern const StepKind remoteproc_step{"remoteproc", 140, load};

std::optional<StepFailure> RemoteprocStep::run(StepContext& context) const {
    if (crash) {
        context.target.crash_remoteproc(index);
        return std::nullopt;
    }
    const std::string command(name_of(*write));
    int error = context.target.write_remoteproc(index, command);
    if (expect_error && error != *expect_error)
        return StepFailure{"writing '" + command + "' to the remoteproc's state gave " + outcome(error) + ", expected " +
                           outcome(*expect_error)};
    return std::nullopt;
}

std::string RemoteprocStep::describe() const {
    if (crash) return "remoteproc " + std::to_string(index) + " crashes";
    return "write '" + std::string(name_of(*write)) + "' to remoteproc " + std::to_string(index) + "'s state";
}

}  // namespace rmtfs_hil::engine
