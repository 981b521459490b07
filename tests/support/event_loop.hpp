// Tests wait on events, never on fixed sleeps: run the loop until a condition
// holds, with a deadline that only a broken build ever reaches.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <thread>

namespace rmtfs_hil::testing {

using namespace std::chrono_literals;

// Generous: a loaded CI machine under sanitizers is slow, a hang is a bug.
inline constexpr std::chrono::milliseconds event_deadline = 20s;

// Conditions may also look outside the loop (a process's state in /proc):
// the loop runs in slices this long so those are looked at again.
inline constexpr std::chrono::milliseconds condition_poll_interval = 5ms;

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds limit = event_deadline) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        if (io.stopped()) io.restart();
        if (io.run_one_for(condition_poll_interval) == 0)
            std::this_thread::sleep_for(1ms);  // no work queued: let time pass
    }
    return true;
}

}  // namespace rmtfs_hil::testing
