// The report writers: JSON round trips, JUnit is well-formed XML, hostile
// text is escaped everywhere, the counts and the matrix are right, and the
// HTML page holds the sequence diagram and fetches nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/report.hpp"
#include "tests/engine/sample_report.hpp"
#include "tests/support/scratch_directory.hpp"

namespace rmtfs_hil::engine {
namespace {

using testing::sample_report;
using sim::TraceKind;

std::size_t count(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + needle.size())) ++n;
    return n;
}

template <typename Writer>
std::string render(const RunReport& report, Writer writer) {
    std::ostringstream out;
    writer(report, out);
    return out.str();
}

// ---- a small XML 1.0 well-formedness check ----------------------------------------------

bool valid_utf8_xml_chars(const std::string& text, std::string& why) {
    for (std::size_t i = 0; i < text.size();) {
        const auto b = static_cast<unsigned char>(text[i]);
        if (b < 0x80) {
            if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') {
                why = "control character " + std::to_string(b) + " at " + std::to_string(i);
                return false;
            }
            ++i;
            continue;
        }
        std::size_t length = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
        if (length == 0 || i + length > text.size()) {
            why = "invalid UTF-8 at " + std::to_string(i);
            return false;
        }
        for (std::size_t k = 1; k < length; ++k)
            if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) {
                why = "invalid UTF-8 at " + std::to_string(i);
                return false;
            }
        i += length;
    }
    return true;
}

// "&amp;", "&#39;", "&#x1F;": a reference XML knows, at the start of text.
bool starts_with_reference(std::string_view text) {
    const auto semicolon = text.find(';');
    if (text.empty() || text[0] != '&' || semicolon == std::string_view::npos || semicolon < 2) return false;
    const std::string_view name = text.substr(1, semicolon - 1);
    if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") return true;
    if (name[0] != '#' || name.size() < 2) return false;
    const bool hex = name[1] == 'x';
    const std::string_view digits = name.substr(hex ? 2 : 1);
    if (digits.empty()) return false;
    return std::all_of(digits.begin(), digits.end(), [hex](char c) {
        return hex ? std::isxdigit(static_cast<unsigned char>(c)) != 0 : std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

bool valid_references(std::string_view text, std::string& why) {
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '<') {
            why = "raw < in text or attribute";
            return false;
        }
        if (text[i] == '&' && !starts_with_reference(text.substr(i, 12))) {
            why = "bad reference at: " + std::string(text.substr(i, 12));
            return false;
        }
    }
    return true;
}

// Elements balance, one root, attributes quoted, references valid, no "]]>" in text.
::testing::AssertionResult well_formed_xml(const std::string& xml) {
    std::string why;
    if (!valid_utf8_xml_chars(xml, why)) return ::testing::AssertionFailure() << why;
    std::size_t i = 0;
    if (xml.rfind("<?xml", 0) == 0) i = xml.find("?>") + 2;
    std::vector<std::string> open;
    std::size_t roots = 0;
    auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == ':' || c == '.'; };
    while (i < xml.size()) {
        const std::size_t lt = xml.find('<', i);
        const std::string text = xml.substr(i, lt == std::string::npos ? std::string::npos : lt - i);
        if (open.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos)
            return ::testing::AssertionFailure() << "text outside the root: " << text.substr(0, 40);
        if (text.find("]]>") != std::string::npos) return ::testing::AssertionFailure() << "]]> in text";
        if (!valid_references(text, why)) return ::testing::AssertionFailure() << why;
        if (lt == std::string::npos) break;
        i = lt + 1;
        if (xml.compare(i, 3, "!--") == 0) {
            const auto end = xml.find("-->", i);
            if (end == std::string::npos) return ::testing::AssertionFailure() << "unterminated comment";
            i = end + 3;
            continue;
        }
        const bool closing = xml[i] == '/';
        if (closing) ++i;
        const std::size_t name_start = i;
        while (i < xml.size() && name_char(xml[i])) ++i;
        const std::string name = xml.substr(name_start, i - name_start);
        if (name.empty()) return ::testing::AssertionFailure() << "empty element name at " << name_start;
        if (closing) {
            if (open.empty() || open.back() != name)
                return ::testing::AssertionFailure() << "</" << name << "> closes " << (open.empty() ? "nothing" : open.back());
            open.pop_back();
            if (xml[i] != '>') return ::testing::AssertionFailure() << "junk in </" << name << ">";
            ++i;
            continue;
        }
        std::vector<std::string> attributes;
        while (true) {
            while (i < xml.size() && std::isspace(static_cast<unsigned char>(xml[i]))) ++i;
            if (i >= xml.size()) return ::testing::AssertionFailure() << "unterminated <" << name;
            if (xml[i] == '>' || xml.compare(i, 2, "/>") == 0) break;
            const std::size_t a = i;
            while (i < xml.size() && name_char(xml[i])) ++i;
            const std::string attribute = xml.substr(a, i - a);
            if (attribute.empty() || xml.compare(i, 2, "=\"") != 0)
                return ::testing::AssertionFailure() << "bad attribute in <" << name << "> at " << a;
            if (std::find(attributes.begin(), attributes.end(), attribute) != attributes.end())
                return ::testing::AssertionFailure() << "duplicate attribute " << attribute;
            attributes.push_back(attribute);
            i += 2;
            const std::size_t end = xml.find('"', i);
            if (end == std::string::npos) return ::testing::AssertionFailure() << "unterminated attribute";
            if (!valid_references(std::string_view(xml).substr(i, end - i), why))
                return ::testing::AssertionFailure() << "attribute " << attribute << ": " << why;
            i = end + 1;
        }
        if (open.empty()) ++roots;
        if (xml[i] == '>') {
            open.push_back(name);
            ++i;
        } else {
            i += 2;
        }
    }
    if (!open.empty()) return ::testing::AssertionFailure() << "<" << open.back() << "> never closed";
    if (roots != 1) return ::testing::AssertionFailure() << roots << " root elements";
    return ::testing::AssertionSuccess();
}

