// The simulated modem against the real rmtfs in the sandbox: it boots like a
// real modem (service 14, four OPENs, ALLOC_BUFF, images loaded through the
// shared buffer), its writes land in the storage files, and the daemon's
// death reaches it as the loss of the service.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>

#include "proto/rmtfs.hpp"
#include "server/process.hpp"
#include "server/sandbox.hpp"
#include "tests/support/event_loop.hpp"
#include "sim/coupling.hpp"
#include "sim/link_faults.hpp"
#include "sim/modem.hpp"
#include "sim/name_service.hpp"
#include "sim/qrtr_endpoint.hpp"
#include "sim/write_ledger.hpp"

namespace rmtfs_hil {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* rmtfs_binary = "/usr/bin/rmtfs";
constexpr std::uint32_t image_sectors = 256;

Bytes pattern(std::size_t size, std::uint8_t salt) {
    Bytes bytes(size);
    for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<std::uint8_t>((i * 31 + salt) ^ (i >> 9));
    return bytes;
}

Bytes file_bytes(const fs::path& path, std::size_t offset, std::size_t length) {
    std::ifstream in(path, std::ios::binary);
    in.seekg(static_cast<std::streamoff>(offset));
    Bytes bytes(length);
    in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(length));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    return bytes;
}

class ModemAgainstRealRmtfs : public ::testing::Test {
protected:
    void SetUp() override {
        if (!fs::exists(rmtfs_binary)) GTEST_SKIP() << rmtfs_binary << " is not installed (ci/setup.sh installs it)";
        auto created = server::Sandbox::create(io, {});
        ASSERT_TRUE(created) << created.error().message;
        sandbox = std::move(*created);
        sandbox->fabric().set_trace([this](const sim::TraceEvent& e) { trace.push_back(std::string(sim::to_string(e.kind)) + " " + e.detail); });
        // Recognisable images: partition n holds pattern(salt n).
        const auto& partitions = sandbox->board().partitions;
        for (std::size_t i = 0; i < partitions.size(); ++i) {
            std::ofstream out(sandbox->world().storage_dir() / partitions[i].file_name, std::ios::binary | std::ios::in);
            Bytes image = pattern(image_sectors * rmtfs::sector_size_bytes, static_cast<std::uint8_t>(i + 1));
            out.write(reinterpret_cast<const char*>(image.data()), static_cast<std::streamsize>(image.size()));
        }
        server::ProcessEvents events;
        events.output = [this](const server::OutputLine& l) { trace.push_back("rmtfs: " + l.text); };
        events.ended = [this](const server::ProcessEnded& e) { ended = e.exit; };
        std::vector<std::string> argv{rmtfs_binary, "-v", "-o", sandbox->world().storage_dir().string()};
        for (const auto& extra : extra_daemon_arguments()) argv.push_back(extra);
        daemon = std::make_unique<server::SupervisedProcess>(io, sandbox->launch(argv), events);
        auto started = daemon->start();
        ASSERT_TRUE(started) << started.error().message;
        link = std::make_unique<sim::FabricLink>(io, sandbox->fabric(), "modem");
        sim::ModemConfig config;
        config.image_sectors = image_sectors;
        sim::Modem::Events modem_events;
        modem_events.service_lost = [this](const sim::RemoteServer&) { service_lost = true; };
        modem = std::make_unique<sim::Modem>(io, *link, sandbox->shared_memory(), config, modem_events);
    }

    virtual std::vector<std::string> extra_daemon_arguments() const { return {}; }

    // The modem these tests use: small images, so boots are quick.
    static sim::ModemConfig small_modem(sim::ServiceLoss on_service_loss) {
        sim::ModemConfig config;
        config.image_sectors = image_sectors;
        config.on_service_loss = on_service_loss;
        return config;
    }

