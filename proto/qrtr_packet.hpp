// QRTR packets as they travel on a link between nodes (what the modem, or
// /dev/qrtr-tun, sends and receives): v1 and v2 headers, padding, and the
// kernel's receive-side validity rules, each as its own error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/bytes.hpp"
#include "proto/decode_error.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::qrtr {

inline constexpr std::uint32_t node_broadcast = 0xffffffffu;
inline constexpr std::uint32_t port_control = 0xfffffffeu;
// v2 headers carry 16-bit ports; this value stands for port_control.
inline constexpr std::uint16_t port_control_v2 = 0xfffe;

inline constexpr std::uint8_t version_v1 = 1;
inline constexpr std::uint8_t version_v2 = 3;
inline constexpr std::size_t header_v1_size_bytes = 32;
inline constexpr std::size_t header_v2_size_bytes = 16;
// Control messages are a u32 command and four u32 fields.
inline constexpr std::size_t control_payload_size_bytes = 20;
// The kernel refuses a datagram larger than this on an AF_QIPCRTR socket.
inline constexpr std::size_t datagram_size_max_bytes = 65535;

enum class PacketType : std::uint32_t {
    data = 1,
    hello = 2,
    bye = 3,
    new_server = 4,
    del_server = 5,
    del_client = 6,
    resume_tx = 7,
    exit = 8,
    ping = 9,
    new_lookup = 10,
    del_lookup = 11,
};
inline constexpr std::uint32_t packet_type_first = 1;
inline constexpr std::uint32_t packet_type_last = 11;

// "NEW_SERVER"; "unknown type" for a value outside the protocol.
std::string_view to_string(PacketType type);
bool is_known(PacketType type);

struct Packet {
    std::uint8_t version = version_v1;  // as received; encoders choose their own
    PacketType type = PacketType::data;
    bool confirm_rx = false;
    std::uint32_t src_node = 0;
    std::uint32_t src_port = 0;
    std::uint32_t dst_node = 0;
    std::uint32_t dst_port = 0;
    Bytes payload;  // exactly `size` bytes, the padding removed

    bool operator==(const Packet&) const = default;
};

constexpr std::size_t padded_size(std::size_t size) { return (size + 3) & ~std::size_t{3}; }

// The kernel's format on every link it writes to.
Bytes encode_v1(const Packet& packet);
// Nodes and ports must fit 16 bits (port_control excepted); asserted.
Bytes encode_v2(const Packet& packet);

// Accepts exactly what the kernel's qrtr_endpoint_post accepts from a link.
Expected<Packet, DecodeError> decode_packet(ByteView link_bytes);

}  // namespace rmtfs_hil::qrtr
