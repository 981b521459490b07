// How a supervised program ended: the value a scenario judges ("the daemon
// crashed with SIGSEGV", "exited 1", "killed by our SIGKILL").
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace rmtfs_hil::server {

struct Exited {
    int code = 0;
    bool operator==(const Exited&) const = default;
};

// Ended by a signal. A crash that dumped core is still this, with its signal:
// core_dumped only says the kernel wrote (or piped) a core for it.
struct Killed {
    int signal = 0;
    bool core_dumped = false;
    bool operator==(const Killed&) const = default;
};

// The keeper process that watched the program died (killed from outside, e.g.
// by the OOM killer), so the program's own status is unknown. The program
// itself was killed by its parent-death signal (SIGKILL).
struct SupervisionLost {
    bool operator==(const SupervisionLost&) const = default;
};

class ProcessExit {
public:
    using Outcome = std::variant<Exited, Killed, SupervisionLost>;

    // GCC 12 at -O2 warns that copying the variant reads the bytes an Exited
    // leaves unused in its storage (Killed is larger): a false positive.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
    ProcessExit(Outcome outcome) : outcome_(outcome) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
    static ProcessExit exited(int code) { return ProcessExit(Exited{code}); }
    static ProcessExit killed(int signal, bool core_dumped = false) { return ProcessExit(Killed{signal, core_dumped}); }
    // From waitid()'s si_code (CLD_EXITED / CLD_KILLED / CLD_DUMPED) and si_status.
    static ProcessExit from_child_status(int code, int status);

    const Outcome& outcome() const { return outcome_; }
    bool is_exit() const { return std::holds_alternative<Exited>(outcome_); }
    bool is_signal() const { return std::holds_alternative<Killed>(outcome_); }
    bool success() const { return is_exit() && std::get<Exited>(outcome_).code == 0; }
    // Ended by a signal of its own making (SEGV, ABRT, BUS, ...) or dumped core:
    // what the "server did not crash" invariant looks for. A TERM or KILL is not
    // a crash: somebody sent it.
    bool crashed() const;

    // "exited 0", "killed by SIGSEGV (core dumped)", "supervision lost".
    std::string describe() const;

    bool operator==(const ProcessExit&) const = default;

private:
    Outcome outcome_;
};

// describe(): what a failed test assertion shows.
inline std::ostream& operator<<(std::ostream& out, const ProcessExit& exit) { return out << exit.describe(); }

// "SIGSEGV"; "signal 42" for numbers without a name.
std::string signal_name(int signal);
// The inverse, for the standard signals ("SIGKILL" -> 9).
std::optional<int> signal_named(std::string_view name);
// Every standard signal's name, in number order.
const std::vector<std::string>& signal_names();

}  // namespace rmtfs_hil::server