    // A new modem with `config` on the same link (the old one goes first: it
    // owns the link's callbacks).
    void replace_modem(sim::ModemConfig config) {
        modem.reset();
        sim::Modem::Events modem_events;
        modem_events.service_lost = [this](const sim::RemoteServer&) { service_lost = true; };
        modem_events.crashed = [this](const std::string& reason) { crash_reason = reason; };
        modem_events.recovered = [this] { ++recoveries; };
        modem = std::make_unique<sim::Modem>(io, *link, sandbox->shared_memory(), config, modem_events);
    }

    // SIGKILL, then a fresh start of the same command line (a daemon restart).
    void restart_daemon() {
        ASSERT_TRUE(daemon->kill());
        ASSERT_TRUE(run_until([&] { return ended.has_value(); })) << evidence();
        ended.reset();
        auto started = daemon->start();
        ASSERT_TRUE(started) << started.error().message;
    }

    bool service_published() {
        return !sandbox->fabric().name_service()->servers_of(rmtfs::service_id).empty();
    }

    Bytes storage_of(std::size_t index) const {
        fs::path path = sandbox->world().storage_dir() / sandbox->board().partitions[index].file_name;
        return file_bytes(path, 0, static_cast<std::size_t>(fs::file_size(path)));
    }

    // One write through the modem, recorded in `ledger` with its outcome.
    std::optional<sim::Response> ledgered_write(std::size_t index, std::uint32_t sector, const Bytes& data) {
        const std::string label = sandbox->board().partitions[index].label;
        sim::WriteId id = ledger.invoked(label, sector, data);
        std::optional<sim::Response> response;
        modem->write(index, sector, data, [&](const sim::Response& r) { response = r; });
        if (!run_until([&] { return response.has_value(); })) return std::nullopt;
        const auto* rw = *response ? std::get_if<rmtfs::RwIovecResponse>(&**response) : nullptr;
        ledger.resolved(id, rw && rw->result.ok() ? sim::WriteOutcome::ok
                            : (*response || response->error().kind != sim::RequestFailure::Kind::timeout)
                                ? sim::WriteOutcome::failed
                                : sim::WriteOutcome::unknown);
        return response;
    }

    bool run_until(const std::function<bool()>& done) { return testing::run_until(io, done); }

    std::string evidence() const {
        std::string text = "\n--- trace ---\n";
        for (const auto& t : trace) text += t + "\n";
        return text;
    }

    bool boot() {
        std::optional<sim::BootResult> result;
        modem->boot([&](const sim::BootResult& r) { result = r; });
        if (!run_until([&] { return result.has_value(); })) {
            ADD_FAILURE() << "boot did not finish" << evidence();
            return false;
        }
        EXPECT_TRUE(result->ok) << result->reason << evidence();
        return result->ok;
    }

    boost::asio::io_context io;
    std::vector<std::string> trace;
    std::optional<server::ProcessExit> ended;
    bool service_lost = false;
    std::optional<std::string> crash_reason;
    int recoveries = 0;
    std::unique_ptr<server::Sandbox> sandbox;
    std::unique_ptr<server::SupervisedProcess> daemon;
    std::unique_ptr<sim::FabricLink> link;
    std::unique_ptr<sim::Modem> modem;
    sim::WriteLedger ledger;
};

TEST_F(ModemAgainstRealRmtfs, BootsOpensAllocatesAndLoadsTheImages) {
    ASSERT_TRUE(boot());
    EXPECT_EQ(modem->state(), sim::ModemState::running);
    std::set<std::uint32_t> ids;
    for (const auto& id : modem->caller_ids()) {
        ASSERT_TRUE(id.has_value());
        ids.insert(*id);
    }
    EXPECT_EQ(ids.size(), 4u) << "each partition has its own caller id";
    ASSERT_TRUE(modem->buffer_address());
    EXPECT_EQ(*modem->buffer_address(), sandbox->board().rmtfs_mem.phys_addr) << "ALLOC_BUFF returns the region base";
    for (std::size_t i = 0; i < modem->images().size(); ++i)
        EXPECT_EQ(modem->images()[i], pattern(image_sectors * rmtfs::sector_size_bytes, static_cast<std::uint8_t>(i + 1)))
            << "partition " << i << " loaded through the shared buffer differs from its storage file";
}

