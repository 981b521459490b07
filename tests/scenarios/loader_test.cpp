// The scenario loader (engine/scenario_loader.hpp) and its position scanner.
//
// The malformed corpus: tests/scenarios/malformed/NAME.json, each with
// NAME.expected beside it holding the exact describe() line of the FIRST
// error, for the file loaded as load_scenario(text, "malformed/NAME.json"):
// the path relative to tests/scenarios/. A file's name says what kind of
// mistake it holds: syntax-* (not JSON), schema-* (JSON that
// scenarios/scenario.schema.json rejects too), semantic-* (valid against the
// schema; only the loader sees it: indexes, partitions, errno names, whole
// sectors, duplicate keys). tests/python/test_scenario_schema.py checks those
// categories against the schema.
//
// To add a case: write malformed/NAME.json, then NAME.expected with the line
// `rmtfs-hil validate malformed/NAME.json` (run in tests/scenarios) prints
// first, after checking it says what you meant.
#include <gtest/gtest.h>

#include <csignal>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "engine/json_positions.hpp"
#include "engine/scenario_loader.hpp"
#include "engine/steps/boot.hpp"
#include "engine/steps/daemon.hpp"
#include "engine/steps/expect.hpp"
#include "engine/steps/fault.hpp"
#include "engine/steps/io_fault.hpp"
#include "engine/steps/link.hpp"
#include "engine/steps/modem.hpp"
#include "engine/steps/name_service.hpp"
#include "engine/steps/network_reset.hpp"
#include "engine/steps/power_loss.hpp"
#include "engine/steps/raw.hpp"
#include "engine/steps/read.hpp"
#include "engine/steps/remoteproc.hpp"
#include "engine/steps/request.hpp"
#include "engine/steps/wait_for.hpp"
#include "engine/steps/write.hpp"
#include "proto/errno_names.hpp"

using namespace rmtfs_hil::engine;
using rmtfs_hil::name_of;

// A closed set's value as its name, for checks that read like the file.
template <class E>
std::string named_as(E value) {
    return std::string(name_of(value));
}
namespace fs = std::filesystem;

