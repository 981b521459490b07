// The snapshot of the board's EFS partitions (hil/agent/efs_partitions.hpp)
// on the emulated board's tree: each partition copied byte for byte under
// the daemon's file name, nothing written to a partition (the board's
// partition watch records no write), the copy gone with the snapshot, and a
// partition that is missing or of another size refused by name.
#include "hil/agent/efs_partitions.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "hil/emulated_device/device_root.hpp"
#include "tests/support/scratch_directory.hpp"

namespace rmtfs_hil::hil {
namespace {

namespace fs = std::filesystem;

Bytes contents(const fs::path& file) {
    std::ifstream in(file, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

class EfsPartitions : public ::testing::Test {
protected:
    EfsPartitions()
        : root_(scratch_.path),
          board_(io_, root_, emulated::describe_board(server::default_board()), [](std::string_view) {}) {
        fs::create_directories(scratch_dir());
    }
    fs::path partition(std::string_view label) const { return scratch_.path / "dev/disk/by-partlabel" / label; }
    fs::path scratch_dir() const { return scratch_.path / "data/local/tmp"; }

    testing::ScratchDirectory scratch_;
    boost::asio::io_context io_;
    emulated::DeviceRoot root_;
    emulated::Board board_;
};

TEST_F(EfsPartitions, TheSnapshotHoldsEachPartitionUnderTheDaemonsFileNameAndWritesNoPartition) {
    const server::BoardProfile& profile = server::default_board();
    ASSERT_TRUE(board_has_efs(scratch_.path, profile));
    fs::path taken_at;
    {
        auto snapshot = EfsSnapshot::take(scratch_.path, profile, scratch_dir());
        ASSERT_TRUE(snapshot) << snapshot.error();
        taken_at = snapshot->path();
        EXPECT_EQ(taken_at.parent_path(), scratch_dir());
        for (const server::EfsPartition& p : profile.partitions) {
            Bytes copy = contents(taken_at / p.file_name);
            EXPECT_EQ(copy, contents(partition(p.label))) << p.label;
            EXPECT_EQ(copy, emulated::partition_pattern(p.label, copy.size())) << p.label;
            EXPECT_FALSE(copy.empty()) << p.label;
        }
    }
    EXPECT_FALSE(fs::exists(taken_at)) << "the snapshot outlived its owner";
    EXPECT_TRUE(board_.block_device_writes().empty()) << "a snapshot only reads the partitions";
}

TEST_F(EfsPartitions, AMissingPartitionIsRefusedNamingItAndWhereItWasLookedFor) {
    fs::remove(partition("fsg"));
    EXPECT_FALSE(board_has_efs(scratch_.path, server::default_board()));
    auto snapshot = EfsSnapshot::take(scratch_.path, server::default_board(), scratch_dir());
    ASSERT_FALSE(snapshot);
    EXPECT_NE(snapshot.error().find("EFS partition fsg not found in /dev/disk/by-partlabel, /dev/block/by-name"),
              std::string::npos)
        << snapshot.error();
    EXPECT_TRUE(fs::is_empty(scratch_dir())) << "a refused snapshot leaves nothing behind";
}

TEST_F(EfsPartitions, APartitionOfAnotherSizeThanTheProfileSaysIsRefused) {
    server::BoardProfile profile = server::default_board();
    auto& first = profile.partitions.at(0);
    const std::uint64_t real = fs::file_size(partition(first.label));
    first.size_bytes = real * 2;
    auto snapshot = EfsSnapshot::take(scratch_.path, profile, scratch_dir());
    ASSERT_FALSE(snapshot);
    EXPECT_NE(snapshot.error().find("/dev/disk/by-partlabel/" + first.label + " is " + std::to_string(real) +
                                    " bytes; the board profile"),
              std::string::npos)
        << snapshot.error();
}

TEST_F(EfsPartitions, AnEmptyOrHugeFileIsNotAnEfsPartition) {
    server::BoardProfile profile = server::default_board();  // one that does not know the sizes
    for (auto& p : profile.partitions) p.size_bytes.reset();
    fs::resize_file(partition("fsc"), 0);
    auto snapshot = EfsSnapshot::take(scratch_.path, profile, scratch_dir());
    ASSERT_FALSE(snapshot);
    EXPECT_NE(snapshot.error().find("/dev/disk/by-partlabel/fsc is 0 bytes: not an EFS partition"), std::string::npos)
        << snapshot.error();
    fs::resize_file(partition("fsc"), efs_partition_limit_bytes + 512);
    auto huge = EfsSnapshot::take(scratch_.path, profile, scratch_dir());
    ASSERT_FALSE(huge);
    EXPECT_NE(huge.error().find("not an EFS partition"), std::string::npos) << huge.error();
}

}  // namespace
}  // namespace rmtfs_hil::hil
