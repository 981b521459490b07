// Boards are data: the two profiles the project knows, by name.
#include <gtest/gtest.h>

#include "server/board_profile.hpp"

namespace rmtfs_hil::server {
namespace {

TEST(BoardProfile, Sdm845IsTheDefault) {
    const BoardProfile& board = default_board();
    EXPECT_EQ(board.name, "sdm845");
    EXPECT_EQ(board.rmtfs_mem.phys_addr, 0x88f00000u);
    EXPECT_EQ(board.rmtfs_mem.size_bytes, 0x200000u);
    EXPECT_EQ(board.rmtfs_mem.client_id, 1u);
    EXPECT_EQ(board.rmtfs_mem.device_name(), "qcom_rmtfs_mem1");
    EXPECT_EQ(board.rmtfs_mem.minor(), 1u) << "the driver's minor is the client id";
    EXPECT_EQ(board.modem.platform_device, "4080000.remoteproc");
    EXPECT_EQ(board.modem.compatible, "qcom,sdm845-mss-pil");
    EXPECT_NE(board.modem.modalias.find("-mss-pil"), std::string::npos) << "rmtfs -s looks for it";
    EXPECT_EQ(board.modem_node, 0u);
    EXPECT_EQ(board.local_node, 1u);
}

TEST(BoardProfile, HasTheFourEfsPartitions) {
    const BoardProfile& board = default_board();
    ASSERT_EQ(board.partitions.size(), 4u);
    ASSERT_NE(board.partition("modemst1"), nullptr);
    EXPECT_EQ(board.partition("modemst1")->file_name, "modem_fs1");
    EXPECT_EQ(board.partition("modemst2")->file_name, "modem_fs2");
    EXPECT_EQ(board.partition("fsg")->file_name, "modem_fsg");
    EXPECT_EQ(board.partition("fsc")->file_name, "modem_fsc");
    EXPECT_EQ(board.partition("study"), nullptr);
}

TEST(BoardProfile, Apq8016IsAnotherTableEntry) {
    const BoardProfile* board = find_board("apq8016");
    ASSERT_NE(board, nullptr);
    EXPECT_EQ(board->rmtfs_mem.phys_addr, 0x86700000u);
    EXPECT_EQ(board->rmtfs_mem.size_bytes, 0xe0000u);
    EXPECT_NE(board->modem.modalias.find("-mss-pil"), std::string::npos);
    EXPECT_EQ(find_board("sdm845"), &sdm845_dragonboard_845c());
    EXPECT_EQ(find_board("pdp11"), nullptr);
    EXPECT_EQ(known_boards().size(), 2u);
}

}  // namespace
}  // namespace rmtfs_hil::server
