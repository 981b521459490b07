// The shim server speaking shim_protocol.h: this test plays the preload
// shim's side by hand, so each wire rule is checked without a real program.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "sim/fabric.hpp"
#include "sim/name_service.hpp"
#include "sim/remoteproc.hpp"
#include "sim/shim/shim_protocol.h"
#include "sim/shim_server.hpp"

namespace rmtfs_hil::sim {
namespace {

namespace fs = std::filesystem;

struct World {
    boost::asio::io_context io;
    Fabric fabric;
    RemoteprocRegistry remoteprocs;
    fs::path dir = fs::temp_directory_path() / ("rmtfs-hil-shim-server-" + std::to_string(::getpid()));
    std::unique_ptr<ShimServer> server;
    World() {
        fs::create_directories(dir);
        remoteprocs.add("remoteproc0", "4080000.remoteproc");
        server = std::make_unique<ShimServer>(io, fabric, remoteprocs, dir / "shim.sock");
    }
    ~World() {
        server.reset();
        fs::remove_all(dir);
    }
    // Runs the loop until `fd` is readable (bounded: 2 s).
    bool pump_until_readable(int fd) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (std::chrono::steady_clock::now() < deadline) {
            io.run_for(std::chrono::milliseconds(1));
            io.restart();
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 0) == 1) return true;
        }
        return false;
    }
    void pump() {
        for (int i = 0; i < 20; ++i) {
            io.run_for(std::chrono::milliseconds(1));
            io.restart();
        }
    }
    int connect_control() {
        int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::strcpy(a.sun_path, (dir / "shim.sock").c_str());
        EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << std::strerror(errno);
        return fd;
    }
};

struct ShimSocket {
    int control = -1;
    int data = -1;
    ~ShimSocket() {
        if (control >= 0) ::close(control);
        if (data >= 0) ::close(data);
    }
};

shim_reply call(World& w, int control, shim_request request, const void* payload = nullptr, std::size_t size = 0,
                std::string* reply_payload = nullptr) {
    iovec parts[2] = {{&request, sizeof request}, {const_cast<void*>(payload), size}};
    msghdr m{};
    m.msg_iov = parts;
    m.msg_iovlen = size ? 2 : 1;
    EXPECT_GE(::sendmsg(control, &m, 0), 0);
    shim_reply reply{};
    reply.error = -1;
    if (!w.pump_until_readable(control)) {
        ADD_FAILURE() << "no reply to op " << request.op;
        return reply;
    }
    char buffer[512];
    ssize_t got = ::recv(control, buffer, sizeof buffer, 0);
    EXPECT_GE(got, static_cast<ssize_t>(sizeof reply));
    std::memcpy(&reply, buffer, sizeof reply);
    if (reply_payload) reply_payload->assign(buffer + sizeof reply, static_cast<std::size_t>(got) - sizeof reply);
    return reply;
}

void open_socket(World& w, ShimSocket& s) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
    s.control = w.connect_control();
    s.data = pair[0];
    shim_request request{SHIM_OP_OPEN, 0, static_cast<std::uint32_t>(::getpid()), 0, SHIM_PROTOCOL_VERSION, 0};
    alignas(cmsghdr) char control_bytes[CMSG_SPACE(sizeof(int))] = {};
    iovec part{&request, sizeof request};
    msghdr m{};
    m.msg_iov = &part;
    m.msg_iovlen = 1;
    m.msg_control = control_bytes;
    m.msg_controllen = sizeof control_bytes;
    cmsghdr* c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &pair[1], sizeof(int));
    ASSERT_GE(::sendmsg(s.control, &m, 0), 0);
    ::close(pair[1]);
    ASSERT_TRUE(w.pump_until_readable(s.control));
    shim_reply reply{};
    ASSERT_EQ(::recv(s.control, &reply, sizeof reply, 0), static_cast<ssize_t>(sizeof reply));
    EXPECT_EQ(reply.error, 0);
    EXPECT_EQ(reply.node, 1u) << "the local node id";
}

bool readable(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
}

