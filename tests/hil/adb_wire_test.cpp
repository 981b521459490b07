// The ADB wire codecs of the emulated device: message headers, shell_v2
// packets and sync requests, including every way the host's bytes can be
// wrong and every way TCP and WRTEs can cut them.
#include "hil/emulated_device/adb_wire.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/support/hex.hpp"

namespace rmtfs_hil::hil::adb {
namespace {

using testing::from_hex;

Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

Bytes concat(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

Bytes wire_request(std::string_view id, std::string_view data) {
    Bytes out = bytes_of(id);
    put_u32(out, static_cast<std::uint32_t>(data.size()));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

Bytes header_bytes(std::uint32_t command, std::uint32_t length, std::uint32_t magic) {
    Bytes out;
    for (std::uint32_t field : {command, 1u, 2u, length, 0u, magic}) put_u32(out, field);
    return out;
}

// ---------------------------------------------------------------------------
// Message header

TEST(AdbMessage, EncodesTheHeaderLittleEndianWithChecksumAndMagic) {
    Bytes message = encode_message(Command::wrte, 3, 7, bytes_of("hi"));
    EXPECT_EQ(message, from_hex("57 52 54 45 | 03 00 00 00 | 07 00 00 00 | 02 00 00 00 | d1 00 00 00 | a8 ad ab ba | 68 69"))
        << "WRTE(3, 7, \"hi\"): checksum 'h'+'i' = 0xd1, magic = ~WRTE";
}

TEST(AdbMessage, DecodesWhatItEncodes) {
    Bytes message = encode_message(Command::cnxn, protocol_version, device_max_payload_bytes, bytes_of("host::"));
    auto header = decode_header(message, device_max_payload_bytes);
    ASSERT_TRUE(header) << describe(header.error());
    EXPECT_EQ(*header, (Header{Command::cnxn, protocol_version, device_max_payload_bytes, 6, checksum(bytes_of("host::"))}));
}

TEST(AdbMessage, EveryCommandHasItsName) {
    EXPECT_EQ(to_string(Command::cnxn), "CNXN");
    EXPECT_EQ(to_string(Command::open), "OPEN");
    EXPECT_EQ(to_string(static_cast<Command>(0x12345678)), "unknown");
}

TEST(AdbMessage, ATruncatedHeaderIsAnError) {
    Bytes message = encode_message(Command::okay, 1, 2);
    message.pop_back();
    auto header = decode_header(message, device_max_payload_bytes);
    ASSERT_FALSE(header);
    EXPECT_EQ(header.error().code, WireErrorCode::header_truncated);
}

TEST(AdbMessage, AWrongMagicIsAnError) {
    auto header = decode_header(header_bytes(0x4e584e43, 0, 0), device_max_payload_bytes);
    ASSERT_FALSE(header);
    EXPECT_EQ(header.error().code, WireErrorCode::bad_magic) << describe(header.error());
}

TEST(AdbMessage, GarbageIsABadMagicNotACrash) {
    Bytes garbage = bytes_of("GET / HTTP/1.1\r\nHost: x\r\n");
    auto header = decode_header(garbage, device_max_payload_bytes);
    ASSERT_FALSE(header);
    EXPECT_EQ(header.error().code, WireErrorCode::bad_magic);
}

TEST(AdbMessage, AnUnknownCommandWithItsMagicIsAnError) {
    auto header = decode_header(header_bytes(0x4b4e554a, 0, 0x4b4e554a ^ 0xffffffffu), device_max_payload_bytes);
    ASSERT_FALSE(header);
    EXPECT_EQ(header.error().code, WireErrorCode::unknown_command);
    EXPECT_NE(header.error().message.find("JUNK"), std::string::npos) << header.error().message;
}

TEST(AdbMessage, APayloadAboveTheLimitIsAnErrorAndTheLimitItselfIsNot) {
    const std::uint32_t wrte = static_cast<std::uint32_t>(Command::wrte);
    EXPECT_TRUE(decode_header(header_bytes(wrte, 4096, wrte ^ 0xffffffffu), 4096));
    auto header = decode_header(header_bytes(wrte, 4097, wrte ^ 0xffffffffu), 4096);
    ASSERT_FALSE(header);
    EXPECT_EQ(header.error().code, WireErrorCode::payload_too_large);
}

TEST(AdbMessage, TheBannerListsProductAndFeatures) {
    EXPECT_EQ(encode_banner({"db845c", "Dragonboard 845c", "db845c", {"shell_v2", "cmd", "fixed_push_mkdir"}}),
              "device::ro.product.name=db845c;ro.product.model=Dragonboard 845c;ro.product.device=db845c;"
              "features=shell_v2,cmd,fixed_push_mkdir");
}

// ---------------------------------------------------------------------------
// shell_v2

using shell_v2::PacketId;
using shell_v2::PacketParser;

TEST(ShellV2, EncodesIdLengthData) {
    EXPECT_EQ(shell_v2::encode_packet(PacketId::stdout_data, bytes_of("ok")), from_hex("01 02 00 00 00 6f 6b"));
    EXPECT_EQ(shell_v2::encode_exit(137), from_hex("03 01 00 00 00 89"));
}

std::vector<shell_v2::Packet> drain(PacketParser& parser) {
    std::vector<shell_v2::Packet> packets;
    for (;;) {
        auto packet = parser.next();
        EXPECT_TRUE(packet) << describe(packet.error());
        if (!packet || !*packet) return packets;
        packets.push_back(std::move(**packet));
    }
}

TEST(ShellV2, PacketsPackedInOneReadComeOutInOrder) {
    PacketParser parser;
    parser.feed(concat({shell_v2::encode_packet(PacketId::stdin_data, bytes_of("abc")),
                        shell_v2::encode_packet(PacketId::close_stdin, {}),
                        shell_v2::encode_packet(PacketId::window_size, bytes_of("24x80,0x0"))}));
    auto packets = drain(parser);
    ASSERT_EQ(packets.size(), 3u);
    EXPECT_EQ(packets[0], (shell_v2::Packet{PacketId::stdin_data, bytes_of("abc")}));
    EXPECT_EQ(packets[1], (shell_v2::Packet{PacketId::close_stdin, {}}));
    EXPECT_EQ(packets[2].id, PacketId::window_size);
    EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(ShellV2, APacketCutAtEveryByteComesOutWhole) {
    Bytes packet = shell_v2::encode_packet(PacketId::stdin_data, bytes_of("hello"));
    PacketParser parser;
    for (std::size_t i = 0; i < packet.size(); ++i) {
        EXPECT_TRUE(drain(parser).empty()) << "a packet came out after " << i << " bytes";
        parser.feed(ByteView(&packet[i], 1));
    }
    auto packets = drain(parser);
    ASSERT_EQ(packets.size(), 1u);
    EXPECT_EQ(packets[0].data, bytes_of("hello"));
}

TEST(ShellV2, AnUnknownIdIsAnErrorThatStays) {
    PacketParser parser;
    parser.feed(from_hex("06 00 00 00 00"));
    auto packet = parser.next();
    ASSERT_FALSE(packet);
    EXPECT_EQ(packet.error().code, WireErrorCode::shell_packet_unknown_id);
    parser.feed(shell_v2::encode_packet(PacketId::stdin_data, bytes_of("x")));
    EXPECT_FALSE(parser.next()) << "a stream that went wrong must stay wrong";
}

TEST(ShellV2, AnOversizedPacketIsRefusedFromItsHeader) {
    PacketParser parser;
    Bytes header{0};
    put_u32(header, static_cast<std::uint32_t>(shell_v2::packet_data_max_bytes + 1));
    parser.feed(header);
    auto packet = parser.next();
    ASSERT_FALSE(packet);
    EXPECT_EQ(packet.error().code, WireErrorCode::shell_packet_too_large);
}

TEST(ShellV2, AnExitPacketCarriesExactlyOneByte) {
    PacketParser parser;
    parser.feed(from_hex("03 02 00 00 00 00 00"));
    auto packet = parser.next();
    ASSERT_FALSE(packet);
    EXPECT_EQ(packet.error().code, WireErrorCode::shell_exit_length);
}

// ---------------------------------------------------------------------------
// sync

using sync::RequestParser;

std::vector<sync::Request> drain(RequestParser& parser) {
    std::vector<sync::Request> requests;
    for (;;) {
        auto request = parser.next();
        EXPECT_TRUE(request) << describe(request.error());
        if (!request || !*request) return requests;
        requests.push_back(std::move(**request));
    }
}

Bytes done(std::uint32_t mtime) {
    Bytes out = bytes_of("DONE");
    put_u32(out, mtime);
    return out;
}

TEST(SyncRequests, APushPackedInOneWrteComesOutAsItsRequests) {
    // What adb sends for a small file: SEND, DATA and DONE in one write.
    RequestParser parser;
    parser.feed(concat({wire_request("SEND", "/data/local/tmp/x,33261"), wire_request("DATA", "abc"), done(1700000000),
                        wire_request("QUIT", "")}));
    auto requests = drain(parser);
    ASSERT_EQ(requests.size(), 4u);
    EXPECT_EQ(requests[0], sync::Request(sync::Send{"/data/local/tmp/x,33261"}));
    EXPECT_EQ(requests[1], sync::Request(sync::Data{bytes_of("abc")}));
    EXPECT_EQ(requests[2], sync::Request(sync::Done{1700000000})) << "DONE's length field is the mtime";
    EXPECT_EQ(requests[3], sync::Request(sync::Quit{}));
}

TEST(SyncRequests, RequestsSplitAcrossWrtesAtEveryByteComeOutWhole) {
    Bytes stream = concat({wire_request("STAT", "/data/local/tmp"), wire_request("LIST", "/"), wire_request("RECV", "/etc/os-release")});
    for (std::size_t cut = 1; cut < stream.size(); ++cut) {
        RequestParser parser;
        parser.feed(ByteView(stream).first(cut));
        auto requests = drain(parser);
        parser.feed(ByteView(stream).subspan(cut));
        auto rest = drain(parser);
        requests.insert(requests.end(), rest.begin(), rest.end());
        ASSERT_EQ(requests.size(), 3u) << "cut at byte " << cut;
        EXPECT_EQ(requests[0], sync::Request(sync::Stat{"/data/local/tmp"}));
        EXPECT_EQ(requests[1], sync::Request(sync::List{"/"}));
        EXPECT_EQ(requests[2], sync::Request(sync::Recv{"/etc/os-release"}));
    }
}

TEST(SyncRequests, ALongStreamKeepsOnlyWhatIsPending) {
    RequestParser parser;
    Bytes chunk = wire_request("DATA", std::string(sync::data_max_bytes, 'x'));
    for (int i = 0; i < 64; ++i) {
        parser.feed(chunk);
        ASSERT_EQ(drain(parser).size(), 1u);
    }
    EXPECT_EQ(parser.buffered_bytes(), 0u);
}

TEST(SyncRequests, AnUnknownIdIsAnError) {
    for (std::string_view id : {"STA2", "LIS2", "JUNK", "OKAY"}) {
        RequestParser parser;
        parser.feed(wire_request(id, "/"));
        auto request = parser.next();
        ASSERT_FALSE(request) << id;
        EXPECT_EQ(request.error().code, WireErrorCode::sync_request_unknown_id) << id;
        EXPECT_NE(request.error().message.find(id), std::string::npos) << request.error().message;
    }
}

TEST(SyncRequests, AnUnprintableIdIsNamedInHex) {
    RequestParser parser;
    parser.feed(from_hex("00 01 02 03 00 00 00 00"));
    auto request = parser.next();
    ASSERT_FALSE(request);
    EXPECT_NE(request.error().message.find("0x03020100"), std::string::npos) << request.error().message;
}

TEST(SyncRequests, APathAboveTheLimitIsRefusedFromItsHeader) {
    RequestParser parser;
    Bytes header = bytes_of("RECV");
    put_u32(header, static_cast<std::uint32_t>(sync::path_max_bytes + 1));
    parser.feed(header);
    auto request = parser.next();
    ASSERT_FALSE(request);
    EXPECT_EQ(request.error().code, WireErrorCode::sync_path_too_long);

    RequestParser at_limit;
    at_limit.feed(wire_request("STAT", std::string(sync::path_max_bytes, 'a')));
    EXPECT_EQ(drain(at_limit).size(), 1u) << "a path of exactly the limit is fine";
}

TEST(SyncRequests, ADataChunkAbove64KiBIsRefusedFromItsHeader) {
    RequestParser parser;
    Bytes header = bytes_of("DATA");
    put_u32(header, static_cast<std::uint32_t>(sync::data_max_bytes + 1));
    parser.feed(header);
    auto request = parser.next();
    ASSERT_FALSE(request);
    EXPECT_EQ(request.error().code, WireErrorCode::sync_data_too_large);
    EXPECT_FALSE(parser.next()) << "the error stays";
}

TEST(SyncRequests, SendTargetsSplitAtTheLastComma) {
    auto target = sync::parse_send_target("/data/local/tmp/a,b,33188");
    ASSERT_TRUE(target) << describe(target.error());
    EXPECT_EQ(*target, (sync::SendTarget{"/data/local/tmp/a,b", 33188}));
}

TEST(SyncRequests, MalformedSendTargetsAreErrors) {
    for (std::string_view bad : {"/data/local/tmp/x", ",33188", "/x,", "/x,12a", "/x,-1", "/x,99999999999"}) {
        auto target = sync::parse_send_target(bad);
        ASSERT_FALSE(target) << bad;
        EXPECT_EQ(target.error().code, WireErrorCode::sync_send_target) << bad;
    }
}

TEST(SyncReplies, AreTheLayoutsAdbReads) {
    EXPECT_EQ(sync::encode_stat(0100644, 5, 7), from_hex("53 54 41 54 a4 81 00 00 05 00 00 00 07 00 00 00"));
    EXPECT_EQ(sync::encode_dent(040755, 4096, 1, "d"),
              from_hex("44 45 4e 54 ed 41 00 00 00 10 00 00 01 00 00 00 01 00 00 00 64"));
    EXPECT_EQ(sync::encode_list_done(), from_hex("44 4f 4e 45 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"))
        << "a listing ends with a DENT-sized DONE";
    EXPECT_EQ(sync::encode_data(bytes_of("ab")), from_hex("44 41 54 41 02 00 00 00 61 62"));
    EXPECT_EQ(sync::encode_data_done(), from_hex("44 4f 4e 45 00 00 00 00"));
    EXPECT_EQ(sync::encode_okay(), from_hex("4f 4b 41 59 00 00 00 00"));
    EXPECT_EQ(sync::encode_fail("no"), from_hex("46 41 49 4c 02 00 00 00 6e 6f"));
}

TEST(SyncRequests, DescribeNamesEachRequest) {
    EXPECT_EQ(sync::describe(sync::Send{"/x,420"}), "SEND /x,420");
    EXPECT_EQ(sync::describe(sync::Data{Bytes(3)}), "DATA 3 bytes");
    EXPECT_EQ(sync::describe(sync::Done{9}), "DONE mtime 9");
}

}  // namespace
}  // namespace rmtfs_hil::hil::adb
