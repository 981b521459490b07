// Scenario files to Scenario values (engine/scenario.hpp), with every mistake
// in a file reported at once, each as "FILE:LINE:COLUMN: POINTER: what is
// wrong", sorted by position:
//
//   scenarios/x.json:12:9: /steps/3/fault/action: unknown action 'sigkil'; did you mean 'sigkill'?
//
// The format is scenarios/README.md; scenarios/scenario.schema.json describes
// the same for editors. The top level and the setup are read here; each step
// and fault kind reads its own object (engine/steps/, engine/faults/).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/scenario.hpp"
#include "engine/scenario_error.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::engine {

// `file_name` is only for messages and Scenario::where.
Expected<Scenario, std::vector<ScenarioError>> load_scenario(std::string_view text, const std::string& file_name);

// An unreadable file is one error naming it. Messages name the file as `path` is spelled.
// Only regular files of at most scenario_file_max_bytes: a FIFO, a device or
// a huge file is refused before anything is read from it.
inline constexpr std::uint64_t scenario_file_max_bytes = 16 * 1024 * 1024;
Expected<Scenario, std::vector<ScenarioError>> load_scenario_file(const std::filesystem::path& path);

// The step kinds' names ("daemon", "boot", ...), in the registry's order.
std::vector<std::string> scenario_step_kinds();

}  // namespace rmtfs_hil::engine
