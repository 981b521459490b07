// Supervising real programs (sh, sleep): output lines, ends, signals, stop,
// exec errors, restarts.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "server/process.hpp"
#include "tests/support/event_loop.hpp"
#include "tests/support/scratch_directory.hpp"
#include "tests/server/proc_table.hpp"

namespace rmtfs_hil::server {
namespace {

namespace fs = std::filesystem;
using testing::run_until;

// Everything a run reports, in arrival order.
struct Recorder {
    std::vector<OutputLine> lines;
    std::vector<ProcessStarted> starts;
    std::vector<ProcessEnded> ends;
    std::vector<JobControlChange> job_control;
    std::vector<StartError> start_failures;
    std::vector<GaveUp> gave_up;
    std::vector<std::string> order;  // "line:<text>", "start", "end"

    ProcessEvents events() {
        ProcessEvents events;
        events.output = [this](const OutputLine& line) {
            lines.push_back(line);
            order.push_back("line:" + line.text);
        };
        events.started = [this](const ProcessStarted& started) {
            starts.push_back(started);
            order.push_back("start");
        };
        events.ended = [this](const ProcessEnded& ended) {
            ends.push_back(ended);
            order.push_back("end");
        };
        events.job_control = [this](const JobControlChange& change) { job_control.push_back(change); };
        events.start_failed = [this](const StartError& error) { start_failures.push_back(error); };
        events.gave_up = [this](const GaveUp& why) { gave_up.push_back(why); };
        return events;
    }

    std::vector<std::string> texts(OutputStream stream) const {
        std::vector<std::string> result;
        for (const auto& line : lines)
            if (line.stream == stream) result.push_back(line.text);
        return result;
    }
    bool saw_line(const std::string& text) const {
        for (const auto& line : lines)
            if (line.text == text) return true;
        return false;
    }
};

LaunchSpec shell(const std::string& script) { return LaunchSpec{{"sh", "-c", script}, current_environment(), {}}; }

using testing::ScratchDirectory;

using testing::gone;
using testing::process_state;

TEST(SupervisedProcess, CapturesStdoutAndStderrLinesAndAPartialLastLine) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, shell("printf 'one\\ntwo\\n'; printf 'err1\\n' >&2; printf 'tail'"), record.events());
    auto started = process.start();
    ASSERT_TRUE(started) << started.error().message;
    EXPECT_GT(started->pid, 0);
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));

    EXPECT_EQ(record.texts(OutputStream::standard_output), (std::vector<std::string>{"one", "two", "tail"}));
    EXPECT_EQ(record.texts(OutputStream::standard_error), std::vector<std::string>{"err1"});
    for (const auto& line : record.lines) EXPECT_EQ(line.unterminated, line.text == "tail") << line.text;
    EXPECT_EQ(record.order.back(), "end") << "the end comes after every line";
    EXPECT_EQ(record.ends[0].exit, ProcessExit::exited(0));
    EXPECT_EQ(record.ends[0].pid, started->pid);
    EXPECT_LE(record.starts[0].at, record.ends[0].at);
    EXPECT_EQ(process.state(), SupervisedProcess::State::idle);
}

TEST(SupervisedProcess, DeliversOverlongLinesInPiecesOfTheNamedLimit) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, shell("head -c 70000 /dev/zero | tr '\\000' a; echo; echo next"), record.events());
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    ASSERT_EQ(record.lines.size(), 3u);
    EXPECT_EQ(record.lines[0].text.size(), output_line_max_bytes);
    EXPECT_TRUE(record.lines[0].continues);
    EXPECT_EQ(record.lines[1].text.size(), 70000 - output_line_max_bytes);
    EXPECT_FALSE(record.lines[1].continues);
    EXPECT_EQ(record.lines[2].text, "next");
}

TEST(SupervisedProcess, ReportsTheExitCode) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, shell("exit 7"), record.events());
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_EQ(record.ends[0].exit, ProcessExit::exited(7));
    EXPECT_EQ(process.last_exit(), ProcessExit::exited(7));
}

TEST(SupervisedProcess, GivesTheProgramItsEnvironmentDirectoryAndDevNullInput) {
    ScratchDirectory scratch;
    boost::asio::io_context io;
    Recorder record;
    LaunchSpec spec{{"sh", "-c", "echo \"$GREETING\"; pwd; cat; echo stdin-ended"},
                    {"GREETING=hello from the world", "PATH=/usr/bin:/bin"},
                    scratch.path};
    SupervisedProcess process(io, spec, record.events());
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_EQ(record.texts(OutputStream::standard_output),
              (std::vector<std::string>{"hello from the world", fs::canonical(scratch.path).string(), "stdin-ended"}));
}

