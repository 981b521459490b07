// The fabric and its name service against RMTFS-FACTS.md's socket, name
// service and flow-control sections, with in-process sockets and links.
#include <gtest/gtest.h>

#include <cerrno>
#include <deque>

#include "proto/qrtr_control.hpp"
#include "sim/fabric.hpp"
#include "sim/name_service.hpp"

namespace rmtfs_hil::sim {
namespace {

using qrtr::ControlMessage;
using qrtr::PacketType;
using qrtr::port_control;

constexpr std::uint32_t local = 1;

struct QueueSink : DatagramSink {
    std::deque<Datagram> queue;
    std::vector<std::pair<int, std::uint32_t>> errors;
    std::size_t capacity = 1000;
    bool deliver(const Datagram& d) override {
        if (queue.size() >= capacity) return false;
        queue.push_back(d);
        return true;
    }
    void post_error(int error, std::uint32_t generation) override { errors.emplace_back(error, generation); }

    Datagram pop() {
        EXPECT_FALSE(queue.empty()) << "expected a datagram, the queue is empty";
        if (queue.empty()) return {};
        Datagram d = queue.front();
        queue.pop_front();
        return d;
    }
    ControlMessage pop_control() {
        Datagram d = pop();
        EXPECT_EQ(d.from, (QrtrAddress{local, port_control})) << "control messages come from the control port";
        auto m = qrtr::decode_control(d.payload);
        EXPECT_TRUE(m) << (m ? "" : describe(m.error()));
        return m ? *m : ControlMessage{};
    }
};

struct TestLink {
    std::vector<qrtr::Packet> sent;
    LinkId id = 0;
    void attach(Fabric& fabric, const std::string& name = "modem") {
        id = fabric.attach_link(
            [this](ByteView bytes) {
                auto p = qrtr::decode_packet(bytes);
                ASSERT_TRUE(p) << "the fabric sent an invalid packet: " << describe(p.error());
                sent.push_back(*p);
            },
            name);
    }
    // The modem's HELLO; what the fabric answers is forgotten.
    void say_hello(Fabric& fabric) {
        fabric.link_receive(id, packet(PacketType::hello, {0, port_control}, {local, port_control},
                                       qrtr::encode_control(ControlMessage::bare(PacketType::hello))));
        sent.clear();
    }
    static Bytes packet(PacketType type, QrtrAddress from, QrtrAddress to, Bytes payload, bool confirm = false) {
        qrtr::Packet p;
        p.type = type;
        p.src_node = from.node;
        p.src_port = from.port;
        p.dst_node = to.node;
        p.dst_port = to.port;
        p.confirm_rx = confirm;
        p.payload = std::move(payload);
        return qrtr::encode_v1(p);
    }
};

Bytes control(const ControlMessage& m) { return qrtr::encode_control(m); }
Bytes new_server(std::uint32_t service, std::uint32_t version, std::uint32_t instance) {
    // As libqrtr 1.0 sends it: node and port left zero.
    return control(ControlMessage::server(PacketType::new_server, {service, instance, version, 0, 0}));
}

struct Harness {
    Fabric fabric;
    std::vector<TraceEvent> trace;
    explicit Harness(FabricConfig config = {}) : fabric(config) {
        fabric.set_trace([this](const TraceEvent& e) { trace.push_back(e); });
    }
    SendResult send(SocketId s, QrtrAddress to, const Bytes& payload, bool nonblocking = false) {
        SendResult out;
        out.error = -1;
        fabric.send(s, to, payload, nonblocking, [&](const SendResult& r) { out = r; });
        return out;
    }
    // Binds `port` and publishes a server there, as rmtfs does at start.
    void serve(SocketId s, std::uint32_t port, std::uint32_t service, std::uint32_t version, std::uint32_t instance) {
        ASSERT_EQ(fabric.bind(s, {local, port}), 0);
        ASSERT_EQ(send(s, {local, port_control}, new_server(service, version, instance)).error, 0);
    }
    bool traced(TraceKind kind, std::string_view phrase) const {
        for (const auto& e : trace)
            if (e.kind == kind && e.detail.find(phrase) != std::string::npos) return true;
        return false;
    }
};

Bytes new_lookup(std::uint32_t service) {
    return control(ControlMessage::server(PacketType::new_lookup, {service, 0, 0, 0, 0}));
}

// ---- sockets ---------------------------------------------------------------------

TEST(FabricSockets, BindRules) {
    Harness h;
    QueueSink a, b;
    SocketId sa = h.fabric.open_socket(a), sb = h.fabric.open_socket(b);
    EXPECT_EQ(h.fabric.bind(sa, {2, 14}), EINVAL) << "node other than the local node";
    EXPECT_EQ(h.fabric.bind(sa, {local, 14}), 0) << "rmtfs binds port 14 (privileged, granted by default)";
    EXPECT_EQ(h.fabric.bind(sa, {local, 14}), 0) << "rebinding the same port is a no-op";
    EXPECT_EQ(h.fabric.bind(sb, {local, 14}), EADDRINUSE);
    EXPECT_EQ(h.fabric.bind(sb, {local, port_control}), EADDRINUSE) << "the in-kernel name service holds it";
    EXPECT_EQ(h.fabric.bind(sb, {local, 0}), 0);
    EXPECT_EQ(h.fabric.address(sb).port, 0x4000u) << "port 0 picks the lowest free ephemeral port";
}

TEST(FabricSockets, PrivilegedPortsNeedTheCapability) {
    Harness h(FabricConfig{local, false, false});
    QueueSink a;
    SocketId s = h.fabric.open_socket(a);
    EXPECT_EQ(h.fabric.bind(s, {local, 14}), EACCES);
    EXPECT_EQ(h.fabric.bind(s, {local, 0x3fff}), EACCES);
    EXPECT_EQ(h.fabric.bind(s, {local, port_control}), EACCES) << "compared as a signed int, the control port is < 0x4000";
    EXPECT_EQ(h.fabric.bind(s, {local, 0x80000000u}), EACCES);
    EXPECT_EQ(h.fabric.bind(s, {local, 0x4000}), 0);
}

TEST(FabricSockets, RebindingFreesTheOldPortWithDelClient) {
    Harness h;
    QueueSink server, watcher;
    SocketId ss = h.fabric.open_socket(server), sw = h.fabric.open_socket(watcher);
    h.serve(ss, 0x5000, 42, 1, 0);
    ASSERT_EQ(h.send(sw, {local, port_control}, new_lookup(42)).error, 0);
    EXPECT_EQ(watcher.pop_control(), ControlMessage::server(PacketType::new_server, {42, 0, 1, local, 0x5000}));
    EXPECT_EQ(watcher.pop_control(), ControlMessage::server(PacketType::new_server, {})) << "end of listing";
    ASSERT_EQ(h.fabric.bind(ss, {local, 0x5001}), 0);
    EXPECT_EQ(watcher.pop_control(), ControlMessage::server(PacketType::del_server, {42, 0, 1, local, 0x5000}))
        << "the old port's release removes its server";
    EXPECT_TRUE(h.fabric.name_service()->servers_of(42).empty());
}

TEST(FabricSockets, AutobindOnFirstSend) {
    Harness h;
    QueueSink a, b;
    SocketId sa = h.fabric.open_socket(a), sb = h.fabric.open_socket(b);
    ASSERT_EQ(h.fabric.bind(sb, {local, 0x4000}), 0);
    EXPECT_EQ(h.fabric.address(sa).port, 0u) << "getsockname before bind gives port 0";
    SendResult r = h.send(sa, {local, 0x4000}, {1, 2, 3});
    EXPECT_EQ(r.error, 0);
    EXPECT_EQ(r.self.port, 0x4001u) << "lowest free port in 0x4000..0x7fff";
    Datagram d = b.pop();
    EXPECT_EQ(d.from, (QrtrAddress{local, 0x4001}));
    EXPECT_EQ(d.payload, (Bytes{1, 2, 3}));
}

TEST(FabricSockets, LocalDeliveryErrors) {
    Harness h;
    QueueSink a, b;
    SocketId sa = h.fabric.open_socket(a), sb = h.fabric.open_socket(b);
    ASSERT_EQ(h.fabric.bind(sa, {local, 0x4100}), 0);
    ASSERT_EQ(h.fabric.bind(sb, {local, 0x4200}), 0);
    EXPECT_EQ(h.send(sa, {local, 0x4999}, {1}).error, ENODEV) << "no such local port";
    EXPECT_EQ(h.send(sa, {local, 0x4100}, {1}).error, ENODEV) << "sending to itself";
    b.capacity = 1;
    EXPECT_EQ(h.send(sa, {local, 0x4200}, {1}).error, 0);
    EXPECT_EQ(h.send(sa, {local, 0x4200}, {2}).error, ENOSPC) << "receive queue full";
    EXPECT_EQ(h.send(sa, {qrtr::node_broadcast, 0x4200}, {1}).error, ENOTCONN) << "broadcast only to the control port";
    EXPECT_EQ(h.send(sa, {7, 0x4000}, {1}).error, ECONNRESET) << "unknown remote node";
    EXPECT_EQ(h.send(sa, {local, 0x4200}, Bytes(qrtr::datagram_size_max_bytes + 1)).error, EMSGSIZE);
}

TEST(FabricSockets, NetworkResetReachesEveryBoundSocketOnce) {
    Harness h;
    QueueSink bound, unbound;
    SocketId sb = h.fabric.open_socket(bound);
    h.fabric.open_socket(unbound);
    ASSERT_EQ(h.fabric.bind(sb, {local, 0x4000}), 0);
    h.fabric.reset_network();
    ASSERT_EQ(bound.errors.size(), 1u);
    EXPECT_EQ(bound.errors[0].first, ENETRESET);
    EXPECT_TRUE(unbound.errors.empty()) << "only bound sockets are reset";
    SendResult r = h.send(sb, {local, port_control}, new_lookup(0));
    EXPECT_EQ(r.error, ENETRESET);
    EXPECT_EQ(r.reset_generation, bound.errors[0].second) << "the send consumed that pending error";
    EXPECT_EQ(h.send(sb, {local, port_control}, new_lookup(0)).error, 0) << "once only";
    h.fabric.reset_network();
    h.fabric.error_seen(sb, bound.errors.back().second);  // a receive reported it
    EXPECT_EQ(h.send(sb, {local, port_control}, new_lookup(0)).error, 0) << "reported once, by the receive";
}

TEST(FabricSockets, BindingTheControlPortResetsEveryoneWithoutKernelNameService) {
    Harness h(FabricConfig{local, true, false});
    QueueSink daemon, qrtr_ns;
    SocketId sd = h.fabric.open_socket(daemon), sn = h.fabric.open_socket(qrtr_ns);
    ASSERT_EQ(h.fabric.bind(sd, {local, 14}), 0);
    ASSERT_EQ(h.fabric.bind(sn, {local, port_control}), 0) << "a userspace qrtr-ns takes the control port";
    ASSERT_EQ(daemon.errors.size(), 1u);
    EXPECT_EQ(daemon.errors[0].first, ENETRESET);
    EXPECT_TRUE(qrtr_ns.errors.empty()) << "the binder itself is not reset";
}

// ---- name service ------------------------------------------------------------------

TEST(NameService, LocalServerIsTakenFromTheSenderAndListedInOrder) {
    Harness h;
    QueueSink s1, s2, s3, client;
    SocketId a = h.fabric.open_socket(s1), b = h.fabric.open_socket(s2), c = h.fabric.open_socket(s3);
    SocketId cl = h.fabric.open_socket(client);
    ASSERT_EQ(h.fabric.bind(a, {local, 0x6000}), 0);
    ASSERT_EQ(h.fabric.bind(b, {local, 14}), 0);
    ASSERT_EQ(h.fabric.bind(c, {local, 0x5000}), 0);
    for (SocketId s : {a, b, c}) ASSERT_EQ(h.send(s, {local, port_control}, new_server(14, 1, 0)).error, 0);
    ASSERT_EQ(h.send(cl, {local, port_control}, new_lookup(14)).error, 0);
    EXPECT_EQ(client.pop_control(), ControlMessage::server(PacketType::new_server, {14, 0, 1, local, 14}));
    EXPECT_EQ(client.pop_control(), ControlMessage::server(PacketType::new_server, {14, 0, 1, local, 0x5000}));
    EXPECT_EQ(client.pop_control(), ControlMessage::server(PacketType::new_server, {14, 0, 1, local, 0x6000}));
    EXPECT_EQ(client.pop_control(), ControlMessage::server(PacketType::new_server, {})) << "all-zero end marker";
    EXPECT_TRUE(client.queue.empty());
}

TEST(NameService, ServiceZeroIsRejectedAndWildcardsMatch) {
    Harness h;
    QueueSink server, any, by_instance;
    SocketId s = h.fabric.open_socket(server), la = h.fabric.open_socket(any), li = h.fabric.open_socket(by_instance);
    h.serve(s, 0x4444, 0, 1, 0);
    EXPECT_TRUE(h.fabric.name_service()->servers().empty()) << "service 0 is rejected";
    ASSERT_EQ(h.send(la, {local, port_control}, new_lookup(0)).error, 0);
    ASSERT_EQ(h.send(li, {local, port_control},
                     control(ControlMessage::server(PacketType::new_lookup, {15, 3, 1, 0, 0}))).error, 0);
    any.queue.clear();
    by_instance.queue.clear();
    ASSERT_EQ(h.send(s, {local, port_control}, new_server(15, 1, 2)).error, 0);
    EXPECT_EQ(any.pop_control().type, PacketType::new_server) << "service 0 in a lookup matches every service";
    EXPECT_TRUE(by_instance.queue.empty()) << "instance 3 does not match instance 2";
}

TEST(NameService, ReleaseRemovesServerTellsLookupsAndLocalServers) {
    Harness h;
    QueueSink daemon, other_server, lookup;
    SocketId d = h.fabric.open_socket(daemon), o = h.fabric.open_socket(other_server), l = h.fabric.open_socket(lookup);
    ASSERT_EQ(h.fabric.bind(d, {local, 14}), 0);
    ASSERT_EQ(h.fabric.bind(o, {local, 0x4500}), 0);
    ASSERT_EQ(h.send(d, {local, port_control}, new_server(14, 1, 0)).error, 0);
    ASSERT_EQ(h.send(o, {local, port_control}, new_server(99, 1, 0)).error, 0);
    ASSERT_EQ(h.send(l, {local, port_control}, new_lookup(14)).error, 0);
    lookup.queue.clear();
    h.fabric.close_socket(d);  // the daemon died
    EXPECT_EQ(lookup.pop_control(), ControlMessage::server(PacketType::del_server, {14, 0, 1, local, 14}));
    EXPECT_EQ(other_server.pop_control(), ControlMessage::client(PacketType::del_client, {local, 14}))
        << "DEL_CLIENT is forwarded to every local server";
    EXPECT_TRUE(h.fabric.name_service()->servers_of(14).empty());
}

TEST(NameService, ServerMayOnlyRemoveItself) {
    Harness h;
    QueueSink daemon, intruder;
    SocketId d = h.fabric.open_socket(daemon), i = h.fabric.open_socket(intruder);
    h.serve(d, 14, 14, 1, 0);
    ASSERT_EQ(h.send(i, {local, port_control},
                     control(ControlMessage::server(PacketType::del_server, {14, 0, 1, local, 14}))).error, 0);
    EXPECT_EQ(h.fabric.name_service()->servers_of(14).size(), 1u);
    EXPECT_TRUE(h.traced(TraceKind::reject, "may only remove itself"));
}

TEST(NameService, ClosingALookupSocketDropsItsLookup) {
    Harness h;
    QueueSink client;
    SocketId c = h.fabric.open_socket(client);
    ASSERT_EQ(h.send(c, {local, port_control}, new_lookup(14)).error, 0);
    EXPECT_EQ(h.fabric.name_service()->lookups().size(), 1u);
    h.fabric.close_socket(c);
    EXPECT_TRUE(h.fabric.name_service()->lookups().empty());
}

TEST(NameService, OneServerPerNodeAndPortTheLatestWins) {
    Harness h;
    QueueSink server;
    SocketId s = h.fabric.open_socket(server);
    h.serve(s, 0x4800, 20, 1, 0);
    ASSERT_EQ(h.send(s, {local, port_control}, new_server(21, 2, 3)).error, 0);
    auto servers = h.fabric.name_service()->servers();
    ASSERT_EQ(servers.size(), 1u);
    EXPECT_EQ(servers[0].service, 21u);
    EXPECT_EQ(servers[0].instance, qrtr::wire_instance(3, 2));
}

TEST(NameService, RemoteNodesMayNotLookUpOrSpoofOthers) {
    Harness h;
    TestLink modem;
    modem.attach(h.fabric);
    QueueSink daemon;
    SocketId d = h.fabric.open_socket(daemon);
    h.serve(d, 14, 14, 1, 0);
    auto post = [&](const ControlMessage& m) {
        h.fabric.link_receive(modem.id, TestLink::packet(m.type, {0, port_control}, {local, port_control}, control(m)));
    };
    post(ControlMessage::server(PacketType::new_lookup, {14, 0, 0, 0, 0}));
    EXPECT_TRUE(h.fabric.name_service()->lookups().empty()) << "NEW_LOOKUP is local only";
    EXPECT_TRUE(h.traced(TraceKind::reject, "NEW_LOOKUP from remote"));
    post(ControlMessage::client(PacketType::del_client, {local, 14}));
    EXPECT_EQ(h.fabric.name_service()->servers_of(14).size(), 1u) << "node 0 cannot release node 1's client";
    post(ControlMessage::server(PacketType::new_server, {30, 0, 1, 0, 0}));
    EXPECT_TRUE(h.fabric.name_service()->servers_of(30).empty()) << "port 0 is rejected";
}

TEST(FabricSockets, ASocketOnTheControlPortSpeaksControlPackets) {
    // On a kernel without the in-kernel name service, qrtr-ns binds the
    // control port; what it sends is typed by its payload's command word.
    Harness h(FabricConfig{local, true, false});
    TestLink modem;
    modem.attach(h.fabric);
    h.fabric.link_receive(modem.id, TestLink::packet(PacketType::data, {0, 0x20}, {local, 0x4444}, {1, 2, 3, 4}));
    QueueSink qrtr_ns;
    SocketId ns = h.fabric.open_socket(qrtr_ns);
    ASSERT_EQ(h.fabric.bind(ns, {local, port_control}), 0);
    ASSERT_EQ(h.send(ns, {0, port_control}, control(ControlMessage::bare(PacketType::hello))).error, 0);
    ASSERT_FALSE(modem.sent.empty());
    EXPECT_EQ(modem.sent.back().type, PacketType::hello);
    EXPECT_EQ(modem.sent.back().src_port, port_control);
    QueueSink client;
    SocketId c = h.fabric.open_socket(client);
    ASSERT_EQ(h.send(c, {0, 0x20}, control(ControlMessage::bare(PacketType::hello))).error, 0);
    EXPECT_EQ(modem.sent.back().type, PacketType::data) << "an ordinary socket's payload is data, whatever it holds";
}

// ---- links ---------------------------------------------------------------------------

TEST(FabricLinks, HelloIsAnsweredWithHelloAndLocalServers) {
    Harness h;
    QueueSink daemon;
    SocketId d = h.fabric.open_socket(daemon);
    h.serve(d, 14, 14, 1, 0);
    TestLink modem;
    modem.attach(h.fabric);
    h.fabric.link_receive(modem.id, TestLink::packet(PacketType::hello, {0, port_control}, {local, port_control},
                                                     control(ControlMessage::bare(PacketType::hello))));
    ASSERT_EQ(modem.sent.size(), 2u);
    EXPECT_EQ(modem.sent[0].type, PacketType::hello);
    EXPECT_EQ(modem.sent[0].dst_node, 0u);
    EXPECT_EQ(modem.sent[1].type, PacketType::new_server);
    EXPECT_EQ(*qrtr::decode_control(modem.sent[1].payload),
              ControlMessage::server(PacketType::new_server, {14, 0, 1, local, 14}));
}

TEST(FabricLinks, RemoteServerReachesLookupsAndByeRemovesIt) {
    Harness h;
    QueueSink lookup, daemon;
    SocketId l = h.fabric.open_socket(lookup), d = h.fabric.open_socket(daemon);
    h.serve(d, 14, 14, 1, 0);
    ASSERT_EQ(h.send(l, {local, port_control}, new_lookup(0)).error, 0);
    lookup.queue.clear();
    TestLink modem;
    modem.attach(h.fabric);
    auto remote = ControlMessage::server(PacketType::new_server, {15, 0, 1, 0, 0x20});
    h.fabric.link_receive(modem.id, TestLink::packet(PacketType::new_server, {0, port_control}, {local, port_control},
                                                     control(remote)));
    EXPECT_EQ(lookup.pop_control(), remote) << "a remote server keeps the node and port it announced";
    h.fabric.detach_link(modem.id);
    EXPECT_EQ(lookup.pop_control(), ControlMessage::server(PacketType::del_server, {15, 0, 1, 0, 0x20}));
    EXPECT_EQ(daemon.pop_control(), ControlMessage::client(PacketType::bye, {0, 0})) << "BYE reaches local servers";
    EXPECT_EQ(h.send(d, {0, 0x20}, {1, 2, 3, 4}).error, ENODEV) << "the node's link is gone";
}

TEST(FabricLinks, LocalServersAndReleasesAreBroadcastToLinks) {
    Harness h;
    TestLink modem;
    modem.attach(h.fabric);
    modem.say_hello(h.fabric);
    QueueSink daemon;
    SocketId d = h.fabric.open_socket(daemon);
    h.serve(d, 14, 14, 1, 0);
    ASSERT_EQ(modem.sent.size(), 1u);
    EXPECT_EQ(*qrtr::decode_control(modem.sent[0].payload),
              ControlMessage::server(PacketType::new_server, {14, 0, 1, local, 14}));
    modem.sent.clear();
    h.fabric.close_socket(d);
    ASSERT_FALSE(modem.sent.empty());
    EXPECT_EQ(modem.sent[0].type, PacketType::del_client);
    EXPECT_EQ(*qrtr::decode_control(modem.sent[0].payload), ControlMessage::client(PacketType::del_client, {local, 14}));
}

TEST(FabricLinks, FlowControlConfirmsAtFiveAndBlocksAtTen) {
    Harness h;
    TestLink modem;
    modem.attach(h.fabric);
    modem.say_hello(h.fabric);
    QueueSink daemon;
    SocketId d = h.fabric.open_socket(daemon);
    ASSERT_EQ(h.fabric.bind(d, {local, 14}), 0);
    for (int i = 1; i <= 10; ++i) {
        ASSERT_EQ(h.send(d, {0, 0x20}, {1, 2, 3, 4}).error, 0) << "packet " << i;
        EXPECT_EQ(modem.sent.back().confirm_rx, i == 5) << "packet " << i;
    }
    EXPECT_EQ(h.send(d, {0, 0x20}, {1, 2, 3, 4}, true).error, EAGAIN) << "window full, non-blocking";
    int completed = -1;
    h.fabric.send(d, {0, 0x20}, Bytes{9, 9, 9, 9}, false, [&](const SendResult& r) { completed = r.error; });
    EXPECT_EQ(completed, -1) << "a blocking send waits for RESUME_TX";
    h.fabric.link_receive(modem.id, TestLink::packet(PacketType::resume_tx, {0, 0x20}, {local, 14},
                                                     control(ControlMessage::client(PacketType::resume_tx, {0, 0x20}))));
    EXPECT_EQ(completed, 0);
    EXPECT_EQ(modem.sent.back().payload, (Bytes{9, 9, 9, 9}));
}

TEST(FabricLinks, ConfirmRxIsAnsweredWhenTheReaderConsumes) {
    Harness h;
    QueueSink daemon;
    SocketId d = h.fabric.open_socket(daemon);
    ASSERT_EQ(h.fabric.bind(d, {local, 14}), 0);
    TestLink modem;
    modem.attach(h.fabric);
    h.fabric.link_receive(modem.id, TestLink::packet(PacketType::data, {0, 0x20}, {local, 14}, {5, 6, 7}, true));
    Datagram got = daemon.pop();
    EXPECT_TRUE(got.confirm_rx);
    EXPECT_EQ(got.payload, (Bytes{5, 6, 7})) << "receivers get exactly size bytes";
    EXPECT_TRUE(modem.sent.empty());
    h.fabric.consumed(d, got.from);
    ASSERT_EQ(modem.sent.size(), 1u);
    EXPECT_EQ(modem.sent[0].type, PacketType::resume_tx);
    EXPECT_EQ(modem.sent[0].dst_port, 0x20u);
    EXPECT_EQ(*qrtr::decode_control(modem.sent[0].payload), ControlMessage::client(PacketType::resume_tx, {local, 14}));
}

TEST(FabricLinks, InvalidPacketsAreDroppedWithTheReason) {
    Harness h;
    TestLink modem;
    modem.attach(h.fabric);
    Bytes bad = TestLink::packet(PacketType::hello, {0, port_control}, {local, 14}, Bytes(20, 0));
    h.fabric.link_receive(modem.id, bad);
    EXPECT_TRUE(h.traced(TraceKind::drop, "packet_control_type_to_data_port"));
    h.fabric.link_receive(modem.id, Bytes{1, 2, 3});
    EXPECT_TRUE(h.traced(TraceKind::drop, "packet_length_unaligned"));
}

}  // namespace
}  // namespace rmtfs_hil::sim
