// A rig against Debian's rmtfs for the integration tests: small images so
// boots are quick, and the trace at hand as evidence.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "engine/rig.hpp"

namespace rmtfs_hil::testing {

using namespace std::chrono_literals;

inline constexpr const char* real_rmtfs = "/usr/bin/rmtfs";

inline engine::RigOptions small_rig(sim::CouplingPolicy coupling = sim::CouplingPolicy::manual,
                                    sim::ServiceLoss on_service_loss = sim::ServiceLoss::fatal) {
    engine::RigOptions options;
    options.server = real_rmtfs;
    options.coupling = coupling;
    options.partition_bytes = 256 * 512;
    options.modems[0].config.on_service_loss = on_service_loss;
    options.modems[0].config.request_timeout = 2s;
    return options;
}

// Bytes of `sectors` sectors, different for each salt.
inline Bytes sector_data(std::uint32_t sectors, std::uint8_t salt) {
    Bytes data(static_cast<std::size_t>(sectors) * 512);
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = static_cast<std::uint8_t>(salt ^ (i / 512 * 7) ^ (i & 0xff));
    return data;
}

class RigTest : public ::testing::Test {
protected:
    // Makes the rig; skips when Debian's rmtfs is not there.
    void make(engine::RigOptions options) {
        if (!std::filesystem::exists(real_rmtfs)) GTEST_SKIP() << real_rmtfs << " is not installed (ci/setup.sh installs it)";
        auto created = engine::Rig::create(std::move(options));
        ASSERT_TRUE(created) << created.error();
        rig = std::move(*created);
    }

    // Starts the daemon and waits for its service.
    void start() {
        auto started = rig->start_daemon();
        ASSERT_TRUE(started) << started.error();
        ASSERT_TRUE(rig->wait_for_service()) << "service 14 never appeared" << evidence();
    }

    std::string evidence(std::size_t last = 80) const { return "\n--- trace ---\n" + rig->trace_text(last); }

    std::unique_ptr<engine::Rig> rig;
};

}  // namespace rmtfs_hil::testing