TEST(ShimServer, BindSendAndDatagramOnTheDataChannelOnly) {
    World w;
    ShimSocket a, b;
    open_socket(w, a);
    open_socket(w, b);
    shim_reply bound = call(w, b.control, {SHIM_OP_BIND, 0, 1, 0x4567, 0, 0});
    EXPECT_EQ(bound.error, 0);
    EXPECT_EQ(bound.port, 0x4567u);
    EXPECT_FALSE(readable(b.data)) << "a bind reply must never make the data channel readable";
    EXPECT_EQ(call(w, a.control, {SHIM_OP_BIND, 0, 2, 0x4000, 0, 0}).error, EINVAL);

    const char text[] = "ping";
    shim_reply sent = call(w, a.control, {SHIM_OP_SEND, 0, 1, 0x4567, 0, 0}, text, 4);
    EXPECT_EQ(sent.error, 0);
    EXPECT_EQ(sent.value, 4u);
    EXPECT_EQ(sent.port, 0x4000u) << "autobound to the lowest ephemeral port";
    ASSERT_TRUE(readable(b.data));
    char buffer[64];
    ssize_t got = ::recv(b.data, buffer, sizeof buffer, 0);
    ASSERT_EQ(got, static_cast<ssize_t>(sizeof(shim_datagram) + 4));
    shim_datagram header;
    std::memcpy(&header, buffer, sizeof header);
    EXPECT_EQ(header.kind, static_cast<std::uint32_t>(SHIM_DATAGRAM_DATA));
    EXPECT_EQ(header.node, 1u);
    EXPECT_EQ(header.port, 0x4000u);
    EXPECT_EQ(std::string(buffer + sizeof header, 4), "ping");
    EXPECT_EQ(call(w, a.control, {SHIM_OP_SEND, 0, 1, 0x7777, 0, 0}, text, 4).error, ENODEV);
}

TEST(ShimServer, ClosingTheControlChannelReleasesTheSocket) {
    World w;
    ShimSocket daemon, lookup;
    open_socket(w, daemon);
    open_socket(w, lookup);
    ASSERT_EQ(call(w, daemon.control, {SHIM_OP_BIND, 0, 1, 14, 0, 0}).error, 0);
    std::uint8_t new_server[20] = {4, 0, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0};
    ASSERT_EQ(call(w, daemon.control, {SHIM_OP_SEND, 0, 1, qrtr::port_control, 0, 0}, new_server, 20).error, 0);
    ASSERT_EQ(w.fabric.name_service()->servers_of(14).size(), 1u);
    ::close(daemon.control);  // the process died
    daemon.control = -1;
    w.pump();
    EXPECT_TRUE(w.fabric.name_service()->servers_of(14).empty()) << "release removed the daemon's server";
    EXPECT_EQ(w.server->channel_count(), 1u);
}

TEST(ShimServer, NetworkResetArrivesAsAnErrorRecord) {
    World w;
    ShimSocket s;
    open_socket(w, s);
    ASSERT_EQ(call(w, s.control, {SHIM_OP_BIND, 0, 1, 0x4100, 0, 0}).error, 0);
    w.fabric.reset_network();
    ASSERT_TRUE(readable(s.data));
    shim_datagram header{};
    ASSERT_EQ(::recv(s.data, &header, sizeof header, 0), static_cast<ssize_t>(sizeof header));
    EXPECT_EQ(header.kind, static_cast<std::uint32_t>(SHIM_DATAGRAM_ERROR));
    EXPECT_EQ(header.error, ENETRESET);
    shim_reply sent = call(w, s.control, {SHIM_OP_SEND, 0, 1, 0x4100, 0, 0}, "x", 1);
    EXPECT_EQ(sent.error, ENETRESET);
    EXPECT_EQ(sent.value, header.node) << "the send reports which reset it consumed";
}

