// The board's own rmtfs, as its service manager runs it, and taking it out of
// the way of a kernel-transport run: the run's daemon must be the only server
// of the RMTFS service on the board's QRTR. The service is stopped before the
// first scenario and started again after the last — also when the agent is
// stopped by Ctrl-C or killed with its host gone: a guardian process, in its
// own session and deaf to signals, starts it again when the agent ends,
// however it ends.
//
// Commands are found under the board's root only (<root>/usr/bin, <root>/bin,
// <root>/system/bin), never on PATH, and run as argument lists without a
// shell: an emulated device's agent never reaches its host's service manager.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proto/expected.hpp"
#include "proto/names.hpp"

namespace rmtfs_hil::hil {

// systemd: <root>/run/systemd/system exists (as sd_booted() tells), the unit
// rmtfs.service. Android's init: <root>/system/bin/getprop exists, the
// service rmtfs (init.svc.rmtfs, ctl.stop / ctl.start).
enum class ServiceManager : std::uint8_t { systemd, android_init };

struct SystemService {
    ServiceManager manager = ServiceManager::systemd;
    std::string name;   // "rmtfs.service", or init's "rmtfs"
    std::string state;  // as the manager says it: "active", "running", "inactive", "stopped", ...
    bool running = false;  // a daemon runs, or the manager is about to start one
    // As the manager starts it (argv[0] first); empty when it cannot be read.
    std::vector<std::string> command_line;

    // Stopping it stops the board's modem and starting it starts it (rmtfs
    // -s); assumed when its command line is unknown.
    bool drives_modem() const;
    // "rmtfs.service (systemd, active: /usr/bin/rmtfs -r -P -s)"
    std::string describe() const;
};

// The board's rmtfs service, or nothing when its service manager has none
// (or the board has neither manager); an error when the manager's commands
// fail in a way that leaves it unknown.
Expected<std::optional<SystemService>, std::string> find_system_service(const std::filesystem::path& root);

// The board's modem as `rmtfs -s` finds it: the remoteproc whose device's
// modalias names -mpss-pas or -mss-pil, and its state ("running", "offline").
struct BoardModem {
    std::string remoteproc;  // "remoteproc0"
    std::string state;
};
std::optional<BoardModem> find_board_modem(const std::filesystem::path& root);

// A sysfs attribute's first line (without the newline), or nothing when it
// cannot be opened. Read with open and read, not a stream: a world's
// remoteproc state is answered by its preload shim with no descriptor
// behind a FILE.
std::optional<std::string> read_board_attribute(const std::filesystem::path& file);

// A stopped system service, watched over until it runs again.
class StoppedService {
public:
    // Starts the guardian, then stops the service and waits until its daemon
    // is gone. Call it while the agent has no other thread (it forks). On an
    // error the service is started again before it returns.
    static Expected<std::unique_ptr<StoppedService>, std::string> stop(const std::filesystem::path& root,
                                                                        SystemService service);
    // The guardian starts the service again; waits until it runs (bounded).
    // What went wrong, if anything. Once; the destructor does it otherwise.
    std::optional<std::string> restore();
    ~StoppedService();
    StoppedService(const StoppedService&) = delete;
    StoppedService& operator=(const StoppedService&) = delete;

    const SystemService& service() const { return service_; }

private:
    StoppedService(std::filesystem::path root, SystemService service, pid_t guardian, int watch_fd)
        : root_(std::move(root)), service_(std::move(service)), guardian_(guardian), watch_fd_(watch_fd) {}

    std::filesystem::path root_;
    SystemService service_;
    pid_t guardian_ = -1;
    int watch_fd_ = -1;  // its end closed, the guardian acts
    bool restored_ = false;
};

}  // namespace rmtfs_hil::hil

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::hil::ServiceManager> {
    using T = rmtfs_hil::hil::ServiceManager;
    static constexpr std::array entries{Named{T::systemd, "systemd"}, Named{T::android_init, "init"}};
};
