#include "proto/qrtr_packet.hpp"

#include <string>

#include "proto/contract.hpp"

namespace rmtfs_hil::qrtr {

namespace {

constexpr std::uint8_t v2_flag_confirm_rx = 1;

DecodeError error(DecodeErrorCode code, std::size_t offset, std::string message) {
    return DecodeError{code, offset, std::move(message)};
}

bool is_control_only(PacketType type) {
    return type != PacketType::data && type != PacketType::resume_tx;
}

}  // namespace

std::string_view to_string(PacketType type) {
    switch (type) {
        case PacketType::data: return "DATA";
        case PacketType::hello: return "HELLO";
        case PacketType::bye: return "BYE";
        case PacketType::new_server: return "NEW_SERVER";
        case PacketType::del_server: return "DEL_SERVER";
        case PacketType::del_client: return "DEL_CLIENT";
        case PacketType::resume_tx: return "RESUME_TX";
        case PacketType::exit: return "EXIT";
        case PacketType::ping: return "PING";
        case PacketType::new_lookup: return "NEW_LOOKUP";
        case PacketType::del_lookup: return "DEL_LOOKUP";
    }
    return "unknown type";
}

bool is_known(PacketType type) {
    auto value = static_cast<std::uint32_t>(type);
    return value >= packet_type_first && value <= packet_type_last;
}

Bytes encode_v1(const Packet& packet) {
    RMTFS_HIL_ASSERT(packet.payload.size() <= datagram_size_max_bytes,
                     "payload larger than any QRTR datagram");
    Bytes out;
    out.reserve(header_v1_size_bytes + padded_size(packet.payload.size()));
    put_u32(out, version_v1);
    put_u32(out, static_cast<std::uint32_t>(packet.type));
    put_u32(out, packet.src_node);
    put_u32(out, packet.src_port);
    put_u32(out, packet.confirm_rx ? 1 : 0);
    put_u32(out, static_cast<std::uint32_t>(packet.payload.size()));
    put_u32(out, packet.dst_node);
    put_u32(out, packet.dst_port);
    put_bytes(out, packet.payload);
    out.resize(header_v1_size_bytes + padded_size(packet.payload.size()), 0);
    return out;
}

Bytes encode_v2(const Packet& packet) {
    auto port16 = [](std::uint32_t port) -> std::uint16_t {
        if (port == port_control) return port_control_v2;
        RMTFS_HIL_ASSERT(port <= 0xffff, "port does not fit a v2 header");
        return static_cast<std::uint16_t>(port);
    };
    auto node16 = [](std::uint32_t node) -> std::uint16_t {
        RMTFS_HIL_ASSERT(node <= 0xffff, "node does not fit a v2 header");
        return static_cast<std::uint16_t>(node);
    };
    RMTFS_HIL_ASSERT(static_cast<std::uint32_t>(packet.type) <= 0xff, "type does not fit a v2 header");
    RMTFS_HIL_ASSERT(packet.payload.size() <= datagram_size_max_bytes,
                     "payload larger than any QRTR datagram");
    Bytes out;
    out.reserve(header_v2_size_bytes + padded_size(packet.payload.size()));
    put_u8(out, version_v2);
    put_u8(out, static_cast<std::uint8_t>(packet.type));
    put_u8(out, packet.confirm_rx ? v2_flag_confirm_rx : 0);
    put_u8(out, 0);  // optlen
    put_u32(out, static_cast<std::uint32_t>(packet.payload.size()));
    put_u16(out, node16(packet.src_node));
    put_u16(out, port16(packet.src_port));
    put_u16(out, node16(packet.dst_node));
    put_u16(out, port16(packet.dst_port));
    put_bytes(out, packet.payload);
    out.resize(header_v2_size_bytes + padded_size(packet.payload.size()), 0);
    return out;
}

Expected<Packet, DecodeError> decode_packet(ByteView bytes) {
    const std::size_t length = bytes.size();
    if (length == 0)
        return unexpected(error(DecodeErrorCode::packet_empty, 0, "empty packet"));
    if (length % 4 != 0)
        return unexpected(error(DecodeErrorCode::packet_length_unaligned, 0,
                                "packet is " + std::to_string(length) +
                                    " bytes, not a multiple of 4"));

    Packet packet;
    std::uint32_t size = 0;
    std::size_t header_size = 0;
    // The version is byte 0 in both formats (v1's u32 is little-endian).
    packet.version = bytes[0];
    if (packet.version == version_v1) {
        if (length < header_v1_size_bytes)
            return unexpected(error(DecodeErrorCode::packet_header_truncated, 0,
                                    "v1 header needs 32 bytes, packet has " +
                                        std::to_string(length)));
        const std::uint8_t* h = bytes.data();
        packet.type = static_cast<PacketType>(load_u32(h + 4));
        packet.src_node = load_u32(h + 8);
        packet.src_port = load_u32(h + 12);
        packet.confirm_rx = load_u32(h + 16) != 0;
        size = load_u32(h + 20);
        packet.dst_node = load_u32(h + 24);
        packet.dst_port = load_u32(h + 28);
        header_size = header_v1_size_bytes;
    } else if (packet.version == version_v2) {
        if (length < header_v2_size_bytes)
            return unexpected(error(DecodeErrorCode::packet_header_truncated, 0,
                                    "v2 header needs 16 bytes, packet has " +
                                        std::to_string(length)));
        const std::uint8_t* h = bytes.data();
        auto port32 = [](std::uint16_t port) -> std::uint32_t {
            return port == port_control_v2 ? port_control : port;
        };
        packet.type = static_cast<PacketType>(h[1]);
        packet.confirm_rx = (h[2] & v2_flag_confirm_rx) != 0;
        std::size_t optlen = h[3];
        size = load_u32(h + 4);
        packet.src_node = load_u16(h + 8);
        packet.src_port = port32(load_u16(h + 10));
        packet.dst_node = load_u16(h + 12);
        packet.dst_port = port32(load_u16(h + 14));
        header_size = header_v2_size_bytes + optlen;
    } else {
        return unexpected(error(DecodeErrorCode::packet_version_unknown, 0,
                                "version byte " + std::to_string(packet.version) +
                                    " is neither 1 (v1) nor 3 (v2)"));
    }

    if (size == 0)
        return unexpected(error(DecodeErrorCode::packet_size_zero, 0, "header announces size 0"));
    // 64-bit arithmetic: a hostile size near 2^32 must not wrap.
    const std::uint64_t expected_length = static_cast<std::uint64_t>(header_size) +
                                          ((static_cast<std::uint64_t>(size) + 3) & ~std::uint64_t{3});
    if (expected_length != length)
        return unexpected(error(DecodeErrorCode::packet_length_mismatch, 0,
                                "header (" + std::to_string(header_size) + " bytes) announces size " +
                                    std::to_string(size) + ", so the packet should be " +
                                    std::to_string(expected_length) + " bytes, but it is " +
                                    std::to_string(length)));
    if ((packet.type == PacketType::new_server || packet.type == PacketType::resume_tx) &&
        size < control_payload_size_bytes)
        return unexpected(error(DecodeErrorCode::packet_control_payload_short, header_size,
                                std::string(to_string(packet.type)) + " carries " +
                                    std::to_string(size) + " bytes, needs " +
                                    std::to_string(control_payload_size_bytes)));
    if (packet.dst_port != port_control && is_control_only(packet.type))
        return unexpected(error(DecodeErrorCode::packet_control_type_to_data_port, 0,
                                "control packet " + std::string(to_string(packet.type)) +
                                    " (type " + std::to_string(static_cast<std::uint32_t>(packet.type)) +
                                    ") addressed to port " + hex(packet.dst_port, 1) +
                                    ", not the control port"));

    packet.payload.assign(bytes.begin() + static_cast<std::ptrdiff_t>(header_size),
                          bytes.begin() + static_cast<std::ptrdiff_t>(header_size + size));
    return packet;
}

}  // namespace rmtfs_hil::qrtr
