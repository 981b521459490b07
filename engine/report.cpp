#include "engine/report.hpp"

#include <algorithm>
#include <ostream>
#include <sstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "engine/report_format.hpp"

namespace rmtfs_hil::engine {

using namespace report_detail;

// ---- summary ---------------------------------------------------------------------------

Summary summarise(const RunReport& report) {
    Summary s;
    s.total = report.scenarios.size();
    s.interrupted = report.interrupted;
    s.duration_ms = report.duration_ms;
    for (const auto& scenario : report.scenarios) {
        switch (scenario.verdict) {
            case Verdict::pass: ++s.passed; break;
            case Verdict::fail: ++s.failed; break;
            case Verdict::skip: ++s.skipped; break;
            case Verdict::error: ++s.errors; break;
        }
        if (scenario.known_status == KnownStatus::known) ++s.known;
        else if (scenario.known_status == KnownStatus::fixed) ++s.fixed;
        else if (scenario.known_status == KnownStatus::new_failure) ++s.new_failures;
        if (is_unexpected(scenario)) ++s.unexpected;
    }
    return s;
}

// ---- JSON ------------------------------------------------------------------------------

namespace {

using ordered_json = nlohmann::ordered_json;

ordered_json to_json(const sim::TracePacket& p) {
    ordered_json j{{"type", p.type},
                   {"from", {{"node", p.from_node}, {"port", p.from_port}}},
                   {"to", {{"node", p.to_node}, {"port", p.to_port}}},
                   {"bytes", p.bytes}};
    if (!p.link.empty()) j["link"] = p.link;
    if (!p.qmi.empty()) {
        j["qmi"] = ordered_json{{"kind", p.qmi}, {"message_id", p.message_id}, {"txn", p.txn}};
        if (!p.message.empty()) j["qmi"]["message"] = p.message;
    }
    return j;
}

// The event's fields beside its source, kind and detail; only those it has.
ordered_json to_json(const TraceEntry& e) {
    ordered_json j{{"at_ms", e.at_ms}, {"source", name_of(e.source)}, {"kind", name_of(e.kind)}, {"detail", e.detail}};
    const sim::TraceFields& f = e.fields;
    if (f.packet) j["packet"] = to_json(*f.packet);
    if (f.exit) {
        ordered_json exit = ordered_json::object();
        if (f.exit->code) exit["code"] = *f.exit->code;
        if (f.exit->signal) exit["signal"] = *f.exit->signal;
        if (f.exit->core_dumped) exit["core_dumped"] = true;
        j["exit"] = exit;
    }
    if (f.pid) j["pid"] = *f.pid;
    if (f.fault) j["fault"] = *f.fault;
    if (f.io_fault) j["io_fault"] = *f.io_fault;
    if (f.file) j["file"] = *f.file;
    if (f.sector) j["sector"] = *f.sector;
    if (f.state) j["state"] = *f.state;
    return j;
}

ordered_json to_json(const StepResult& s) {
    return ordered_json{{"index", s.index},     {"kind", s.kind},           {"note", s.note},
                        {"status", name_of(s.status)},   {"message", s.message},     {"started_ms", s.started_ms},
                        {"ended_ms", s.ended_ms}, {"where", s.where}};
}

ordered_json to_json(const ScenarioResult& s) {
    ordered_json j;
    j["name"] = s.name;
    j["description"] = s.description;
    j["file"] = s.file;
    j["tags"] = s.tags;
    j["verdict"] = std::string(name_of(s.verdict));
    j["reason"] = s.reason;
    j["known_issue"] = s.known_issue;
    j["known_status"] = name_of(s.known_status);
    j["duration_ms"] = s.duration_ms;
    j["seed"] = s.seed;
    j["reproduce"] = s.reproduce;
    j["ledger_verdict"] = s.ledger_verdict;
    j["ledger_violations"] = s.ledger_violations;
    j["coupling"] = s.coupling;
    j["faults"] = s.faults;
    j["modem_up_at_end"] = s.modem_up_at_end;
    j["data_lost"] = s.data_lost;
    j["recovery_ms"] = s.recovery_ms ? ordered_json(*s.recovery_ms) : ordered_json(nullptr);
    auto& steps = j["steps"] = ordered_json::array();
    for (const auto& step : s.steps) steps.push_back(to_json(step));
    j["daemon_log"] = s.daemon_log;
    auto& trace = j["trace"] = ordered_json::array();
    for (const auto& e : s.trace) trace.push_back(to_json(e));
    return j;
}

ordered_json to_json(const Summary& s) {
    return ordered_json{{"total", s.total},
                        {"passed", s.passed},
                        {"failed", s.failed},
                        {"errors", s.errors},
                        {"skipped", s.skipped},
                        {"known", s.known},
                        {"fixed", s.fixed},
                        {"new", s.new_failures},
                        {"unexpected", s.unexpected},
                        {"ok", s.ok()}};
}

// Reading: absent keys keep their defaults; present ones must have the right type.
template <typename T>
void get(const nlohmann::json& j, const char* key, T& out) {
    if (auto it = j.find(key); it != j.end() && !it->is_null()) out = it->template get<T>();
}

}  // namespace

void write_json(const RunReport& report, std::ostream& out) {
    ordered_json j;
    j["format"] = "rmtfs-hil-report";
    j["version"] = 1;
    j["started_at"] = report.started_at;
    j["server"] = report.server;
    j["seed"] = report.seed;
    j["jobs"] = report.jobs;
    j["interrupted"] = report.interrupted;
    j["duration_ms"] = report.duration_ms;
    j["command"] = report.command;
    j["summary"] = to_json(summarise(report));
    auto& scenarios = j["scenarios"] = ordered_json::array();
    for (const auto& s : report.scenarios) scenarios.push_back(to_json(s));
    // Daemon output need not be UTF-8: replace what is not rather than throw.
    out << j.dump(2, ' ', false, ordered_json::error_handler_t::replace) << '\n';
}

namespace {

template <class T>
void get_optional(const nlohmann::json& j, const char* key, std::optional<T>& out) {
    if (auto it = j.find(key); it != j.end()) out = it->get<T>();
}

// A closed set's value by name; a missing key reads as "".
template <class E>
E named_or_throw(const nlohmann::json& j, const char* key, const std::string& scenario) {
    std::string name = j.value(key, std::string{});
    auto value = named<E>(name);
    if (!value) throw std::runtime_error("scenario " + scenario + ": unknown " + key + " '" + name + "'");
    return *value;
}

TraceEntry trace_entry(const nlohmann::json& je, const std::string& scenario) {
    TraceEntry e;
    get(je, "at_ms", e.at_ms);
    e.source = named_or_throw<sim::TraceSource>(je, "source", scenario);
    e.kind = named_or_throw<sim::TraceKind>(je, "kind", scenario);
    get(je, "detail", e.detail);
    sim::TraceFields& f = e.fields;
    if (auto it = je.find("packet"); it != je.end()) {
        sim::TracePacket p;
        p.type = it->at("type").get<std::string>();
        p.from_node = it->at("from").at("node").get<std::uint32_t>();
        p.from_port = it->at("from").at("port").get<std::uint32_t>();
        p.to_node = it->at("to").at("node").get<std::uint32_t>();
        p.to_port = it->at("to").at("port").get<std::uint32_t>();
        p.bytes = it->at("bytes").get<std::uint32_t>();
        p.link = it->value("link", std::string{});
        if (auto qmi = it->find("qmi"); qmi != it->end()) {
            p.qmi = qmi->at("kind").get<std::string>();
            p.message_id = qmi->at("message_id").get<std::uint16_t>();
            p.txn = qmi->at("txn").get<std::uint16_t>();
            p.message = qmi->value("message", std::string{});
        }
        f.packet = std::move(p);
    }
    if (auto it = je.find("exit"); it != je.end()) {
        sim::TraceExit exit;
        get_optional(*it, "code", exit.code);
        get_optional(*it, "signal", exit.signal);
        exit.core_dumped = it->value("core_dumped", false);
        f.exit = exit;
    }
    get_optional(je, "pid", f.pid);
    get_optional(je, "fault", f.fault);
    get_optional(je, "io_fault", f.io_fault);
    get_optional(je, "file", f.file);
    get_optional(je, "sector", f.sector);
    get_optional(je, "state", f.state);
    return e;
}

ScenarioResult scenario_result(const nlohmann::json& js) {
    if (!js.is_object()) throw std::runtime_error("a scenario's result is a JSON object");
    ScenarioResult s;
    get(js, "name", s.name);
    get(js, "description", s.description);
    get(js, "file", s.file);
    get(js, "tags", s.tags);
    s.verdict = named_or_throw<Verdict>(js, "verdict", s.name);
    get(js, "reason", s.reason);
    get(js, "known_issue", s.known_issue);
    s.known_status = named_or_throw<KnownStatus>(js, "known_status", s.name);
    get(js, "duration_ms", s.duration_ms);
    get(js, "seed", s.seed);
    get(js, "reproduce", s.reproduce);
    get(js, "ledger_verdict", s.ledger_verdict);
    get(js, "ledger_violations", s.ledger_violations);
    get(js, "coupling", s.coupling);
    get(js, "faults", s.faults);
    get(js, "modem_up_at_end", s.modem_up_at_end);
    get(js, "data_lost", s.data_lost);
    if (auto it = js.find("recovery_ms"); it != js.end() && !it->is_null()) s.recovery_ms = it->get<double>();
    get(js, "daemon_log", s.daemon_log);
    for (const auto& jstep : js.value("steps", nlohmann::json::array())) {
        StepResult step;
        get(jstep, "index", step.index);
        get(jstep, "kind", step.kind);
        get(jstep, "note", step.note);
        step.status = named_or_throw<StepStatus>(jstep, "status", s.name);
        get(jstep, "message", step.message);
        get(jstep, "started_ms", step.started_ms);
        get(jstep, "ended_ms", step.ended_ms);
        get(jstep, "where", step.where);
        s.steps.push_back(std::move(step));
    }
    for (const auto& je : js.value("trace", nlohmann::json::array())) s.trace.push_back(trace_entry(je, s.name));
    return s;
}

}  // namespace

std::string trace_event_json(const TraceEntry& event) { return to_json(event).dump(); }

std::string scenario_json_line(const ScenarioResult& result) {
    return to_json(result).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ScenarioResult read_scenario_json(std::string_view line) {
    try {
        return scenario_result(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("malformed scenario result JSON: ") + e.what());
    }
}

RunReport read_json(std::istream& in) {
    try {
        const nlohmann::json j = nlohmann::json::parse(in);
        if (!j.is_object()) throw std::runtime_error("a report is a JSON object");
        if (j.value("format", std::string{}) != "rmtfs-hil-report")
            throw std::runtime_error("not an rmtfs-hil report (\"format\" is not \"rmtfs-hil-report\")");
        RunReport r;
        get(j, "started_at", r.started_at);
        get(j, "server", r.server);
        get(j, "seed", r.seed);
        get(j, "jobs", r.jobs);
        get(j, "interrupted", r.interrupted);
        get(j, "duration_ms", r.duration_ms);
        get(j, "command", r.command);
        for (const auto& js : j.value("scenarios", nlohmann::json::array())) r.scenarios.push_back(scenario_result(js));
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw std::runtime_error(std::string("malformed report JSON: ") + e.what());
    }
}

// ---- JUnit -----------------------------------------------------------------------------

namespace {

// The failure's text: the failing steps, the ledger, the known issue, how to reproduce.
std::string failure_text(const ScenarioResult& s) {
    std::ostringstream text;
    if (!s.reason.empty()) text << s.reason << "\n";
    for (const auto& step : s.steps) {
        if (step.status != StepStatus::failed && step.status != StepStatus::error) continue;
        text << "\nstep " << step.index << " (" << step.kind;
        if (!step.where.empty()) text << ", " << step.where;
        text << ") " << name_of(step.status);
        if (!step.note.empty()) text << " [" << step.note << "]";
        if (!step.message.empty()) text << ": " << step.message;
        text << "\n";
    }
    if (!s.ledger_verdict.empty() || !s.ledger_violations.empty()) {
        text << "\nledger: " << (s.ledger_verdict.empty() ? "-" : s.ledger_verdict) << "\n";
        for (const auto& v : s.ledger_violations) text << "  - " << v << "\n";
    }
    if (!s.known_issue.empty()) {
        text << "\nknown issue";
        if (s.known_status != KnownStatus::none) text << " (" << name_of(s.known_status) << ")";
        text << ": " << s.known_issue << "\n";
    }
    if (!s.reproduce.empty()) text << "\nreproduce: " << s.reproduce << "\n";
    return text.str();
}

void property(std::ostream& out, std::string_view indent, std::string_view name, std::string_view value) {
    out << indent << "<property name=\"" << escape_xml_attribute(name) << "\" value=\""
        << escape_xml_attribute(value) << "\"/>\n";
}

}  // namespace

void write_junit(const RunReport& report, std::ostream& out) {
    const Summary sum = summarise(report);
    std::ostringstream counts;
    counts << " tests=\"" << sum.total << "\" failures=\"" << sum.failed << "\" errors=\"" << sum.errors
           << "\" skipped=\"" << sum.skipped << "\" time=\"" << seconds(report.duration_ms) << "\"";
    out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    out << "<testsuites name=\"rmtfs-hil\"" << counts.str() << ">\n";
    out << "  <testsuite name=\"rmtfs-hil\"" << counts.str();
    if (!report.started_at.empty()) out << " timestamp=\"" << escape_xml_attribute(report.started_at) << "\"";
    out << ">\n";
    out << "    <properties>\n";
    property(out, "      ", "server", report.server);
    property(out, "      ", "seed", std::to_string(report.seed));
    property(out, "      ", "jobs", std::to_string(report.jobs));
    property(out, "      ", "command", report.command);
    property(out, "      ", "interrupted", report.interrupted ? "true" : "false");
    out << "    </properties>\n";
    for (const auto& s : report.scenarios) {
        const std::string classname = s.tags.empty() || s.tags.front().empty() ? "scenarios" : s.tags.front();
        out << "    <testcase name=\"" << escape_xml_attribute(s.name) << "\" classname=\""
            << escape_xml_attribute(classname) << "\" time=\"" << seconds(s.duration_ms) << "\"";
        if (!s.file.empty()) out << " file=\"" << escape_xml_attribute(s.file) << "\"";
        out << ">\n";
        out << "      <properties>\n";
        property(out, "        ", "seed", std::to_string(s.seed));
        if (!s.known_issue.empty()) property(out, "        ", "known_issue", s.known_issue);
        if (s.known_status != KnownStatus::none) property(out, "        ", "known_status", name_of(s.known_status));
        if (!s.reproduce.empty()) property(out, "        ", "reproduce", s.reproduce);
        out << "      </properties>\n";
        const Verdict v = s.verdict;
        if (v == Verdict::fail || v == Verdict::error) {
            const char* element = v == Verdict::fail ? "failure" : "error";
            std::string type = v == Verdict::fail ? "failure" : "error";
            if (s.known_status == KnownStatus::known) type = "known-issue";
            else if (s.known_status == KnownStatus::new_failure) type = "new-failure";
            out << "      <" << element << " message=\"" << escape_xml_attribute(s.reason) << "\" type=\"" << type
                << "\">" << escape_xml(failure_text(s)) << "</" << element << ">\n";
        } else if (v == Verdict::skip) {
            out << "      <skipped message=\"" << escape_xml_attribute(s.reason) << "\"/>\n";
        }
        if (!s.daemon_log.empty()) {
            out << "      <system-out>";
            for (const auto& line : s.daemon_log) out << escape_xml(line) << "\n";
            out << "</system-out>\n";
        }
        out << "    </testcase>\n";
    }
    out << "  </testsuite>\n";
    out << "</testsuites>\n";
}

// ---- the terminal ----------------------------------------------------------------------

namespace {

std::string pad(std::string text, std::size_t width) {
    const std::size_t w = display_width(text);
    if (w < width) text.append(width - w, ' ');
    return text;
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

}  // namespace

void write_summary_table(const RunReport& report, std::ostream& out) {
    constexpr std::size_t max_name = 40;
    constexpr std::size_t max_reason = 70;
    std::size_t name_width = 8;  // "SCENARIO"
    std::size_t verdict_width = 7;
    for (const auto& s : report.scenarios) {
        name_width = std::max(name_width, std::min(max_name, display_width(sanitize_line(s.name))));
        verdict_width = std::max(verdict_width, display_width(verdict_label(s)));
    }
    out << pad("SCENARIO", name_width) << "  " << pad("VERDICT", verdict_width) << "  " << pad("TIME", 9)
        << "  REASON\n";
    for (const auto& s : report.scenarios) {
        const std::string time = s.verdict == Verdict::skip && s.duration_ms == 0 ? "-" : format_ms(s.duration_ms);
        std::string line = pad(truncate(sanitize_line(s.name), max_name), name_width) + "  " +
                           pad(verdict_label(s), verdict_width) + "  " + pad(time, 9);
        if (!s.reason.empty()) line += "  " + truncate(sanitize_line(s.reason), max_reason);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << "\n";
    }
    const Summary sum = summarise(report);
    out << "\n"
        << plural(sum.total, "scenario", "scenarios") << " in " << format_ms(report.duration_ms) << ": " << sum.passed
        << " passed, " << sum.failed << " failed, " << plural(sum.errors, "error", "errors") << ", " << sum.skipped
        << " skipped";
    if (sum.known + sum.fixed + sum.new_failures > 0)
        out << "; known issues: " << sum.known << " known, " << sum.fixed << " fixed, " << sum.new_failures << " new";
    out << "\n";
    if (sum.fixed > 0)
        out << plural(sum.fixed, "known issue", "known issues")
            << " passed: fixed? Update the scenario's known_issue.\n";
    out << (sum.ok() ? "OK" : "FAILED") << ": " << plural(sum.unexpected, "unexpected failure", "unexpected failures");
    if (report.interrupted) out << "; the run was interrupted, not every scenario ran";
    out << "\n";
    bool first = true;
    for (const auto& s : report.scenarios) {
        if (!is_failure(s)) continue;
        if (first) out << "\n";
        first = false;
        out << verdict_label(s) << " " << sanitize_line(s.name);
        if (!s.reason.empty()) out << ": " << sanitize_line(s.reason);
        out << "\n  reproduce: " << (s.reproduce.empty() ? "-" : sanitize_line(s.reproduce)) << "\n";
    }
}

namespace {

void write_matrix_cells(const RunReport& report, std::ostream& out);

// Runs the matrix leaves out (skipped: not for the target, or it cannot do
// what they need), by scenario with the policies: a policy the target cannot
// run must not vanish from the page unsaid. The reasons are in the reports.
void write_matrix_skips(const RunReport& report, std::ostream& out) {
    std::vector<std::pair<std::string, std::string>> skipped;  // name, its policies
    std::size_t runs = 0;
    for (const auto& s : report.scenarios) {
        if (s.verdict != Verdict::skip) continue;
        ++runs;
        const std::string name = sanitize_line(s.name), policy = s.coupling.empty() ? "-" : sanitize_line(s.coupling);
        auto it = std::find_if(skipped.begin(), skipped.end(), [&](const auto& entry) { return entry.first == name; });
        if (it == skipped.end()) skipped.emplace_back(name, policy);
        else it->second += ", " + policy;
    }
    if (runs == 0) return;
    out << "  not in the matrix: " << plural(runs, "skipped run", "skipped runs")
        << " (the reasons are in the reports):\n";
    for (const auto& [name, policies] : skipped) out << "    " << name << " under " << policies << "\n";
}

}  // namespace

void write_matrix_table(const RunReport& report, std::ostream& out) {
    write_matrix_cells(report, out);
    write_matrix_skips(report, out);
}

namespace {

void write_matrix_cells(const RunReport& report, std::ostream& out) {
    const Matrix m = build_matrix(report);
    out << "Coupling policy x faults: modem up at the end, data kept or LOST, time to recover\n";
    if (m.empty()) {
        out << "  (no scenarios ran)\n";
        return;
    }
    if (m.sparse()) {
        for (std::size_t r = 0; r < m.couplings.size(); ++r) {
            for (std::size_t c = 0; c < m.fault_keys.size(); ++c) {
                const MatrixCell& cell = m.cells[r][c];
                if (cell.scenarios.empty()) continue;
                out << "  " << sanitize_line(m.couplings[r]) << " x " << sanitize_line(m.fault_keys[c]) << ": "
                    << describe_cell(cell) << "  [";
                for (std::size_t i = 0; i < cell.scenarios.size(); ++i)
                    out << (i ? ", " : "") << sanitize_line(cell.scenarios[i]->name);
                out << "]\n";
            }
        }
        return;
    }
    std::vector<std::string> header{"coupling"};
    for (const auto& k : m.fault_keys) header.push_back(sanitize_line(k));
    std::vector<std::vector<std::string>> rows;
    for (std::size_t r = 0; r < m.couplings.size(); ++r) {
        std::vector<std::string> row{sanitize_line(m.couplings[r])};
        for (std::size_t c = 0; c < m.fault_keys.size(); ++c) {
            const std::string text = describe_cell(m.cells[r][c]);
            row.push_back(text.empty() ? "." : text);
        }
        rows.push_back(std::move(row));
    }
    std::vector<std::size_t> widths(header.size());
    for (std::size_t c = 0; c < header.size(); ++c) {
        widths[c] = display_width(header[c]);
        for (const auto& row : rows) widths[c] = std::max(widths[c], display_width(row[c]));
    }
    auto print = [&](const std::vector<std::string>& cells) {
        std::string line = " ";
        for (std::size_t c = 0; c < cells.size(); ++c) line += " " + pad(cells[c], widths[c]) + (c + 1 < cells.size() ? " |" : "");
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out << line << "\n";
    };
    print(header);
    std::string rule = "  ";
    for (std::size_t c = 0; c < widths.size(); ++c) rule += (c ? "-+-" : "") + std::string(widths[c], '-');
    out << rule << "\n";
    for (const auto& row : rows) print(row);
}

}  // namespace

}  // namespace rmtfs_hil::engine
