// A step of a scenario is one object: it loads itself from its JSON (through
// the scenario reader, with positions), says which capabilities it needs of
// a target, runs itself on one, and describes itself for reports. Each kind
// is one file under engine/steps/ that defines `const StepKind <file>_step`;
// the build finds them (engine/CMakeLists.txt), so adding a kind is adding a
// file, plus its schema fragment and its documentation.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/capability.hpp"
#include "engine/target.hpp"

namespace rmtfs_hil::engine {

struct Scenario;
struct Setup;
class ScenarioReader;
struct Field;
struct FaultFired;

using namespace std::chrono_literals;

// A step's bound when the scenario gives none.
inline constexpr milliseconds default_step_timeout = 10s;
inline constexpr milliseconds default_boot_timeout = 20s;

// A step that did not go as the scenario says: the daemon's doing (verdict
// fail), or with `harness` the harness's or the machine's (verdict error).
struct StepFailure {
    std::string message;
    bool harness = false;
};

// A fault armed for later: one that never fired means the scenario did not
// test what it says.
struct ArmedFault {
    std::size_t step = 0;  // 0-based
    std::optional<TriggerId> trigger;   // nullopt: fired at once
    std::shared_ptr<FaultFired> fired;  // what its firing left on the target
};

// What the runner keeps while steps run: the steps write, the verdict reads.
struct RunBook {
    std::set<int> signals_sent;                   // the daemon dying of one of these is no crash
    std::vector<ArmedFault> armed;
    std::vector<std::string> invariant_failures;  // the first fails the step that saw it
    bool ledger_judged = false;                   // an expect step judged the ledger itself
    std::optional<DaemonResources> after_setup;   // what the daemon held when the setup was done
};

struct StepContext {
    Target& target;
    const Scenario& scenario;
    std::uint64_t seed;
    std::size_t step;      // 0-based
    milliseconds timeout;  // the step's bound
    RunBook& book;

    // A request the modem got no answer to: an invariant failure while the
    // daemon runs (and is not stopped) and the scenario checks answers.
    void unanswered(const std::string& what, const std::string& how);
};

class StepAction {
public:
    virtual ~StepAction() = default;
    virtual Capabilities needs() const = 0;
    virtual std::optional<StepFailure> run(StepContext& context) const = 0;
    // One line for reports: "write 4 sectors at /boot/modem_fs1 sector 8".
    virtual std::string describe() const = 0;
    // The fault it injects as the matrix names it ("sigkill@request"), if any.
    virtual std::optional<std::string> fault_label() const { return std::nullopt; }
    virtual milliseconds default_timeout() const { return default_step_timeout; }
    // What the setup must do for it (e.g. ask about the daemon's storage reads).
    virtual void adjust(Setup&) const {}
};

struct StepKind {
    std::string_view name;  // the action key: "write"
    int order;              // where documentation and messages list it
    std::unique_ptr<StepAction> (*load)(ScenarioReader& reader, const Field& value);
};

// Every step kind, in order.
const std::vector<const StepKind*>& step_kinds();
const StepKind* find_step_kind(std::string_view name);

}  // namespace rmtfs_hil::engine
