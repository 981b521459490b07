// Fault points that land exactly, against Debian's rmtfs: signals when the
// k-th request of a type reaches the daemon and at a time offset, restarts
// under fatal and reopening modems, the service absent at boot, the modem's
// link going down and up, cold boots under every coupling policy.
#include <signal.h>

#include "tests/integration/rig_support.hpp"

namespace rmtfs_hil {
namespace {

using engine::Rig;
using testing::RigTest;
using testing::sector_data;
using testing::small_rig;
using namespace std::chrono_literals;

constexpr auto rw_iovec = static_cast<std::uint16_t>(rmtfs::MessageId::rw_iovec);

class FaultPoints : public RigTest {};

TEST_F(FaultPoints, SigkillWhenTheSecondWriteReachesTheDaemonLosesOnlyThatUnansweredWrite) {
    make(small_rig());
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    // Counting starts now: the boot's RW_IOVEC reads are behind us.
    auto fault = rig->process_faults().arm(server::AtRequest{rw_iovec, 2, std::nullopt}, server::ProcessAction::sigkill);
    Bytes before = rig->storage_file("modem_fs1");
    Bytes first = sector_data(4, 0x11), second = sector_data(4, 0x22);
    auto one = rig->write(0, 0, 8, first);
    EXPECT_EQ(one.outcome, sim::WriteOutcome::ok) << one.detail << evidence();
    EXPECT_FALSE(rig->process_faults().fired(fault));
    auto two = rig->write(0, 0, 16, second);
    EXPECT_TRUE(rig->process_faults().fired(fault));
    EXPECT_EQ(two.outcome, sim::WriteOutcome::unknown) << two.detail << evidence();
    auto exit = rig->wait_for_daemon_exit();
    ASSERT_TRUE(exit) << evidence();
    EXPECT_EQ(*exit, server::ProcessExit::killed(SIGKILL));
    // The daemon died before it could read the request: nothing of it landed.
    Bytes storage = rig->storage_file("modem_fs1");
    EXPECT_EQ(Bytes(storage.begin() + 16 * 512, storage.begin() + 20 * 512),
              Bytes(before.begin() + 16 * 512, before.begin() + 20 * 512))
        << "the killed request's data reached storage";
    EXPECT_EQ(Bytes(storage.begin() + 8 * 512, storage.begin() + 12 * 512), first);
    auto violations = rig->check_storage();
    EXPECT_TRUE(violations.empty()) << (violations.empty() ? "" : violations[0].describe()) << evidence();
}

TEST_F(FaultPoints, SigstopAtARequestHoldsItsAnswerUntilSigcont) {
    engine::RigOptions options = small_rig();
    options.modems[0].config.request_timeout = 5s;
    make(options);
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    rig->process_faults().arm(server::AtRequest{rw_iovec, 1, std::nullopt}, server::ProcessAction::sigstop);
    // Armed after the stop: 300 ms from now the daemon is continued.
    rig->process_faults().arm(server::AfterDelay{300ms}, server::ProcessAction::sigcont);
    auto begun = std::chrono::steady_clock::now();
    auto result = rig->write(0, 1, 0, sector_data(1, 0x33));
    auto took = std::chrono::steady_clock::now() - begun;
    EXPECT_EQ(result.outcome, sim::WriteOutcome::ok) << result.detail << evidence();
    EXPECT_GE(took, 250ms) << "the answer came while the daemon was stopped" << evidence();
    bool stopped = false, continued = false;
    for (const auto& e : rig->events()) {
        stopped |= e.source == sim::TraceSource::server && e.kind == sim::TraceKind::stopped;
        continued |= e.source == sim::TraceSource::server && e.kind == sim::TraceKind::continued;
    }
    EXPECT_TRUE(stopped && continued) << evidence();
    EXPECT_TRUE(rig->daemon_running());
}

TEST_F(FaultPoints, ATimedSigtermEndsTheDaemonCleanly) {
    make(small_rig());
    start();
    rig->process_faults().arm(server::AfterDelay{100ms}, server::ProcessAction::sigterm);
    auto exit = rig->wait_for_daemon_exit(5s);
    ASSERT_TRUE(exit) << evidence();
    EXPECT_EQ(*exit, server::ProcessExit::exited(0)) << evidence();
    EXPECT_FALSE(rig->service_published());
}

TEST_F(FaultPoints, ARestartAtTheFirstOpenComesBackAndServesTheModem) {
    engine::RigOptions options = small_rig(sim::CouplingPolicy::manual, sim::ServiceLoss::reopen);
    make(options);
    start();
    rig->process_faults().arm(server::AtRequest{static_cast<std::uint16_t>(rmtfs::MessageId::open), 1, std::nullopt},
                              server::ProcessAction::restart);
    // The first OPEN restarts the daemon (SIGTERM: it dies with the request
    // unread or answered); the modem boots against the new one.
    auto boot = rig->boot_modem();
    EXPECT_EQ(rig->daemon_starts(), 2u) << evidence();
    if (!boot.ok) {
        // The first OPEN was lost with the old daemon: a real modem gives up.
        EXPECT_NE(boot.reason.find("OPEN"), std::string::npos) << boot.reason;
    } else {
        EXPECT_EQ(rig->modem_state(), sim::ModemState::running);
    }
    ASSERT_TRUE(rig->wait_for_service()) << evidence();
}

TEST_F(FaultPoints, AFatalModemCrashesOnADaemonRestartAndRecoveryBootsItAgain) {
    make(small_rig(sim::CouplingPolicy::manual, sim::ServiceLoss::fatal));
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    ASSERT_TRUE(rig->restart_daemon()) << evidence();
    ASSERT_TRUE(rig->run_until([&] { return rig->modem_crashes() == 1; }, 5s)) << "the modem did not crash" << evidence();
    // The subsystem restart boots it again, against the new daemon.
    auto boot = rig->wait_for_boot(0, 20s, 2);
    ASSERT_TRUE(boot) << evidence();
    EXPECT_TRUE(boot->ok) << boot->reason << evidence();
    EXPECT_EQ(rig->modem_boots(), 2u);
    EXPECT_EQ(rig->remoteproc().state(), sim::RemoteprocState::running);
    auto write = rig->write(0, 1, 3, sector_data(2, 0x44));
    EXPECT_EQ(write.outcome, sim::WriteOutcome::ok) << write.detail;
    EXPECT_TRUE(rig->check_storage().empty()) << evidence();
}

TEST_F(FaultPoints, AReopeningModemSurvivesADaemonRestartWithoutCrashing) {
    make(small_rig(sim::CouplingPolicy::manual, sim::ServiceLoss::reopen));
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    ASSERT_TRUE(rig->restart_daemon()) << evidence();
    ASSERT_TRUE(rig->wait_for_service()) << evidence();
    ASSERT_TRUE(rig->run_until([&] { return rig->modem_state() == sim::ModemState::running; }, 10s)) << evidence();
    auto write = rig->write(0, 0, 5, sector_data(3, 0x55));
    EXPECT_EQ(write.outcome, sim::WriteOutcome::ok) << write.detail << evidence();
    EXPECT_EQ(rig->modem_crashes(), 0u);
    EXPECT_EQ(rig->modem_boots(), 1u);
    EXPECT_TRUE(rig->check_storage().empty()) << evidence();
}

TEST_F(FaultPoints, AnUpgradeRestartsWithAnotherBinaryAndAFatalModemDiesWithTheOldOne) {
    make(small_rig(sim::CouplingPolicy::manual, sim::ServiceLoss::fatal));
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    // "Another binary": the same daemon through a path of its own.
    std::filesystem::path upgraded = rig->sandbox().world().root() / "rmtfs-upgraded";
    std::filesystem::copy_file(testing::real_rmtfs, upgraded);
    ASSERT_TRUE(rig->restart_daemon(upgraded.string())) << evidence();
    ASSERT_TRUE(rig->wait_for_service()) << evidence();
    ASSERT_TRUE(rig->run_until([&] { return rig->modem_crashes() == 1; }, 5s)) << evidence();
    EXPECT_EQ(rig->daemon().spec().argv[0], upgraded.string());
}

TEST_F(FaultPoints, TheServiceAbsentAtBootThenStartedLateStillBootsTheModem) {
    make(small_rig());
    // The modem is powered first and waits (bounded) for service 14.
    rig->start_modem();
    rig->run_for(400ms);
    EXPECT_EQ(rig->modem_state(), sim::ModemState::waiting_for_service) << evidence();
    start();
    auto boot = rig->wait_for_boot(0, 20s);
    ASSERT_TRUE(boot) << evidence();
    EXPECT_TRUE(boot->ok) << boot->reason << evidence();
}

TEST_F(FaultPoints, TheServiceNeverAppearingFailsTheBootAfterItsBound) {
    engine::RigOptions options = small_rig();
    options.modems[0].config.service_wait = 300ms;
    make(options);
    auto boot = rig->boot_modem(0, 5s);
    EXPECT_FALSE(boot.ok);
    EXPECT_NE(boot.reason.find("service"), std::string::npos) << boot.reason;
    EXPECT_EQ(rig->modem_state(), sim::ModemState::failed);
}

TEST_F(FaultPoints, TheModemsLinkGoingDownAndUpLeavesTheDaemonServing) {
    make(small_rig());
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    rig->stop_modem();  // BYE: the modem's node leaves
    rig->run_for(100ms);
    EXPECT_TRUE(rig->daemon_running()) << evidence();
    // Powered again: a fresh boot against the same daemon, handles reused.
    auto boot = rig->boot_modem();
    EXPECT_TRUE(boot.ok) << boot.reason << evidence();
    auto write = rig->write(0, 1, 0, sector_data(1, 0x66));
    EXPECT_EQ(write.outcome, sim::WriteOutcome::ok) << write.detail;
}

TEST_F(FaultPoints, WithoutANameServiceTheDaemonGivesUpAndAUserspaceOneStartedLaterLetsItServe) {
    engine::RigOptions options = small_rig();
    options.kernel_name_service = false;  // a 4.x kernel before qrtr-ns runs
    make(options);
    ASSERT_TRUE(rig->start_daemon());
    auto exit = rig->wait_for_daemon_exit(5s);
    ASSERT_TRUE(exit) << "rmtfs kept running without a name service" << evidence();
    bool said = false;
    for (const auto& line : rig->daemon_log()) said |= line.find("failed to publish rmtfs service") != std::string::npos;
    EXPECT_TRUE(said) << evidence();
    // rmtfs 1.0 reports this failure with exit status 0, so a unit with
    // Restart=on-failure would not restart it; a correct server exits non-zero.
    EXPECT_EQ(*exit, server::ProcessExit::exited(0)) << "the exit status changed: " << *exit;
    // The name service arrives (qrtr-tools' qrtr-ns, the real one); a new
    // daemon publishes through it and the modem boots.
    auto ns = rig->start_name_service();
    if (!ns && ns.error().find("qrtr-ns") != std::string::npos && !std::filesystem::exists("/usr/bin/qrtr-ns"))
        GTEST_SKIP() << "qrtr-ns is not installed (ci/setup.sh installs qrtr-tools)";
    ASSERT_TRUE(ns) << ns.error();
    ASSERT_TRUE(rig->start_daemon()) << evidence();
    auto boot = rig->boot_modem();
    EXPECT_TRUE(boot.ok) << boot.reason << evidence();
}

TEST_F(FaultPoints, ANetworkResetMakesTheDaemonRepublishAndAReopeningModemCarriesOn) {
    make(small_rig(sim::CouplingPolicy::manual, sim::ServiceLoss::reopen));
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    rig->network_reset();
    // The daemon closes, reopens and publishes again; the modem reopens its handles.
    auto recovered = [&] {
        for (const auto& e : rig->events())
            if (e.source == sim::TraceSource::modem && e.kind == sim::TraceKind::recovered) return true;
        return false;
    };
    ASSERT_TRUE(rig->run_until(recovered, 10s)) << evidence();
    EXPECT_EQ(rig->modem_state(), sim::ModemState::running);
    auto write = rig->write(0, 0, 2, sector_data(1, 0x67));
    EXPECT_EQ(write.outcome, sim::WriteOutcome::ok) << write.detail << evidence();
    EXPECT_TRUE(rig->daemon_running());
}

// ---- cold boot under each coupling policy ------------------------------------------

struct ColdBoot {
    sim::CouplingPolicy policy;
    std::vector<std::string> extra_args;
};

class ColdBootUnder : public RigTest, public ::testing::WithParamInterface<ColdBoot> {};

TEST_P(ColdBootUnder, ThePolicyBootsTheModemAndTheBootLoadsTheImages) {
    engine::RigOptions options = small_rig(GetParam().policy);
    for (const auto& arg : GetParam().extra_args) options.server_args.push_back(arg);
    make(options);
    start();
    if (GetParam().policy == sim::CouplingPolicy::manual) {
        rig->run_for(200ms);
        EXPECT_EQ(rig->modem_state(), sim::ModemState::offline) << "manual: nothing boots the modem but the scenario";
        ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    }
    auto boot = rig->wait_for_boot(0, 20s);
    ASSERT_TRUE(boot) << "the policy never booted the modem" << evidence();
    EXPECT_TRUE(boot->ok) << boot->reason << evidence();
    EXPECT_EQ(rig->remoteproc().state(), sim::RemoteprocState::running);
    ASSERT_EQ(rig->modem()->images().size(), 4u);
    EXPECT_EQ(rig->modem()->images()[0], rig->storage_file("modem_fs1")) << "fs1 loaded through the shared buffer";
}

INSTANTIATE_TEST_SUITE_P(Policies, ColdBootUnder,
                         ::testing::Values(ColdBoot{sim::CouplingPolicy::manual, {}},
                                           ColdBoot{sim::CouplingPolicy::rmtfs_sysfs, {"-s"}},
                                           ColdBoot{sim::CouplingPolicy::service_watch, {}},
                                           ColdBoot{sim::CouplingPolicy::mem_open, {}}),
                         [](const auto& param_info) {
                             std::string name(sim::to_string(param_info.param.policy));
                             for (char& c : name)
                                 if (c == '-') c = '_';
                             return name;
                         });

}  // namespace
}  // namespace rmtfs_hil
