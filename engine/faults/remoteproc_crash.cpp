// remoteproc_crash: one remote processor dies on its own (a watchdog bite);
// {"index": i} picks it (default 0, the modem).
#include "engine/fault.hpp"
#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

namespace {

class RemoteprocCrashFault final : public Fault {
public:
    explicit RemoteprocCrashFault(std::size_t index) : index_(index) {}
    Capabilities needs() const override { return {Capability::remoteproc_control}; }
    std::string describe() const override { return "remoteproc " + std::to_string(index_) + " crashes"; }
    void fire(Target& target, FaultFired&) const override { target.crash_remoteproc(index_); }

private:
    std::size_t index_;
};

std::unique_ptr<Fault> load(ScenarioReader& reader, const Field& f) {
    std::size_t index = 0;
    reader.get_index(reader.field(f, "index"), index, "remoteproc");
    return std::make_unique<RemoteprocCrashFault>(index);
}

}  // namespace

extern const std::vector<FaultKind> remoteproc_crash_faults{{"remoteproc_crash", 90, {"index"}, load}};

}  // namespace rmtfs_hil::engine
