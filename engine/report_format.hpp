// Internal to the report writers (engine/report*.cpp): number formatting,
// verdict labels and the coupling x fault matrix, shared by the text and HTML
// writers so both say the same thing.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/report.hpp"

namespace rmtfs_hil::engine::report_detail {

// Locale-independent fixed-point: fixed(1.5, 3) == "1.500".
std::string fixed(double value, int decimals);
// For people: "0.4 ms", "120 ms", "3.40 s".
std::string format_ms(double ms);
// For JUnit's time attribute: seconds, three decimals.
std::string seconds(double ms);

// The first max_chars code points of valid UTF-8 text, "…" appended if cut.
std::string truncate(std::string_view text, std::size_t max_chars);
// Code points in valid UTF-8 text.
std::size_t display_width(std::string_view text);

bool is_failure(const ScenarioResult& s);  // verdict fail or error (or unknown)
// A failure or error not explained by its known issue.
bool is_unexpected(const ScenarioResult& s);
// "pass", "FAIL", "ERROR", "skip", with the known-issue mark: "FAIL (known)", "pass (fixed)", "FAIL (new)".
std::string verdict_label(const ScenarioResult& s);
// The verdict as one of pass | fail | error | skip (anything else: error).
std::string_view verdict_class(const ScenarioResult& s);

// ---- the matrix ------------------------------------------------------------------------

struct MatrixCell {
    std::vector<const ScenarioResult*> scenarios;
    std::size_t up = 0;    // modem up at the end
    std::size_t lost = 0;  // data lost
    std::optional<double> worst_recovery_ms;
    std::size_t never_recovered = 0;  // modem down at the end
};

struct Matrix {
    std::vector<std::string> couplings;   // rows
    std::vector<std::string> fault_keys;  // columns: fault kinds joined by "+", or "none"
    std::vector<std::vector<MatrixCell>> cells;  // [row][column]
    std::size_t filled = 0;
    // Too sparse or too wide for a grid: show it as a list.
    bool sparse() const;
    bool empty() const { return filled == 0; }
};
// Every scenario that ran (skips are left out).
Matrix build_matrix(const RunReport& report);
std::string fault_key(const ScenarioResult& s);
// "up, kept, 120 ms" / "DOWN, LOST, never" / "up 1/2, LOST 1/2, ≤300 ms".
std::string describe_cell(const MatrixCell& cell);

}  // namespace rmtfs_hil::engine::report_detail
