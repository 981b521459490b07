// The board's own rmtfs service as the agent finds, stops and restores it,
// on board roots made here: Android's init through getprop/setprop stand-ins
// that keep properties as files, systemd through a systemctl stand-in.
#include "hil/agent/system_service.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace rmtfs_hil::hil {
namespace {

namespace fs = std::filesystem;

class BoardRoot : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = (fs::temp_directory_path() / "system-service-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        root_ = pattern;
    }
    void TearDown() override { fs::remove_all(root_); }

    void write(const fs::path& relative, const std::string& text, bool executable = false) {
        fs::create_directories((root_ / relative).parent_path());
        std::ofstream(root_ / relative, std::ios::binary) << text;
        if (executable) fs::permissions(root_ / relative, fs::perms::owner_all);
    }
    std::string read(const fs::path& relative) {
        std::ifstream in(root_ / relative);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

    // Android's init: properties are files under props/; ctl.stop / ctl.start
    // set init.svc.rmtfs; every setprop is logged.
    void make_android(const std::string& state, const std::string& command_line) {
        write("system/bin/getprop", "#!/bin/sh\ncat \"$(dirname \"$0\")/../../props/$1\" 2>/dev/null; exit 0\n", true);
        write("system/bin/setprop",
              "#!/bin/sh\nroot=\"$(dirname \"$0\")/../..\"\necho \"$*\" >> \"$root/setprop.log\"\n"
              "case \"$1\" in ctl.stop) echo stopped > \"$root/props/init.svc.$2\" ;;\n"
              "ctl.start) if [ -e \"$root/start-fails\" ]; then exit 1; fi; echo running > \"$root/props/init.svc.$2\" ;; esac\n",
              true);
        write("props/init.svc.rmtfs", state + "\n");
        write("props/init.svc_debug_pid.rmtfs", "4242\n");
        write("proc/4242/cmdline", command_line);
    }

    fs::path root_;
};

// /proc/PID/cmdline of AOSP's rmtfs service: each argument ends in a NUL.
constexpr char aosp_cmdline[] = "/vendor/bin/rmtfs\0-o\0/dev/block/by-name\0-P\0-r\0-s";
const std::string aosp_command_line(aosp_cmdline, sizeof aosp_cmdline);

TEST(SystemService, DrivesTheModemWhenItsCommandLineHasDashS) {
    auto with = [](std::vector<std::string> argv) {
        SystemService service;
        service.command_line = std::move(argv);
        return service.drives_modem();
    };
    EXPECT_TRUE(with({"/usr/bin/rmtfs", "-r", "-P", "-s"}));
    EXPECT_TRUE(with({"/usr/bin/rmtfs", "-rPs"}));
    EXPECT_FALSE(with({"/usr/bin/rmtfs", "-r", "-o", "/boot"}));
    EXPECT_FALSE(with({"/usr/bin/rmtfs", "-o", "-s"})) << "-s here is -o's value";
    EXPECT_TRUE(with({})) << "a command line that cannot be read is assumed to drive the modem";
}

TEST_F(BoardRoot, NoServiceManagerIsNoService) {
    auto found = find_system_service(root_);
    ASSERT_TRUE(found) << found.error();
    EXPECT_FALSE(*found);
}

TEST_F(BoardRoot, SystemdWithoutSystemctlIsAnError) {
    fs::create_directories(root_ / "run/systemd/system");
    auto found = find_system_service(root_);
    ASSERT_FALSE(found);
    EXPECT_NE(found.error().find("systemctl is not in /usr/bin or /bin"), std::string::npos) << found.error();
}

TEST_F(BoardRoot, SystemdWithoutTheUnitIsNoService) {
    fs::create_directories(root_ / "run/systemd/system");
    write("usr/bin/systemctl", "#!/bin/sh\n[ \"$1\" = show ] && echo ExecStart=\n[ \"$1\" = is-active ] && echo inactive && exit 3\nexit 0\n", true);
    auto found = find_system_service(root_);
    ASSERT_TRUE(found) << found.error();
    EXPECT_FALSE(*found);
}

TEST_F(BoardRoot, AndroidsInitServiceIsFoundWithItsCommandLine) {
    make_android("running", aosp_command_line);
    auto found = find_system_service(root_);
    ASSERT_TRUE(found) << found.error();
    ASSERT_TRUE(*found);
    const SystemService& service = **found;
    EXPECT_EQ(service.manager, ServiceManager::android_init);
    EXPECT_EQ(service.name, "rmtfs");
    EXPECT_TRUE(service.running);
    EXPECT_EQ(service.command_line,
              (std::vector<std::string>{"/vendor/bin/rmtfs", "-o", "/dev/block/by-name", "-P", "-r", "-s"}));
    EXPECT_TRUE(service.drives_modem());
    EXPECT_EQ(service.describe(), "rmtfs (init, running: /vendor/bin/rmtfs -o /dev/block/by-name -P -r -s)");
}

TEST_F(BoardRoot, AnInitWithoutTheServiceIsNoService) {
    make_android("", aosp_command_line);
    auto found = find_system_service(root_);
    ASSERT_TRUE(found) << found.error();
    EXPECT_FALSE(*found);
}

TEST_F(BoardRoot, StoppedThenRestored) {
    make_android("running", aosp_command_line);
    auto found = find_system_service(root_);
    ASSERT_TRUE(found && *found);
    auto stopped = StoppedService::stop(root_, **found);
    ASSERT_TRUE(stopped) << stopped.error();
    EXPECT_EQ(read("props/init.svc.rmtfs"), "stopped\n");
    EXPECT_EQ((*stopped)->restore(), std::nullopt);
    EXPECT_EQ(read("props/init.svc.rmtfs"), "running\n");
    EXPECT_EQ(read("setprop.log"), "ctl.stop rmtfs\nctl.start rmtfs\n");
    EXPECT_EQ((*stopped)->restore(), std::nullopt) << "once";
    EXPECT_EQ(read("setprop.log"), "ctl.stop rmtfs\nctl.start rmtfs\n");
}

TEST_F(BoardRoot, AFailedRestoreSaysSo) {
    make_android("running", aosp_command_line);
    auto found = find_system_service(root_);
    ASSERT_TRUE(found && *found);
    auto stopped = StoppedService::stop(root_, **found);
    ASSERT_TRUE(stopped) << stopped.error();
    write("start-fails", "");
    auto failed = (*stopped)->restore();
    ASSERT_TRUE(failed);
    EXPECT_NE(failed->find("rmtfs is stopped after the run"), std::string::npos) << *failed;
}

TEST_F(BoardRoot, TheGuardianRestoresWhenTheAgentIsKilled) {
    make_android("running", aosp_command_line);
    auto found = find_system_service(root_);
    ASSERT_TRUE(found && *found);
    pid_t agent = ::fork();
    ASSERT_GE(agent, 0);
    if (agent == 0) {
        auto stopped = StoppedService::stop(root_, **found);
        if (!stopped) ::_exit(1);
        ::raise(SIGKILL);  // no destructor, no restore(): only the guardian is left
        ::_exit(2);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(agent, &status, 0), agent);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "the agent stopped the service, then died";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (read("props/init.svc.rmtfs") != "running\n" && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(read("props/init.svc.rmtfs"), "running\n");
    EXPECT_EQ(read("setprop.log"), "ctl.stop rmtfs\nctl.start rmtfs\n");
}

TEST_F(BoardRoot, AServiceThatWillNotStopIsStartedAgainAndSaid) {
    make_android("running", aosp_command_line);
    // ctl.stop is accepted but the service stays up (init refusing it).
    write("system/bin/setprop", "#!/bin/sh\necho \"$*\" >> \"$(dirname \"$0\")/../../setprop.log\"\n", true);
    auto found = find_system_service(root_);
    ASSERT_TRUE(found && *found);
    auto stopped = StoppedService::stop(root_, **found);
    ASSERT_FALSE(stopped);
    EXPECT_NE(stopped.error().find("cannot stop rmtfs (init, running:"), std::string::npos) << stopped.error();
    EXPECT_NE(stopped.error().find("setprop ctl.stop rmtfs: still running after"), std::string::npos) << stopped.error();
    EXPECT_EQ(read("setprop.log"), "ctl.stop rmtfs\nctl.start rmtfs\n") << "started again before giving up";
}

}  // namespace
}  // namespace rmtfs_hil::hil