// ---- summary ---------------------------------------------------------------------------

TEST(ReportSummary, CountsVerdictsAndKnownIssues) {
    const Summary s = summarise(sample_report());
    EXPECT_EQ(s.total, 5u);
    EXPECT_EQ(s.passed, 2u);
    EXPECT_EQ(s.failed, 1u);
    EXPECT_EQ(s.errors, 1u);
    EXPECT_EQ(s.skipped, 1u);
    EXPECT_EQ(s.known, 1u);
    EXPECT_EQ(s.fixed, 1u);
    EXPECT_EQ(s.new_failures, 0u);
    EXPECT_EQ(s.unexpected, 1u);  // the error; the failure is the known issue
    EXPECT_FALSE(s.ok());
    EXPECT_DOUBLE_EQ(s.duration_ms, 7750.0);
}

TEST(ReportSummary, KnownFailuresAloneAreOkButNotInterruptedRuns) {
    RunReport r;
    r.scenarios = {testing::sigkill_scenario(), testing::clean_scenario()};
    EXPECT_TRUE(summarise(r).ok());
    r.interrupted = true;
    EXPECT_FALSE(summarise(r).ok());
    r.interrupted = false;
    r.scenarios[0].known_status = KnownStatus::new_failure;
    const Summary s = summarise(r);
    EXPECT_EQ(s.new_failures, 1u);
    EXPECT_EQ(s.unexpected, 1u);
    EXPECT_FALSE(s.ok());
    r.scenarios[1].verdict = Verdict::error;
    EXPECT_EQ(summarise(r).errors, 1u);
}

// Every closed set a report holds: a name outside it is refused.
TEST(ReportJson, AnUnknownNameIsRefusedNotCountedAsSomething) {
    std::ostringstream out;
    write_json(sample_report(), out);
    const std::vector<std::pair<std::string, std::string>> swaps = {
        {"\"verdict\": \"pass\"", "verdict"},     {"\"known_status\": \"known\"", "known_status"},
        {"\"status\": \"passed\"", "status"},     {"\"source\": \"server\"", "source"},
        {"\"kind\": \"started\"", "kind"},
    };
    for (const auto& [field, key] : swaps) {
        std::string text = out.str();
        auto at = text.find(field);
        ASSERT_NE(at, std::string::npos) << field;
        text.replace(at, field.size(), "\"" + key + "\": \"exploded\"");
        std::istringstream in(text);
        try {
            read_json(in);
            ADD_FAILURE() << "an unknown " << key << " was read";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("unknown " + key + " 'exploded'"), std::string::npos) << e.what();
        }
    }
}

// ---- JSON ------------------------------------------------------------------------------

