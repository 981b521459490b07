// Benchmark: reading a whole 2 MiB EFS image through the real rmtfs — the
// simulated modem's boot load: RW_IOVEC requests over QRTR, the daemon
// preading storage and pwriting the shared memory — against the floor of
// the same bytes moved in one process with plain 512-byte pread/pwrite,
// measured in the same run. Prints one JSON object.
//
//   image_read [--rmtfs PATH] [--runs N] [--transfer-sectors N]
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "proto/rmtfs.hpp"
#include "sim/modem.hpp"

namespace {

namespace fs = std::filesystem;
namespace bench = rmtfs_hil::bench;
using bench::Clock;
using namespace std::chrono_literals;

constexpr const char* program = "image_read";
constexpr std::uint32_t image_sectors = 4096;  // 2 MiB
constexpr auto run_deadline = 60s;

// The floor: the same 4096 sectors, storage file -> shared memory file, one
// 512-byte pread and pwrite each, as the daemon itself would do them.
double plain_copy_ms(const fs::path& from, const fs::path& to) {
    int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    int out = ::open(to.c_str(), O_WRONLY | O_CLOEXEC);
    if (in < 0 || out < 0) bench::die(program, "open");
    char sector[rmtfs_hil::rmtfs::sector_size_bytes];
    auto start = Clock::now();
    for (std::uint32_t i = 0; i < image_sectors; ++i) {
        off_t at = static_cast<off_t>(i) * static_cast<off_t>(sizeof sector);
        if (::pread(in, sector, sizeof sector, at) != static_cast<ssize_t>(sizeof sector) ||
            ::pwrite(out, sector, sizeof sector, at) != static_cast<ssize_t>(sizeof sector))
            bench::die(program, "copy");
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    ::close(in);
    ::close(out);
    return ms;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace rmtfs_hil;
    bench::NumberOption runs_option{"--runs", "boots timed, each by a fresh modem node", 1, 9, 5};
    bench::NumberOption transfer_option{"--transfer-sectors", "sectors per RW_IOVEC request", 1, 2048, 64};
    bench::CommandLine command{program,
                               "  A whole 2 MiB EFS image read by the booting modem through the real rmtfs\n"
                               "  against plain 512-byte pread/pwrite of the same bytes.\n",
                               {&runs_option, &transfer_option}};
    if (auto status = command.parse(argc, argv)) return *status;
    const int runs = static_cast<int>(runs_option.value);
    const auto transfer_sectors = static_cast<std::uint32_t>(transfer_option.value);

    boost::asio::io_context io;
    bench::DaemonRun run(io, program);
    if (!run.start(command.rmtfs)) return 1;
    std::vector<double> through_rmtfs, plain;
    for (int n = 0; n < runs; ++n) {
        sim::ModemConfig config;
        config.partitions = {"/boot/modem_fs1"};
        config.image_sectors = image_sectors;
        config.transfer_sectors = transfer_sectors;
        config.buffer_bytes = transfer_sectors * static_cast<std::uint32_t>(rmtfs::sector_size_bytes);
        // A fresh remote node each run (never the local node 1); the daemon keeps
        // at most 10 handles, so --runs stops at 9.
        config.node = 100 + static_cast<std::uint32_t>(n);
        sim::Modem modem(io, run.link(), run.sandbox().shared_memory(), config);
        std::optional<sim::BootResult> result;
        Clock::time_point loading_started{};
        modem.boot([&](const sim::BootResult& r) { result = r; });
        // Timed from the first turn that finds the modem loading: the image,
        // not the handshake before it.
        bool ended = run.run_until(
            [&] {
                if (modem.state() == sim::ModemState::loading && loading_started == Clock::time_point{})
                    loading_started = Clock::now();
                return result.has_value();
            },
            run_deadline);
        if (!ended || !result->ok)
            return run.fail("boot failed: " + (result ? result->reason : std::string("timed out")));
        through_rmtfs.push_back(std::chrono::duration<double, std::milli>(Clock::now() - loading_started).count());
        plain.push_back(plain_copy_ms(run.sandbox().world().storage_dir() / "modem_fs1",
                                      run.sandbox().world().shared_memory_file()));
    }
    double rmtfs_ms = bench::summarise(through_rmtfs).median, plain_ms = bench::summarise(plain).median;
    std::printf(
        "{\"benchmark\": \"image_read\", \"image_bytes\": %u, \"transfer_sectors\": %u, \"runs\": %d, "
        "\"plain_pread_pwrite_median_ms\": %.2f, \"through_rmtfs_median_ms\": %.2f, \"median_ratio\": %.2f}\n",
        image_sectors * static_cast<unsigned>(rmtfs::sector_size_bytes), transfer_sectors, runs, plain_ms, rmtfs_ms,
        rmtfs_ms / plain_ms);
    return 0;
}
