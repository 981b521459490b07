#include "engine/interrupt.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace rmtfs_hil::engine {

StopRequest::StopRequest() {
    if (::pipe2(pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::system_error(errno, std::generic_category(), "a pipe for the stop request");
}

StopRequest::~StopRequest() {
    ::close(pipe_[0]);
    ::close(pipe_[1]);
}

void StopRequest::request() noexcept {
    requested_.store(true);
    const char byte = 1;
    // Once is enough: the pipe stays readable. A full pipe already wakes.
    [[maybe_unused]] ssize_t written = ::write(pipe_[1], &byte, 1);
}

Interrupt StopRequest::interrupt() const {
    return Interrupt{[this] { return requested(); }, pipe_[0]};
}

}  // namespace rmtfs_hil::engine
