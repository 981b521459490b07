#include "sim/coupling.hpp"

#include <stdexcept>

#include "proto/rmtfs.hpp"

namespace rmtfs_hil::sim {

ModemCoupling::ModemCoupling(CouplingPolicy policy, Remoteproc& remoteproc, NameService* name_service, Actions actions,
                             bool recovery)
    : policy_(policy),
      remoteproc_(remoteproc),
      name_service_(name_service),
      actions_(std::move(actions)),
      recovery_(recovery) {
    switch (policy_) {
        case CouplingPolicy::manual: break;
        case CouplingPolicy::rmtfs_sysfs:
            remoteproc_watch_ = remoteproc_.watch([this](const Remoteproc&, const Remoteproc::Change& change) {
                if (change.error != 0 || change.before == change.after) return;
                if (change.command == "start" && change.after == RemoteprocState::running) actions_.boot_modem();
                if (change.command == "stop" && change.after == RemoteprocState::offline) actions_.stop_modem();
            });
            break;
        case CouplingPolicy::service_watch:
            if (name_service_ == nullptr)
                throw std::invalid_argument("the service-watch policy needs the kernel's name service to watch");
            name_service_watch_ = name_service_->watch([this](const NameService::Server& server, bool added) {
                if (server.service != rmtfs::service_id) return;
                if (added && remoteproc_.state() == RemoteprocState::offline) {
                    remoteproc_.set_state(RemoteprocState::running, "service-watch: service 14 appeared");
                    actions_.boot_modem();
                } else if (!added && remoteproc_.state() == RemoteprocState::running) {
                    remoteproc_.set_state(RemoteprocState::offline, "service-watch: service 14 went away");
                    actions_.stop_modem();
                }
            });
            break;
        case CouplingPolicy::mem_open: break;  // memory_device() is told of the opens
    }
}

ModemCoupling::~ModemCoupling() {
    if (remoteproc_watch_) remoteproc_.unwatch(*remoteproc_watch_);
    if (name_service_watch_) name_service_->unwatch(*name_service_watch_);
}

void ModemCoupling::memory_device(bool opened, unsigned open_count) {
    if (policy_ != CouplingPolicy::mem_open) return;
    if (opened && open_count == 1 && remoteproc_.state() == RemoteprocState::offline) {
        remoteproc_.set_state(RemoteprocState::running, "mem-open: first open of the rmtfs_mem device");
        actions_.boot_modem();
    } else if (!opened && open_count == 0 && remoteproc_.state() == RemoteprocState::running) {
        remoteproc_.set_state(RemoteprocState::offline, "mem-open: last close of the rmtfs_mem device");
        actions_.stop_modem();
    }
}

void ModemCoupling::modem_crashed(const std::string& reason) {
    // A processor stopped in the meantime has nothing left to crash.
    if (remoteproc_.state() != RemoteprocState::running) return;
    remoteproc_.set_state(RemoteprocState::crashed, "modem crashed: " + reason);
    if (!recovery_) return;
    // The kernel's subsystem restart: shut down, boot again.
    actions_.stop_modem();
    remoteproc_.set_state(RemoteprocState::running, "recovery");
    actions_.boot_modem();
}

}  // namespace rmtfs_hil::sim
