// RMTFS messages: one golden byte vector per message and direction, written
// by hand from the service definition, and each semantic decoding error.
#include <gtest/gtest.h>

#include "proto/rmtfs.hpp"
#include "tests/support/hex.hpp"
#include "tests/support/rejection.hpp"

namespace rmtfs_hil::rmtfs {
namespace {

using testing::from_hex;

struct Golden {
    const char* name;
    Envelope envelope;
    Bytes wire;
};

class RmtfsGolden : public ::testing::TestWithParam<Golden> {};

TEST_P(RmtfsGolden, EncodesToTheDocumentedBytes) {
    const Golden& g = GetParam();
    EXPECT_EQ(hex_dump(encode(g.envelope)), hex_dump(g.wire)) << summary(g.envelope.message);
}

TEST_P(RmtfsGolden, DecodesFromTheDocumentedBytes) {
    const Golden& g = GetParam();
    auto decoded = decode(g.wire);
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(*decoded, g.envelope) << "decoded " << summary(decoded->message) << ", expected "
                                    << summary(g.envelope.message);
}

INSTANTIATE_TEST_SUITE_P(
    EveryMessage, RmtfsGolden,
    ::testing::Values(
        Golden{"open_request", {1, OpenRequest{"/boot/modem_fs1"}},
               from_hex("00 0100 0100 1200 | 01 0f00 2f626f6f742f6d6f64656d5f667331")},
        Golden{"open_response", {1, OpenResponse{{0, 0}, 1u}},
               from_hex("02 0100 0100 0e00 | 02 0400 0000 0000 | 10 0400 01000000")},
        Golden{"open_response_failed", {9, OpenResponse{{1, 1}, std::nullopt}},
               from_hex("02 0900 0100 0700 | 02 0400 0100 0100")},
        Golden{"close_request", {7, CloseRequest{3}}, from_hex("00 0700 0200 0700 | 01 0400 03000000")},
        Golden{"close_response", {7, CloseResponse{{1, 1}}}, from_hex("02 0700 0200 0700 | 02 0400 0100 0100")},
        Golden{"rw_iovec_request",
               {0x1234, RwIovecRequest{1, 1, {IovecEntry{0x10, 0x88f00000, 8}}, 0}},
               from_hex("00 3412 0300 1f00 | 01 0400 01000000 | 02 0100 01 | "
                        "03 0d00 01 10000000 0000f088 08000000 | 04 0100 00")},
        Golden{"rw_iovec_request_no_entries", {2, RwIovecRequest{4, 0, {}, 1}},
               from_hex("00 0200 0300 1300 | 01 0400 04000000 | 02 0100 00 | 03 0100 00 | 04 0100 01")},
        Golden{"rw_iovec_response", {0x1234, RwIovecResponse{{0, 0}}},
               from_hex("02 3412 0300 0700 | 02 0400 0000 0000")},
        Golden{"alloc_buff_request", {2, AllocBuffRequest{1, 0x100000}},
               from_hex("00 0200 0400 0e00 | 01 0400 01000000 | 02 0400 00001000")},
        Golden{"alloc_buff_response", {2, AllocBuffResponse{{0, 0}, 0x88f00000u}},
               from_hex("02 0200 0400 1200 | 02 0400 0000 0000 | 10 0800 0000f08800000000")},
        Golden{"get_dev_error_request", {3, GetDevErrorRequest{2}}, from_hex("00 0300 0500 0700 | 01 0400 02000000")},
        Golden{"get_dev_error_response", {3, GetDevErrorResponse{{0, 0}, std::uint8_t{0}}},
               from_hex("02 0300 0500 0b00 | 02 0400 0000 0000 | 10 0100 00")},
        Golden{"force_sync_indication", {0, ForceSyncIndication{{1, 2}}},
               from_hex("04 0000 0600 0c00 | 01 0900 02 01000000 02000000")}),
    [](const ::testing::TestParamInfo<Golden>& param_info) { return std::string(param_info.param.name); });

TEST(RmtfsMessages, UnknownOptionalTlvIsSkippedLikeLibqrtrDoes) {
    auto decoded = decode(from_hex("02 0100 0100 1500 | 02 0400 0000 0000 | 11 0400 deadbeef | 10 0400 05000000"));
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(decoded->message, Message{OpenResponse({{0, 0}, 5u})});
}

TEST(RmtfsMessages, PathOfExactlyTheLimitIsAccepted) {
    std::string path(path_length_max_bytes, 'p');
    auto decoded = decode(encode(1, OpenRequest{path}));
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(std::get<OpenRequest>(decoded->message).path, path);
}

TEST(RmtfsMessages, MaximalIovecRoundTrips) {
    RwIovecRequest request{3, 1, {}, 1};
    for (std::uint32_t i = 0; i < iovec_entries_max; ++i) request.iovec.push_back({i, 0x88f00000 + i * 512, 1});
    Bytes wire = encode(9, request);
    EXPECT_EQ(wire.size(), 7u + 7u + 4u + (3u + 1u + 255u * 12u) + 4u);
    auto decoded = decode(wire);
    ASSERT_TRUE(decoded) << describe(decoded.error());
    EXPECT_EQ(decoded->message, Message{request});
}

struct Malformed {
    const char* name;
    Bytes wire;
    DecodeErrorCode code;
    const char* says;
};

class RmtfsMalformed : public ::testing::TestWithParam<Malformed> {};

TEST_P(RmtfsMalformed, IsRejectedWithItsOwnError) {
    const Malformed& m = GetParam();
    EXPECT_TRUE(testing::rejected_with(decode(m.wire), m.code, m.says)) << m.name;
}

Bytes long_path_request() {
    return encode(1, OpenRequest{std::string(path_length_max_bytes + 1, 'x')});
}

INSTANTIATE_TEST_SUITE_P(
    Semantics, RmtfsMalformed,
    ::testing::Values(
        Malformed{"message_id_zero", from_hex("00 0100 0000 0000"), DecodeErrorCode::rmtfs_message_unknown,
                  "0x0000 is not an RMTFS message"},
        Malformed{"message_id_seven", from_hex("00 0100 0700 0000"), DecodeErrorCode::rmtfs_message_unknown,
                  "0x0007"},
        Malformed{"force_sync_as_request", from_hex("00 0100 0600 0000"), DecodeErrorCode::rmtfs_message_unknown,
                  "no RMTFS request has message id 0x0006"},
        Malformed{"open_as_indication", from_hex("04 0100 0100 0000"), DecodeErrorCode::rmtfs_message_unknown,
                  "no RMTFS indication"},
        Malformed{"close_without_caller_id", from_hex("00 0100 0200 0000"), DecodeErrorCode::rmtfs_tlv_missing,
                  "CLOSE request lacks mandatory TLV 0x01 (caller_id)"},
        Malformed{"response_without_result", from_hex("02 0100 0100 0700 | 10 0400 01000000"),
                  DecodeErrorCode::rmtfs_tlv_missing, "lacks mandatory TLV 0x02 (result)"},
        Malformed{"duplicate_caller_id", from_hex("00 0100 0200 0e00 | 01 0400 01000000 | 01 0400 02000000"),
                  DecodeErrorCode::rmtfs_tlv_duplicate, "TLV 0x01 (caller_id) appears twice"},
        Malformed{"unknown_mandatory_tlv", from_hex("00 0100 0200 0e00 | 01 0400 01000000 | 05 0400 02000000"),
                  DecodeErrorCode::rmtfs_tlv_unexpected, "TLV 0x05 is not part of CLOSE request"},
        Malformed{"caller_id_three_bytes", from_hex("00 0100 0200 0600 | 01 0300 010000"),
                  DecodeErrorCode::rmtfs_tlv_size, "is 3 bytes, expected 4"},
        Malformed{"result_two_bytes", from_hex("02 0100 0200 0500 | 02 0200 0000"), DecodeErrorCode::rmtfs_tlv_size,
                  "TLV 0x02 (result) of CLOSE response is 2 bytes, expected 4"},
        Malformed{"address_four_bytes", from_hex("02 0100 0400 0e00 | 02 0400 00000000 | 10 0400 00000000"),
                  DecodeErrorCode::rmtfs_tlv_size, "expected 8"},
        Malformed{"path_over_limit", long_path_request(), DecodeErrorCode::rmtfs_path_too_long,
                  "257 bytes, at most 256"},
        Malformed{"iovec_count_exceeds_tlv",
                  from_hex("00 0100 0300 1e00 | 01 0400 01000000 | 02 0100 01 | 03 0c00 02 "
                           "10000000 0000f088 080000 | 04 0100 00"),
                  DecodeErrorCode::rmtfs_count_mismatch, "announces 2 entries (25 bytes) but is 12 bytes"},
        Malformed{"iovec_empty_tlv", from_hex("00 0100 0300 1200 | 01 0400 01000000 | 02 0100 01 | 03 0000 | 04 0100 00"),
                  DecodeErrorCode::rmtfs_count_mismatch, "is empty, needs a count byte"},
        Malformed{"force_sync_eleven_ids",
                  from_hex("04 0000 0600 3000 | 01 2d00 0b "
                           "01000000 02000000 03000000 04000000 05000000 06000000 07000000 08000000 09000000 "
                           "0a000000 0b000000"),
                  DecodeErrorCode::rmtfs_count_over_limit, "announces 11 entries, at most 10"}),
    [](const ::testing::TestParamInfo<Malformed>& param_info) { return std::string(param_info.param.name); });

TEST(RmtfsMessages, FramingErrorsPassThrough) {
    auto decoded = decode(from_hex("00 0100 0300 0f00 | 03 f40b 000000000000000000000000"));
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, DecodeErrorCode::qmi_tlv_overrun);
    EXPECT_EQ(decoded.error().message, "TLV 0x03 claims 3060 bytes, 12 left");
}

TEST(RmtfsMessages, SummaryNamesEveryField) {
    std::string text = summary(RwIovecRequest{1, 1, {IovecEntry{0x10, 0x88f00000, 8}}, 0});
    EXPECT_EQ(text, "RW_IOVEC request caller_id=1 write force_sync=0 iovec=[sector 16 x8 @0x88f00000]");
}

}  // namespace
}  // namespace rmtfs_hil::rmtfs
