// The control messages libqrtr itself sends (qrtr_new_server, qrtr_remove_server,
// qrtr_new_lookup, qrtr_remove_lookup) are byte-identical to ours.
//
// This machine may have no AF_QIPCRTR, so the test catches what libqrtr hands
// to the socket layer: it defines getsockname() and sendto() for one fake
// descriptor, and lets every other descriptor through to libc.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <libqrtr.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "proto/qrtr_control.hpp"
#include "tests/support/seed.hpp"

namespace {

constexpr int fake_socket = 987;
constexpr std::uint32_t fake_node = 1;
std::uint32_t fake_port = 0x4123;

struct Capture {
    std::vector<std::uint8_t> bytes;
    sockaddr_qrtr to{};
    int sends = 0;
} capture;

}  // namespace

extern "C" int getsockname(int fd, sockaddr* addr, socklen_t* length) {
    if (fd != fake_socket) {
        using Real = int (*)(int, sockaddr*, socklen_t*);
        static auto real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "getsockname"));
        return real(fd, addr, length);
    }
    sockaddr_qrtr name{};
    name.sq_family = AF_QIPCRTR;
    name.sq_node = fake_node;
    name.sq_port = fake_port;
    std::memcpy(addr, &name, std::min<std::size_t>(*length, sizeof name));
    *length = sizeof name;
    return 0;
}

extern "C" ssize_t sendto(int fd, const void* data, size_t size, int flags, const sockaddr* to, socklen_t to_length) {
    if (fd != fake_socket) {
        using Real = ssize_t (*)(int, const void*, size_t, int, const sockaddr*, socklen_t);
        static auto real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "sendto"));
        return real(fd, data, size, flags, to, to_length);
    }
    const auto* bytes = static_cast<const std::uint8_t*>(data);
    capture.bytes.assign(bytes, bytes + size);
    std::memcpy(&capture.to, to, std::min<std::size_t>(to_length, sizeof capture.to));
    ++capture.sends;
    return static_cast<ssize_t>(size);
}

namespace rmtfs_hil::qrtr {
namespace {

constexpr int calls_per_function = 1000;

struct LibqrtrCall {
    const char* name;
    int (*call)(int, std::uint32_t, std::uint16_t, std::uint16_t);
    PacketType type;
    // Debian's libqrtr 1.0 leaves node and port zero in NEW_SERVER and
    // NEW_LOOKUP: the name service must take them from the sending socket,
    // never from the payload. The removals carry the socket's address.
    bool carries_address;
};

void PrintTo(const LibqrtrCall& call, std::ostream* out) { *out << call.name; }

class LibqrtrControlCapture : public ::testing::TestWithParam<LibqrtrCall> {};

TEST_P(LibqrtrControlCapture, SendsOurBytes) {
    const LibqrtrCall& c = GetParam();
    std::mt19937_64 rng(testing::run_seed());
    int identical = 0;
    for (int i = 0; i < calls_per_function; ++i) {
        SCOPED_TRACE(std::string(c.name) + " #" + std::to_string(i) + ", " + testing::replay_hint());
        const auto service = static_cast<std::uint32_t>(rng());
        const auto version = static_cast<std::uint16_t>(rng() & version_max);  // wider would spill into instance
        const auto instance = static_cast<std::uint16_t>(rng());
        fake_port = 0x4000 + static_cast<std::uint32_t>(rng() % 0x4000);
        capture = Capture{};

        ASSERT_EQ(c.call(fake_socket, service, version, instance), 0);
        ASSERT_EQ(capture.sends, 1);
        EXPECT_EQ(capture.to.sq_node, fake_node);
        EXPECT_EQ(capture.to.sq_port, port_control) << "control messages go to the control port";

        ServerRecord record{service, instance, version, 0, 0};
        if (c.carries_address) {
            record.node = fake_node;
            record.port = fake_port;
        }
        auto expected = ControlMessage::server(c.type, record);
        ASSERT_EQ(hex_dump(capture.bytes), hex_dump(encode_control(expected)));
        auto decoded = decode_control(capture.bytes);
        ASSERT_TRUE(decoded) << describe(decoded.error());
        ASSERT_EQ(*decoded, expected);
        ++identical;
    }
    std::printf("[ libqrtr ] %-20s %d sends byte-identical to ours (%s)\n", c.name, identical,
                testing::replay_hint().c_str());
}

INSTANTIATE_TEST_SUITE_P(
    EveryCall, LibqrtrControlCapture,
    ::testing::Values(LibqrtrCall{"qrtr_new_server", qrtr_new_server, PacketType::new_server, false},
                      LibqrtrCall{"qrtr_remove_server", qrtr_remove_server, PacketType::del_server, true},
                      LibqrtrCall{"qrtr_new_lookup", qrtr_new_lookup, PacketType::new_lookup, false},
                      LibqrtrCall{"qrtr_remove_lookup", qrtr_remove_lookup, PacketType::del_lookup, true}),
    [](const ::testing::TestParamInfo<LibqrtrCall>& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace rmtfs_hil::qrtr
