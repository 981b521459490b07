// A fault is one object behind one interface, found by name in a registry
// (toxiproxy's toxics): it loads its own options, says what it needs of a
// target, and fires — at once, or armed at any trigger (engine/trigger.hpp).
// Each kind is one file under engine/faults/ that defines
// `const std::vector<FaultKind> <file>_faults`; the build finds them.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/capability.hpp"
#include "engine/step.hpp"
#include "engine/target.hpp"
#include "engine/wording.hpp"

namespace rmtfs_hil::engine {

// What firing a fault left on the target, kept per run (a Fault is shared
// by every run of its scenario and holds none of this).
struct FaultFired {
    std::optional<std::size_t> io_fault;  // the I/O fault it armed on the target, by index
};

class Fault {
public:
    virtual ~Fault() = default;
    virtual Capabilities needs() const = 0;
    // "SIGKILL to the daemon", "modem 0's remote processor crashes"
    virtual std::string describe() const = 0;
    // Signals it sends the daemon: a death by one of them is no crash.
    virtual std::vector<int> signals() const { return {}; }
    // Acts without waiting: it may be called while the daemon is held inside
    // a call or a datagram is on its way to it.
    virtual void fire(Target& target, FaultFired& fired) const = 0;
    // fire() only signals the daemon (and hands the rest to the target's
    // loop): it may run at a trigger's exact moment. Otherwise a trigger's
    // firing runs it through Target::soon().
    virtual bool instant() const { return false; }
    // What the setup must do for it (e.g. ask about the daemon's storage reads).
    virtual void adjust(Setup&) const {}
    // Acts now, as a step, and waits for the effect to be complete.
    virtual std::optional<StepFailure> fire_now(Target& target, FaultFired& fired, milliseconds) const {
        fire(target, fired);
        return std::nullopt;
    }
};

struct FaultKind {
    std::string_view name;   // "sigkill"
    int order;               // where documentation and messages list it
    wording::Names options;  // the keys it reads beside 'action' and 'when'
    std::unique_ptr<Fault> (*load)(ScenarioReader& reader, const Field& value);
};

const std::vector<const FaultKind*>& fault_kinds();
const FaultKind* find_fault_kind(std::string_view name);
wording::Names fault_names();

}  // namespace rmtfs_hil::engine