TEST(SupervisedProcess, TheLoopRunsWhileTheStartIsAwaited) {
    boost::asio::io_context io;
    bool ran = false;
    boost::asio::post(io, [&] { ran = true; });
    SupervisedProcess process(io, shell("exec sleep 30"));
    ASSERT_TRUE(process.start());
    EXPECT_TRUE(ran) << "work queued before the start ran while the keeper's report was awaited";
    EXPECT_FALSE(io.stopped()) << "the loop is left able to run for its owner";

    // A loop its owner stopped stays stopped; the start still gets its report.
    io.stop();
    SupervisedProcess second(io, shell("exec sleep 30"));
    ASSERT_TRUE(second.start());
    EXPECT_TRUE(io.stopped());
}

TEST(SupervisedProcess, ReportsDeathBySignal) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, shell("kill -TERM $$"), record.events());
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_EQ(record.ends[0].exit, ProcessExit::killed(SIGTERM, false));
    EXPECT_FALSE(record.ends[0].exit.crashed());
}

// Whether a SIGSEGV in a child of this process will dump core: the pattern
// must name a file (not a pipe, whose helper decides), relative to the
// crashing process's directory, and the hard core limit must allow it.
bool core_dump_expected_in_working_directory() {
    std::ifstream pattern_file("/proc/sys/kernel/core_pattern");
    std::string pattern;
    std::getline(pattern_file, pattern);
    struct rlimit limit{};
    if (::getrlimit(RLIMIT_CORE, &limit) != 0 || limit.rlim_max == 0) return false;
    return !pattern.empty() && pattern[0] != '|' && pattern.find('/') == std::string::npos;
}

TEST(SupervisedProcess, ACoreDumpingCrashIsACrashWithItsSignal) {
    ScratchDirectory scratch;  // the core file lands here, and goes with it
    boost::asio::io_context io;
    Recorder record;
    LaunchSpec spec = shell("ulimit -c unlimited 2>/dev/null || ulimit -c $(ulimit -H -c); kill -SEGV $$");
    spec.working_directory = scratch.path;
    SupervisedProcess process(io, spec, record.events());
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    const auto* death = std::get_if<Killed>(&record.ends[0].exit.outcome());
    ASSERT_NE(death, nullptr) << record.ends[0].exit.describe();
    EXPECT_EQ(death->signal, SIGSEGV);
    EXPECT_TRUE(record.ends[0].exit.crashed());
    if (core_dump_expected_in_working_directory())
        EXPECT_TRUE(death->core_dumped) << "core_pattern names a file in the working directory";
    else
        std::cout << "[ info ] core flag not checked: core_pattern pipes or points elsewhere, or no core limit; got "
                  << record.ends[0].exit.describe() << "\n";
}

TEST(SupervisedProcess, PausesAndResumesTheGroup) {
    boost::asio::io_context io;
    Recorder record;
    // No foreground command in the shell: dash vforks those, and a shell
    // waiting in vfork for a child the SIGSTOP caught before its exec cannot
    // stop itself until the group continues.
    SupervisedProcess process(io, shell("sleep 30 & echo $!; exec sleep 30"), record.events());
    auto started = process.start();
    ASSERT_TRUE(started);
    ASSERT_TRUE(run_until(io, [&] { return !record.lines.empty(); }));
    pid_t background = static_cast<pid_t>(std::stol(record.lines[0].text));

    auto sent = process.pause();
    ASSERT_TRUE(sent) << sent.error().message;
    EXPECT_EQ(sent->signal, SIGSTOP);
    EXPECT_EQ(sent->group, started->pid);
    ASSERT_TRUE(run_until(io, [&] { return !record.job_control.empty(); }));
    EXPECT_TRUE(record.job_control[0].stopped);
    EXPECT_EQ(record.job_control[0].signal, SIGSTOP);
    EXPECT_EQ(process_state(started->pid), 'T');
    EXPECT_TRUE(run_until(io, [&] { return process_state(background) == 'T'; })) << "the whole group stops";

    ASSERT_TRUE(process.resume());
    ASSERT_TRUE(run_until(io, [&] { return record.job_control.size() >= 2; }));
    EXPECT_FALSE(record.job_control[1].stopped);
    EXPECT_NE(process_state(started->pid), 'T');
    EXPECT_TRUE(run_until(io, [&] { return process_state(background) != 'T'; }));
    process.stop();
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_EQ(record.ends[0].exit, ProcessExit::killed(SIGTERM));
}