namespace {

const fs::path tests_dir = RMTFS_HIL_SCENARIO_TESTS;
const fs::path library_dir = RMTFS_HIL_SCENARIO_LIBRARY;

std::string read_text(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

std::vector<std::string> corpus_names() {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(tests_dir / "malformed"))
        if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<std::string> describe_all(const std::vector<ScenarioError>& errors) {
    std::vector<std::string> lines;
    for (const auto& e : errors) lines.push_back(e.describe());
    return lines;
}

// Loads a scenario that must be valid; fails the test with every error otherwise.
Scenario load_valid(std::string_view text, const std::string& name = "test.json") {
    auto loaded = load_scenario(text, name);
    if (!loaded) {
        std::string all;
        for (const auto& e : loaded.error()) all += e.describe() + "\n";
        ADD_FAILURE() << "expected a valid scenario:\n" << all;
        return Scenario{};
    }
    return std::move(loaded).value();
}

std::vector<std::string> load_errors(std::string_view text) {
    auto loaded = load_scenario(text, "test.json");
    if (loaded) {
        ADD_FAILURE() << "expected errors, the scenario loaded";
        return {};
    }
    return describe_all(loaded.error());
}

// A scenario around some steps and setup, for the small cases.
std::string scenario_text(const std::string& steps, const std::string& setup = "") {
    std::string text = "{\"name\": \"t\", \"description\": \"d\", ";
    if (!setup.empty()) text += "\"setup\": " + setup + ", ";
    return text + "\"steps\": [" + steps + "]}";
}

template <class T>
const T& action_of(const Scenario& s, std::size_t index) {
    static const T empty{};
    if (index >= s.steps.size()) {
        ADD_FAILURE() << "no step " << index;
        return empty;
    }
    const T* action = dynamic_cast<const T*>(s.steps[index].action.get());
    if (action == nullptr) {
        ADD_FAILURE() << "step " << index << " (" << s.steps[index].kind << ") holds another action";
        return empty;
    }
    return *action;
}

}  // namespace

// ---- the malformed corpus ------------------------------------------------------------

class MalformedScenario : public testing::TestWithParam<std::string> {};

TEST_P(MalformedScenario, FirstErrorIsTheExpectedOne) {
    const std::string& name = GetParam();
    fs::path json = tests_dir / "malformed" / (name + ".json");
    fs::path expected_file = tests_dir / "malformed" / (name + ".expected");
    ASSERT_TRUE(fs::exists(expected_file)) << expected_file << " is missing: every corpus file needs one";
    std::string expected = first_line(read_text(expected_file));
    ASSERT_FALSE(expected.empty()) << expected_file << " is empty";

    auto loaded = load_scenario(read_text(json), "malformed/" + name + ".json");
    ASSERT_FALSE(loaded.has_value()) << name << " loaded without an error";
    const auto& errors = loaded.error();
    ASSERT_FALSE(errors.empty());
    EXPECT_EQ(errors.front().describe(), expected) << "all errors:\n"
                                                   << testing::PrintToString(describe_all(errors));

    for (const auto& e : errors) {
        EXPECT_EQ(e.where.file, "malformed/" + name + ".json");
        EXPECT_GT(e.where.line, 0u) << e.describe();
        EXPECT_GT(e.where.column, 0u) << e.describe();
        EXPECT_FALSE(e.message.empty());
    }
    EXPECT_TRUE(std::is_sorted(errors.begin(), errors.end(), [](const ScenarioError& a, const ScenarioError& b) {
        return std::make_pair(a.where.line, a.where.column) < std::make_pair(b.where.line, b.where.column);
    })) << "errors are sorted by position";

    if (name.rfind("syntax-", 0) == 0) {
        EXPECT_EQ(errors.size(), 1u) << "a syntax error stops the load";
        EXPECT_TRUE(errors.front().where.pointer.empty()) << "syntax errors have no JSON pointer";
    }
}

TEST_P(MalformedScenario, FileLoadNamesThePathAsGiven) {
    fs::path json = tests_dir / "malformed" / (GetParam() + ".json");
    auto from_text = load_scenario(read_text(json), json.string());
    auto from_file = load_scenario_file(json);
    ASSERT_FALSE(from_file.has_value());
    ASSERT_FALSE(from_text.has_value());
    EXPECT_EQ(describe_all(from_file.error()), describe_all(from_text.error()));
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedScenario, testing::ValuesIn(corpus_names()),
                         [](const testing::TestParamInfo<std::string>& param) {
                             std::string id = param.param;
                             std::replace_if(id.begin(), id.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
                             return id;
                         });

TEST(MalformedCorpus, CoversEveryKindAndEachFileHasItsExpectation) {
    auto names = corpus_names();
    EXPECT_GE(names.size(), 35u);
    std::size_t syntax = 0, schema = 0, semantic = 0;
    for (const auto& name : names) {
        if (name.rfind("syntax-", 0) == 0)
            ++syntax;
        else if (name.rfind("schema-", 0) == 0)
            ++schema;
        else if (name.rfind("semantic-", 0) == 0)
            ++semantic;
        else
            ADD_FAILURE() << name << ": a corpus file's name starts with syntax-, schema- or semantic-";
    }
    EXPECT_GE(syntax, 6u);
    EXPECT_GE(schema, 10u);
    EXPECT_GE(semantic, 6u);
    for (const auto& entry : fs::directory_iterator(tests_dir / "malformed")) {
        if (entry.path().extension() != ".expected") continue;
        fs::path json = entry.path();
        json.replace_extension(".json");
        EXPECT_TRUE(fs::exists(json)) << entry.path() << " has no scenario beside it";
    }
}

// ---- valid scenarios -------------------------------------------------------------------

TEST(ValidScenario, EveryFileInValidLoads) {
    std::size_t count = 0;
    for (const auto& entry : fs::directory_iterator(tests_dir / "valid")) {
        if (entry.path().extension() != ".json") continue;
        ++count;
        auto loaded = load_scenario_file(entry.path());
        EXPECT_TRUE(loaded.has_value()) << (loaded ? "" : testing::PrintToString(describe_all(loaded.error())));
    }
    EXPECT_GE(count, 2u);
}

TEST(ValidScenario, TheLibraryLoads) {
    // scenarios/**/*.json but the schema; passes with none.
    if (!fs::exists(library_dir)) GTEST_SKIP() << "no " << library_dir;
    std::set<std::string> names;
    for (const auto& entry : fs::recursive_directory_iterator(library_dir)) {
        const fs::path& path = entry.path();
        if (!entry.is_regular_file() || path.extension() != ".json" || path.filename().string().ends_with(".schema.json"))
            continue;
        auto loaded = load_scenario_file(path);
        if (!loaded) {
            ADD_FAILURE() << testing::PrintToString(describe_all(loaded.error()));
            continue;
        }
        EXPECT_TRUE(names.insert(loaded->name).second) << path << ": scenario name " << loaded->name << " is taken";
    }
}

TEST(ValidScenario, DefaultsAreTheModelsDefaults) {
    Scenario s = load_valid(read_text(tests_dir / "valid" / "minimal.json"), "valid/minimal.json");
    const Scenario defaults;
    EXPECT_EQ(s.name, "minimal");
    EXPECT_FALSE(s.description.empty());
    EXPECT_TRUE(s.tags.empty());
    EXPECT_EQ(s.targets, std::vector<TargetKind>{TargetKind::sim});
    EXPECT_EQ(s.seed, 1u);
    EXPECT_EQ(s.timeout_ms, 120000u);
    EXPECT_FALSE(s.setup.board) << "no board named: the run's (--board)";
    EXPECT_EQ(named_as(s.setup.coupling), "manual");
    EXPECT_TRUE(s.setup.recovery);
    EXPECT_EQ(named_as(s.setup.name_service), "kernel");
    EXPECT_EQ(s.setup.server.args, (std::vector<std::string>{"-o", "{storage}", "-v"}));
    EXPECT_FALSE(s.setup.server.restart.enabled);
    EXPECT_EQ(s.setup.server.restart.delay_ms, 1000u);
    EXPECT_EQ(s.setup.server.restart.burst, 5u);
    EXPECT_EQ(s.setup.server.restart.interval_ms, 10000u);
    EXPECT_TRUE(s.setup.server.start);
    ASSERT_EQ(s.setup.modems.size(), 1u);
    const ModemSetup& m = s.setup.modems[0];
    EXPECT_EQ(m.name, "modem");
    EXPECT_EQ(named_as(m.on_service_loss), "fatal");
    EXPECT_EQ(named_as(m.on_open_failure), "fail");
    EXPECT_EQ(m.request_timeout_ms, 2000u);
    EXPECT_EQ(m.service_wait_ms, 10000u);
    EXPECT_EQ(m.image_sectors, 256u);
    EXPECT_EQ(m.transfer_sectors, 64u);
    EXPECT_EQ(m.sync_interval_ms, 0u);
    EXPECT_EQ(m.sync_sectors, 8u);
    EXPECT_EQ(m.partitions, defaults.setup.modems[0].partitions);
    EXPECT_TRUE(m.boot);
    EXPECT_EQ(s.setup.storage.partition_bytes, 256u * 512u);
    EXPECT_EQ(named_as(s.setup.storage.fill), "pattern");
    EXPECT_FALSE(s.setup.watch_storage_reads);
    EXPECT_FALSE(s.setup.watch_memory_io);
    EXPECT_TRUE(s.invariants.ledger);
    EXPECT_TRUE(s.invariants.server_alive);
    EXPECT_TRUE(s.invariants.requests_answered);
    EXPECT_FALSE(s.known_issue.has_value());
    EXPECT_EQ(s.where.file, "valid/minimal.json");
    EXPECT_EQ(s.where.line, 1u);
    EXPECT_EQ(s.where.column, 1u);
    ASSERT_EQ(s.steps.size(), 1u);
    EXPECT_EQ(s.steps[0].kind, "wait_for");
    EXPECT_FALSE(s.steps[0].timeout_ms.has_value());
    EXPECT_TRUE(s.steps[0].note.empty());
    EXPECT_EQ(s.steps[0].where.pointer, "/steps/0");
    EXPECT_EQ(s.steps[0].where.line, 5u);
    EXPECT_EQ(s.steps[0].where.column, 5u);
    const auto& wait = action_of<WaitStep>(s, 0).condition;
    EXPECT_EQ(named_as(wait.event), "service_published");
    EXPECT_EQ(wait.index, 0u);
    EXPECT_EQ(wait.count, 1u);
}

TEST(ValidScenario, DefaultsOfEachStep) {
    Scenario s = load_valid(scenario_text(
        R"({"boot": {}}, {"write": {}}, {"read": {}}, {"fault": {"action": "sigterm"}},
           {"io_fault": {"call": "write", "error": "EIO"}}, {"link": {"action": "clear"}},
           {"remoteproc": {"crash": true}}, {"request": {"message": "GET_DEV_ERROR"}},
           {"expect": {"ledger": "clean", "storage": [{"unchanged": true}]}})"));
    ASSERT_EQ(s.steps.size(), 9u);
    const auto& boot = action_of<BootStep>(s, 0);
    EXPECT_EQ(boot.modem, 0u);
    EXPECT_EQ(named_as(boot.expect), "ok");
    const auto& write = action_of<WriteStep>(s, 1);
    EXPECT_EQ(write.partition, "/boot/modem_fs1");
    EXPECT_EQ(write.sector, 0u);
    EXPECT_EQ(write.sectors, 1u);
    EXPECT_TRUE(write.data.pattern.empty() && write.data.hex.empty() && write.data.fill.empty());
    EXPECT_EQ(named_as(write.expect), "ok");
    const auto& read = action_of<ReadStep>(s, 2);
    EXPECT_EQ(named_as(read.expect), "ok");
    EXPECT_FALSE(read.data.has_value());
    const auto& fault = action_of<FaultStep>(s, 3);
    EXPECT_EQ(named_as(fault.when.kind), "now");
    EXPECT_EQ(fault.when.nth, 1u);
    const auto& io = action_of<IoFaultStep>(s, 4).fault;
    EXPECT_EQ(named_as(io.target), "storage");
    EXPECT_TRUE(io.file.empty());
    EXPECT_EQ(io.nth, 1u);
    EXPECT_EQ(io.times, 1u);
    EXPECT_FALSE(io.short_bytes.has_value());
    const auto& link = action_of<LinkStep>(s, 5).fault;
    EXPECT_EQ(named_as(link.direction), "to_daemon");
    EXPECT_DOUBLE_EQ(link.probability, 1.0);
    EXPECT_EQ(link.window, 2u);
    const auto& rproc = action_of<RemoteprocStep>(s, 6);
    EXPECT_TRUE(rproc.crash);
    EXPECT_FALSE(rproc.write.has_value());
    EXPECT_FALSE(rproc.expect_error.has_value());
    const auto& request = action_of<RequestStep>(s, 7);
    EXPECT_TRUE(request.expect.answered);
    EXPECT_FALSE(request.caller_id.has_value());
    EXPECT_FALSE(request.partition.has_value());
    const auto& expect = action_of<ExpectStep>(s, 8);
    ASSERT_EQ(expect.storage.size(), 1u);
    EXPECT_EQ(expect.storage[0].file, "modem_fs1");
    EXPECT_EQ(expect.storage[0].sectors, 1u);
    EXPECT_EQ(expect.storage[0].unchanged, std::optional<bool>(true));
}

TEST(ValidScenario, EveryStepKindParsesToItsStruct) {
    Scenario s = load_valid(read_text(tests_dir / "valid" / "every-step-kind.json"), "valid/every-step-kind.json");
    std::set<std::string> kinds;
    for (const Step& step : s.steps) kinds.insert(step.kind);
    const auto all = scenario_step_kinds();
    EXPECT_EQ(kinds, std::set<std::string>(all.begin(), all.end())) << "the reference scenario uses every kind";

    // The top level and the setup.
    EXPECT_EQ(s.name, "every-step-kind");
    EXPECT_EQ(s.tags, (std::vector<std::string>{"reference", "loader"}));
    EXPECT_EQ(s.targets, (std::vector<TargetKind>{TargetKind::sim, TargetKind::adb}));
    EXPECT_EQ(s.seed, 42u);
    EXPECT_EQ(s.timeout_ms, 60000u);
    EXPECT_EQ(s.setup.board, "apq8016");
    EXPECT_EQ(named_as(s.setup.coupling), "rmtfs-sysfs");
    EXPECT_FALSE(s.setup.recovery);
    EXPECT_EQ(named_as(s.setup.name_service), "none");
    EXPECT_EQ(s.setup.server.args, (std::vector<std::string>{"-o", "{storage}", "-v", "-s"}));
    EXPECT_TRUE(s.setup.server.restart.enabled);
    EXPECT_EQ(s.setup.server.restart.delay_ms, 100u);
    EXPECT_EQ(s.setup.server.restart.burst, 3u);
    EXPECT_EQ(s.setup.server.restart.interval_ms, 5000u);
    EXPECT_FALSE(s.setup.server.start);
    ASSERT_EQ(s.setup.modems.size(), 2u);
    const ModemSetup& m = s.setup.modems[0];
    EXPECT_EQ(m.name, "mpss");
    EXPECT_EQ(named_as(m.on_service_loss), "reopen");
    EXPECT_EQ(named_as(m.on_open_failure), "crash");
    EXPECT_EQ(m.request_timeout_ms, 1500u);
    EXPECT_EQ(m.service_wait_ms, 8000u);
    EXPECT_EQ(m.image_sectors, 128u);
    EXPECT_EQ(m.transfer_sectors, 32u);
    EXPECT_EQ(m.sync_interval_ms, 500u);
    EXPECT_EQ(m.sync_sectors, 4u);
    EXPECT_EQ(m.partitions, (std::vector<std::string>{"/boot/modem_fs1", "/boot/modem_fs2"}));
    EXPECT_FALSE(m.boot);
    EXPECT_EQ(s.setup.modems[1].name, "adsp");
    EXPECT_EQ(named_as(s.setup.modems[1].on_service_loss), "fatal");
    EXPECT_EQ(s.setup.storage.partition_bytes, 262144u);
    EXPECT_EQ(named_as(s.setup.storage.fill), "zeros");
    EXPECT_FALSE(s.invariants.ledger);
    EXPECT_TRUE(s.invariants.server_alive);
    EXPECT_FALSE(s.invariants.requests_answered);
    ASSERT_TRUE(s.known_issue.has_value());
    EXPECT_EQ(s.known_issue->text, "the daemon loses the write");
    EXPECT_EQ(named_as(s.known_issue->observed), "fail");
    EXPECT_EQ(s.known_issue->match, "lost write");
    // Derived: an io_fault on storage reads and one on memory.
    EXPECT_TRUE(s.setup.watch_storage_reads);
    EXPECT_TRUE(s.setup.watch_memory_io);

    std::size_t i = 0;
    EXPECT_EQ(named_as(action_of<NameServiceStep>(s, i).action), "start");
    EXPECT_EQ(s.steps[i].note, "no kernel name service in this setup");
    ++i;
    EXPECT_EQ(named_as(action_of<DaemonStep>(s, i).action), "start");
    EXPECT_EQ(s.steps[i].timeout_ms, std::optional<std::uint32_t>(5000));
    EXPECT_EQ(s.steps[i].kind, "daemon");
    EXPECT_EQ(s.steps[i].where.pointer, "/steps/1");
    EXPECT_EQ(s.steps[i].where.line, 39u);
    EXPECT_EQ(s.steps[i].where.column, 5u);
    ++i;
    {
        const auto& boot = action_of<BootStep>(s, i++);
        EXPECT_EQ(boot.modem, 0u);
        EXPECT_EQ(named_as(boot.expect), "ok");
    }
    {
        const auto& boot = action_of<BootStep>(s, i++);
        EXPECT_EQ(boot.modem, 1u);
        EXPECT_EQ(named_as(boot.expect), "fail");
        EXPECT_EQ(boot.reason, "OPEN /boot/modem_fsg refused");
    }
    {
        const auto& modem = action_of<ModemStep>(s, i++);
        EXPECT_EQ(modem.index, 1u);
        EXPECT_EQ(named_as(modem.action), "stop");
    }
    {
        const auto& w = action_of<WriteStep>(s, i++);
        EXPECT_EQ(w.modem, 0u);
        EXPECT_EQ(w.partition, "/boot/modem_fs2");
        EXPECT_EQ(w.sector, 8u);
        EXPECT_EQ(w.sectors, 4u);
        EXPECT_EQ(w.data.pattern, "a");
        EXPECT_EQ(named_as(w.expect), "ok");
    }
    {
        const auto& w = action_of<WriteStep>(s, i++);
        EXPECT_EQ(w.data.fill, "0xff");
        EXPECT_EQ(named_as(w.expect), "any");
    }
    {
        const auto& w = action_of<WriteStep>(s, i++);
        EXPECT_EQ(w.sector, 2u);
        EXPECT_EQ(w.data.hex.substr(0, 8), "00 01 02");
        EXPECT_TRUE(w.data.pattern.empty());
    }
    {
        const auto& r = action_of<ReadStep>(s, i++);
        EXPECT_EQ(r.partition, "/boot/modem_fs2");
        EXPECT_EQ(r.sector, 8u);
        EXPECT_EQ(r.sectors, 4u);
        ASSERT_TRUE(r.data.has_value());
        EXPECT_EQ(r.data->pattern, "a");
    }
    EXPECT_EQ(named_as(action_of<ReadStep>(s, i++).expect), "failed");
    {
        const auto& r = action_of<RequestStep>(s, i++);
        EXPECT_EQ(named_as(r.message), "OPEN");
        EXPECT_EQ(r.path, std::optional<std::string>("/boot/modem_fs1"));
        EXPECT_EQ(r.expect.result, std::optional<std::uint16_t>(0));
        EXPECT_EQ(r.expect.error, std::optional<std::uint16_t>(0));
        EXPECT_EQ(r.expect.caller_id, std::optional<std::uint32_t>(1));
    }
    {
        const auto& r = action_of<RequestStep>(s, i++);
        EXPECT_EQ(named_as(r.message), "RW_IOVEC");
        EXPECT_EQ(r.partition, std::optional<std::string>("/boot/modem_fs1"));
        EXPECT_EQ(r.direction, std::optional<std::uint8_t>(1));
        ASSERT_EQ(r.iovec.size(), 2u);
        EXPECT_EQ(r.iovec[0].sector_addr, 0u);
        EXPECT_FALSE(r.iovec[0].phys_offset.has_value());
        EXPECT_EQ(r.iovec[0].num_sector, 2u);
        EXPECT_EQ(r.iovec[1].sector_addr, 8u);
        EXPECT_EQ(r.iovec[1].phys_offset, std::optional<std::uint32_t>(4096));
        EXPECT_EQ(r.force_sync, std::optional<std::uint8_t>(1));
    }
    {
        const auto& r = action_of<RequestStep>(s, i++);
        EXPECT_EQ(named_as(r.message), "ALLOC_BUFF");
        EXPECT_EQ(r.caller_id, std::optional<std::uint32_t>(1));
        EXPECT_EQ(r.size, std::optional<std::uint32_t>(1048576));
    }
    EXPECT_EQ(named_as(action_of<RequestStep>(s, i++).message), "GET_DEV_ERROR");
    {
        const auto& r = action_of<RequestStep>(s, i++);
        EXPECT_EQ(named_as(r.message), "CLOSE");
        EXPECT_EQ(r.caller_id, std::optional<std::uint32_t>(7));
        EXPECT_EQ(r.expect.result, std::optional<std::uint16_t>(1));
    }
    {
        const auto& raw = action_of<RawStep>(s, i++);
        EXPECT_EQ(raw.bytes, (rmtfs_hil::Bytes{0, 1, 0, 1, 0, 0, 0}));
        EXPECT_FALSE(raw.expect.answered);
    }
    {
        const auto& f = action_of<FaultStep>(s, i++);
        EXPECT_EQ(f.action, "sigkill");
        EXPECT_EQ(named_as(f.when.kind), "request");
        EXPECT_EQ(named_as(f.when.request), "RW_IOVEC");
        EXPECT_EQ(f.when.nth, 2u);
    }
    {
        const auto& f = action_of<FaultStep>(s, i++);
        EXPECT_EQ(f.action, "sigstop");
        EXPECT_EQ(named_as(f.when.kind), "after_write");
        EXPECT_EQ(f.when.nth, 3u);
        EXPECT_EQ(f.when.file, "modem_fs2");
    }
    {
        const auto& f = action_of<FaultStep>(s, i++);
        EXPECT_EQ(named_as(f.when.kind), "after_ms");
        EXPECT_EQ(f.when.after_ms, 250u);
    }
    {
        const auto& f = action_of<FaultStep>(s, i++);
        EXPECT_EQ(f.action, "restart");
        EXPECT_EQ(named_as(f.when.kind), "now");
    }
    {
        const auto& io = action_of<IoFaultStep>(s, i++).fault;
        EXPECT_EQ(named_as(io.call), "write");
        EXPECT_EQ(rmtfs_hil::errno_name(io.error), "EIO");
        EXPECT_EQ(named_as(io.target), "storage");
        EXPECT_EQ(io.file, "modem_fs1");
    }
    {
        const auto& io = action_of<IoFaultStep>(s, i++).fault;
        EXPECT_EQ(named_as(io.call), "read");
        EXPECT_EQ(io.error, 0);
        EXPECT_EQ(io.short_bytes, std::optional<std::uint32_t>(100));
        EXPECT_EQ(io.times, 0u);
    }
    {
        const auto& io = action_of<IoFaultStep>(s, i++).fault;
        EXPECT_EQ(named_as(io.call), "open");
        EXPECT_EQ(rmtfs_hil::errno_name(io.error), "ENOMEM");
        EXPECT_EQ(named_as(io.target), "memory");
    }
    {
        const auto& l = action_of<LinkStep>(s, i++).fault;
        EXPECT_EQ(named_as(l.action), "drop");
        EXPECT_EQ(named_as(l.direction), "to_modem");
        EXPECT_DOUBLE_EQ(l.probability, 0.5);
    }
    {
        const auto& l = action_of<LinkStep>(s, i++).fault;
        EXPECT_EQ(named_as(l.action), "delay");
        EXPECT_EQ(l.delay.count(), 50);
    }
    EXPECT_EQ(action_of<LinkStep>(s, i++).fault.window, 2u);
    EXPECT_DOUBLE_EQ(action_of<LinkStep>(s, i++).fault.probability, 1.0);
    EXPECT_EQ(named_as(action_of<LinkStep>(s, i++).fault.action), "clear");
    EXPECT_EQ(named_as(action_of<LinkStep>(s, i++).fault.action), "down");
    EXPECT_EQ(named_as(action_of<LinkStep>(s, i++).fault.action), "up");
    action_of<NetworkResetStep>(s, i++);
    action_of<PowerLossStep>(s, i++);
    {
        const auto& r = action_of<RemoteprocStep>(s, i++);
        EXPECT_EQ(named_as(*r.write), "start");
        EXPECT_EQ(r.expect_error, std::optional<int>(EBUSY));
    }
    EXPECT_EQ(action_of<RemoteprocStep>(s, i++).expect_error, std::optional<int>(0));
    {
        const auto& r = action_of<RemoteprocStep>(s, i++);
        EXPECT_EQ(r.index, 1u);
        EXPECT_TRUE(r.crash);
    }
    EXPECT_EQ(named_as(action_of<WaitStep>(s, i).condition.event), "service_published");
    EXPECT_EQ(s.steps[i++].timeout_ms, std::optional<std::uint32_t>(10000));
    {
        const auto& w = action_of<WaitStep>(s, i++).condition;
        EXPECT_EQ(named_as(w.event), "modem_state");
        EXPECT_EQ(w.state, "running");
    }
    {
        const auto& w = action_of<WaitStep>(s, i++).condition;
        EXPECT_EQ(named_as(w.event), "remoteproc_state");
        EXPECT_EQ(w.index, 1u);
        EXPECT_EQ(w.state, "crashed");
    }
    EXPECT_EQ(action_of<WaitStep>(s, i++).condition.text, "rmtfs: started");
    EXPECT_EQ(action_of<WaitStep>(s, i++).condition.count, 3u);
    {
        const auto& w = action_of<WaitStep>(s, i++).condition;
        EXPECT_EQ(named_as(w.event), "boot_finished");
        EXPECT_EQ(w.count, 2u);
    }
    EXPECT_EQ(named_as(action_of<WaitStep>(s, i++).condition.event), "restarts");
    EXPECT_EQ(named_as(action_of<WaitStep>(s, i++).condition.event), "daemon_exit");
    {
        const auto& e = action_of<ExpectStep>(s, i++);
        EXPECT_EQ(e.modem_state, std::optional<std::string>("running"));
        EXPECT_EQ(e.service, std::optional<bool>(true));
        ASSERT_TRUE(e.daemon);
        EXPECT_EQ(e.daemon->is, DaemonExpectation::Is::killed);
        EXPECT_EQ(e.daemon->signal, std::optional<int>(SIGKILL));
        EXPECT_EQ(e.daemon->words, "killed by SIGKILL");
        EXPECT_EQ(e.log, std::vector<std::string>{"open"});
        EXPECT_EQ(e.no_log, std::vector<std::string>{"segfault"});
        EXPECT_EQ(e.ledger, std::optional<LedgerVerdict>(LedgerVerdict::violated));
        EXPECT_EQ(e.ledger_violations, std::vector<std::string>{"lost write"});
        EXPECT_EQ(e.daemon_starts, std::optional<std::uint32_t>(2));
        EXPECT_EQ(e.modem_crashes, std::optional<std::uint32_t>(0));
    }
    {
        const auto& daemon = action_of<ExpectStep>(s, i++).daemon;
        ASSERT_TRUE(daemon);
        EXPECT_EQ(daemon->is, DaemonExpectation::Is::exited);
        EXPECT_EQ(daemon->code, std::optional<int>(1));
    }
    {
        const auto& e = action_of<ExpectStep>(s, i++);
        ASSERT_EQ(e.storage.size(), 3u);
        EXPECT_EQ(e.storage[0].file, "modem_fs2");
        EXPECT_EQ(e.storage[0].sector, 8u);
        EXPECT_EQ(e.storage[0].sectors, 4u);
        ASSERT_TRUE(e.storage[0].data.has_value());
        EXPECT_EQ(e.storage[0].data->pattern, "a");
        EXPECT_EQ(e.storage[1].sha256.size(), 64u);
        EXPECT_EQ(e.storage[2].unchanged, std::optional<bool>(true));
    }
    {
        const auto& d = action_of<DaemonStep>(s, i++);
        EXPECT_EQ(named_as(d.action), "upgrade");
        EXPECT_EQ(d.binary, "/usr/local/bin/rmtfs-new");
    }
    EXPECT_EQ(named_as(action_of<DaemonStep>(s, i++).action), "stop");
    EXPECT_EQ(i, s.steps.size());
}

TEST(ValidScenario, WatchFlagsFollowTheSteps) {
    Scenario none = load_valid(scenario_text(R"({"io_fault": {"call": "write", "error": "EIO"}})"));
    EXPECT_FALSE(none.setup.watch_storage_reads);
    EXPECT_FALSE(none.setup.watch_memory_io);

    Scenario reads = load_valid(scenario_text(R"({"io_fault": {"call": "read", "error": "EIO", "file": "modem_fsg"}})"));
    EXPECT_TRUE(reads.setup.watch_storage_reads);
    EXPECT_FALSE(reads.setup.watch_memory_io);

    Scenario memory = load_valid(scenario_text(R"({"io_fault": {"call": "write", "error": "EFAULT", "target": "memory"}})"));
    EXPECT_FALSE(memory.setup.watch_storage_reads);
    EXPECT_TRUE(memory.setup.watch_memory_io);

    // A memory read is not a storage read.
    Scenario memory_read = load_valid(scenario_text(R"({"io_fault": {"call": "read", "short_bytes": 1, "target": "memory"}})"));
    EXPECT_FALSE(memory_read.setup.watch_storage_reads);
    EXPECT_TRUE(memory_read.setup.watch_memory_io);

    // Set by hand, they stay set.
    Scenario manual = load_valid(scenario_text(R"({"daemon": "stop"})", R"({"watch_storage_reads": true})"));
    EXPECT_TRUE(manual.setup.watch_storage_reads);
}

TEST(ValidScenario, AcceptsUnicodeEscapesAndAByteOrderMark) {
    Scenario s = load_valid("\xEF\xBB\xBF" + scenario_text(R"({"wait_for": {"event": "log", "text": "caf\u00e9 \ud83d\ude00 \"q\""}})"));
    EXPECT_EQ(action_of<WaitStep>(s, 0).condition.text, "caf\xC3\xA9 \xF0\x9F\x98\x80 \"q\"");
}

TEST(ValidScenario, IntegralFloatsCountAsIntegers) {
    Scenario s = load_valid(scenario_text(R"({"write": {"sector": 8.0, "sectors": 1e1}})"));
    EXPECT_EQ(action_of<WriteStep>(s, 0).sector, 8u);
    EXPECT_EQ(action_of<WriteStep>(s, 0).sectors, 10u);
}

// ---- errors ---------------------------------------------------------------------------------

TEST(ScenarioErrors, AllCollectedInOnePassInPositionOrder) {
    auto errors = load_errors(read_text(tests_dir / "malformed" / "schema-many-errors.json"));
    std::vector<std::string> expected = {
        "test.json:2:11: /name: invalid name 'Many Errors': use lower-case letters, digits and '-', starting with a "
        "letter or digit",
        "test.json:3:18: /description: must not be empty",
        "test.json:4:22: /setup/board: unknown board 'sdm846'; did you mean 'sdm845'?",
        "test.json:4:32: /setup/sever: unknown key 'sever'; did you mean 'server'?",
        "test.json:6:16: /steps/0/daemon: unknown daemon action 'begin' (expected 'start', 'stop', 'restart' or 'kill')",
        "test.json:7:5: /steps/1: empty step: expected one action key ('daemon', 'boot', 'modem', 'write', 'read', "
        "'request', 'raw', 'fault', 'io_fault', 'link', 'network_reset', 'power_loss', 'name_service', 'remoteproc', "
        "'wait_for' or 'expect')",
        "test.json:8:27: /steps/2/write/sectors: out of range: 0 is below the minimum 1",
        "test.json:10:3: /extra: unknown key 'extra' (expected '$schema', 'name', 'description', 'tags', 'targets', "
        "'seed', 'timeout_ms', 'setup', 'steps', 'invariants' or 'known_issue')",
    };
    EXPECT_EQ(errors, expected);
}

TEST(ScenarioErrors, OrderIsByPositionNotByKey) {
    // nlohmann keeps keys sorted; errors come out in the file's order.
    auto errors = load_errors(R"({"steps": [{"zzz": 1}], "name": "Bad", "description": "", "aaa": 1})");
    ASSERT_EQ(errors.size(), 4u);
    EXPECT_EQ(errors[0], "test.json:1:13: /steps/0/zzz: unknown key 'zzz' (a step has one action key: 'daemon', 'boot', "
                         "'modem', 'write', 'read', 'request', 'raw', 'fault', 'io_fault', 'link', 'network_reset', "
                         "'power_loss', 'name_service', 'remoteproc', 'wait_for' or 'expect'; and optionally "
                         "'timeout_ms' and 'note')");
    EXPECT_EQ(errors[1], "test.json:1:33: /name: invalid name 'Bad': use lower-case letters, digits and '-', starting "
                         "with a letter or digit");
    EXPECT_EQ(errors[2], "test.json:1:55: /description: must not be empty");
    EXPECT_EQ(errors[3], "test.json:1:59: /aaa: unknown key 'aaa' (expected '$schema', 'name', 'description', 'tags', "
                         "'targets', 'seed', 'timeout_ms', 'setup', 'steps', 'invariants' or 'known_issue')");
}

TEST(ScenarioErrors, StepsAfterABadSetupAreStillChecked) {
    auto errors = load_errors(scenario_text(R"({"daemon": "strat"}, {"write": {"modem": 4}})", R"({"modems": 3})"));
    ASSERT_EQ(errors.size(), 2u) << testing::PrintToString(errors);
    EXPECT_NE(errors[0].find("/setup/modems: expected an array of modems, found 3"), std::string::npos);
    EXPECT_NE(errors[1].find("/steps/0/daemon: unknown daemon action 'strat'; did you mean 'start'?"), std::string::npos);
    // The modem index is not judged against a setup that is itself wrong.
}

TEST(ScenarioErrors, DuplicateKeysAreFoundAtAnyDepth) {
    auto errors = load_errors(scenario_text(R"({"write": {"sector": 1, "sector": 2}})"));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0], "test.json:1:69: /steps/0/write/sector: duplicate key 'sector' (first at line 1, column 56): a "
                         "key may appear once in an object");
}

