// The other end of umockdev's ioctl socket, for a world built without
// umockdev's own testbed process.
//
// umockdev 0.17's preload library connects to $UMOCKDEV_DIR/ioctl/_default
// on every open() of a /dev node that exists in the testbed, and exit(1)s if
// the connect fails. The World listens there from its creation, so opens
// succeed at once; this service accepts those connections and answers every
// forwarded call (ioctl, and read/write of emulated nodes) with "run it for
// real", so the backing file behaves as a plain file. Without it, pending
// connections pile up in the listen backlog (SOMAXCONN) and opens beyond that
// would block.
//
// Wire format (the preload's, host order): requests and replies are three
// unsigned longs {cmd, arg1, arg2}. The preload sends IOCTL/READ/WRITE; we
// answer RUN; it runs the call and sends RES {result, errno}; we answer DONE
// {result, errno}, which the preload returns to the program.
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <memory>

#include "server/world.hpp"

namespace rmtfs_hil::server {

class UmockdevIoctlPassthrough {
public:
    // Serves `world`'s ioctl socket on `io` until destroyed. The World must
    // outlive nothing here: the listener is duplicated.
    UmockdevIoctlPassthrough(boost::asio::io_context& io, const World& world);
    ~UmockdevIoctlPassthrough();
    UmockdevIoctlPassthrough(const UmockdevIoctlPassthrough&) = delete;
    UmockdevIoctlPassthrough& operator=(const UmockdevIoctlPassthrough&) = delete;

    std::size_t connections_accepted() const;
    std::size_t calls_passed_through() const;

private:
    struct Service;
    std::shared_ptr<Service> service_;
};

}  // namespace rmtfs_hil::server