TEST_F(ModemAgainstRealRmtfs, AnAcknowledgedWriteIsInTheStorageFile) {
    ASSERT_TRUE(boot());
    Bytes data = pattern(8 * rmtfs::sector_size_bytes, 0x77);
    std::optional<sim::Response> response;
    modem->write(1, 100, data, [&](const sim::Response& r) { response = r; });
    ASSERT_TRUE(run_until([&] { return response.has_value(); })) << evidence();
    ASSERT_TRUE(*response) << response->error().detail << evidence();
    ASSERT_TRUE(std::get<rmtfs::RwIovecResponse>(**response).result.ok()) << rmtfs::summary(**response);
    fs::path fs2 = sandbox->world().storage_dir() / "modem_fs2";
    EXPECT_EQ(file_bytes(fs2, 100 * rmtfs::sector_size_bytes, data.size()), data)
        << "the acknowledged write is not in " << fs2;
    const Bytes original = pattern(image_sectors * rmtfs::sector_size_bytes, 2);
    const auto sector_99 = original.begin() + 99 * rmtfs::sector_size_bytes;
    EXPECT_EQ(file_bytes(fs2, 99 * rmtfs::sector_size_bytes, rmtfs::sector_size_bytes),
              Bytes(sector_99, sector_99 + rmtfs::sector_size_bytes))
        << "the sector before the write changed";
}

TEST_F(ModemAgainstRealRmtfs, TheDaemonsDeathIsTheLossOfTheService) {
    ASSERT_TRUE(boot());
    ASSERT_TRUE(daemon->kill());
    ASSERT_TRUE(run_until([&] { return service_lost; })) << "the modem never heard the daemon go" << evidence();
    std::optional<sim::Response> response;
    modem->write(0, 0, Bytes(rmtfs::sector_size_bytes, 1), [&](const sim::Response& r) { response = r; });
    ASSERT_TRUE(run_until([&] { return response.has_value(); }));
    ASSERT_FALSE(*response);
    EXPECT_EQ(response->error().kind, sim::RequestFailure::Kind::no_service) << response->error().detail;
}

TEST_F(ModemAgainstRealRmtfs, AnUnknownPathIsRefusedAndBootFails) {
    sim::ModemConfig config;
    config.partitions = {"/boot/modem_fs1", "/boot/not_a_partition"};
    config.image_sectors = 8;
    sim::FabricLink other_link(io, sandbox->fabric(), "modem2");
    config.node = 5;
    sim::Modem other(io, other_link, sandbox->shared_memory(), config);
    std::optional<sim::BootResult> result;
    other.boot([&](const sim::BootResult& r) { result = r; });
    ASSERT_TRUE(run_until([&] { return result.has_value(); })) << evidence();
    EXPECT_FALSE(result->ok);
    EXPECT_NE(result->reason.find("OPEN /boot/not_a_partition refused"), std::string::npos) << result->reason;
    EXPECT_EQ(other.state(), sim::ModemState::failed);
}

TEST_F(ModemAgainstRealRmtfs, TheLedgerFindsEveryAcknowledgedWriteOnStorage) {
    ASSERT_TRUE(boot());
    for (std::size_t i = 0; i < 2; ++i) ledger.set_initial(sandbox->board().partitions[i].label, storage_of(i));
    for (std::uint32_t n = 0; n < 16; ++n) {
        auto response = ledgered_write(n % 2, 10 + n * 3, pattern(2 * rmtfs::sector_size_bytes, static_cast<std::uint8_t>(n)));
        ASSERT_TRUE(response && *response) << "write " << n << evidence();
    }
    EXPECT_EQ(ledger.count(sim::WriteOutcome::ok), 16u);
    for (std::size_t i = 0; i < 2; ++i) {
        auto violations = ledger.check(sandbox->board().partitions[i].label, storage_of(i));
        for (const auto& v : violations) ADD_FAILURE() << v.describe();
    }
}