TEST(ScenarioErrors, EscapedKeysGetEscapedPointers) {
    auto errors = load_errors(scenario_text(R"({"daemon": "start", "a/b~c": 1})"));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find(": /steps/0/a~1b~0c: unknown key 'a/b~c'"), std::string::npos) << errors[0];
}

TEST(ScenarioErrors, SuggestionsOnlyWhenClose) {
    auto close = load_errors(scenario_text(R"({"link": {"action": "dorp"}})"));
    ASSERT_EQ(close.size(), 1u);
    EXPECT_NE(close[0].find("unknown link action 'dorp'; did you mean 'drop'?"), std::string::npos) << close[0];
    auto far = load_errors(scenario_text(R"({"link": {"action": "explode"}})"));
    ASSERT_EQ(far.size(), 1u);
    EXPECT_NE(far[0].find("unknown link action 'explode' (expected 'down', 'up', 'drop', 'delay', 'duplicate', "
                          "'reorder' or 'clear')"),
              std::string::npos)
        << far[0];
    auto errno_far = load_errors(scenario_text(R"({"io_fault": {"call": "write", "error": "EXPLODE"}})"));
    ASSERT_EQ(errno_far.size(), 1u);
    EXPECT_NE(errno_far[0].find("unknown errno name 'EXPLODE'"), std::string::npos);
    EXPECT_EQ(errno_far[0].find("did you mean"), std::string::npos) << errno_far[0];
}

