// The daemon's I/O under fault, through the shim's watched files, against
// Debian's rmtfs: SIGKILL after every k-th sector write of a 64-sector write
// with the ledger's verdict, EIO / ENOSPC / short writes, EIO on reads,
// failed syncs, errors on the rmtfs_mem device, refused opens, the mem-open
// policy following the device's opens, and power loss.
//
// Where the real daemon breaks an invariant, the test asserts the breakage
// that happens, with the evidence, and says what a correct server must do.
#include <signal.h>

#include <algorithm>

#include "tests/integration/rig_support.hpp"

namespace rmtfs_hil {
namespace {

using testing::RigTest;
using testing::sector_data;
using testing::small_rig;
using namespace std::chrono_literals;

Bytes slice(const Bytes& bytes, std::uint32_t first_sector, std::uint32_t sectors) {
    return Bytes(bytes.begin() + first_sector * 512, bytes.begin() + (first_sector + sectors) * 512);
}

std::string describe_all(const std::vector<sim::LedgerViolation>& violations) {
    std::string text;
    for (const auto& v : violations) text += v.describe() + "\n";
    return text;
}

// ---- SIGKILL after the k-th sector write, for every k of a 64-sector write ---------

class KilledAfterSectorWrite : public RigTest, public ::testing::WithParamInterface<unsigned> {};

TEST_P(KilledAfterSectorWrite, ExactlyKSectorsLandAndTheLedgerAcceptsTheTornWrite) {
    const unsigned k = GetParam();
    make(small_rig());
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    Bytes before = rig->storage_file("modem_fs2");
    Bytes data = sector_data(64, 0x5a);
    auto fault = rig->process_faults().arm(server::AfterWrite{k, ""}, server::ProcessAction::sigkill);
    auto result = rig->write(0, 1, 32, data);
    EXPECT_TRUE(rig->process_faults().fired(fault)) << evidence();
    EXPECT_EQ(result.outcome, sim::WriteOutcome::unknown) << "k=" << k << ": " << result.detail;
    auto exit = rig->wait_for_daemon_exit();
    ASSERT_TRUE(exit) << evidence();
    EXPECT_EQ(*exit, server::ProcessExit::killed(SIGKILL));
    Bytes after = rig->storage_file("modem_fs2");
    for (unsigned s = 0; s < 64; ++s) {
        bool landed = slice(after, 32 + s, 1) == slice(data, s, 1);
        bool old = slice(after, 32 + s, 1) == slice(before, 32 + s, 1);
        if (s < k) EXPECT_TRUE(landed) << "k=" << k << ": sector " << s << " was written before the kill";
        else EXPECT_TRUE(old) << "k=" << k << ": sector " << s << " changed after the kill";
    }
    // The verdict: the write's fate is unknown, so old or new per sector is
    // allowed; a torn write is no violation, an acknowledged loss would be.
    auto violations = rig->check_storage();
    EXPECT_TRUE(violations.empty()) << "k=" << k << ":\n" << describe_all(violations);
    EXPECT_EQ(rig->ledger().count(sim::WriteOutcome::unknown), 1u);
}

INSTANTIATE_TEST_SUITE_P(EveryK, KilledAfterSectorWrite, ::testing::Range(1u, 65u));

// ---- I/O errors on storage -----------------------------------------------------------

class StorageFaults : public RigTest {
protected:
    void boot(engine::RigOptions options = small_rig()) {
        make(std::move(options));
        start();
        ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    }
    bool logged(const std::string& text) const {
        for (const auto& line : rig->daemon_log())
            if (line.find(text) != std::string::npos) return true;
        return false;
    }
};

TEST_F(StorageFaults, EioOnTheThirdSectorWriteFailsTheRequestAndTheModemIsTold) {
    boot();
    auto fault = rig->storage().arm(server::IoFault{server::IoTarget::storage, "modem_fs1", server::IoCall::write, 3, 1, EIO, {}});
    auto result = rig->write(0, 0, 0, sector_data(8, 0x31));
    EXPECT_EQ(rig->storage().fault_hits(fault), 1u) << evidence();
    EXPECT_EQ(result.outcome, sim::WriteOutcome::failed) << result.detail << evidence();
    EXPECT_TRUE(logged("failed to write sector")) << evidence();
    EXPECT_TRUE(rig->check_storage().empty()) << describe_all(rig->check_storage());
    // The fault is spent: the next write lands.
    EXPECT_EQ(rig->write(0, 0, 0, sector_data(8, 0x32)).outcome, sim::WriteOutcome::ok);
    EXPECT_TRUE(rig->check_storage().empty()) << describe_all(rig->check_storage());
}

TEST_F(StorageFaults, EnospcFailsTheRequest) {
    boot();
    rig->storage().arm(server::IoFault{server::IoTarget::storage, "", server::IoCall::write, 1, 0, ENOSPC, {}});
    auto result = rig->write(0, 1, 4, sector_data(2, 0x33));
    EXPECT_EQ(result.outcome, sim::WriteOutcome::failed) << result.detail << evidence();
    EXPECT_TRUE(rig->check_storage().empty()) << describe_all(rig->check_storage());
}

TEST_F(StorageFaults, AShortSectorWriteIsNotRetriedAndLeavesATornSector) {
    boot();
    // The 2nd sector's pwrite stores 100 of its 512 bytes; a retry would store the rest.
    rig->storage().arm(server::IoFault{server::IoTarget::storage, "modem_fs1", server::IoCall::write, 2, 1, 0, 100u});
    auto result = rig->write(0, 0, 40, sector_data(4, 0x34));
    // A correct server writes the remainder of a short write (POSIX allows
    // them) and the sector holds the new data. rmtfs 1.0 takes the short
    // count as a failure, gives up, and leaves sector 41 half old, half new.
    EXPECT_EQ(result.outcome, sim::WriteOutcome::failed) << result.detail << evidence();
    EXPECT_TRUE(logged("failed to write sector")) << evidence();
    auto violations = rig->check_storage();
    ASSERT_EQ(violations.size(), 1u) << describe_all(violations);
    EXPECT_EQ(violations[0].kind, sim::ViolationKind::torn_sector) << violations[0].describe();
    EXPECT_EQ(violations[0].first_sector, 41u) << violations[0].describe();
    Bytes torn = slice(rig->storage_file("modem_fs1"), 41, 1);
    Bytes wanted = slice(sector_data(4, 0x34), 1, 1);
    EXPECT_TRUE(std::equal(torn.begin(), torn.begin() + 100, wanted.begin())) << "the 100 bytes stored";
    EXPECT_NE(Bytes(torn.begin() + 100, torn.end()), Bytes(wanted.begin() + 100, wanted.end()))
        << "the other 412 bytes were never written";
}

TEST_F(StorageFaults, EioOnAStorageReadIsAnsweredAsSuccessWithDataNobodyWrote) {
    engine::RigOptions options = small_rig();
    options.ask_storage_reads = true;
    boot(options);
    // Something the buffer holds before the read, so stale data is recognisable.
    ASSERT_EQ(rig->write(0, 0, 100, sector_data(1, 0x77)).outcome, sim::WriteOutcome::ok);
    rig->storage().arm(server::IoFault{server::IoTarget::storage, "modem_fs1", server::IoCall::read, 1, 1, EIO, {}});
    auto read = rig->read(0, 0, 8, 1);
    // A correct server answers a failed pread with a failure. rmtfs 1.0's
    // storage_pread() returns the byte count whatever pread returned, so the
    // read "succeeds" with whatever the shared buffer held.
    ASSERT_TRUE(read.ok) << "rmtfs refused the read (a correct server would): " << read.detail << evidence();
    EXPECT_NE(read.data, slice(rig->storage_file("modem_fs1"), 8, 1)) << evidence();
    EXPECT_NE(read.detail.find("read mismatch"), std::string::npos)
        << "the ledger must flag the acknowledged read of data storage does not hold; it said: " << read.detail;
}

TEST_F(StorageFaults, AFailedFdatasyncIsIgnoredAndPowerLossThenLosesAnAcknowledgedWrite) {
    boot();
    auto fault = rig->storage().arm(server::IoFault{server::IoTarget::storage, "modem_fs1", server::IoCall::sync, 1, 1, EIO, {}});
    Bytes data = sector_data(4, 0x35);
    auto result = rig->write(0, 0, 60, data);
    EXPECT_EQ(rig->storage().fault_hits(fault), 1u) << evidence();
    // A correct server reports a write it could not make durable as failed.
    // rmtfs 1.0 does not look at fdatasync's result: it acknowledges it.
    ASSERT_EQ(result.outcome, sim::WriteOutcome::ok) << "rmtfs reported the failed sync: " << result.detail;
    EXPECT_EQ(rig->storage().unsynced_bytes(), 4u * 512) << evidence();
    auto reverted = rig->lose_power();
    ASSERT_TRUE(reverted) << reverted.error();
    auto violations = rig->check_storage();
    ASSERT_EQ(violations.size(), 1u) << describe_all(violations) << evidence();
    EXPECT_EQ(violations[0].kind, sim::ViolationKind::acknowledged_write_lost) << violations[0].describe();
    EXPECT_EQ(violations[0].partition, "/boot/modem_fs1");
    EXPECT_EQ(violations[0].first_sector, 60u);
    EXPECT_EQ(violations[0].sector_count, 4u);
}

TEST_F(StorageFaults, PowerLossKeepsSyncedWritesAndTakesBackTheUnsyncedHalfOfAnInterruptedOne) {
    boot();
    Bytes synced = sector_data(4, 0x61), interrupted = sector_data(4, 0x62);
    Bytes before = rig->storage_file("modem_fs1");
    ASSERT_EQ(rig->write(0, 0, 10, synced).outcome, sim::WriteOutcome::ok);
    // The second write stops for good after 2 of its 4 sectors: before its fdatasync.
    rig->process_faults().arm(server::AfterWrite{2, ""}, server::ProcessAction::sigstop);
    EXPECT_EQ(rig->write(0, 0, 20, interrupted).outcome, sim::WriteOutcome::unknown);
    EXPECT_EQ(rig->storage().unsynced_bytes(), 2u * 512);
    EXPECT_EQ(slice(rig->storage_file("modem_fs1"), 20, 2), slice(interrupted, 0, 2)) << "in the page cache";
    auto reverted = rig->lose_power();
    ASSERT_TRUE(reverted) << reverted.error();
    ASSERT_EQ(reverted->size(), 1u);
    EXPECT_EQ((*reverted)[0].offset, 20u * 512);
    EXPECT_EQ((*reverted)[0].length, 2u * 512);
    Bytes after = rig->storage_file("modem_fs1");
    EXPECT_EQ(slice(after, 10, 4), synced) << "an acknowledged, synced write was lost";
    EXPECT_EQ(slice(after, 20, 4), slice(before, 20, 4)) << "unsynced sectors survived the power loss";
    EXPECT_TRUE(rig->check_storage().empty()) << describe_all(rig->check_storage());
    EXPECT_EQ(rig->remoteproc().state(), sim::RemoteprocState::offline) << "the modem lost power too";
    // Power back: the daemon and the modem come up on the durable state.
    start();
    ASSERT_TRUE(rig->boot_modem().ok) << evidence();
    EXPECT_EQ(slice(rig->modem()->images()[0], 10, 4), synced);
}

TEST_F(StorageFaults, ARefusedStorageOpenFailsTheModemsOpenAndItsBoot) {
    make(small_rig());
    start();
    rig->storage().arm(server::IoFault{server::IoTarget::storage, "modem_fsg", server::IoCall::open, 1, 1, EACCES, {}});
    auto boot = rig->boot_modem();
    EXPECT_FALSE(boot.ok);
    EXPECT_NE(boot.reason.find("/boot/modem_fsg"), std::string::npos) << boot.reason;
    EXPECT_TRUE(logged("Permission denied")) << evidence();
}

TEST_F(StorageFaults, AModemThatCrashesOnARefusedOpenIsRestartedAndBootsWhenTheOpenWorks) {
    engine::RigOptions options = small_rig();
    options.modems[0].config.on_open_failure = sim::OpenFailure::crash;
    make(options);
    start();
    rig->storage().arm(server::IoFault{server::IoTarget::storage, "modem_fsg", server::IoCall::open, 1, 1, EACCES, {}});
    auto first = rig->boot_modem();
    EXPECT_FALSE(first.ok);
    // Recovery boots it again; the fault is spent, so the second boot works.
    auto second = rig->wait_for_boot(0, 20s, 2);
    ASSERT_TRUE(second) << evidence();
    EXPECT_TRUE(second->ok) << second->reason << evidence();
    EXPECT_EQ(rig->modem_crashes(), 1u);
}

TEST_F(StorageFaults, EioReadingTheSharedMemoryFailsTheWrite) {
    engine::RigOptions options = small_rig();
    options.ask_memory_io = true;
    boot(options);
    // During a write the daemon preads the shared memory, then pwrites storage.
    rig->storage().arm(server::IoFault{server::IoTarget::memory, "", server::IoCall::read, 1, 1, EIO, {}});
    auto result = rig->write(0, 0, 50, sector_data(2, 0x36));
    EXPECT_EQ(result.outcome, sim::WriteOutcome::failed) << result.detail << evidence();
    EXPECT_TRUE(rig->check_storage().empty()) << describe_all(rig->check_storage());
}

TEST_F(StorageFaults, MemOpenBootsOnTheDevicesFirstOpenAndStopsOnItsLastClose) {
    make(small_rig(sim::CouplingPolicy::mem_open));
    start();
    auto boot = rig->wait_for_boot();
    ASSERT_TRUE(boot) << evidence();
    EXPECT_TRUE(boot->ok) << boot->reason;
    EXPECT_EQ(rig->storage().memory_open_count(), 1u);
    rig->signal_daemon(SIGTERM);
    ASSERT_TRUE(rig->wait_for_daemon_exit());
    ASSERT_TRUE(rig->run_until([&] { return rig->remoteproc().state() == sim::RemoteprocState::offline; }, 5s))
        << evidence();
    EXPECT_EQ(rig->storage().memory_open_count(), 0u);
    EXPECT_EQ(rig->modem_state(), sim::ModemState::offline);
}

}  // namespace
}  // namespace rmtfs_hil
