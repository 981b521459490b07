// A program the world's preload libraries cannot enter is never started in
// a sandbox: it would act on the machine's real devices (on a board, its
// EFS partitions and modem). A statically linked stand-in is refused with
// the reason, and leaves no mark; a dynamically linked program starts.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>

#include "server/process.hpp"
#include "server/sandbox.hpp"
#include "tests/support/scratch_directory.hpp"

namespace rmtfs_hil {
namespace {

namespace fs = std::filesystem;

class OutsideWorld : public ::testing::Test {
protected:
    void SetUp() override {
        auto created = server::Sandbox::create(io_, {});
        ASSERT_TRUE(created) << created.error().message;
        sandbox_ = std::move(*created);
        fs::create_directories(work_.path / "dev/disk/by-partlabel");
        std::ofstream(partition()) << "calibration";
    }

    fs::path partition() const { return work_.path / "dev/disk/by-partlabel/modemst1"; }
    std::string partition_text() const {
        std::ifstream in(partition());
        return std::string(std::istreambuf_iterator<char>(in), {});
    }

    Expected<server::ProcessStarted, server::StartError> start(const std::string& program) {
        server::LaunchSpec spec = sandbox_->launch({program});
        spec.working_directory = work_.path;
        process_ = std::make_unique<server::SupervisedProcess>(io_, spec);
        return process_->start();
    }

    boost::asio::io_context io_;
    testing::ScratchDirectory work_;
    std::unique_ptr<server::Sandbox> sandbox_;
    std::unique_ptr<server::SupervisedProcess> process_;
};

TEST_F(OutsideWorld, AStaticallyLinkedDaemonIsRefusedAndNeverRuns) {
    auto started = start(RMTFS_HIL_STATIC_DAEMON);
    ASSERT_FALSE(started) << "a static program must not start in the world";
    EXPECT_EQ(started.error().stage, server::StartError::Stage::refused);
    EXPECT_NE(started.error().message.find("is statically linked"), std::string::npos) << started.error().message;
    EXPECT_NE(started.error().message.find("real devices"), std::string::npos) << started.error().message;
    EXPECT_FALSE(fs::exists(work_.path / "static-daemon-ran"));
    EXPECT_EQ(partition_text(), "calibration");
}

TEST_F(OutsideWorld, AScriptWhoseInterpreterIsStaticIsRefusedToo) {
    const fs::path script = work_.path / "wrapper";
    std::ofstream(script) << "#!" << RMTFS_HIL_STATIC_DAEMON << "\n";
    fs::permissions(script, fs::perms::owner_all);
    auto started = start(script.string());
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().stage, server::StartError::Stage::refused);
    EXPECT_NE(started.error().message.find("a script: "), std::string::npos) << started.error().message;
    EXPECT_FALSE(fs::exists(work_.path / "static-daemon-ran"));
}

TEST_F(OutsideWorld, ADynamicallyLinkedProgramStartsAsBefore) {
    auto started = start("true");  // found on PATH, as a daemon named without a '/'
    ASSERT_TRUE(started) << started.error().message;
    EXPECT_GT(started->pid, 0);
}

}  // namespace
}  // namespace rmtfs_hil