TEST(ScenarioErrors, ModemIndexesAndPartitionsFollowTheSetup) {
    std::string setup = R"({"modems": [{}, {"partitions": ["/boot/modem_fsg"]}]})";
    load_valid(scenario_text(R"({"read": {"modem": 1, "partition": "/boot/modem_fsg"}}, {"boot": {"modem": 1}})", setup));
    auto errors = load_errors(scenario_text(
        R"({"read": {"modem": 1, "partition": "/boot/modem_fs1"}}, {"modem": {"index": 2, "action": "start"}})", setup));
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_NE(errors[0].find("/steps/0/read/partition: modem 1 has no partition '/boot/modem_fs1'"), std::string::npos)
        << errors[0];
    EXPECT_NE(errors[1].find("/steps/1/modem/index: modem 2 does not exist: setup.modems has 2 modems (indexes 0 to 1)"),
              std::string::npos)
        << errors[1];
}

TEST(ScenarioErrors, HexMustBeWholeSectors) {
    std::string hex;
    for (int i = 0; i < 512; ++i) hex += "ab ";
    load_valid(scenario_text(R"({"write": {"data": {"hex": ")" + hex + R"("}}})"));
    auto errors = load_errors(scenario_text(R"({"write": {"sectors": 2, "data": {"hex": ")" + hex + R"("}}})"));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("hex data is 512 bytes; 2 sectors are 1024 bytes"), std::string::npos) << errors[0];
}

