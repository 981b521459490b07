#include "sim/shim_server.hpp"

#include <fcntl.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <algorithm>
#include <cstring>
#include <optional>
#include <system_error>
#include <utility>

#include "proto/contract.hpp"
#include "sim/shim/shim_protocol.h"

namespace rmtfs_hil::sim {

namespace asio = boost::asio;

namespace {

// One request: header, the largest datagram, and slack for a path.
constexpr std::size_t request_size_max_bytes = sizeof(shim_request) + SHIM_DATAGRAM_MAX_BYTES + 4096;

// Bytes a UNIX socket holds: sent by this end and not yet read by the peer
// (SIOCOUTQ), or received and not yet read here (SIOCINQ).
int queued(int fd, unsigned long which) {
    int bytes = 0;
    return ::ioctl(fd, which, &bytes) == 0 ? bytes : 0;
}

std::system_error os_error(const char* what) { return std::system_error(errno, std::generic_category(), what); }

void set_nonblocking(int fd) {
    int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

}  // namespace

// The receiving end of one emulated socket: its program's data channel.
class DataChannelSink final : public DatagramSink {
public:
    explicit DataChannelSink(int fd) : fd_(fd) {}
    ~DataChannelSink() override { ::close(fd_); }

    // Datagrams written and not yet read by the program.
    bool unread() const { return queued(fd_, SIOCOUTQ) > 0; }

    bool deliver(const Datagram& d) override {
        shim_datagram header{};
        header.kind = SHIM_DATAGRAM_DATA;
        header.flags = d.confirm_rx ? SHIM_DATAGRAM_CONFIRM_RX : 0;
        header.node = d.from.node;
        header.port = d.from.port;
        return write(header, d.payload);
    }
    void post_error(int error, std::uint32_t generation) override {
        shim_datagram header{};
        header.kind = SHIM_DATAGRAM_ERROR;
        header.node = generation;
        header.error = error;
        write(header, {});
    }

private:
    bool write(const shim_datagram& header, ByteView payload) {
        iovec parts[2] = {{const_cast<shim_datagram*>(&header), sizeof header},
                          {const_cast<std::uint8_t*>(payload.data()), payload.size()}};
        msghdr message{};
        message.msg_iov = parts;
        message.msg_iovlen = payload.empty() ? 1 : 2;
        ssize_t sent = ::sendmsg(fd_, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (sent >= 0) return true;
        // The program closed its end: the datagram is lost with the reader.
        return errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS;
    }
    int fd_;
};

class ShimServer::Channel : public std::enable_shared_from_this<Channel> {
public:
    Channel(ShimServer& server, int fd)
        : server_(server), server_alive_(server.alive_), control_(server.io_, fd), control_fd_(fd) {
        ucred credentials{};
        socklen_t length = sizeof credentials;
        if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0) peer_pid_ = credentials.pid;
    }

    ~Channel() {
        // A channel outlives its server only inside a handler the io_context
        // drops at its own end; the fabric is gone then too.
        if (socket_ != 0 && !server_alive_.expired()) server_.fabric_.close_socket(socket_);
    }

    void start() { wait(); }

    // Why this channel is not at rest, or nothing: a request the program
    // sent and the harness has not answered, an answer or datagram the
    // program has not read.
    std::optional<std::string> busy(std::optional<pid_t> stopped) const {
        std::string whose = "program " + std::to_string(peer_pid_);
        if (send_pending_) return whose + " waits for a send to complete";
        if (queued(control_fd_, SIOCINQ) > 0) return whose + " has a request the harness has not read";
        if (stopped && peer_pid_ == *stopped) return std::nullopt;
        if (queued(control_fd_, SIOCOUTQ) > 0) return whose + " has not read an answer";
        if (sink_ && sink_->unread()) return whose + " has datagrams it has not read";
        return std::nullopt;
    }

private:
    void wait() {
        control_.async_wait(asio::posix::stream_descriptor::wait_read,
                            [self = weak_from_this()](const boost::system::error_code& error) {
                                auto channel = self.lock();
                                if (!channel || error) return;
                                channel->on_readable();
                            });
    }

