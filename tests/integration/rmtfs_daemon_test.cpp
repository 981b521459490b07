// The real, unmodified rmtfs in the sandbox, watched through the fabric:
// it publishes service 14, drives the modem's remoteproc with -s, and when it
// dies its socket's release reaches a lookup as DEL_SERVER at once. Every
// wait is on an event of the io_context, bounded by a deadline — no sleeps.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>

#include "proto/qrtr_control.hpp"
#include "proto/rmtfs.hpp"
#include "server/process.hpp"
#include "server/sandbox.hpp"
#include "tests/support/event_loop.hpp"
#include "sim/name_service.hpp"

namespace rmtfs_hil {
namespace {

using namespace std::chrono_literals;
using qrtr::ControlMessage;
using qrtr::PacketType;

constexpr const char* rmtfs_binary = "/usr/bin/rmtfs";

// An in-process fabric socket with a lookup on service 14.
struct Lookup final : sim::DatagramSink {
    std::vector<ControlMessage> seen;
    bool deliver(const sim::Datagram& d) override {
        if (auto m = qrtr::decode_control(d.payload)) seen.push_back(*m);
        return true;
    }
    void post_error(int, std::uint32_t) override {}

    bool saw(PacketType type, std::uint32_t port) const {
        for (const auto& m : seen)
            if (m.type == type)
                if (auto* s = std::get_if<qrtr::ServerRecord>(&m.body); s && s->service == rmtfs::service_id && s->port == port)
                    return true;
        return false;
    }
};

class RealRmtfs : public ::testing::Test {
protected:
    void SetUp() override {
        if (!std::filesystem::exists(rmtfs_binary)) GTEST_SKIP() << rmtfs_binary << " is not installed (ci/setup.sh installs it)";
        auto created = server::Sandbox::create(io, {});
        ASSERT_TRUE(created) << created.error().message;
        sandbox = std::move(*created);
        sandbox->fabric().set_trace([this](const sim::TraceEvent& e) { trace.push_back(std::string(sim::to_string(e.kind)) + " " + e.detail); });
        lookup_socket = sandbox->fabric().open_socket(lookup);
        qrtr::ServerRecord wanted{rmtfs::service_id, 0, 0, 0, 0};
        sandbox->fabric().send(lookup_socket, {1, qrtr::port_control},
                               qrtr::encode_control(ControlMessage::server(PacketType::new_lookup, wanted)), false,
                               [](const sim::SendResult& r) { ASSERT_EQ(r.error, 0); });
    }

    bool run_until(const std::function<bool()>& done) { return testing::run_until(io, done); }

    std::unique_ptr<server::SupervisedProcess> start(std::vector<std::string> argv) {
        server::ProcessEvents events;
        events.output = [this](const server::OutputLine& l) { output.push_back(l.text); };
        events.ended = [this](const server::ProcessEnded& e) { ended = e.exit; };
        auto process = std::make_unique<server::SupervisedProcess>(io, sandbox->launch(std::move(argv)), events);
        auto started = process->start();
        EXPECT_TRUE(started) << (started ? "" : started.error().message);
        if (started) pid = started->pid;
        return process;
    }

    std::string evidence() const {
        std::string text = "\n--- daemon output ---\n";
        for (const auto& l : output) text += l + "\n";
        text += "--- trace ---\n";
        for (const auto& t : trace) text += t + "\n";
        return text;
    }

