#include "engine/steps/expect.hpp"

#include <algorithm>
#include <cstring>

#include "engine/scenario_reader.hpp"
#include "engine/sha256.hpp"

namespace rmtfs_hil::engine {

namespace {

using wording::in_quotes;


// A daemon state: a plain word of DaemonExpectation::Is, "exited N" or "killed by SIGNAME".
std::optional<DaemonExpectation> load_daemon_state(ScenarioReader& reader, const Field& f) {
    const std::string& s = f->get_ref<const std::string&>();
    DaemonExpectation expected;
    expected.words = s;
    if (auto plain = named<DaemonExpectation::Is>(s)) {
        expected.is = *plain;
        return expected;
    }
    const std::string exited = std::string(name_of(DaemonExpectation::Is::exited)) + " ";
    const std::string killed_by = std::string(name_of(DaemonExpectation::Is::killed)) + " by ";
    if (s.starts_with(exited)) {
        std::string code = s.substr(exited.size());
        if (!code.empty() && code.size() <= 3 && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
            std::stoi(code) <= 255) {
            expected.is = DaemonExpectation::Is::exited;
            expected.code = std::stoi(code);
            return expected;
        }
        reader.error(f.pointer, "bad exit status in " + in_quotes(s) + ": expected \"exited N\" with N from 0 to 255");
        return std::nullopt;
    }
    if (s.starts_with(killed_by)) {
        std::string signal = s.substr(killed_by.size());
        if (auto number = server::signal_named(signal)) {
            expected.is = DaemonExpectation::Is::killed;
            expected.signal = number;
            return expected;
        }
        reader.error(f.pointer, wording::unknown_name("signal", signal, server::signal_names()));
        return std::nullopt;
    }
    Names forms = names_of<DaemonExpectation::Is>();
    forms.insert(forms.end(), {exited + "0", killed_by + "SIGKILL", killed_by + "SIGTERM"});
    std::string message = "unknown daemon state " + in_quotes(s);
    if (auto close = wording::suggestion(s, forms))
        message += "; did you mean '" + *close + "'?";
    else
        message += " (expected 'running', 'stopped', 'exited', 'exited N', 'killed' or 'killed by SIGNAME')";
    reader.error(f.pointer, message);
    return std::nullopt;
}

std::optional<ExpectStep::StorageCheck> load_storage_check(ScenarioReader& reader, const Field& f) {
    if (!reader.is_object(f)) return std::nullopt;
    ExpectStep::StorageCheck check;
    reader.check_keys(f, {"file", "sector", "sectors", "data", "sha256", "unchanged"});
    if (Field file = reader.field(f, "file")) reader.get_storage_file(file, check.file);
    reader.get_uint(reader.field(f, "sector"), check.sector);
    bool sectors_ok = !f->contains("sectors") || reader.get_uint(reader.field(f, "sectors"), check.sectors, 1);
    int kinds = 0;
    for (const char* key : {"data", "sha256", "unchanged"}) kinds += f->contains(key) ? 1 : 0;
    if (kinds == 0) reader.error(f.pointer, "a storage check needs one of 'data', 'sha256' or 'unchanged'");
    if (kinds > 1) reader.error(f.pointer, "give only one of 'data', 'sha256' or 'unchanged'");
    if (Field data = reader.field(f, "data"))
        check.data = reader.data_value(data, sectors_ok ? std::optional<std::uint32_t>(check.sectors) : std::nullopt);
    if (Field sha = reader.field(f, "sha256"); reader.get_string(sha, check.sha256)) {
        if (check.sha256.size() != 64 || !std::all_of(check.sha256.begin(), check.sha256.end(), [](char c) {
                return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
            }))
            reader.error(sha.pointer, "bad sha256: expected 64 hex digits");
    }
    reader.get_bool(reader.field(f, "unchanged"), check.unchanged);
    return check;
}

void load_storage_checks(ScenarioReader& reader, const Field& storage, ExpectStep& step) {
    if (!storage->is_array()) {
        reader.error(storage.pointer, "expected an array of storage checks, found " + found(*storage));
    } else if (storage->empty()) {
        reader.error(storage.pointer, "expected at least one storage check");
    } else {
        for (std::size_t i = 0; i < storage->size(); ++i)
            if (auto check = load_storage_check(reader, Field{&(*storage)[i], child(storage.pointer, i)}))
                step.storage.push_back(std::move(*check));
    }
}

const Names checks = {"modem_state", "remoteproc_state", "service",       "daemon",       "log",   "no_log",
                      "ledger",      "ledger_violations", "storage",      "daemon_starts", "modem_crashes",
                      "daemon_fds_added", "daemon_memory_added_kb"};

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<ExpectStep>();
    if (!reader.is_object(f)) return step;
    Names keys = checks;
    keys.emplace_back("index");
    reader.check_keys(f, keys);
    if (std::none_of(checks.begin(), checks.end(), [&](const std::string& k) { return f->contains(k); }))
        reader.error(f.pointer, "an expect step checks nothing: give at least one of " + wording::alternatives(checks));
    if (std::string state; reader.get_name(reader.field(f, "modem_state"), state, names_of<sim::ModemState>(), "modem state"))
        step->modem_state = state;
    if (std::string state;
        reader.get_name(reader.field(f, "remoteproc_state"), state, names_of<sim::RemoteprocState>(), "remoteproc state"))
        step->remoteproc_state = state;
    if (Field index = reader.field(f, "index"); reader.get_uint(index, step->index, 0, u32_max)) {
        if (f->contains("modem_state") || f->contains("remoteproc_state"))
            reader.check_modem_index(step->index, index.pointer, f->contains("modem_state") ? "modem" : "remoteproc");
        else
            reader.error_at_key(index.pointer, "'index' is only for 'modem_state' and 'remoteproc_state'");
    }
    reader.get_bool(reader.field(f, "service"), step->service);
    std::optional<std::string> daemon_words;
    if (Field daemon = reader.field(f, "daemon"); reader.get_string(daemon, daemon_words))
        step->daemon = load_daemon_state(reader, daemon);
    // An empty list would check nothing: refused, like an empty expect.
    auto get_lines = [&](const char* key, std::vector<std::string>& lines, const char* what) {
        Field field = reader.field(f, key);
        if (reader.get_strings(field, lines, true) && lines.empty())
            reader.error(field.pointer, std::string("expected at least one line the daemon must ") + what);
    };
    get_lines("log", step->log, "log");
    get_lines("no_log", step->no_log, "not log");
    reader.get_enum(reader.field(f, "ledger"), step->ledger, "ledger verdict");
    if (Field violations = reader.field(f, "ledger_violations")) {
        if (reader.get_strings(violations, step->ledger_violations, true) && step->ledger_violations.empty())
            reader.error(violations.pointer, "expected at least one text a violation must hold");
        if (!f->contains("ledger") || (step->ledger && *step->ledger != LedgerVerdict::violated))
            reader.error_at_key(violations.pointer, "'ledger_violations' needs \"ledger\": \"violated\"");
    }
    reader.get_uint(reader.field(f, "daemon_starts"), step->daemon_starts);
    reader.get_uint(reader.field(f, "modem_crashes"), step->modem_crashes);
    reader.get_uint(reader.field(f, "daemon_fds_added"), step->daemon_fds_added);
    reader.get_uint(reader.field(f, "daemon_memory_added_kb"), step->daemon_memory_added_kb);
    if (Field storage = reader.field(f, "storage")) load_storage_checks(reader, storage, *step);
    return step;
}

}  // namespace

