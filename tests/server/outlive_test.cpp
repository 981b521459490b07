// Nothing outlives the harness: a program's whole process tree (its group,
// and what left the group with setsid) dies with the harness however the
// harness ends. The harness here is supervise_helper, started without any
// supervisor of ours above it (that one would be a subreaper too and could
// mask a failure).
#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/server/proc_table.hpp"

extern char** environ;

namespace rmtfs_hil::server {
namespace {

using namespace std::chrono_literals;
constexpr auto outlive_deadline = 10s;

using testing::ProcessInfo;
using testing::process_table;

bool alive(const std::map<pid_t, ProcessInfo>& table, pid_t pid) {
    auto it = table.find(pid);
    return it != table.end() && it->second.state != 'Z' && it->second.state != 'X';
}

// `root` and all its living descendants.
std::set<pid_t> tree_of(pid_t root) {
    auto table = process_table();
    std::set<pid_t> tree{root};
    bool grew = true;
    while (grew) {
        grew = false;
        for (const auto& [pid, info] : table)
            if (alive(table, pid) && tree.count(info.parent) && !tree.count(pid)) grew = tree.insert(pid).second;
    }
    return tree;
}

struct Helper {
    pid_t pid = 0;
    int output = -1;
    ~Helper() {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
        }
        if (output >= 0) ::close(output);
    }
};

// Starts supervise_helper MODE PROGRAM... with stdout on a pipe.
bool spawn_helper(Helper& helper, const std::string& mode, const std::vector<std::string>& program) {
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
    std::vector<std::string> words{RMTFS_HIL_SUPERVISE_HELPER, mode};
    words.insert(words.end(), program.begin(), program.end());
    std::vector<char*> argv;
    for (auto& word : words) argv.push_back(word.data());
    argv.push_back(nullptr);
    int result = ::posix_spawn(&helper.pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    helper.output = pipe_fds[0];
    return result == 0;
}

// The helper's first line, "program <pid>".
pid_t read_program_pid(const Helper& helper) {
    std::string text;
    auto deadline = std::chrono::steady_clock::now() + outlive_deadline;
    while (text.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
        struct pollfd watch{helper.output, POLLIN, 0};
        if (::poll(&watch, 1, 100) <= 0) continue;
        char buffer[256];
        ssize_t size = ::read(helper.output, buffer, sizeof buffer);
        if (size <= 0) break;
        text.append(buffer, static_cast<std::size_t>(size));
    }
    if (text.rfind("program ", 0) != 0) return 0;
    return static_cast<pid_t>(std::stol(text.substr(8)));
}

template <class Condition>
bool wait_for(Condition condition) {
    auto deadline = std::chrono::steady_clock::now() + outlive_deadline;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(10ms);
    }
    return true;
}

struct HowTheHarnessEnds {
    const char* name;
    const char* mode;    // supervise_helper's MODE
    int signal_to_send;  // sent to the helper; SIGUSR1 triggers MODE
};

class NothingOutlivesTheHarness : public ::testing::TestWithParam<HowTheHarnessEnds> {};

TEST_P(NothingOutlivesTheHarness, WhenItEnds) {
    const HowTheHarnessEnds& end = GetParam();
    Helper helper;
    // Two sleeps in the program's group, one that left it with setsid.
    ASSERT_TRUE(spawn_helper(helper, end.mode, {"sh", "-c", "setsid sleep 300 & sleep 300 & sleep 300"}));
    pid_t program = read_program_pid(helper);
    ASSERT_GT(program, 0) << "the helper did not start the program";

    std::set<pid_t> victims;
    ASSERT_TRUE(wait_for([&] {
        victims = tree_of(program);
        return victims.size() >= 4;  // sh + three sleeps
    })) << "the program did not start its three sleeps";
    pid_t keeper = process_table()[program].parent;
    ASSERT_NE(keeper, helper.pid) << "the program runs under a keeper, not directly under the harness";
    victims.insert(keeper);

    ASSERT_EQ(::kill(helper.pid, end.signal_to_send), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(helper.pid, &status, 0), helper.pid);
    helper.pid = 0;

    std::set<pid_t> survivors;
    EXPECT_TRUE(wait_for([&] {
        auto table = process_table();
        survivors.clear();
        for (pid_t pid : victims)
            if (alive(table, pid)) survivors.insert(pid);
        return survivors.empty();
    })) << survivors.size() << " process(es) outlived the harness, e.g. pid " << *survivors.begin();
}

INSTANTIATE_TEST_SUITE_P(
    HarnessEnds, NothingOutlivesTheHarness,
    ::testing::Values(HowTheHarnessEnds{"SIGKILLed", "wait", SIGKILL},
                      HowTheHarnessEnds{"SIGTERMedWithDefaultAction", "wait", SIGTERM},
                      HowTheHarnessEnds{"CallsExitWithoutDestructors", "exit", SIGUSR1},
                      HowTheHarnessEnds{"DiesOfAnUncaughtException", "throw", SIGUSR1},
                      HowTheHarnessEnds{"ReturnsNormally", "return", SIGUSR1}),
    [](const ::testing::TestParamInfo<HowTheHarnessEnds>& param_info) { return std::string(param_info.param.name); });

}  // namespace
}  // namespace rmtfs_hil::server