// A judgment waits for settling() to be false: it must be true exactly while
// a report is owed, whether or not the loop has run since.
TEST(SupervisedProcess, SettlesOnlyOnceTheReportsItOwesHaveCome) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, shell("exec sleep 30"), record.events());
    auto started = process.start();
    ASSERT_TRUE(started);
    EXPECT_FALSE(process.settling()) << "running, and nothing sent";

    ASSERT_TRUE(process.pause());
    EXPECT_TRUE(process.settling()) << "the stop is owed its report";
    ASSERT_TRUE(run_until(io, [&] { return !process.settling(); }));
    ASSERT_EQ(record.job_control.size(), 1u);
    EXPECT_TRUE(record.job_control[0].stopped);
    ASSERT_TRUE(process.pause());
    EXPECT_FALSE(process.settling()) << "a stopped program stopped again is not reported again";

    ASSERT_TRUE(process.resume());
    EXPECT_TRUE(process.settling()) << "the continue is owed its report";
    ASSERT_TRUE(run_until(io, [&] { return !process.settling(); }));
    ASSERT_EQ(record.job_control.size(), 2u);
    EXPECT_FALSE(record.job_control[1].stopped);

    ASSERT_TRUE(process.kill());
    EXPECT_TRUE(process.settling()) << "SIGKILL owes the end";
    ASSERT_TRUE(run_until(io, [&] { return !process.settling(); }));
    ASSERT_EQ(record.ends.size(), 1u) << "settled once the end was delivered";
    EXPECT_EQ(record.ends[0].exit, ProcessExit::killed(SIGKILL));

    // Ended on its own: the kernel knows before the keeper's report is read.
    Recorder own_record;
    SupervisedProcess own(io, shell("exec sleep 0.1"), own_record.events());
    auto own_start = own.start();
    ASSERT_TRUE(own_start);
    EXPECT_FALSE(own.settling());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!gone(own_start->pid) && std::chrono::steady_clock::now() < deadline) {
    }
    EXPECT_TRUE(own.settling()) << "an exit the kernel knows of is in flight";
    EXPECT_TRUE(own_record.ends.empty());
    ASSERT_TRUE(run_until(io, [&] { return !own.settling(); }));
    ASSERT_EQ(own_record.ends.size(), 1u);
}

TEST(SupervisedProcess, ASignalOwesAnEndOnlyWhereItsDefaultActionEnds) {
    boost::asio::io_context io;
    Recorder ignoring_record;
    // An ignored signal stays ignored across exec.
    SupervisedProcess ignoring(io, shell("trap '' TERM; echo ready; exec sleep 30"), ignoring_record.events());
    ASSERT_TRUE(ignoring.start());
    ASSERT_TRUE(run_until(io, [&] { return ignoring_record.saw_line("ready"); }));
    ASSERT_TRUE(ignoring.signal(SIGTERM));
    EXPECT_FALSE(ignoring.settling()) << "an ignored SIGTERM owes nothing";

    Recorder record;
    SupervisedProcess plain(io, shell("exec sleep 30"), record.events());
    ASSERT_TRUE(plain.start());
    ASSERT_TRUE(plain.signal(SIGTERM));
    EXPECT_TRUE(plain.settling()) << "SIGTERM by its default action ends the program";
    ASSERT_TRUE(run_until(io, [&] { return !plain.settling(); }));
    ASSERT_EQ(record.ends.size(), 1u);
    EXPECT_EQ(record.ends[0].exit, ProcessExit::killed(SIGTERM));
    EXPECT_TRUE(ignoring_record.ends.empty());
}

TEST(SupervisedProcess, StopEndsAProgramThatHonoursTerm) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, LaunchSpec{{"sleep", "30"}, current_environment(), {}}, record.events());
    ASSERT_TRUE(process.start());
    process.stop(10s);
    EXPECT_EQ(process.state(), SupervisedProcess::State::stopping);
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_EQ(record.ends[0].exit, ProcessExit::killed(SIGTERM));
    EXPECT_EQ(process.state(), SupervisedProcess::State::idle);
}

TEST(SupervisedProcess, StopEscalatesToKillWhenTermIsIgnored) {
    boost::asio::io_context io;
    Recorder record;
    // The ignored TERM is inherited by sleep through exec, as in any daemon
    // that blocks it.
    SupervisedProcess process(io, shell("trap '' TERM; echo ready; sleep 30"), record.events());
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return record.saw_line("ready"); }));
    auto grace = 300ms;
    auto asked = std::chrono::steady_clock::now();
    process.stop(grace);
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_EQ(record.ends[0].exit, ProcessExit::killed(SIGKILL));
    EXPECT_GE(record.ends[0].at - asked, grace) << "SIGKILL only after the grace";
}

