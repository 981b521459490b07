// QMI framing: header, TLV walk, and each framing error with its numbers.
#include <gtest/gtest.h>

#include "proto/qmi.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/rejection.hpp"

namespace rmtfs_hil::qmi {
namespace {

using testing::from_hex;

TEST(Qmi, WriterProducesHeaderAndTlvs) {
    Bytes wire = MessageWriter(MessageKind::request, 0x1234, 3).tlv_u32(0x01, 7).tlv_u8(0x02, 1).finish();
    EXPECT_EQ(hex_dump(wire), hex_dump(from_hex("00 3412 0300 0b00 | 01 0400 07000000 | 02 0100 01")));
}

TEST(Qmi, DecodesTlvsInWireOrderWithOffsets) {
    Bytes wire = from_hex("02 0100 0100 0e00 | 02 0400 00000000 | 10 0400 01000000");
    auto view = decode_message(wire);
    ASSERT_TRUE(view) << describe(view.error());
    EXPECT_EQ(view->header, (Header{MessageKind::response, 1, 1, 14}));
    ASSERT_EQ(view->tlvs.size(), 2u);
    EXPECT_EQ(view->tlvs[0].type, 0x02);
    EXPECT_EQ(view->tlvs[0].offset, 7u);
    EXPECT_EQ(view->tlvs[1].type, 0x10);
    EXPECT_EQ(view->tlvs[1].offset, 14u);
    EXPECT_EQ(hex_dump(view->tlvs[1].value), "01 00 00 00");
}

TEST(Qmi, EmptyTlvListIsAMessage) {
    auto view = decode_message(from_hex("00 0000 0100 0000"));
    ASSERT_TRUE(view) << describe(view.error());
    EXPECT_TRUE(view->tlvs.empty());
}

struct Malformed {
    const char* name;
    Bytes wire;
    DecodeErrorCode code;
    const char* says;  // a phrase the message must contain
};

class QmiMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(QmiMalformed, IsRejectedWithItsOwnError) {
    const Malformed& m = GetParam();
    EXPECT_TRUE(testing::rejected_with(decode_message(m.wire), m.code, m.says)) << m.name;
}

INSTANTIATE_TEST_SUITE_P(
    Framing, QmiMalformed,
    ::testing::Values(
        Malformed{"header_truncated", from_hex("00 0100 01"), DecodeErrorCode::qmi_header_truncated,
                  "needs 7 bytes, message has 4"},
        Malformed{"type_unknown", from_hex("01 0100 0100 0000"), DecodeErrorCode::qmi_message_type_unknown,
                  "0x01"},
        Malformed{"msg_len_short", from_hex("00 0100 0100 0300 | 01 0400 07000000"),
                  DecodeErrorCode::qmi_length_mismatch, "announces 3 bytes of TLVs, 7 follow"},
        Malformed{"msg_len_long", from_hex("00 0100 0100 0800 | 01 0400 07000000"),
                  DecodeErrorCode::qmi_length_mismatch, "announces 8 bytes of TLVs, 7 follow"},
        Malformed{"tlv_header_truncated", from_hex("00 0100 0100 0900 | 01 0400 07000000 | 02 01"),
                  DecodeErrorCode::qmi_tlv_header_truncated, "2 bytes left, a TLV header needs 3"},
        Malformed{"tlv_overrun", from_hex("00 0100 0300 0f00 | 03 f40b 000000000000000000000000"),
                  DecodeErrorCode::qmi_tlv_overrun, "TLV 0x03 claims 3060 bytes, 12 left"}),
    [](const ::testing::TestParamInfo<Malformed>& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace rmtfs_hil::qmi