bool DaemonExpectation::holds(const DaemonStatus& status) const {
    using State = DaemonStatus::State;
    switch (is) {
        case Is::running: return status.state == State::running;
        case Is::stopped: return status.state == State::stopped;
        case Is::exited: {
            const auto* exited = status.state == State::ended && status.exit ? std::get_if<server::Exited>(&status.exit->outcome()) : nullptr;
            return exited != nullptr && (!code || exited->code == *code);
        }
        case Is::killed: {
            const auto* killed = status.state == State::ended && status.exit ? std::get_if<server::Killed>(&status.exit->outcome()) : nullptr;
            return killed != nullptr && (!signal || killed->signal == *signal);
        }
    }
    RMTFS_HIL_ASSERT(false, "a daemon expectation without a case");
    return false;
}

extern const StepKind expect_step{"expect", 160, load};

Capabilities ExpectStep::needs() const {
    Capabilities needed{Capability::daemon_control};
    if (modem_state || modem_crashes) needed.add(Capability::simulated_modem);
    if (ledger || !storage.empty()) needed.add(Capability::storage_contents);
    return needed;
}

namespace {

std::optional<StepFailure> check_world(const ExpectStep& e, Target& target) {
    if (e.modem_state && sim::to_string(target.modem_state(e.index)) != *e.modem_state)
        return StepFailure{"modem " + std::to_string(e.index) + " is " + std::string(sim::to_string(target.modem_state(e.index))) +
                           ", expected " + *e.modem_state};
    if (e.remoteproc_state && sim::to_string(target.remoteproc_state(e.index)) != *e.remoteproc_state)
        return StepFailure{"the remoteproc is " + std::string(sim::to_string(target.remoteproc_state(e.index))) +
                           ", expected " + *e.remoteproc_state};
    if (e.service && target.service_published() != *e.service)
        return StepFailure{*e.service ? "service 14 is not published" : "service 14 is still published"};
    if (e.daemon) {
        const DaemonStatus now = target.daemon_status();
        if (!e.daemon->holds(now)) return StepFailure{"the daemon is " + now.describe() + ", expected " + e.daemon->words};
    }
    const auto& log = target.daemon_log();
    auto logged = [&](const std::string& text) {
        return std::any_of(log.begin(), log.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
    };
    for (const auto& text : e.log)
        if (!logged(text)) return StepFailure{"the daemon never logged '" + text + "'"};
    for (const auto& text : e.no_log)
        if (logged(text)) return StepFailure{"the daemon logged '" + text + "'"};
    return std::nullopt;
}

std::optional<StepFailure> check_resources(const ExpectStep& e, StepContext& context) {
    if (!e.daemon_fds_added && !e.daemon_memory_added_kb) return std::nullopt;
    const auto& before = context.book.after_setup;
    auto now = context.target.daemon_resources();
    if (!before || !now || before->pid != now->pid)
        return StepFailure{"'daemon_fds_added' and 'daemon_memory_added_kb' compare the daemon with itself after the setup, and " +
                               std::string(!now ? "no daemon runs now" : !before ? "none ran after the setup"
                                                                                 : "it was started again since"),
                           true};
    if (e.daemon_fds_added && now->open_files > before->open_files + *e.daemon_fds_added)
        return StepFailure{"the daemon holds " + std::to_string(now->open_files) + " open descriptors, " +
                           std::to_string(now->open_files - before->open_files) + " more than after the setup (at most " +
                           std::to_string(*e.daemon_fds_added) + " more expected): a descriptor leak"};
    if (e.daemon_memory_added_kb && now->resident_kb > before->resident_kb + *e.daemon_memory_added_kb)
        return StepFailure{"the daemon's resident memory is " + std::to_string(now->resident_kb) + " KiB, " +
                           std::to_string(now->resident_kb - before->resident_kb) + " KiB more than after the setup (at most " +
                           std::to_string(*e.daemon_memory_added_kb) + " KiB more expected): a memory leak"};
    return std::nullopt;
}

// After the ledger and storage, as the checks always ran.
std::optional<StepFailure> check_counts(const ExpectStep& e, Target& target) {
    if (e.daemon_starts && target.daemon_starts() != *e.daemon_starts)
        return StepFailure{"the daemon started " + std::to_string(target.daemon_starts()) + " times, expected " +
                           std::to_string(*e.daemon_starts)};
    if (e.modem_crashes && target.modem_crashes(e.index) != *e.modem_crashes)
        return StepFailure{"modem " + std::to_string(e.index) + " crashed " + std::to_string(target.modem_crashes(e.index)) +
                           " times, expected " + std::to_string(*e.modem_crashes)};
    return std::nullopt;
}

std::optional<StepFailure> check_ledger(const ExpectStep& e, StepContext& context) {
    // A scenario that expects a violation has judged the ledger itself;
    // "clean" now does not vouch for what later steps do.
    if (*e.ledger == LedgerVerdict::violated) context.book.ledger_judged = true;
    auto violations = context.target.check_ledger();
    if (*e.ledger == LedgerVerdict::clean) {
        if (!violations.empty()) return StepFailure{"the ledger is violated: " + sim::describe(violations)};
        return std::nullopt;
    }
    if (violations.empty()) return StepFailure{"the ledger is clean; the scenario expects a violation"};
    for (const auto& wanted : e.ledger_violations) {
        bool matched = std::any_of(violations.begin(), violations.end(),
                                   [&](const sim::LedgerViolation& v) { return v.describe().find(wanted) != std::string::npos; });
        if (!matched) return StepFailure{"no ledger violation matches '" + wanted + "': " + sim::describe(violations)};
    }
    return std::nullopt;
}

std::optional<StepFailure> check_storage(const ExpectStep::StorageCheck& check, StepContext& context) {
    Bytes file = context.target.storage_file(check.file);
    std::size_t from = static_cast<std::size_t>(check.sector) * rmtfs::sector_size_bytes;
    std::size_t length = static_cast<std::size_t>(check.sectors) * rmtfs::sector_size_bytes;
    if (from + length > file.size()) return StepFailure{check.file + " is shorter than the sectors checked"};
    ByteView got(file.data() + from, length);
    std::string where = check.file + " sectors " + std::to_string(check.sector) + "+" + std::to_string(check.sectors);
    if (check.data) {
        Bytes want = bytes_of(*check.data, context.seed, length);
        auto [differs, wanted] = std::mismatch(got.begin(), got.end(), want.begin(), want.end());
        if (differs != got.end()) {
            auto at = static_cast<std::size_t>(differs - got.begin());
            return StepFailure{where + " do not hold the expected data: sector " +
                               std::to_string(check.sector + at / rmtfs::sector_size_bytes) + " byte " +
                               std::to_string(at % rmtfs::sector_size_bytes) + " is " +
                               hex_dump(ByteView(&*differs, 1)) + ", expected " + hex_dump(ByteView(&*wanted, 1))};
        }
    }
    if (!check.sha256.empty() && sha256_hex(got) != check.sha256)
        return StepFailure{where + " hash to " + sha256_hex(got) + ", expected " + check.sha256};
    if (check.unchanged) {
        const Bytes& initial = context.target.initial_storage(check.file);
        bool same = initial.size() >= from + length &&
                    std::equal(got.begin(), got.end(), initial.begin() + static_cast<std::ptrdiff_t>(from));
        if (same != *check.unchanged) return StepFailure{where + (same ? " are unchanged" : " changed")};
    }
    return std::nullopt;
}

}  // namespace

std::optional<StepFailure> ExpectStep::run(StepContext& context) const {
    // Judged on a settled world: a stop, continue or end on its way is reported first.
    if (auto unsettled = context.target.settle()) return StepFailure{unsettled->why, unsettled->machine};
    if (auto failure = check_world(*this, context.target)) return failure;
    if (ledger)
        if (auto failure = check_ledger(*this, context)) return failure;
    for (const auto& check : storage)
        if (auto failure = check_storage(check, context)) return failure;
    if (auto failure = check_resources(*this, context)) return failure;
    return check_counts(*this, context.target);
}

std::string ExpectStep::describe() const {
    std::string what;
    for (const std::string& key : checks) {
        bool given = (key == "modem_state" && modem_state) || (key == "remoteproc_state" && remoteproc_state) ||
                     (key == "service" && service) || (key == "daemon" && daemon) || (key == "log" && !log.empty()) ||
                     (key == "no_log" && !no_log.empty()) || (key == "ledger" && ledger) ||
                     (key == "storage" && !storage.empty()) || (key == "daemon_starts" && daemon_starts) ||
                     (key == "daemon_fds_added" && daemon_fds_added) ||
                     (key == "daemon_memory_added_kb" && daemon_memory_added_kb) ||
                     (key == "modem_crashes" && modem_crashes);
        if (given) what += (what.empty() ? "" : ", ") + key;
    }
    return "expect " + what;
}

}  // namespace rmtfs_hil::engine
