// The rig's rest check (Rig::unrest): a wait for an answer ends early only
// when the daemon waits for input with nothing left to read. Shown against a
// stand-in server (slow_server.c) that answers GET_DEV_ERROR late in each way
// a daemon can still be about to answer, and against the real rmtfs.
#include <gtest/gtest.h>

#include <chrono>

#include "engine/runner.hpp"
#include "engine/scenario_loader.hpp"
#include "tests/integration/rig_support.hpp"

namespace rmtfs_hil::testing {
namespace {

using Clock = std::chrono::steady_clock;

class RestTest : public RigTest {
protected:
    // The stand-in server in `mode`, a modem booted against it (no image to
    // load), a 2 s request timeout.
    void start_slow(const std::string& mode) {
        engine::RigOptions options = small_rig();
        options.server = RMTFS_HIL_SLOW_SERVER;
        options.server_args = {mode};
        options.modems[0].config.image_sectors = 0;
        auto created = engine::Rig::create(std::move(options));
        ASSERT_TRUE(created) << created.error();
        rig = std::move(*created);
        start();
        auto booted = rig->boot_modem();
        ASSERT_TRUE(booted.ok) << booted.reason << evidence();
    }

    std::optional<sim::Response> get_dev_error(engine::AnswerWait wait = engine::AnswerWait::until_idle) {
        return rig->request(0, rmtfs::GetDevErrorRequest{1}, wait);
    }

