#include "sim/fabric.hpp"

#include <cerrno>
#include <cstring>
#include <deque>
#include <string>

#include "proto/contract.hpp"
#include "proto/qmi.hpp"
#include "proto/qrtr_control.hpp"
#include "proto/rmtfs.hpp"
#include "sim/name_service.hpp"

namespace rmtfs_hil::sim {

using qrtr::PacketType;

std::string to_string(QrtrAddress address) {
    auto part = [](std::uint32_t v) -> std::string {
        if (v == qrtr::port_control) return "ctrl";
        if (v == qrtr::node_broadcast) return "bcast";
        return std::to_string(v);
    };
    return part(address.node) + ":" + part(address.port);
}

struct Fabric::Socket {
    SocketId id = 0;
    DatagramSink* sink = nullptr;
    std::uint32_t owner_pid = 0;
    std::uint32_t port = 0;  // 0: not bound
    std::uint32_t reset_generation = 0;  // last ENETRESET posted
    bool reset_pending = false;
};

// A send waiting for the remote reader's RESUME_TX.
struct Fabric::PendingSend {
    SocketId socket;
    QrtrAddress to;
    Bytes payload;
    PacketType type;
    SendCompletion done;
};

struct Fabric::Flow {
    std::uint32_t pending = 0;
    std::deque<PendingSend> waiting;
};

struct Fabric::Link {
    LinkId id = 0;
    std::string name;
    LinkTransmit transmit;
    std::set<std::uint32_t> nodes;           // learnt from what it sends
    std::map<QrtrAddress, Flow> flows;       // per remote destination port
};

Fabric::Fabric(FabricConfig config) : config_(config) {
    if (config_.kernel_name_service) name_service_ = std::make_unique<NameService>(*this);
}

namespace {

// A packet for the trace: endpoints, and a DATA packet's QMI header when it
// has a well-formed one.
TraceFields packet_fields(PacketType type, QrtrAddress from, QrtrAddress to, ByteView payload, std::string link = {}) {
    TracePacket packet;
    packet.type = std::string(qrtr::to_string(type));
    packet.from_node = from.node;
    packet.from_port = from.port;
    packet.to_node = to.node;
    packet.to_port = to.port;
    packet.bytes = static_cast<std::uint32_t>(payload.size());
    packet.link = std::move(link);
    if (type == PacketType::data) {
        if (auto message = qmi::decode_message(payload)) {
            packet.qmi = std::string(qmi::to_string(message->header.kind));
            packet.message_id = message->header.msg_id;
            packet.txn = message->header.txn_id;
            if (auto name = name_if(static_cast<rmtfs::MessageId>(packet.message_id))) packet.message = std::string(*name);
        }
    }
    TraceFields fields;
    fields.packet = std::move(packet);
    return fields;
}

}  // namespace

Fabric::~Fabric() {
    // Sinks may already be gone; nothing is announced at teardown.
    links_.clear();
    sockets_.clear();
}

void Fabric::trace(TraceSource source, TraceKind kind, std::string detail, TraceFields fields) const {
    if (trace_) trace_(TraceEvent{std::chrono::steady_clock::now(), source, kind, std::move(detail), std::move(fields)});
}

Fabric::Socket* Fabric::find(SocketId id) {
    auto it = sockets_.find(id);
    return it == sockets_.end() ? nullptr : it->second.get();
}

const Fabric::Socket* Fabric::find(SocketId id) const {
    auto it = sockets_.find(id);
    return it == sockets_.end() ? nullptr : it->second.get();
}

SocketId Fabric::open_socket(DatagramSink& sink, std::uint32_t owner_pid) {
    auto socket = std::make_unique<Socket>();
    socket->id = next_socket_++;
    socket->sink = &sink;
    socket->owner_pid = owner_pid;
    SocketId id = socket->id;
    sockets_.emplace(id, std::move(socket));
    trace(TraceSource::fabric, TraceKind::socket, "socket " + std::to_string(id) + " opened by pid " + std::to_string(owner_pid));
    return id;
}

std::optional<std::uint32_t> Fabric::free_ephemeral_port() const {
    // The lowest free one, as the kernel's allocator picks.
    for (std::uint32_t port = ephemeral_port_first; port <= ephemeral_port_last; ++port)
        if (!ports_.contains(port)) return port;
    return std::nullopt;
}

int Fabric::check_port(std::uint32_t port) const {
    // The kernel compares the port as a signed int, so the control port and
    // everything from 0x80000000 up are "below 0x4000" and privileged too.
    if (static_cast<std::int32_t>(port) < static_cast<std::int32_t>(ephemeral_port_first) &&
        !config_.privileged_binds)
        return EACCES;
    if (ports_.contains(port)) return EADDRINUSE;
    return 0;
}

void Fabric::release_port(Socket& socket) {
    if (socket.port == 0) return;
    QrtrAddress self{config_.local_node, socket.port};
    ports_.erase(socket.port);
    socket.port = 0;
    // The kernel broadcasts DEL_CLIENT for the released port, from that port,
    // to every link and to the local control port.
    Bytes del_client = qrtr::encode_control(
        qrtr::ControlMessage::client(PacketType::del_client, qrtr::ClientRecord{self.node, self.port}));
    for (auto& [id, link] : links_)
        for (std::uint32_t node : link->nodes)
            transmit(*link, PacketType::del_client, self, QrtrAddress{node, qrtr::port_control}, del_client, false);
    deliver_local(nullptr, qrtr::port_control, Datagram{self, false, del_client}, PacketType::del_client);
}

int Fabric::bind(SocketId id, QrtrAddress address) {
    Socket* socket = find(id);
    RMTFS_HIL_ASSERT(socket != nullptr, "bind on a socket the fabric does not know");
    if (address.node != config_.local_node) return EINVAL;
    if (socket->port != 0 && address.port == socket->port) return 0;
    std::uint32_t port = address.port;
    int error = 0;
    if (port == 0) {
        auto free = free_ephemeral_port();
        if (free) port = *free;
        else error = EADDRINUSE;
    } else {
        error = check_port(port);
    }
    if (error != 0) {
        trace(TraceSource::fabric, TraceKind::bind_failed,
              "socket " + std::to_string(id) + " bind " + to_string(address) + ": " + std::strerror(error));
        return error;
    }
    release_port(*socket);  // binding another port frees the old one
    ports_[port] = id;
    socket->port = port;
    trace(TraceSource::fabric, TraceKind::bind, "socket " + std::to_string(id) + " bound to " + to_string({config_.local_node, port}));
    if (port == qrtr::port_control) reset_network(id);
    return 0;
}

int Fabric::bind_kernel(SocketId id, std::uint32_t port) {
    Socket* socket = find(id);
    RMTFS_HIL_ASSERT(socket != nullptr && socket->port == 0, "kernel socket bound twice");
    if (ports_.contains(port)) return EADDRINUSE;
    ports_[port] = id;
    socket->port = port;
    return 0;
}

int Fabric::autobind(SocketId id) {
    Socket* socket = find(id);
    RMTFS_HIL_ASSERT(socket != nullptr, "autobind on a socket the fabric does not know");
    if (socket->port != 0) return 0;
    auto port = free_ephemeral_port();
    if (!port) return EADDRINUSE;
    ports_[*port] = id;
    socket->port = *port;
    trace(TraceSource::fabric, TraceKind::bind, "socket " + std::to_string(id) + " autobound to " + to_string({config_.local_node, *port}));
    return 0;
}

QrtrAddress Fabric::address(SocketId id) const {
    const Socket* socket = find(id);
    RMTFS_HIL_ASSERT(socket != nullptr, "address of a socket the fabric does not know");
    return QrtrAddress{config_.local_node, socket->port};
}

void Fabric::close_socket(SocketId id) {
    auto it = sockets_.find(id);
    if (it == sockets_.end()) return;
    Socket& socket = *it->second;
    trace(TraceSource::fabric, TraceKind::close, "socket " + std::to_string(id) + " released (port " + std::to_string(socket.port) + ")");
    // Sends of this socket still waiting for a window are dropped with it.
    for (auto& [link_id, link] : links_)
        for (auto& [remote, flow] : link->flows)
            std::erase_if(flow.waiting, [&](const PendingSend& p) { return p.socket == id; });
    release_port(socket);
    sockets_.erase(it);
}

void Fabric::reset_network(SocketId except) {
    for (auto& [id, socket] : sockets_) {
        if (id == except || socket->port == 0) continue;
        socket->reset_pending = true;
        ++socket->reset_generation;
        socket->sink->post_error(ENETRESET, socket->reset_generation);
    }
    trace(TraceSource::fabric, TraceKind::netreset, "ENETRESET posted to every bound socket");
}

int Fabric::deliver_local(const Socket* sender, std::uint32_t port, Datagram datagram, PacketType type) {
    auto it = ports_.find(port);
    if (it == ports_.end()) return ENODEV;
    Socket* receiver = find(it->second);
    RMTFS_HIL_ASSERT(receiver != nullptr, "port table names a closed socket");
    if (receiver == sender) return ENODEV;
    // Traced before the receiver acts on it, so what it does follows in the trace.
    if (tracing())
        trace(TraceSource::fabric, TraceKind::deliver,
          std::string(qrtr::to_string(type)) + " " + to_string(datagram.from) + " -> " +
              to_string({config_.local_node, port}) + " " + std::to_string(datagram.payload.size()) + " bytes" +
              (datagram.confirm_rx ? " confirm_rx" : ""),
          packet_fields(type, datagram.from, {config_.local_node, port}, datagram.payload));
    if (delivery_observer_ && type == PacketType::data) delivery_observer_({config_.local_node, port}, receiver->owner_pid, datagram);
    if (!receiver->sink->deliver(datagram)) {
        trace(TraceSource::fabric, TraceKind::drop,
              to_string(datagram.from) + " -> " + to_string({config_.local_node, port}) + ": receive queue full (ENOSPC)",
              packet_fields(type, datagram.from, {config_.local_node, port}, datagram.payload));
        return ENOSPC;
    }
    return 0;
}

int Fabric::transmit(Link& link, PacketType type, QrtrAddress from, QrtrAddress to, ByteView payload, bool confirm_rx) {
    qrtr::Packet packet;
    packet.type = type;
    packet.confirm_rx = confirm_rx;
    packet.src_node = from.node;
    packet.src_port = from.port;
    packet.dst_node = to.node;
    packet.dst_port = to.port;
    packet.payload.assign(payload.begin(), payload.end());
    if (packet.payload.empty()) {
        // A zero-size packet is invalid on a link; the kernel never sends one.
        trace(TraceSource::fabric, TraceKind::drop, "empty datagram towards " + to_string(to) + " not sent on link " + link.name);
        return 0;
    }
    Bytes wire = qrtr::encode_v1(packet);
    if (tracing())
        trace(TraceSource::fabric, TraceKind::link_tx,
          link.name + " " + std::string(qrtr::to_string(type)) + " " + to_string(from) + " -> " + to_string(to) + " " +
              std::to_string(payload.size()) + " bytes" + (confirm_rx ? " confirm_rx" : ""),
          packet_fields(type, from, to, payload, link.name));
    link.transmit(wire);
    return 0;
}

void Fabric::send(SocketId id, QrtrAddress to, ByteView payload, bool nonblocking, SendCompletion done) {
    Socket* socket = find(id);
    RMTFS_HIL_ASSERT(socket != nullptr, "send on a socket the fabric does not know");
    SendResult result;
    if (socket->reset_pending) {
        socket->reset_pending = false;
        result.error = ENETRESET;
        result.reset_generation = socket->reset_generation;
        result.self = QrtrAddress{config_.local_node, socket->port};
        done(result);
        return;
    }
    if (payload.size() > qrtr::datagram_size_max_bytes) {
        result.error = EMSGSIZE;
        done(result);
        return;
    }
    if (int error = autobind(id); error != 0) {
        result.error = error;
        done(result);
        return;
    }
    // A socket bound to the control port speaks control packets: the type is
    // the command in its payload's first word.
    PacketType type = PacketType::data;
    if (socket->port == qrtr::port_control && payload.size() >= 4)
        type = static_cast<PacketType>(load_u32(payload.data()));
    complete_send(*socket, to, Bytes(payload.begin(), payload.end()), type, nonblocking, std::move(done));
}

void Fabric::complete_send(Socket& socket, QrtrAddress to, Bytes payload, PacketType type, bool nonblocking,
                           SendCompletion done) {
    const QrtrAddress self{config_.local_node, socket.port};
    SendResult result;
    result.self = self;
    result.bytes = payload.size();

    if (to.node == qrtr::node_broadcast) {
        if (to.port != qrtr::port_control) {
            result.error = ENOTCONN;
            done(result);
            return;
        }
        for (auto& [link_id, link] : links_)
            for (std::uint32_t node : link->nodes)
                transmit(*link, type, self, QrtrAddress{node, qrtr::port_control}, payload, false);
        deliver_local(&socket, qrtr::port_control, Datagram{self, false, payload}, type);  // errors ignored, as the kernel does
        done(result);
        return;
    }
    if (to.node == config_.local_node) {
        result.error = deliver_local(&socket, to.port, Datagram{self, false, std::move(payload)}, type);
        done(result);
        return;
    }
    auto node = nodes_.find(to.node);
    if (node == nodes_.end()) {
        result.error = departed_nodes_.contains(to.node) ? ENODEV : ECONNRESET;
        done(result);
        return;
    }
    Link& link = *links_.at(node->second);
    bool confirm_rx = false;
    if (type == PacketType::data) {
        Flow& flow = link.flows[to];
        if (flow.pending >= flow_block_at_pending) {
            if (nonblocking) {
                result.error = EAGAIN;
                done(result);
                return;
            }
            trace(TraceSource::fabric, TraceKind::flow_wait, to_string(self) + " waits for RESUME_TX from " + to_string(to));
            flow.waiting.push_back(PendingSend{socket.id, to, std::move(payload), type, std::move(done)});
            return;
        }
        ++flow.pending;
        confirm_rx = flow.pending == flow_confirm_at_pending;
    }
    transmit(link, type, self, to, payload, confirm_rx);
    done(result);
}

void Fabric::error_seen(SocketId id, std::uint32_t generation) {
    Socket* socket = find(id);
    if (socket != nullptr && socket->reset_generation == generation) socket->reset_pending = false;
}

void Fabric::consumed(SocketId id, QrtrAddress sender) {
    Socket* socket = find(id);
    if (socket == nullptr || socket->port == 0) return;
    auto node = nodes_.find(sender.node);
    if (node == nodes_.end()) return;
    QrtrAddress self{config_.local_node, socket->port};
    Bytes resume = qrtr::encode_control(
        qrtr::ControlMessage::client(PacketType::resume_tx, qrtr::ClientRecord{self.node, self.port}));
    transmit(*links_.at(node->second), PacketType::resume_tx, self, sender, resume, false);
}

void Fabric::resume_flow(Link& link, QrtrAddress remote) {
    auto it = link.flows.find(remote);
    if (it == link.flows.end()) return;
    it->second.pending = 0;
    trace(TraceSource::fabric, TraceKind::flow_resume, "RESUME_TX from " + to_string(remote));
    std::deque<PendingSend> waiting = std::move(it->second.waiting);
    it->second.waiting.clear();
    for (PendingSend& p : waiting) {
        Socket* socket = find(p.socket);
        if (socket == nullptr) continue;
        complete_send(*socket, p.to, std::move(p.payload), p.type, false, std::move(p.done));
    }
}

LinkId Fabric::attach_link(LinkTransmit transmit_fn, std::string name) {
    auto link = std::make_unique<Link>();
    link->id = next_link_++;
    link->name = std::move(name);
    link->transmit = std::move(transmit_fn);
    LinkId id = link->id;
    trace(TraceSource::fabric, TraceKind::link_up, "link " + link->name + " attached");
    links_.emplace(id, std::move(link));
    return id;
}

void Fabric::learn_node(Link& link, std::uint32_t node) {
    if (node == config_.local_node || node == qrtr::node_broadcast) return;
    auto [it, inserted] = nodes_.emplace(node, link.id);
    if (!inserted && it->second != link.id) return;  // another link owns it
    if (link.nodes.insert(node).second) {
        departed_nodes_.erase(node);
        trace(TraceSource::fabric, TraceKind::node, "node " + std::to_string(node) + " reachable through link " + link.name);
    }
}

void Fabric::link_receive(LinkId id, ByteView bytes) {
    auto it = links_.find(id);
    RMTFS_HIL_ASSERT(it != links_.end(), "packet on a link the fabric does not know");
    Link& link = *it->second;
    auto decoded = qrtr::decode_packet(bytes);
    if (!decoded) {
        trace(TraceSource::fabric, TraceKind::drop, "link " + link.name + ": " + describe(decoded.error()));
        return;
    }
    const qrtr::Packet& packet = *decoded;
    learn_node(link, packet.src_node);
    if (tracing())
        trace(TraceSource::fabric, TraceKind::link_rx,
          link.name + " " + std::string(qrtr::to_string(packet.type)) + " " + to_string({packet.src_node, packet.src_port}) +
              " -> " + to_string({packet.dst_node, packet.dst_port}) + " " + std::to_string(packet.payload.size()) +
              " bytes" + (packet.confirm_rx ? " confirm_rx" : ""),
          packet_fields(packet.type, {packet.src_node, packet.src_port}, {packet.dst_node, packet.dst_port}, packet.payload,
                        link.name));
    if (packet.type == PacketType::new_server) {
        // A remote node may bridge others: the server's node is reached here too.
        if (auto control = qrtr::decode_control(packet.payload); control) {
            if (auto* server = std::get_if<qrtr::ServerRecord>(&control->body)) learn_node(link, server->node);
        }
    }
    if (packet.type == PacketType::resume_tx) {
        resume_flow(link, QrtrAddress{packet.src_node, packet.src_port});
        return;
    }
    Datagram datagram{QrtrAddress{packet.src_node, packet.src_port}, packet.confirm_rx, packet.payload};
    if (int error = deliver_local(nullptr, packet.dst_port, std::move(datagram), packet.type); error != 0)
        trace(TraceSource::fabric, TraceKind::drop,
              "link " + link.name + ": no local port " + to_string({packet.dst_node, packet.dst_port}) + " (" +
                  std::strerror(error) + ")",
              packet_fields(packet.type, {packet.src_node, packet.src_port}, {packet.dst_node, packet.dst_port}, packet.payload,
                            link.name));
}

void Fabric::detach_link(LinkId id) {
    auto it = links_.find(id);
    if (it == links_.end()) return;
    std::unique_ptr<Link> link = std::move(it->second);
    links_.erase(it);
    trace(TraceSource::fabric, TraceKind::link_down, "link " + link->name + " detached");
    for (std::uint32_t node : link->nodes) {
        nodes_.erase(node);
        departed_nodes_.insert(node);
    }
    // Sends waiting for this link's flow window fail as on a vanished endpoint.
    for (auto& [remote, flow] : link->flows)
        for (PendingSend& p : flow.waiting) {
            SendResult result;
            result.error = ENODEV;
            p.done(result);
        }
    // The kernel tells the local name service: BYE from each node of the link.
    for (std::uint32_t node : link->nodes) {
        Bytes bye = qrtr::encode_control(qrtr::ControlMessage::client(PacketType::bye, qrtr::ClientRecord{node, 0}));
        deliver_local(nullptr, qrtr::port_control, Datagram{QrtrAddress{node, qrtr::port_control}, false, bye},
                      PacketType::bye);
    }
}

void Fabric::send_control(QrtrAddress to, const Bytes& payload) {
    RMTFS_HIL_ASSERT(payload.size() >= 4, "control message without a command");
    const QrtrAddress self{config_.local_node, qrtr::port_control};
    auto type = static_cast<PacketType>(load_u32(payload.data()));
    if (to.node == qrtr::node_broadcast) {
        for (auto& [link_id, link] : links_)
            for (std::uint32_t node : link->nodes)
                transmit(*link, type, self, QrtrAddress{node, qrtr::port_control}, payload, false);
        return;
    }
    if (to.node == config_.local_node) {
        if (to.port == qrtr::port_control) return;  // never to itself
        if (int error = deliver_local(nullptr, to.port, Datagram{self, false, payload}, type); error != 0)
            trace(TraceSource::ns, TraceKind::drop,
                  std::string(qrtr::to_string(type)) + " to " + to_string(to) + " lost: " + std::strerror(error));
        return;
    }
    auto node = nodes_.find(to.node);
    if (node == nodes_.end()) return;
    transmit(*links_.at(node->second), type, self, to, payload, false);
}

}  // namespace rmtfs_hil::sim