    // Declared so that the sandbox goes first: its teardown still traces,
    // and releases sockets whose messages reach the lookup.
    boost::asio::io_context io;
    std::vector<std::string> trace;
    std::vector<std::string> output;
    std::optional<server::ProcessExit> ended;
    pid_t pid = 0;
    Lookup lookup;
    std::unique_ptr<server::Sandbox> sandbox;
    sim::SocketId lookup_socket = 0;
};

TEST_F(RealRmtfs, PublishesServiceFourteenAndSigkillRemovesItAtOnce) {
    auto daemon = start({rmtfs_binary, "-v", "-o", sandbox->world().storage_dir().string()});
    ASSERT_TRUE(run_until([&] { return lookup.saw(PacketType::new_server, 14); })) << "service 14 never appeared" << evidence();
    auto servers = sandbox->fabric().name_service()->servers_of(rmtfs::service_id);
    ASSERT_EQ(servers.size(), 1u);
    EXPECT_EQ(servers[0].node, 1u);
    EXPECT_EQ(servers[0].port, 14u);
    EXPECT_EQ(servers[0].instance, qrtr::wire_instance(0, 1)) << "version 1, instance 0";

    ASSERT_TRUE(daemon->kill());
    auto killed_at = std::chrono::steady_clock::now();
    ASSERT_TRUE(run_until([&] { return lookup.saw(PacketType::del_server, 14); })) << "no DEL_SERVER" << evidence();
    auto latency = std::chrono::steady_clock::now() - killed_at;
    ASSERT_TRUE(run_until([&] { return ended.has_value(); })) << evidence();
    EXPECT_EQ(*ended, server::ProcessExit::killed(SIGKILL)) << ended->describe();
    EXPECT_TRUE(sandbox->fabric().name_service()->servers_of(rmtfs::service_id).empty());
    EXPECT_EQ(::kill(pid, 0), -1) << "the daemon's pid " << pid << " still exists";
    EXPECT_EQ(errno, ESRCH);
    std::printf("[ rmtfs ] DEL_SERVER %.3f ms after SIGKILL\n", std::chrono::duration<double, std::milli>(latency).count());
}

TEST_F(RealRmtfs, DashSStartsTheModemAfterPublishingAndStopsItOnSigterm) {
    std::vector<std::string> writes;
    bool published_before_start = false;
    sandbox->modem().watch([&](const sim::Remoteproc&, const sim::Remoteproc::Change& c) {
        writes.push_back(std::string(c.command) + (c.error ? " failed" : ""));
        if (c.command == "start") published_before_start = lookup.saw(PacketType::new_server, 14);
    });
    auto daemon = start({rmtfs_binary, "-o", sandbox->world().storage_dir().string(), "-s"});
    ASSERT_TRUE(run_until([&] { return sandbox->modem().state() == sim::RemoteprocState::running; }))
        << "the modem was never started" << evidence();
    EXPECT_TRUE(published_before_start) << "rmtfs -s wrote start before its service was published" << evidence();
    EXPECT_EQ(sandbox->modem().state_text(), "running\n");

    ASSERT_TRUE(daemon->signal(SIGTERM));
    ASSERT_TRUE(run_until([&] { return ended.has_value(); })) << evidence();
    EXPECT_EQ(*ended, server::ProcessExit::exited(0)) << ended->describe() << evidence();
    EXPECT_EQ(sandbox->modem().state(), sim::RemoteprocState::offline);
    EXPECT_EQ(writes, (std::vector<std::string>{"start", "stop"})) << evidence();
}

TEST_F(RealRmtfs, StopOfACrashedModemIsRefusedAndReported) {
    auto daemon = start({rmtfs_binary, "-o", sandbox->world().storage_dir().string(), "-s"});
    ASSERT_TRUE(run_until([&] { return sandbox->modem().state() == sim::RemoteprocState::running; })) << evidence();
    sandbox->modem().crash();
    EXPECT_EQ(sandbox->modem().state_text(), "crashed\n");
    ASSERT_TRUE(daemon->signal(SIGTERM));
    ASSERT_TRUE(run_until([&] { return ended.has_value(); })) << evidence();
    // stop while crashed: the kernel answers EINVAL; rmtfs logs it and still exits.
    bool logged = false;
    for (const auto& l : output) logged |= l.find("failed to update stop state") != std::string::npos;
    EXPECT_TRUE(logged) << "rmtfs did not report the refused stop" << evidence();
}

TEST_F(RealRmtfs, NetworkResetMakesItReopenAndPublishAgain) {
    auto daemon = start({rmtfs_binary, "-v", "-o", sandbox->world().storage_dir().string()});
    ASSERT_TRUE(run_until([&] { return lookup.saw(PacketType::new_server, 14); })) << evidence();
    lookup.seen.clear();
    sandbox->fabric().reset_network(lookup_socket);
    ASSERT_TRUE(run_until([&] { return lookup.saw(PacketType::new_server, 14); }))
        << "rmtfs did not publish again after ENETRESET" << evidence();
    EXPECT_TRUE(lookup.saw(PacketType::del_server, 14)) << "the old socket's release comes first" << evidence();
    EXPECT_FALSE(ended.has_value()) << "the daemon survived the reset";
}

}  // namespace
}  // namespace rmtfs_hil
