// A stop request (Ctrl-C) reaches a rig's waits: through its wake descriptor,
// at once and without looking on a timer; without one, between handlers.
#include <gtest/gtest.h>

#include <poll.h>

#include <chrono>
#include <thread>

#include "engine/interrupt.hpp"
#include "tests/integration/rig_support.hpp"

namespace rmtfs_hil::testing {
namespace {

bool readable(int fd) {
    struct pollfd watch{fd, POLLIN, 0};
    return ::poll(&watch, 1, 0) == 1;
}

TEST(StopRequest, ItsWakeDescriptorIsReadableOnceRequested) {
    engine::StopRequest stop;
    engine::Interrupt interrupt = stop.interrupt();
    EXPECT_FALSE(interrupt());
    EXPECT_FALSE(readable(interrupt.wake_fd));
    stop.request();
    stop.request();
    EXPECT_TRUE(interrupt());
    EXPECT_TRUE(stop.requested());
    EXPECT_TRUE(readable(interrupt.wake_fd));
}

class InterruptedRig : public RigTest {};

TEST_F(InterruptedRig, AWakeDescriptorEndsAWaitWithoutLookingOnATimer) {
    make(small_rig());
    engine::StopRequest stop;
    unsigned asked = 0;
    rig->set_interrupt(
        [&] {
            ++asked;
            return stop.requested();
        },
        stop.interrupt().wake_fd);
    // Nothing happens in this world but the starvation watch: a wait that
    // looked on a timer would ask every interrupt poll (50 ms).
    EXPECT_FALSE(rig->run_until([] { return false; }, 400ms));
    EXPECT_LE(asked, 2u + 400ms / engine::starvation_watch_period) << "the interrupt was looked at on a timer";

    std::thread requester([&] {
        std::this_thread::sleep_for(100ms);
        stop.request();
    });
    auto begun = std::chrono::steady_clock::now();
    EXPECT_FALSE(rig->run_until([] { return false; }, 60s));
    requester.join();
    EXPECT_LT(std::chrono::steady_clock::now() - begun, 30s) << "the request did not end the wait";
}

TEST_F(InterruptedRig, WithoutOneTheCheckIsAskedWhileTheLoopIsQuiet) {
    make(small_rig());
    bool stop = false;
    unsigned asked = 0;
    rig->set_interrupt([&] {
        if (++asked == 3) stop = true;
        return stop;
    });
    EXPECT_FALSE(rig->run_until([] { return false; }, 60s));
    EXPECT_GE(asked, 3u);
}

}  // namespace
}  // namespace rmtfs_hil::testing
