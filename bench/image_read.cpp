// Benchmark: reading a whole 2 MiB EFS image through the real rmtfs — the
// simulated modem's boot load: RW_IOVEC requests over QRTR, the daemon
// preading storage and pwriting the shared memory — against the floor of
// the same bytes moved in one process with plain 512-byte pread/pwrite,
// measured in the same run. Prints one JSON object.
//
//   image_read [--rmtfs PATH] [--runs N] [--transfer-sectors N]
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "proto/rmtfs.hpp"
#include "server/process.hpp"
#include "server/sandbox.hpp"
#include "sim/modem.hpp"
#include "sim/qrtr_endpoint.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::uint32_t image_sectors = 4096;  // 2 MiB
constexpr auto run_deadline = 60s;

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// The floor: the same 4096 sectors, storage file -> shared memory file, one
// 512-byte pread and pwrite each, as the daemon itself would do them.
double plain_copy_ms(const fs::path& from, const fs::path& to) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(to.c_str(), O_WRONLY | O_CLOEXEC);
    if (in < 0 || out < 0) {
        std::perror("image_read: open");
        std::exit(1);
    }
    char sector[rmtfs_hil::rmtfs::sector_size_bytes];
    auto start = Clock::now();
    for (std::uint32_t i = 0; i < image_sectors; ++i) {
        off_t at = static_cast<off_t>(i) * static_cast<off_t>(sizeof sector);
        if (::pread(in, sector, sizeof sector, at) != static_cast<ssize_t>(sizeof sector) ||
            ::pwrite(out, sector, sizeof sector, at) != static_cast<ssize_t>(sizeof sector)) {
            std::perror("image_read: copy");
            std::exit(1);
        }
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    ::close(in);
    ::close(out);
    return ms;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace rmtfs_hil;
    std::string rmtfs_binary = "/usr/bin/rmtfs";
    int runs = 5;
    std::uint32_t transfer_sectors = 64;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--rmtfs" && i + 1 < argc) rmtfs_binary = argv[++i];
        else if (arg == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
        else if (arg == "--transfer-sectors" && i + 1 < argc) transfer_sectors = static_cast<std::uint32_t>(std::atoi(argv[++i]));
        else {
            std::fprintf(stderr, "usage: %s [--rmtfs PATH] [--runs N] [--transfer-sectors N]\n", argv[0]);
            return 2;
        }
    }
    if (runs < 1 || runs > 9 || transfer_sectors < 1 || transfer_sectors > 2048) {
        std::fprintf(stderr, "image_read: need 1 <= --runs <= 9 and 1 <= --transfer-sectors <= 2048\n");
        return 2;
    }
    if (!fs::exists(rmtfs_binary)) {
        std::fprintf(stderr, "image_read: %s not found (ci/setup.sh installs Debian's rmtfs)\n", rmtfs_binary.c_str());
        return 1;
    }

    boost::asio::io_context io;
    std::vector<std::string> trace;          // before the sandbox: it traces until it goes
    std::vector<std::string> daemon_output;
    auto sandbox = server::Sandbox::create(io, {});
    if (!sandbox) {
        std::fprintf(stderr, "image_read: %s\n", sandbox.error().message.c_str());
        return 1;
    }
    server::ProcessEvents events;
    events.output = [&](const server::OutputLine& line) { daemon_output.push_back(line.text); };
    server::SupervisedProcess daemon(io, (*sandbox)->launch({rmtfs_binary, "-o", (*sandbox)->world().storage_dir().string()}),
                                     events);
    if (auto started = daemon.start(); !started) {
        std::fprintf(stderr, "image_read: %s\n", started.error().message.c_str());
        return 1;
    }
    (*sandbox)->fabric().set_trace([&](const sim::TraceEvent& e) { trace.push_back(e.kind + " " + e.detail); });
    sim::FabricLink link(io, (*sandbox)->fabric(), "modem");
    std::vector<double> through_rmtfs, plain;
    for (int run = 0; run < runs; ++run) {
        sim::ModemConfig config;
        config.partitions = {"/boot/modem_fs1"};
        config.image_sectors = image_sectors;
        config.transfer_sectors = transfer_sectors;
        config.buffer_bytes = transfer_sectors * static_cast<std::uint32_t>(rmtfs::sector_size_bytes);
        // A fresh remote node each run (never the local node 1); the daemon keeps
        // at most 10 handles, so runs are capped below.
        config.node = 100 + static_cast<std::uint32_t>(run);
        sim::Modem modem(io, link, (*sandbox)->shared_memory(), config);
        std::optional<sim::BootResult> result;
        Clock::time_point loading_started{};
        modem.boot([&](const sim::BootResult& r) { result = r; });
        auto deadline = Clock::now() + run_deadline;
        while (!result && Clock::now() < deadline) {
            if (modem.state() == sim::ModemState::loading && loading_started == Clock::time_point{})
                loading_started = Clock::now();
            io.run_one_for(10ms);
        }
        if (!result || !result->ok) {
            std::fprintf(stderr, "image_read: boot failed: %s\n", result ? result->reason.c_str() : "timed out");
            for (const auto& line : daemon_output) std::fprintf(stderr, "  rmtfs: %s\n", line.c_str());
            for (const auto& line : trace) std::fprintf(stderr, "  trace: %s\n", line.c_str());
            std::fprintf(stderr, "  daemon: %s\n", std::string(server::to_string(daemon.state())).c_str());
            return 1;
        }
        through_rmtfs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - loading_started).count());
        plain.push_back(plain_copy_ms((*sandbox)->world().storage_dir() / "modem_fs1",
                                      (*sandbox)->world().shared_memory_file()));
    }
    double rmtfs_ms = median(through_rmtfs), plain_ms = median(plain);
    std::printf(
        "{\"benchmark\": \"image_read\", \"image_bytes\": %u, \"transfer_sectors\": %u, \"runs\": %d, "
        "\"plain_pread_pwrite_median_ms\": %.2f, \"through_rmtfs_median_ms\": %.2f, \"median_ratio\": %.2f}\n",
        image_sectors * static_cast<unsigned>(rmtfs::sector_size_bytes), transfer_sectors, runs, plain_ms, rmtfs_ms,
        rmtfs_ms / plain_ms);
    return 0;
}
