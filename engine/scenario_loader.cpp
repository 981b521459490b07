#include "engine/scenario_loader.hpp"

#include <string.h>  // strerrorname_np, sigabbrev_np (GNU)

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "engine/json_positions.hpp"

namespace rmtfs_hil::engine {

namespace {

using Json = nlohmann::json;
using Names = std::vector<std::string>;
namespace jt = json_text;

// ---- closed lists (engine/scenario.hpp's comments) ---------------------------------

const Names step_kinds = {"daemon",  "boot",          "modem",      "write",        "read",       "request",
                          "raw",     "fault",         "io_fault",   "link",         "network_reset", "power_loss",
                          "name_service", "remoteproc", "wait_for", "expect"};
const Names boards = {"sdm845", "apq8016"};
const Names couplings = {"manual", "rmtfs-sysfs", "mem-open", "service-watch"};
const Names name_services = {"kernel", "none"};
const Names service_loss_policies = {"fatal", "reopen", "ignore"};
const Names open_failure_policies = {"fail", "crash", "skip"};
const Names storage_fills = {"pattern", "zeros"};
// The modem's shared buffer (ALLOC_BUFF, 1 MiB) in sectors: the most one write or read moves.
constexpr std::uint64_t buffer_sectors = 2048;
const Names targets = {"sim", "adb"};
const Names daemon_actions = {"start", "stop", "restart", "kill"};
const Names boot_expectations = {"ok", "fail", "any"};
const Names start_stop = {"start", "stop"};
const Names write_expectations = {"ok", "failed", "unknown", "any"};
const Names read_expectations = {"ok", "failed", "any"};
const Names messages = {"OPEN", "CLOSE", "RW_IOVEC", "ALLOC_BUFF", "GET_DEV_ERROR"};
const Names process_actions = {"sigkill", "sigterm", "sigstop", "sigcont", "restart"};
const Names io_calls = {"open", "read", "write", "sync"};
const Names io_targets = {"storage", "memory"};
const Names storage_files = {"modem_fs1", "modem_fs2", "modem_fsg", "modem_fsc"};
const Names link_actions = {"down", "up", "drop", "delay", "duplicate", "reorder", "clear"};
const Names link_directions = {"to_daemon", "to_modem"};
const Names wait_events = {"service_published", "service_gone",   "daemon_exit", "daemon_started", "modem_state",
                           "remoteproc_state",  "log",            "syncs",       "boot_finished",  "restarts"};
const Names modem_states = {"offline", "waiting_for_service", "opening", "allocating",
                            "loading", "running",             "failed",  "crashed"};
const Names remoteproc_states = {"offline", "suspended", "running", "crashed", "deleted", "attached", "detached"};
const Names ledger_verdicts = {"clean", "violated"};
const Names known_issue_verdicts = {"fail", "error"};

constexpr std::uint64_t sector_bytes = 512;
constexpr std::uint64_t u32_max = std::numeric_limits<std::uint32_t>::max();

// Linux numbers errno values densely below this (as sim/errno_names.cpp).
constexpr int errno_max = 134;

const Names& errno_list() {
    static const Names names = [] {
        Names out;
        for (int n = 1; n <= errno_max; ++n)
            if (const char* name = strerrorname_np(n)) out.emplace_back(name);
        return out;
    }();
    return names;
}

std::optional<int> errno_number(std::string_view name) {
    for (int n = 1; n <= errno_max; ++n) {
        const char* known = strerrorname_np(n);
        if (known != nullptr && name == known) return n;
    }
    return std::nullopt;
}

const Names& signal_names() {
    static const Names names = [] {
        Names out;
        for (int n = 1; n < 32; ++n)
            if (const char* name = sigabbrev_np(n)) out.push_back(std::string("SIG") + name);
        return out;
    }();
    return names;
}

// ---- wording ------------------------------------------------------------------------

bool contains(const Names& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of neighbours each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

// The closest candidate when it is close (case does not count): "sever" -> "server".
std::optional<std::string> suggestion(std::string_view given, const Names& candidates) {
    if (given.size() > 64) return std::nullopt;  // nobody misspells at that length; keeps the cost bounded
    std::string wanted = lower(given);
    std::optional<std::string> best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const std::string& candidate : candidates) {
        std::size_t distance = edit_distance(wanted, lower(candidate));
        std::size_t limit = std::clamp<std::size_t>(std::max(wanted.size(), candidate.size()) / 3, 1, 3);
        if (distance <= limit && distance < best_distance && !(distance == 0 && candidate == given)) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

// A name from a file, for a message: single quotes, control characters
// escaped, long ones cut (at a UTF-8 character boundary).
std::string in_quotes(std::string_view text) {
    constexpr std::size_t max_bytes = 60;
    std::string out = "'";
    std::size_t i = 0;
    for (; i < text.size() && i < max_bytes; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    if (i < text.size()) {
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
        if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
        out += "...";
    }
    return out + "'";
}

// "'a', 'b' or 'c'"
std::string alternatives(const Names& names, std::string_view conjunction = "or") {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += i + 1 == names.size() ? " " + std::string(conjunction) + " " : ", ";
        out += "'" + names[i] + "'";
    }
    return out;
}

// What a value is, for "expected X, found Y".
std::string found(const Json& value) {
    switch (value.type()) {
        case Json::value_t::null: return "null";
        case Json::value_t::boolean: return value.get<bool>() ? "true" : "false";
        case Json::value_t::string: return "a string";
        case Json::value_t::number_integer:
        case Json::value_t::number_unsigned: return value.dump();
        case Json::value_t::number_float:
            return std::isfinite(value.get<double>()) ? value.dump() : std::string("a number too large to represent");
        case Json::value_t::object: return "an object";
        case Json::value_t::array: return "an array";
        default: return "a value";
    }
}

std::string unknown_name(std::string_view noun, std::string_view given, const Names& allowed) {
    std::string message = "unknown " + std::string(noun) + " " + in_quotes(given);
    if (auto close = suggestion(given, allowed)) return message + "; did you mean '" + *close + "'?";
    if (allowed.size() <= 12) return message + " (expected " + alternatives(allowed) + ")";
    return message;
}

std::string child(const std::string& pointer, std::string_view key) {
    return pointer + "/" + jt::escape_pointer_token(key);
}
std::string child(const std::string& pointer, std::size_t index) { return pointer + "/" + std::to_string(index); }

bool valid_scenario_name(std::string_view name) {
    auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (name.empty() || !lower_or_digit(name.front())) return false;
    return std::all_of(name.begin(), name.end(), [&](char c) { return lower_or_digit(c) || c == '-'; });
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Bytes as hex pairs, whitespace allowed between them: "de ad be ef". The
// byte count, or why it is not hex.
Expected<std::size_t, std::string> hex_byte_count(std::string_view text) {
    std::size_t bytes = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        char c = text[i];
        if (is_space(c)) {
            ++i;
            continue;
        }
        if (!is_hex_digit(c))
            return unexpected("bad hex: " + in_quotes(text.substr(i, 1)) + " at character " + std::to_string(i + 1) +
                              " is not a hex digit");
        if (i + 1 < text.size() && !is_hex_digit(text[i + 1]) && !is_space(text[i + 1]))
            return unexpected("bad hex: " + in_quotes(text.substr(i + 1, 1)) + " at character " + std::to_string(i + 2) +
                              " is not a hex digit");
        if (i + 1 >= text.size() || !is_hex_digit(text[i + 1]))
            return unexpected("bad hex: a lone digit at character " + std::to_string(i + 1) +
                              " (each byte is two hex digits, e.g. '0a')");
        ++bytes;
        i += 2;
    }
    if (bytes == 0) return unexpected(std::string("bad hex: no bytes"));
    return bytes;
}

// ---- syntax -------------------------------------------------------------------------

// Accepts everything and remembers the first error: nlohmann's check of the text.
class SyntaxCheck : public nlohmann::json_sax<Json> {
public:
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t position, const std::string&, const Json::exception& error) override {
        failed = true;
        byte = position;
        id = error.id;
        what = error.what();
        return false;
    }

    bool failed = false;
    std::size_t byte = 0;  // nlohmann's: 1-based index of the last byte read (size + 1 at the end)
    int id = 0;
    std::string what;
};

struct SyntaxError {
    std::size_t offset = 0;
    std::string message;
};

// What nlohmann calls a token, as "found ..." says it.
std::string token_phrase(std::string_view token) {
    if (token == "string literal") return "a string";
    if (token == "number literal") return "a number";
    if (token == "true literal") return "true";
    if (token == "false literal") return "false";
    if (token == "null literal") return "null";
    if (token == "end of input") return "the end of the file";
    return std::string(token);  // "'}'" and the like
}

bool only_whitespace(std::string_view text) {
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    return std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// nlohmann's "syntax error while parsing object - unexpected '}'; expected
// string literal" said plainly, at the start of what is wrong.
SyntaxError reword_syntax_error(std::string_view text, const SyntaxCheck& check) {
    std::size_t offset = std::min(check.byte > 0 ? check.byte - 1 : 0, text.size());
    std::string_view what = check.what;

    if (check.id == 406) {  // out_of_range: "number overflow parsing '1e400'"
        jt::Span word = jt::word_around(text, offset);
        return {word.begin, "number too large: " + in_quotes(text.substr(word.begin, word.end - word.begin))};
    }

    std::size_t start = what.find("syntax error");
    if (start == std::string_view::npos) return {offset, std::string(what)};
    std::string_view rest = what.substr(start);
    std::string_view context;
    constexpr std::string_view while_parsing = "syntax error while parsing ";
    std::size_t dash = rest.find(" - ");
    if (rest.substr(0, while_parsing.size()) == while_parsing && dash != std::string_view::npos)
        context = rest.substr(while_parsing.size(), dash - while_parsing.size());
    std::string_view body = dash == std::string_view::npos ? rest : rest.substr(dash + 3);

    static const std::vector<std::string_view> token_names = {
        "'['", "'{'", "']'", "'}'", "':'", "','", "string literal", "number literal", "true literal", "false literal",
        "null literal", "end of input", "'[', '{', or a literal"};
    std::string_view expected;
    constexpr std::string_view expected_marker = "; expected ";
    std::size_t marker = body.rfind(expected_marker);
    if (marker != std::string_view::npos) {
        std::string_view tail = body.substr(marker + expected_marker.size());
        if (std::find(token_names.begin(), token_names.end(), tail) != token_names.end()) {
            expected = tail;
            body = body.substr(0, marker);
        }
    }

    // The message for "found X" where the parser wanted `expected`.
    auto wanted = [&](const std::string& found_what, std::string_view token) -> std::string {
        if (expected == "string literal") {
            if (token == "'}'") return "expected a key after ',' (a trailing comma is not allowed)";
            return "expected a key in double quotes, found " + found_what;
        }
        if (expected == "':'") return "expected ':' after an object key, found " + found_what;
        if (expected == "'}'") return "expected ',' or '}' after an object member, found " + found_what;
        if (expected == "']'") return "expected ',' or ']' after an array element, found " + found_what;
        if (expected == "end of input") return "found " + found_what + " after the end of the top-level value";
        if (token == "']'") return "expected a value after ',' (a trailing comma is not allowed)";
        return "expected a value, found " + found_what;
    };

    constexpr std::string_view unexpected_marker = "unexpected ";
    if (body.substr(0, unexpected_marker.size()) == unexpected_marker) {
        std::string_view token = body.substr(unexpected_marker.size());
        std::size_t at = offset;
        if (token == "end of input") {
            at = text.size();
            if (only_whitespace(text)) return {0, "empty file: expected a scenario object {...}"};
        } else if (token == "string literal") {
            at = jt::string_start_containing(text, offset);
        } else if (token == "number literal" || token == "true literal" || token == "false literal" ||
                   token == "null literal") {
            at = jt::word_around(text, offset).begin;
        }
        return {at, wanted(token_phrase(token), token)};
    }

    // The lexer's own errors: "invalid literal; last read: '...'".
    std::string_view lexer = body.substr(0, body.find("; last read: "));
    if (lexer == "invalid literal") {
        jt::Span span = jt::word_around(text, offset);
        std::string_view word = text.substr(span.begin, span.end - span.begin);
        std::string shown = !word.empty() && word.front() == '\'' ? std::string(word) : in_quotes(word);
        if (!word.empty() && word.front() == '\'')
            return {span.begin, "strings and keys need double quotes, found " + shown};
        if (word.substr(0, 2) == "//" || word.substr(0, 2) == "/*")
            return {span.begin, "JSON has no comments: found " + in_quotes(word.substr(0, 2))};
        if (!expected.empty() && expected != "'[', '{', or a literal") return {span.begin, wanted(shown, "")};
        std::string message = "invalid value " + shown;
        if (auto close = suggestion(word, {"true", "false", "null"}))
            message += "; did you mean '" + *close + "'?";
        else
            message += " (expected a string, a number, an object, an array, true, false or null)";
        return {span.begin, message};
    }
    constexpr std::string_view invalid_number = "invalid number; ";
    if (lexer.substr(0, invalid_number.size()) == invalid_number) {
        jt::Span span = jt::word_around(text, offset);
        std::string detail(lexer.substr(invalid_number.size()));
        if (detail.rfind("expected digit", 0) == 0) detail.insert(9, "a ");  // "expected a digit after '-'"
        return {span.begin, "bad number " + in_quotes(text.substr(span.begin, span.end - span.begin)) + ": " + detail};
    }
    constexpr std::string_view invalid_string = "invalid string: ";
    if (lexer.substr(0, invalid_string.size()) == invalid_string) {
        std::string_view detail = lexer.substr(invalid_string.size());
        if (detail == "missing closing quote" || offset >= text.size())
            return {jt::string_start_containing(text, offset), "unterminated string: missing closing quote"};
        if (detail.find("U+000A") != std::string_view::npos || detail.find("U+000D") != std::string_view::npos)
            return {jt::string_start_containing(text, offset),
                    "unterminated string: a string must end on the line it starts (write \\n for a line break)"};
        if (detail.rfind("control character ", 0) == 0)
            return {offset, "control character in a string: " + std::string(detail.substr(18))};
        if (detail == "forbidden character after backslash") {
            std::string message = "bad escape in a string";
            if (offset < text.size() && text[offset] > 0x20 && text[offset] < 0x7F)
                message += " '\\" + std::string(1, text[offset]) + "'";
            return {offset > 0 ? offset - 1 : 0, message + " (allowed: \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"};
        }
        if (detail == "ill-formed UTF-8 byte") return {offset, "invalid UTF-8 in a string"};
        return {offset, "bad escape in a string: " + std::string(detail)};
    }
    if (lexer.rfind("invalid BOM", 0) == 0) return {0, "invalid byte order mark (only UTF-8's EF BB BF may start the file)"};
    return {offset, "syntax error: " + std::string(lexer)};
}

// ---- the loader ---------------------------------------------------------------------

struct Field {
    const Json* value = nullptr;
    std::string pointer;
    explicit operator bool() const { return value != nullptr; }
    const Json& operator*() const { return *value; }
    const Json* operator->() const { return value; }
};

class Loader {
public:
    Loader(std::string_view text, std::string file) : text_(text), file_(std::move(file)) {}

    Expected<Scenario, std::vector<ScenarioError>> run() {
        SyntaxCheck check;
        bool parsed = false;
        try {
            parsed = Json::sax_parse(text_.begin(), text_.end(), &check);
        } catch (const Json::exception& e) {  // not expected: sax_parse reports through parse_error
            check.failed = true;
            check.what = e.what();
        }
        if (!parsed || check.failed) {
            SyntaxError syntax = reword_syntax_error(text_, check);
            jt::TextPosition at = jt::position_of_offset(text_, syntax.offset);
            errors_.push_back(ScenarioError{SourceLocation{file_, at.line, at.column, ""}, syntax.message});
            return unexpected(std::move(errors_));
        }
        Json root;
        try {
            root = Json::parse(text_.begin(), text_.end());
        } catch (const Json::exception& e) {
            errors_.push_back(ScenarioError{SourceLocation{file_, 0, 0, ""}, e.what()});
            return unexpected(std::move(errors_));
        }
        positions_ = jt::index_positions(text_);
        for (const jt::DuplicateKey& duplicate : positions_.duplicates)
            errors_.push_back(ScenarioError{
                SourceLocation{file_, duplicate.again.line, duplicate.again.column, duplicate.pointer},
                "duplicate key " + in_quotes(duplicate.key) + " (first at line " + std::to_string(duplicate.first.line) +
                    ", column " + std::to_string(duplicate.first.column) + "): a key may appear once in an object"});

        scenario_.where = locate("", false);
        load(root);
        if (!errors_.empty()) {
            std::stable_sort(errors_.begin(), errors_.end(), [](const ScenarioError& a, const ScenarioError& b) {
                auto key = [](const SourceLocation& w) {
                    return std::make_pair(w.line == 0 ? std::numeric_limits<std::size_t>::max() : w.line, w.column);
                };
                return key(a.where) < key(b.where);
            });
            return unexpected(std::move(errors_));
        }
        return std::move(scenario_);
    }

private:
    // ---- positions and errors

    SourceLocation locate(const std::string& pointer, bool at_key) const {
        std::string at = pointer;
        for (;;) {
            if (const jt::ValuePosition* found = positions_.find(at)) {
                jt::TextPosition p = at_key && at == pointer && found->key.known() ? found->key : found->value;
                return SourceLocation{file_, p.line, p.column, pointer};
            }
            if (at.empty()) return SourceLocation{file_, 0, 0, pointer};
            at.erase(at.rfind('/'));
        }
    }

    void error(const std::string& pointer, std::string message) {
        errors_.push_back(ScenarioError{locate(pointer, false), std::move(message)});
    }
    void error_at_key(const std::string& pointer, std::string message) {
        errors_.push_back(ScenarioError{locate(pointer, true), std::move(message)});
    }

    // ---- generic checks

    static Field field(const Json& object, const std::string& pointer, std::string_view key) {
        auto found = object.find(std::string(key));
        if (found == object.end()) return {};
        return Field{&*found, child(pointer, key)};
    }

    bool is_object(const Json& value, const std::string& pointer, std::string_view what = "an object") {
        if (value.is_object()) return true;
        error(pointer, "expected " + std::string(what) + ", found " + found(value));
        return false;
    }

    // Every key must be one of `allowed`.
    void check_keys(const Json& object, const std::string& pointer, const Names& allowed) {
        for (const auto& [key, value] : object.items()) {
            if (contains(allowed, key)) continue;
            std::string message = "unknown key " + in_quotes(key);
            if (auto close = suggestion(key, allowed))
                message += "; did you mean '" + *close + "'?";
            else if (allowed.empty())
                message += " (expected no keys: {})";
            else if (allowed.size() <= 12)
                message += " (expected " + alternatives(allowed) + ")";
            error_at_key(child(pointer, key), message);
        }
    }

    void require(const Json& object, const std::string& pointer, const Names& keys) {
        for (const std::string& key : keys)
            if (!object.contains(key)) error(pointer, "missing required key '" + key + "'");
    }

    // A key that only applies in some cases, present in another.
    void reject(const Json& object, const std::string& pointer, std::string_view key, const std::string& why) {
        if (object.contains(std::string(key))) error_at_key(child(pointer, key), why);
    }

    std::optional<std::uint64_t> uint_value(const Json& value, const std::string& pointer, std::uint64_t min,
                                            std::uint64_t max) {
        std::uint64_t number = 0;
        if (value.is_number_unsigned()) {
            number = value.get<std::uint64_t>();
        } else if (value.is_number_float()) {
            double d = value.get<double>();
            if (!std::isfinite(d)) {
                error(pointer, "out of range: the number is too large");
                return std::nullopt;
            }
            if (d < 0 || std::floor(d) != d) {
                error(pointer, "expected a non-negative integer, found " + found(value));
                return std::nullopt;
            }
            if (d >= 18446744073709551616.0) {
                error(pointer, "out of range: the number is above the maximum " + std::to_string(max));
                return std::nullopt;
            }
            number = static_cast<std::uint64_t>(d);
        } else {
            error(pointer, "expected a non-negative integer, found " + found(value));
            return std::nullopt;
        }
        if (number < min) {
            error(pointer, "out of range: " + std::to_string(number) + " is below the minimum " + std::to_string(min));
            return std::nullopt;
        }
        if (number > max) {
            error(pointer, "out of range: " + std::to_string(number) + " is above the maximum " + std::to_string(max));
            return std::nullopt;
        }
        return number;
    }

    template <class T>
    bool get_uint(const Field& f, T& out, std::uint64_t min = 0,
                  std::uint64_t max = std::numeric_limits<T>::max()) {
        if (!f) return false;
        auto number = uint_value(*f, f.pointer, min, max);
        if (!number) return false;
        out = static_cast<T>(*number);
        return true;
    }
    template <class T>
    bool get_uint(const Field& f, std::optional<T>& out, std::uint64_t min = 0,
                  std::uint64_t max = std::numeric_limits<T>::max()) {
        T value{};
        if (!get_uint(f, value, min, max)) return false;
        out = value;
        return true;
    }

    bool get_bool(const Field& f, bool& out) {
        if (!f) return false;
        if (!f->is_boolean()) {
            error(f.pointer, "expected true or false, found " + found(*f));
            return false;
        }
        out = f->get<bool>();
        return true;
    }
    bool get_bool(const Field& f, std::optional<bool>& out) {
        bool value = false;
        if (!get_bool(f, value)) return false;
        out = value;
        return true;
    }

    bool string_value(const Json& value, const std::string& pointer, std::string& out, bool non_empty) {
        if (!value.is_string()) {
            error(pointer, "expected a string, found " + found(value));
            return false;
        }
        const auto& s = value.get_ref<const std::string&>();
        if (non_empty && s.empty()) {
            error(pointer, "must not be empty");
            return false;
        }
        out = s;
        return true;
    }
    bool get_string(const Field& f, std::string& out, bool non_empty = false) {
        return f && string_value(*f, f.pointer, out, non_empty);
    }
    bool get_string(const Field& f, std::optional<std::string>& out, bool non_empty = false) {
        std::string value;
        if (!get_string(f, value, non_empty)) return false;
        out = std::move(value);
        return true;
    }

    bool enum_value(const Json& value, const std::string& pointer, std::string& out, const Names& allowed,
                    std::string_view noun) {
        if (!value.is_string()) {
            error(pointer, "expected " + (allowed.size() <= 12 ? "one of " + alternatives(allowed) : std::string("a ") + std::string(noun)) +
                               ", found " + found(value));
            return false;
        }
        const auto& s = value.get_ref<const std::string&>();
        if (!contains(allowed, s)) {
            error(pointer, unknown_name(noun, s, allowed));
            return false;
        }
        out = s;
        return true;
    }
    bool get_enum(const Field& f, std::string& out, const Names& allowed, std::string_view noun) {
        return f && enum_value(*f, f.pointer, out, allowed, noun);
    }
    bool get_enum(const Field& f, std::optional<std::string>& out, const Names& allowed, std::string_view noun) {
        std::string value;
        if (!get_enum(f, value, allowed, noun)) return false;
        out = std::move(value);
        return true;
    }

    bool get_strings(const Field& f, std::vector<std::string>& out, bool non_empty_items) {
        if (!f) return false;
        if (!f->is_array()) {
            error(f.pointer, "expected an array of strings, found " + found(*f));
            return false;
        }
        std::vector<std::string> values;
        bool ok = true;
        for (std::size_t i = 0; i < f->size(); ++i) {
            std::string s;
            if (string_value((*f)[i], child(f.pointer, i), s, non_empty_items))
                values.push_back(std::move(s));
            else
                ok = false;
        }
        if (ok) out = std::move(values);
        return ok;
    }

    // ---- model-specific checks

    void check_modem_index(std::size_t index, const std::string& pointer, std::string_view what) {
        if (!modems_trusted_) return;
        std::size_t count = scenario_.setup.modems.size();
        if (index < count) return;
        std::string have = count == 1 ? "1 modem (index 0)"
                                      : std::to_string(count) + " modems (indexes 0 to " + std::to_string(count - 1) + ")";
        error(pointer, std::string(what) + " " + std::to_string(index) + " does not exist: setup.modems has " + have);
    }

    // Reads a modem (or remoteproc) index and checks it against the setup.
    void get_index(const Field& f, std::size_t& out, std::string_view what) {
        if (get_uint(f, out, 0, u32_max)) check_modem_index(out, f.pointer, what);
    }

    void check_partition(std::size_t modem, const Field& f, const std::string& partition, bool by_default = false) {
        if (!modems_trusted_ || modem >= scenario_.setup.modems.size()) return;
        const auto& partitions = scenario_.setup.modems[modem].partitions;
        if (contains(partitions, partition)) return;
        std::string message = "modem " + std::to_string(modem) + " has no partition " + in_quotes(partition);
        if (by_default)
            message += ", the default: give 'partition' (one of " + alternatives(partitions) + ")";
        else if (auto close = suggestion(partition, partitions))
            message += "; did you mean '" + *close + "'?";
        else
            message += " (its partitions: " + alternatives(partitions, "and") + ")";
        error(f.pointer, message);
    }

    void get_partition(const Field& f, std::size_t modem, std::string& out) {
        if (get_string(f, out, true)) check_partition(modem, f, out);
    }

    void get_errno(const Field& f, std::string& out) {
        if (!f) return;
        if (!f->is_string()) {
            error(f.pointer, "expected an errno name such as 'EIO', found " + found(*f));
            return;
        }
        const auto& name = f->get_ref<const std::string&>();
        if (!errno_number(name)) {
            error(f.pointer, unknown_name("errno name", name, errno_list()));
            return;
        }
        out = name;
    }

    // {"pattern": LABEL} | {"hex": "de ad ..."} | {"fill": "0x00"}; hex is
    // whole sectors: `sectors` of them when given.
    std::optional<DataSpec> data_value(const Field& f, std::optional<std::uint32_t> sectors) {
        if (!is_object(*f, f.pointer, "an object with one of 'pattern', 'hex' or 'fill'")) return std::nullopt;
        check_keys(*f, f.pointer, {"pattern", "hex", "fill"});
        int given = 0;
        for (const char* key : {"pattern", "hex", "fill"}) given += f->contains(key) ? 1 : 0;
        if (given == 0) {
            error(f.pointer, "expected one of 'pattern', 'hex' or 'fill'");
            return std::nullopt;
        }
        if (given > 1) {
            error(f.pointer, "give only one of 'pattern', 'hex' or 'fill'");
            return std::nullopt;
        }
        DataSpec data;
        bool ok = true;
        if (Field pattern = field(*f, f.pointer, "pattern")) ok = get_string(pattern, data.pattern, true);
        if (Field hex = field(*f, f.pointer, "hex")) {
            ok = get_string(hex, data.hex, true);
            if (ok) {
                auto bytes = hex_byte_count(data.hex);
                if (!bytes) {
                    error(hex.pointer, bytes.error());
                    ok = false;
                } else if (sectors && *bytes != *sectors * sector_bytes) {
                    error(hex.pointer, "hex data is " + std::to_string(*bytes) + " bytes; " + std::to_string(*sectors) +
                                           (*sectors == 1 ? " sector is " : " sectors are ") +
                                           std::to_string(*sectors * sector_bytes) + " bytes");
                    ok = false;
                } else if (*bytes % sector_bytes != 0) {
                    error(hex.pointer, "hex data is " + std::to_string(*bytes) + " bytes: not whole 512-byte sectors");
                    ok = false;
                }
            }
        }
        if (Field fill = field(*f, f.pointer, "fill")) {
            ok = get_string(fill, data.fill);
            const std::string& s = data.fill;
            if (ok && !(s.size() == 4 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && is_hex_digit(s[2]) &&
                        is_hex_digit(s[3]))) {
                error(fill.pointer, "bad fill byte " + in_quotes(s) + ": expected one byte as 0x00 to 0xff");
                ok = false;
            }
        }
        if (!ok) return std::nullopt;
        return data;
    }

    void get_answer(const Field& f, AnswerExpectation& out, bool open) {
        if (!f || !is_object(*f, f.pointer)) return;
        check_keys(*f, f.pointer, {"answered", "result", "error", "caller_id"});
        get_bool(field(*f, f.pointer, "answered"), out.answered);
        get_uint(field(*f, f.pointer, "result"), out.result);
        get_uint(field(*f, f.pointer, "error"), out.error);
        get_uint(field(*f, f.pointer, "caller_id"), out.caller_id);
        if (!open) reject(*f, f.pointer, "caller_id", "'caller_id' is only expected of an OPEN answer");
        if (out.answered == false) {
            for (const char* key : {"result", "error", "caller_id"})
                reject(*f, f.pointer, key,
                       "'" + std::string(key) + "' needs an answer: remove it or set \"answered\": true");
        }
    }

    // ---- the scenario

    void load(const Json& root) {
        if (!root.is_object()) {
            error("", "expected a scenario object {...} at the top level, found " + found(root));
            return;
        }
        const std::string top;
        check_keys(root, top,
                   {"$schema", "name", "description", "tags", "targets", "seed", "timeout_ms", "setup", "steps",
                    "invariants", "known_issue"});
        require(root, top, {"name", "description", "steps"});
        std::string ignored;
        get_string(field(root, top, "$schema"), ignored);

        if (Field name = field(root, top, "name"); get_string(name, scenario_.name)) {
            if (!valid_scenario_name(scenario_.name))
                error(name.pointer, "invalid name " + in_quotes(scenario_.name) +
                                        ": use lower-case letters, digits and '-', starting with a letter or digit");
        }
        get_string(field(root, top, "description"), scenario_.description, true);
        get_strings(field(root, top, "tags"), scenario_.tags, true);
        load_targets(field(root, top, "targets"));
        get_uint(field(root, top, "seed"), scenario_.seed);
        get_uint(field(root, top, "timeout_ms"), scenario_.timeout_ms, 1);
        if (Field setup = field(root, top, "setup")) load_setup(setup);
        if (Field invariants = field(root, top, "invariants"); invariants && is_object(*invariants, invariants.pointer)) {
            check_keys(*invariants, invariants.pointer, {"ledger", "server_alive", "requests_answered"});
            get_bool(field(*invariants, invariants.pointer, "ledger"), scenario_.invariants.ledger);
            get_bool(field(*invariants, invariants.pointer, "server_alive"), scenario_.invariants.server_alive);
            get_bool(field(*invariants, invariants.pointer, "requests_answered"),
                     scenario_.invariants.requests_answered);
        }
        if (Field issue = field(root, top, "known_issue"); issue && is_object(*issue, issue.pointer)) {
            check_keys(*issue, issue.pointer, {"text", "observed", "match"});
            require(*issue, issue.pointer, {"text"});
            KnownIssue known;
            get_string(field(*issue, issue.pointer, "text"), known.text, true);
            get_enum(field(*issue, issue.pointer, "observed"), known.observed, known_issue_verdicts, "verdict");
            get_string(field(*issue, issue.pointer, "match"), known.match);
            scenario_.known_issue = std::move(known);
        }
        if (Field steps = field(root, top, "steps")) {
            if (!steps->is_array()) {
                error(steps.pointer, "expected an array of steps, found " + found(*steps));
            } else if (steps->empty()) {
                error(steps.pointer, "expected at least one step");
            } else {
                for (std::size_t i = 0; i < steps->size(); ++i) load_step((*steps)[i], child(steps.pointer, i));
            }
        }
    }

    void load_targets(const Field& f) {
        if (!f) return;
        if (!f->is_array()) {
            error(f.pointer, "expected an array of targets (" + alternatives(targets) + "), found " + found(*f));
            return;
        }
        if (f->empty()) {
            error(f.pointer, "expected at least one target (" + alternatives(targets) + ")");
            return;
        }
        std::vector<std::string> chosen;
        for (std::size_t i = 0; i < f->size(); ++i) {
            std::string target;
            std::string pointer = child(f.pointer, i);
            if (!enum_value((*f)[i], pointer, target, targets, "target")) continue;
            if (contains(chosen, target))
                error(pointer, "target " + in_quotes(target) + " is listed twice");
            else
                chosen.push_back(target);
        }
        scenario_.targets = std::move(chosen);
    }

    void load_setup(const Field& f) {
        if (!is_object(*f, f.pointer)) return;
        Setup& setup = scenario_.setup;
        const std::string& p = f.pointer;
        check_keys(*f, p,
                   {"board", "coupling", "recovery", "name_service", "server", "modems", "storage",
                    "watch_storage_reads", "watch_memory_io"});
        get_enum(field(*f, p, "board"), setup.board, boards, "board");
        get_enum(field(*f, p, "coupling"), setup.coupling, couplings, "coupling");
        get_bool(field(*f, p, "recovery"), setup.recovery);
        get_enum(field(*f, p, "name_service"), setup.name_service, name_services, "name service");
        get_bool(field(*f, p, "watch_storage_reads"), setup.watch_storage_reads);
        get_bool(field(*f, p, "watch_memory_io"), setup.watch_memory_io);

        if (Field server = field(*f, p, "server"); server && is_object(*server, server.pointer)) {
            check_keys(*server, server.pointer, {"args", "restart", "start"});
            get_strings(field(*server, server.pointer, "args"), setup.server.args, false);
            get_bool(field(*server, server.pointer, "start"), setup.server.start);
            if (Field restart = field(*server, server.pointer, "restart"); restart && is_object(*restart, restart.pointer)) {
                RestartSetup& r = setup.server.restart;
                check_keys(*restart, restart.pointer, {"enabled", "delay_ms", "burst", "interval_ms"});
                get_bool(field(*restart, restart.pointer, "enabled"), r.enabled);
                get_uint(field(*restart, restart.pointer, "delay_ms"), r.delay_ms);
                get_uint(field(*restart, restart.pointer, "burst"), r.burst, 1);
                get_uint(field(*restart, restart.pointer, "interval_ms"), r.interval_ms);
            }
        }

        if (Field modems = field(*f, p, "modems")) {
            std::size_t errors_before = errors_.size();
            if (!modems->is_array()) {
                error(modems.pointer, "expected an array of modems, found " + found(*modems));
            } else if (modems->empty()) {
                error(modems.pointer, "expected at least one modem");
            } else {
                setup.modems.clear();
                for (std::size_t i = 0; i < modems->size(); ++i)
                    setup.modems.push_back(load_modem(Field{&(*modems)[i], child(modems.pointer, i)}));
            }
            // Index and partition checks against a setup that is itself wrong would only add noise.
            modems_trusted_ = errors_.size() == errors_before;
            if (setup.modems.empty()) setup.modems = {ModemSetup{}};
        }

        if (Field storage = field(*f, p, "storage"); storage && is_object(*storage, storage.pointer)) {
            check_keys(*storage, storage.pointer, {"partition_bytes", "fill", "from"});
            Field bytes = field(*storage, storage.pointer, "partition_bytes");
            if (get_uint(bytes, setup.storage.partition_bytes, sector_bytes) &&
                setup.storage.partition_bytes % sector_bytes != 0)
                error(bytes.pointer, "must be a multiple of 512 (whole sectors), found " +
                                         std::to_string(setup.storage.partition_bytes));
            get_enum(field(*storage, storage.pointer, "fill"), setup.storage.fill, storage_fills, "fill");
            if (Field from = field(*storage, storage.pointer, "from"); from && get_string(from, setup.storage.from)) {
                if (storage->contains("fill") || storage->contains("partition_bytes"))
                    error(from.pointer, "images copied 'from' a folder keep their contents and sizes: give 'from' "
                                        "or 'fill' / 'partition_bytes', not both");
                std::filesystem::path folder(setup.storage.from);
                if (folder.is_relative()) folder = std::filesystem::path(file_).parent_path() / folder;
                std::error_code ignored;
                if (setup.storage.from.empty() || !std::filesystem::is_directory(folder, ignored))
                    error(from.pointer, "no such folder " + in_quotes(setup.storage.from) + " (looked for " +
                                            folder.string() + ")");
                else
                    setup.storage.from = std::filesystem::absolute(folder, ignored).lexically_normal().string();
            }
        }
    }

    ModemSetup load_modem(const Field& f) {
        ModemSetup modem;
        if (!is_object(*f, f.pointer)) return modem;
        const std::string& p = f.pointer;
        check_keys(*f, p,
                   {"name", "on_service_loss", "on_open_failure", "request_timeout_ms", "service_wait_ms",
                    "image_sectors", "transfer_sectors", "sync_interval_ms", "sync_sectors", "partitions", "boot"});
        get_string(field(*f, p, "name"), modem.name, true);
        get_enum(field(*f, p, "on_service_loss"), modem.on_service_loss, service_loss_policies, "policy");
        get_enum(field(*f, p, "on_open_failure"), modem.on_open_failure, open_failure_policies, "policy");
        get_uint(field(*f, p, "request_timeout_ms"), modem.request_timeout_ms, 1);
        get_uint(field(*f, p, "service_wait_ms"), modem.service_wait_ms);
        get_uint(field(*f, p, "image_sectors"), modem.image_sectors);
        get_uint(field(*f, p, "transfer_sectors"), modem.transfer_sectors, 1);
        get_uint(field(*f, p, "sync_interval_ms"), modem.sync_interval_ms);
        get_uint(field(*f, p, "sync_sectors"), modem.sync_sectors, 1);
        get_bool(field(*f, p, "boot"), modem.boot);
        if (Field partitions = field(*f, p, "partitions"); get_strings(partitions, modem.partitions, true)) {
            if (modem.partitions.empty()) error(partitions.pointer, "expected at least one partition");
            for (std::size_t i = 0; i < modem.partitions.size(); ++i)
                for (std::size_t j = 0; j < i; ++j)
                    if (modem.partitions[i] == modem.partitions[j]) {
                        error(child(partitions.pointer, i), "partition " + in_quotes(modem.partitions[i]) + " is listed twice");
                        break;
                    }
        }
        return modem;
    }

    // ---- steps

    void load_step(const Json& value, const std::string& pointer) {
        if (!value.is_object()) {
            error(pointer, "expected a step: an object with one action key, found " + found(value));
            return;
        }
        Names allowed = step_kinds;
        allowed.insert(allowed.end(), {"timeout_ms", "note"});
        std::vector<std::pair<jt::TextPosition, std::string>> actions;
        bool unknown = false;
        for (const auto& [key, member] : value.items()) {
            if (contains(step_kinds, key)) {
                SourceLocation at = locate(child(pointer, key), true);
                actions.emplace_back(jt::TextPosition{at.line, at.column}, key);
            } else if (!contains(allowed, key)) {
                unknown = true;
                std::string message = "unknown key " + in_quotes(key);
                if (auto close = suggestion(key, allowed))
                    message += "; did you mean '" + *close + "'?";
                else
                    message += " (a step has one action key: " + alternatives(step_kinds) +
                               "; and optionally 'timeout_ms' and 'note')";
                error_at_key(child(pointer, key), message);
            }
        }
        Step step;
        step.where = locate(pointer, false);
        get_uint(field(value, pointer, "timeout_ms"), step.timeout_ms, 1, u32_max);
        get_string(field(value, pointer, "note"), step.note);
        if (actions.empty()) {
            if (value.empty())
                error(pointer, "empty step: expected one action key (" + alternatives(step_kinds) + ")");
            else if (!unknown)
                error(pointer, "a step needs one action key (" + alternatives(step_kinds) + "), found none");
            return;
        }
        std::sort(actions.begin(), actions.end(), [](const auto& a, const auto& b) {
            return std::make_pair(a.first.line, a.first.column) < std::make_pair(b.first.line, b.first.column);
        });
        if (actions.size() > 1) {
            Names names;
            for (const auto& action : actions) names.push_back(action.second);
            error(pointer, "a step has exactly one action key, found " + std::to_string(actions.size()) + ": " +
                               alternatives(names, "and"));
        }
        // Each action is checked, so that a file's every mistake shows at once.
        std::size_t errors_before = errors_.size();
        for (const auto& action : actions) {
            step.kind = action.second;
            step.action = load_action(action.second, Field{&value.at(action.second), child(pointer, action.second)});
        }
        if (actions.size() == 1 && errors_.size() == errors_before) scenario_.steps.push_back(std::move(step));
    }

    StepAction load_action(const std::string& kind, const Field& f) {
        if (kind == "daemon") return load_daemon(f);
        if (kind == "boot") return load_boot(f);
        if (kind == "modem") return load_modem_step(f);
        if (kind == "write") return load_write(f);
        if (kind == "read") return load_read(f);
        if (kind == "request") return load_request(f);
        if (kind == "raw") return load_raw(f);
        if (kind == "fault") return load_fault(f);
        if (kind == "io_fault") return load_io_fault(f);
        if (kind == "link") return load_link(f);
        if (kind == "network_reset") {
            load_empty(f);
            return NetworkResetStep{};
        }
        if (kind == "power_loss") {
            load_empty(f);
            return PowerLossStep{};
        }
        if (kind == "name_service") {
            NameServiceStep step;
            if (f->is_string())
                enum_value(*f, f.pointer, step.action, start_stop, "action");
            else
                error(f.pointer, "expected 'start' or 'stop', found " + found(*f));
            return step;
        }
        if (kind == "remoteproc") return load_remoteproc(f);
        if (kind == "wait_for") return load_wait(f);
        return load_expect(f);
    }

    void load_empty(const Field& f) {
        if (!f->is_object()) {
            error(f.pointer, "expected {} (this step takes no options), found " + found(*f));
            return;
        }
        check_keys(*f, f.pointer, {});
    }

    DaemonStep load_daemon(const Field& f) {
        DaemonStep step;
        if (f->is_string()) {
            const auto& action = f->get_ref<const std::string&>();
            if (action == "upgrade")
                error(f.pointer, "'upgrade' needs the new binary: {\"daemon\": {\"upgrade\": \"/path/to/rmtfs\"}}");
            else
                enum_value(*f, f.pointer, step.action, daemon_actions, "daemon action");
        } else if (f->is_object()) {
            check_keys(*f, f.pointer, {"upgrade"});
            require(*f, f.pointer, {"upgrade"});
            if (get_string(field(*f, f.pointer, "upgrade"), step.binary, true)) step.action = "upgrade";
        } else {
            error(f.pointer, "expected " + alternatives(daemon_actions) + " or {\"upgrade\": PATH}, found " + found(*f));
        }
        return step;
    }

    BootStep load_boot(const Field& f) {
        BootStep step;
        if (!is_object(*f, f.pointer)) return step;
        check_keys(*f, f.pointer, {"modem", "expect", "reason"});
        get_index(field(*f, f.pointer, "modem"), step.modem, "modem");
        get_enum(field(*f, f.pointer, "expect"), step.expect, boot_expectations, "expectation");
        get_string(field(*f, f.pointer, "reason"), step.reason);
        if (step.expect != "fail")
            reject(*f, f.pointer, "reason", "'reason' is only for \"expect\": \"fail\"");
        return step;
    }

    ModemStep load_modem_step(const Field& f) {
        ModemStep step;
        if (!is_object(*f, f.pointer)) return step;
        check_keys(*f, f.pointer, {"index", "action"});
        require(*f, f.pointer, {"action"});
        get_index(field(*f, f.pointer, "index"), step.index, "modem");
        get_enum(field(*f, f.pointer, "action"), step.action, start_stop, "action");
        return step;
    }

    // What a write and a read share: the modem, its partition, the sectors.
    // True when 'sectors' is usable (absent or valid) for checking 'data'.
    bool load_transfer(const Field& f, std::size_t& modem, std::string& partition, std::uint32_t& sector,
                       std::uint32_t& sectors) {
        const std::string& p = f.pointer;
        get_index(field(*f, p, "modem"), modem, "modem");
        if (Field given = field(*f, p, "partition"))
            get_partition(given, modem, partition);
        else
            check_partition(modem, Field{f.value, p}, partition, true);
        get_uint(field(*f, p, "sector"), sector);
        // The modem moves data through its 1 MiB shared buffer: 2048 sectors at most.
        return !f->contains("sectors") || get_uint(field(*f, p, "sectors"), sectors, 1, buffer_sectors);
    }

    WriteStep load_write(const Field& f) {
        WriteStep step;
        if (!is_object(*f, f.pointer)) return step;
        const std::string& p = f.pointer;
        check_keys(*f, p, {"modem", "partition", "sector", "sectors", "data", "expect"});
        bool sectors_ok = load_transfer(f, step.modem, step.partition, step.sector, step.sectors);
        if (Field data = field(*f, p, "data")) {
            auto spec = data_value(data, sectors_ok ? std::optional<std::uint32_t>(step.sectors) : std::nullopt);
            if (spec) step.data = std::move(*spec);
        }
        get_enum(field(*f, p, "expect"), step.expect, write_expectations, "expectation");
        return step;
    }

    ReadStep load_read(const Field& f) {
        ReadStep step;
        if (!is_object(*f, f.pointer)) return step;
        const std::string& p = f.pointer;
        check_keys(*f, p, {"modem", "partition", "sector", "sectors", "expect", "data"});
        bool sectors_ok = load_transfer(f, step.modem, step.partition, step.sector, step.sectors);
        get_enum(field(*f, p, "expect"), step.expect, read_expectations, "expectation");
        if (Field data = field(*f, p, "data")) {
            step.data = data_value(data, sectors_ok ? std::optional<std::uint32_t>(step.sectors) : std::nullopt);
            if (step.expect == "failed")
                error_at_key(data.pointer, "'data' cannot be checked on a read expected to fail");
        }
        return step;
    }

    RequestStep load_request(const Field& f) {
        RequestStep step;
        if (!is_object(*f, f.pointer)) return step;
        const std::string& p = f.pointer;
        check_keys(*f, p,
                   {"modem", "message", "path", "caller_id", "partition", "direction", "iovec", "force_sync", "size",
                    "expect"});
        require(*f, p, {"message"});
        get_index(field(*f, p, "modem"), step.modem, "modem");
        bool known = get_enum(field(*f, p, "message"), step.message, messages, "message");
        get_string(field(*f, p, "path"), step.path);
        get_uint(field(*f, p, "caller_id"), step.caller_id);
        if (Field partition = field(*f, p, "partition"); get_string(partition, step.partition, true))
            check_partition(step.modem, partition, *step.partition);
        get_uint(field(*f, p, "direction"), step.direction);
        get_uint(field(*f, p, "force_sync"), step.force_sync);
        get_uint(field(*f, p, "size"), step.size);
        if (Field iovec = field(*f, p, "iovec")) {
            if (!iovec->is_array()) {
                error(iovec.pointer, "expected an array of {\"sector_addr\", \"phys_offset\", \"num_sector\"}, found " +
                                         found(*iovec));
            } else {
                for (std::size_t i = 0; i < iovec->size(); ++i) {
                    Field entry{&(*iovec)[i], child(iovec.pointer, i)};
                    if (!is_object(*entry, entry.pointer)) continue;
                    check_keys(*entry, entry.pointer, {"sector_addr", "phys_offset", "num_sector"});
                    RequestStep::Iovec io;
                    get_uint(field(*entry, entry.pointer, "sector_addr"), io.sector_addr);
                    get_uint(field(*entry, entry.pointer, "phys_offset"), io.phys_offset);
                    get_uint(field(*entry, entry.pointer, "num_sector"), io.num_sector);
                    step.iovec.push_back(io);
                }
            }
        }
        get_answer(field(*f, p, "expect"), step.expect, step.message == "OPEN");
        if (!known) return step;
        const std::string& m = step.message;
        if (m == "OPEN") {
            if (!f->contains("path")) error(p, "an OPEN request needs 'path'");
            reject(*f, p, "caller_id", "'caller_id' is not for OPEN (OPEN answers with one)");
            reject(*f, p, "partition", "'partition' is not for OPEN: give 'path'");
        } else {
            reject(*f, p, "path", "'path' is only for OPEN");
            if (f->contains("caller_id") && f->contains("partition"))
                error_at_key(child(p, "partition"), "give 'caller_id' or 'partition', not both");
        }
        if (m != "RW_IOVEC")
            for (const char* key : {"direction", "iovec", "force_sync"})
                reject(*f, p, key, "'" + std::string(key) + "' is only for RW_IOVEC");
        if (m != "ALLOC_BUFF") reject(*f, p, "size", "'size' is only for ALLOC_BUFF");
        return step;
    }

    RawStep load_raw(const Field& f) {
        RawStep step;
        if (!is_object(*f, f.pointer)) return step;
        check_keys(*f, f.pointer, {"modem", "hex", "expect"});
        require(*f, f.pointer, {"hex"});
        get_index(field(*f, f.pointer, "modem"), step.modem, "modem");
        if (Field hex = field(*f, f.pointer, "hex"); get_string(hex, step.hex, true)) {
            if (auto bytes = hex_byte_count(step.hex); !bytes) error(hex.pointer, bytes.error());
        }
        get_answer(field(*f, f.pointer, "expect"), step.expect, false);
        return step;
    }

    FaultStep load_fault(const Field& f) {
        FaultStep step;
        if (!is_object(*f, f.pointer)) return step;
        check_keys(*f, f.pointer, {"action", "when"});
        require(*f, f.pointer, {"action"});
        get_enum(field(*f, f.pointer, "action"), step.action, process_actions, "action");
        Field when = field(*f, f.pointer, "when");
        if (!when || !is_object(*when, when.pointer, "an object: {\"request\": M, \"nth\": k}, {\"after_write\": k} or "
                                                    "{\"after_ms\": t}"))
            return step;
        const std::string& p = when.pointer;
        check_keys(*when, p, {"request", "nth", "after_write", "file", "after_ms"});
        Names kinds;
        for (const char* kind : {"request", "after_write", "after_ms"})
            if (when->contains(kind)) kinds.emplace_back(kind);
        if (kinds.empty()) {
            if (when->contains("nth"))
                error(p, "'nth' counts requests: give the message too, e.g. {\"request\": \"RW_IOVEC\", \"nth\": 2}");
            else
                error(p, "expected one of 'request', 'after_write' or 'after_ms' (or leave 'when' out: now)");
            return step;
        }
        if (kinds.size() > 1) {
            error(p, "give one of 'request', 'after_write' or 'after_ms', not " + alternatives(kinds, "and"));
            return step;
        }
        step.when = kinds.front();
        if (step.when == "request") {
            get_enum(field(*when, p, "request"), step.request, messages, "message");
            get_uint(field(*when, p, "nth"), step.nth, 1);
            reject(*when, p, "file", "'file' is only for after_write");
        } else if (step.when == "after_write") {
            get_uint(field(*when, p, "after_write"), step.nth, 1);
            get_enum(field(*when, p, "file"), step.file, storage_files, "storage file");
            reject(*when, p, "nth", "'nth' is only for request (after_write is the count of writes)");
        } else {
            get_uint(field(*when, p, "after_ms"), step.after_ms);
            reject(*when, p, "nth", "'nth' is only for request");
            reject(*when, p, "file", "'file' is only for after_write");
        }
        return step;
    }

    IoFaultStep load_io_fault(const Field& f) {
        IoFaultStep step;
        if (!is_object(*f, f.pointer)) return step;
        const std::string& p = f.pointer;
        check_keys(*f, p, {"call", "error", "short_bytes", "target", "file", "nth", "times"});
        require(*f, p, {"call"});
        bool call_ok = get_enum(field(*f, p, "call"), step.call, io_calls, "call");
        get_errno(field(*f, p, "error"), step.error);
        get_uint(field(*f, p, "short_bytes"), step.short_bytes);
        get_enum(field(*f, p, "target"), step.target, io_targets, "target");
        get_enum(field(*f, p, "file"), step.file, storage_files, "storage file");
        get_uint(field(*f, p, "nth"), step.nth, 1);
        get_uint(field(*f, p, "times"), step.times);
        bool has_error = f->contains("error");
        bool has_short = f->contains("short_bytes");
        if (has_error && has_short)
            error(p, "give 'error' or 'short_bytes', not both");
        else if (!has_error && !has_short)
            error(p, "an io_fault needs 'error' (an errno name such as 'EIO') or 'short_bytes'");
        if (has_short && call_ok && step.call != "read" && step.call != "write")
            error_at_key(child(p, "short_bytes"), "'short_bytes' is only for calls 'read' and 'write'");
        if (step.target == "memory")
            reject(*f, p, "file", "'file' is only for target 'storage'");
        return step;
    }

    LinkStep load_link(const Field& f) {
        LinkStep step;
        if (!is_object(*f, f.pointer)) return step;
        const std::string& p = f.pointer;
        check_keys(*f, p, {"modem", "action", "direction", "probability", "delay_ms", "window"});
        require(*f, p, {"action"});
        get_index(field(*f, p, "modem"), step.modem, "modem");
        bool action_ok = get_enum(field(*f, p, "action"), step.action, link_actions, "link action");
        get_enum(field(*f, p, "direction"), step.direction, link_directions, "direction");
        if (Field probability = field(*f, p, "probability")) {
            if (!probability->is_number()) {
                error(probability.pointer, "expected a number from 0 to 1, found " + found(*probability));
            } else {
                double value = probability->get<double>();
                if (!(value >= 0.0 && value <= 1.0))
                    error(probability.pointer, "out of range: " + found(*probability) + " is not between 0 and 1");
                else
                    step.probability = value;
            }
        }
        get_uint(field(*f, p, "delay_ms"), step.delay_ms);
        get_uint(field(*f, p, "window"), step.window, 2);
        if (!action_ok) return step;
        const std::string& a = step.action;
        if (a != "drop" && a != "duplicate")
            reject(*f, p, "probability", "'probability' is only for actions 'drop' and 'duplicate'");
        if (a != "delay") reject(*f, p, "delay_ms", "'delay_ms' is only for action 'delay'");
        if (a == "delay" && !f->contains("delay_ms")) error(p, "action 'delay' needs 'delay_ms'");
        if (a != "reorder") reject(*f, p, "window", "'window' is only for action 'reorder'");
        if (a == "down" || a == "up")
            reject(*f, p, "direction", "'direction' is not for '" + a + "': the whole link goes " + a);
        return step;
    }

    RemoteprocStep load_remoteproc(const Field& f) {
        RemoteprocStep step;
        if (!is_object(*f, f.pointer)) return step;
        const std::string& p = f.pointer;
        check_keys(*f, p, {"index", "write", "crash", "expect_error"});
        get_index(field(*f, p, "index"), step.index, "remoteproc");
        get_enum(field(*f, p, "write"), step.write, start_stop, "state command");
        get_bool(field(*f, p, "crash"), step.crash);
        if (Field expected = field(*f, p, "expect_error")) {
            if (expected->is_string()) {
                const auto& name = expected->get_ref<const std::string&>();
                if (auto number = errno_number(name))
                    step.expect_error = *number;
                else
                    error(expected.pointer, unknown_name("errno name", name, errno_list()));
            } else if (expected->is_number_unsigned() && expected->get<std::uint64_t>() == 0) {
                step.expect_error = 0;
            } else {
                error(expected.pointer, "expected an errno name such as 'EBUSY', or 0 for success, found " +
                                            found(*expected));
            }
        }
        bool writes = f->contains("write");
        if (writes && step.crash) {
            error(p, "give 'write' or \"crash\": true, not both");
        } else if (!writes && !step.crash) {
            error(p, "a remoteproc step needs 'write' (" + alternatives(start_stop) + ") or \"crash\": true");
        }
        if (!writes) reject(*f, p, "expect_error", "'expect_error' is only for 'write'");
        return step;
    }

    WaitStep load_wait(const Field& f) {
        WaitStep step;
        if (!is_object(*f, f.pointer)) return step;
        const std::string& p = f.pointer;
        check_keys(*f, p, {"event", "index", "state", "text", "count"});
        require(*f, p, {"event"});
        bool event_ok = get_enum(field(*f, p, "event"), step.event, wait_events, "event");
        get_uint(field(*f, p, "index"), step.index, 0, u32_max);
        get_string(field(*f, p, "text"), step.text, true);
        get_uint(field(*f, p, "count"), step.count, 1);
        if (!event_ok) return step;
        const std::string& e = step.event;
        Field state = field(*f, p, "state");
        if (e == "modem_state" || e == "remoteproc_state") {
            if (!state) error(p, "event '" + e + "' needs 'state'");
            if (e == "modem_state")
                get_enum(state, step.state, modem_states, "modem state");
            else
                get_enum(state, step.state, remoteproc_states, "remoteproc state");
        } else {
            reject(*f, p, "state", "'state' is only for events 'modem_state' and 'remoteproc_state'");
        }
        if (e == "log") {
            if (!f->contains("text")) error(p, "event 'log' needs 'text'");
        } else {
            reject(*f, p, "text", "'text' is only for event 'log'");
        }
        bool counts = e == "syncs" || e == "boot_finished" || e == "restarts" || e == "log";
        if (!counts) reject(*f, p, "count", "'count' is only for events 'syncs', 'boot_finished', 'restarts' and 'log'");
        bool indexed = e == "modem_state" || e == "remoteproc_state" || e == "boot_finished" || e == "syncs";
        if (!indexed) {
            reject(*f, p, "index",
                   "'index' is only for events 'modem_state', 'remoteproc_state', 'boot_finished' and 'syncs'");
        } else if (f->contains("index")) {
            check_modem_index(step.index, child(p, "index"), e == "remoteproc_state" ? "remoteproc" : "modem");
        }
        return step;
    }

    ExpectStep load_expect(const Field& f) {
        ExpectStep step;
        if (!is_object(*f, f.pointer)) return step;
        const std::string& p = f.pointer;
        Names checks = {"modem_state",       "remoteproc_state", "service", "daemon",        "log",
                        "no_log",            "ledger",           "ledger_violations", "storage", "daemon_starts",
                        "modem_crashes"};
        Names keys = checks;
        keys.emplace_back("index");
        check_keys(*f, p, keys);
        if (std::none_of(checks.begin(), checks.end(), [&](const std::string& k) { return f->contains(k); }))
            error(p, "an expect step checks nothing: give at least one of " + alternatives(checks));
        get_enum(field(*f, p, "modem_state"), step.modem_state, modem_states, "modem state");
        get_enum(field(*f, p, "remoteproc_state"), step.remoteproc_state, remoteproc_states, "remoteproc state");
        if (Field index = field(*f, p, "index"); get_uint(index, step.index, 0, u32_max)) {
            if (step.modem_state || step.remoteproc_state || f->contains("modem_state") ||
                f->contains("remoteproc_state"))
                check_modem_index(step.index, index.pointer, f->contains("modem_state") ? "modem" : "remoteproc");
            else
                error_at_key(index.pointer, "'index' is only for 'modem_state' and 'remoteproc_state'");
        }
        get_bool(field(*f, p, "service"), step.service);
        if (Field daemon = field(*f, p, "daemon"); get_string(daemon, step.daemon)) check_daemon_state(daemon);
        get_strings(field(*f, p, "log"), step.log, true);
        get_strings(field(*f, p, "no_log"), step.no_log, true);
        get_enum(field(*f, p, "ledger"), step.ledger, ledger_verdicts, "ledger verdict");
        if (Field violations = field(*f, p, "ledger_violations")) {
            get_strings(violations, step.ledger_violations, true);
            if (!f->contains("ledger") || (step.ledger && *step.ledger != "violated"))
                error_at_key(violations.pointer, "'ledger_violations' needs \"ledger\": \"violated\"");
        }
        get_uint(field(*f, p, "daemon_starts"), step.daemon_starts);
        get_uint(field(*f, p, "modem_crashes"), step.modem_crashes);
        if (Field storage = field(*f, p, "storage")) {
            if (!storage->is_array()) {
                error(storage.pointer, "expected an array of storage checks, found " + found(*storage));
            } else if (storage->empty()) {
                error(storage.pointer, "expected at least one storage check");
            } else {
                for (std::size_t i = 0; i < storage->size(); ++i)
                    if (auto check = load_storage_check(Field{&(*storage)[i], child(storage.pointer, i)}))
                        step.storage.push_back(std::move(*check));
            }
        }
        return step;
    }

    void check_daemon_state(const Field& f) {
        const std::string& s = f->get_ref<const std::string&>();
        static const Names plain = {"running", "stopped", "exited", "killed"};
        if (contains(plain, s)) return;
        constexpr std::string_view exited = "exited ";
        constexpr std::string_view killed_by = "killed by ";
        if (s.rfind(exited, 0) == 0) {
            std::string code = s.substr(exited.size());
            if (!code.empty() && code.size() <= 3 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                std::stoi(code) <= 255)
                return;
            error(f.pointer, "bad exit status in " + in_quotes(s) + ": expected \"exited N\" with N from 0 to 255");
            return;
        }
        if (s.rfind(killed_by, 0) == 0) {
            std::string signal = s.substr(killed_by.size());
            if (contains(signal_names(), signal)) return;
            error(f.pointer, unknown_name("signal", signal, signal_names()));
            return;
        }
        Names forms = plain;
        forms.insert(forms.end(), {"exited 0", "killed by SIGKILL", "killed by SIGTERM"});
        std::string message = "unknown daemon state " + in_quotes(s);
        if (auto close = suggestion(s, forms))
            message += "; did you mean '" + *close + "'?";
        else
            message += " (expected 'running', 'stopped', 'exited', 'exited N', 'killed' or 'killed by SIGNAME')";
        error(f.pointer, message);
    }

    std::optional<ExpectStep::StorageCheck> load_storage_check(const Field& f) {
        if (!is_object(*f, f.pointer)) return std::nullopt;
        const std::string& p = f.pointer;
        ExpectStep::StorageCheck check;
        check_keys(*f, p, {"file", "sector", "sectors", "data", "sha256", "unchanged"});
        get_enum(field(*f, p, "file"), check.file, storage_files, "storage file");
        get_uint(field(*f, p, "sector"), check.sector);
        bool sectors_ok = !f->contains("sectors") || get_uint(field(*f, p, "sectors"), check.sectors, 1);
        int kinds = 0;
        for (const char* key : {"data", "sha256", "unchanged"}) kinds += f->contains(key) ? 1 : 0;
        if (kinds == 0) error(p, "a storage check needs one of 'data', 'sha256' or 'unchanged'");
        if (kinds > 1) error(p, "give only one of 'data', 'sha256' or 'unchanged'");
        if (Field data = field(*f, p, "data"))
            check.data = data_value(data, sectors_ok ? std::optional<std::uint32_t>(check.sectors) : std::nullopt);
        if (Field sha = field(*f, p, "sha256"); get_string(sha, check.sha256)) {
            if (check.sha256.size() != 64 || !std::all_of(check.sha256.begin(), check.sha256.end(), is_hex_digit))
                error(sha.pointer, "bad sha256: expected 64 hex digits");
        }
        get_bool(field(*f, p, "unchanged"), check.unchanged);
        return check;
    }

    std::string_view text_;
    std::string file_;
    jt::PositionIndex positions_;
    std::vector<ScenarioError> errors_;
    Scenario scenario_;
    bool modems_trusted_ = true;
};

void derive_settings(Scenario& scenario) {
    for (const Step& step : scenario.steps) {
        const auto* fault = std::get_if<IoFaultStep>(&step.action);
        if (fault == nullptr) continue;
        if (fault->target == "storage" && fault->call == "read") scenario.setup.watch_storage_reads = true;
        if (fault->target == "memory") scenario.setup.watch_memory_io = true;
    }
}

}  // namespace

std::string ScenarioError::describe() const {
    std::string out = where.file;
    if (where.line != 0) out += ":" + std::to_string(where.line) + ":" + std::to_string(where.column);
    out += ": ";
    if (!where.pointer.empty()) out += where.pointer + ": ";
    return out + message;
}

Expected<Scenario, std::vector<ScenarioError>> load_scenario(std::string_view text, const std::string& file_name) {
    auto loaded = Loader(text, file_name).run();
    if (loaded) derive_settings(*loaded);
    return loaded;
}

Expected<Scenario, std::vector<ScenarioError>> load_scenario_file(const std::filesystem::path& path) {
    std::string name = path.string();
    auto failure = [&](int error_number) -> Expected<Scenario, std::vector<ScenarioError>> {
        return unexpected(std::vector<ScenarioError>{
            ScenarioError{SourceLocation{name, 0, 0, ""}, "cannot read file: " + std::string(std::strerror(error_number))}});
    };
    errno = 0;
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) return failure(errno);
    std::string text;
    char buffer[65536];
    std::size_t got;
    while ((got = std::fread(buffer, 1, sizeof buffer, file)) > 0) text.append(buffer, got);
    int read_error = std::ferror(file) ? (errno != 0 ? errno : EIO) : 0;
    std::fclose(file);
    if (read_error != 0) return failure(read_error);
    return load_scenario(text, name);
}

const std::vector<std::string>& scenario_step_kinds() { return step_kinds; }
const std::vector<std::string>& errno_names() { return errno_list(); }

}  // namespace rmtfs_hil::engine
