// Scenario files to Scenario values (engine/scenario.hpp), with every mistake
// in a file reported at once, each as "FILE:LINE:COLUMN: POINTER: what is
// wrong", sorted by position:
//
//   scenarios/x.json:12:9: /steps/3/fault/action: unknown action 'sigkil'; did you mean 'sigkill'?
//
// The format is scenarios/README.md; scenarios/scenario.schema.json describes
// the same for editors. Builds on nlohmann::json and nothing from sim/ or
// server/, so validation needs no rig.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "engine/scenario.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::engine {

struct ScenarioError {
    SourceLocation where;  // file, line and column (0: unknown), JSON pointer ("" for the file as a whole)
    std::string message;

    // "FILE:LINE:COLUMN: POINTER: MESSAGE"; the pointer part is left out when
    // empty (syntax errors, the top-level object), LINE:COLUMN when unknown.
    std::string describe() const;
};

// `file_name` is only for messages and Scenario::where.
Expected<Scenario, std::vector<ScenarioError>> load_scenario(std::string_view text, const std::string& file_name);

// An unreadable file is one error naming it. Messages name the file as `path` is spelled.
Expected<Scenario, std::vector<ScenarioError>> load_scenario_file(const std::filesystem::path& path);

// The closed lists the loader checks names against (for tools and tests).
const std::vector<std::string>& scenario_step_kinds();  // "daemon", "boot", ... in the model's order
const std::vector<std::string>& errno_names();          // "EPERM", "ENOENT", ... as strerrorname_np names them

}  // namespace rmtfs_hil::engine
