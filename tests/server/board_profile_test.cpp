// Boards are data: the built-in profiles (server/boards/*.json) by name, and
// a user's board file, refused with the member at fault when it is wrong.
#include <gtest/gtest.h>

#include <cctype>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "server/board_profile.hpp"
#include "server/builtin_boards.hpp"
#include "tests/support/scratch_directory.hpp"

namespace rmtfs_hil::server {
namespace {

using nlohmann::json;

std::string_view find_board_text() {
    for (const BuiltinBoardFile& file : builtin_board_files())
        if (file.name == "boards/sdm845.json") return file.text;
    return {};
}

TEST(BoardProfile, Sdm845IsTheDefault) {
    const BoardProfile& board = default_board();
    EXPECT_EQ(board.name, "sdm845");
    EXPECT_EQ(board.rmtfs_mem.phys_addr, 0x88f00000u) << "the node's unit address";
    EXPECT_EQ(board.rmtfs_mem.size_bytes, 0x200000u);
    EXPECT_EQ(board.rmtfs_mem.client_id, 1u);
    EXPECT_EQ(board.rmtfs_mem.platform_device, "88f00000.rmtfs");
    EXPECT_EQ(board.rmtfs_mem.of_fullname, "/reserved-memory/rmtfs@88f00000");
    EXPECT_EQ(board.rmtfs_mem.device_name(), "qcom_rmtfs_mem1");
    EXPECT_EQ(board.rmtfs_mem.minor(), 1u) << "the driver's minor is the client id";
    EXPECT_EQ(board.modem.platform_device, "4080000.remoteproc");
    EXPECT_EQ(board.modem.name, "4080000.remoteproc");
    EXPECT_EQ(board.modem.class_device, "remoteproc0");
    EXPECT_EQ(board.modem.of_name, "remoteproc");
    EXPECT_EQ(board.modem.compatible, "qcom,sdm845-mss-pil");
    EXPECT_EQ(board.modem.modalias, "of:NremoteprocT(null)Cqcom,sdm845-mss-pil") << "rmtfs -s looks for -mss-pil in it";
    EXPECT_EQ(board.modem.driver, "qcom-q6v5-mss");
    EXPECT_EQ(board.modem_buffer_bytes, 0x100000u);
    EXPECT_EQ(board.modem_node, 0u);
    EXPECT_EQ(board.local_node, 1u);
    EXPECT_EQ(board.disk.name, "sde");
    EXPECT_EQ(board.disk.partition_separator, "");
    EXPECT_EQ(board.disk.first_partition, 1u);
    EXPECT_EQ(board.disk.by_name_directories,
              (std::vector<std::string>{"/dev/disk/by-partlabel", "/dev/block/by-name",
                                        "/dev/block/platform/soc@0/1d84000.ufshc/by-name"}));
}

TEST(BoardProfile, HasTheFourEfsPartitionsWithTheBoardsSizes) {
    const BoardProfile& board = default_board();
    ASSERT_EQ(board.partitions.size(), 4u);
    ASSERT_NE(board.partition("modemst1"), nullptr);
    EXPECT_EQ(board.partition("modemst1")->file_name, "modem_fs1");
    EXPECT_EQ(board.partition("modemst2")->file_name, "modem_fs2");
    EXPECT_EQ(board.partition("fsg")->file_name, "modem_fsg");
    EXPECT_EQ(board.partition("fsc")->file_name, "modem_fsc");
    EXPECT_EQ(board.partition("modemst1")->size_bytes, 2u << 20);
    EXPECT_EQ(board.partition("fsc")->size_bytes, 128u << 10);
    EXPECT_EQ(board.partition("study"), nullptr);
}

TEST(BoardProfile, EveryBuiltInFileParsesAndTheNamesDiffer) {
    std::set<std::string> names;
    for (const BuiltinBoardFile& file : builtin_board_files()) {
        auto board = parse_board(file.text, std::string(file.name));
        ASSERT_TRUE(board) << board.error();
        EXPECT_EQ("boards/" + board->name + ".json", file.name) << "a board's file is named after it";
        EXPECT_TRUE(names.insert(board->name).second);
    }
    EXPECT_EQ(known_boards().size(), names.size());
    EXPECT_GE(names.size(), 3u);
}

TEST(BoardProfile, Apq8016HasItsOwnCarveOutAndAnEmmcDisk) {
    const BoardProfile* board = find_board("apq8016");
    ASSERT_NE(board, nullptr);
    EXPECT_EQ(board->rmtfs_mem.phys_addr, 0x86700000u);
    EXPECT_EQ(board->rmtfs_mem.size_bytes, 0xe0000u);
    EXPECT_EQ(board->modem_buffer_bytes, 0xe0000u) << "the whole, smaller carve-out";
    EXPECT_EQ(board->disk.name, "mmcblk0");
    EXPECT_EQ(board->disk.partition_separator, "p");
    EXPECT_EQ(board->partition("fsg")->size_bytes, std::nullopt) << "not known: not made up";
    EXPECT_EQ(find_board("pdp11"), nullptr);
}

TEST(BoardProfile, Qcm6490IsAModemBootedByPas) {
    const BoardProfile* board = find_board("qcm6490");
    ASSERT_NE(board, nullptr);
    EXPECT_EQ(board->modem.compatible, "qcom,sc7280-mpss-pas");
    EXPECT_NE(board->modem.modalias.find("-mpss-pas"), std::string::npos) << "rmtfs -s looks for it";
    EXPECT_EQ(board->modem.driver, "qcom_q6v5_pas");
    EXPECT_EQ(board->rmtfs_mem.phys_addr, 0x9c900000u);
    EXPECT_EQ(board->rmtfs_mem.size_bytes, 0x280000u);
}

TEST(BoardProfile, ResolveTakesANameOrAFile) {
    auto named = resolve_board("apq8016");
    ASSERT_TRUE(named) << named.error();
    EXPECT_EQ(*named, find_board("apq8016"));

    auto unknown = resolve_board("sdm846");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().find("no board named 'sdm846'"), std::string::npos) << unknown.error();
    EXPECT_NE(unknown.error().find("sdm845 (SDM845 / Dragonboard 845c)"), std::string::npos) << "lists the boards";

