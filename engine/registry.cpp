// The registries of step and fault kinds. Their members are the files under
// engine/steps/ and engine/faults/, listed by the build (engine/CMakeLists.txt
// generates the list); here they are put in order and checked once.
#include <algorithm>

#include "engine/fault.hpp"
#include "engine/step.hpp"

namespace rmtfs_hil::engine {

// Generated: one entry per file.
std::vector<const StepKind*> listed_step_kinds();
std::vector<const std::vector<FaultKind>*> listed_fault_kinds();

namespace {

template <class Kind>
void order_and_check(std::vector<const Kind*>& kinds) {
    std::sort(kinds.begin(), kinds.end(), [](const Kind* a, const Kind* b) { return a->order < b->order; });
    for (std::size_t i = 1; i < kinds.size(); ++i)
        RMTFS_HIL_ASSERT(kinds[i - 1]->order != kinds[i]->order, "two kinds share a place in the order");
    for (std::size_t i = 0; i < kinds.size(); ++i)
        for (std::size_t j = 0; j < i; ++j)
            RMTFS_HIL_ASSERT(kinds[i]->name != kinds[j]->name, "two kinds share a name");
}

template <class Kind>
const Kind* find_kind(const std::vector<const Kind*>& kinds, std::string_view name) {
    for (const Kind* kind : kinds)
        if (kind->name == name) return kind;
    return nullptr;
}

}  // namespace

const std::vector<const StepKind*>& step_kinds() {
    static const std::vector<const StepKind*> kinds = [] {
        auto listed = listed_step_kinds();
        order_and_check(listed);
        return listed;
    }();
    return kinds;
}

const StepKind* find_step_kind(std::string_view name) { return find_kind(step_kinds(), name); }

const std::vector<const FaultKind*>& fault_kinds() {
    static const std::vector<const FaultKind*> kinds = [] {
        std::vector<const FaultKind*> all;
        for (const auto* file : listed_fault_kinds())
            for (const FaultKind& kind : *file) all.push_back(&kind);
        order_and_check(all);
        return all;
    }();
    return kinds;
}

const FaultKind* find_fault_kind(std::string_view name) { return find_kind(fault_kinds(), name); }

wording::Names fault_names() {
    wording::Names names;
    for (const FaultKind* kind : fault_kinds()) names.emplace_back(kind->name);
    return names;
}

}  // namespace rmtfs_hil::engine
