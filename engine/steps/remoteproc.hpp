// {"remoteproc": {"index": 0, "write": "start" | "stop", "expect_error": "EBUSY"}} as a
// program writing the state file would; {"remoteproc": {"index": 0, "crash": true}} as
// the kernel reporting the processor crashed.
#pragma once

#include <optional>

#include "engine/step.hpp"
#include "engine/steps/modem.hpp"

namespace rmtfs_hil::engine {

struct RemoteprocStep final : StepAction {
    std::size_t index = 0;
    std::optional<PowerAction> write;
    bool crash = false;
    std::optional<int> expect_error;  // errno the write must fail with (EBUSY, EINVAL); 0: success

    Capabilities needs() const override { return {Capability::remoteproc_control}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
};

}  // namespace rmtfs_hil::engine
