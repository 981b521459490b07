#include "engine/target.hpp"

#include <filesystem>
#include <fstream>
#include <string>

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

std::optional<DaemonResources> process_resources(int pid) {
    std::error_code error;
    std::size_t files = 0;
    for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error);
         !error && it != std::filesystem::directory_iterator(); it.increment(error))
        ++files;
    if (error) return std::nullopt;
    std::size_t resident_kb = 0;
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) resident_kb = std::stoul(line.substr(6));
    return DaemonResources{pid, files, resident_kb};
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
