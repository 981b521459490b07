// load_scenario on arbitrary text: never crashes; every error names the file,
// points inside the text and explains itself; errors come sorted by position;
// what loads holds the loader's promises, and runs to a verdict on a fake
// target without a harness bug (a crash, or a broken contract the runner
// reports). Seeds: the scenario files (the malformed corpus, the valid
// examples, the library).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runner.hpp"
#include "engine/scenario_loader.hpp"
#include "engine/steps/io_fault.hpp"
#include "engine/steps/write.hpp"
#include "tests/fuzz/fake_target.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace rmtfs_hil::engine;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto loaded = load_scenario(text, "fuzz.json");
    if (!loaded) {
        const auto& errors = loaded.error();
        FUZZ_CHECK(!errors.empty(), "a failed load says why");
        // Line lengths, to check that every position is inside the text.
        std::vector<std::size_t> line_lengths{0};
        for (char c : text) {
            if (c == '\n')
                line_lengths.push_back(0);
            else
                ++line_lengths.back();
        }
        for (const ScenarioError& e : errors) {
            FUZZ_CHECK(!e.message.empty(), "every error explains itself");
            FUZZ_CHECK(e.where.file == "fuzz.json", "every error names the file");
            FUZZ_CHECK(e.where.line >= 1 && e.where.line <= line_lengths.size(), "errors point at a line of the text");
            FUZZ_CHECK(e.where.column >= 1 && e.where.column <= line_lengths[e.where.line - 1] + 1,
                       "errors point at a column of their line");
            FUZZ_CHECK(e.where.pointer.empty() || e.where.pointer.front() == '/', "pointers are JSON pointers");
            FUZZ_CHECK(e.describe().rfind("fuzz.json:", 0) == 0, "describe() starts with the file");
        }
        FUZZ_CHECK(std::is_sorted(errors.begin(), errors.end(),
                                  [](const ScenarioError& a, const ScenarioError& b) {
                                      return std::make_pair(a.where.line, a.where.column) <
                                             std::make_pair(b.where.line, b.where.column);
                                  }),
                   "errors are sorted by position");
        return 0;
    }
    const Scenario& s = *loaded;
    FUZZ_CHECK(!s.name.empty() && !s.description.empty(), "name and description are required");
    FUZZ_CHECK(!s.steps.empty(), "a scenario has steps");
    FUZZ_CHECK(!s.targets.empty() && !s.setup.modems.empty(), "targets and modems are never empty");
    const auto kinds = scenario_step_kinds();
    for (const Step& step : s.steps) {
        FUZZ_CHECK(std::find(kinds.begin(), kinds.end(), step.kind) != kinds.end(), "every step has a known kind");
        FUZZ_CHECK(step.where.line >= 1 && step.where.pointer.rfind("/steps/", 0) == 0, "every step is located");
        FUZZ_CHECK(step.action != nullptr && !step.action->describe().empty(), "every step describes itself");
        if (const auto* io = dynamic_cast<const IoFaultStep*>(step.action.get())) {
            const rmtfs_hil::server::IoFault& fault = io->fault;
            FUZZ_CHECK((fault.error == 0) != !fault.short_bytes.has_value(), "an io_fault has error or short_bytes");
            if (fault.target == rmtfs_hil::server::IoTarget::memory) FUZZ_CHECK(s.setup.watch_memory_io, "memory faults turn on the watch");
            if (fault.target == rmtfs_hil::server::IoTarget::storage && fault.call == rmtfs_hil::server::IoCall::read)
                FUZZ_CHECK(s.setup.watch_storage_reads, "storage read faults turn on the watch");
        }
        if (const auto* write = dynamic_cast<const WriteStep*>(step.action.get()))
            FUZZ_CHECK(write->modem < s.setup.modems.size(), "a write's modem exists");
    }
    // What validate accepts, the runner runs to a verdict.
    RunOptions options;
    options.make_target = [](const Scenario& scenario, const TargetOptions&)
        -> rmtfs_hil::Expected<std::unique_ptr<Target>, std::string> {
        return std::unique_ptr<Target>(std::make_unique<rmtfs_hil::testing::FakeTarget>(scenario));
    };
    ScenarioResult result = run_scenario(s, options);
    FUZZ_CHECK(result.reason.find("a bug in the harness") == std::string::npos, "a valid scenario meets no harness bug");
    return 0;
}
