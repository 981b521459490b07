// QRTR control messages: the 20-byte payloads that travel to and from control
// ports (name service, HELLO/BYE between nodes, flow control).
#pragma once

#include <cstdint>
#include <variant>

#include "proto/bytes.hpp"
#include "proto/decode_error.hpp"
#include "proto/expected.hpp"
#include "proto/qrtr_packet.hpp"

namespace rmtfs_hil::qrtr {

// A service's instance and version share one u32 on the wire.
inline constexpr std::uint32_t instance_max = 0xffffff;
inline constexpr std::uint32_t version_max = 0xff;
constexpr std::uint32_t wire_instance(std::uint32_t instance, std::uint32_t version) {
    return instance << 8 | (version & version_max);
}

// NEW_SERVER, DEL_SERVER, NEW_LOOKUP, DEL_LOOKUP. Zero service / instance in a
// lookup are wildcards; an all-zero NEW_SERVER ends a lookup's listing.
struct ServerRecord {
    std::uint32_t service = 0;
    std::uint32_t instance = 0;  // at most instance_max
    std::uint32_t version = 0;   // at most version_max
    std::uint32_t node = 0;
    std::uint32_t port = 0;
    bool operator==(const ServerRecord&) const = default;
};

// BYE (node only), DEL_CLIENT, RESUME_TX.
struct ClientRecord {
    std::uint32_t node = 0;
    std::uint32_t port = 0;
    bool operator==(const ClientRecord&) const = default;
};

enum class ControlLayout { none, server, client };
ControlLayout control_layout(PacketType type);

struct ControlMessage {
    PacketType type = PacketType::hello;
    // monostate for HELLO, EXIT, PING and DATA; otherwise as control_layout(type).
    std::variant<std::monostate, ServerRecord, ClientRecord> body;
    bool operator==(const ControlMessage&) const = default;

    static ControlMessage server(PacketType type, ServerRecord record);
    static ControlMessage client(PacketType type, ClientRecord record);
    static ControlMessage bare(PacketType type);
};

// Always control_payload_size_bytes long, unused fields zero.
Bytes encode_control(const ControlMessage& message);

// Needs at least control_payload_size_bytes; bytes past them are ignored, as
// the kernel and libqrtr ignore them.
Expected<ControlMessage, DecodeError> decode_control(ByteView payload);

}  // namespace rmtfs_hil::qrtr
