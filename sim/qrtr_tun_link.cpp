#include "sim/qrtr_tun_link.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>


namespace rmtfs_hil::sim {

namespace {
// The largest packet the kernel hands a tun reader: header and a 64 KiB payload.
constexpr std::size_t packet_max_bytes = 64 * 1024 + 64;
}  // namespace

Expected<std::unique_ptr<QrtrTunLink>, std::string> QrtrTunLink::open(boost::asio::io_context& io,
                                                                       const std::filesystem::path& device) {
    int fd = ::open(device.c_str(), O_RDWR | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int error = errno;
        std::string why = device.string() + ": " + std::strerror(error);
        if (error == ENOENT) why += " (the kernel has no CONFIG_QRTR_TUN, or qrtr-tun is not loaded: modprobe qrtr-tun)";
        if (error == EACCES) why += " (opening it needs root)";
        return unexpected(why);
    }
    return std::make_unique<QrtrTunLink>(io, fd);
}

QrtrTunLink::QrtrTunLink(boost::asio::io_context& io, int fd) : descriptor_(io, fd) {
    boost::system::error_code ignored;
    descriptor_.non_blocking(true, ignored);
    wait_for_packet();
}

QrtrTunLink::~QrtrTunLink() {
    *alive_ = false;
    boost::system::error_code ignored;
    descriptor_.close(ignored);
}

void QrtrTunLink::wait_for_packet() {
    descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                           [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
                               if (error || !alive.lock()) return;
                               Bytes packet(packet_max_bytes);
                               ssize_t got = ::read(descriptor_.native_handle(), packet.data(), packet.size());
                               if (got < 0 && (errno == EAGAIN || errno == EINTR)) return wait_for_packet();
                               if (got <= 0) return went_down(got == 0 ? "end of file" : std::strerror(errno));
                               packet.resize(static_cast<std::size_t>(got));
                               ++received_;
                               // The listener may close the link from inside; check before waiting again.
                               if (on_receive) on_receive(packet);
                               if (alive.lock() && descriptor_.is_open()) wait_for_packet();
                           });
}

void QrtrTunLink::transmit(ByteView packet) {
    if (!descriptor_.is_open()) return;  // down: what a dead link carries is lost
    ssize_t sent = ::write(descriptor_.native_handle(), packet.data(), packet.size());
    if (sent == static_cast<ssize_t>(packet.size())) return;
    ++refused_;
    last_error_ = sent < 0 ? std::strerror(errno) : "short write of " + std::to_string(sent) + " bytes";
    if (sent < 0 && errno != EINVAL && errno != EAGAIN && errno != ENOBUFS) went_down(last_error_);
}

void QrtrTunLink::close() {
    boost::system::error_code ignored;
    descriptor_.close(ignored);
}

void QrtrTunLink::went_down(const std::string& why) {
    last_error_ = why;
    close();
    if (on_down) on_down();
}

}  // namespace rmtfs_hil::sim
