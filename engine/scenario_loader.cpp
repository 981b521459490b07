#include "engine/scenario_loader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>

#include "engine/json_syntax.hpp"
#include "engine/scenario_reader.hpp"
#include "proto/rmtfs.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::engine {

namespace {

using wording::alternatives;
using wording::contains;
using wording::in_quotes;
namespace jt = json_text;

Names board_names() {
    Names names;
    for (const server::BoardProfile* board : server::known_boards()) names.push_back(board->name);
    return names;
}

bool valid_scenario_name(std::string_view name) {
    auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    if (name.empty() || !lower_or_digit(name.front())) return false;
    return std::all_of(name.begin(), name.end(), [&](char c) { return lower_or_digit(c) || c == '-'; });
}

class Loader {
public:
    Loader(const std::string& file, const jt::PositionIndex& positions)
        : reader_(file, positions, scenario_) {}

    Expected<Scenario, std::vector<ScenarioError>> run(const Json& root, const jt::PositionIndex& positions);

private:
    void load(const Json& root);
    void load_targets(const Field& f);
    void load_setup(const Field& f);
    void load_server(const Field& f);
    void load_modems(const Field& f);
    void load_storage(const Field& f);
    ModemSetup load_modem(const Field& f);
    void load_known_issue(const Field& f);
    void load_step(const Json& value, const std::string& pointer);
    void check_watches(const Step& step, const std::string& pointer);

