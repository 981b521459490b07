#include "sim/qrtr_endpoint.hpp"

#include <boost/asio/post.hpp>

namespace rmtfs_hil::sim {

namespace asio = boost::asio;
using qrtr::ControlMessage;
using qrtr::PacketType;

FabricLink::FabricLink(asio::io_context& io, Fabric& fabric, std::string name)
    : io_(io), fabric_(fabric), name_(std::move(name)), alive_(std::make_shared<bool>(true)) {
    attach();
}

void FabricLink::attach() {
    link_ = fabric_.attach_link(
        [this, alive = std::weak_ptr<bool>(alive_)](ByteView packet) {
            to_remote_.run(Bytes(packet.begin(), packet.end()), [this, alive](Bytes copy) {
                post([this, alive, copy = std::move(copy)] {
                    if (alive.lock() && on_receive) on_receive(copy);
                });
            });
        },
        name_);
}

void FabricLink::bring_up() {
    if (!link_) attach();
}

FabricLink::~FabricLink() {
    *alive_ = false;
    alive_.reset();
    if (link_) fabric_.detach_link(*link_);
}

void FabricLink::transmit(ByteView packet) {
    if (!link_) return;  // down: what a dead link carries is lost
    to_fabric_.run(Bytes(packet.begin(), packet.end()), [this, alive = std::weak_ptr<bool>(alive_)](Bytes copy) {
        post([this, alive, copy = std::move(copy)] {
            if (alive.lock() && link_) fabric_.link_receive(*link_, copy);
        });
    });
}

void FabricLink::post(std::function<void()> delivery) {
    ++*posted_;
    asio::post(io_, [posted = posted_, delivery = std::move(delivery)] {
        --*posted;
        delivery();
    });
}

void FabricLink::add_fault(Direction direction, std::unique_ptr<PacketFault> fault, bool data_only) {
    (direction == Direction::to_fabric ? to_fabric_ : to_remote_).add(std::move(fault), data_only);
}

void FabricLink::clear_faults() {
    to_fabric_.clear();
    to_remote_.clear();
}

void FabricLink::bring_down() {
    if (!link_) return;
    fabric_.detach_link(*link_);
    link_.reset();
    if (on_down) on_down();
}

QrtrEndpoint::QrtrEndpoint(Link& link, std::uint32_t node, Events events, TraceSink trace)
    : link_(link), node_(node), events_(std::move(events)), trace_(std::move(trace)) {
    link_.on_receive = [this](ByteView bytes) { receive(bytes); };
    link_.on_down = [this] {
        servers_.clear();
        if (events_.link_down) events_.link_down();
    };
}

QrtrEndpoint::~QrtrEndpoint() {
    link_.on_receive = nullptr;
    link_.on_down = nullptr;
}

void QrtrEndpoint::trace(TraceKind kind, std::string detail) const {
    if (trace_)
        trace_(TraceEvent{std::chrono::steady_clock::now(), TraceSource::modem, kind,
                          "node " + std::to_string(node_) + ": " + std::move(detail), {}});
}

void QrtrEndpoint::hello() {
    qrtr::Packet packet;
    packet.type = PacketType::hello;
    packet.src_node = node_;
    packet.src_port = qrtr::port_control;
    packet.dst_node = qrtr::node_broadcast;
    packet.dst_port = qrtr::port_control;
    packet.payload = qrtr::encode_control(ControlMessage::bare(PacketType::hello));
    link_.transmit(qrtr::encode_v1(packet));
}

void QrtrEndpoint::send(std::uint32_t from_port, QrtrAddress to, ByteView payload) {
    qrtr::Packet packet;
    packet.type = PacketType::data;
    packet.src_node = node_;
    packet.src_port = from_port;
    packet.dst_node = to.node;
    packet.dst_port = to.port;
    packet.payload.assign(payload.begin(), payload.end());
    link_.transmit(qrtr::encode_v1(packet));
}

std::optional<RemoteServer> QrtrEndpoint::find_server(std::uint32_t service) const {
    for (const auto& [key, server] : servers_)
        if (server.service == service) return server;
    return std::nullopt;
}

std::optional<RemoteServer> QrtrEndpoint::find_server(std::uint32_t service, std::uint32_t version,
                                                      std::uint32_t instance) const {
    for (const auto& [key, server] : servers_)
        if (server.service == service && server.version == version && server.instance == instance) return server;
    return std::nullopt;
}

void QrtrEndpoint::remove_servers(const std::function<bool(const RemoteServer&)>& gone) {
    for (auto it = servers_.begin(); it != servers_.end();) {
        if (!gone(it->second)) {
            ++it;
            continue;
        }
        RemoteServer server = it->second;
        it = servers_.erase(it);
        if (events_.server_removed) events_.server_removed(server);
    }
}

void QrtrEndpoint::receive(ByteView bytes) {
    auto decoded = qrtr::decode_packet(bytes);
    if (!decoded) {
        ++dropped_;
        trace(TraceKind::drop, describe(decoded.error()));
        return;
    }
    const qrtr::Packet& packet = *decoded;
    const QrtrAddress from{packet.src_node, packet.src_port};
    if (packet.type == PacketType::data) {
        if (packet.confirm_rx) {
            // Consumed at once: tell the sender its window is open again.
            qrtr::Packet resume;
            resume.type = PacketType::resume_tx;
            resume.src_node = node_;
            resume.src_port = packet.dst_port;
            resume.dst_node = packet.src_node;
            resume.dst_port = packet.src_port;
            resume.payload =
                qrtr::encode_control(ControlMessage::client(PacketType::resume_tx, {node_, packet.dst_port}));
            link_.transmit(qrtr::encode_v1(resume));
        }
        if (events_.datagram) events_.datagram(from, packet.dst_port, packet.payload);
        return;
    }
    if (packet.type == PacketType::resume_tx) return;  // this node keeps no send window
    auto control = qrtr::decode_control(packet.payload);
    if (!control) {
        ++dropped_;
        trace(TraceKind::drop, std::string(qrtr::to_string(packet.type)) + ": " + describe(control.error()));
        return;
    }
    switch (control->type) {
        case PacketType::new_server:
        case PacketType::del_server: {
            const auto& s = std::get<qrtr::ServerRecord>(control->body);
            if (s.service == 0 && s.port == 0) return;  // end of a listing
            RemoteServer server{s.service, s.version, s.instance, {s.node, s.port}};
            if (control->type == PacketType::new_server) {
                servers_[{s.node, s.port}] = server;
                trace(TraceKind::server_up, "service " + std::to_string(s.service) + " at " + to_string(server.address));
                if (events_.server_added) events_.server_added(server);
            } else if (servers_.erase({s.node, s.port}) > 0) {
                trace(TraceKind::server_down, "service " + std::to_string(s.service) + " at " + to_string(server.address));
                if (events_.server_removed) events_.server_removed(server);
            }
            return;
        }
        case PacketType::del_client: {
            const auto& c = std::get<qrtr::ClientRecord>(control->body);
            QrtrAddress gone{c.node, c.port};
            // The kernel's DEL_CLIENT broadcast: that port's servers are gone too.
            remove_servers([&](const RemoteServer& s) { return s.address == gone; });
            if (events_.client_gone) events_.client_gone(gone);
            return;
        }
        case PacketType::bye: {
            remove_servers([&](const RemoteServer& s) { return s.address.node == packet.src_node; });
            if (events_.client_gone) events_.client_gone({packet.src_node, qrtr::port_control});
            return;
        }
        default:
            return;  // HELLO answers and the rest need nothing here
    }
}

}  // namespace rmtfs_hil::sim
