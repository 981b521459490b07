// {"io_fault": {"call": "write", "error": "EIO", "target": "storage", "file": "modem_fs1",
//               "nth": 1, "times": 1}}  or "short_bytes": 100 instead of "error".
// The daemon's nth matching storage (or rmtfs_mem) call from now on fails.
#pragma once

#include "engine/step.hpp"
#include "engine/wording.hpp"
#include "server/storage_watch.hpp"

namespace rmtfs_hil::engine {

struct IoFaultStep final : StepAction {
    server::IoFault fault;

    Capabilities needs() const override;
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override { return server::describe(fault); }
    std::optional<std::string> fault_label() const override;
    void adjust(Setup& setup) const override;
};

// The options of an I/O fault ("call", "error" or "short_bytes", "target",
// "file", "nth", "times"), shared with the io_fault fault kind.
inline const wording::Names io_fault_options = {"call", "error", "short_bytes", "target", "file", "nth", "times"};
void load_io_fault(ScenarioReader& reader, const Field& f, server::IoFault& fault);
// The watches the fault needs turned on at the setup.
void watch_for(const server::IoFault& fault, Setup& setup);
Capability capability_for(const server::IoFault& fault);

}  // namespace rmtfs_hil::engine
