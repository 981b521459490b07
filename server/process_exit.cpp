#include "server/process_exit.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <cstring>

#include "proto/contract.hpp"

namespace rmtfs_hil::server {

ProcessExit ProcessExit::from_child_status(int code, int status) {
    switch (code) {
        case CLD_EXITED: return exited(status);
        case CLD_KILLED: return killed(status, false);
        case CLD_DUMPED: return killed(status, true);
    }
    RMTFS_HIL_ASSERT(false, "waitid reported an end that is neither exit nor death by signal");
}

bool ProcessExit::crashed() const {
    const auto* death = std::get_if<Killed>(&outcome_);
    if (death == nullptr) return false;
    if (death->core_dumped) return true;
    switch (death->signal) {
        case SIGSEGV:
        case SIGBUS:
        case SIGILL:
        case SIGFPE:
        case SIGABRT:
        case SIGTRAP:
        case SIGSYS:
            return true;
    }
    return false;
}

std::string ProcessExit::describe() const {
    if (const auto* end = std::get_if<Exited>(&outcome_)) return "exited " + std::to_string(end->code);
    if (const auto* death = std::get_if<Killed>(&outcome_))
        return "killed by " + signal_name(death->signal) + (death->core_dumped ? " (core dumped)" : "");
    return "supervision lost (keeper process died; the program was killed by its parent-death signal)";
}

std::string signal_name(int signal) {
    if (const char* abbreviation = sigabbrev_np(signal)) return std::string("SIG") + abbreviation;
    return "signal " + std::to_string(signal);
}

namespace {
constexpr int last_standard_signal = 31;
}

std::optional<int> signal_named(std::string_view name) {
    for (int n = 1; n <= last_standard_signal; ++n)
        if (sigabbrev_np(n) != nullptr && signal_name(n) == name) return n;
    return std::nullopt;
}

const std::vector<std::string>& signal_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (int n = 1; n <= last_standard_signal; ++n)
            if (sigabbrev_np(n) != nullptr) out.push_back(signal_name(n));
        return out;
    }();
    return names;
}

}  // namespace rmtfs_hil::server