    void on_readable() {
        buffer_.resize(request_size_max_bytes);
        alignas(cmsghdr) char control_bytes[CMSG_SPACE(sizeof(int))];
        iovec part{buffer_.data(), buffer_.size()};
        msghdr message{};
        message.msg_iov = &part;
        message.msg_iovlen = 1;
        message.msg_control = control_bytes;
        message.msg_controllen = sizeof control_bytes;
        ssize_t got = ::recvmsg(control_.native_handle(), &message, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return wait();
        int passed_fd = -1;
        for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(&passed_fd, CMSG_DATA(c), sizeof(int));
        if (got <= 0) return close_channel();  // EOF: the program closed it or died
        if (static_cast<std::size_t>(got) < sizeof(shim_request) || (message.msg_flags & MSG_TRUNC)) {
            if (passed_fd >= 0) ::close(passed_fd);
            return protocol_error("short or oversized request");
        }
        shim_request request;
        std::memcpy(&request, buffer_.data(), sizeof request);
        ByteView payload(buffer_.data() + sizeof request, static_cast<std::size_t>(got) - sizeof request);
        if (!handle(request, payload, passed_fd)) return;  // the channel is gone
        wait();
    }

    // false when the channel was closed while handling. One case per shim
    // operation, each a few lines against the fabric: longer than most, read
    // beside sim/shim/shim_protocol.h as one table.
    bool handle(const shim_request& request, ByteView payload, int passed_fd) {
        Fabric& fabric = server_.fabric_;
        if (passed_fd >= 0 && request.op != SHIM_OP_OPEN) {
            ::close(passed_fd);
            protocol_error("descriptor passed outside SHIM_OP_OPEN");
            return false;
        }
        switch (request.op) {
            case SHIM_OP_OPEN: {
                if (in_use() || passed_fd < 0 || request.value != SHIM_PROTOCOL_VERSION) {
                    if (passed_fd >= 0) ::close(passed_fd);
                    protocol_error("bad SHIM_OP_OPEN (second open, no data channel, or protocol version mismatch)");
                    return false;
                }
                set_nonblocking(passed_fd);
                sink_ = std::make_unique<DataChannelSink>(passed_fd);
                socket_ = fabric.open_socket(*sink_, request.node);
                return reply(0, QrtrAddress{fabric.config().local_node, 0});
            }
            case SHIM_OP_BIND: {
                if (!is_socket()) return false;
                int error = fabric.bind(socket_, QrtrAddress{request.node, request.port});
                return reply(error, fabric.address(socket_));
            }
            case SHIM_OP_CONNECT: {
                if (!is_socket()) return false;
                int error = fabric.autobind(socket_);
                return reply(error, fabric.address(socket_));
            }
            case SHIM_OP_SEND: {
                if (!is_socket()) return false;
                // The reply may come later (flow control); the shim waits for
                // it and sends nothing else on this channel meanwhile.
                send_pending_ = true;
                fabric.send(socket_, QrtrAddress{request.node, request.port}, payload,
                            (request.flags & SHIM_SEND_NONBLOCK) != 0,
                            [self = weak_from_this()](const SendResult& result) {
                                if (auto channel = self.lock()) {
                                    channel->send_pending_ = false;
                                    channel->reply(result.error, result.self,
                                                   result.error == ENETRESET ? result.reset_generation
                                                                             : static_cast<std::uint32_t>(result.bytes));
                                }
                            });
                return true;
            }
            case SHIM_OP_CONSUMED:
                if (!is_socket()) return false;
                fabric.consumed(socket_, QrtrAddress{request.node, request.port});
                return true;
            case SHIM_OP_ERROR_SEEN:
                if (!is_socket()) return false;
                fabric.error_seen(socket_, request.node);
                return true;
            case SHIM_OP_RPROC_OPEN: {
                if (in_use()) {
                    protocol_error("SHIM_OP_RPROC_OPEN on a channel already in use");
                    return false;
                }
                std::string path(payload.begin(), payload.end());
                rproc_ = server_.remoteprocs_.find_by_state_path(path);
                if (rproc_ == nullptr) {
                    reply(ENOENT, {});
                    close_channel();
                    return false;
                }
                fabric.trace(TraceSource::remoteproc, TraceKind::open, rproc_->sysfs_name() + " state opened (" + path + ")");
                return reply(0, {}, 1);
            }
            case SHIM_OP_RPROC_READ: {
                if (!is_rproc()) return false;
                std::string text = rproc_->state_text();
                return reply(0, {}, static_cast<std::uint32_t>(text.size()),
                             ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()));
            }
            case SHIM_OP_RPROC_WRITE: {
                if (!is_rproc()) return false;
                std::string text(payload.begin(), payload.end());
                int error = rproc_->write_state(text);
                return reply(error, {}, static_cast<std::uint32_t>(payload.size()));
            }
            case SHIM_OP_FILE_OPEN:
                return open_watched(request, payload);
            case SHIM_OP_DEVICE_REFUSED: {
                if (in_use()) {
                    protocol_error("SHIM_OP_DEVICE_REFUSED on a channel already in use");
                    return false;
                }
                if (FileWatcher* files = watcher())
                    files->device_refused(FileOpening{std::string(payload.begin(), payload.end()),
                                                      static_cast<int>(request.value), peer_pid_},
                                          request.node, request.port);
                reply(0, {});
                close_channel();
                return false;
            }
            case SHIM_OP_FILE_IO: {
                if (!is_watched()) return false;
                auto op = file_op(request.flags);
                if (!op) return false;
                CallAnswer answer = watcher()->call(
                    watch_id_, FileCall{*op, offset_of(request), request.value});
                if (answer.error != 0) return reply(answer.error, {});
                return reply(0, QrtrAddress{answer.report_done ? 1u : 0u, 0},
                             std::min(answer.length, request.value));
            }
            case SHIM_OP_FILE_DONE: {
                if (!is_watched()) return false;
                auto op = file_op(request.flags);
                if (!op) return false;
                watcher()->done(watch_id_, CallDone{*op, offset_of(request), request.value,
                                                    static_cast<int>(request.reserved)});
                return reply(0, {});
            }
            default:
                protocol_error("unknown op " + std::to_string(request.op));
                return false;
        }
    }

