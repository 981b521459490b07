// Benchmark: the harness's peak memory over a representative run against the
// real rmtfs, against the floor of this same process before the harness did
// anything, measured in the same run. Prints one JSON object.
//
//   harness_memory [--rmtfs PATH] [--writes N]
//
// The run: a sandbox for the SDM845 board, the daemon (verbose, its output
// kept, as the integration tests run it), one modem booting with the full
// default images (every partition, 2 MiB each, through the shared buffer),
// then N 8-sector writes to fs1 and fs2 recorded in a WriteLedger, each read
// back through the daemon and checked, and all four storage files checked
// against the ledger at the end; the whole trace and the daemon's output are
// kept in memory. Peak is VmHWM (the resident high-water mark) from
// /proc/self/status; the daemon's own VmHWM is read from /proc/<pid>/status
// before it is stopped.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "bench/bench_support.hpp"
#include "proto/rmtfs.hpp"
#include "server/process.hpp"
#include "sim/modem.hpp"
#include "sim/write_ledger.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* program = "harness_memory";
constexpr std::uint32_t write_sectors = 8;
constexpr auto boot_deadline = 60s;
constexpr auto request_deadline = 5s;

// The VmHWM line of a /proc/<pid>/status, in KiB.
std::optional<long> vm_hwm_kib(const std::string& status_path) {
    std::ifstream in(status_path);
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    return std::nullopt;
}

rmtfs_hil::Bytes file_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return rmtfs_hil::Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Write `n`'s data: distinct per write, so a misplaced write shows.
rmtfs_hil::Bytes write_data(int n) {
    rmtfs_hil::Bytes bytes(write_sectors * rmtfs_hil::rmtfs::sector_size_bytes);
    for (std::size_t i = 0; i < bytes.size(); ++i)
        bytes[i] = static_cast<std::uint8_t>((i * 131 + static_cast<std::size_t>(n) * 7 + 1) ^ (i >> 8));
    return bytes;
}

}  // namespace

