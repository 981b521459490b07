#include "engine/steps/daemon.hpp"

#include <csignal>

#include "engine/scenario_reader.hpp"
#include "server/process.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<DaemonStep>();
    // The string forms; an upgrade names its binary.
    Names plain = names_of<DaemonAction>();
    std::erase(plain, std::string(name_of(DaemonAction::upgrade)));
    if (f->is_string()) {
        const auto& action = f->get_ref<const std::string&>();
        std::string name;
        if (action == name_of(DaemonAction::upgrade))
            reader.error(f.pointer, "'upgrade' needs the new binary: {\"daemon\": {\"upgrade\": \"/path/to/rmtfs\"}}");
        else if (reader.name_value(*f, f.pointer, name, plain, "daemon action"))
            step->action = *named<DaemonAction>(name);
    } else if (f->is_object()) {
        reader.check_keys(f, {"upgrade"});
        reader.require(f, {"upgrade"});
        if (reader.get_string(reader.field(f, "upgrade"), step->binary, true)) step->action = DaemonAction::upgrade;
    } else {
        reader.error(f.pointer, "expected " + wording::alternatives(plain) + " or {\"upgrade\": PATH}, found " + found(*f));
    }
    return step;
}

}  // namespace

extern const StepKind daemon_step{"daemon", 10, load};

Capabilities DaemonStep::needs() const {
    if (action == DaemonAction::upgrade) return {Capability::daemon_control, Capability::daemon_upgrade};
    return {Capability::daemon_control};
}

std::optional<StepFailure> DaemonStep::run(StepContext& context) const {
    Target& target = context.target;
    switch (action) {
        case DaemonAction::start:
            if (auto error = target.start_daemon()) return StepFailure{"the daemon did not start: " + *error, true};
            return std::nullopt;
        case DaemonAction::kill:
            context.book.signals_sent.insert(SIGKILL);
            if (auto error = target.kill_daemon(context.timeout)) return StepFailure{*error, true};
            return std::nullopt;
        case DaemonAction::stop:
            context.book.signals_sent.insert({SIGTERM, SIGKILL});  // SIGKILL after the stop grace
            if (auto error = target.stop_daemon(context.timeout + server::default_stop_grace))
                return StepFailure{*error, true};
            return std::nullopt;
        case DaemonAction::restart:
        case DaemonAction::upgrade:
            context.book.signals_sent.insert({SIGTERM, SIGKILL});
            if (auto error = target.restart_daemon(action == DaemonAction::upgrade ? std::optional(binary) : std::nullopt))
                return StepFailure{"restart: " + *error, true};
            return std::nullopt;
    }
    RMTFS_HIL_ASSERT(false, "a daemon action without a case");
    return std::nullopt;
}

std::string DaemonStep::describe() const {
    if (action == DaemonAction::upgrade) return "upgrade the daemon to " + binary;
    return std::string(name_of(action)) + " the daemon";
}

std::optional<std::string> DaemonStep::fault_label() const {
    if (action == DaemonAction::start) return std::nullopt;
    return std::string(name_of(action));
}

}  // namespace rmtfs_hil::engine