TEST(ScenarioErrors, DescribeLeavesOutWhatIsUnknown) {
    ScenarioError e{SourceLocation{"x.json", 12, 9, "/steps/3/fault/action"}, "unknown action 'sigkil'; did you mean 'sigkill'?"};
    EXPECT_EQ(e.describe(), "x.json:12:9: /steps/3/fault/action: unknown action 'sigkil'; did you mean 'sigkill'?");
    e.where.pointer.clear();
    EXPECT_EQ(e.describe(), "x.json:12:9: unknown action 'sigkil'; did you mean 'sigkill'?");
    e.where.line = 0;
    EXPECT_EQ(e.describe(), "x.json: unknown action 'sigkil'; did you mean 'sigkill'?");
}

TEST(ScenarioErrors, UnreadableFileIsOneErrorNamingIt) {
    fs::path missing = tests_dir / "no-such-scenario.json";
    auto loaded = load_scenario_file(missing);
    ASSERT_FALSE(loaded.has_value());
    ASSERT_EQ(loaded.error().size(), 1u);
    EXPECT_EQ(loaded.error()[0].describe(), missing.string() + ": cannot read file: No such file or directory");

    auto directory = load_scenario_file(tests_dir);
    ASSERT_FALSE(directory.has_value());
    ASSERT_EQ(directory.error().size(), 1u);
    EXPECT_EQ(directory.error()[0].describe(), tests_dir.string() + ": cannot read file: Is a directory");
}

