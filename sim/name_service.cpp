#include "sim/name_service.hpp"

#include <string>

#include "proto/contract.hpp"

namespace rmtfs_hil::sim {

using qrtr::ControlMessage;
using qrtr::PacketType;

namespace {

std::string describe_server(const NameService::Server& s) {
    return "service " + std::to_string(s.service) + " version " + std::to_string(s.instance & qrtr::version_max) +
           " instance " + std::to_string(s.instance >> 8) + " at " + to_string(QrtrAddress{s.node, s.port});
}

bool matches(std::uint32_t service_filter, std::uint32_t instance_filter, const NameService::Server& s) {
    if (service_filter != 0 && s.service != service_filter) return false;
    if (instance_filter != 0 && s.instance != instance_filter) return false;
    return true;
}

}  // namespace

NameService::NameService(Fabric& fabric) : fabric_(fabric) {
    socket_ = fabric_.open_socket(*this, 0);
    int error = fabric_.bind_kernel(socket_, qrtr::port_control);
    RMTFS_HIL_ASSERT(error == 0, "the name service could not take the control port");
}

bool NameService::is_local(std::uint32_t node) const { return node == fabric_.config().local_node; }

std::vector<NameService::Server> NameService::servers() const {
    std::vector<Server> out;
    for (const auto& [key, server] : servers_) out.push_back(server);
    return out;
}

std::vector<NameService::Server> NameService::servers_of(std::uint32_t service) const {
    std::vector<Server> out;
    for (const auto& [key, server] : servers_)
        if (server.service == service) out.push_back(server);
    return out;
}

bool NameService::deliver(const Datagram& datagram) {
    auto message = qrtr::decode_control(datagram.payload);
    if (!message) {
        fabric_.trace(TraceSource::ns, TraceKind::drop, "from " + to_string(datagram.from) + ": " + describe(message.error()));
        return true;
    }
    const QrtrAddress from = datagram.from;
    switch (message->type) {
        case PacketType::hello: on_hello(from); break;
        case PacketType::bye: on_bye(from); break;
        case PacketType::new_server: on_new_server(from, std::get<qrtr::ServerRecord>(message->body)); break;
        case PacketType::del_server: on_del_server(from, std::get<qrtr::ServerRecord>(message->body)); break;
        case PacketType::del_client: on_del_client(from, std::get<qrtr::ClientRecord>(message->body)); break;
        case PacketType::new_lookup: on_new_lookup(from, std::get<qrtr::ServerRecord>(message->body)); break;
        case PacketType::del_lookup: on_del_lookup(from, std::get<qrtr::ServerRecord>(message->body)); break;
        default:
            fabric_.trace(TraceSource::ns, TraceKind::ignore,
                          std::string(qrtr::to_string(message->type)) + " from " + to_string(from));
            break;
    }
    return true;
}

void NameService::notify(QrtrAddress to, const Server* server, bool added) {
    qrtr::ServerRecord record;  // all zero: the end of a listing
    if (server != nullptr)
        record = qrtr::ServerRecord{server->service, server->instance >> 8, server->instance & qrtr::version_max,
                                    server->node, server->port};
    fabric_.send_control(to, qrtr::encode_control(ControlMessage::server(
                                 added ? PacketType::new_server : PacketType::del_server, record)));
}

void NameService::announce(QrtrAddress to, const Server& server, bool added) { notify(to, &server, added); }

void NameService::on_hello(QrtrAddress from) {
    fabric_.trace(TraceSource::ns, TraceKind::hello, "HELLO from node " + std::to_string(from.node));
    fabric_.send_control(QrtrAddress{from.node, qrtr::port_control},
                         qrtr::encode_control(ControlMessage::bare(PacketType::hello)));
    for (const auto& [key, server] : servers_)
        if (is_local(server.node)) announce(QrtrAddress{from.node, qrtr::port_control}, server, true);
}

void NameService::on_bye(QrtrAddress from) {
    fabric_.trace(TraceSource::ns, TraceKind::bye, "BYE from node " + std::to_string(from.node));
    std::vector<std::uint32_t> ports;
    for (const auto& [key, server] : servers_)
        if (server.node == from.node) ports.push_back(server.port);
    for (std::uint32_t port : ports) remove_server(from.node, port, true);
    Bytes bye = qrtr::encode_control(ControlMessage::client(PacketType::bye, qrtr::ClientRecord{from.node, 0}));
    for (const auto& [key, server] : servers_)
        if (is_local(server.node)) fabric_.send_control(QrtrAddress{server.node, server.port}, bye);
}

void NameService::on_new_server(QrtrAddress from, const qrtr::ServerRecord& record) {
    Server server{record.service, qrtr::wire_instance(record.instance, record.version), record.node, record.port};
    // A local socket's own address counts, never what its message claims:
    // libqrtr leaves node and port zero.
    if (is_local(from.node)) {
        server.node = from.node;
        server.port = from.port;
    }
    if (server.service == 0 || server.port == 0) {
        fabric_.trace(TraceSource::ns, TraceKind::reject, "NEW_SERVER with service or port 0 from " + to_string(from));
        return;
    }
    servers_[{server.node, server.port}] = server;
    fabric_.trace(TraceSource::ns, TraceKind::new_server, describe_server(server));
    if (is_local(server.node)) announce(QrtrAddress{qrtr::node_broadcast, qrtr::port_control}, server, true);
    for (const Lookup& lookup : lookups_)
        if (matches(lookup.service, lookup.instance, server)) notify(lookup.client, &server, true);
    notify(server, true);
}

void NameService::on_del_server(QrtrAddress from, const qrtr::ServerRecord& record) {
    if (from.node != record.node || (is_local(from.node) && from.port != record.port)) {
        fabric_.trace(TraceSource::ns, TraceKind::reject,
                      "DEL_SERVER for " + to_string({record.node, record.port}) + " from " + to_string(from) +
                          ": a server may only remove itself");
        return;
    }
    remove_server(record.node, record.port, true);
}

void NameService::remove_server(std::uint32_t node, std::uint32_t port, bool broadcast) {
    auto it = servers_.find({node, port});
    if (it == servers_.end()) return;
    Server server = it->second;
    servers_.erase(it);
    fabric_.trace(TraceSource::ns, TraceKind::del_server, describe_server(server));
    for (const Lookup& lookup : lookups_)
        if (matches(lookup.service, lookup.instance, server)) notify(lookup.client, &server, false);
    if (broadcast && is_local(server.node))
        announce(QrtrAddress{qrtr::node_broadcast, qrtr::port_control}, server, false);
    notify(server, false);
}

void NameService::on_del_client(QrtrAddress from, const qrtr::ClientRecord& record) {
    // Only the client's own node may say it left; locally, only that port.
    if (from.node != record.node || (is_local(from.node) && from.port != record.port)) {
        fabric_.trace(TraceSource::ns, TraceKind::reject,
                      "DEL_CLIENT for " + to_string({record.node, record.port}) + " from " + to_string(from));
        return;
    }
    std::erase_if(lookups_, [&](const Lookup& l) { return l.client.node == record.node && l.client.port == record.port; });
    // Remote nodes already heard the DEL_CLIENT broadcast: no DEL_SERVER to them.
    remove_server(record.node, record.port, false);
    Bytes del_client =
        qrtr::encode_control(ControlMessage::client(PacketType::del_client, qrtr::ClientRecord{record.node, record.port}));
    for (const auto& [key, server] : servers_)
        if (is_local(server.node)) fabric_.send_control(QrtrAddress{server.node, server.port}, del_client);
}

void NameService::on_new_lookup(QrtrAddress from, const qrtr::ServerRecord& record) {
    if (!is_local(from.node)) {
        fabric_.trace(TraceSource::ns, TraceKind::reject, "NEW_LOOKUP from remote " + to_string(from));
        return;
    }
    Lookup lookup{from, record.service, qrtr::wire_instance(record.instance, record.version)};
    lookups_.push_back(lookup);
    fabric_.trace(TraceSource::ns, TraceKind::new_lookup,
                  "lookup by " + to_string(from) + " for service " + std::to_string(lookup.service));
    for (const auto& [key, server] : servers_)
        if (matches(lookup.service, lookup.instance, server)) notify(from, &server, true);
    notify(from, nullptr, true);
}

void NameService::on_del_lookup(QrtrAddress from, const qrtr::ServerRecord& record) {
    std::uint32_t instance = qrtr::wire_instance(record.instance, record.version);
    std::erase_if(lookups_, [&](const Lookup& l) {
        return l.client == from && l.service == record.service && l.instance == instance;
    });
}

void NameService::notify(const Server& server, bool added) {
    // A watcher may unwatch (itself or another) while being told.
    std::vector<std::size_t> tokens;
    for (const auto& [token, watcher] : watchers_) tokens.push_back(token);
    for (std::size_t token : tokens)
        if (auto it = watchers_.find(token); it != watchers_.end()) it->second(server, added);
}

}  // namespace rmtfs_hil::sim
