// The write ledger's verdicts, one scenario each: what a correct server may
// leave on storage after acknowledged, refused and unanswered writes.
#include <gtest/gtest.h>

#include "sim/write_ledger.hpp"

namespace rmtfs_hil::sim {
namespace {

constexpr std::size_t sector = 512;

Bytes sectors(std::size_t count, std::uint8_t value) { return Bytes(count * sector, value); }

Bytes with(Bytes storage, std::uint32_t first, const Bytes& data) {
    std::copy(data.begin(), data.end(), storage.begin() + static_cast<std::ptrdiff_t>(first * sector));
    return storage;
}

struct Ledger : ::testing::Test {
    WriteLedger ledger;
    Bytes image = sectors(16, 0x00);
    void SetUp() override { ledger.set_initial("modemst1", image); }
};

TEST_F(Ledger, AcknowledgedWriteOnStorageIsFine) {
    Bytes data = sectors(2, 0xaa);
    ledger.resolved(ledger.invoked("modemst1", 4, data), WriteOutcome::ok);
    EXPECT_TRUE(ledger.check("modemst1", with(image, 4, data)).empty());
}

TEST_F(Ledger, AcknowledgedWriteMissingIsNamedWithSectorsAndBytes) {
    ledger.resolved(ledger.invoked("modemst1", 4, sectors(2, 0xaa)), WriteOutcome::ok);
    auto violations = ledger.check("modemst1", image);
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].kind, ViolationKind::acknowledged_write_lost);
    EXPECT_EQ(violations[0].first_sector, 4u);
    EXPECT_EQ(violations[0].sector_count, 2u);
    EXPECT_EQ(violations[0].describe(),
              "modemst1 sectors 4-5: acknowledged write lost: expected write #0 (ok) (aa aa aa aa aa aa aa aa ...), "
              "found 00 00 00 00 00 00 00 00 ...");
}

TEST_F(Ledger, UnknownWriteMayLeaveOldOrNewPerSector) {
    Bytes data = sectors(4, 0xbb);
    ledger.invoked("modemst1", 0, data);
    ledger.resolve_pending_as_unknown();  // the daemon died mid-write
    Bytes half = with(image, 0, sectors(2, 0xbb));
    EXPECT_TRUE(ledger.check("modemst1", half).empty()) << "first two sectors new, last two old: allowed";
    EXPECT_TRUE(ledger.check("modemst1", image).empty()) << "nothing written: allowed";
    EXPECT_TRUE(ledger.check("modemst1", with(image, 0, data)).empty()) << "all written: allowed";
}

TEST_F(Ledger, TornSectorIsNamed) {
    ledger.invoked("modemst1", 2, sectors(1, 0xcc));
    ledger.resolve_pending_as_unknown();
    Bytes torn = image;
    std::fill(torn.begin() + 2 * sector, torn.begin() + 2 * sector + 100, 0xcc);  // 100 bytes new, the rest old
    auto violations = ledger.check("modemst1", torn);
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].kind, ViolationKind::torn_sector) << violations[0].describe();
    EXPECT_EQ(violations[0].first_sector, 2u);
}

TEST_F(Ledger, DataNobodyWroteIsUnexpected) {
    ledger.invoked("modemst1", 2, sectors(1, 0xcc));
    ledger.resolve_pending_as_unknown();
    auto violations = ledger.check("modemst1", with(image, 2, sectors(1, 0x11)));
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].kind, ViolationKind::unexpected_data);
}

TEST_F(Ledger, AckedWriteAfterUnknownOneWins) {
    ledger.invoked("modemst1", 0, sectors(1, 0x01));
    ledger.resolve_pending_as_unknown();
    ledger.resolved(ledger.invoked("modemst1", 0, sectors(1, 0x02)), WriteOutcome::ok);
    EXPECT_EQ(ledger.check("modemst1", with(image, 0, sectors(1, 0x01))).size(), 1u)
        << "the acknowledged later write must win over the unknown earlier one";
    EXPECT_TRUE(ledger.check("modemst1", with(image, 0, sectors(1, 0x02))).empty());
}

