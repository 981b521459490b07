// Where things are in a JSON text: nlohmann::json keeps no positions, so the
// scenario loader scans the text once more to say "line 12, column 9" for a
// JSON pointer. The scanner expects text nlohmann already accepted; on
// anything else it stops and reports what it found so far (incomplete).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rmtfs_hil::engine::json_text {

// 1-based line and byte column; line 0: unknown.
struct TextPosition {
    std::size_t line = 0;
    std::size_t column = 0;
    bool known() const { return line != 0; }
};

struct ValuePosition {
    TextPosition value;  // the first byte of the value
    TextPosition key;    // an object member's key (its opening quote); unknown for array elements and the root
};

// A key that appears twice in one object: nlohmann keeps the last value.
struct DuplicateKey {
    std::string pointer;  // of the member ("/setup/board")
    std::string key;      // unescaped
    TextPosition first;   // the first occurrence's key
    TextPosition again;   // this (later) occurrence's key
};

struct PositionIndex {
    std::unordered_map<std::string, ValuePosition> values;  // by JSON pointer ("" is the root)
    std::vector<DuplicateKey> duplicates;                    // in text order
    bool complete = false;  // false: the text was not valid JSON and the scan stopped early

    // nullptr when the pointer was not seen (or lies deeper than the scan records).
    const ValuePosition* find(const std::string& pointer) const;
};

// Values nested deeper than this are walked but not recorded (pointers to
// them would cost memory quadratic in the depth; no scenario goes near it).
inline constexpr std::size_t max_recorded_depth = 32;

PositionIndex index_positions(std::string_view text);

// The line and column of a byte offset (offset == text.size(): just past the end).
TextPosition position_of_offset(std::string_view text, std::size_t offset);

// One reference token of a JSON pointer: '~' -> "~0", '/' -> "~1" (RFC 6901).
std::string escape_pointer_token(std::string_view token);

// Start of the string literal (its opening quote) that contains `offset`, or
// `offset` itself when none does. Strings are found by scanning from the start.
std::size_t string_start_containing(std::string_view text, std::size_t offset);

// The bare word (number, literal or garbage: a run of bytes that are neither
// whitespace, structural characters nor '"') that contains `offset` or ends
// just before it; {offset, offset} when there is none.
struct Span {
    std::size_t begin = 0;
    std::size_t end = 0;
};
Span word_around(std::string_view text, std::size_t offset);

}  // namespace rmtfs_hil::engine::json_text