    Scenario scenario_;
    ScenarioReader reader_;
    bool storage_reads_off_ = false;  // setup says false in so many words
    bool memory_io_off_ = false;
};

Expected<Scenario, std::vector<ScenarioError>> Loader::run(const Json& root, const jt::PositionIndex& positions) {
    for (const jt::DuplicateKey& duplicate : positions.duplicates)
        reader_.errors().push_back(ScenarioError{
            SourceLocation{reader_.file(), duplicate.again.line, duplicate.again.column, duplicate.pointer},
            "duplicate key " + in_quotes(duplicate.key) + " (first at line " + std::to_string(duplicate.first.line) +
                ", column " + std::to_string(duplicate.first.column) + "): a key may appear once in an object"});
    scenario_.where = reader_.locate("", false);
    load(root);
    auto& errors = reader_.errors();
    if (!errors.empty()) {
        std::stable_sort(errors.begin(), errors.end(), [](const ScenarioError& a, const ScenarioError& b) {
            auto key = [](const SourceLocation& w) {
                return std::make_pair(w.line == 0 ? std::numeric_limits<std::size_t>::max() : w.line, w.column);
            };
            return key(a.where) < key(b.where);
        });
        return unexpected(std::move(errors));
    }
    for (const Step& step : scenario_.steps) step.action->adjust(scenario_.setup);
    return std::move(scenario_);
}

void Loader::load(const Json& root) {
    if (!root.is_object()) {
        reader_.error("", "expected a scenario object {...} at the top level, found " + found(root));
        return;
    }
    const Field top{&root, ""};
    reader_.check_keys(top, {"$schema", "name", "description", "tags", "targets", "seed", "timeout_ms", "setup", "steps",
                             "invariants", "known_issue"});
    reader_.require(top, {"name", "description", "steps"});
    std::string ignored;
    reader_.get_string(reader_.field(top, "$schema"), ignored);
    if (Field name = reader_.field(top, "name"); reader_.get_string(name, scenario_.name)) {
        if (!valid_scenario_name(scenario_.name))
            reader_.error(name.pointer, "invalid name " + in_quotes(scenario_.name) +
                                            ": use lower-case letters, digits and '-', starting with a letter or digit");
    }
    reader_.get_string(reader_.field(top, "description"), scenario_.description, true);
    reader_.get_strings(reader_.field(top, "tags"), scenario_.tags, true);
    load_targets(reader_.field(top, "targets"));
    reader_.get_uint(reader_.field(top, "seed"), scenario_.seed);
    reader_.get_uint(reader_.field(top, "timeout_ms"), scenario_.timeout_ms, 1);
    if (Field setup = reader_.field(top, "setup")) load_setup(setup);
    if (Field invariants = reader_.field(top, "invariants"); invariants && reader_.is_object(invariants)) {
        reader_.check_keys(invariants, {"ledger", "server_alive", "requests_answered"});
        reader_.get_bool(reader_.field(invariants, "ledger"), scenario_.invariants.ledger);
        reader_.get_bool(reader_.field(invariants, "server_alive"), scenario_.invariants.server_alive);
        reader_.get_bool(reader_.field(invariants, "requests_answered"), scenario_.invariants.requests_answered);
    }
    if (Field issue = reader_.field(top, "known_issue")) load_known_issue(issue);
    std::size_t step_count = 0;
    if (Field steps = reader_.field(top, "steps")) {
        if (steps->is_array()) step_count = steps->size();
        if (!steps->is_array())
            reader_.error(steps.pointer, "expected an array of steps, found " + found(*steps));
        else if (steps->empty())
            reader_.error(steps.pointer, "expected at least one step");
        else
            for (std::size_t i = 0; i < steps->size(); ++i) load_step((*steps)[i], child(steps.pointer, i));
    }
    if (scenario_.known_issue && scenario_.known_issue->step && step_count > 0 && *scenario_.known_issue->step > step_count)
        reader_.error(child(child("", "known_issue"), "step"),
                      "step " + std::to_string(*scenario_.known_issue->step) + " is past the last step (" +
                          std::to_string(step_count) + ")");
}

void Loader::load_known_issue(const Field& issue) {
    if (!reader_.is_object(issue)) return;
    reader_.check_keys(issue, {"text", "observed", "match", "step"});
    reader_.require(issue, {"text", "match"});
    KnownIssue known;
    reader_.get_string(reader_.field(issue, "text"), known.text, true);
    reader_.get_enum(reader_.field(issue, "observed"), known.observed, "verdict");
    reader_.get_string(reader_.field(issue, "match"), known.match, true);
    if (std::uint32_t step = 0; reader_.get_uint(reader_.field(issue, "step"), step, 1)) known.step = step;
    scenario_.known_issue = std::move(known);
}

void Loader::load_targets(const Field& f) {
    if (!f) return;
    const std::string all = alternatives(names_of<TargetKind>());
    if (!f->is_array()) {
        reader_.error(f.pointer, "expected an array of targets (" + all + "), found " + found(*f));
        return;
    }
    if (f->empty()) {
        reader_.error(f.pointer, "expected at least one target (" + all + ")");
        return;
    }
    std::vector<TargetKind> chosen;
    for (std::size_t i = 0; i < f->size(); ++i) {
        TargetKind target{};
        std::string pointer = child(f.pointer, i);
        if (!reader_.enum_value((*f)[i], pointer, target, "target")) continue;
        if (std::find(chosen.begin(), chosen.end(), target) != chosen.end())
            reader_.error(pointer, "target " + in_quotes(name_of(target)) + " is listed twice");
        else
            chosen.push_back(target);
    }
    scenario_.targets = std::move(chosen);
}

void Loader::load_setup(const Field& f) {
    if (!reader_.is_object(f)) return;
    Setup& setup = scenario_.setup;
    reader_.check_keys(f, {"board", "coupling", "recovery", "name_service", "server", "modems", "storage",
                           "watch_storage_reads", "watch_memory_io"});
    if (std::string board; reader_.get_name(reader_.field(f, "board"), board, board_names(), "board")) setup.board = board;
    reader_.get_enum(reader_.field(f, "coupling"), setup.coupling, "coupling");
    reader_.get_bool(reader_.field(f, "recovery"), setup.recovery);
    reader_.get_enum(reader_.field(f, "name_service"), setup.name_service, "name service");
    storage_reads_off_ = reader_.get_bool(reader_.field(f, "watch_storage_reads"), setup.watch_storage_reads) &&
                         !setup.watch_storage_reads;
    memory_io_off_ = reader_.get_bool(reader_.field(f, "watch_memory_io"), setup.watch_memory_io) && !setup.watch_memory_io;
    if (Field server = reader_.field(f, "server")) load_server(server);
    if (Field modems = reader_.field(f, "modems")) load_modems(modems);
    if (Field storage = reader_.field(f, "storage")) load_storage(storage);
}

void Loader::load_server(const Field& server) {
    if (!reader_.is_object(server)) return;
    ServerSetup& setup = scenario_.setup.server;
    reader_.check_keys(server, {"args", "restart", "start"});
    reader_.get_strings(reader_.field(server, "args"), setup.args, false);
    reader_.get_bool(reader_.field(server, "start"), setup.start);
    if (Field restart = reader_.field(server, "restart"); restart && reader_.is_object(restart)) {
        RestartSetup& r = setup.restart;
        reader_.check_keys(restart, {"enabled", "delay_ms", "burst", "interval_ms"});
        reader_.get_bool(reader_.field(restart, "enabled"), r.enabled);
        reader_.get_uint(reader_.field(restart, "delay_ms"), r.delay_ms);
        reader_.get_uint(reader_.field(restart, "burst"), r.burst, 1);
        reader_.get_uint(reader_.field(restart, "interval_ms"), r.interval_ms);
    }
}

void Loader::load_modems(const Field& modems) {
    Setup& setup = scenario_.setup;
    std::size_t errors_before = reader_.error_count();
    if (!modems->is_array()) {
        reader_.error(modems.pointer, "expected an array of modems, found " + found(*modems));
    } else if (modems->empty()) {
        reader_.error(modems.pointer, "expected at least one modem");
    } else {
        setup.modems.clear();
        for (std::size_t i = 0; i < modems->size(); ++i)
            setup.modems.push_back(load_modem(Field{&(*modems)[i], child(modems.pointer, i)}));
    }
    reader_.trust_modems(reader_.error_count() == errors_before);
    if (setup.modems.empty()) setup.modems = {ModemSetup{}};
}

void Loader::load_storage(const Field& storage) {
    if (!reader_.is_object(storage)) return;
    StorageSetup& setup = scenario_.setup.storage;
    reader_.check_keys(storage, {"partition_bytes", "fill", "from", "board_efs"});
    constexpr std::uint64_t sector_bytes = rmtfs::sector_size_bytes;
    Field bytes = reader_.field(storage, "partition_bytes");
    if (reader_.get_uint(bytes, setup.partition_bytes, sector_bytes) && setup.partition_bytes % sector_bytes != 0)
        reader_.error(bytes.pointer, "must be a multiple of " + std::to_string(sector_bytes) + " (whole sectors), found " +
                                         std::to_string(setup.partition_bytes));
    reader_.get_enum(reader_.field(storage, "fill"), setup.fill, "fill");
    if (Field from = reader_.field(storage, "from"); from && reader_.get_string(from, setup.from)) {
        if (storage->contains("fill") || storage->contains("partition_bytes"))
            reader_.error(from.pointer, "images copied 'from' a folder keep their contents and sizes: give 'from' "
                                        "or 'fill' / 'partition_bytes', not both");
        std::filesystem::path folder(setup.from);
        if (folder.is_relative()) folder = std::filesystem::path(reader_.file()).parent_path() / folder;
        std::error_code ignored;
        if (setup.from.empty() || !std::filesystem::is_directory(folder, ignored))
            reader_.error(from.pointer, "no such folder " + in_quotes(setup.from) + " (looked for " + folder.string() + ")");
        else
            setup.from = std::filesystem::absolute(folder, ignored).lexically_normal().string();
    }
    if (Field board = reader_.field(storage, "board_efs"); board && reader_.get_bool(board, setup.board_efs) && setup.board_efs &&
        (storage->contains("from") || storage->contains("fill") || storage->contains("partition_bytes")))
        reader_.error(board.pointer, "the board's EFS partitions keep their contents and sizes: give 'board_efs' or "
                                     "'from' / 'fill' / 'partition_bytes', not both");
}

ModemSetup Loader::load_modem(const Field& f) {
    ModemSetup modem;
    if (!reader_.is_object(f)) return modem;
    reader_.check_keys(f, {"name", "on_service_loss", "on_open_failure", "request_timeout_ms", "service_wait_ms",
                           "image_sectors", "transfer_sectors", "sync_interval_ms", "sync_sectors", "partitions", "boot"});
    reader_.get_string(reader_.field(f, "name"), modem.name, true);
    reader_.get_enum(reader_.field(f, "on_service_loss"), modem.on_service_loss, "policy");
    reader_.get_enum(reader_.field(f, "on_open_failure"), modem.on_open_failure, "policy");
    reader_.get_uint(reader_.field(f, "request_timeout_ms"), modem.request_timeout_ms, 1);
    reader_.get_uint(reader_.field(f, "service_wait_ms"), modem.service_wait_ms);
    reader_.get_uint(reader_.field(f, "image_sectors"), modem.image_sectors);
    reader_.get_uint(reader_.field(f, "transfer_sectors"), modem.transfer_sectors, 1);
    reader_.get_uint(reader_.field(f, "sync_interval_ms"), modem.sync_interval_ms);
    reader_.get_uint(reader_.field(f, "sync_sectors"), modem.sync_sectors, 1);
    reader_.get_bool(reader_.field(f, "boot"), modem.boot);
    if (Field partitions = reader_.field(f, "partitions"); reader_.get_strings(partitions, modem.partitions, true)) {
        if (modem.partitions.empty()) reader_.error(partitions.pointer, "expected at least one partition");
        for (std::size_t i = 0; i < modem.partitions.size(); ++i)
            for (std::size_t j = 0; j < i; ++j)
                if (modem.partitions[i] == modem.partitions[j]) {
                    reader_.error(child(partitions.pointer, i),
                                  "partition " + in_quotes(modem.partitions[i]) + " is listed twice");
                    break;
                }
    }
    return modem;
}

void Loader::load_step(const Json& value, const std::string& pointer) {
    if (!value.is_object()) {
        reader_.error(pointer, "expected a step: an object with one action key, found " + found(value));
        return;
    }
    const Names kinds = scenario_step_kinds();
    Names allowed = kinds;
    allowed.insert(allowed.end(), {"timeout_ms", "note"});
    std::vector<std::pair<jt::TextPosition, std::string>> actions;
    bool unknown = false;
    for (const auto& [key, member] : value.items()) {
        if (contains(kinds, key)) {
            SourceLocation at = reader_.locate(child(pointer, key), true);
            actions.emplace_back(jt::TextPosition{at.line, at.column}, key);
        } else if (!contains(allowed, key)) {
            unknown = true;
            std::string message = "unknown key " + in_quotes(key);
            if (auto close = wording::suggestion(key, allowed))
                message += "; did you mean '" + *close + "'?";
            else
                message += " (a step has one action key: " + alternatives(kinds) + "; and optionally 'timeout_ms' and 'note')";
            reader_.error_at_key(child(pointer, key), message);
        }
    }
    const Field step_field{&value, pointer};
    Step step;
    step.where = reader_.locate(pointer, false);
    reader_.get_uint(reader_.field(step_field, "timeout_ms"), step.timeout_ms, 1, u32_max);
    reader_.get_string(reader_.field(step_field, "note"), step.note);
    if (actions.empty()) {
        if (value.empty())
            reader_.error(pointer, "empty step: expected one action key (" + alternatives(kinds) + ")");
        else if (!unknown)
            reader_.error(pointer, "a step needs one action key (" + alternatives(kinds) + "), found none");
        return;
    }
    std::sort(actions.begin(), actions.end(), [](const auto& a, const auto& b) {
        return std::make_pair(a.first.line, a.first.column) < std::make_pair(b.first.line, b.first.column);
    });
    if (actions.size() > 1) {
        Names names;
        for (const auto& action : actions) names.push_back(action.second);
        reader_.error(pointer, "a step has exactly one action key, found " + std::to_string(actions.size()) + ": " +
                                   alternatives(names, "and"));
    }
    // Each action is checked, so that a file's every mistake shows at once.
    std::size_t errors_before = reader_.error_count();
    for (const auto& action : actions) {
        step.kind = action.second;
        step.action = find_step_kind(action.second)->load(reader_, Field{&value.at(action.second), child(pointer, action.second)});
    }
    if (actions.size() == 1 && reader_.error_count() == errors_before) {
        check_watches(step, child(pointer, step.kind));
        scenario_.steps.push_back(std::move(step));
    }
}

void Loader::check_watches(const Step& step, const std::string& pointer) {
    // A fault on calls the shim is told not to report could never fire.
    Setup adjusted = scenario_.setup;
    step.action->adjust(adjusted);
    auto refuse = [&](const char* setting, const char* calls) {
        reader_.error(pointer, std::string("this fault acts on ") + calls + ", which setup." + setting +
                                   " false turns off: it could never fire (leave the setting out: the fault turns it on)");
    };
    if (adjusted.watch_storage_reads && !scenario_.setup.watch_storage_reads && storage_reads_off_)
        refuse("watch_storage_reads", "the daemon's storage reads");
    if (adjusted.watch_memory_io && !scenario_.setup.watch_memory_io && memory_io_off_)
        refuse("watch_memory_io", "the daemon's rmtfs_mem I/O");
}

}  // namespace

