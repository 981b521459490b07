// What `agent --doctor` checks of a board (hil/agent/board_check.hpp), on
// the emulated device's board tree: a ready board passes every check, and
// each thing a board can lack is named, with a fix — and the checks write
// nothing (the board's partition watch records no write).
#include "hil/agent/board_check.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "hil/emulated_device/device_root.hpp"
#include "server/sandbox.hpp"
#include "server/world.hpp"
#include "tests/support/scratch_directory.hpp"

namespace rmtfs_hil::hil {
namespace {

namespace fs = std::filesystem;

class BoardCheck : public ::testing::Test {
protected:
    BoardCheck()
        : root_(scratch_.path),
          board_(io_, root_, emulated::describe_board(server::default_board()), [](std::string_view) {}) {}

    std::vector<Check> run(const server::BoardProfile& profile = server::default_board(),
                           std::string server = "/usr/bin/rmtfs") {
        BoardCheckOptions options;
        options.root = scratch_.path;
        options.board = &profile;
        options.server = std::move(server);
        options.server_search = "rmtfs on PATH";
        options.shim = shim_;
        options.umockdev_preload = server::find_umockdev_preload();
        options.scratch = scratch_.path / "data/local/tmp";
        return check_board(options);
    }

    static Check named(const std::vector<Check>& checks, std::string_view name) {
        auto found = std::find_if(checks.begin(), checks.end(), [&](const Check& c) { return c.name == name; });
        if (found == checks.end()) throw std::runtime_error("no check named " + std::string(name));
        return *found;
    }

    void write(std::string_view board_path, std::string_view text) {
        std::ofstream(scratch_.path / fs::path(board_path).relative_path(), std::ios::trunc) << text;
    }

