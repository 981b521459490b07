// One trace of everything that happens in the simulated world: every packet,
// socket, name-service change, process line and fault becomes an event here.
// An event is typed: an enum source and kind (names beside them, for reports),
// structured fields for what a program reads, and a detail line for people.
// Nothing reads the detail back.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "proto/names.hpp"

namespace rmtfs_hil::sim {

enum class TraceSource {
    fabric,        // sockets, local delivery, links
    ns,            // the simulated name service: servers and lookups
    name_service,  // a userspace name service process (qrtr-ns)
    remoteproc,    // state file reads and writes, transitions
    server,        // the daemon's process and output
    modem,         // a simulated modem
    harness,       // the harness itself
};

enum class TraceKind {
    // fabric
    socket, bind, bind_failed, close, netreset, deliver, drop, link_tx, link_rx, flow_wait, flow_resume, link_up,
    link_down, node,
    // name service
    hello, bye, new_server, del_server, new_lookup, reject, ignore,
    // modems
    modem_state, state, open_skipped, server_up, server_down, service_lost, crashed, recovered, booted, boot_failed,
    // the remote processor's state file
    open,
    // processes
    log, started, ended, stopped, continued, gave_up, start_failed,
    // the daemon's files
    io_fault, memory_open, memory_close, past_end,
    // the harness
    fault_armed, fault, io_fault_armed, signal, restart, power_loss, reverted, network_reset, name_service, error,
    durability_error, shim_protocol_error,
};

}  // namespace rmtfs_hil::sim

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::sim::TraceSource> {
    using S = rmtfs_hil::sim::TraceSource;
    static constexpr std::array entries{Named{S::fabric, "fabric"},         Named{S::ns, "ns"},
                                        Named{S::name_service, "name_service"}, Named{S::remoteproc, "remoteproc"},
                                        Named{S::server, "server"},         Named{S::modem, "modem"},
                                        Named{S::harness, "harness"}};
};

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::sim::TraceKind> {
    using K = rmtfs_hil::sim::TraceKind;
    static constexpr std::array entries{
        Named{K::socket, "socket"},
        Named{K::bind, "bind"},
        Named{K::bind_failed, "bind_failed"},
        Named{K::close, "close"},
        Named{K::netreset, "netreset"},
        Named{K::deliver, "deliver"},
        Named{K::drop, "drop"},
        Named{K::link_tx, "link_tx"},
        Named{K::link_rx, "link_rx"},
        Named{K::flow_wait, "flow_wait"},
        Named{K::flow_resume, "flow_resume"},
        Named{K::link_up, "link_up"},
        Named{K::link_down, "link_down"},
        Named{K::node, "node"},
        Named{K::hello, "hello"},
        Named{K::bye, "bye"},
        Named{K::new_server, "new_server"},
        Named{K::del_server, "del_server"},
        Named{K::new_lookup, "new_lookup"},
        Named{K::reject, "reject"},
        Named{K::ignore, "ignore"},
        Named{K::modem_state, "modem_state"},
        Named{K::state, "state"},
        Named{K::open_skipped, "open_skipped"},
        Named{K::server_up, "server_up"},
        Named{K::server_down, "server_down"},
        Named{K::service_lost, "service_lost"},
        Named{K::crashed, "crashed"},
        Named{K::recovered, "recovered"},
        Named{K::booted, "booted"},
        Named{K::boot_failed, "boot_failed"},
        Named{K::open, "open"},
        Named{K::log, "log"},
        Named{K::started, "started"},
        Named{K::ended, "ended"},
        Named{K::stopped, "stopped"},
        Named{K::continued, "continued"},
        Named{K::gave_up, "gave_up"},
        Named{K::start_failed, "start_failed"},
        Named{K::io_fault, "io_fault"},
        Named{K::memory_open, "memory_open"},
        Named{K::memory_close, "memory_close"},
        Named{K::past_end, "past_end"},
        Named{K::fault_armed, "fault_armed"},
        Named{K::fault, "fault"},
        Named{K::io_fault_armed, "io_fault_armed"},
        Named{K::signal, "signal"},
        Named{K::restart, "restart"},
        Named{K::power_loss, "power_loss"},
        Named{K::reverted, "reverted"},
        Named{K::network_reset, "network_reset"},
        Named{K::name_service, "name_service"},
        Named{K::error, "error"},
        Named{K::durability_error, "durability_error"},
        Named{K::shim_protocol_error, "shim_protocol_error"},
    };
};

namespace rmtfs_hil::sim {
inline std::string_view to_string(TraceSource source) { return name_of(source); }
inline std::string_view to_string(TraceKind kind) { return name_of(kind); }

// A fault acting on the world (a signal, a restart, power loss, a network
// reset, a fault at a trigger, an I/O fault meeting a call): where recovery
// is timed from, and what reports draw in the harness's lane.
constexpr bool is_fault(TraceSource source, TraceKind kind) {
    if (source == TraceSource::modem) return false;
    switch (kind) {
        case TraceKind::fault:
        case TraceKind::io_fault:
        case TraceKind::power_loss:
        case TraceKind::network_reset:
        case TraceKind::signal:
        case TraceKind::restart: return true;
        default: return false;
    }
}

// A QRTR packet: its endpoints, and for DATA its QMI header when it has one.
struct TracePacket {
    std::string type;  // the QRTR packet type: "DATA", "NEW_SERVER", "RESUME_TX", ...
    std::uint32_t from_node = 0, from_port = 0, to_node = 0, to_port = 0;
    std::uint32_t bytes = 0;  // payload
    std::string link;         // the link it crossed (link_tx, link_rx); empty for a local delivery
    std::string qmi;          // "request", "response", "indication"; empty: not QMI
    std::uint16_t message_id = 0;
    std::uint16_t txn = 0;
    std::string message;  // the RMTFS name of message_id ("RW_IOVEC"); empty when unknown
    bool operator==(const TracePacket&) const = default;
};

// How a process ended: an exit status or a signal.
struct TraceExit {
    std::optional<int> code;    // exited
    std::optional<int> signal;  // killed
    bool core_dumped = false;
    bool operator==(const TraceExit&) const = default;
};

// What a program reads of an event; each field is there where the kind has it.
struct TraceFields {
    std::optional<TracePacket> packet;     // deliver, link_tx, link_rx, drop of a packet
    std::optional<TraceExit> exit;         // ended
    std::optional<std::uint32_t> pid;      // started, signal
    std::optional<std::size_t> fault;      // fault_armed, fault: the fault's id, in the order armed
    std::optional<std::size_t> io_fault;   // io_fault_armed, io_fault: the I/O fault's id, in the order armed
    std::optional<std::string> file;       // the storage file ("modem_fs1") of an io_fault, reverted
    std::optional<std::uint64_t> sector;   // and where in it (io_fault on a read or write)
    std::optional<std::string> state;      // modem_state, state: the state reached
    bool operator==(const TraceFields&) const = default;
};

struct TraceEvent {
    std::chrono::steady_clock::time_point at;
    TraceSource source;
    TraceKind kind;
    std::string detail;  // one line a person can read
    TraceFields fields;
};

using TraceSink = std::function<void(const TraceEvent&)>;

}  // namespace rmtfs_hil::sim
