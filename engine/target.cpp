#include "engine/target.hpp"

namespace rmtfs_hil::engine {

std::string DaemonStatus::describe() const {
    switch (state) {
        case State::not_started: return "not started";
        case State::running: return "running";
        case State::stopped: return "stopped";
        case State::ended: return exit ? exit->describe() : "ended";
    }
    RMTFS_HIL_ASSERT(false, "a daemon state without a case");
    return {};
}

}  // namespace rmtfs_hil::engine
