// One seed per test run, printed so any failure can be replayed:
// RMTFS_HIL_SEED=<n> reruns with the same random inputs.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

namespace rmtfs_hil::testing {

inline std::uint64_t run_seed() {
    static const std::uint64_t seed = [] {
        if (const char* text = std::getenv("RMTFS_HIL_SEED"); text != nullptr && *text != '\0')
            return static_cast<std::uint64_t>(std::strtoull(text, nullptr, 0));
        std::random_device device;
        return (static_cast<std::uint64_t>(device()) << 32) | device();
    }();
    return seed;
}

inline std::string replay_hint() {
    return "seed " + std::to_string(run_seed()) + ", replay with RMTFS_HIL_SEED=" + std::to_string(run_seed());
}

}  // namespace rmtfs_hil::testing