TEST(SupervisedProcess, ReportsAMissingProgramWithItsErrno) {
    boost::asio::io_context io;
    SupervisedProcess process(io, LaunchSpec{{"/nonexistent/rmtfs"}, current_environment(), {}});
    auto started = process.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().stage, StartError::Stage::execute);
    EXPECT_EQ(started.error().error_number, ENOENT);
    EXPECT_NE(started.error().message.find("/nonexistent/rmtfs"), std::string::npos) << started.error().message;
    EXPECT_NE(started.error().message.find("ENOENT"), std::string::npos) << started.error().message;
    EXPECT_EQ(process.state(), SupervisedProcess::State::idle);
}

TEST(SupervisedProcess, SearchesPathAndSaysWhereItLooked) {
    boost::asio::io_context io;
    SupervisedProcess process(io, LaunchSpec{{"rmtfs-hil-no-such-program"}, {"PATH=/nonexistent/a:/nonexistent/b"}, {}});
    auto started = process.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().error_number, ENOENT);
    EXPECT_NE(started.error().message.find("/nonexistent/b/rmtfs-hil-no-such-program"), std::string::npos)
        << started.error().message;
}

TEST(SupervisedProcess, ReportsANonExecutableFileWithEacces) {
    ScratchDirectory scratch;
    fs::path script = scratch.path / "not-executable";
    std::ofstream(script) << "#!/bin/sh\necho never\n";
    fs::permissions(script, fs::perms::owner_read | fs::perms::owner_write);  // no x bit: EACCES even for root
    boost::asio::io_context io;
    SupervisedProcess process(io, LaunchSpec{{script.string()}, current_environment(), {}});
    auto started = process.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().stage, StartError::Stage::execute);
    EXPECT_EQ(started.error().error_number, EACCES) << started.error().message;
}

TEST(SupervisedProcess, ReportsAMissingWorkingDirectory) {
    boost::asio::io_context io;
    SupervisedProcess process(io, LaunchSpec{{"true"}, current_environment(), "/nonexistent/directory"});
    auto started = process.start();
    ASSERT_FALSE(started);
    EXPECT_EQ(started.error().stage, StartError::Stage::working_directory);
    EXPECT_EQ(started.error().error_number, ENOENT);
}

TEST(SupervisedProcess, RefusesToStartTwiceAndToSignalWhenNotRunning) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, LaunchSpec{{"sleep", "30"}, current_environment(), {}}, record.events());
    EXPECT_FALSE(process.signal(SIGTERM)) << "nothing to signal yet";
    ASSERT_TRUE(process.start());
    auto again = process.start();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().stage, StartError::Stage::already_running);
    ASSERT_TRUE(process.kill());
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_FALSE(process.signal(SIGTERM));
}

TEST(SupervisedProcess, RestartsAfterEachEndUntilTheStartLimit) {
    boost::asio::io_context io;
    Recorder record;
    RestartPolicy policy{true, 20ms, 3, 60s};
    SupervisedProcess process(io, shell("echo run; exit 3"), record.events(), policy);
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return !record.gave_up.empty(); }));
    EXPECT_EQ(record.starts.size(), 3u);
    EXPECT_EQ(record.ends.size(), 3u);
    EXPECT_EQ(process.restarts(), 2u);
    EXPECT_EQ(process.state(), SupervisedProcess::State::gave_up);
    EXPECT_EQ(record.gave_up[0].starts_in_interval, 3u);
    EXPECT_NE(record.gave_up[0].reason.find("crash loop"), std::string::npos);
    for (std::size_t i = 1; i < record.starts.size(); ++i)
        EXPECT_GE(record.starts[i].at - record.ends[i - 1].at, policy.delay) << "RestartSec is honoured";
}

TEST(SupervisedProcess, StartsOutsideTheLimitIntervalAreForgotten) {
    boost::asio::io_context io;
    Recorder record;
    // Two starts allowed per 100 ms, one start every 150 ms: never a crash loop.
    RestartPolicy policy{true, 150ms, 2, 100ms};
    SupervisedProcess process(io, shell("exit 1"), record.events(), policy);
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return record.starts.size() >= 4; }));
    EXPECT_TRUE(record.gave_up.empty());
    process.stop();
    ASSERT_TRUE(run_until(io, [&] { return process.state() == SupervisedProcess::State::idle; }));
    std::size_t starts = record.starts.size();
    boost::asio::steady_timer settle(io, 3 * policy.delay);
    bool settled = false;
    settle.async_wait([&](const boost::system::error_code&) { settled = true; });
    ASSERT_TRUE(run_until(io, [&] { return settled; }));
    EXPECT_EQ(record.starts.size(), starts) << "stop() also cancels a pending restart";
}