TEST(ScenarioErrors, DeepNestingIsJustAWrongType) {
    std::string deep(200000, '[');
    deep += std::string(200000, ']');
    auto top = load_errors(deep);
    ASSERT_EQ(top.size(), 1u);
    EXPECT_EQ(top[0], "test.json:1:1: expected a scenario object {...} at the top level, found an array");

    auto inside = load_errors(R"({"name": )" + deep + R"(, "description": "d", "steps": [{"power_loss": {}}]})");
    ASSERT_EQ(inside.size(), 1u);
    EXPECT_EQ(inside[0], "test.json:1:10: /name: expected a string, found an array");
}

TEST(ScenarioErrors, SyntaxErrorsPointAtTheProblem) {
    EXPECT_EQ(load_errors("{\"name\": \"x\",\n  \"steps\": [1 2]}"),
              std::vector<std::string>{"test.json:2:15: expected ',' or ']' after an array element, found a number"});
    EXPECT_EQ(load_errors("{\"a\": \"\xff\"}"), std::vector<std::string>{"test.json:1:8: invalid UTF-8 in a string"});
    EXPECT_EQ(load_errors("{\"seed\": 1e999}"), std::vector<std::string>{"test.json:1:10: number too large: '1e999'"});
    EXPECT_EQ(load_errors("{\"a\": \"x\" \"b\"}"),
              std::vector<std::string>{"test.json:1:11: expected ',' or '}' after an object member, found a string"});
    EXPECT_EQ(load_errors("{\"a\": \"\\u12\"}"),
              std::vector<std::string>{"test.json:1:12: bad escape in a string: '\\u' must be followed by 4 hex digits"});
    EXPECT_EQ(load_errors("{\"a\": NaN}"),
              std::vector<std::string>{"test.json:1:7: invalid value 'NaN' (expected a string, a number, an object, an "
                                       "array, true, false or null)"});
}