// The distribution's unit runs `rmtfs -r`: each file is read into memory at
// open and writes change only that copy. A modem's acknowledged writes then
// never reach storage. This is what the daemon does; the ledger must say so.
class ModemAgainstReadOnlyRmtfs : public ModemAgainstRealRmtfs {
protected:
    std::vector<std::string> extra_daemon_arguments() const override { return {"-r"}; }
};

TEST_F(ModemAgainstReadOnlyRmtfs, AcknowledgedWritesNeverReachStorageAndTheLedgerSaysSo) {
    ASSERT_TRUE(boot());
    ledger.set_initial(sandbox->board().partitions[0].label, storage_of(0));
    Bytes data = pattern(4 * rmtfs::sector_size_bytes, 0x5c);
    auto response = ledgered_write(0, 20, data);
    ASSERT_TRUE(response && *response) << evidence();
    ASSERT_TRUE(std::get<rmtfs::RwIovecResponse>(**response).result.ok()) << "the daemon acknowledged the write";
    auto read_back = std::optional<Expected<Bytes, sim::ReadFailure>>();
    modem->read(0, 20, 4, [&](const Expected<Bytes, sim::ReadFailure>& r) { read_back = r; });
    ASSERT_TRUE(run_until([&] { return read_back.has_value(); }));
    ASSERT_TRUE(*read_back) << read_back->error().detail;
    EXPECT_EQ(**read_back, data) << "the daemon's in-memory copy holds the write";
    auto violations = ledger.check(sandbox->board().partitions[0].label, storage_of(0));
    ASSERT_EQ(violations.size(), 1u) << "expected the acknowledged write to be missing from storage";
    EXPECT_EQ(violations[0].kind, sim::ViolationKind::acknowledged_write_lost);
    EXPECT_EQ(violations[0].first_sector, 20u);
    EXPECT_EQ(violations[0].sector_count, 4u);
    std::printf("[ ledger ] rmtfs -r: %s\n", violations[0].describe().c_str());
}

TEST_F(ModemAgainstRealRmtfs, AFatalModemCrashesWhenTheDaemonRestartsAndStaysDown) {
    replace_modem(small_modem(sim::ServiceLoss::fatal));
    ASSERT_TRUE(boot());
    restart_daemon();
    ASSERT_TRUE(run_until([&] { return crash_reason.has_value(); })) << "the modem did not crash" << evidence();
    EXPECT_EQ(modem->state(), sim::ModemState::crashed);
    ASSERT_TRUE(run_until([&] { return service_published(); })) << "the restarted daemon never published" << evidence();
    EXPECT_EQ(modem->state(), sim::ModemState::crashed) << "a real modem does not reopen its handles";
    EXPECT_EQ(recoveries, 0);
}

TEST_F(ModemAgainstRealRmtfs, AReopeningModemRecoversAfterARestartAndItsWritesLand) {
    replace_modem(small_modem(sim::ServiceLoss::reopen));
    ASSERT_TRUE(boot());
    restart_daemon();
    ASSERT_TRUE(run_until([&] { return recoveries == 1; })) << "the modem did not reopen" << evidence();
    EXPECT_EQ(modem->state(), sim::ModemState::running);
    for (const auto& id : modem->caller_ids()) EXPECT_TRUE(id.has_value());
    ledger.set_initial(sandbox->board().partitions[1].label, storage_of(1));
    auto response = ledgered_write(1, 40, pattern(2 * rmtfs::sector_size_bytes, 0x42));
    ASSERT_TRUE(response && *response) << evidence();
    for (const auto& v : ledger.check(sandbox->board().partitions[1].label, storage_of(1))) ADD_FAILURE() << v.describe();
    EXPECT_FALSE(crash_reason.has_value());
}