    bool open_watched(const shim_request& request, ByteView payload) {
        if (in_use()) {
            protocol_error("SHIM_OP_FILE_OPEN on a channel already in use");
            return false;
        }
        FileWatcher* files = watcher();
        std::string path(payload.begin(), payload.end());
        OpenAnswer answer = files == nullptr
                                ? OpenAnswer::ignore()
                                : files->opened(server_.next_watch_id_,
                                                FileOpening{path, static_cast<int>(request.value), peer_pid_});
        if (answer.error != 0 || !answer.watch) {
            reply(answer.error, {});
            close_channel();
            return false;
        }
        watch_id_ = server_.next_watch_id_++;
        return reply(0, QrtrAddress{answer.ask, 0}, static_cast<std::uint32_t>(watch_id_));
    }

    static std::uint64_t offset_of(const shim_request& request) {
        return (static_cast<std::uint64_t>(request.port) << 32) | request.node;
    }

    std::optional<FileOp> file_op(std::uint32_t bits) {
        if (bits == mask_of(FileOp::read) || bits == mask_of(FileOp::write) || bits == mask_of(FileOp::sync))
            return static_cast<FileOp>(bits);
        protocol_error("unknown file op " + std::to_string(bits));
        return std::nullopt;
    }

    FileWatcher* watcher() const { return server_.file_watcher_; }
    bool in_use() const { return socket_ != 0 || rproc_ != nullptr || watch_id_ != 0; }

    bool is_socket() {
        if (socket_ != 0) return true;
        protocol_error("socket op before SHIM_OP_OPEN");
        return false;
    }
    bool is_watched() {
        if (watch_id_ != 0 && watcher() != nullptr) return true;
        protocol_error(watch_id_ == 0 ? "file op before SHIM_OP_FILE_OPEN" : "file op with no watcher");
        return false;
    }
    bool is_rproc() {
        if (rproc_ != nullptr) return true;
        protocol_error("remoteproc op before SHIM_OP_RPROC_OPEN");
        return false;
    }

