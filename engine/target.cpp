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

sim::TraceExit trace_exit(const server::ProcessExit& exit) {
    sim::TraceExit out;
    if (const auto* exited = std::get_if<server::Exited>(&exit.outcome())) out.code = exited->code;
    if (const auto* killed = std::get_if<server::Killed>(&exit.outcome())) {
        out.signal = killed->signal;
        out.core_dumped = killed->core_dumped;
    }
    return out;  // supervision lost: neither is known
}

}  // namespace rmtfs_hil::engine