TEST_F(ModemAgainstRealRmtfs, SeveralRemoteProcessorsBootAtOnceUntilTheHandlesRunOut) {
    // Each remote processor is its own node and link. The daemon hands out at
    // most open_callers_max (10) caller ids: two modems of four partitions fit,
    // a third does not.
    struct Remote {
        std::unique_ptr<sim::FabricLink> link;
        std::unique_ptr<sim::Modem> modem;
        std::optional<sim::BootResult> result;
    };
    std::vector<Remote> remotes(3);
    for (std::size_t i = 0; i < remotes.size(); ++i) {
        sim::ModemConfig config = small_modem(sim::ServiceLoss::fatal);
        config.node = 10 + static_cast<std::uint32_t>(i);
        remotes[i].link = std::make_unique<sim::FabricLink>(io, sandbox->fabric(), "remote" + std::to_string(i));
        remotes[i].modem = std::make_unique<sim::Modem>(io, *remotes[i].link, sandbox->shared_memory(), config);
    }
    for (std::size_t i = 0; i < 2; ++i)
        remotes[i].modem->boot([&remotes, i](const sim::BootResult& r) { remotes[i].result = r; });
    ASSERT_TRUE(run_until([&] { return remotes[0].result && remotes[1].result; })) << evidence();
    ASSERT_TRUE(remotes[0].result->ok) << remotes[0].result->reason;
    ASSERT_TRUE(remotes[1].result->ok) << remotes[1].result->reason;
    std::set<std::uint32_t> ids;
    for (std::size_t i = 0; i < 2; ++i)
        for (const auto& id : remotes[i].modem->caller_ids()) ids.insert(id.value());
    EXPECT_EQ(ids.size(), 8u) << "each node's opens get their own caller ids";

    remotes[2].modem->boot([&remotes](const sim::BootResult& r) { remotes[2].result = r; });
    ASSERT_TRUE(run_until([&] { return remotes[2].result.has_value(); })) << evidence();
    EXPECT_FALSE(remotes[2].result->ok) << "an eleventh handle was granted";
    EXPECT_NE(remotes[2].result->reason.find("OPEN /boot/modem_fsg refused"), std::string::npos)
        << "the third modem's third open is the eleventh handle: " << remotes[2].result->reason;
    for (auto& remote : remotes) remote.modem.reset();
}

TEST_F(ModemAgainstRealRmtfs, PeriodicSyncsWriteFs1AndFs2InTurnAndAllLand) {
    sim::ModemConfig config = small_modem(sim::ServiceLoss::fatal);
    config.sync_interval = 10ms;
    config.sync_sectors = 16;
    config.sync_first_sector = 64;
    replace_modem(config);
    for (std::size_t i = 0; i < 2; ++i) ledger.set_initial(config.partitions[i], storage_of(i));
    modem->attach_ledger(ledger);
    ASSERT_TRUE(boot());
    ASSERT_TRUE(run_until([&] { return modem->syncs_completed() >= 6; })) << "syncs stalled" << evidence();
    modem->shutdown();  // stop syncing before judging storage
    io.poll();
    EXPECT_EQ(ledger.count(sim::WriteOutcome::failed), 0u);
    EXPECT_GE(ledger.count(sim::WriteOutcome::ok), 6u);
    for (std::size_t i = 0; i < 2; ++i)
        for (const auto& v : ledger.check(config.partitions[i], storage_of(i))) ADD_FAILURE() << v.describe();
    const Bytes fs1_image = pattern(image_sectors * rmtfs::sector_size_bytes, 1);
    const auto synced_at = fs1_image.begin() + 64 * rmtfs::sector_size_bytes;
    EXPECT_NE(file_bytes(sandbox->world().storage_dir() / "modem_fs1", 64 * rmtfs::sector_size_bytes, 16),
              Bytes(synced_at, synced_at + 16))
        << "fs1 was never synced";
}

// ---- transport faults on the modem's link ------------------------------------------------

