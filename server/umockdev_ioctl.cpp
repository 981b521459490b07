#include "server/umockdev_ioctl.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <list>

#include "proto/contract.hpp"

namespace rmtfs_hil::server {

namespace asio = boost::asio;
using Protocol = asio::local::stream_protocol;

namespace {

// umockdev's command codes (libumockdev-preload.c).
constexpr unsigned long request_ioctl = 1;
constexpr unsigned long request_result = 2;
constexpr unsigned long request_read = 7;
constexpr unsigned long request_write = 8;
constexpr unsigned long reply_done = 3;
constexpr unsigned long reply_run = 4;

using Message = std::array<unsigned long, 3>;  // cmd, arg1, arg2

}  // namespace

struct UmockdevIoctlPassthrough::Service : std::enable_shared_from_this<Service> {
    Service(asio::io_context& context, int listener_fd) : io(context), acceptor(context) {
        int copy = ::fcntl(listener_fd, F_DUPFD_CLOEXEC, 0);
        RMTFS_HIL_ASSERT(copy >= 0, "the World's umockdev ioctl listener must be open");
        acceptor.assign(Protocol(), copy);
    }

    struct Connection {
        explicit Connection(asio::io_context& io) : socket(io) {}
        Protocol::socket socket;
        Message message{};
    };

    asio::io_context& io;
    Protocol::acceptor acceptor;
    std::list<std::shared_ptr<Connection>> connections;
    std::size_t accepted = 0;
    std::size_t passed_through = 0;
    bool closed = false;

    void accept() {
        auto connection = std::make_shared<Connection>(io);
        acceptor.async_accept(connection->socket, [weak = weak_from_this(), connection](const boost::system::error_code& error) {
            auto self = weak.lock();
            if (!self || self->closed || error == asio::error::operation_aborted) return;
            if (!error) {
                ++self->accepted;
                self->connections.push_back(connection);
                self->serve(connection);
            }
            self->accept();
        });
    }

    void serve(const std::shared_ptr<Connection>& connection) {
        asio::async_read(connection->socket, asio::buffer(connection->message),
                         [weak = weak_from_this(), connection](const boost::system::error_code& error, std::size_t) {
                             auto self = weak.lock();
                             if (!self || self->closed) return;
                             if (error) {  // the program closed the node (or died)
                                 self->connections.remove(connection);
                                 return;
                             }
                             self->answer(connection);
                         });
    }

    void answer(const std::shared_ptr<Connection>& connection) {
        Message& message = connection->message;
        unsigned long command = message[0];
        if (command == request_ioctl || command == request_read || command == request_write) {
            message = {reply_run, 0, 0};
        } else if (command == request_result) {
            ++passed_through;
            message = {reply_done, message[1], message[2]};
        } else {
            // Unknown: end the connection; the preload reports it on its side.
            connections.remove(connection);
            return;
        }
        asio::async_write(connection->socket, asio::buffer(message),
                          [weak = weak_from_this(), connection](const boost::system::error_code& error, std::size_t) {
                              auto self = weak.lock();
                              if (!self || self->closed) return;
                              if (error) {
                                  self->connections.remove(connection);
                                  return;
                              }
                              self->serve(connection);
                          });
    }

    void close() {
        closed = true;
        boost::system::error_code ignored;
        acceptor.close(ignored);
        for (auto& connection : connections) connection->socket.close(ignored);
        connections.clear();
    }
};

UmockdevIoctlPassthrough::UmockdevIoctlPassthrough(asio::io_context& io, const World& world)
    : service_(std::make_shared<Service>(io, world.umockdev_ioctl_listener())) {
    service_->accept();
}

UmockdevIoctlPassthrough::~UmockdevIoctlPassthrough() { service_->close(); }

std::size_t UmockdevIoctlPassthrough::connections_accepted() const { return service_->accepted; }

std::size_t UmockdevIoctlPassthrough::calls_passed_through() const { return service_->passed_through; }

}  // namespace rmtfs_hil::server