TEST_F(Ledger, RefusedWriteMayHaveLandedPartly) {
    ledger.resolved(ledger.invoked("modemst1", 0, sectors(2, 0x0f)), WriteOutcome::failed);
    EXPECT_TRUE(ledger.check("modemst1", with(image, 0, sectors(1, 0x0f))).empty());
    EXPECT_EQ(ledger.count(WriteOutcome::failed), 1u);
}

TEST_F(Ledger, ReadsAreCheckedAgainstWhatMayBeThere) {
    ledger.resolved(ledger.invoked("modemst1", 3, sectors(1, 0x33)), WriteOutcome::ok);
    EXPECT_FALSE(ledger.read_returned("modemst1", 3, sectors(1, 0x33)));
    EXPECT_FALSE(ledger.read_returned("modemst1", 4, sectors(1, 0x00))) << "an unwritten sector reads as the image";
    auto stale = ledger.read_returned("modemst1", 3, sectors(1, 0x00));
    ASSERT_TRUE(stale);
    EXPECT_EQ(stale->kind, ViolationKind::read_mismatch);
}

TEST_F(Ledger, ShortStorageFileLosesAcknowledgedWrites) {
    ledger.resolved(ledger.invoked("modemst1", 15, sectors(1, 0x99)), WriteOutcome::ok);
    auto violations = ledger.check("modemst1", sectors(8, 0));
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_NE(violations[0].actual.find("shorter"), std::string::npos);
}

TEST_F(Ledger, AnAcknowledgedWritePastThePartitionsEndIsAViolationEvenWhenStored) {
    // Sectors 15-17 of a 16-sector partition: a file grows to hold them, a
    // board's partition cannot.
    Bytes data = sectors(3, 0x5e);
    ledger.resolved(ledger.invoked("modemst1", 15, data), WriteOutcome::ok);
    Bytes grown = with(sectors(18, 0), 15, data);
    auto violations = ledger.check("modemst1", grown);
    ASSERT_EQ(violations.size(), 1u);
    EXPECT_EQ(violations[0].kind, ViolationKind::write_past_end);
    EXPECT_EQ(violations[0].describe(),
              "modemst1 sectors 16-17: acknowledged write past the partition's end: expected a refusal: the partition "
              "ends at sector 16, found write #0 acknowledged");
    EXPECT_TRUE(ledger.check("other", grown).empty()) << "another partition's ledger is not this one's";
}

TEST_F(Ledger, ARefusedWritePastTheEndNeedsNothingThere) {
    // A block device stores what fits and refuses the rest: storage does not
    // grow, and nothing past the end had to be stored.
    Bytes data = sectors(3, 0x5e);
    ledger.resolved(ledger.invoked("modemst1", 15, data), WriteOutcome::failed);
    EXPECT_TRUE(ledger.check("modemst1", with(image, 15, sectors(1, 0x5e))).empty());
    EXPECT_TRUE(ledger.check("modemst1", image).empty());
    // Within the partition a sector still has to be one of what was allowed.
    auto torn = ledger.check("modemst1", with(image, 15, sectors(1, 0x77)));
    ASSERT_EQ(torn.size(), 1u);
    EXPECT_EQ(torn[0].first_sector, 15u);
}

TEST_F(Ledger, AReadPastTheEndMustReturnZeros) {
    EXPECT_FALSE(ledger.read_returned("modemst1", 16, sectors(2, 0x00)));
    auto garbage = ledger.read_returned("modemst1", 20, sectors(1, 0x01));
    ASSERT_TRUE(garbage);
    EXPECT_EQ(garbage->kind, ViolationKind::read_mismatch);
}

}  // namespace
}  // namespace rmtfs_hil::sim
