#include "engine/json_positions.hpp"

#include <algorithm>
#include <cstdint>

namespace rmtfs_hil::engine::json_text {

namespace {

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_structural(char c) { return c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ','; }
bool is_word(char c) { return !is_space(c) && !is_structural(c) && c != '"'; }

std::size_t bom_length(std::string_view text) { return text.substr(0, utf8_bom.size()) == utf8_bom ? utf8_bom.size() : 0; }

// Offsets of line starts, for many lookups in one text.
class LineMap {
public:
    explicit LineMap(std::string_view text) : bom_(bom_length(text)) {
        starts_.push_back(0);
        for (std::size_t i = 0; i < text.size(); ++i)
            if (text[i] == '\n') starts_.push_back(i + 1);
    }
    TextPosition at(std::size_t offset) const {
        auto after = std::upper_bound(starts_.begin(), starts_.end(), offset);
        std::size_t line = static_cast<std::size_t>(after - starts_.begin());  // >= 1: starts_[0] == 0
        std::size_t start = starts_[line - 1];
        std::size_t column = offset - start + 1;
        // Editors do not count a byte order mark as a column.
        if (line == 1 && offset >= bom_) column -= bom_;
        return {line, column};
    }

private:
    std::size_t bom_;
    std::vector<std::size_t> starts_;
};

enum class TokenKind { begin_object, end_object, begin_array, end_array, colon, comma, string, scalar, end, bad };

struct Token {
    TokenKind kind = TokenKind::end;
    std::size_t begin = 0;
    std::size_t end = 0;
};

class Lexer {
public:
    explicit Lexer(std::string_view text) : text_(text), at_(bom_length(text)) {}

    Token next() {
        while (at_ < text_.size() && is_space(text_[at_])) ++at_;
        if (at_ >= text_.size()) return {TokenKind::end, at_, at_};
        std::size_t begin = at_;
        char c = text_[at_];
        switch (c) {
            case '{': ++at_; return {TokenKind::begin_object, begin, at_};
            case '}': ++at_; return {TokenKind::end_object, begin, at_};
            case '[': ++at_; return {TokenKind::begin_array, begin, at_};
            case ']': ++at_; return {TokenKind::end_array, begin, at_};
            case ':': ++at_; return {TokenKind::colon, begin, at_};
            case ',': ++at_; return {TokenKind::comma, begin, at_};
            case '"': {
                ++at_;
                while (at_ < text_.size() && text_[at_] != '"') at_ += text_[at_] == '\\' ? 2 : 1;
                if (at_ >= text_.size()) {
                    at_ = text_.size();
                    return {TokenKind::bad, begin, at_};
                }
                ++at_;
                return {TokenKind::string, begin, at_};
            }
            default:
                while (at_ < text_.size() && is_word(text_[at_])) ++at_;
                return {TokenKind::scalar, begin, at_};
        }
    }

private:
    std::string_view text_;
    std::size_t at_;
};

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Four hex digits at text[at...]; -1 if they are not.
long hex4(std::string_view text, std::size_t at) {
    if (at + 4 > text.size()) return -1;
    long value = 0;
    for (std::size_t i = at; i < at + 4; ++i) {
        int digit = hex_value(text[i]);
        if (digit < 0) return -1;
        value = value * 16 + digit;
    }
    return value;
}

void append_utf8(std::string& out, std::uint32_t code) {
    auto byte = [&out](std::uint32_t b) { out.push_back(static_cast<char>(static_cast<unsigned char>(b))); };
    if (code < 0x80) {
        byte(code);
    } else if (code < 0x800) {
        byte(0xC0 | (code >> 6));
        byte(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
        byte(0xE0 | (code >> 12));
        byte(0x80 | ((code >> 6) & 0x3F));
        byte(0x80 | (code & 0x3F));
    } else {
        byte(0xF0 | (code >> 18));
        byte(0x80 | ((code >> 12) & 0x3F));
        byte(0x80 | ((code >> 6) & 0x3F));
        byte(0x80 | (code & 0x3F));
    }
}

// The value of a string token (quotes included in `literal`), as nlohmann decodes it.
std::string decode_string(std::string_view literal) {
    std::string out;
    std::string_view body = literal.substr(1, literal.size() >= 2 ? literal.size() - 2 : 0);
    for (std::size_t i = 0; i < body.size(); ++i) {
        char c = body[i];
        if (c != '\\' || i + 1 >= body.size()) {
            out.push_back(c);
            continue;
        }
        char e = body[++i];
        switch (e) {
            case 'b': out.push_back('\b'); break;
            case 'f': out.push_back('\f'); break;
            case 'n': out.push_back('\n'); break;
            case 'r': out.push_back('\r'); break;
            case 't': out.push_back('\t'); break;
            case 'u': {
                long high = hex4(body, i + 1);
                if (high < 0) {
                    out.push_back('\\');
                    out.push_back('u');
                    break;
                }
                i += 4;
                auto code = static_cast<std::uint32_t>(high);
                if (code >= 0xD800 && code <= 0xDBFF && i + 2 < body.size() && body[i + 1] == '\\' &&
                    body[i + 2] == 'u') {
                    long low = hex4(body, i + 3);
                    if (low >= 0xDC00 && low <= 0xDFFF) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (static_cast<std::uint32_t>(low) - 0xDC00);
                        i += 6;
                    }
                }
                append_utf8(out, code);
                break;
            }
            default: out.push_back(e); break;  // " \ /
        }
    }
    return out;
}

struct Frame {
    bool object = false;
    bool recorded = false;  // its members get positions
    std::string pointer;
    std::size_t next_index = 0;
    std::unordered_map<std::string, TextPosition> keys;  // objects: first position of each key
};

class Indexer {
public:
    explicit Indexer(std::string_view text) : text_(text), lines_(text), lexer_(text) {}

