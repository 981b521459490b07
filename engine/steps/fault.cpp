#include "engine/steps/fault.hpp"

#include "engine/scenario_reader.hpp"
#include "engine/step_support.hpp"

namespace rmtfs_hil::engine {

namespace {

Names trigger_names() {
    Names names = names_of<TriggerKind>();
    std::erase(names, std::string(name_of(TriggerKind::now)));
    return names;
}

Names trigger_keys() {
    Names keys = {"request", "nth", "modem", "after_write", "file", "after_ms"};
    for (const char* key : event_condition_keys) keys.emplace_back(key);
    return keys;
}

void load_trigger(ScenarioReader& reader, const Field& when, Trigger& out) {
    const std::string shapes =
        "an object: {\"request\": M, \"nth\": k}, {\"after_write\": k}, {\"after_ms\": t} or {\"event\": E}";
    if (!reader.is_object(when, shapes)) return;
    reader.check_keys(when, trigger_keys());
    Names kinds;
    for (const std::string& kind : trigger_names())
        if (when->contains(kind)) kinds.push_back(kind);
    if (kinds.empty()) {
        if (when->contains("nth"))
            reader.error(when.pointer, "'nth' counts requests: give the message too, e.g. {\"request\": \"RW_IOVEC\", \"nth\": 2}");
        else
            reader.error(when.pointer, "expected one of " + wording::alternatives(trigger_names()) + " (or leave 'when' out: now)");
        return;
    }
    if (kinds.size() > 1) {
        reader.error(when.pointer, "give one of " + wording::alternatives(trigger_names()) + ", not " +
                                       wording::alternatives(kinds, "and"));
        return;
    }
    out.kind = *named<TriggerKind>(kinds.front());
    // Each option belongs to one kind of trigger.
    for (const auto& [key, owner] : std::initializer_list<std::pair<const char*, TriggerKind>>{
             {"nth", TriggerKind::request}, {"modem", TriggerKind::request}, {"file", TriggerKind::after_write},
             {"index", TriggerKind::event}, {"state", TriggerKind::event}, {"text", TriggerKind::event},
             {"count", TriggerKind::event}}) {
        if (owner == out.kind || !when->contains(key)) continue;
        std::string why = "'" + std::string(key) + "' is only for " + std::string(name_of(owner));
        if (out.kind == TriggerKind::after_write && std::string_view(key) == "nth") why += " (after_write is the count of writes)";
        reader.error_at_key(child(when.pointer, key), why);
    }
    switch (out.kind) {
        case TriggerKind::request: {
            std::string message;
            if (reader.get_name(reader.field(when, "request"), message, request_names(), "message"))
                out.request = *named<rmtfs::MessageId>(message);
            reader.get_uint(reader.field(when, "nth"), out.nth, 1);
            if (Field m = reader.field(when, "modem")) {
                std::size_t modem = 0;
                reader.get_index(m, modem, "modem");
                out.modem = modem;
            }
            break;
        }
        case TriggerKind::after_write:
            reader.get_uint(reader.field(when, "after_write"), out.nth, 1);
            if (Field file = reader.field(when, "file")) reader.get_storage_file(file, out.file);
            break;
        case TriggerKind::after_ms: reader.get_uint(reader.field(when, "after_ms"), out.after_ms); break;
        case TriggerKind::event: load_event_condition(reader, when, out.event); break;
        case TriggerKind::now: break;
    }
}

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<FaultStep>();
    if (!reader.is_object(f)) return step;
    reader.require(f, {"action"});
    const FaultKind* kind = nullptr;
    if (reader.get_name(reader.field(f, "action"), step->action, fault_names(), "action"))
        kind = find_fault_kind(step->action);
    Names keys = {"action", "when"};
    if (kind != nullptr) {
        keys.insert(keys.end(), kind->options.begin(), kind->options.end());
    } else {
        for (const FaultKind* any : fault_kinds()) keys.insert(keys.end(), any->options.begin(), any->options.end());
    }
    reader.check_keys(f, keys);
    if (kind != nullptr) step->fault = kind->load(reader, f);
    if (Field when = reader.field(f, "when")) load_trigger(reader, when, step->when);
    return step;
}

}  // namespace

extern const StepKind fault_step{"fault", 80, load};

Capabilities FaultStep::needs() const {
    Capabilities needed = fault->needs();
    if (when.kind != TriggerKind::now) needed.add(Capability::exact_faults);
    return needed;
}

std::optional<StepFailure> FaultStep::run(StepContext& context) const {
    for (int signal_number : fault->signals()) context.book.signals_sent.insert(signal_number);
    auto fired = std::make_shared<FaultFired>();
    if (when.kind == TriggerKind::now) {
        context.book.armed.push_back(ArmedFault{context.step, std::nullopt, fired});
        return fault->fire_now(context.target, *fired, context.timeout);
    }
    Target& target = context.target;
    std::shared_ptr<const Fault> armed = fault;
    auto fire = [armed, &target, fired] { armed->fire(target, *fired); };
    TriggerId id = target.at(when, fault->describe() + " " + when.describe(), [fire, &target, instant = fault->instant()] {
        if (instant) {
            fire();
        } else {
            target.soon(fire);
        }
    });
    context.book.armed.push_back(ArmedFault{context.step, id, fired});
    return std::nullopt;
}

std::string FaultStep::describe() const { return fault->describe() + (when.kind == TriggerKind::now ? "" : " " + when.describe()); }

std::optional<std::string> FaultStep::fault_label() const {
    return action + (when.kind == TriggerKind::now ? "" : "@" + std::string(name_of(when.kind)));
}

}  // namespace rmtfs_hil::engine
