#include "engine/data_spec.hpp"

#include "engine/wording.hpp"

namespace rmtfs_hil::engine {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool is_hex_digit(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
std::uint8_t hex_value(char c) {
    return static_cast<std::uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
}

}  // namespace

Expected<Bytes, std::string> parse_hex(std::string_view text) {
    using wording::in_quotes;
    Bytes bytes;
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
        bytes.push_back(static_cast<std::uint8_t>(hex_value(c) << 4 | hex_value(text[i + 1])));
        i += 2;
    }
    if (bytes.empty()) return unexpected(std::string("bad hex: no bytes"));
    return bytes;
}

bool valid_fill_byte(std::string_view s) {
    return s.size() == 4 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && is_hex_digit(s[2]) && is_hex_digit(s[3]);
}

Bytes pattern_bytes(std::uint64_t seed, std::string_view label, std::size_t size) {
    std::uint64_t x = 1469598103934665603ull ^ (seed * 0x9e3779b97f4a7c15ull);
    for (char c : label) x = (x ^ static_cast<std::uint8_t>(c)) * 1099511628211ull;
    Bytes bytes(size);
    for (auto& byte : bytes) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        byte = static_cast<std::uint8_t>(x >> 24);
    }
    return bytes;
}

Bytes bytes_of(const DataSpec& spec, std::uint64_t seed, std::size_t size) {
    if (!spec.hex.empty()) {
        auto parsed = parse_hex(spec.hex);
        RMTFS_HIL_ASSERT(parsed.has_value(), "hex data the loader accepted");
        Bytes bytes = std::move(*parsed);
        bytes.resize(size);
        return bytes;
    }
    if (!spec.fill.empty()) {
        RMTFS_HIL_ASSERT(valid_fill_byte(spec.fill), "a fill byte the loader accepted");
        return Bytes(size, static_cast<std::uint8_t>(hex_value(spec.fill[2]) << 4 | hex_value(spec.fill[3])));
    }
    return pattern_bytes(seed, spec.pattern, size);
}

}  // namespace rmtfs_hil::engine