TEST(ShimServer, RemoteprocStateFileAnswersLikeTheKernel) {
    World w;
    int control = w.connect_control();
    std::string path = "/sys/class/remoteproc/remoteproc0/state";
    EXPECT_EQ(call(w, control, {SHIM_OP_RPROC_OPEN, 0, 0, 0, 0, 0}, path.data(), path.size()).error, 0);
    std::string text;
    EXPECT_EQ(call(w, control, {SHIM_OP_RPROC_READ, 0, 0, 0, 0, 0}, nullptr, 0, &text).error, 0);
    EXPECT_EQ(text, "offline\n");
    EXPECT_EQ(call(w, control, {SHIM_OP_RPROC_WRITE, 0, 0, 0, 0, 0}, "stop", 4).error, EINVAL) << "stop while offline";
    shim_reply started = call(w, control, {SHIM_OP_RPROC_WRITE, 0, 0, 0, 0, 0}, "start", 5);
    EXPECT_EQ(started.error, 0);
    EXPECT_EQ(started.value, 5u);
    EXPECT_EQ(call(w, control, {SHIM_OP_RPROC_WRITE, 0, 0, 0, 0, 0}, "start\n", 6).error, EBUSY) << "start while running";
    EXPECT_EQ(call(w, control, {SHIM_OP_RPROC_READ, 0, 0, 0, 0, 0}, nullptr, 0, &text).error, 0);
    EXPECT_EQ(text, "running\n");
    ::close(control);

    int other = w.connect_control();
    std::string unknown = "/sys/class/remoteproc/remoteproc7/state";
    EXPECT_EQ(call(w, other, {SHIM_OP_RPROC_OPEN, 0, 0, 0, 0, 0}, unknown.data(), unknown.size()).error, ENOENT);
    ::close(other);
}

TEST(ShimServer, GarbageOnTheControlChannelClosesItAndIsTraced) {
    World w;
    std::vector<TraceEvent> trace;
    w.fabric.set_trace([&](const TraceEvent& e) { trace.push_back(e); });
    int control = w.connect_control();
    const char junk[3] = {1, 2, 3};
    ASSERT_EQ(::send(control, junk, sizeof junk, 0), 3);
    w.pump();
    char byte;
    EXPECT_EQ(::recv(control, &byte, 1, MSG_DONTWAIT), 0) << "the harness hung up";
    bool traced = false;
    for (const auto& e : trace) traced |= e.kind == sim::TraceKind::shim_protocol_error;
    EXPECT_TRUE(traced);
    ::close(control);
}

TEST(RemoteprocModel, StateMachineAndListeners) {
    Remoteproc modem("remoteproc0", "4080000.remoteproc");
    std::vector<std::string> seen;
    modem.watch([&](const Remoteproc&, const Remoteproc::Change& c) {
        seen.push_back(std::string(c.command) + ":" + std::to_string(c.error) + ":" + std::string(to_string(c.after)));
    });
    EXPECT_EQ(modem.write_state("bogus"), EINVAL);
    EXPECT_EQ(modem.write_state("start"), 0);
    modem.crash();
    EXPECT_EQ(modem.state_text(), "crashed\n");
    EXPECT_EQ(modem.write_state("stop"), EINVAL) << "stop needs running";
    EXPECT_EQ(modem.write_state("start"), 0) << "a crashed processor can be started again";
    EXPECT_EQ(modem.write_state("stop\n"), 0);
    EXPECT_EQ(seen, (std::vector<std::string>{"bogus:22:offline", "start:0:running", "crash:0:crashed", "stop:22:crashed",
                                               "start:0:running", "stop:0:offline"}));
}

TEST(RemoteprocModel, FoundByEitherSysfsPath) {
    RemoteprocRegistry registry;
    Remoteproc& modem = registry.add("remoteproc0", "4080000.remoteproc");
    EXPECT_EQ(registry.find_by_state_path("/tmp/w/umockdev/sys/class/remoteproc/remoteproc0/state"), &modem);
    EXPECT_EQ(registry.find_by_state_path("/sys/devices/platform/4080000.remoteproc/remoteproc/remoteproc0/state"), &modem);
    EXPECT_EQ(registry.find_by_state_path("/sys/class/remoteproc/remoteproc0/name"), nullptr);
    EXPECT_EQ(registry.find_by_state_path("/sys/class/other/remoteproc0/state"), nullptr);
}

}  // namespace
}  // namespace rmtfs_hil::sim
