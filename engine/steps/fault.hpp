// {"fault": {"action": NAME, ...its options..., "when": TRIGGER}}: any fault
// of the registry (engine/fault.hpp), at once or armed at a trigger:
//   "when": {"request": MESSAGE, "nth": k, "modem": i}   the k-th such request reaching the daemon
//         | {"after_write": k, "file": "modem_fs1"}      inside the daemon's k-th sector write
//         | {"after_ms": t}                              t ms after this step
//         | {"event": EVENT, ...}                        when the event happens (as wait_for)
//         | omitted: now.
#pragma once

#include <memory>

#include "engine/fault.hpp"
#include "engine/step.hpp"
#include "engine/trigger.hpp"

namespace rmtfs_hil::engine {

struct FaultStep final : StepAction {
    std::string action;  // the fault kind's name
    std::shared_ptr<const Fault> fault;
    Trigger when;

    Capabilities needs() const override;
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
    std::optional<std::string> fault_label() const override;
    void adjust(Setup& setup) const override { fault->adjust(setup); }
};

}  // namespace rmtfs_hil::engine
