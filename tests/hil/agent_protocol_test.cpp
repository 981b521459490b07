// The agent's lines, as the host reads them: a result survives the trip
// whole, and anything else on the stream is kept, never mistaken for one.
#include <gtest/gtest.h>

#include "hil/agent/agent_protocol.hpp"
#include "hil/host/adb_client.hpp"
#include "tests/engine/sample_report.hpp"

namespace rmtfs_hil::hil {
namespace {

TEST(AgentProtocol, EveryResultComesBackWhole) {
    // The report tests' sample: faults, long traces, hostile text, every verdict.
    for (engine::ScenarioResult sent : testing::sample_report().scenarios) {
        testing::cut_at_invalid_utf8(sent);  // replaced on the way, as in every JSON report
        std::string line = result_line(sent);
        EXPECT_EQ(line.find('\n'), std::string::npos) << "one line";
        AgentLine got = parse_agent_line(line);
        ASSERT_TRUE(std::holds_alternative<ResultLine>(got)) << line;
        EXPECT_EQ(std::get<ResultLine>(got).result, sent) << sent.name;
    }
}

TEST(AgentProtocol, HelloAndDoneComeBackWhole) {
    Hello hello{"0.1.0", Transport::kernel, "qcm6490", engine::Capabilities{engine::Capability::daemon_control}, 3};
    AgentLine got = parse_agent_line(hello_line(hello));
    ASSERT_TRUE(std::holds_alternative<Hello>(got));
    const Hello& back = std::get<Hello>(got);
    EXPECT_EQ(back.version, "0.1.0");
    EXPECT_EQ(back.transport, Transport::kernel);
    EXPECT_EQ(back.board, "qcm6490");
    EXPECT_EQ(back.capabilities, hello.capabilities);
    EXPECT_EQ(back.scenarios, 3u);

    AgentLine done = parse_agent_line(done_line(true, ""));
    ASSERT_TRUE(std::holds_alternative<Done>(done));
    EXPECT_TRUE(std::get<Done>(done).interrupted);
    EXPECT_EQ(std::get<Done>(done).not_restored, "");
    EXPECT_EQ(done_line(false, ""), R"({"agent":"done","interrupted":false})") << "nothing said when all is back";

    AgentLine trouble = parse_agent_line(done_line(false, "rmtfs.service was not started again: failed"));
    ASSERT_TRUE(std::holds_alternative<Done>(trouble));
    EXPECT_FALSE(std::get<Done>(trouble).interrupted);
    EXPECT_EQ(std::get<Done>(trouble).not_restored, "rmtfs.service was not started again: failed");
}

TEST(AgentProtocol, OtherOutputIsKeptNotMistaken) {
    for (std::string_view line : {"", "Failed to get rprocfd", "{not json", R"({"verdict":"pass"})", R"([1,2])",
                                  R"({"agent": 5})"}) {
        AgentLine got = parse_agent_line(line);
        ASSERT_TRUE(std::holds_alternative<OtherLine>(got)) << line;
        EXPECT_EQ(std::get<OtherLine>(got).text, line);
    }
}

TEST(AgentProtocol, ABrokenProtocolLineSaysWhatIsWrong) {
    struct Case {
        std::string line, expected;
    };
    for (const Case& c : std::vector<Case>{
             {R"({"agent":"hello","protocol":99,"version":"x","transport":"loopback","board":"b","capabilities":[],"scenarios":1})",
              "the agent speaks protocol 99"},
             {R"({"agent":"hello","protocol":1,"version":"x","transport":"carrier-pigeon","board":"b","capabilities":[],"scenarios":1})",
              "unknown transport"},
             {R"({"agent":"hello","protocol":1,"version":"x","transport":"kernel","board":"b","capabilities":["teleport"],"scenarios":1})",
              "unknown capability 'teleport'"},
             {R"({"agent":"hello","protocol":1})", "hello:"},
             {R"({"agent":"result","result":{"verdict":"maybe"}})", "result:"},
             {R"({"agent":"result"})", "result:"},
             {R"({"agent":"done"})", "done:"},
             {R"({"agent":"goodbye"})", "unknown agent line 'goodbye'"},
         }) {
        AgentLine got = parse_agent_line(c.line);
        ASSERT_TRUE(std::holds_alternative<BadLine>(got)) << c.line;
        EXPECT_NE(std::get<BadLine>(got).why.find(c.expected), std::string::npos) << std::get<BadLine>(got).why;
    }
}

TEST(AdbClient, EveryWordReachesTheDevicesShellAsOneArgument) {
    EXPECT_EQ(AdbClient::device_command({"rm", "-rf", "/data/local/tmp/x y"}), "'rm' '-rf' '/data/local/tmp/x y'");
    EXPECT_EQ(AdbClient::device_command({"it's", "$(reboot)", "a;b", "`x`", ""}),
              R"('it'\''s' '$(reboot)' 'a;b' '`x`' '')");
}

}  // namespace
}  // namespace rmtfs_hil::hil
