// When an armed fault fires: at once, when the k-th request of a type
// reaches the daemon (before the daemon can read it), after the daemon's
// k-th sector write (inside that write call), at a time offset from arming,
// or when an event happens in the world (the condition of a wait step).
#pragma once

#include <cstdint>
#include <string>

#include "engine/event_condition.hpp"
#include "proto/names.hpp"
#include "proto/rmtfs.hpp"

namespace rmtfs_hil::engine {

enum class TriggerKind { now, request, after_write, after_ms, event };

struct Trigger {
    TriggerKind kind = TriggerKind::now;
    rmtfs::MessageId request = rmtfs::MessageId::open;  // request
    std::optional<std::size_t> modem;  // request: only this modem's requests count; nullopt: anyone's
    std::uint32_t nth = 1;             // request, after_write
    std::string file;                  // after_write: only writes to this storage file; empty: any
    std::uint32_t after_ms = 0;        // after_ms
    EventCondition event;              // event

    // "the 2nd RW_IOVEC request reaching the daemon", "when service_gone"
    std::string describe() const;
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::TriggerKind> {
    using T = rmtfs_hil::engine::TriggerKind;
    static constexpr std::array entries{Named{T::now, "now"}, Named{T::request, "request"},
                                        Named{T::after_write, "after_write"}, Named{T::after_ms, "after_ms"},
                                        Named{T::event, "event"}};
};
