// QRTR control messages: golden bytes for each layout, the instance<<8|version
// packing, and the errors.
#include <gtest/gtest.h>

#include "proto/qrtr_control.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/rejection.hpp"

namespace rmtfs_hil::qrtr {
namespace {

using testing::from_hex;

TEST(QrtrControl, NewServerForRmtfsPacksInstanceAndVersion) {
    // rmtfs publishes service 14, version 1, instance 0: wire instance 1.
    auto message = ControlMessage::server(PacketType::new_server, ServerRecord{14, 0, 1, 1, 14});
    EXPECT_EQ(hex_dump(encode_control(message)),
              hex_dump(from_hex("04000000 0e000000 01000000 01000000 0e000000")));
}

TEST(QrtrControl, InstanceOccupiesTheUpper24Bits) {
    auto message = ControlMessage::server(PacketType::new_lookup, ServerRecord{15, 0x123456, 0x78, 0, 0});
    Bytes wire = encode_control(message);
    EXPECT_EQ(hex_dump(wire), hex_dump(from_hex("0a000000 0f000000 78563412 00000000 00000000")));
    auto decoded = decode_control(wire);
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(*decoded, message);
}

TEST(QrtrControl, ClientLayoutCarriesNodeAndPort) {
    auto message = ControlMessage::client(PacketType::del_client, ClientRecord{1, 0x4001});
    EXPECT_EQ(hex_dump(encode_control(message)),
              hex_dump(from_hex("06000000 01000000 01400000 00000000 00000000")));
}

TEST(QrtrControl, HelloIsTwentyBytesWithZeroFields) {
    Bytes wire = encode_control(ControlMessage::bare(PacketType::hello));
    EXPECT_EQ(hex_dump(wire), hex_dump(from_hex("02000000 00000000 00000000 00000000 00000000")));
}

TEST(QrtrControl, EveryTypeRoundTrips) {
    for (std::uint32_t t = packet_type_first; t <= packet_type_last; ++t) {
        auto type = static_cast<PacketType>(t);
        ControlMessage message;
        switch (control_layout(type)) {
            case ControlLayout::server:
                message = ControlMessage::server(type, ServerRecord{t, t * 3, t, 7, 0x4000 + t});
                break;
            case ControlLayout::client: message = ControlMessage::client(type, ClientRecord{t, 0x4000 + t}); break;
            case ControlLayout::none: message = ControlMessage::bare(type); break;
        }
        auto decoded = decode_control(encode_control(message));
        ASSERT_TRUE(decoded) << to_string(type) << ": " << describe(decoded.error());
        EXPECT_EQ(*decoded, message) << to_string(type);
    }
}

TEST(QrtrControl, BytesPastTwentyAreIgnored) {
    Bytes wire = from_hex("03000000 05000000 00000000 00000000 00000000 ffffffff");
    auto decoded = decode_control(wire);
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(*decoded, ControlMessage::client(PacketType::bye, ClientRecord{5, 0}));
}

TEST(QrtrControl, ShortMessageIsRejected) {
    EXPECT_TRUE(testing::rejected_with(decode_control(from_hex("04000000 0e000000 01000000 01000000")),
                                       DecodeErrorCode::control_truncated, "16 bytes, needs 20"));
}

TEST(QrtrControl, UnknownCommandIsRejected) {
    for (std::uint32_t command : {0u, 12u, 0xffffffffu}) {
        Bytes wire(control_payload_size_bytes, 0);
        wire[0] = static_cast<std::uint8_t>(command);
        wire[3] = static_cast<std::uint8_t>(command >> 24);
        EXPECT_TRUE(testing::rejected_with(decode_control(wire), DecodeErrorCode::control_type_unknown,
                                           "is not a QRTR type"))
            << "command " << command;
    }
}

}  // namespace
}  // namespace rmtfs_hil::qrtr