Expected<Scenario, std::vector<ScenarioError>> load_scenario(std::string_view text, const std::string& file_name) {
    if (auto syntax = jt::check_syntax(text)) {
        jt::TextPosition at = jt::position_of_offset(text, syntax->offset);
        return unexpected(std::vector<ScenarioError>{
            ScenarioError{SourceLocation{file_name, at.line, at.column, ""}, syntax->message}});
    }
    Json root;
    try {
        root = Json::parse(text.begin(), text.end());
    } catch (const Json::exception& e) {
        return unexpected(std::vector<ScenarioError>{ScenarioError{SourceLocation{file_name, 0, 0, ""}, e.what()}});
    }
    jt::PositionIndex positions = jt::index_positions(text);
    return Loader(file_name, positions).run(root, positions);
}

Expected<Scenario, std::vector<ScenarioError>> load_scenario_file(const std::filesystem::path& path) {
    std::string name = path.string();
    auto failure = [&](int error_number) -> Expected<Scenario, std::vector<ScenarioError>> {
        return unexpected(std::vector<ScenarioError>{
            ScenarioError{SourceLocation{name, 0, 0, ""}, "cannot read file: " + std::string(std::strerror(error_number))}});
    };
    auto refused = [&](const std::string& why) -> Expected<Scenario, std::vector<ScenarioError>> {
        return unexpected(std::vector<ScenarioError>{ScenarioError{SourceLocation{name, 0, 0, ""}, why}});
    };
    // Non-blocking: a FIFO must not hang the harness before it is refused.
    int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return failure(errno);
    struct stat info {};
    if (::fstat(fd, &info) != 0) {
        int error = errno;
        ::close(fd);
        return failure(error);
    }
    if (!S_ISREG(info.st_mode)) {
        ::close(fd);
        if (S_ISDIR(info.st_mode)) return failure(EISDIR);
        const char* kind = S_ISFIFO(info.st_mode) ? "a FIFO" : S_ISCHR(info.st_mode) ? "a character device"
                           : S_ISBLK(info.st_mode) ? "a block device" : S_ISSOCK(info.st_mode) ? "a socket"
                                                                       : "not a regular file";
        return refused(std::string("cannot read file: it is ") + kind + "; a scenario is a regular file");
    }
    if (static_cast<std::uint64_t>(info.st_size) > scenario_file_max_bytes) {
        ::close(fd);
        return refused("cannot read file: " + std::to_string(info.st_size) + " bytes, more than the " +
                       std::to_string(scenario_file_max_bytes / (1024 * 1024)) + " MiB a scenario file may have");
    }
    std::string text;
    char buffer[65536];
    for (;;) {
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) {
            int error = errno;
            ::close(fd);
            return failure(error);
        }
        if (got == 0) break;
        text.append(buffer, static_cast<std::size_t>(got));
        if (text.size() > scenario_file_max_bytes) {  // it grew while read
            ::close(fd);
            return refused("cannot read file: more than the " + std::to_string(scenario_file_max_bytes / (1024 * 1024)) +
                           " MiB a scenario file may have");
        }
    }
    ::close(fd);
    return load_scenario(text, name);
}

