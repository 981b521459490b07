#include "sim/local_node_link.hpp"

#include <linux/qrtr.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>

#include "proto/errno_names.hpp"
#include "proto/qrtr_control.hpp"
#include "proto/qrtr_packet.hpp"

namespace rmtfs_hil::sim {

namespace {

using qrtr::ControlMessage;
using qrtr::PacketType;

Expected<int, std::string> open_socket() {
    int fd = ::socket(AF_QIPCRTR, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int error = errno;
        std::string why = std::string("AF_QIPCRTR socket: ") + std::strerror(error);
        if (error == EAFNOSUPPORT) why += " (this kernel has no QRTR: load qrtr.ko)";
        return unexpected(why);
    }
    return fd;
}

sockaddr_qrtr address(std::uint32_t node, std::uint32_t port) {
    sockaddr_qrtr to{};
    to.sq_family = AF_QIPCRTR;
    to.sq_node = node;
    to.sq_port = port;
    return to;
}

}  // namespace

// A socket standing for one of the endpoint's ports (or the lookup).
struct LocalNodeLink::Port {
    Port(boost::asio::io_context& io, int socket, std::uint32_t for_port)
        : descriptor(io, socket), fd(socket), endpoint_port(for_port) {}
    boost::asio::posix::stream_descriptor descriptor;
    int fd;  // the descriptor's, for looks that do not change it
    std::uint32_t endpoint_port;
};

Expected<std::unique_ptr<LocalNodeLink>, std::string> LocalNodeLink::open(boost::asio::io_context& io) {
    auto fd = open_socket();
    if (!fd) return unexpected(fd.error());
    sockaddr_qrtr self{};
    socklen_t length = sizeof self;
    int got = ::getsockname(*fd, reinterpret_cast<sockaddr*>(&self), &length);
    int error = errno;
    ::close(*fd);
    if (got != 0) return unexpected(std::string("AF_QIPCRTR getsockname: ") + std::strerror(error));
    return std::unique_ptr<LocalNodeLink>(new LocalNodeLink(io, self.sq_node));
}

LocalNodeLink::LocalNodeLink(boost::asio::io_context& io, std::uint32_t local_node) : io_(io), local_node_(local_node) {}

LocalNodeLink::~LocalNodeLink() {
    *alive_ = false;
    bring_down();
}

void LocalNodeLink::bring_down() {
    ports_.clear();  // closing a socket: the kernel announces its port's end
    lookup_.reset();
    listed_ = false;
}

std::size_t LocalNodeLink::in_flight() const {
    std::size_t readable = 0;
    auto look = [&](const Port& p) {
        pollfd fd{p.fd, POLLIN, 0};
        if (::poll(&fd, 1, 0) > 0 && (fd.revents & POLLIN) != 0) ++readable;
    };
    for (const auto& [number, p] : ports_) look(*p);
    if (lookup_) look(*lookup_);
    return readable;
}

void LocalNodeLink::send_error(std::string what) {
    if (on_send_error) on_send_error(what);
}

Expected<LocalNodeLink::Port*, std::string> LocalNodeLink::port(std::uint32_t endpoint_port) {
    if (auto it = ports_.find(endpoint_port); it != ports_.end()) return it->second.get();
    auto fd = open_socket();
    if (!fd) return unexpected(fd.error());
    auto opened = std::make_unique<Port>(io_, *fd, endpoint_port);
    Port* p = opened.get();
    ports_[endpoint_port] = std::move(opened);
    wait_for(*p);
    return p;
}

void LocalNodeLink::look_up() {
    if (lookup_) return;
    auto fd = open_socket();
    if (!fd) return send_error("lookup: " + fd.error());
    lookup_ = std::make_unique<Port>(io_, *fd, qrtr::port_control);
    Bytes ask = qrtr::encode_control(ControlMessage::server(PacketType::new_lookup, qrtr::ServerRecord{}));
    sockaddr_qrtr to = address(local_node_, QRTR_PORT_CTRL);
    if (::sendto(*fd, ask.data(), ask.size(), 0, reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
        int error = errno;
        send_error("NEW_LOOKUP to the name service: " + errno_text(error));
    }
    wait_for(*lookup_);
}

void LocalNodeLink::wait_for(Port& p) {
    p.descriptor.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                            [this, &p, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
                                if (error || !alive.lock()) return;
                                deliver(p);
                            });
}

void LocalNodeLink::deliver(Port& p) {
    // Every datagram queued now, then wait again. The listener may bring the
    // link down from inside (closing `p`): look after each delivery.
    std::weak_ptr<bool> alive = alive_;
    int fd = p.descriptor.native_handle();
    bool lookup = &p == lookup_.get();
    std::uint32_t to_port = p.endpoint_port;
    Bytes buffer(qrtr::datagram_size_max_bytes);
    for (;;) {
        sockaddr_qrtr from{};
        socklen_t length = sizeof from;
        ssize_t got = ::recvfrom(fd, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &length);
        if (got < 0) break;  // EAGAIN: all read; an error (ENETRESET): the next wait sees it again or not
        qrtr::Packet packet;
        packet.src_node = from.sq_node;
        packet.src_port = from.sq_port;
        packet.dst_node = endpoint_node_.value_or(qrtr::node_broadcast);
        packet.dst_port = to_port;
        packet.payload.assign(buffer.begin(), buffer.begin() + got);
        if (lookup) {
            auto control = qrtr::decode_control(packet.payload);
            if (!control || (control->type != PacketType::new_server && control->type != PacketType::del_server)) continue;
            const auto& record = std::get<qrtr::ServerRecord>(control->body);
            if (record.service == 0 && record.port == 0) listed_ = true;  // the end of the listing
            packet.type = control->type;
        } else {
            packet.type = PacketType::data;
        }
        if (on_receive) on_receive(qrtr::encode_v1(packet));
        if (!alive.lock()) return;
        bool still_open = lookup ? lookup_ && lookup_.get() == &p : ports_.count(to_port) != 0 && ports_[to_port].get() == &p;
        if (!still_open) return;
    }
    wait_for(p);
}

void LocalNodeLink::transmit(ByteView bytes) {
    auto decoded = qrtr::decode_packet(bytes);
    if (!decoded) return send_error("the modem's own packet did not decode: " + describe(decoded.error()));
    const qrtr::Packet& packet = *decoded;
    switch (packet.type) {
        case PacketType::hello: {
            endpoint_node_ = packet.src_node;
            look_up();
            // The local node says HELLO back, as a neighbour would.
            qrtr::Packet answer;
            answer.type = PacketType::hello;
            answer.src_node = local_node_;
            answer.src_port = qrtr::port_control;
            answer.dst_node = packet.src_node;
            answer.dst_port = qrtr::port_control;
            answer.payload = qrtr::encode_control(ControlMessage::bare(PacketType::hello));
            Bytes encoded = qrtr::encode_v1(answer);
            boost::asio::post(io_, [this, encoded, alive = std::weak_ptr<bool>(alive_)] {
                if (alive.lock() && on_receive) on_receive(encoded);
            });
            return;
        }
        case PacketType::data: {
            auto p = port(packet.src_port);
            if (!p) return send_error(p.error());
            sockaddr_qrtr to = address(packet.dst_node, packet.dst_port);
            if (::sendto((*p)->descriptor.native_handle(), packet.payload.data(), packet.payload.size(), 0,
                         reinterpret_cast<const sockaddr*>(&to), sizeof to) < 0) {
                int error = errno;
                send_error("sendto " + to_string(QrtrAddress{packet.dst_node, packet.dst_port}) + ": " +
                           errno_text(error));
            }
            return;
        }
        default:
            return;  // the kernel's own business on a local node
    }
}

}  // namespace rmtfs_hil::sim