TEST(SupervisedProcess, StopIsNotFollowedByARestart) {
    boost::asio::io_context io;
    Recorder record;
    RestartPolicy policy{true, 10ms, 5, 60s};
    SupervisedProcess process(io, LaunchSpec{{"sleep", "30"}, current_environment(), {}}, record.events(), policy);
    ASSERT_TRUE(process.start());
    process.stop();
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    // Let several restart delays pass: nothing may start.
    boost::asio::steady_timer settle(io, 100ms);
    bool settled = false;
    settle.async_wait([&](const boost::system::error_code&) { settled = true; });
    ASSERT_TRUE(run_until(io, [&] { return settled; }));
    EXPECT_EQ(record.starts.size(), 1u);
    EXPECT_EQ(process.state(), SupervisedProcess::State::idle);
}

TEST(SupervisedProcess, ARestartThatCannotExecuteIsReportedAndCounted) {
    ScratchDirectory scratch;
    fs::path program = scratch.path / "vanishing";
    std::ofstream(program) << "#!/bin/sh\nrm -f \"$0\"\nexit 1\n";
    fs::permissions(program, fs::perms::owner_all);
    boost::asio::io_context io;
    Recorder record;
    RestartPolicy policy{true, 10ms, 3, 60s};
    SupervisedProcess process(io, LaunchSpec{{program.string()}, current_environment(), {}}, record.events(), policy);
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return !record.gave_up.empty(); }));
    EXPECT_EQ(record.starts.size(), 1u);
    ASSERT_EQ(record.start_failures.size(), 2u);
    EXPECT_EQ(record.start_failures[0].error_number, ENOENT);
}

TEST(SupervisedProcess, DestroyingItKillsEverythingTheProgramStarted) {
    boost::asio::io_context io;
    Recorder record;
    pid_t program = 0;
    pid_t background = 0;
    {
        SupervisedProcess process(io, shell("sleep 300 & echo $!; sleep 300"), record.events());
        auto started = process.start();
        ASSERT_TRUE(started);
        program = started->pid;
        ASSERT_TRUE(run_until(io, [&] { return !record.lines.empty(); }));
        background = static_cast<pid_t>(std::stol(record.lines[0].text));
        EXPECT_FALSE(gone(background));
    }
    EXPECT_TRUE(gone(program));
    EXPECT_TRUE(gone(background)) << "the destructor returns when the whole group is gone";
    EXPECT_TRUE(record.ends.empty()) << "a destroyed supervisor reports nothing";
}

TEST(SupervisedProcess, WhatTheProgramLeavesBehindDiesWithIt) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, shell("sleep 300 & echo $!; exit 0"), record.events());
    ASSERT_TRUE(process.start());
    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_EQ(record.ends[0].exit, ProcessExit::exited(0));
    ASSERT_FALSE(record.lines.empty());
    pid_t background = static_cast<pid_t>(std::stol(record.lines[0].text));
    EXPECT_TRUE(gone(background)) << "gone before the end was reported";
}

TEST(SupervisedProcess, AKeeperKilledFromOutsideIsReportedAsSupervisionLost) {
    boost::asio::io_context io;
    Recorder record;
    SupervisedProcess process(io, shell("sleep 300 & echo $!; sleep 300"), record.events());
    auto started = process.start();
    ASSERT_TRUE(started);
    ASSERT_TRUE(run_until(io, [&] { return !record.lines.empty(); }));
    pid_t background = static_cast<pid_t>(std::stol(record.lines[0].text));

    auto info = testing::process_info(started->pid);
    ASSERT_TRUE(info);
    pid_t keeper = info->parent;
    ASSERT_EQ(::kill(keeper, SIGKILL), 0);

    ASSERT_TRUE(run_until(io, [&] { return !record.ends.empty(); }));
    EXPECT_EQ(record.ends[0].exit, ProcessExit(SupervisionLost{}));
    EXPECT_TRUE(run_until(io, [&] { return gone(started->pid) && gone(background); }))
        << "PDEATHSIG ends the program; the harness kills the rest of its group";
}

}  // namespace
}  // namespace rmtfs_hil::server
