// Where a value was in its scenario file, and what is wrong there.
#pragma once

#include <cstddef>
#include <string>

namespace rmtfs_hil::engine {

struct SourceLocation {
    std::string file;
    std::size_t line = 0;    // 1-based; 0: unknown
    std::size_t column = 0;  // 1-based, in bytes
    std::string pointer;     // JSON pointer: "/steps/3/fault"

    // "FILE:LINE:COLUMN"
    std::string describe() const;
};

struct ScenarioError {
    SourceLocation where;  // file, line and column (0: unknown), JSON pointer ("" for the file as a whole)
    std::string message;

    // "FILE:LINE:COLUMN: POINTER: MESSAGE"; the pointer part is left out when
    // empty (syntax errors, the top-level object), LINE:COLUMN when unknown.
    std::string describe() const;
};

}  // namespace rmtfs_hil::engine
