#include "engine/event_condition.hpp"

#include "engine/scenario_reader.hpp"
#include "engine/target.hpp"

namespace rmtfs_hil::engine {

bool EventCondition::holds(Target& target) const {
    switch (event) {
        case WaitEvent::service_published: return target.service_published();
        case WaitEvent::service_gone: return !target.service_published();
        case WaitEvent::daemon_exit: return !target.daemon_running();
        case WaitEvent::daemon_started: return target.daemon_running();
        case WaitEvent::modem_state: return sim::to_string(target.modem_state(index)) == state;
        case WaitEvent::remoteproc_state: return sim::to_string(target.remoteproc_state(index)) == state;
        case WaitEvent::log: {
            std::uint32_t seen = 0;
            for (const auto& line : target.daemon_log()) seen += line.find(text) != std::string::npos;
            return seen >= count;
        }
        case WaitEvent::syncs: return target.syncs_completed(index) >= count;
        case WaitEvent::boot_finished: return target.boots_finished(index) >= count;
        case WaitEvent::restarts: return target.daemon_starts() >= count + 1;
    }
    RMTFS_HIL_ASSERT(false, "an event without a case");
    return false;
}

std::string EventCondition::describe() const {
    std::string what(name_of(event));
    switch (event) {
        case WaitEvent::modem_state:
        case WaitEvent::remoteproc_state: return what + " " + state;
        case WaitEvent::log: return what + " '" + text + "'";
        case WaitEvent::syncs:
        case WaitEvent::restarts: return what + " " + std::to_string(count);
        case WaitEvent::boot_finished:
            return "boot " + std::to_string(count) + " of modem " + std::to_string(index) + " finished";
        default: return what;
    }
}

void load_event_condition(ScenarioReader& reader, const Field& f, EventCondition& out) {
    bool event_ok = reader.get_enum(reader.field(f, "event"), out.event, "event");
    reader.get_uint(reader.field(f, "index"), out.index, 0, u32_max);
    reader.get_string(reader.field(f, "text"), out.text, true);
    reader.get_uint(reader.field(f, "count"), out.count, 1);
    if (!event_ok) return;
    const WaitEvent e = out.event;
    const std::string name(name_of(e));
    Field state = reader.field(f, "state");
    if (e == WaitEvent::modem_state || e == WaitEvent::remoteproc_state) {
        if (!state) reader.error(f.pointer, "event '" + name + "' needs 'state'");
        if (e == WaitEvent::modem_state)
            reader.get_name(state, out.state, names_of<sim::ModemState>(), "modem state");
        else
            reader.get_name(state, out.state, names_of<sim::RemoteprocState>(), "remoteproc state");
    } else {
        reader.reject(f, "state", "'state' is only for events 'modem_state' and 'remoteproc_state'");
    }
    if (e == WaitEvent::log) {
        if (!f->contains("text")) reader.error(f.pointer, "event 'log' needs 'text'");
    } else {
        reader.reject(f, "text", "'text' is only for event 'log'");
    }
    bool counts = e == WaitEvent::syncs || e == WaitEvent::boot_finished || e == WaitEvent::restarts || e == WaitEvent::log;
    if (!counts) reader.reject(f, "count", "'count' is only for events 'syncs', 'boot_finished', 'restarts' and 'log'");
    bool indexed = e == WaitEvent::modem_state || e == WaitEvent::remoteproc_state || e == WaitEvent::boot_finished ||
                   e == WaitEvent::syncs;
    if (!indexed) {
        reader.reject(f, "index", "'index' is only for events 'modem_state', 'remoteproc_state', 'boot_finished' and 'syncs'");
    } else if (f->contains("index")) {
        reader.check_modem_index(out.index, child(f.pointer, "index"),
                                 e == WaitEvent::remoteproc_state ? "remoteproc" : "modem");
    }
}

}  // namespace rmtfs_hil::engine