TEST_F(ModemAgainstRealRmtfs, ALostRequestTimesOutAndItsWriteIsUnknownNotLost) {
    sim::ModemConfig config = small_modem(sim::ServiceLoss::ignore);
    config.request_timeout = 300ms;
    replace_modem(config);
    ledger.set_initial(config.partitions[0], storage_of(0));
    modem->attach_ledger(ledger);
    ASSERT_TRUE(boot());
    link->add_fault(sim::FabricLink::Direction::to_fabric, sim::drop_fault(1.0, 7));
    std::optional<sim::Response> response;
    modem->write(0, 30, pattern(2 * rmtfs::sector_size_bytes, 0xd1), [&](const sim::Response& r) { response = r; });
    ASSERT_TRUE(run_until([&] { return response.has_value(); })) << evidence();
    ASSERT_FALSE(*response);
    EXPECT_EQ(response->error().kind, sim::RequestFailure::Kind::timeout);
    EXPECT_EQ(ledger.count(sim::WriteOutcome::unknown), 1u);
    link->clear_faults();
    modem->write(0, 40, pattern(2 * rmtfs::sector_size_bytes, 0xd2), [&](const sim::Response& r) { response = r; });
    response.reset();
    ASSERT_TRUE(run_until([&] { return response.has_value(); })) << evidence();
    EXPECT_TRUE(*response) << "the link works again once the fault is gone";
    for (const auto& v : ledger.check(config.partitions[0], storage_of(0))) ADD_FAILURE() << v.describe();
}

TEST_F(ModemAgainstRealRmtfs, ADuplicatedWriteIsExecutedTwiceAnsweredOnceAndLands) {
    // The daemon executes both copies of a duplicated RW_IOVEC, from the
    // shared buffer as it is at that moment. The modem therefore waits for the
    // second answer (which its client ignores) before reusing the buffer;
    // otherwise the replay would store the next write's data in this one's
    // sectors — a hazard of the protocol, not of either side.
    sim::ModemConfig config = small_modem(sim::ServiceLoss::ignore);
    replace_modem(config);
    ledger.set_initial(config.partitions[1], storage_of(1));
    modem->attach_ledger(ledger);
    ASSERT_TRUE(boot());
    auto answers_to_modem = [&] {
        return std::count_if(trace.begin(), trace.end(), [](const std::string& t) {
            return t.rfind("link_tx modem DATA 1:14 -> 0:77", 0) == 0;
        });
    };
    link->add_fault(sim::FabricLink::Direction::to_fabric, sim::duplicate_fault(1.0, 7));
    for (std::uint32_t n = 0; n < 3; ++n) {
        const auto answers_before = answers_to_modem();
        std::optional<sim::Response> response;
        modem->write(1, 50 + 4 * n, pattern(2 * rmtfs::sector_size_bytes, static_cast<std::uint8_t>(0xe0 + n)),
                     [&](const sim::Response& r) { response = r; });
        ASSERT_TRUE(run_until([&] { return response.has_value() && answers_to_modem() == answers_before + 2; }))
            << "expected two answers to one duplicated write" << evidence();
        ASSERT_TRUE(*response) << response->error().detail << evidence();
    }
    EXPECT_EQ(ledger.count(sim::WriteOutcome::ok), 3u);
    for (const auto& v : ledger.check(config.partitions[1], storage_of(1))) ADD_FAILURE() << v.describe();
}

TEST_F(ModemAgainstRealRmtfs, DelayedAnswersStillArrive) {
    sim::ModemConfig config = small_modem(sim::ServiceLoss::ignore);
    replace_modem(config);
    ASSERT_TRUE(boot());
    link->add_fault(sim::FabricLink::Direction::to_remote, sim::delay_fault(io, 30ms));
    std::optional<sim::Response> response;
    modem->write(0, 60, pattern(rmtfs::sector_size_bytes, 0xf0), [&](const sim::Response& r) { response = r; });
    ASSERT_TRUE(run_until([&] { return response.has_value(); })) << evidence();
    EXPECT_TRUE(*response) << response->error().detail;
}

// ---- who starts the modem: the coupling policies, cold boot and crashes ----------------

