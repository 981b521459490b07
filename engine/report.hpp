// The results of a run and their reports: JSON (everything, for machines),
// JUnit XML (for CI), a plain-text summary and a coupling x fault matrix for
// the terminal, and one self-contained HTML page with a sequence diagram of
// every scenario. Plain data in, text out: nothing here runs anything.
//
// All text in a report (scenario names and descriptions, reasons, the
// daemon's log, trace details) is untrusted: every writer escapes it for its
// format, and invalid UTF-8 and control characters are replaced.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/names.hpp"
#include "sim/trace.hpp"

namespace rmtfs_hil::engine {

// pass; fail: the server did not do what a correct one must; error: the
// harness or the machine could not run it; skip: not for this target.
enum class Verdict { pass, fail, error, skip };

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::Verdict> {
    using V = rmtfs_hil::engine::Verdict;
    static constexpr std::array entries{Named{V::pass, "pass"}, Named{V::fail, "fail"}, Named{V::error, "error"},
                                        Named{V::skip, "skip"}};
};

namespace rmtfs_hil::engine {

// How a step ended; the steps after a failed one are skipped.
enum class StepStatus { passed, failed, error, skipped };

// How a result compares with its scenario's known issue: none (no known
// issue, or nothing to compare: skipped, interrupted), known (fails as the
// known issue says), fixed (it passed), new_failure (fails differently).
enum class KnownStatus { none, known, fixed, new_failure };

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::StepStatus> {
    using S = rmtfs_hil::engine::StepStatus;
    static constexpr std::array entries{Named{S::passed, "passed"}, Named{S::failed, "failed"},
                                        Named{S::error, "error"}, Named{S::skipped, "skipped"}};
};

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::KnownStatus> {
    using K = rmtfs_hil::engine::KnownStatus;
    static constexpr std::array entries{Named{K::none, ""}, Named{K::known, "known"}, Named{K::fixed, "fixed"},
                                        Named{K::new_failure, "new"}};
};

namespace rmtfs_hil::engine {

// One event of the world's trace, relative to the scenario's start (sim/trace.hpp): typed source and kind,
// the fields a program reads, the detail line a person reads.
struct TraceEntry {
    double at_ms = 0;
    sim::TraceSource source = sim::TraceSource::harness;
    sim::TraceKind kind = sim::TraceKind::log;
    std::string detail;  // "DATA 0:77 -> 1:14 38 bytes", a log line, ...
    sim::TraceFields fields;

    bool operator==(const TraceEntry&) const = default;
};

struct StepResult {
    std::size_t index = 0;
    std::string kind;     // the step's action key: "boot", "write", ...
    std::string note;
    StepStatus status = StepStatus::passed;
    std::string message;
    double started_ms = 0, ended_ms = 0;
    std::string where;    // "file:line:col"

    bool operator==(const StepResult&) const = default;
};

struct ScenarioResult {
    std::string name, description, file;
    std::vector<std::string> tags;
    Verdict verdict = Verdict::error;
    std::string reason;        // why (empty for pass)
    std::string known_issue;   // the scenario's known_issue text, empty if none
    KnownStatus known_status = KnownStatus::none;
    double duration_ms = 0;
    std::uint64_t seed = 0;
    std::vector<StepResult> steps;
    std::vector<TraceEntry> trace;
    std::vector<std::string> daemon_log;
    std::string ledger_verdict;                  // "clean: 12 writes (10 ok, 2 unknown)" or "2 violations"
    std::vector<std::string> ledger_violations;  // described
    std::string reproduce;                       // the one command that reproduces it
    // For the matrix.
    std::string coupling;                        // manual | rmtfs-sysfs | mem-open | service-watch
    std::vector<std::string> faults;             // fault kinds the scenario injects
    bool modem_up_at_end = false;
    bool data_lost = false;
    std::optional<double> recovery_ms;

