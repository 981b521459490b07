// The bytes a step writes or expects, as a scenario names them: a pattern
// (a function of the run's seed and a label), exact hex, or one byte
// repeated. Hex is checked when the scenario loads; the bytes are made when
// it runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/bytes.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::engine {

struct DataSpec {
    std::string pattern;  // any label: the bytes are a function of the seed and this label
    std::string hex;      // or exact bytes, "de ad be ef ..." (whole sectors)
    std::string fill;     // or one byte repeated, "0x00"
};

// Hex pairs with whitespace allowed between them: "de ad be ef". The bytes,
// or why the text is not hex (naming the character).
Expected<Bytes, std::string> parse_hex(std::string_view text);

// "0x00" to "0xff".
bool valid_fill_byte(std::string_view text);

// Deterministic bytes for a label: a function of the seed, the label and the
// position, never constant.
Bytes pattern_bytes(std::uint64_t seed, std::string_view label, std::size_t size);

// `size` bytes as the spec says (hex cut or zero-extended to `size`).
Bytes bytes_of(const DataSpec& spec, std::uint64_t seed, std::size_t size);

}  // namespace rmtfs_hil::engine