TEST(ReportJson, RoundTripsEveryField) {
    RunReport original = sample_report();
    original.interrupted = true;
    // No invalid UTF-8 here (JSON replaces it, tested below); control characters survive.
    original.scenarios[2].description = "tab\tnewline\ncontrol\x01 esc\x1b quote\" backslash\\ </script> \u00e9\u2713";
    for (auto& s : original.scenarios) testing::cut_at_invalid_utf8(s);
    const std::string text = render(original, write_json);

    std::istringstream in(text);
    const RunReport back = read_json(in);
    EXPECT_TRUE(back == original);

    // And as any JSON reader sees it.
    const auto j = nlohmann::json::parse(text);
    EXPECT_EQ(j["format"], "rmtfs-hil-report");
    EXPECT_EQ(j["version"], 1);
    EXPECT_EQ(j["started_at"], "2024-05-04T10:11:12Z");
    EXPECT_EQ(j["server"], "/usr/bin/rmtfs");
    EXPECT_EQ(j["seed"], 42u);
    EXPECT_EQ(j["jobs"], 4u);
    EXPECT_EQ(j["interrupted"], true);
    EXPECT_EQ(j["duration_ms"], 7750.0);
    EXPECT_EQ(j["command"], original.command);
    EXPECT_EQ(j["summary"]["total"], 5u);
    EXPECT_EQ(j["summary"]["known"], 1u);
    EXPECT_EQ(j["summary"]["fixed"], 1u);
    EXPECT_EQ(j["summary"]["new"], 0u);
    EXPECT_EQ(j["summary"]["ok"], false);
    ASSERT_EQ(j["scenarios"].size(), 5u);
    const auto& s0 = j["scenarios"][0];
    EXPECT_EQ(s0["name"], "sigkill-during-write");
    EXPECT_EQ(s0["seed"].get<std::uint64_t>(), 18446744073709551557ull);
    EXPECT_EQ(s0["verdict"], "fail");
    EXPECT_EQ(s0["known_status"], "known");
    EXPECT_EQ(s0["tags"], nlohmann::json::array({"process", "faults"}));
    EXPECT_EQ(s0["faults"], nlohmann::json::array({"sigkill"}));
    EXPECT_EQ(s0["coupling"], "rmtfs-sysfs");
    EXPECT_EQ(s0["modem_up_at_end"], true);
    EXPECT_EQ(s0["data_lost"], true);
    EXPECT_EQ(s0["recovery_ms"], 1234.5);
    EXPECT_EQ(s0["ledger_violations"].size(), 2u);
    EXPECT_EQ(s0["steps"].size(), 6u);
    EXPECT_EQ(s0["steps"][4]["status"], "failed");
    EXPECT_EQ(s0["steps"][4]["where"], "scenarios/process/sigkill-during-write.json:19:5");
    EXPECT_EQ(s0["trace"].size(), original.scenarios[0].trace.size());
    EXPECT_EQ(s0["trace"][0]["source"], "server");
    EXPECT_EQ(s0["daemon_log"].size(), 60u);
    EXPECT_TRUE(j["scenarios"][1]["recovery_ms"].is_null());
    EXPECT_EQ(j["scenarios"][2]["description"], original.scenarios[2].description);
}

TEST(ReportJson, InvalidUtf8IsReplacedNotThrown) {
    const RunReport report = sample_report();  // the hostile scenario holds \xff\xfe
    std::string text;
    ASSERT_NO_THROW(text = render(report, write_json));
    const auto j = nlohmann::json::parse(text);  // valid JSON, valid UTF-8
    const std::string reason = j["scenarios"][2]["reason"];
    EXPECT_NE(reason.find("bad utf8: \xef\xbf\xbd\xef\xbf\xbd end"), std::string::npos) << reason;
    std::istringstream in(text);
    EXPECT_EQ(read_json(in).scenarios.size(), 5u);
}

TEST(ReportJson, ReadRejectsWhatIsNotAReport) {
    for (const char* text : {"not json", "[1, 2]", "{\"format\": \"other\"}",
                             "{\"format\": \"rmtfs-hil-report\", \"seed\": \"forty-two\"}"}) {
        std::istringstream in(text);
        EXPECT_THROW(read_json(in), std::runtime_error) << text;
    }
}

// ---- JUnit -----------------------------------------------------------------------------

