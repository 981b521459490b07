// How a run learns that it should stop (Ctrl-C), and how a waiting loop
// learns it without looking on a timer.
#pragma once

#include <atomic>
#include <functional>

namespace rmtfs_hil::engine {

// Asked between steps and between a loop's handlers. `wake_fd`, when there is
// one, becomes readable once the stop is requested: a loop waiting on it
// wakes at once. Without one (Python's signals can only be asked about), a
// waiting loop looks every interrupt_poll.
struct Interrupt {
    std::function<bool()> requested;
    int wake_fd = -1;

    bool operator()() const { return requested && requested(); }
    explicit operator bool() const { return static_cast<bool>(requested); }
};

// A stop request set from a signal handler, shared by every run of a suite.
class StopRequest {
public:
    StopRequest();  // throws std::system_error when no pipe can be had
    ~StopRequest();
    StopRequest(const StopRequest&) = delete;
    StopRequest& operator=(const StopRequest&) = delete;

    void request() noexcept;  // async-signal-safe
    bool requested() const noexcept { return requested_.load(); }
    // Asks this request; wakes on its pipe.
    Interrupt interrupt() const;

private:
    std::atomic<bool> requested_{false};
    int pipe_[2] = {-1, -1};
};

}  // namespace rmtfs_hil::engine
