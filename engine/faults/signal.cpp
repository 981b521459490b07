// sigkill, sigterm, sigstop, sigcont: a signal to the daemon's process group.
#include <csignal>

#include "engine/fault.hpp"
#include "server/process_exit.hpp"

namespace rmtfs_hil::engine {

namespace {

class SignalFault final : public Fault {
public:
    explicit SignalFault(int signal_number) : signal_(signal_number) {}
    Capabilities needs() const override { return {Capability::daemon_control}; }
    std::string describe() const override { return server::signal_name(signal_) + " to the daemon"; }
    std::vector<int> signals() const override { return {signal_}; }
    bool instant() const override { return true; }
    void fire(Target& target, FaultFired&) const override { target.signal_daemon(signal_); }

private:
    int signal_;
};

template <int signal_number>
std::unique_ptr<Fault> load(ScenarioReader&, const Field&) {
    return std::make_unique<SignalFault>(signal_number);
}

}  // namespace

extern const std::vector<FaultKind> signal_faults{
    {"sigkill", 10, {}, load<SIGKILL>},
    {"sigterm", 20, {}, load<SIGTERM>},
    {"sigstop", 30, {}, load<SIGSTOP>},
    {"sigcont", 40, {}, load<SIGCONT>},
};

}  // namespace rmtfs_hil::engine
