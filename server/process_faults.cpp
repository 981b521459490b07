#include "server/process_faults.hpp"

#include <csignal>

#include "proto/rmtfs.hpp"

namespace rmtfs_hil::server {

namespace {

// A QMI request's message id, from its header alone: a malformed body is
// still a request reaching the daemon.
std::optional<std::uint16_t> request_id(ByteView payload) {
    constexpr std::size_t header_bytes = 7;
    if (payload.size() < header_bytes || payload[0] != 0) return std::nullopt;
    return static_cast<std::uint16_t>(payload[3] | (payload[4] << 8));
}

int signal_of(ProcessAction action) {
    switch (action) {
        case ProcessAction::sigkill: return SIGKILL;
        case ProcessAction::sigterm: return SIGTERM;
        case ProcessAction::sigstop: return SIGSTOP;
        case ProcessAction::sigcont: return SIGCONT;
        case ProcessAction::restart: return 0;
    }
    return 0;
}

}  // namespace

std::string describe(const ProcessTrigger& trigger) {
    if (const auto* at = std::get_if<AtRequest>(&trigger)) {
        auto name = name_if(static_cast<rmtfs::MessageId>(at->message_id));
        std::string type = name ? std::string(*name) : "message id " + std::to_string(at->message_id);
        return "the " + ordinal(at->nth) + " " + type + " request reaching the daemon";
    }
    if (const auto* after = std::get_if<AfterWrite>(&trigger))
        return "after the daemon's " + ordinal(after->nth) + " sector write" +
               (after->file.empty() ? std::string(" to storage") : " to " + after->file);
    if (const auto* on = std::get_if<OnEvent>(&trigger)) return on->condition;
    return std::to_string(std::get<AfterDelay>(trigger).delay.count()) + " ms after arming";
}

ProcessFaults::ProcessFaults(boost::asio::io_context& io, sim::Fabric& fabric, StorageWatch& storage, Target target)
    : io_(io), fabric_(fabric), storage_(storage), target_(std::move(target)) {
    fabric_.set_delivery_observer(
        [this](sim::QrtrAddress, std::uint32_t owner_pid, const sim::Datagram& datagram) { delivered(owner_pid, datagram); });
    storage_.on_write([this](const StorageWrite& write) { wrote(write); });
}

ProcessFaults::~ProcessFaults() {
    fabric_.set_delivery_observer({});
    storage_.on_write({});
}

std::size_t ProcessFaults::arm(ProcessTrigger trigger, ProcessAction action) {
    std::string what = std::string(to_string(action)) + " " + describe(trigger);
    return arm(std::move(trigger), std::move(what), [this, action] {
        if (action == ProcessAction::restart) {
            // SIGTERM now, so it is pending before the daemon's next step; the
            // start again follows once it has ended.
            if (target_.signal) target_.signal(SIGTERM);
            if (target_.restart) target_.restart();
        } else if (target_.signal) {
            target_.signal(signal_of(action));
        }
    });
}

std::size_t ProcessFaults::arm(ProcessTrigger trigger, std::string what, std::function<void()> action) {
    std::size_t index = armed_.size();
    armed_.push_back(Armed{std::move(trigger), what, std::move(action), 0, false, nullptr});
    if (const auto* after = std::get_if<AfterDelay>(&armed_.back().trigger)) {
        auto& timer = armed_.back().timer = std::make_unique<boost::asio::steady_timer>(io_, after->delay);
        timer->async_wait([this, index](const boost::system::error_code& error) {
            if (!error) fire(index);
        });
    }
    // Last, and by value: what the trace sets off may arm more faults.
    sim::TraceFields fields;
    fields.fault = index;
    fabric_.trace(sim::TraceSource::harness, sim::TraceKind::fault_armed, what, fields);
    return index;
}

bool ProcessFaults::fired(std::size_t index) const { return index < armed_.size() && armed_[index].fired; }

void ProcessFaults::delivered(std::uint32_t owner_pid, const sim::Datagram& datagram) {
    if (armed_.empty()) return;
    auto pid = target_.pid ? target_.pid() : std::nullopt;
    if (!pid || owner_pid != static_cast<std::uint32_t>(*pid)) return;
    auto id = request_id(datagram.payload);
    if (!id) return;
    for (std::size_t i = 0; i < armed_.size(); ++i) {
        Armed& armed = armed_[i];
        const auto* at = std::get_if<AtRequest>(&armed.trigger);
        if (armed.fired || at == nullptr || at->message_id != *id) continue;
        if (at->from_node && datagram.from.node != *at->from_node) continue;
        if (++armed.seen == at->nth) fire(i);
    }
}

void ProcessFaults::wrote(const StorageWrite& write) {
    if (write.error != 0) return;
    for (std::size_t i = 0; i < armed_.size(); ++i) {
        Armed& armed = armed_[i];
        const auto* after = std::get_if<AfterWrite>(&armed.trigger);
        if (armed.fired || after == nullptr || (!after->file.empty() && after->file != write.file)) continue;
        if (++armed.seen == after->nth) fire(i);
    }
}

void ProcessFaults::fire(std::size_t index) {
    if (index >= armed_.size() || armed_[index].fired) return;
    armed_[index].fired = true;
    // Copies: the trace and the action may arm another fault, and armed_ may move.
    FiredFault fired{index, armed_[index].what};
    auto action = armed_[index].action;
    sim::TraceFields fields;
    fields.fault = index;
    fabric_.trace(sim::TraceSource::harness, sim::TraceKind::fault, fired.what, fields);
    if (action) action();
    if (listener_) listener_(fired);
}

}  // namespace rmtfs_hil::server
