// Byte vectors written the way the protocol documents show them: "01 0f 00".
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "proto/bytes.hpp"

namespace rmtfs_hil::testing {

inline Bytes from_hex(std::string_view text) {
    Bytes out;
    int high = -1;
    for (char c : text) {
        int nibble;
        if (c >= '0' && c <= '9') nibble = c - '0';
        else if (c >= 'a' && c <= 'f') nibble = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') nibble = c - 'A' + 10;
        else if (c == ' ' || c == '\n' || c == '|') continue;
        else throw std::invalid_argument("not a hex digit in byte vector");
        if (high < 0) {
            high = nibble;
        } else {
            out.push_back(static_cast<std::uint8_t>(high << 4 | nibble));
            high = -1;
        }
    }
    if (high >= 0) throw std::invalid_argument("odd number of hex digits in byte vector");
    return out;
}

}  // namespace rmtfs_hil::testing
