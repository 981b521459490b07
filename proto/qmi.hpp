// QMI framing as carried in QRTR DATA payloads: a 7-byte header, then TLVs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/decode_error.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::qmi {

enum class MessageKind : std::uint8_t { request = 0, response = 2, indication = 4 };
std::string_view to_string(MessageKind kind);

inline constexpr std::size_t header_size_bytes = 7;
inline constexpr std::size_t tlv_header_size_bytes = 3;
inline constexpr std::size_t message_length_max_bytes = 0xffff;  // msg_len is a u16
// TLV types below this are mandatory in a message's definition; a decoder
// must know them. Types from here on are optional and may be skipped.
inline constexpr std::uint8_t first_optional_tlv_type = 0x10;

struct Header {
    MessageKind kind = MessageKind::request;
    std::uint16_t txn_id = 0;
    std::uint16_t msg_id = 0;
    std::uint16_t msg_len = 0;  // bytes of TLVs after the header
    bool operator==(const Header&) const = default;
};

struct Tlv {
    std::uint8_t type = 0;
    ByteView value;          // into the decoded message
    std::size_t offset = 0;  // of the TLV's own 3-byte header in the message
};

struct MessageView {
    Header header;
    std::vector<Tlv> tlvs;  // in wire order
};

// Checks the header, that msg_len is exactly what follows (libqrtr's rule;
// a daemon built on it drops anything else without a reply), and that every
// TLV fits. Views point into `message`, which must outlive the result.
Expected<MessageView, DecodeError> decode_message(ByteView message);

// Builds a message TLV by TLV; finish() fills in msg_len.
class MessageWriter {
public:
    MessageWriter(MessageKind kind, std::uint16_t txn_id, std::uint16_t msg_id);

    MessageWriter& tlv(std::uint8_t type, ByteView value);
    MessageWriter& tlv_u8(std::uint8_t type, std::uint8_t value);
    MessageWriter& tlv_u32(std::uint8_t type, std::uint32_t value);
    MessageWriter& tlv_u64(std::uint8_t type, std::uint64_t value);

    Bytes finish();

private:
    Bytes bytes_;
};

}  // namespace rmtfs_hil::qmi
