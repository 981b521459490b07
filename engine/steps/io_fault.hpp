// {"io_fault": {"call": "write", "error": "EIO", "target": "storage", "file": "modem_fs1",
//               "nth": 1, "times": 1}}  or "short_bytes": 100 instead of "error".
// The daemon's nth matching storage (or rmtfs_mem) call from now on fails.
#pragma once

#include "engine/step.hpp"
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

}  // namespace rmtfs_hil::engine
