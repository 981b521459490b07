#include "proto/bytes.hpp"

#include <cstdio>

namespace rmtfs_hil {

std::optional<std::uint8_t> ByteReader::u8() {
    if (remaining() < 1) return std::nullopt;
    return input_[offset_++];
}

std::optional<std::uint16_t> ByteReader::u16() {
    if (remaining() < 2) return std::nullopt;
    std::uint16_t value = load_u16(input_.data() + offset_);
    offset_ += 2;
    return value;
}

std::optional<std::uint32_t> ByteReader::u32() {
    if (remaining() < 4) return std::nullopt;
    std::uint32_t value = load_u32(input_.data() + offset_);
    offset_ += 4;
    return value;
}

std::optional<std::uint64_t> ByteReader::u64() {
    if (remaining() < 8) return std::nullopt;
    std::uint64_t low = load_u32(input_.data() + offset_);
    std::uint64_t high = load_u32(input_.data() + offset_ + 4);
    offset_ += 8;
    return low | high << 32;
}

std::optional<ByteView> ByteReader::take(std::size_t count) {
    if (remaining() < count) return std::nullopt;
    ByteView view = input_.subspan(offset_, count);
    offset_ += count;
    return view;
}

void put_u8(Bytes& out, std::uint8_t value) { out.push_back(value); }

void put_u16(Bytes& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value));
    out.push_back(static_cast<std::uint8_t>(value >> 8));
}

void put_u32(Bytes& out, std::uint32_t value) {
    for (int shift = 0; shift < 32; shift += 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

void put_u64(Bytes& out, std::uint64_t value) {
    for (int shift = 0; shift < 64; shift += 8) out.push_back(static_cast<std::uint8_t>(value >> shift));
}

void put_bytes(Bytes& out, ByteView value) { out.insert(out.end(), value.begin(), value.end()); }

std::uint16_t load_u16(const std::uint8_t* at) {
    return static_cast<std::uint16_t>(at[0] | at[1] << 8);
}

std::uint32_t load_u32(const std::uint8_t* at) {
    return static_cast<std::uint32_t>(at[0]) | static_cast<std::uint32_t>(at[1]) << 8 |
           static_cast<std::uint32_t>(at[2]) << 16 | static_cast<std::uint32_t>(at[3]) << 24;
}

std::string hex(std::uint64_t value, int min_digits) {
    char buffer[24];
    std::snprintf(buffer, sizeof buffer, "0x%0*llx", min_digits, static_cast<unsigned long long>(value));
    return buffer;
}

std::string hex_dump(ByteView bytes) {
    std::string text;
    text.reserve(bytes.size() * 3);
    char buffer[4];
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        std::snprintf(buffer, sizeof buffer, i == 0 ? "%02x" : " %02x", bytes[i]);
        text += buffer;
    }
    return text;
}

}  // namespace rmtfs_hil
