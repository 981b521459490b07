// Little-endian reading and writing over byte buffers. A reader never reads
// past its span: every read says whether the bytes were there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace rmtfs_hil {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

class ByteReader {
public:
    explicit ByteReader(ByteView input) : input_(input) {}

    std::size_t offset() const { return offset_; }
    std::size_t remaining() const { return input_.size() - offset_; }

    std::optional<std::uint8_t> u8();
    std::optional<std::uint16_t> u16();
    std::optional<std::uint32_t> u32();
    std::optional<std::uint64_t> u64();
    std::optional<ByteView> take(std::size_t count);

private:
    ByteView input_;
    std::size_t offset_ = 0;
};

void put_u8(Bytes& out, std::uint8_t value);
void put_u16(Bytes& out, std::uint16_t value);
void put_u32(Bytes& out, std::uint32_t value);
void put_u64(Bytes& out, std::uint64_t value);
void put_bytes(Bytes& out, ByteView value);

std::uint16_t load_u16(const std::uint8_t* at);
std::uint32_t load_u32(const std::uint8_t* at);

// "0x03": how messages name TLV types, message ids and similar small numbers.
std::string hex(std::uint64_t value, int min_digits = 2);

// "01 00 0f 00": how tests and traces show bytes.
std::string hex_dump(ByteView bytes);

}  // namespace rmtfs_hil