// ---- the position scanner -----------------------------------------------------------------

TEST(JsonPositions, ValuesAndKeysOfMembersAndElements) {
    namespace jt = json_text;
    std::string text = "{\n  \"a\": [1, {\"b\": \"x\\\"y\"}],\n  \"c/d\": {\"\\u00e9\": null}, \"e~\": true\n}";
    jt::PositionIndex index = jt::index_positions(text);
    EXPECT_TRUE(index.complete);
    auto at = [&](const std::string& pointer) {
        const jt::ValuePosition* p = index.find(pointer);
        if (p == nullptr) return std::string("missing");
        return std::to_string(p->value.line) + ":" + std::to_string(p->value.column) + " key " +
               std::to_string(p->key.line) + ":" + std::to_string(p->key.column);
    };
    EXPECT_EQ(at(""), "1:1 key 0:0");
    EXPECT_EQ(at("/a"), "2:8 key 2:3");
    EXPECT_EQ(at("/a/0"), "2:9 key 0:0");
    EXPECT_EQ(at("/a/1"), "2:12 key 0:0");
    EXPECT_EQ(at("/a/1/b"), "2:18 key 2:13");
    EXPECT_EQ(at("/c~1d"), "3:10 key 3:3");
    EXPECT_EQ(at("/c~1d/\xC3\xA9"), "3:21 key 3:11");  // columns count bytes
    EXPECT_EQ(at("/e~0"), "3:34 key 3:28");
    EXPECT_TRUE(index.duplicates.empty());
}

