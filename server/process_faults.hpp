// Faults on the server process that land at an exact moment, each
// deterministic and repeatable:
//
//   at_request        when the k-th request of a type reaches the daemon: the
//                     action is taken before the datagram is in its socket,
//                     so a SIGKILL means the daemon never reads it;
//   after_write       after the daemon's k-th sector write to storage, while
//                     it is still inside that write call (mid-request): the
//                     (k+1)-th sector is never written;
//   after_delay       at a time offset from arming;
//   on_event          when its owner says so (fire()): a condition on the
//                     world the engine watches for.
//
// Counting starts when the fault is armed. Actions: SIGKILL, SIGTERM,
// SIGSTOP, SIGCONT to the daemon's process group, or a restart (SIGTERM at
// once, the start again once the daemon has ended).
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "proto/names.hpp"
#include "server/storage_watch.hpp"
#include "sim/fabric.hpp"

namespace rmtfs_hil::server {

enum class ProcessAction { sigkill, sigterm, sigstop, sigcont, restart };
}  // namespace rmtfs_hil::server

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::server::ProcessAction> {
    using A = rmtfs_hil::server::ProcessAction;
    static constexpr std::array entries{Named{A::sigkill, "sigkill"}, Named{A::sigterm, "sigterm"},
                                        Named{A::sigstop, "sigstop"}, Named{A::sigcont, "sigcont"},
                                        Named{A::restart, "restart"}};
};

namespace rmtfs_hil::server {
inline std::string_view to_string(ProcessAction action) { return name_of(action); }

struct AtRequest {
    std::uint16_t message_id = 0;  // QMI message id (RMTFS: 1 OPEN ... 5 GET_DEV_ERROR)
    unsigned nth = 1;
    std::optional<std::uint32_t> from_node;  // only requests from this QRTR node count; nullopt: any
};
struct AfterWrite {
    unsigned nth = 1;
    std::string file;  // a storage file name; empty: any
};
struct AfterDelay {
    std::chrono::milliseconds delay{0};
};
struct OnEvent {
    std::string condition;  // "when the modem has booted", for the trace
};
using ProcessTrigger = std::variant<AtRequest, AfterWrite, AfterDelay, OnEvent>;
// "the 3rd RW_IOVEC request reaching the daemon"
std::string describe(const ProcessTrigger& trigger);

struct FiredFault {
    std::size_t index = 0;
    std::string what;  // trigger and action, for the trace and reports
};

class ProcessFaults {
public:
    struct Target {
        // The daemon's pid now (nullopt: not running); its sockets are the
        // ones at_request watches.
        std::function<std::optional<pid_t>()> pid;
        // Send a signal to its process group.
        std::function<void(int signal)> signal;
        // Restart it (stop, then start again).
        std::function<void()> restart;
    };

    // Hooks into the fabric's deliveries and the storage watch's writes
    // (and unhooks in the destructor).
    ProcessFaults(boost::asio::io_context& io, sim::Fabric& fabric, StorageWatch& storage, Target target);
    ~ProcessFaults();
    ProcessFaults(const ProcessFaults&) = delete;
    ProcessFaults& operator=(const ProcessFaults&) = delete;

    std::size_t arm(ProcessTrigger trigger, ProcessAction action);
    // Any action at the trigger: it runs at the exact moment (before the
    // datagram is in the daemon's socket, inside its write call), so it must
    // not wait for anything itself. `what` names it in the trace.
    std::size_t arm(ProcessTrigger trigger, std::string what, std::function<void()> action);
    bool fired(std::size_t index) const;
    // Fires a fault now (an on_event one; any other that has not fired yet).
    void fire(std::size_t index);
    void on_fired(std::function<void(const FiredFault&)> listener) { listener_ = std::move(listener); }

private:
    struct Armed {
        ProcessTrigger trigger;
        std::string what;
        std::function<void()> action;
        unsigned seen = 0;
        bool fired = false;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };

    void delivered(std::uint32_t owner_pid, const sim::Datagram& datagram);
    void wrote(const StorageWrite& write);

    boost::asio::io_context& io_;
    sim::Fabric& fabric_;
    StorageWatch& storage_;
    Target target_;
    std::vector<Armed> armed_;
    std::function<void(const FiredFault&)> listener_;
};

}  // namespace rmtfs_hil::server
