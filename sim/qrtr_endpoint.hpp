// A remote QRTR node's side of a link — what the modem's own QRTR stack does:
// say HELLO, learn the servers the other side announces, send datagrams from
// its ports, answer confirm_rx with RESUME_TX, and hear BYE / DEL_CLIENT /
// DEL_SERVER. It speaks raw packets through a Link, so the same code runs
// over the emulated fabric or the kernel's /dev/qrtr-tun.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "proto/bytes.hpp"
#include "proto/qrtr_control.hpp"
#include "proto/qrtr_packet.hpp"
#include "sim/fabric.hpp"
#include "sim/link_faults.hpp"
#include "sim/trace.hpp"

namespace rmtfs_hil::sim {

// Raw packets to and from the other side of a link.
class Link {
public:
    virtual ~Link() = default;
    virtual void transmit(ByteView packet) = 0;
    // Set by the endpoint: called with each packet the other side sent.
    std::function<void(ByteView)> on_receive;
    // Set by the endpoint: the link went down.
    std::function<void()> on_down;
};

// A link into the in-process fabric. Deliveries in both directions are posted
// to the io_context, never made inside the other side's call: neither side
// re-enters the other.
class FabricLink final : public Link {
public:
    FabricLink(boost::asio::io_context& io, Fabric& fabric, std::string name);
    ~FabricLink() override;
    void transmit(ByteView packet) override;
    // The link going away, as a crashed or stopped modem's does.
    void bring_down();
    // Attached again, as when the remote processor is started again.
    void bring_up();

    enum class Direction { to_fabric, to_remote };
    // Packets in `direction` go through `fault` (after the ones added before);
    // data_only leaves control packets (HELLO, NEW_SERVER, ...) alone.
    void add_fault(Direction direction, std::unique_ptr<PacketFault> fault, bool data_only = true);
    void clear_faults();
    bool up() const { return link_.has_value(); }
    // Packets on their way in either direction: held by a fault, or handed
    // to the loop and not yet delivered.
    std::size_t in_flight() const { return *posted_ + to_fabric_.held() + to_remote_.held(); }

private:
    void attach();
    void post(std::function<void()> delivery);

    boost::asio::io_context& io_;
    Fabric& fabric_;
    std::string name_;
    std::optional<LinkId> link_;
    std::shared_ptr<bool> alive_;
    std::shared_ptr<std::size_t> posted_ = std::make_shared<std::size_t>(0);
    FaultPipeline to_fabric_;
    FaultPipeline to_remote_;
};

struct RemoteServer {
    std::uint32_t service = 0;
    std::uint32_t version = 0;
    std::uint32_t instance = 0;
    QrtrAddress address;
    bool operator==(const RemoteServer&) const = default;
};

class QrtrEndpoint {
public:
    struct Events {
        std::function<void(const RemoteServer&)> server_added;
        std::function<void(const RemoteServer&)> server_removed;
        // A client on the other side went away (DEL_CLIENT) or the whole node (BYE).
        std::function<void(QrtrAddress)> client_gone;
        std::function<void(QrtrAddress from, std::uint32_t to_port, ByteView payload)> datagram;
        std::function<void()> link_down;
    };

    QrtrEndpoint(Link& link, std::uint32_t node, Events events, TraceSink trace = {});
    ~QrtrEndpoint();

    std::uint32_t node() const { return node_; }
    // HELLO to the other side; it answers HELLO and announces its servers.
    void hello();
    // A datagram from one of this node's ports.
    void send(std::uint32_t from_port, QrtrAddress to, ByteView payload);
    std::optional<RemoteServer> find_server(std::uint32_t service) const;
    // The server of exactly this service, version and instance, as a QMI
    // client looks it up.
    std::optional<RemoteServer> find_server(std::uint32_t service, std::uint32_t version, std::uint32_t instance) const;
    std::size_t packets_dropped() const { return dropped_; }

private:
    void receive(ByteView bytes);
    // Forgets every server `gone` says is gone, telling whoever listens.
    void remove_servers(const std::function<bool(const RemoteServer&)>& gone);
    void trace(TraceKind kind, std::string detail) const;

    Link& link_;
    std::uint32_t node_;
    Events events_;
    TraceSink trace_;
    std::map<std::pair<std::uint32_t, std::uint32_t>, RemoteServer> servers_;
    std::size_t dropped_ = 0;
};

}  // namespace rmtfs_hil::sim
