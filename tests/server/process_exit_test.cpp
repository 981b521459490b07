// The value a scenario judges a program's end by.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "server/process_exit.hpp"

namespace rmtfs_hil::server {
namespace {

TEST(ProcessExit, FromWaitidStatus) {
    EXPECT_EQ(ProcessExit::from_child_status(CLD_EXITED, 3), ProcessExit::exited(3));
    EXPECT_EQ(ProcessExit::from_child_status(CLD_KILLED, SIGTERM), ProcessExit::killed(SIGTERM, false));
    EXPECT_EQ(ProcessExit::from_child_status(CLD_DUMPED, SIGSEGV), ProcessExit::killed(SIGSEGV, true));
}

TEST(ProcessExit, ACrashIsASignalOfTheProgramsOwnMaking) {
    EXPECT_TRUE(ProcessExit::killed(SIGSEGV).crashed());
    EXPECT_TRUE(ProcessExit::killed(SIGABRT).crashed());
    EXPECT_TRUE(ProcessExit::killed(SIGQUIT, true).crashed()) << "a core dump is always a crash";
    EXPECT_FALSE(ProcessExit::killed(SIGTERM).crashed()) << "somebody sent it";
    EXPECT_FALSE(ProcessExit::killed(SIGKILL).crashed());
    EXPECT_FALSE(ProcessExit::exited(1).crashed());
    EXPECT_FALSE(ProcessExit(SupervisionLost{}).crashed());
}

TEST(ProcessExit, Describes) {
    EXPECT_EQ(ProcessExit::exited(0).describe(), "exited 0");
    EXPECT_EQ(ProcessExit::killed(SIGSEGV, true).describe(), "killed by SIGSEGV (core dumped)");
    EXPECT_EQ(ProcessExit::killed(SIGKILL).describe(), "killed by SIGKILL");
    EXPECT_TRUE(ProcessExit::exited(0).success());
    EXPECT_FALSE(ProcessExit::exited(2).success());
}

}  // namespace
}  // namespace rmtfs_hil::server