    testing::ScratchDirectory dir;
    json board = json::parse(builtin_board_files()[0].text);
    board["name"] = "my-board";
    board["modem"]["class_device"] = "remoteproc3";
    std::ofstream(dir.path / "mine.json") << board.dump(2);
    auto file = resolve_board((dir.path / "mine.json").string());
    ASSERT_TRUE(file) << file.error();
    EXPECT_EQ((*file)->name, "my-board");
    EXPECT_EQ((*file)->modem.class_device, "remoteproc3");
    EXPECT_EQ(find_board("my-board"), nullptr) << "a file is not a built-in board";

    auto missing = resolve_board((dir.path / "absent.json").string());
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().find("absent.json"), std::string::npos) << missing.error();
    auto directory = resolve_board(dir.path.string() + "/");
    ASSERT_FALSE(directory);
    EXPECT_NE(directory.error().find("not a regular file"), std::string::npos) << directory.error();
}

// Each mistake in a board file is refused, naming the member.
struct BadBoard {
    const char* what;
    std::function<void(json&)> spoil;
    const char* expected;  // in the error
};

class BoardFileMistakes : public ::testing::TestWithParam<BadBoard> {};

TEST_P(BoardFileMistakes, AreRefusedNamingTheMember) {
    json board = json::parse(find_board_text());
    GetParam().spoil(board);
    auto parsed = parse_board(board.dump(), "mine.json");
    ASSERT_FALSE(parsed) << GetParam().what << " was accepted";
    EXPECT_EQ(parsed.error().rfind("mine.json: ", 0), 0u) << parsed.error();
    EXPECT_NE(parsed.error().find(GetParam().expected), std::string::npos) << parsed.error();
}

INSTANTIATE_TEST_SUITE_P(
    All, BoardFileMistakes,
    ::testing::Values(
        BadBoard{"unknown member", [](json& b) { b["modme"] = json::object(); }, "/modme: is not a member"},
        BadBoard{"unknown nested member", [](json& b) { b["disk"]["majr"] = 8; }, "/disk/majr: is not a member"},
        BadBoard{"no name", [](json& b) { b.erase("name"); }, "lacks the required member \"name\""},
        BadBoard{"name with a slash", [](json& b) { b["name"] = "a/b"; }, "/name:"},
        BadBoard{"node without address", [](json& b) { b["modem"]["node"] = "/soc@0/remoteproc"; }, "/modem/node:"},
        BadBoard{"node with a bad address", [](json& b) { b["rmtfs_mem"]["node"] = "/reserved-memory/rmtfs@88g00000"; },
                 "/rmtfs_mem/node:"},
        BadBoard{"node address too long", [](json& b) { b["rmtfs_mem"]["node"] = "/r/rmtfs@11112222333344445"; },
                 "/rmtfs_mem/node:"},
        BadBoard{"size not hex", [](json& b) { b["rmtfs_mem"]["size"] = "2M"; }, "/rmtfs_mem/size: \"2M\" is not"},
        BadBoard{"size zero", [](json& b) { b["rmtfs_mem"]["size"] = 0; }, "/rmtfs_mem/size: must not be zero"},
        BadBoard{"size negative", [](json& b) { b["rmtfs_mem"]["size"] = -5; }, "/rmtfs_mem/size: must be a size"},
        BadBoard{"buffer larger than the carve-out", [](json& b) { b["modem"]["buffer_bytes"] = "0x400000"; },
                 "/modem/buffer_bytes: the modem's buffer must fit"},
        BadBoard{"class device", [](json& b) { b["modem"]["class_device"] = "rproc0"; }, "/modem/class_device:"},
        BadBoard{"same nodes", [](json& b) { b["local_node"] = 0; }, "/local_node: must differ"},
        BadBoard{"no partitions", [](json& b) { b["partitions"] = json::array(); }, "/partitions: must be a non-empty list"},
        BadBoard{"file with a path", [](json& b) { b["partitions"][1]["file"] = "../x"; }, "/partitions/1/file:"},
        BadBoard{"repeated label", [](json& b) { b["partitions"][2]["label"] = "modemst1"; }, "/partitions/2: repeats"},
        BadBoard{"separator", [](json& b) { b["disk"]["partition_separator"] = "-"; }, "/disk/partition_separator:"},
        BadBoard{"major zero", [](json& b) { b["disk"]["major"] = 0; }, "/disk/major: must not be zero"},
        BadBoard{"major too large", [](json& b) { b["disk"]["major"] = 5000; }, "/disk/major: must be a whole number"},
        BadBoard{"controller absolute", [](json& b) { b["disk"]["storage_controller"] = "/soc@0/x"; },
                 "/disk/storage_controller:"},
        BadBoard{"not an object", [](json& b) { b = json::array(); }, "/: must be an object"}),
    [](const ::testing::TestParamInfo<BadBoard>& param_info) {
        std::string name = param_info.param.what;
        for (char& c : name)
            if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
        return name;
    });

TEST(BoardFile, NotJsonIsRefused) {
    auto parsed = parse_board("{\"name\": ", "broken.json");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error(), "broken.json: not valid JSON");
}

}  // namespace
}  // namespace rmtfs_hil::server