TEST(ReportJunit, OneTestcasePerScenarioWithItsOutcome) {
    const std::string xml = render(sample_report(), write_junit);
    EXPECT_EQ(xml.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", 0), 0u);
    EXPECT_NE(xml.find("<testsuite name=\"rmtfs-hil\" tests=\"5\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"7.750\""),
              std::string::npos)
        << xml.substr(0, 400);
    EXPECT_EQ(count(xml, "<testcase "), 5u);
    EXPECT_NE(xml.find("<testcase name=\"sigkill-during-write\" classname=\"process\" time=\"3.413\""), std::string::npos);
    EXPECT_NE(xml.find("<testcase name=\"needs-adb\" classname=\"device\""), std::string::npos);
    EXPECT_EQ(count(xml, "<failure "), 1u);
    EXPECT_EQ(count(xml, "<error "), 1u);
    EXPECT_EQ(count(xml, "<skipped "), 1u);
    EXPECT_NE(xml.find("<failure message=\"ledger: acknowledged write to modem_fs1 sectors 8..11 not on storage after "
                       "SIGKILL\" type=\"known-issue\">"),
              std::string::npos);
    // The failure's text: the failing step, the violations, the reproduce command.
    const auto failure = xml.substr(xml.find("<failure "), xml.find("</failure>") - xml.find("<failure "));
    EXPECT_NE(failure.find("step 4 (read, scenarios/process/sigkill-during-write.json:19:5) failed [read it back]: "
                           "sector 9: expected pattern &#39;a&#39;, got the initial pattern"),
              std::string::npos)
        << failure;
    EXPECT_NE(failure.find("  - write #3 to modem_fs1 sectors 8..11 acknowledged"), std::string::npos);
    EXPECT_NE(failure.find("  - read #5 of modem_fs1 sector 9 returned data never written"), std::string::npos);
    EXPECT_NE(failure.find("reproduce: rmtfs-hil run --server /usr/bin/rmtfs --seed 18446744073709551557 "),
              std::string::npos);
    EXPECT_NE(xml.find("<skipped message=\"target adb is not available\"/>"), std::string::npos);
    EXPECT_NE(xml.find("<system-out>rmtfs: line 0 of the daemon&#39;s log &lt;ok&gt;\n"), std::string::npos);
    EXPECT_NE(xml.find("<property name=\"known_status\" value=\"fixed\"/>"), std::string::npos);
    EXPECT_NE(xml.find("<property name=\"seed\" value=\"42\"/>"), std::string::npos);
}

TEST(ReportJunit, IsWellFormedXml) {
    EXPECT_TRUE(well_formed_xml(render(sample_report(), write_junit)));
    EXPECT_TRUE(well_formed_xml(render(RunReport{}, write_junit)));
    // The checker itself catches what it should.
    EXPECT_FALSE(well_formed_xml("<a><b></a></b>"));
    EXPECT_FALSE(well_formed_xml("<a>x ]]> y</a>"));
    EXPECT_FALSE(well_formed_xml("<a>\x01</a>"));
    EXPECT_FALSE(well_formed_xml("<a t=\"<\"/>"));
    EXPECT_FALSE(well_formed_xml("<a>&bogus;</a>"));
    EXPECT_FALSE(well_formed_xml("<a>\xff</a>"));
}

TEST(ReportJunit, XmllintAcceptsIt) {
    if (!std::filesystem::exists("/usr/bin/xmllint"))
        GTEST_SKIP() << "/usr/bin/xmllint not installed (Debian package libxml2-utils): the built-in check covers it";
    testing::ScratchDirectory dir;
    const auto path = dir.path / "junit.xml";
    {
        std::ofstream out(path, std::ios::binary);
        write_junit(sample_report(), out);
    }
    const std::string command = "/usr/bin/xmllint --noout '" + path.string() + "' 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0) << command;
    const auto bad = dir.path / "bad.xml";
    std::ofstream(bad) << "<a><b></a>";
    const std::string bad_command = "/usr/bin/xmllint --noout '" + bad.string() + "' 2>/dev/null";
    EXPECT_NE(std::system(bad_command.c_str()), 0) << "xmllint accepts anything?";
}

// ---- escaping --------------------------------------------------------------------------

TEST(ReportEscaping, SanitizeTextReplacesWhatXmlForbids) {
    EXPECT_EQ(sanitize_text("plain \t\n\r text \u00e9\u2713\U0001F600"), "plain \t\n\r text \u00e9\u2713\U0001F600");
    EXPECT_EQ(sanitize_text(std::string("nul\0!", 5)), "nul\u2400!");
    EXPECT_EQ(sanitize_text("\x1b[0m"), "\u241b[0m");
    EXPECT_EQ(sanitize_text("del\x7f"), "del\u2421");
    EXPECT_EQ(sanitize_text("\xff"), "\ufffd");
    EXPECT_EQ(sanitize_text("\xc0\xaf"), "\ufffd\ufffd");          // overlong '/'
    EXPECT_EQ(sanitize_text("\xed\xa0\x80"), "\ufffd\ufffd\ufffd");  // a surrogate
    EXPECT_EQ(sanitize_text("\xe2\x82"), "\ufffd\ufffd");           // truncated
    EXPECT_EQ(sanitize_text("\xef\xbf\xbe"), "\ufffd");             // U+FFFE
    EXPECT_EQ(escape_xml("<a href='x'>&\"]]>"), "&lt;a href=&#39;x&#39;&gt;&amp;&quot;]]&gt;");
    EXPECT_EQ(escape_xml_attribute("a\tb\nc\rd"), "a&#9;b&#10;c&#13;d");
    EXPECT_EQ(sanitize_line("a\tb\nc\x1b" "d\xc2\x9b"), "a b\u2424c\u241bd\ufffd");
}

TEST(ReportEscaping, HostileTextNeverReachesJunitRaw) {
    const std::string xml = render(sample_report(), write_junit);
    EXPECT_EQ(xml.find("</script>"), std::string::npos);
    EXPECT_EQ(xml.find("<b>"), std::string::npos);
    EXPECT_EQ(xml.find("]]>"), std::string::npos);
    EXPECT_EQ(xml.find('\x1b'), std::string::npos);
    EXPECT_EQ(xml.find('\x01'), std::string::npos);
    EXPECT_EQ(xml.find('\xff'), std::string::npos);
    EXPECT_NE(xml.find("&lt;/script&gt;&lt;b&gt;x&lt;/b&gt; &amp; &quot;quoted&quot;"), std::string::npos);
    EXPECT_NE(xml.find("]]&gt;"), std::string::npos);
    EXPECT_NE(xml.find("\u241b[31mred"), std::string::npos);  // ESC made visible
    EXPECT_NE(xml.find("<testcase name=\"hostile-&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;\" classname=\"&lt;tag&gt;&amp;\""),
              std::string::npos);
    EXPECT_TRUE(well_formed_xml(xml));
}

TEST(ReportEscaping, HostileTextNeverReachesHtmlRaw) {
    const std::string html = render_html(sample_report());
    // Our own script element is the only one.
    EXPECT_EQ(count(html, "<script"), 1u);
    EXPECT_EQ(count(html, "</script>"), 1u);
    EXPECT_EQ(html.find("<b>x</b>"), std::string::npos);
    EXPECT_EQ(html.find("<b>bold"), std::string::npos);
    EXPECT_EQ(html.find("</svg></script>"), std::string::npos);
    EXPECT_EQ(html.find("<!-- c -->"), std::string::npos);
    EXPECT_EQ(html.find("<evil>"), std::string::npos);
    EXPECT_EQ(html.find("<where>"), std::string::npos);
    EXPECT_EQ(html.find("<script>alert(2)"), std::string::npos);  // a packet's message name
    EXPECT_EQ(html.find('\x1b'), std::string::npos);
    EXPECT_EQ(html.find('\x01'), std::string::npos);
    EXPECT_EQ(html.find('\x7f'), std::string::npos);
    EXPECT_EQ(html.find('\xff'), std::string::npos);
    EXPECT_NE(html.find("&lt;script&gt;alert(&#39;log&#39;)&lt;/script&gt;"), std::string::npos);  // the log
    EXPECT_NE(html.find("hostile-&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt;"), std::string::npos);
    std::string why;
    EXPECT_TRUE(valid_utf8_xml_chars(html, why)) << why;
}

// ---- the terminal ----------------------------------------------------------------------

TEST(ReportSummaryTable, LinesTotalsAndReproduceCommands) {
    const std::string table = render(sample_report(), write_summary_table);
    std::istringstream lines(table);
    std::string header;
    std::getline(lines, header);
    EXPECT_EQ(header.rfind("SCENARIO", 0), 0u) << header;
    EXPECT_NE(header.find("VERDICT"), std::string::npos);
    EXPECT_NE(header.find("REASON"), std::string::npos);
    EXPECT_NE(table.find("sigkill-during-write"), std::string::npos);
    EXPECT_NE(table.find("FAIL (known)"), std::string::npos);
    EXPECT_NE(table.find("pass (fixed)"), std::string::npos);
    EXPECT_NE(table.find("ERROR"), std::string::npos);
    EXPECT_NE(table.find("3.41 s"), std::string::npos);
    EXPECT_NE(table.find("5 scenarios in 7.75 s: 2 passed, 1 failed, 1 error, 1 skipped; known issues: 1 known, 1 fixed, 0 new"),
              std::string::npos)
        << table;
    EXPECT_NE(table.find("FAILED: 1 unexpected failure"), std::string::npos) << table;
    EXPECT_EQ(count(table, "  reproduce: "), 2u);  // the failure and the error
    EXPECT_NE(table.find("  reproduce: rmtfs-hil run --server /usr/bin/rmtfs --seed 18446744073709551557 "
                         "scenarios/process/sigkill-during-write.json\n"),
              std::string::npos);
    EXPECT_EQ(table.find("reproduce: rmtfs-hil run --seed 1 "), std::string::npos);  // passes have none
    // Reasons are truncated in the table (the full one is in the failure list).
    EXPECT_NE(table.find("\u2026"), std::string::npos);
    // Nothing that drives a terminal.
    EXPECT_EQ(table.find('\x1b'), std::string::npos);
    EXPECT_EQ(table.find('\x01'), std::string::npos);
    EXPECT_EQ(table.find('\xff'), std::string::npos);
    // One line per scenario in the table part: no embedded newlines.
    std::size_t rows = 0;
    std::string line;
    while (std::getline(lines, line) && !line.empty()) ++rows;
    EXPECT_EQ(rows, 5u);
}

TEST(ReportSummaryTable, AllPassingSaysOk) {
    RunReport r;
    r.scenarios = {testing::clean_scenario()};
    r.duration_ms = 900;
    const std::string table = render(r, write_summary_table);
    EXPECT_NE(table.find("1 scenario in 900 ms: 1 passed, 0 failed, 0 errors, 0 skipped\n"), std::string::npos) << table;
    EXPECT_NE(table.find("OK: 0 unexpected failures\n"), std::string::npos) << table;
    EXPECT_EQ(table.find("reproduce:"), std::string::npos);
}

// ---- the matrix ------------------------------------------------------------------------

ScenarioResult matrix_entry(std::string name, std::string coupling, std::vector<std::string> faults, bool up,
                            bool lost, std::optional<double> recovery) {
    ScenarioResult s;
    s.name = std::move(name);
    s.verdict = Verdict::pass;
    s.coupling = std::move(coupling);
    s.faults = std::move(faults);
    s.modem_up_at_end = up;
    s.data_lost = lost;
    s.recovery_ms = recovery;
    return s;
}

TEST(ReportMatrix, SparseRunsAreListed) {
    const std::string text = render(sample_report(), write_matrix_table);
    EXPECT_NE(text.find("Coupling policy x faults"), std::string::npos);
    EXPECT_NE(text.find("  rmtfs-sysfs x sigkill: up, LOST, 1.23 s  [sigkill-during-write]\n"), std::string::npos)
        << text;
    EXPECT_NE(text.find("  manual x none: up, kept, -  [boot-clean]\n"), std::string::npos) << text;
    EXPECT_NE(text.find("  rmtfs-sysfs x io_fault: up, kept, 80 ms  [io-fault-on-sync]\n"), std::string::npos);
    EXPECT_NE(text.find("  mem-open x power_loss: DOWN, LOST, never  [hostile-</script><b>bold</b>]\n"),
              std::string::npos)
        << text;
    // Skipped: not a cell, but said, so that a policy the target cannot run
    // does not vanish unsaid.
    EXPECT_NE(text.find("  not in the matrix: 1 skipped run (the reasons are in the reports):\n    needs-adb under "),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("service-watch x"), std::string::npos) << "its only run was skipped: no cell";
    EXPECT_NE(text.find("    needs-adb under service-watch\n"), std::string::npos) << text;
    // Rows in the documented order of the policies.
    EXPECT_LT(text.find("manual x"), text.find("rmtfs-sysfs x"));
    EXPECT_LT(text.find("rmtfs-sysfs x"), text.find("mem-open x"));
}

TEST(ReportMatrix, DenseRunsAreAGrid) {
    RunReport r;
    r.scenarios = {
        matrix_entry("a", "manual", {}, true, false, std::nullopt),
        matrix_entry("b", "manual", {"sigkill"}, true, false, 250.0),
        matrix_entry("c", "rmtfs-sysfs", {}, true, false, std::nullopt),
        matrix_entry("d", "rmtfs-sysfs", {"sigkill"}, false, true, std::nullopt),
        matrix_entry("e", "rmtfs-sysfs", {"sigkill"}, true, false, 900.0),
        matrix_entry("f", "manual", {"power_loss", "sigkill", "sigkill"}, true, false, 12.0),
    };
    const std::string text = render(r, write_matrix_table);
    std::istringstream in(text);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    ASSERT_EQ(lines.size(), 5u) << text;
    EXPECT_EQ(lines[1], "  coupling    | none        | power_loss+sigkill | sigkill") << text;
    EXPECT_EQ(lines[2], "  ------------+-------------+--------------------+--------------------------") << text;
    EXPECT_EQ(lines[3], "  manual      | up, kept, - | up, kept, 12 ms    | up, kept, 250 ms") << text;
    EXPECT_EQ(lines[4], "  rmtfs-sysfs | up, kept, - | .                  | up 1/2, LOST 1/2, \u2264900 ms") << text;
}

TEST(ReportMatrix, NothingRan) {
    RunReport r;
    r.scenarios = {testing::skipped_scenario()};
    EXPECT_NE(render(r, write_matrix_table).find("(no scenarios ran)"), std::string::npos);
}

// ---- HTML ------------------------------------------------------------------------------

TEST(ReportHtml, PageHoldsEverything) {
    const RunReport report = sample_report();
    const std::string html = render_html(report);
    EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
    EXPECT_NE(html.find("<title>rmtfs-hil report: 5 scenarios, 2 passed, 1 failed, 1 error, 1 skipped</title>"),
              std::string::npos);
    EXPECT_NE(html.find("<style>"), std::string::npos);
    // Summary, scenario table with links, matrix, one section per scenario.
    EXPECT_NE(html.find("id=\"summary\""), std::string::npos);
    EXPECT_NE(html.find("<table id=\"scenario-table\">"), std::string::npos);
    for (int i = 0; i < 5; ++i) {
        EXPECT_NE(html.find("<a href=\"#s" + std::to_string(i) + "\">"), std::string::npos) << i;
        EXPECT_NE(html.find("id=\"s" + std::to_string(i) + "\""), std::string::npos) << i;
    }
    EXPECT_NE(html.find("id=\"matrix\""), std::string::npos);
    EXPECT_NE(html.find("<span class=\"ks known\""), std::string::npos);
    EXPECT_NE(html.find("<span class=\"ks fixed\""), std::string::npos);
    EXPECT_NE(html.find("<span class=\"badge fail\">FAIL</span>"), std::string::npos);
    // Per scenario: the reproduce command (copyable), steps, ledger, log.
    EXPECT_NE(html.find("<pre id=\"s0-repro\"><code>rmtfs-hil run --server /usr/bin/rmtfs --seed 18446744073709551557"),
              std::string::npos);
    EXPECT_NE(html.find("data-target=\"s0-repro\""), std::string::npos);
    EXPECT_NE(html.find("<p class=\"ledger violated\">2 violations</p>"), std::string::npos);
    EXPECT_NE(html.find("<p class=\"ledger clean\">clean: 12 writes (10 ok, 2 unknown)</p>"), std::string::npos);
    EXPECT_NE(html.find("<li>write #3 to modem_fs1 sectors 8..11 acknowledged"), std::string::npos);
    EXPECT_NE(html.find("sector 9: expected pattern &#39;a&#39;, got the initial pattern"), std::string::npos);
    EXPECT_NE(html.find("rmtfs: line 59 of the daemon&#39;s log &lt;ok&gt;"), std::string::npos);
    // One timeline per scenario.
    EXPECT_EQ(count(html, "<svg class=\"timeline\""), 5u);
}

TEST(ReportHtml, TimelineHasLanesArrowsAndFaults) {
    const ScenarioResult s = testing::sigkill_scenario();
    const std::string svg = render_timeline_svg(s, "t0");
    EXPECT_EQ(svg.rfind("<svg class=\"timeline\" id=\"t0\"", 0), 0u);
    for (const char* lane : {"modem", "daemon", "ns", "remoteproc", "harness"})
        EXPECT_NE(svg.find(std::string("<g class=\"lane\" data-lane=\"") + lane + "\">"), std::string::npos) << lane;
    EXPECT_NE(svg.find(">rmtfs (daemon)</text>"), std::string::npos);
    EXPECT_NE(svg.find(">name service</text>"), std::string::npos);
    // Faults: SIGKILL, the restart and (past the cap) the io_fault; each with a band and a mark.
    EXPECT_EQ(count(svg, "<g class=\"ev fault\""), 3u);
    EXPECT_EQ(count(svg, "class=\"fault-band\""), 3u);
    EXPECT_EQ(count(svg, "class=\"fault-mark\""), 3u);
    EXPECT_NE(svg.find("data-kind=\"io_fault\""), std::string::npos);
    // Packets: modem -> daemon (inbound marker) and daemon -> modem (outbound), control ones too.
    EXPECT_NE(svg.find("marker-end=\"url(#t0-in)\""), std::string::npos);
    EXPECT_NE(svg.find("marker-end=\"url(#t0-out)\""), std::string::npos);
    EXPECT_NE(svg.find("marker-end=\"url(#t0-ctl)\""), std::string::npos);
    // Arrows are labelled with the RMTFS message the packet carries.
    EXPECT_NE(svg.find(">OPEN 38B</text>"), std::string::npos);
    EXPECT_NE(svg.find(">OPEN response 25B</text>"), std::string::npos);
    EXPECT_NE(svg.find(">NEW_SERVER 20B</text>"), std::string::npos);
    // modem lane x = 78 + 59 = 137, daemon lane x = 255: an inbound arrow runs from one to the other.
    EXPECT_NE(svg.find("<line class=\"arrow\" x1=\"137\" y1=\""), std::string::npos);
    EXPECT_NE(svg.find("<line class=\"arrow\" x1=\"255\" y1=\""), std::string::npos);
    // State changes, a drop.
    EXPECT_NE(svg.find("data-kind=\"crashed\""), std::string::npos);
    EXPECT_NE(svg.find("class=\"drop\""), std::string::npos);
    // The trace is past the cap: elided, and said so.
    EXPECT_GT(s.trace.size(), timeline_event_cap + 100);
    EXPECT_NE(svg.find("events elided"), std::string::npos);
    EXPECT_NE(svg.find(" elided; "), std::string::npos);
    EXPECT_NE(svg.find("link_rx drawn as their delivery"), std::string::npos);
    EXPECT_TRUE(well_formed_xml(svg));
}

TEST(ReportHtml, TimelineMergesReceivedPacketsIntoTheirDelivery) {
    ScenarioResult s;
    using testing::packet, testing::event, testing::ctrl, testing::bcast;
    const auto fabric = sim::TraceSource::fabric;
    s.trace = {
        event(0, fabric, TraceKind::link_rx, "modem HELLO", packet("HELLO", 0, ctrl, bcast, ctrl, 20, "modem")),
        event(0, fabric, TraceKind::deliver, "HELLO", packet("HELLO", 0, ctrl, 1, ctrl, 20)),
        event(1, fabric, TraceKind::link_rx, "modem DATA", packet("DATA", 0, 77, 1, 14, 38, "modem")),
        event(1, fabric, TraceKind::deliver, "DATA", packet("DATA", 0, 77, 1, 14, 38)),
        // never delivered: drawn itself
        event(2, fabric, TraceKind::link_rx, "modem RESUME_TX", packet("RESUME_TX", 0, 77, 1, 14, 20, "modem")),
        event(3, fabric, TraceKind::link_tx, "modem DATA", packet("DATA", 1, 14, 0, 77, 14, "modem")),
        event(4, fabric, TraceKind::link_up, "link modem attached")};
    const std::string svg = render_timeline_svg(s, "m");
    EXPECT_EQ(count(svg, "<line class=\"arrow\""), 4u);
    EXPECT_EQ(count(svg, "data-kind=\"link_rx\""), 1u);
    EXPECT_NE(svg.find("; 2 link_rx drawn as their delivery"), std::string::npos);
    // modem (x 137) -> name service (x 373) for the HELLO; the link's state on the modem's lane.
    EXPECT_NE(svg.find("<line class=\"arrow\" x1=\"137\" y1=\"41\" x2=\"370\""), std::string::npos) << svg;
    EXPECT_NE(svg.find("<circle cx=\"137\" cy=\"97\" r=\"5\""), std::string::npos) << svg;
}

TEST(ReportHtml, TimelineCapsTheEventsItDraws) {
    ScenarioResult s;
    s.name = "long";
    for (int i = 0; i < 1000; ++i)
        s.trace.push_back(testing::event(double(i), sim::TraceSource::server, TraceKind::log, "line " + std::to_string(i)));
    s.trace[700] = testing::event(700, sim::TraceSource::harness, TraceKind::signal, "signal 9 to the daemon");
    s.trace[900] = testing::event(900, sim::TraceSource::remoteproc, TraceKind::state, "running -> crashed");
    const std::string svg = render_timeline_svg(s);
    EXPECT_EQ(count(svg, "<g class=\"ev"), timeline_event_cap + 2);
    EXPECT_EQ(count(svg, "<g class=\"elided\">"), 3u);  // 400..699, 701..899, 901..999
    EXPECT_NE(svg.find("\u22ef 300 events elided \u22ef"), std::string::npos);
    EXPECT_NE(svg.find("\u22ef 199 events elided \u22ef"), std::string::npos);
    EXPECT_NE(svg.find("\u22ef 99 events elided \u22ef"), std::string::npos);
    EXPECT_NE(svg.find("402 of 1000 trace events drawn (the first 400, then only faults and state changes): 598 elided."),
              std::string::npos);
    EXPECT_NE(svg.find(" line 399</text>"), std::string::npos);
    EXPECT_EQ(svg.find(" line 400</text>"), std::string::npos);

    ScenarioResult empty;
    const std::string none = render_timeline_svg(empty);
    EXPECT_NE(none.find("(no trace events)"), std::string::npos);
    EXPECT_TRUE(well_formed_xml(none));
}

TEST(ReportHtml, FetchesNothing) {
    const std::string html = render_html(sample_report());
    EXPECT_EQ(html.find("http://"), std::string::npos);
    EXPECT_EQ(html.find("https://"), std::string::npos);
    EXPECT_EQ(html.find("src="), std::string::npos);
    EXPECT_EQ(html.find("<link"), std::string::npos);
    EXPECT_EQ(html.find("@import"), std::string::npos);
    EXPECT_EQ(html.find("url(http"), std::string::npos);
    // Every link stays on the page.
    std::size_t hrefs = 0;
    for (auto pos = html.find("href=\""); pos != std::string::npos; pos = html.find("href=\"", pos + 1), ++hrefs) {
        const std::string target = html.substr(pos + 6, html.find('"', pos + 6) - pos - 6);
        EXPECT_EQ(target.rfind('#', 0), 0u) << target;
    }
    EXPECT_GT(hrefs, 5u);
    EXPECT_NE(html.find("Content-Security-Policy\" content=\"default-src 'none'"), std::string::npos);
}

TEST(ReportHtml, WriteHtmlCreatesTheDirectory) {
    testing::ScratchDirectory scratch;
    const auto dir = scratch.path / "nested" / "report";
    const RunReport report = sample_report();
    const std::string path = write_html(report, dir);
    EXPECT_EQ(path, (dir / "index.html").string());
    std::ifstream in(path, std::ios::binary);
    std::stringstream content;
    content << in.rdbuf();
    EXPECT_EQ(content.str(), render_html(report));

    const auto blocked = scratch.path / "file";
    std::ofstream(blocked) << "x";
    EXPECT_THROW(write_html(report, blocked / "sub"), std::runtime_error);
}

}  // namespace
}  // namespace rmtfs_hil::engine
