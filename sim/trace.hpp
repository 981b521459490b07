// One trace of everything that happens in the simulated world: every packet,
// socket, name-service change, process line and fault becomes an event here.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "proto/names.hpp"

namespace rmtfs_hil::sim {

enum class TraceSource {
    fabric,        // sockets, local delivery, links
    name_service,  // servers and lookups
    remoteproc,    // state file reads and writes, transitions
    server,        // the daemon's process and output
    harness,       // the harness itself
};
}  // namespace rmtfs_hil::sim

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::sim::TraceSource> {
    using S = rmtfs_hil::sim::TraceSource;
    static constexpr std::array entries{Named{S::fabric, "fabric"}, Named{S::name_service, "ns"},
                                        Named{S::remoteproc, "remoteproc"}, Named{S::server, "server"},
                                        Named{S::harness, "harness"}};
};

namespace rmtfs_hil::sim {
inline std::string_view to_string(TraceSource source) { return name_of(source); }

struct TraceEvent {
    std::chrono::steady_clock::time_point at;
    TraceSource source;
    std::string kind;    // short and stable: "bind", "deliver", "drop", "link_rx", "new_server", ...
    std::string detail;  // one line a person can read
};

using TraceSink = std::function<void(const TraceEvent&)>;

}  // namespace rmtfs_hil::sim
