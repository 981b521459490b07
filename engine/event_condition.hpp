// Something that becomes true in a world: the service appears, the daemon
// exits, a modem reaches a state, a log line shows up. Wait steps wait for
// one; triggers fire a fault when one happens.
#pragma once

#include <cstdint>
#include <string>

#include "proto/names.hpp"

namespace rmtfs_hil::engine {

class Target;
class ScenarioReader;
struct Field;

enum class WaitEvent {
    service_published,
    service_gone,
    daemon_exit,
    daemon_started,
    modem_state,
    remoteproc_state,
    log,
    syncs,
    boot_finished,
    restarts,
};

struct EventCondition {
    WaitEvent event = WaitEvent::service_published;
    std::size_t index = 0;    // modem_state, remoteproc_state, syncs, boot_finished: the modem / remoteproc
    std::string state;        // modem_state, remoteproc_state
    std::string text;         // log: a substring of a line of the daemon's
    std::uint32_t count = 1;  // syncs, restarts, log (lines), boot_finished (the nth boot)

    bool holds(Target& target) const;
    // "modem_state running", "log 'sending stop'"
    std::string describe() const;
};

// The keys of a condition: "event", and per event "index", "state", "text",
// "count" (the caller checks that no other key is there).
inline constexpr const char* event_condition_keys[] = {"event", "index", "state", "text", "count"};
void load_event_condition(ScenarioReader& reader, const Field& f, EventCondition& out);

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::WaitEvent> {
    using E = rmtfs_hil::engine::WaitEvent;
    static constexpr std::array entries{
        Named{E::service_published, "service_published"}, Named{E::service_gone, "service_gone"},
        Named{E::daemon_exit, "daemon_exit"},             Named{E::daemon_started, "daemon_started"},
        Named{E::modem_state, "modem_state"},             Named{E::remoteproc_state, "remoteproc_state"},
        Named{E::log, "log"},                             Named{E::syncs, "syncs"},
        Named{E::boot_finished, "boot_finished"},         Named{E::restarts, "restarts"}};
};
