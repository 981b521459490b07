// The simulated modem as a client on this machine's own QRTR node, through
// AF_QIPCRTR sockets: the kernel's on a board, the emulated world's under the
// preload shim. The modem's endpoint still speaks as a remote node; this
// link stands between its packets and the sockets, as a router would:
//   * HELLO is answered with HELLO from the local node, and a lookup of every
//     service starts (NEW_LOOKUP to the local control port);
//   * the lookup's NEW_SERVER / DEL_SERVER reach the endpoint as packets from
//     the control port (the name service tells lookups, in the kernel and in
//     qrtr-ns, when a server's port closes);
//   * a DATA packet from port P goes out with sendto() on the socket standing
//     for P (opened at its first use: the kernel picks its port number); what
//     that socket receives reaches the endpoint as DATA to P;
//   * flow control (confirm_rx, RESUME_TX), DEL_CLIENT and BYE are the
//     kernel's own business on a local node: dropped here.
// A send the kernel refuses (the server's port is gone: ENETUNREACH, ...) is
// reported through on_send_error; the request waits for its timeout, as on a
// board.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "proto/expected.hpp"
#include "sim/qrtr_endpoint.hpp"

namespace rmtfs_hil::sim {

class LocalNodeLink final : public Link {
public:
    // Fails, saying why, when the machine has no AF_QIPCRTR sockets.
    static Expected<std::unique_ptr<LocalNodeLink>, std::string> open(boost::asio::io_context& io);
    ~LocalNodeLink() override;
    LocalNodeLink(const LocalNodeLink&) = delete;
    LocalNodeLink& operator=(const LocalNodeLink&) = delete;

    void transmit(ByteView packet) override;
    // Starts the lookup of every service now (a HELLO starts it otherwise):
    // to know which servers there are before the endpoint says HELLO.
    void look_up();
    // Closes every socket (the kernel says DEL_CLIENT for each of its
    // ports), as a stopped modem's link goes; the next HELLO opens again.
    void bring_down();
    std::uint32_t local_node() const { return local_node_; }
    // Sockets with a datagram the endpoint has not been given yet.
    std::size_t in_flight() const;
    // The lookup runs and the servers known so far have been listed.
    bool listed() const { return listed_; }
    std::function<void(const std::string&)> on_send_error;

private:
    struct Port;
    LocalNodeLink(boost::asio::io_context& io, std::uint32_t local_node);
    Expected<Port*, std::string> port(std::uint32_t endpoint_port);
    void wait_for(Port& port);
    void deliver(Port& port);
    void send_error(std::string what);

    boost::asio::io_context& io_;
    std::uint32_t local_node_;
    std::optional<std::uint32_t> endpoint_node_;  // learned from its HELLO
    // The endpoint's ports, each a socket; the lookup's socket apart.
    std::map<std::uint32_t, std::unique_ptr<Port>> ports_;
    std::unique_ptr<Port> lookup_;
    bool listed_ = false;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rmtfs_hil::sim
