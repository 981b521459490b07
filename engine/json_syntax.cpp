#include "engine/json_syntax.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "engine/json_positions.hpp"
#include "engine/wording.hpp"

namespace rmtfs_hil::engine::json_text {

namespace {

using Json = nlohmann::json;
namespace jt = json_text;
using wording::in_quotes;
using wording::suggestion;

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

// The message for "found X" where the parser wanted `expected`.
std::string wanted(std::string_view expected, const std::string& found_what, std::string_view token) {
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
}

// The lexer's "invalid literal": a bare word that is no JSON value.
SyntaxError reword_invalid_literal(std::string_view text, std::size_t offset, std::string_view expected) {
    jt::Span span = jt::word_around(text, offset);
    std::string_view word = text.substr(span.begin, span.end - span.begin);
    std::string shown = !word.empty() && word.front() == '\'' ? std::string(word) : in_quotes(word);
    if (!word.empty() && word.front() == '\'') return {span.begin, "strings and keys need double quotes, found " + shown};
    if (word.substr(0, 2) == "//" || word.substr(0, 2) == "/*")
        return {span.begin, "JSON has no comments: found " + in_quotes(word.substr(0, 2))};
    if (!expected.empty() && expected != "'[', '{', or a literal") return {span.begin, wanted(expected, shown, "")};
    std::string message = "invalid value " + shown;
    if (auto close = suggestion(word, {"true", "false", "null"}))
        message += "; did you mean '" + *close + "'?";
    else
        message += " (expected a string, a number, an object, an array, true, false or null)";
    return {span.begin, message};
}

// The lexer's "invalid string: ...".
SyntaxError reword_invalid_string(std::string_view text, std::size_t offset, std::string_view detail) {
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
        return {at, wanted(expected, token_phrase(token), token)};
    }

    // The lexer's own errors: "invalid literal; last read: '...'".
    std::string_view lexer = body.substr(0, body.find("; last read: "));
    if (lexer == "invalid literal") return reword_invalid_literal(text, offset, expected);
    constexpr std::string_view invalid_number = "invalid number; ";
    if (lexer.substr(0, invalid_number.size()) == invalid_number) {
        jt::Span span = jt::word_around(text, offset);
        std::string detail(lexer.substr(invalid_number.size()));
        if (detail.rfind("expected digit", 0) == 0) detail.insert(9, "a ");  // "expected a digit after '-'"
        return {span.begin, "bad number " + in_quotes(text.substr(span.begin, span.end - span.begin)) + ": " + detail};
    }
    constexpr std::string_view invalid_string = "invalid string: ";
    if (lexer.substr(0, invalid_string.size()) == invalid_string)
        return reword_invalid_string(text, offset, lexer.substr(invalid_string.size()));
    if (lexer.rfind("invalid BOM", 0) == 0) return {0, "invalid byte order mark (only UTF-8's EF BB BF may start the file)"};
    return {offset, "syntax error: " + std::string(lexer)};
}

}  // namespace

std::optional<SyntaxError> check_syntax(std::string_view text) {
    SyntaxCheck check;
    bool parsed = false;
    try {
        parsed = Json::sax_parse(text.begin(), text.end(), &check);
    } catch (const Json::exception& e) {  // not expected: sax_parse reports through parse_error
        check.failed = true;
        check.what = e.what();
    }
    if (parsed && !check.failed) return std::nullopt;
    return reword_syntax_error(text, check);
}

}  // namespace rmtfs_hil::engine::json_text
