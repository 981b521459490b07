// QRTR link packets: golden v1/v2 bytes and one test per receive-side rule.
#include <gtest/gtest.h>

#include "proto/qrtr_packet.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/rejection.hpp"

namespace rmtfs_hil::qrtr {
namespace {

using testing::from_hex;

Packet modem_data_packet() {
    Packet p;
    p.type = PacketType::data;
    p.confirm_rx = true;
    p.src_node = 0;
    p.src_port = 0x4000;
    p.dst_node = 1;
    p.dst_port = 14;
    p.payload = {0xaa, 0xbb, 0xcc};
    return p;
}

const Bytes golden_v1 = from_hex(
    "01000000 01000000 00000000 00400000 01000000 03000000 01000000 0e000000 aabbcc00");
const Bytes golden_v2 = from_hex("03 01 01 00 03000000 0000 0040 0100 0e00 aabbcc00");

TEST(QrtrPacket, EncodesV1AsTheKernelDoes) {
    EXPECT_EQ(hex_dump(encode_v1(modem_data_packet())), hex_dump(golden_v1));
}

TEST(QrtrPacket, EncodesV2) { EXPECT_EQ(hex_dump(encode_v2(modem_data_packet())), hex_dump(golden_v2)); }

TEST(QrtrPacket, DecodesV1AndDropsPadding) {
    auto decoded = decode_packet(golden_v1);
    ASSERT_TRUE(decoded) << describe(decoded.error());
    Packet expected = modem_data_packet();
    EXPECT_EQ(*decoded, expected);
    EXPECT_EQ(decoded->payload.size(), 3u) << "receivers get exactly `size` bytes";
}

TEST(QrtrPacket, DecodesV2AndMapsItsControlPort) {
    Packet hello;
    hello.type = PacketType::hello;
    hello.src_node = 5;
    hello.src_port = port_control;
    hello.dst_node = 1;
    hello.dst_port = port_control;
    hello.payload = Bytes(control_payload_size_bytes, 0);
    Bytes wire = encode_v2(hello);
    EXPECT_EQ(wire[10], 0xfe);
    EXPECT_EQ(wire[11], 0xff);
    auto decoded = decode_packet(wire);
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(decoded->version, version_v2);
    EXPECT_EQ(decoded->src_port, port_control);
    EXPECT_EQ(decoded->dst_port, port_control);
}

TEST(QrtrPacket, V2OptionalHeaderBytesAreSkipped) {
    // optlen 4: four option bytes sit between the header and the payload.
    Bytes wire = from_hex("03 01 00 04 04000000 0000 0040 0100 0e00 11223344 deadbeef");
    auto decoded = decode_packet(wire);
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(hex_dump(decoded->payload), "de ad be ef");
}

struct Malformed {
    const char* name;
    Bytes wire;
    DecodeErrorCode code;
};

class QrtrPacketMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(QrtrPacketMalformed, IsRejectedWithItsOwnError) {
    const Malformed& m = GetParam();
    EXPECT_TRUE(testing::rejected_with(decode_packet(m.wire), m.code)) << m.name << " (the kernel drops it)";
}

Bytes v1_with(PacketType type, std::uint32_t size, std::uint32_t dst_port, std::size_t payload_bytes) {
    Packet p;
    p.type = type;
    p.dst_node = 1;
    p.dst_port = dst_port;
    p.payload = Bytes(payload_bytes, 0x5a);
    Bytes wire = encode_v1(p);
    wire[20] = static_cast<std::uint8_t>(size);
    wire[21] = static_cast<std::uint8_t>(size >> 8);
    wire[22] = static_cast<std::uint8_t>(size >> 16);
    wire[23] = static_cast<std::uint8_t>(size >> 24);
    return wire;
}

INSTANTIATE_TEST_SUITE_P(
    ReceiveRules, QrtrPacketMalformed,
    ::testing::Values(
        Malformed{"empty", {}, DecodeErrorCode::packet_empty},
        Malformed{"length not a multiple of 4", Bytes(33, 0), DecodeErrorCode::packet_length_unaligned},
        Malformed{"v1 shorter than its header", from_hex("01000000 01000000"),
                  DecodeErrorCode::packet_header_truncated},
        Malformed{"v2 shorter than its header", from_hex("03010000 04000000"),
                  DecodeErrorCode::packet_header_truncated},
        Malformed{"version 2 does not exist", from_hex("02000000 01000000 00000000 00000000"),
                  DecodeErrorCode::packet_version_unknown},
        Malformed{"size zero", v1_with(PacketType::data, 0, 14, 0), DecodeErrorCode::packet_size_zero},
        Malformed{"size larger than the packet", v1_with(PacketType::data, 9, 14, 4),
                  DecodeErrorCode::packet_length_mismatch},
        Malformed{"size near 2^32 must not wrap", v1_with(PacketType::data, 0xfffffffd, 14, 4),
                  DecodeErrorCode::packet_length_mismatch},
        Malformed{"trailing bytes past the padding", v1_with(PacketType::data, 4, 14, 8),
                  DecodeErrorCode::packet_length_mismatch},
        Malformed{"NEW_SERVER shorter than 20 bytes", v1_with(PacketType::new_server, 16, port_control, 16),
                  DecodeErrorCode::packet_control_payload_short},
        Malformed{"RESUME_TX shorter than 20 bytes", v1_with(PacketType::resume_tx, 8, 14, 8),
                  DecodeErrorCode::packet_control_payload_short},
        Malformed{"HELLO to a data port", v1_with(PacketType::hello, 20, 14, 20),
                  DecodeErrorCode::packet_control_type_to_data_port},
        Malformed{"DEL_CLIENT to a data port", v1_with(PacketType::del_client, 20, 0x4001, 20),
                  DecodeErrorCode::packet_control_type_to_data_port}),
    [](const ::testing::TestParamInfo<Malformed>& param_info) {
        std::string name;
        for (char c : std::string(param_info.param.name)) name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
        return name;
    });

TEST(QrtrPacket, ResumeTxMayGoToADataPort) {
    // Flow control answers go to the sender's own port, not the control port.
    auto decoded = decode_packet(v1_with(PacketType::resume_tx, 20, 0x4000, 20));
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(decoded->type, PacketType::resume_tx);
}

TEST(QrtrPacket, LengthMismatchNamesTheNumbers) {
    EXPECT_TRUE(testing::rejected_with(decode_packet(v1_with(PacketType::data, 9, 14, 4)),
                                       DecodeErrorCode::packet_length_mismatch,
                                       "announces size 9, so the packet should be 44 bytes, but it is 36"));
}

}  // namespace
}  // namespace rmtfs_hil::qrtr