TEST(JsonPositions, DuplicatesAndTheLastValueWins) {
    namespace jt = json_text;
    jt::PositionIndex index = jt::index_positions(R"({"a": 1, "b": {"a": 2}, "a": 3})");
    ASSERT_EQ(index.duplicates.size(), 1u);
    EXPECT_EQ(index.duplicates[0].pointer, "/a");
    EXPECT_EQ(index.duplicates[0].first.column, 2u);
    EXPECT_EQ(index.duplicates[0].again.column, 25u);
    EXPECT_EQ(index.find("/a")->value.column, 30u);  // the value nlohmann keeps
}

TEST(JsonPositions, ByteOrderMarkDoesNotCountAsAColumn) {
    namespace jt = json_text;
    jt::PositionIndex index = jt::index_positions("\xEF\xBB\xBF{\"a\": 1}");
    EXPECT_TRUE(index.complete);
    EXPECT_EQ(index.find("")->value.column, 1u);
    EXPECT_EQ(index.find("/a")->value.column, 7u);
}

TEST(JsonPositions, StopsOnInvalidText) {
    namespace jt = json_text;
    EXPECT_FALSE(jt::index_positions("{\"a\": 1,}").complete);
    EXPECT_FALSE(jt::index_positions("{\"a\" 1}").complete);
    EXPECT_FALSE(jt::index_positions("[1] 2").complete);
    EXPECT_FALSE(jt::index_positions("\"abc").complete);
    EXPECT_FALSE(jt::index_positions("").complete);
    EXPECT_TRUE(jt::index_positions(" 1 ").complete);
}

TEST(JsonPositions, DeepValuesAreWalkedButNotRecorded) {
    namespace jt = json_text;
    std::string deep = std::string(100, '[') + std::string(100, ']');
    jt::PositionIndex index = jt::index_positions(deep);
    EXPECT_TRUE(index.complete);
    EXPECT_NE(index.find("/0/0/0"), nullptr);
    std::string too_deep;
    for (std::size_t i = 0; i < jt::max_recorded_depth + 5; ++i) too_deep += "/0";
    EXPECT_EQ(index.find(too_deep), nullptr);
}