    testing::ScratchDirectory scratch_;
    fs::path shim_ = server::find_shim_library();
    boost::asio::io_context io_;
    emulated::DeviceRoot root_;
    emulated::Board board_;
};

TEST_F(BoardCheck, AReadyBoardPassesEveryCheckAndNothingIsWritten) {
    auto checks = run();
    ASSERT_EQ(checks.size(), 6u + server::default_board().partitions.size());
    for (const Check& check : checks) {
        if (check.name == "kernel QRTR") continue;  // this machine's kernel decides
        EXPECT_EQ(check.status, CheckStatus::ok) << check.name << ": " << check.found;
        EXPECT_TRUE(check.fix.empty()) << check.name;
    }
    EXPECT_EQ(named(checks, "modem remoteproc").found,
              "remoteproc0 (4080000.remoteproc, of:NremoteprocT(null)Cqcom,sdm845-mss-pil): running");
    EXPECT_EQ(named(checks, "rmtfs shared memory").found, "/dev/qcom_rmtfs_mem1: 2 MiB at 0x88f00000");
    EXPECT_EQ(named(checks, "EFS partition fsc").found, "/dev/disk/by-partlabel/fsc, 128 KiB");
    EXPECT_TRUE(board_.block_device_writes().empty()) << "the checks must only read";
}

TEST_F(BoardCheck, AMissingPartitionIsAProblemNamingWhereItWasLookedFor) {
    fs::remove(scratch_.path / "dev/disk/by-partlabel/fsg");
    const Check& check = named(run(), "EFS partition fsg");
    EXPECT_EQ(check.status, CheckStatus::problem);
    EXPECT_NE(check.found.find("not found in /dev/disk/by-partlabel, /dev/block/by-name"), std::string::npos) << check.found;
    EXPECT_FALSE(check.fix.empty());
}

TEST_F(BoardCheck, APartitionOfAnotherSizeIsAProblemSayingBothSizes) {
    fs::resize_file(scratch_.path / "dev/disk/by-partlabel/modemst2", 1024 * 1024);
    const Check& check = named(run(), "EFS partition modemst2");
    EXPECT_EQ(check.status, CheckStatus::problem);
    EXPECT_NE(check.found.find("1 MiB; the board profile sdm845 says 2 MiB"), std::string::npos) << check.found;
}

TEST_F(BoardCheck, NoModemRemoteprocIsAProblemAsRmtfsMinusSWouldMeetIt) {
    write("/sys/devices/platform/4080000.remoteproc/modalias", "of:NremoteprocT(null)Cqcom,sdm845-adsp-pas\n");
    const Check& check = named(run(), "modem remoteproc");
    EXPECT_EQ(check.status, CheckStatus::problem);
    EXPECT_NE(check.found.find("Failed to get rprocfd"), std::string::npos) << check.found;
    EXPECT_NE(check.found.find("remoteproc0 (4080000.remoteproc)"), std::string::npos) << "what was found is listed";
}

TEST_F(BoardCheck, AStoppedModemIsAWarningWithHowToStartIt) {
    write("/sys/class/remoteproc/remoteproc0/state", "offline\n");
    const Check& check = named(run(), "modem remoteproc");
    EXPECT_EQ(check.status, CheckStatus::warning);
    EXPECT_NE(check.found.find(": offline"), std::string::npos) << check.found;
    EXPECT_NE(check.fix.find("echo start > /sys/class/remoteproc/remoteproc0/state"), std::string::npos) << check.fix;
}

TEST_F(BoardCheck, AMissingSharedMemoryDeviceIsAProblem) {
    fs::remove(scratch_.path / "dev/qcom_rmtfs_mem1");
    const Check& check = named(run(), "rmtfs shared memory");
    EXPECT_EQ(check.status, CheckStatus::problem);
    EXPECT_NE(check.found.find("/dev/qcom_rmtfs_mem1 is missing"), std::string::npos) << check.found;
    EXPECT_NE(check.fix.find("CONFIG_QCOM_RMTFS_MEM"), std::string::npos) << check.fix;
}

TEST_F(BoardCheck, AnotherBoardsProfileIsCaughtByTheSizesItExpects) {
    const server::BoardProfile* other = server::find_board("apq8016");
    ASSERT_NE(other, nullptr);
    const Check& memory = named(run(*other), "rmtfs shared memory");
    EXPECT_EQ(memory.status, CheckStatus::warning);
    EXPECT_NE(memory.found.find("the board profile apq8016 says"), std::string::npos) << memory.found;
}

TEST_F(BoardCheck, ADaemonTheWorldCannotEnterIsAProblemForTheLoopbackTransport) {
    const Check& check = named(run(server::default_board(), RMTFS_HIL_STATIC_DAEMON), "loopback world");
    EXPECT_EQ(check.status, CheckStatus::problem);
    EXPECT_NE(check.found.find("is statically linked"), std::string::npos) << check.found;
    EXPECT_NE(check.fix.find("--transport kernel"), std::string::npos) << check.fix;
}

TEST_F(BoardCheck, NoShimBesideTheAgentIsAProblem) {
    shim_.clear();
    const Check& check = named(run(), "loopback world");
    EXPECT_EQ(check.status, CheckStatus::problem);
    EXPECT_NE(check.found.find("librmtfs_hil_shim.so is not beside the agent"), std::string::npos) << check.found;
}

TEST_F(BoardCheck, NoDaemonIsAProblemSayingHowItWasLookedFor) {
    const Check& check = named(run(server::default_board(), ""), "rmtfs program");
    EXPECT_EQ(check.status, CheckStatus::problem);
    EXPECT_NE(check.found.find("rmtfs on PATH"), std::string::npos) << check.found;
    EXPECT_NE(check.fix.find("--server"), std::string::npos) << check.fix;
}

TEST_F(BoardCheck, CheckLinesComeBackWhole) {
    Check check{"EFS partition fsg", CheckStatus::problem, "not found \"here\"\n", "fix: it"};
    AgentLine parsed = parse_agent_line(check_line(check));
    ASSERT_TRUE(std::holds_alternative<Check>(parsed));
    const Check& back = std::get<Check>(parsed);
    EXPECT_EQ(back.name, check.name);
    EXPECT_EQ(back.status, check.status);
    EXPECT_EQ(back.found, check.found);
    EXPECT_EQ(back.fix, check.fix);
    EXPECT_TRUE(std::holds_alternative<BadLine>(parse_agent_line(R"({"agent":"check","name":"x","status":"fine","found":"","fix":""})")));
}

}  // namespace
}  // namespace rmtfs_hil::hil