    static std::string detail(const std::optional<sim::Response>& r) {
        if (!r) return "(nothing)";
        return *r ? rmtfs::summary(**r) : r->error().detail;
    }
};

// Each late answer is waited for: the check sees the thread that will send it.
TEST_F(RestTest, LateAnswersAreWaitedFor) {
    for (const char* mode : {"sleep", "select", "thread"}) {
        SCOPED_TRACE(mode);
        start_slow(mode);
        auto answer = get_dev_error();
        ASSERT_TRUE(answer && *answer) << mode << ": " << detail(answer) << evidence();
        EXPECT_TRUE(std::holds_alternative<rmtfs::GetDevErrorResponse>(**answer));
        EXPECT_FALSE(rig->trouble()) << *rig->trouble();
        rig.reset();
    }
}

// A request the daemon will never answer ends as soon as it is at rest, not
// at the timeout, and says why; asked for, the full wait is the timeout's.
TEST_F(RestTest, NoAnswerEndsAtRest) {
    start_slow("never");
    auto answer = get_dev_error();
    ASSERT_TRUE(answer && !*answer) << detail(answer);
    EXPECT_EQ(answer->error().kind, sim::RequestFailure::Kind::timeout);
    EXPECT_NE(answer->error().detail.find("waits for input with nothing left to read"), std::string::npos)
        << answer->error().detail;
    EXPECT_FALSE(rig->unrest()) << *rig->unrest();

    auto full = get_dev_error(engine::AnswerWait::full);
    ASSERT_TRUE(full && !*full) << detail(full);
    EXPECT_NE(full->error().detail.find("no answer within 2000 ms"), std::string::npos) << full->error().detail;
}

// An answer with another txn is no answer, and the unanswered request says
// that one came.
TEST_F(RestTest, AnAnswerWithAnotherTxnIsNamed) {
    start_slow("txn");
    auto answer = get_dev_error();
    ASSERT_TRUE(answer && !*answer) << detail(answer);
    EXPECT_NE(answer->error().detail.find("meanwhile answers came that no pending request's txn matches: "
                                          "GET_DEV_ERROR response"),
              std::string::npos)
        << answer->error().detail;
}

// While the daemon is stopped it is not at rest (a continue may come), and a
// request that reached it is waited for to the timeout.
TEST_F(RestTest, StoppedDaemonIsNotAtRest) {
    start_slow("never");
    rig->signal_daemon(SIGSTOP);
    ASSERT_TRUE(rig->run_until([&] { return rig->settled(); }, 5s));
    ASSERT_TRUE(rig->unrest());
    EXPECT_NE(rig->unrest()->find("stopped"), std::string::npos) << *rig->unrest();
    auto answer = get_dev_error();
    ASSERT_TRUE(answer && !*answer);
    EXPECT_NE(answer->error().detail.find("no answer within"), std::string::npos) << answer->error().detail;
}

// A packet a link fault holds is in flight: the world is not at rest.
TEST_F(RestTest, HeldPacketIsInFlight) {
    start_slow("never");
    rig->link(0).add_fault(sim::FabricLink::Direction::to_fabric, sim::delay_fault(rig->io(), 300ms));
    auto answer = get_dev_error();  // the stand-in answers all but this: time out at rest, after the delay
    ASSERT_TRUE(answer && !*answer);
    EXPECT_NE(answer->error().detail.find("waits for input"), std::string::npos) << answer->error().detail;
    // The delayed request reached the daemon before the wait ended.
    bool reached = false;
    for (const auto& e : rig->events())
        if (e.kind == sim::TraceKind::deliver && e.fields.packet && e.fields.packet->message == "GET_DEV_ERROR" &&
            e.fields.packet->qmi == "request")
            reached = true;
    EXPECT_TRUE(reached) << evidence();
}

// The real daemon: a malformed message it drops is given up on at rest, and
// the requests it answers still are answered.
TEST_F(RestTest, RealDaemonDroppedMessageEndsAtRest) {
    make(small_rig());
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    auto dropped = rig->request_raw(0, Bytes{0x00, 0x01, 0x71});
    ASSERT_TRUE(dropped && !*dropped);
    EXPECT_NE(dropped->error().detail.find("waits for input"), std::string::npos) << dropped->error().detail;
    auto answered = get_dev_error();
    ASSERT_TRUE(answered && *answered) << detail(answered);
}

// The end of a scenario is judged on a world at rest: a crash the last step
// set off, after its answer, is caught (not judged before it happens).
TEST(RestRun, CrashQueuedBehindTheLastStepIsCaught) {
    auto scenario = engine::load_scenario(R"({
      "name": "crash-behind-last-step",
      "description": "the last request is answered, then the server aborts",
      "setup": {"modems": [{"image_sectors": 0}], "server": {"args": ["crash"]}},
      "steps": [{"request": {"message": "GET_DEV_ERROR", "caller_id": 1, "expect": {"result": 0}}}]
    })", "crash.json");
    ASSERT_TRUE(scenario) << scenario.error().front().describe();
    engine::RunOptions options;
    options.server = RMTFS_HIL_SLOW_SERVER;
    engine::ScenarioResult result = engine::run_scenario(*scenario, options);
    EXPECT_EQ(result.verdict, engine::Verdict::fail) << result.reason;
    EXPECT_NE(result.reason.find("SIGABRT"), std::string::npos) << result.reason;
}

// The modem looks up service 14 of version 1, instance 0, as a QMI client
// does: a daemon publishing another version or instance is never found, and
// the failed boot says what was published.
TEST(ServiceLookup, AnotherVersionOrInstanceIsNotTheService) {
    for (const char* wire : {"2", "257"}) {  // version 2 instance 0; version 1 instance 1
        engine::RigOptions options = small_rig();
        options.server = RMTFS_HIL_SLOW_SERVER;
        options.server_args = {"never", wire};
        options.modems[0].config.image_sectors = 0;
        options.modems[0].config.service_wait = 300ms;
        auto rig = engine::Rig::create(std::move(options));
        ASSERT_TRUE(rig) << rig.error();
        ASSERT_TRUE((*rig)->start_daemon());
        ASSERT_TRUE((*rig)->wait_for_service());
        auto booted = (*rig)->boot_modem();
        EXPECT_FALSE(booted.ok) << wire;
        std::string published = std::string(wire) == "2" ? "as version 2 instance 0" : "as version 1 instance 1";
        EXPECT_NE(booted.reason.find(published), std::string::npos) << booted.reason;
    }
}

// A daemon that keeps memory per request fails daemon_memory_added_kb, one
// that does not passes it: the stand-in in "leak" mode against a correct one
// (the stand-in keeps no storage: the ledger is not its to judge).
TEST(DaemonResources, AMemoryLeakPerRequestShows) {
    for (const char* mode : {"sleep", "leak"}) {
        std::string text = R"({"name": "leak", "description": "syncs",
          "invariants": {"ledger": false},
          "setup": {"modems": [{"image_sectors": 0, "sync_interval_ms": 2, "sync_sectors": 1}],
                    "server": {"args": [")" + std::string(mode) + R"("]}},
          "steps": [{"wait_for": {"event": "syncs", "count": 50}, "timeout_ms": 20000},
                    {"expect": {"daemon_memory_added_kb": 512, "daemon_fds_added": 0}}]})";
        auto scenario = engine::load_scenario(text, "leak.json");
        ASSERT_TRUE(scenario) << scenario.error().front().describe();
        engine::RunOptions options;
        options.server = RMTFS_HIL_SLOW_SERVER;
        engine::ScenarioResult result = engine::run_scenario(*scenario, options);
        if (std::string(mode) == "sleep") {
            EXPECT_EQ(result.verdict, engine::Verdict::pass) << result.reason;
        } else {
            EXPECT_EQ(result.verdict, engine::Verdict::fail);
            EXPECT_NE(result.reason.find("KiB more than after the setup (at most 512 KiB more expected): a memory leak"),
                      std::string::npos)
                << result.reason;
        }
    }
}

// A read or write expected to fail may name the failure's error code: the
// stand-in refuses every RW_IOVEC with error 1, so naming 1 passes and
// naming 2 fails saying both.
TEST(FailureCode, ReadAndWriteNameTheErrorCode) {
    for (const char* step : {"read", "write"}) {
        for (int code : {1, 2}) {
            std::string text = R"({"name": "code", "description": "refused",
              "setup": {"modems": [{"image_sectors": 0}], "server": {"args": ["refuse"]}},
              "steps": [{")" + std::string(step) + R"(": {"sector": 8, "expect": "failed", "error": )" +
                               std::to_string(code) + "}}]}";
            auto scenario = engine::load_scenario(text, "code.json");
            ASSERT_TRUE(scenario) << scenario.error().front().describe();
            engine::RunOptions options;
            options.server = RMTFS_HIL_SLOW_SERVER;
            engine::ScenarioResult result = engine::run_scenario(*scenario, options);
            if (code == 1) {
                EXPECT_EQ(result.verdict, engine::Verdict::pass) << step << ": " << result.reason;
            } else {
                EXPECT_EQ(result.verdict, engine::Verdict::fail) << step;
                EXPECT_NE(result.reason.find("failed with error 1, expected error 2"), std::string::npos)
                    << step << ": " << result.reason;
            }
        }
    }
}

}  // namespace
}  // namespace rmtfs_hil::testing
