// The /dev/qrtr-tun link. Its packet handling runs against a stand-in for
// the device — a SOCK_SEQPACKET socket whose far end the test bridges into a
// fabric, as the kernel bridges the device into its router — so the modem's
// own QRTR stack is exercised over it without the kernel module. The real
// device is used where the kernel has it; elsewhere that test skips and says why.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <filesystem>

#include "proto/qrtr_control.hpp"
#include "sim/fabric.hpp"
#include "sim/name_service.hpp"
#include "sim/qrtr_tun_link.hpp"
#include "tests/support/event_loop.hpp"

namespace rmtfs_hil::sim {
namespace {

using qrtr::ControlMessage;
using qrtr::PacketType;

constexpr std::uint32_t local = 1;
constexpr std::uint32_t modem_node = 0;

struct Inbox : DatagramSink {
    std::vector<Datagram> received;
    bool deliver(const Datagram& d) override {
        received.push_back(d);
        return true;
    }
    void post_error(int, std::uint32_t) override {}
};

// The kernel's side of the device: packets written to the link reach the
// fabric, the fabric's packets for the remote node are read from the link.
class DeviceStandIn {
public:
    DeviceStandIn(boost::asio::io_context& io, Fabric& fabric, int fd) : fabric_(fabric), end_(io, fd) {
        link_ = fabric_.attach_link([this](ByteView packet) { ::write(end_.native_handle(), packet.data(), packet.size()); },
                                    "tun");
        wait();
    }
    bool closed() const { return closed_; }

private:
    void wait() {
        end_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& error) {
            if (error) return;
            Bytes packet(70000);
            ssize_t got = ::read(end_.native_handle(), packet.data(), packet.size());
            if (got <= 0) {
                closed_ = true;
                fabric_.detach_link(link_);  // the device's release: BYE for its nodes
                return;
            }
            packet.resize(static_cast<std::size_t>(got));
            fabric_.link_receive(link_, packet);
            wait();
        });
    }
    Fabric& fabric_;
    boost::asio::posix::stream_descriptor end_;
    LinkId link_ = 0;
    bool closed_ = false;
};

struct TunRig {
    boost::asio::io_context io;
    Fabric fabric{FabricConfig{local, true, true}};
    Inbox server_inbox;
    SocketId server = 0;
    std::unique_ptr<DeviceStandIn> device;
    std::unique_ptr<QrtrTunLink> link;

    TunRig() {
        int ends[2];
        EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ends), 0);
        device = std::make_unique<DeviceStandIn>(io, fabric, ends[0]);
        link = std::make_unique<QrtrTunLink>(io, ends[1]);
        // A local server, as rmtfs publishes service 14 at port 14.
        server = fabric.open_socket(server_inbox);
        EXPECT_EQ(fabric.bind(server, {local, 14}), 0);
        fabric.send(server, {local, qrtr::port_control},
                    qrtr::encode_control(ControlMessage::server(PacketType::new_server, {14, 0, 1, 0, 0})), false,
                    [](const SendResult& r) { EXPECT_EQ(r.error, 0); });
    }
    bool run_until(const std::function<bool()>& done) { return testing::run_until(io, done); }
};

TEST(QrtrTunLink, TheModemsStackLearnsTheLocalServerAndReachesItOverTheDevice) {
    TunRig rig;
    std::vector<RemoteServer> added;
    QrtrEndpoint::Events events;
    events.server_added = [&](const RemoteServer& s) { added.push_back(s); };
    QrtrEndpoint endpoint(*rig.link, modem_node, events);
    endpoint.hello();
    ASSERT_TRUE(rig.run_until([&] { return endpoint.find_server(14).has_value(); }))
        << "the name service's listing never reached the modem over the link";
    EXPECT_EQ(endpoint.find_server(14)->address, (QrtrAddress{local, 14}));
    const Bytes request{0x00, 0x01, 0x00, 0x05, 0x00, 0x00, 0x00};
    endpoint.send(0x4d, {local, 14}, request);
    ASSERT_TRUE(rig.run_until([&] { return !rig.server_inbox.received.empty(); }));
    EXPECT_EQ(rig.server_inbox.received[0].from, (QrtrAddress{modem_node, 0x4d}));
    EXPECT_EQ(rig.server_inbox.received[0].payload, request);
    EXPECT_EQ(rig.link->packets_refused(), 0u);
}

TEST(QrtrTunLink, ClosingTheDeviceIsTheNodesBye) {
    TunRig rig;
    QrtrEndpoint endpoint(*rig.link, modem_node, {});
    endpoint.hello();
    ASSERT_TRUE(rig.run_until([&] { return endpoint.find_server(14).has_value(); }));
    rig.link->close();
    EXPECT_FALSE(rig.link->up());
    ASSERT_TRUE(rig.run_until([&] { return rig.device->closed(); })) << "the far end never saw the device close";
}

TEST(QrtrTunLink, AVanishedDeviceTakesTheLinkDown) {
    TunRig rig;
    bool down = false;
    QrtrEndpoint::Events events;
    events.link_down = [&] { down = true; };
    QrtrEndpoint endpoint(*rig.link, modem_node, events);
    rig.device.reset();  // the kernel side goes away
    ASSERT_TRUE(rig.run_until([&] { return down; }));
    EXPECT_FALSE(rig.link->up());
    EXPECT_FALSE(rig.link->last_error().empty());
}

TEST(QrtrTunLink, TheRealKernelAnswersTheModemsHello) {
    boost::asio::io_context io;
    auto link = QrtrTunLink::open(io);
    if (!link) GTEST_SKIP() << "no kernel transport here: " << link.error();
    QrtrEndpoint endpoint(**link, 7, {});
    endpoint.hello();
    // The kernel's name service says HELLO back to a new node.
    EXPECT_TRUE(testing::run_until(io, [&] { return (*link)->packets_received() > 0; }))
        << "the kernel never answered; last error: " << (*link)->last_error();
    EXPECT_EQ((*link)->packets_refused(), 0u) << "the kernel refused a packet: " << (*link)->last_error();
}

TEST(QrtrTunLink, OpeningAMissingDeviceSaysWhatIsMissing) {
    boost::asio::io_context io;
    auto link = QrtrTunLink::open(io, "/nonexistent/qrtr-tun");
    ASSERT_FALSE(link);
    EXPECT_NE(link.error().find("/nonexistent/qrtr-tun"), std::string::npos) << link.error();
    EXPECT_NE(link.error().find("CONFIG_QRTR_TUN"), std::string::npos) << link.error();
}

}  // namespace
}  // namespace rmtfs_hil::sim
