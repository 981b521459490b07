// io_fault: when the trigger fires, the daemon's next matching storage (or
// rmtfs_mem) call fails, stalls short or is refused — the io_fault step's
// options, armed at an exact moment: {"fault": {"action": "io_fault", "call":
// "sync", "error": "EIO", "file": "modem_fs1", "when": {"request": "RW_IOVEC", "nth": 3}}}.
#include "engine/fault.hpp"
#include "engine/scenario_reader.hpp"
#include "engine/steps/io_fault.hpp"

namespace rmtfs_hil::engine {

namespace {

class IoFaultAtTrigger final : public Fault {
public:
    explicit IoFaultAtTrigger(server::IoFault fault) : fault_(std::move(fault)) {}
    Capabilities needs() const override { return {capability_for(fault_)}; }
    std::string describe() const override { return server::describe(fault_); }
    void adjust(Setup& setup) const override { watch_for(fault_, setup); }
    void fire(Target& target, FaultFired& fired) const override { fired.io_fault = target.arm_io_fault(fault_); }

private:
    server::IoFault fault_;
};

std::unique_ptr<Fault> load(ScenarioReader& reader, const Field& f) {
    server::IoFault fault;
    load_io_fault(reader, f, fault);
    return std::make_unique<IoFaultAtTrigger>(std::move(fault));
}

}  // namespace

extern const std::vector<FaultKind> io_fault_faults{{"io_fault", 120, io_fault_options, load}};

}  // namespace rmtfs_hil::engine