    bool reply(int error, QrtrAddress address, std::uint32_t value = 0, ByteView payload = {}) {
        shim_reply header{};
        header.error = error;
        header.node = address.node;
        header.port = address.port;
        header.value = value;
        iovec parts[2] = {{&header, sizeof header}, {const_cast<std::uint8_t*>(payload.data()), payload.size()}};
        msghdr message{};
        message.msg_iov = parts;
        message.msg_iovlen = payload.empty() ? 1 : 2;
        if (::sendmsg(control_.native_handle(), &message, MSG_NOSIGNAL) < 0) {
            close_channel();
            return false;
        }
        return true;
    }

    void protocol_error(const std::string& what) {
        server_.fabric_.trace(TraceSource::harness, TraceKind::shim_protocol_error, what);
        close_channel();
    }

    void close_channel() {
        if (watch_id_ != 0) {
            WatchId id = std::exchange(watch_id_, 0);
            if (FileWatcher* files = watcher()) files->closed(id);
        }
        // Defer the destruction: this object may be deep in its own handler.
        boost::system::error_code ignored;
        control_.cancel(ignored);
        asio::post(server_.io_, [server = &server_, alive = server_alive_, self = shared_from_this()] {
            if (!alive.expired()) server->drop(self.get());
        });
    }

    ShimServer& server_;
    std::weak_ptr<bool> server_alive_;
    asio::posix::stream_descriptor control_;
    int control_fd_;  // control_'s, for the const queue checks
    std::vector<std::uint8_t> buffer_;
    std::unique_ptr<DataChannelSink> sink_;
    SocketId socket_ = 0;
    Remoteproc* rproc_ = nullptr;
    WatchId watch_id_ = 0;
    pid_t peer_pid_ = 0;
    bool send_pending_ = false;
};

ShimServer::ShimServer(asio::io_context& io, Fabric& fabric, RemoteprocRegistry& remoteprocs,
                       std::filesystem::path socket_path)
    : io_(io), fabric_(fabric), remoteprocs_(remoteprocs), socket_path_(std::move(socket_path)), listener_(io) {
    int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) throw os_error("socket(AF_UNIX, SOCK_SEQPACKET)");
    listener_.assign(fd);
    listener_fd_ = fd;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = socket_path_.string();
    if (path.size() >= sizeof address.sun_path)
        throw std::system_error(ENAMETOOLONG, std::generic_category(), "shim socket path " + path);
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    std::filesystem::remove(socket_path_);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) throw os_error(("bind " + path).c_str());
    if (::listen(fd, SOMAXCONN) != 0) throw os_error("listen");
    accept_next();
}

ShimServer::~ShimServer() {
    channels_.clear();
    boost::system::error_code ignored;
    listener_.close(ignored);
    std::error_code removed;
    std::filesystem::remove(socket_path_, removed);
}

void ShimServer::accept_next() {
    listener_.async_wait(asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& error) {
        if (error) return;
        for (;;) {
            int fd = ::accept4(listener_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0) break;
            auto channel = std::make_shared<Channel>(*this, fd);
            channels_.emplace(channel.get(), channel);
            channel->start();
        }
        accept_next();
    });
}

void ShimServer::drop(Channel* channel) { channels_.erase(channel); }

std::optional<std::string> ShimServer::busy(std::optional<pid_t> stopped) const {
    // A program opening a socket or a watched file waits for its channel to
    // be accepted and answered: a connection not yet accepted counts.
    pollfd listening{listener_fd_, POLLIN, 0};
    if (::poll(&listening, 1, 0) > 0) return std::string("a program is connecting to the harness");
    for (const auto& [raw, channel] : channels_)
        if (auto why = channel->busy(stopped)) return why;
    return std::nullopt;
}

}  // namespace rmtfs_hil::sim