    PositionIndex run() {
        Token token = lexer_.next();
        std::string pointer;
        TextPosition key;
        bool record = true;
        for (;;) {
            // `token` starts a value at `pointer`.
            if (record) index_.values[pointer] = ValuePosition{lines_.at(token.begin), key};
            bool finished;  // the value is complete: look for ',' or the end of its container
            if (token.kind == TokenKind::begin_object || token.kind == TokenKind::begin_array) {
                bool object = token.kind == TokenKind::begin_object;
                stack_.push_back(Frame{object, record, record ? pointer : std::string(), 0, {}});
                token = lexer_.next();
                if (token.kind == (object ? TokenKind::end_object : TokenKind::end_array)) {
                    stack_.pop_back();
                    finished = true;
                } else {
                    if (!member(token, pointer, key, record)) return std::move(index_);
                    finished = false;
                }
            } else if (token.kind == TokenKind::string || token.kind == TokenKind::scalar) {
                finished = true;
            } else {
                return std::move(index_);
            }
            while (finished) {
                token = lexer_.next();
                if (stack_.empty()) {
                    index_.complete = token.kind == TokenKind::end;
                    return std::move(index_);
                }
                Frame& frame = stack_.back();
                if (token.kind == TokenKind::comma) {
                    token = lexer_.next();
                    if (!member(token, pointer, key, record)) return std::move(index_);
                    finished = false;
                } else if (token.kind == (frame.object ? TokenKind::end_object : TokenKind::end_array)) {
                    stack_.pop_back();
                } else {
                    return std::move(index_);
                }
            }
        }
    }

private:
    // At the first token of a member (object: its key; array: its value).
    // Leaves `token` at the first token of the value and sets where it goes.
    bool member(Token& token, std::string& pointer, TextPosition& key, bool& record) {
        Frame& frame = stack_.back();
        record = frame.recorded && stack_.size() <= max_recorded_depth;
        if (!frame.object) {
            key = TextPosition{};
            if (record) pointer = frame.pointer + "/" + std::to_string(frame.next_index);
            ++frame.next_index;
            return true;
        }
        if (token.kind != TokenKind::string) return false;
        key = lines_.at(token.begin);
        if (frame.recorded) {
            std::string name = decode_string(text_.substr(token.begin, token.end - token.begin));
            std::string member_pointer = frame.pointer + "/" + escape_pointer_token(name);
            auto [first, inserted] = frame.keys.emplace(name, key);
            if (!inserted) index_.duplicates.push_back(DuplicateKey{member_pointer, name, first->second, key});
            if (record) pointer = std::move(member_pointer);
        }
        if (lexer_.next().kind != TokenKind::colon) return false;
        token = lexer_.next();
        return true;
    }

    std::string_view text_;
    LineMap lines_;
    Lexer lexer_;
    std::vector<Frame> stack_;
    PositionIndex index_;
};

}  // namespace

const ValuePosition* PositionIndex::find(const std::string& pointer) const {
    auto found = values.find(pointer);
    return found == values.end() ? nullptr : &found->second;
}

PositionIndex index_positions(std::string_view text) { return Indexer(text).run(); }

TextPosition position_of_offset(std::string_view text, std::size_t offset) {
    return LineMap(text).at(std::min(offset, text.size()));
}

std::string escape_pointer_token(std::string_view token) {
    std::string out;
    out.reserve(token.size());
    for (char c : token) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out.push_back(c);
    }
    return out;
}

std::size_t string_start_containing(std::string_view text, std::size_t offset) {
    std::size_t i = bom_length(text);
    while (i < text.size() && i <= offset) {
        if (text[i] != '"') {
            ++i;
            continue;
        }
        std::size_t start = i++;
        while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
        std::size_t end = std::min(i, text.size());
        if (offset >= start && offset <= end) return start;
        ++i;
    }
    return offset;
}

Span word_around(std::string_view text, std::size_t offset) {
    std::size_t at = std::min(offset, text.size());
    std::size_t begin;
    if (at < text.size() && is_word(text[at]))
        begin = at;
    else if (at > 0 && is_word(text[at - 1]))
        begin = at - 1;
    else
        return {offset, offset};
    std::size_t floor = bom_length(text);
    while (begin > floor && is_word(text[begin - 1])) --begin;
    std::size_t end = begin;
    while (end < text.size() && is_word(text[end])) ++end;
    return {begin, end};
}

}  // namespace rmtfs_hil::engine::json_text