    bool operator==(const ScenarioResult&) const = default;
};

struct RunReport {
    std::string started_at;  // ISO 8601
    std::string server;      // the daemon binary
    std::uint64_t seed = 0;
    unsigned jobs = 1;
    bool interrupted = false;
    double duration_ms = 0;
    std::string command;     // the command line that made the run
    std::vector<ScenarioResult> scenarios;

    bool operator==(const RunReport&) const = default;
};

// Counts by verdict and by known-issue status.
struct Summary {
    std::size_t total = 0;
    std::size_t passed = 0;
    std::size_t failed = 0;
    std::size_t errors = 0;
    std::size_t skipped = 0;
    std::size_t known = 0;         // known_status "known": fails as its known issue says
    std::size_t fixed = 0;         // known_status "fixed": a known issue that passed
    std::size_t new_failures = 0;  // known_status "new": has a known issue, fails differently
    // Failures and errors not explained by a known issue (the ones CI fails on).
    std::size_t unexpected = 0;
    bool interrupted = false;
    double duration_ms = 0;

    // Nothing failed unexpectedly and the run was not interrupted.
    bool ok() const { return unexpected == 0 && !interrupted; }
    bool operator==(const Summary&) const = default;
};
Summary summarise(const RunReport& report);

// Everything, machine-readable: {"format": "rmtfs-hil-report", "version": 1, ..., "summary": {...},
// "scenarios": [...]}; every field under its C++ name, recovery_ms null when absent.
void write_json(const RunReport& report, std::ostream& out);
// The inverse of write_json. Throws std::runtime_error on malformed input.
RunReport read_json(std::istream& in);
// One scenario's result as one line of JSON, as write_json writes it under
// "scenarios" (what the board agent streams to the host), and its inverse,
// which throws std::runtime_error on malformed input.
std::string scenario_json_line(const ScenarioResult& result);
ScenarioResult read_scenario_json(std::string_view line);
// One trace event as a JSON object, as write_json writes it under "trace"
// (the fields are documented in scenarios/README.md, "The JSON report").
std::string trace_event_json(const TraceEntry& event);

// JUnit XML: <testsuites> holding one <testsuite name="rmtfs-hil">, one <testcase> per scenario
// (classname: its first tag, or "scenarios"); <failure> / <error> / <skipped>, and the daemon's
// log in <system-out>.
void write_junit(const RunReport& report, std::ostream& out);

// For the terminal: one line per scenario (name, verdict with known-issue marks, time, reason),
// the totals, then "reproduce: <command>" for each failure and error.
void write_summary_table(const RunReport& report, std::ostream& out);

// Coupling policy x fault kinds -> modem up at the end, data lost, time to recover. A grid when
// dense enough, otherwise one line per cell.
void write_matrix_table(const RunReport& report, std::ostream& out);

// The HTML report: writes dir/index.html (creating dir) and returns its path.
// Throws std::runtime_error if it cannot be written.
std::string write_html(const RunReport& report, const std::filesystem::path& dir);
// The same page as a string.
std::string render_html(const RunReport& report);
// The sequence diagram of one scenario's trace, an inline <svg>. id_prefix keeps its
// element ids unique in a page.
std::string render_timeline_svg(const ScenarioResult& scenario, std::string_view id_prefix = "tl");

// At most this many trace events are drawn in order; every fault and state change after
// them is drawn too, and the rest is counted as elided.
inline constexpr std::size_t timeline_event_cap = 400;

// ---- text helpers (shared by the writers; exposed for tests) ----------------------------

// Valid UTF-8 with XML 1.0's forbidden characters replaced: invalid sequences by U+FFFD,
// C0 controls other than tab, LF and CR (and DEL) by their Control Pictures (U+2400 + c).
std::string sanitize_text(std::string_view text);
// sanitize_text, then & < > " ' escaped: safe in XML and HTML text and attribute values.
std::string escape_xml(std::string_view text);
// Also \t \n \r as character references, so attribute values keep them.
std::string escape_xml_attribute(std::string_view text);
// sanitize_text, then every control character (\t and \n too) made visible: one terminal line.
std::string sanitize_line(std::string_view text);

}  // namespace rmtfs_hil::engine
