#include "proto/qmi.hpp"

#include <string>

#include "proto/contract.hpp"

namespace rmtfs_hil::qmi {

std::string_view to_string(MessageKind kind) {
    switch (kind) {
        case MessageKind::request: return "request";
        case MessageKind::response: return "response";
        case MessageKind::indication: return "indication";
    }
    return "unknown kind";
}

Expected<MessageView, DecodeError> decode_message(ByteView message) {
    ByteReader reader(message);
    if (message.size() < header_size_bytes)
        return unexpected(DecodeError{DecodeErrorCode::qmi_header_truncated, 0,
                                      "QMI header needs 7 bytes, message has " +
                                          std::to_string(message.size())});
    MessageView view;
    std::uint8_t kind = *reader.u8();
    if (kind != 0 && kind != 2 && kind != 4)
        return unexpected(DecodeError{DecodeErrorCode::qmi_message_type_unknown, 0,
                                      "QMI message type " + hex(kind) +
                                          " is not request (0), response (2) or indication (4)"});
    view.header.kind = static_cast<MessageKind>(kind);
    view.header.txn_id = *reader.u16();
    view.header.msg_id = *reader.u16();
    view.header.msg_len = *reader.u16();
    if (view.header.msg_len != reader.remaining())
        return unexpected(DecodeError{DecodeErrorCode::qmi_length_mismatch, 5,
                                      "header announces " + std::to_string(view.header.msg_len) +
                                          " bytes of TLVs, " + std::to_string(reader.remaining()) +
                                          " follow"});
    while (reader.remaining() > 0) {
        std::size_t offset = reader.offset();
        if (reader.remaining() < tlv_header_size_bytes)
            return unexpected(DecodeError{DecodeErrorCode::qmi_tlv_header_truncated, offset,
                                          std::to_string(reader.remaining()) +
                                              " bytes left, a TLV header needs 3"});
        std::uint8_t type = *reader.u8();
        std::uint16_t length = *reader.u16();
        auto value = reader.take(length);
        if (!value)
            return unexpected(DecodeError{DecodeErrorCode::qmi_tlv_overrun, offset,
                                          "TLV " + hex(type) + " claims " + std::to_string(length) +
                                              " bytes, " + std::to_string(reader.remaining()) +
                                              " left"});
        view.tlvs.push_back(Tlv{type, *value, offset});
    }
    return view;
}

MessageWriter::MessageWriter(MessageKind kind, std::uint16_t txn_id, std::uint16_t msg_id) {
    put_u8(bytes_, static_cast<std::uint8_t>(kind));
    put_u16(bytes_, txn_id);
    put_u16(bytes_, msg_id);
    put_u16(bytes_, 0);  // msg_len, known at finish()
}

MessageWriter& MessageWriter::tlv(std::uint8_t type, ByteView value) {
    RMTFS_HIL_ASSERT(value.size() <= 0xffff, "TLV value longer than a u16 length");
    put_u8(bytes_, type);
    put_u16(bytes_, static_cast<std::uint16_t>(value.size()));
    put_bytes(bytes_, value);
    return *this;
}

MessageWriter& MessageWriter::tlv_u8(std::uint8_t type, std::uint8_t value) {
    Bytes v;
    put_u8(v, value);
    return tlv(type, v);
}

MessageWriter& MessageWriter::tlv_u32(std::uint8_t type, std::uint32_t value) {
    Bytes v;
    put_u32(v, value);
    return tlv(type, v);
}

MessageWriter& MessageWriter::tlv_u64(std::uint8_t type, std::uint64_t value) {
    Bytes v;
    put_u64(v, value);
    return tlv(type, v);
}

Bytes MessageWriter::finish() {
    std::size_t tlv_bytes = bytes_.size() - header_size_bytes;
    RMTFS_HIL_ASSERT(tlv_bytes <= message_length_max_bytes, "QMI message longer than msg_len can say");
    bytes_[5] = static_cast<std::uint8_t>(tlv_bytes);
    bytes_[6] = static_cast<std::uint8_t>(tlv_bytes >> 8);
    return std::move(bytes_);
}

}  // namespace rmtfs_hil::qmi
