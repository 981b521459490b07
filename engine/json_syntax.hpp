// A scenario file's JSON syntax, checked by nlohmann's parser and reworded
// for people: "expected ',' or '}' after an object member, found a string"
// at the start of what is wrong, instead of the parser's token names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace rmtfs_hil::engine::json_text {

struct SyntaxError {
    std::size_t offset = 0;  // the byte where the problem starts
    std::string message;
};

// nullopt when the text is valid JSON.
std::optional<SyntaxError> check_syntax(std::string_view text);

}  // namespace rmtfs_hil::engine::json_text
