// Who starts and stops the modem: each policy is one side of the argument
// about the modem's dependence on the RMTFS daemon (ARCHITECTURE.md §5).
//
//   manual         the scenario boots and stops the modem itself
//   rmtfs-sysfs    the daemon writing start / stop to the remoteproc's state (rmtfs -s)
//   service-watch  the RMTFS service appearing / disappearing in the name service
//   mem-open       the first open / last close of /dev/qcom_rmtfs_mem1
//
// The coupling also carries the kernel's crash handling: a modem that dies
// marks its remoteproc crashed, and with recovery on, the subsystem restart
// boots it again.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "proto/names.hpp"
#include "sim/name_service.hpp"
#include "sim/remoteproc.hpp"

namespace rmtfs_hil::sim {

enum class CouplingPolicy { manual, rmtfs_sysfs, service_watch, mem_open };
}  // namespace rmtfs_hil::sim

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::sim::CouplingPolicy> {
    using P = rmtfs_hil::sim::CouplingPolicy;
    static constexpr std::array entries{Named{P::manual, "manual"}, Named{P::rmtfs_sysfs, "rmtfs-sysfs"},
                                        Named{P::mem_open, "mem-open"}, Named{P::service_watch, "service-watch"}};
};

namespace rmtfs_hil::sim {
inline std::string_view to_string(CouplingPolicy policy) { return name_of(policy); }

class ModemCoupling {
public:
    struct Actions {
        std::function<void()> boot_modem;  // the remote processor came up
        std::function<void()> stop_modem;  // it went down
    };

    // `name_service`: the in-kernel one the service-watch policy follows;
    // nullptr when there is none (service-watch then throws std::invalid_argument).
    ModemCoupling(CouplingPolicy policy, Remoteproc& remoteproc, NameService* name_service, Actions actions,
                  bool recovery = true);

    ~ModemCoupling();
    ModemCoupling(const ModemCoupling&) = delete;
    ModemCoupling& operator=(const ModemCoupling&) = delete;

    CouplingPolicy policy() const { return policy_; }
    // The rmtfs_mem device was opened or closed (the harness's watch of the
    // daemon's files tells); `open_count` open descriptions remain. Only the
    // mem-open policy acts on it.
    void memory_device(bool opened, unsigned open_count);
    // The modem died on its own: remoteproc crashed, then recovered if enabled.
    void modem_crashed(const std::string& reason);

private:
    CouplingPolicy policy_;
    Remoteproc& remoteproc_;
    NameService* name_service_;
    std::optional<std::size_t> remoteproc_watch_;
    std::optional<std::size_t> name_service_watch_;
    Actions actions_;
    bool recovery_;
};

}  // namespace rmtfs_hil::sim
