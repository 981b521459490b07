// The scenario format's closed sets have one home each: an enum's name table
// (proto/names.hpp) or a registry of kinds (engine/step.hpp, engine/fault.hpp).
// The JSON Schema editors use must list exactly the same names: this fails
// when the schema and a table disagree.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "engine/event_condition.hpp"
#include "engine/fault.hpp"
#include "engine/scenario.hpp"
#include "engine/scenario_loader.hpp"
#include "engine/scenario_reader.hpp"
#include "engine/step_support.hpp"
#include "engine/steps/boot.hpp"
#include "engine/steps/daemon.hpp"
#include "engine/steps/expect.hpp"
#include "engine/steps/modem.hpp"
#include "engine/steps/read.hpp"
#include "engine/steps/write.hpp"
#include "server/board_profile.hpp"
#include "server/storage_watch.hpp"
#include "sim/trace.hpp"

namespace rmtfs_hil::engine {
namespace {

using Json = nlohmann::json;
using Names = std::vector<std::string>;

const Json& schema() {
    static const Json loaded = [] {
        std::ifstream in(RMTFS_HIL_SCENARIO_LIBRARY "/scenario.schema.json");
        return Json::parse(in);
    }();
    return loaded;
}

Names schema_enum(const std::string& pointer) {
    const Json& at = schema().at(Json::json_pointer(pointer));
    return at.at("enum").get<Names>();
}

Names without(Names names, const std::string& name) {
    std::erase(names, name);
    return names;
}

struct Place {
    const char* pointer;
    Names names;
};

TEST(Vocabulary, EverySchemaEnumIsItsTable) {
    const std::string defs = "/$defs/";
    Names boards;
    for (const auto* board : server::known_boards()) boards.push_back(board->name);
    const std::vector<Place> places = {
        {"/properties/targets/items", names_of<TargetKind>()},
        {"/properties/setup/properties/board", boards},
        {"/properties/setup/properties/coupling", names_of<sim::CouplingPolicy>()},
        {"/properties/setup/properties/name_service", names_of<NameServiceMode>()},
        {"/properties/setup/properties/modems/items/properties/on_service_loss", names_of<sim::ServiceLoss>()},
        {"/properties/setup/properties/modems/items/properties/on_open_failure", names_of<sim::OpenFailure>()},
        {"/properties/setup/properties/storage/properties/fill", names_of<StorageFill>()},
        {"/properties/known_issue/properties/observed", names_of<ObservedVerdict>()},
        {"/$defs/storage_file", ScenarioReader::storage_file_names()},
        {"/$defs/step_daemon/properties/daemon/oneOf/0", without(names_of<DaemonAction>(), "upgrade")},
        {"/$defs/step_boot/properties/boot/properties/expect", names_of<BootExpectation>()},
        {"/$defs/step_modem/properties/modem/properties/action", names_of<PowerAction>()},
        {"/$defs/step_write/properties/write/properties/expect", names_of<WriteExpectation>()},
        {"/$defs/step_read/properties/read/properties/expect", names_of<ReadExpectation>()},
        {"/$defs/step_request/properties/request/properties/message", request_names()},
        {"/$defs/step_fault/properties/fault/properties/action", fault_names()},
        {"/$defs/step_fault/properties/fault/properties/when/oneOf/0/properties/request", request_names()},
        {"/$defs/step_fault/properties/fault/properties/when/oneOf/3/properties/event", names_of<WaitEvent>()},
        {"/$defs/step_io_fault/properties/io_fault/properties/call", names_of<server::IoCall>()},
        {"/$defs/step_io_fault/properties/io_fault/properties/target", names_of<server::IoTarget>()},
        {"/$defs/step_link/properties/link/properties/action", names_of<LinkAction>()},
        {"/$defs/step_link/properties/link/properties/direction", names_of<LinkDirection>()},
        {"/$defs/step_name_service/properties/name_service", names_of<PowerAction>()},
        {"/$defs/step_remoteproc/properties/remoteproc/properties/write", names_of<PowerAction>()},
        {"/$defs/step_wait_for/properties/wait_for/properties/event", names_of<WaitEvent>()},
        {"/$defs/step_wait_for/properties/wait_for/allOf/0/then/properties/state", names_of<sim::ModemState>()},
        {"/$defs/step_wait_for/properties/wait_for/allOf/1/then/properties/state", names_of<sim::RemoteprocState>()},
        {"/$defs/step_expect/properties/expect/properties/modem_state", names_of<sim::ModemState>()},
        {"/$defs/step_expect/properties/expect/properties/remoteproc_state", names_of<sim::RemoteprocState>()},
        {"/$defs/step_expect/properties/expect/properties/ledger", names_of<LedgerVerdict>()},
    };
    for (const Place& place : places) EXPECT_EQ(schema_enum(place.pointer), place.names) << "the schema at " << place.pointer;
}

TEST(Vocabulary, EveryStepKindHasItsSchemaDefinitionAndNoMore) {
    std::set<std::string> in_schema;
    for (const Json& ref : schema().at("/$defs/step/oneOf"_json_pointer)) {
        std::string target = ref.at("$ref").get<std::string>();
        in_schema.insert(target.substr(target.rfind("/step_") + 6));
    }
    Names kinds = scenario_step_kinds();
    EXPECT_EQ(in_schema, std::set<std::string>(kinds.begin(), kinds.end()));
    for (const auto& kind : kinds)
        EXPECT_TRUE(schema().at("/$defs"_json_pointer).contains("step_" + kind)) << kind;
}

TEST(Vocabulary, EveryFaultOptionIsInTheSchema) {
    const Json& properties = schema().at("/$defs/step_fault/properties/fault/properties"_json_pointer);
    for (const FaultKind* kind : fault_kinds())
        for (const auto& option : kind->options)
            EXPECT_TRUE(properties.contains(option)) << "fault " << kind->name << "'s option " << option;
}

// The actions a schema clause {"if": {action: A}, "else": {option: false}}
// leaves an option to.
std::map<std::string, std::set<std::string>> schema_option_owners() {
    std::map<std::string, std::set<std::string>> owners;
    for (const Json& clause : schema().at("/$defs/step_fault/properties/fault/allOf"_json_pointer)) {
        if (!clause.contains("else")) continue;
        const Json& action = clause.at("/if/properties/action"_json_pointer);
        Names actions = action.contains("const") ? Names{action.at("const").get<std::string>()} : action.at("enum").get<Names>();
        for (const auto& [option, allowed] : clause.at("/else/properties"_json_pointer).items()) {
            EXPECT_EQ(allowed, Json(false)) << option;
            owners[option].insert(actions.begin(), actions.end());
        }
    }
    return owners;
}

TEST(Vocabulary, TheSchemaGivesEachFaultOptionToTheKindsThatReadIt) {
    std::map<std::string, std::set<std::string>> readers;
    for (const FaultKind* kind : fault_kinds())
        for (const auto& option : kind->options) readers[option].insert(std::string(kind->name));
    EXPECT_EQ(schema_option_owners(), readers);
}

TEST(Vocabulary, NamesAreUniqueAndRoundTrip) {
    for (sim::ModemState state : values_of<sim::ModemState>()) EXPECT_EQ(named<sim::ModemState>(name_of(state)), state);
    for (Capability c : values_of<Capability>()) EXPECT_EQ(named<Capability>(name_of(c)), c);
    Names faults = fault_names();
    EXPECT_EQ(std::set<std::string>(faults.begin(), faults.end()).size(), faults.size());
    EXPECT_FALSE(named<sim::CouplingPolicy>("telepathy").has_value());
}

TEST(Vocabulary, TheSchemaDaemonStatePatternHasTheTablesWords) {
    std::string words;
    for (const auto& name : names_of<DaemonExpectation::Is>()) words += name + "|";
    const std::string pattern =
        schema().at("/$defs/step_expect/properties/expect/properties/daemon/pattern"_json_pointer).get<std::string>();
    EXPECT_EQ(pattern, "^(" + words + "exited [0-9]{1,3}|killed by SIG[A-Z0-9]+)$");
}

// The JSON report's trace is documented for other tools: every source and
// kind a trace event can have is in scenarios/README.md.
TEST(Vocabulary, TheReportFormatNamesEveryTraceSourceAndKind) {
    std::ifstream in(RMTFS_HIL_SCENARIO_LIBRARY "/README.md");
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    const auto section = text.find("## The JSON report");
    ASSERT_NE(section, std::string::npos);
    // The table of sources, each with its kinds.
    const auto table = text.find("| `source` |", section);
    ASSERT_NE(table, std::string::npos);
    const std::string report = text.substr(table, text.find("\n\n", table) - table);
    for (sim::TraceSource source : values_of<sim::TraceSource>()) {
        EXPECT_EQ(named<sim::TraceSource>(name_of(source)), source);
        EXPECT_NE(report.find("| `" + std::string(name_of(source)) + "` |"), std::string::npos) << name_of(source);
    }
    for (sim::TraceKind kind : values_of<sim::TraceKind>()) {
        EXPECT_EQ(named<sim::TraceKind>(name_of(kind)), kind);
        EXPECT_NE(report.find("`" + std::string(name_of(kind)) + "`"), std::string::npos) << name_of(kind);
    }
}

TEST(VocabularyDeathTest, AValueWithoutANameIsAHarnessBugNotADefault) {
    EXPECT_DEATH((void)name_of(static_cast<sim::ModemState>(99)), "without a name");
}

}  // namespace
}  // namespace rmtfs_hil::engine
