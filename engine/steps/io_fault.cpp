#include "engine/steps/io_fault.hpp"

#include "engine/fault.hpp"
#include "engine/scenario_reader.hpp"
#include "proto/errno_names.hpp"

namespace rmtfs_hil::engine {

void load_io_fault(ScenarioReader& reader, const Field& f, server::IoFault& fault) {
    reader.require(f, {"call"});
    bool call_ok = reader.get_enum(reader.field(f, "call"), fault.call, "call");
    reader.get_errno(reader.field(f, "error"), fault.error);
    reader.get_uint(reader.field(f, "short_bytes"), fault.short_bytes);
    reader.get_enum(reader.field(f, "target"), fault.target, "target");
    if (Field file = reader.field(f, "file")) reader.get_storage_file(file, fault.file);
    reader.get_uint(reader.field(f, "nth"), fault.nth, 1);
    reader.get_uint(reader.field(f, "times"), fault.times);
    bool has_error = f->contains("error");
    bool has_short = f->contains("short_bytes");
    if (has_error && has_short)
        reader.error(f.pointer, "give 'error' or 'short_bytes', not both");
    else if (!has_error && !has_short)
        reader.error(f.pointer, "an io_fault needs 'error' (an errno name such as 'EIO') or 'short_bytes'");
    if (has_short && call_ok && fault.call != server::IoCall::read && fault.call != server::IoCall::write)
        reader.error_at_key(child(f.pointer, "short_bytes"), "'short_bytes' is only for calls 'read' and 'write'");
    if (fault.target == server::IoTarget::memory) reader.reject(f, "file", "'file' is only for target 'storage'");
}

void watch_for(const server::IoFault& fault, Setup& setup) {
    if (fault.target == server::IoTarget::storage && fault.call == server::IoCall::read) setup.watch_storage_reads = true;
    if (fault.target == server::IoTarget::memory) setup.watch_memory_io = true;
}

Capability capability_for(const server::IoFault& fault) {
    return fault.target == server::IoTarget::memory ? Capability::memory_io_faults : Capability::storage_io_faults;
}

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<IoFaultStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, io_fault_options);
    load_io_fault(reader, f, step->fault);
    return step;
}

}  // namespace

extern const StepKind io_fault_step{"io_fault", 90, load};

Capabilities IoFaultStep::needs() const { return {capability_for(fault)}; }

std::optional<StepFailure> IoFaultStep::run(StepContext& context) const {
    auto fired = std::make_shared<FaultFired>(FaultFired{context.target.arm_io_fault(fault)});
    context.book.armed.push_back(ArmedFault{context.step, std::nullopt, fired});
    return std::nullopt;
}

std::optional<std::string> IoFaultStep::fault_label() const {
    return (fault.error == 0 ? std::string("short ") : errno_name(fault.error) + " ") + std::string(name_of(fault.call));
}

void IoFaultStep::adjust(Setup& setup) const { watch_for(fault, setup); }

}  // namespace rmtfs_hil::engine