int main(int argc, char** argv) {
    // The floor: this process before the harness exists.
    const std::optional<long> floor_kib = vm_hwm_kib("/proc/self/status");

    using namespace rmtfs_hil;
    bench::NumberOption writes_option{"--writes", "8-sector writes, each read back", 1, 10000, 200};
    bench::CommandLine command{program,
                               "  Peak memory (VmHWM) of the harness over a boot with full SDM845 images\n"
                               "  and N ledgered writes against the real rmtfs, against its own VmHWM at start.\n",
                               {&writes_option}};
    if (auto status = command.parse(argc, argv)) return *status;
    const int writes = static_cast<int>(writes_option.value);
    if (!floor_kib) {
        std::fprintf(stderr, "%s: no VmHWM in /proc/self/status\n", program);
        return 1;
    }

    // The daemon verbose, as the integration tests run it: its output is part
    // of what the harness keeps.
    boost::asio::io_context io;
    bench::DaemonRun run(io, program);
    if (!run.start(command.rmtfs, {"-v"})) return 1;

    sim::ModemConfig config;  // the realistic default: whole 2 MiB images, 64-sector transfers
    config.node = run.sandbox().board().modem_node;
    sim::Modem modem(io, run.link(), run.sandbox().shared_memory(), config, {}, run.trace_sink());
    if (auto failed = run.boot(modem, boot_deadline)) return run.fail(*failed);

    // The ledger, keyed as the modem keys its writes (the partition's path),
    // starts from what storage holds after the boot.
    const fs::path storage = run.sandbox().world().storage_dir();
    auto storage_of = [&](const std::string& partition) { return storage / fs::path(partition).filename(); };
    sim::WriteLedger ledger;
    for (std::size_t i = 0; i < config.partitions.size(); ++i) {
        Bytes image = file_bytes(storage_of(config.partitions[i]));
        if (modem.images()[i] != Bytes(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(
                                                                           std::min(image.size(), modem.images()[i].size()))))
            return run.fail("the image " + config.partitions[i] + " loaded at boot differs from its storage file");
        ledger.set_initial(config.partitions[i], image);
    }
    modem.attach_ledger(ledger);

    const std::uint32_t last_start = config.image_sectors - write_sectors;
    auto index_of = [](int n) { return static_cast<std::size_t>(n % 2); };  // fs1, fs2 in turn
    auto sector_of = [&](int n) { return static_cast<std::uint32_t>(n) * 97u % last_start; };
    for (int n = 0; n < writes; ++n) {
        std::optional<sim::Response> response;
        modem.write(index_of(n), sector_of(n), write_data(n), [&](const sim::Response& r) { response = r; });
        if (!run.run_until([&] { return response.has_value(); }, request_deadline))
            return run.fail("write " + std::to_string(n) + " got no answer");
        const auto* rw = *response ? std::get_if<rmtfs::RwIovecResponse>(&**response) : nullptr;
        if (rw == nullptr || !rw->result.ok())
            return run.fail("write " + std::to_string(n) + " failed: " +
                            (*response ? rmtfs::summary(**response) : response->error().detail));
    }
    std::size_t violations = 0;
    for (int n = 0; n < writes; ++n) {
        std::optional<Expected<Bytes, sim::ReadFailure>> read;
        modem.read(index_of(n), sector_of(n), write_sectors, [&](const Expected<Bytes, sim::ReadFailure>& r) { read = r; });
        if (!run.run_until([&] { return read.has_value(); }, request_deadline))
            return run.fail("read " + std::to_string(n) + " got no answer");
        if (!*read) return run.fail("read " + std::to_string(n) + " failed: " + read->error().detail);
        if (auto v = ledger.read_returned(config.partitions[index_of(n)], sector_of(n), **read)) {
            std::fprintf(stderr, "%s: %s\n", program, v->describe().c_str());
            ++violations;
        }
    }
    for (const auto& partition : config.partitions)
        for (const auto& v : ledger.check(partition, file_bytes(storage_of(partition)))) {
            std::fprintf(stderr, "%s: %s\n", program, v.describe().c_str());
            ++violations;
        }
    if (violations > 0) return run.fail(std::to_string(violations) + " ledger violations");

    std::optional<long> daemon_kib;
    if (auto pid = run.daemon().pid()) daemon_kib = vm_hwm_kib("/proc/" + std::to_string(*pid) + "/status");
    if (run.daemon().state() != server::SupervisedProcess::State::running)
        return run.fail("the daemon did not stay up");
    const std::optional<long> peak_kib = vm_hwm_kib("/proc/self/status");
    if (!peak_kib) return run.fail("no VmHWM in /proc/self/status");
    // The daemon's lines count as trace events: the run keeps them beside the
    // fabric's and the modem's.
    const std::size_t trace_events = run.trace().size() + run.daemon_output().size();

    std::printf(
        "{\"benchmark\": \"harness_memory\", \"rmtfs\": \"%s\", \"board\": \"%s\", \"partitions\": %zu, "
        "\"image_bytes\": %u, \"writes\": %d, \"writes_ok\": %zu, \"trace_events\": %zu, \"daemon_output_lines\": %zu, "
        "\"floor_vmhwm_kib\": %ld, \"peak_vmhwm_kib\": %ld, \"growth_kib\": %ld, \"peak_ratio\": %.2f, "
        "\"daemon_vmhwm_kib\": %s}\n",
        bench::json_escaped(command.rmtfs).c_str(), bench::json_escaped(run.sandbox().board().name).c_str(),
        config.partitions.size(), config.image_sectors * static_cast<unsigned>(rmtfs::sector_size_bytes), writes,
        ledger.count(sim::WriteOutcome::ok), trace_events, run.daemon_output().size(), *floor_kib, *peak_kib,
        *peak_kib - *floor_kib, static_cast<double>(*peak_kib) / static_cast<double>(*floor_kib),
        daemon_kib ? std::to_string(*daemon_kib).c_str() : "null");
    return 0;
}
