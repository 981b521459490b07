// A link to the kernel's QRTR stack through /dev/qrtr-tun (CONFIG_QRTR_TUN):
// the simulated modem appears as a real remote node to every AF_QIPCRTR
// socket on the host. Each open of the device is one link; each write()
// injects exactly one packet (the kernel answers EINVAL for an invalid one),
// each read() returns one packet for the remote side; closing the device is
// the link's end (the kernel sends BYE for its nodes).
//
// The same raw packets as FabricLink: QrtrEndpoint and the modem run
// unchanged over either. The kernel's node and port tables are global, not
// per network namespace: a tun link is for machines a test may own.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <filesystem>
#include <memory>
#include <string>

#include "proto/expected.hpp"
#include "sim/qrtr_endpoint.hpp"

namespace rmtfs_hil::sim {

inline constexpr const char* qrtr_tun_device = "/dev/qrtr-tun";

class QrtrTunLink final : public Link {
public:
    // Opens the device (O_RDWR). An error names the device and why:
    // "/dev/qrtr-tun: No such file or directory (the kernel has no CONFIG_QRTR_TUN ...)".
    static Expected<std::unique_ptr<QrtrTunLink>, std::string> open(boost::asio::io_context& io,
                                                                     const std::filesystem::path& device = qrtr_tun_device);
    // Over a descriptor that behaves like the device (one packet per read
    // and write: a SOCK_SEQPACKET socket in tests). Takes ownership.
    QrtrTunLink(boost::asio::io_context& io, int fd);
    ~QrtrTunLink() override;
    QrtrTunLink(const QrtrTunLink&) = delete;
    QrtrTunLink& operator=(const QrtrTunLink&) = delete;

    // One packet to the kernel. A refused packet (EINVAL) or a dead device is
    // counted and the link reports down on the latter.
    void transmit(ByteView packet) override;
    // Closes the device: the kernel says BYE for the remote node.
    void close();
    bool up() const { return descriptor_.is_open(); }
    std::size_t packets_received() const { return received_; }
    std::size_t packets_refused() const { return refused_; }
    const std::string& last_error() const { return last_error_; }

private:
    void wait_for_packet();
    void went_down(const std::string& why);

    boost::asio::posix::stream_descriptor descriptor_;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
    std::size_t received_ = 0;
    std::size_t refused_ = 0;
    std::string last_error_;
};

}  // namespace rmtfs_hil::sim
