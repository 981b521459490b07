// The QRTR fabric: a userspace router that behaves like the kernel's
// AF_QIPCRTR core for the local node — port allocation and bind rules, local
// delivery with the kernel's errors, links to remote nodes speaking raw QRTR
// packets with flow control, socket release, ENETRESET — with the name
// service attached at the control port.
//
// Pure logic driven by its callers on one thread: no I/O of its own. Sockets
// receive through a DatagramSink; links transmit through a LinkTransmit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/qrtr_packet.hpp"
#include "sim/trace.hpp"

namespace rmtfs_hil::sim {

class NameService;

struct QrtrAddress {
    std::uint32_t node = 0;
    std::uint32_t port = 0;
    auto operator<=>(const QrtrAddress&) const = default;
};
std::string to_string(QrtrAddress address);

inline constexpr std::uint32_t ephemeral_port_first = 0x4000;
inline constexpr std::uint32_t ephemeral_port_last = 0x7fff;
// Flow control towards a remote port: the 5th unacknowledged packet asks for
// a RESUME_TX, and at 10 the sender waits for it.
inline constexpr std::uint32_t flow_confirm_at_pending = 5;
inline constexpr std::uint32_t flow_block_at_pending = 10;

struct Datagram {
    QrtrAddress from;
    bool confirm_rx = false;  // the reader owes the sender a RESUME_TX (Fabric::consumed)
    Bytes payload;
};

// The receiving side of a socket: a shim data channel, or a test's queue.
class DatagramSink {
public:
    virtual ~DatagramSink() = default;
    // false: the socket's receive queue is full (the sender gets ENOSPC).
    virtual bool deliver(const Datagram& datagram) = 0;
    // The socket's pending error (ENETRESET); `generation` numbers them.
    virtual void post_error(int error, std::uint32_t generation) = 0;
};

using SocketId = std::uint64_t;
using LinkId = std::uint64_t;
// Bytes of one encoded packet, towards the remote node of a link.
using LinkTransmit = std::function<void(ByteView packet)>;

struct SendResult {
    int error = 0;               // 0 or an errno value, as sendto() would fail
    std::size_t bytes = 0;       // on success
    QrtrAddress self;            // the sender's address after any autobind
    std::uint32_t reset_generation = 0;  // with ENETRESET: the pending error consumed
};
using SendCompletion = std::function<void(const SendResult&)>;

struct FabricConfig {
    std::uint32_t local_node = 1;
    // CAP_NET_ADMIN: binding ports below 0x4000 (rmtfs binds 14) or the
    // control port. Granted by default, as to a root daemon.
    bool privileged_binds = true;
    // The in-kernel name service (Linux >= 5.7) at the control port. Off: the
    // control port is free for a userspace qrtr-ns, as on 4.x kernels.
    bool kernel_name_service = true;
};

class Fabric {
public:
    explicit Fabric(FabricConfig config = {});
    ~Fabric();
    Fabric(const Fabric&) = delete;
    Fabric& operator=(const Fabric&) = delete;

    const FabricConfig& config() const { return config_; }
    void set_trace(TraceSink sink) { trace_ = std::move(sink); }
    // Called with every DATA datagram just before a local socket receives it:
    // a fault that must land "when the request reaches the daemon" acts here,
    // before the daemon can read it.
    // `owner_pid`: the receiving socket's process (0 for the harness's own).
    using DeliveryObserver = std::function<void(QrtrAddress to, std::uint32_t owner_pid, const Datagram& datagram)>;
    void set_delivery_observer(DeliveryObserver observer) { delivery_observer_ = std::move(observer); }

    // ---- local sockets -----------------------------------------------------
    SocketId open_socket(DatagramSink& sink, std::uint32_t owner_pid = 0);
    // The socket's release (close, or its process dying): port freed,
    // DEL_CLIENT broadcast, waiting sends failed.
    void close_socket(SocketId socket);
    // bind(): EINVAL for another node, EACCES for a privileged port without
    // the capability, EADDRINUSE; port 0 picks an ephemeral port; rebinding
    // the bound port is a no-op; binding another frees the old one.
    int bind(SocketId socket, QrtrAddress address);
    // A kernel-internal socket's bind (the name service): no capability check.
    int bind_kernel(SocketId socket, std::uint32_t port);
    // The autobind of connect() and of a first send.
    int autobind(SocketId socket);
    QrtrAddress address(SocketId socket) const;
    // Whether a local socket holds `port` (the control port: a userspace name service).
    bool port_bound(std::uint32_t port) const { return ports_.contains(port); }
    // sendto(). Completes at once, except a blocking send to a remote port
    // whose flow window is full: that completes when RESUME_TX arrives.
    void send(SocketId socket, QrtrAddress to, ByteView payload, bool nonblocking, SendCompletion done);
    // A receive reported pending error `generation`: a send must not again.
    void error_seen(SocketId socket, std::uint32_t generation);
    // The socket's reader consumed a confirm_rx datagram from `sender`.
    void consumed(SocketId socket, QrtrAddress sender);

    // ENETRESET on every bound socket, once (what binding the control port
    // does on kernels with a userspace name service).
    void reset_network(SocketId except = 0);

    // ---- links to remote nodes ---------------------------------------------
    LinkId attach_link(LinkTransmit transmit, std::string name);
    // One packet as the remote node sent it; invalid packets are dropped and
    // traced with the reason, as the kernel drops them.
    void link_receive(LinkId link, ByteView packet);
    // The link went away (modem stopped or crashed): BYE for its nodes.
    void detach_link(LinkId link);

    NameService* name_service() { return name_service_.get(); }

    // ---- used by the name service ------------------------------------------
    // A control message from the control port to `to` (local or remote; node
    // broadcast: every link).
    void send_control(QrtrAddress to, const Bytes& payload);

    void trace(TraceSource source, TraceKind kind, std::string detail, TraceFields fields = {}) const;
    // Whether anyone listens: the packet paths build their trace lines only then.
    bool tracing() const { return static_cast<bool>(trace_); }

private:
    struct Socket;
    struct Link;
    struct Flow;
    struct PendingSend;

    Socket* find(SocketId id);
    const Socket* find(SocketId id) const;
    std::optional<std::uint32_t> free_ephemeral_port() const;
    int check_port(std::uint32_t port) const;
    void release_port(Socket& socket);
    // Local delivery: ENODEV (no such port, or to itself), ENOSPC (queue full).
    int deliver_local(const Socket* sender, std::uint32_t port, Datagram datagram,
                      qrtr::PacketType type);
    int transmit(Link& link, qrtr::PacketType type, QrtrAddress from, QrtrAddress to, ByteView payload,
                 bool confirm_rx);
    void complete_send(Socket& socket, QrtrAddress to, Bytes payload, qrtr::PacketType type,
                       bool nonblocking, SendCompletion done);
    void resume_flow(Link& link, QrtrAddress remote);
    void learn_node(Link& link, std::uint32_t node);

    FabricConfig config_;
    TraceSink trace_;
    DeliveryObserver delivery_observer_;
    std::map<SocketId, std::unique_ptr<Socket>> sockets_;
    std::map<std::uint32_t, SocketId> ports_;
    std::map<LinkId, std::unique_ptr<Link>> links_;
    std::map<std::uint32_t, LinkId> nodes_;
    std::set<std::uint32_t> departed_nodes_;
    SocketId next_socket_ = 1;
    LinkId next_link_ = 1;
    std::unique_ptr<NameService> name_service_;
};

}  // namespace rmtfs_hil::sim