std::vector<std::string> scenario_step_kinds() {
    std::vector<std::string> names;
    for (const StepKind* kind : step_kinds()) names.emplace_back(kind->name);
    return names;
}

Capabilities needs_of_server_args(const std::vector<std::string>& args) {
    Capabilities needed;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& arg = args[i];
        if (arg.size() < 2 || arg[0] != '-' || arg[1] == '-') continue;
        for (std::size_t c = 1; c < arg.size(); ++c) {
            if (arg[c] == 'P') needed.add(Capability::raw_partitions);
            if (arg[c] == 's') needed.add(Capability::daemon_drives_modem);
            if (arg[c] == 'o' || arg[c] == 'S') {
                if (c + 1 == arg.size()) ++i;  // the value is the next word
                break;
            }
        }
    }
    return needed;
}

std::optional<std::string> storage_not_ready(const Scenario& scenario) {
    const StorageSetup& storage = scenario.setup.storage;
    if (storage.board_efs && storage.from.empty())
        return std::string("storage.board_efs: no snapshot of the board's EFS partitions was taken for this run");
    return std::nullopt;
}

Capabilities needs_of(const Scenario& scenario) {
    const Setup& setup = scenario.setup;
    Capabilities needed{Capability::daemon_control};
    if (setup.modems.size() > 1) needed.add(Capability::several_modems);
    if (setup.coupling != sim::CouplingPolicy::manual) needed.add(Capability::coupling_policies);
    if (setup.name_service == NameServiceMode::none) needed.add(Capability::userspace_name_service);
    if (!setup.storage.from.empty() || setup.storage.board_efs) needed.add(Capability::storage_images);
    if (setup.storage.board_efs) needed.add(Capability::board_efs);
    if (setup.server.start && std::any_of(setup.modems.begin(), setup.modems.end(), [](const ModemSetup& m) { return m.boot; }))
        needed.add(Capability::simulated_modem);
    if (scenario.invariants.ledger) needed.add(Capability::storage_contents);
    needed.add(needs_of_server_args(setup.server.args));
    for (const Step& step : scenario.steps) needed.add(step.action->needs());
    return needed;
}

}  // namespace rmtfs_hil::engine