class Coupled : public ModemAgainstRealRmtfs {
protected:
    void couple(sim::CouplingPolicy policy, bool recovery = true) {
        replace_modem(small_modem(sim::ServiceLoss::fatal));
        sandbox->modem().watch([this](const sim::Remoteproc&, const sim::Remoteproc::Change& c) {
            remoteproc_log.push_back(std::string(c.command) + " -> " + std::string(sim::to_string(c.after)));
        });
        coupling = std::make_unique<sim::ModemCoupling>(
            policy, sandbox->modem(), sandbox->fabric().name_service(),
            sim::ModemCoupling::Actions{[this] {
                                            link->bring_up();
                                            modem->boot([this](const sim::BootResult& r) { boots.push_back(r); });
                                        },
                                        [this] {
                                            link->bring_down();
                                            modem->shutdown();
                                        }},
            recovery);
    }
    std::string history() const {
        std::string text = "\nremoteproc: ";
        for (const auto& l : remoteproc_log) text += "[" + l + "] ";
        return text + evidence();
    }
    std::unique_ptr<sim::ModemCoupling> coupling;
    std::vector<sim::BootResult> boots;
    std::vector<std::string> remoteproc_log;
};

class CoupledBySysfs : public Coupled {
protected:
    std::vector<std::string> extra_daemon_arguments() const override { return {"-s"}; }
};

TEST_F(CoupledBySysfs, RmtfsDashSBootsTheModemAndItsSigtermStopsIt) {
    couple(sim::CouplingPolicy::rmtfs_sysfs);
    ASSERT_TRUE(run_until([&] { return modem->state() == sim::ModemState::running; })) << "cold boot failed" << history();
    ASSERT_EQ(boots.size(), 1u);
    EXPECT_TRUE(boots[0].ok) << boots[0].reason;
    ASSERT_TRUE(daemon->signal(SIGTERM));
    ASSERT_TRUE(run_until([&] { return ended.has_value(); })) << history();
    EXPECT_EQ(*ended, server::ProcessExit::exited(0));
    EXPECT_EQ(modem->state(), sim::ModemState::offline) << "rmtfs -s stops the modem on SIGTERM" << history();
    EXPECT_FALSE(link->up());
}

TEST_F(Coupled, ServiceWatchBootsWithTheServiceAndStopsWhenItGoes) {
    couple(sim::CouplingPolicy::service_watch);
    ASSERT_TRUE(run_until([&] { return modem->state() == sim::ModemState::running; })) << "cold boot failed" << history();
    EXPECT_EQ(sandbox->modem().state(), sim::RemoteprocState::running);
    ASSERT_TRUE(daemon->kill());
    ASSERT_TRUE(run_until([&] { return modem->state() == sim::ModemState::offline; }))
        << "the modem kept running without the service" << history();
    EXPECT_EQ(sandbox->modem().state(), sim::RemoteprocState::offline);
}

TEST_F(Coupled, ManualLeavesTheModemAloneUntilTheScenarioBootsIt) {
    couple(sim::CouplingPolicy::manual);
    ASSERT_TRUE(run_until([&] { return service_published(); })) << history();
    io.poll();
    EXPECT_EQ(modem->state(), sim::ModemState::offline);
    EXPECT_TRUE(boots.empty());
    ASSERT_TRUE(boot());
}

TEST_F(Coupled, ACrashedModemIsRecoveredByTheSubsystemRestart) {
    couple(sim::CouplingPolicy::manual);
    replace_modem(small_modem(sim::ServiceLoss::fatal));
    sandbox->modem().set_state(sim::RemoteprocState::running, "powered by the test");
    ASSERT_TRUE(boot());
    restart_daemon();
    ASSERT_TRUE(run_until([&] { return crash_reason.has_value(); })) << history();
    coupling->modem_crashed(*crash_reason);
    ASSERT_TRUE(run_until([&] { return modem->state() == sim::ModemState::running; }))
        << "recovery did not bring the modem back against the new daemon" << history();
    ASSERT_GE(remoteproc_log.size(), 2u);
    EXPECT_EQ(remoteproc_log[remoteproc_log.size() - 2].substr(0, 13), "modem crashed") << history();
    EXPECT_EQ(remoteproc_log.back(), "recovery -> running");
}

}  // namespace
}  // namespace rmtfs_hil
