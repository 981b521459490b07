#include "engine/trigger.hpp"

#include "server/storage_watch.hpp"

namespace rmtfs_hil::engine {

std::string Trigger::describe() const {
    switch (kind) {
        case TriggerKind::now: return "now";
        case TriggerKind::request:
            return "the " + server::ordinal(nth) + " " + std::string(rmtfs::to_string(request)) + " request" +
                   (modem ? " from modem " + std::to_string(*modem) : std::string()) + " reaching the daemon";
        case TriggerKind::after_write:
            return "after the daemon's " + server::ordinal(nth) + " sector write" +
                   (file.empty() ? std::string(" to storage") : " to " + file);
        case TriggerKind::after_ms: return std::to_string(after_ms) + " ms after arming";
        case TriggerKind::event: return "when " + event.describe();
    }
    RMTFS_HIL_ASSERT(false, "a trigger without a case");
    return {};
}

}  // namespace rmtfs_hil::engine
