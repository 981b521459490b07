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
// against the ledger at the end; the whole trace is kept in a vector. Peak is
// VmHWM (the resident high-water mark) from /proc/self/status; the daemon's
// own VmHWM is read from /proc/<pid>/status before it is stopped.
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "proto/rmtfs.hpp"
#include "server/process.hpp"
#include "server/sandbox.hpp"
#include "sim/modem.hpp"
#include "sim/qrtr_endpoint.hpp"
#include "sim/write_ledger.hpp"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int writes_min = 1;
constexpr int writes_max = 10000;
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

std::optional<long> parse_number(const char* text) {
    errno = 0;
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') return std::nullopt;
    return value;
}

std::string json_escaped(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        if (static_cast<unsigned char>(c) < 0x20) {
            char code[8];
            std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
            out += code;
        } else {
            out += c;
        }
    }
    return out;
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
    std::string rmtfs_binary = "/usr/bin/rmtfs";
    int writes = 200;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--rmtfs" && i + 1 < argc) rmtfs_binary = argv[++i];
        else if (arg == "--writes" && i + 1 < argc) {
            auto n = parse_number(argv[++i]);
            writes = n && *n >= writes_min && *n <= writes_max ? static_cast<int>(*n) : -1;
        } else if (arg == "--help" || arg == "-h") {
            std::printf("usage: %s [--rmtfs PATH] [--writes N]\n"
                        "  Peak memory (VmHWM) of the harness over a boot with full SDM845 images\n"
                        "  and N ledgered writes against the real rmtfs, against its own VmHWM at start.\n"
                        "  --rmtfs PATH   the daemon (default /usr/bin/rmtfs)\n"
                        "  --writes N     8-sector writes, each read back (default 200, %d..%d)\n",
                        argv[0], writes_min, writes_max);
            return 0;
        } else {
            std::fprintf(stderr, "usage: %s [--rmtfs PATH] [--writes N]\n", argv[0]);
            return 2;
        }
    }
    if (writes < writes_min) {
        std::fprintf(stderr, "harness_memory: need %d <= --writes <= %d\n", writes_min, writes_max);
        return 2;
    }
    if (!fs::exists(rmtfs_binary)) {
        std::fprintf(stderr, "harness_memory: %s not found (ci/setup.sh installs Debian's rmtfs)\n",
                     rmtfs_binary.c_str());
        return 3;
    }
    if (!floor_kib) {
        std::fprintf(stderr, "harness_memory: no VmHWM in /proc/self/status\n");
        return 1;
    }

    boost::asio::io_context io;
    std::vector<std::string> trace;  // before the sandbox: it traces until it goes
    auto sandbox = server::Sandbox::create(io, {});
    if (!sandbox) {
        std::fprintf(stderr, "harness_memory: %s\n", sandbox.error().message.c_str());
        return 1;
    }
    (*sandbox)->fabric().set_trace([&](const sim::TraceEvent& e) { trace.push_back(e.kind + " " + e.detail); });
    server::ProcessEvents events;
    std::size_t daemon_lines = 0;
    events.output = [&](const server::OutputLine& line) {
        ++daemon_lines;
        trace.push_back("rmtfs: " + line.text);
    };
    server::SupervisedProcess daemon(
        io, (*sandbox)->launch({rmtfs_binary, "-v", "-o", (*sandbox)->world().storage_dir().string()}), events);
    if (auto started = daemon.start(); !started) {
        std::fprintf(stderr, "harness_memory: %s\n", started.error().message.c_str());
        return 1;
    }
    sim::FabricLink link(io, (*sandbox)->fabric(), "modem");
    auto fail = [&](const std::string& why) {
        std::fprintf(stderr, "harness_memory: %s\n", why.c_str());
        std::size_t from = trace.size() > 200 ? trace.size() - 200 : 0;  // the end is what matters
        for (std::size_t i = from; i < trace.size(); ++i) std::fprintf(stderr, "  trace: %s\n", trace[i].c_str());
        std::fprintf(stderr, "  daemon: %s\n", std::string(server::to_string(daemon.state())).c_str());
        return 1;
    };
    auto run_until = [&](const std::function<bool()>& done, std::chrono::milliseconds limit) {
        for (auto deadline = Clock::now() + limit; !done();) {
            if (Clock::now() >= deadline) return false;
            io.run_one_for(10ms);
        }
        return true;
    };

    sim::ModemConfig config;  // the realistic default: whole 2 MiB images, 64-sector transfers
    config.node = (*sandbox)->board().modem_node;
    sim::Modem modem(io, link, (*sandbox)->shared_memory(), config, {},
                     [&](const sim::TraceEvent& e) { trace.push_back(e.kind + " " + e.detail); });
    std::optional<sim::BootResult> booted;
    modem.boot([&](const sim::BootResult& r) { booted = r; });
    if (!run_until([&] { return booted.has_value(); }, boot_deadline) || !booted->ok)
        return fail("boot failed: " + (booted ? booted->reason : std::string("timed out")));

    // The ledger, keyed as the modem keys its writes (the partition's path),
    // starts from what storage holds after the boot.
    const fs::path storage = (*sandbox)->world().storage_dir();
    auto storage_of = [&](const std::string& partition) { return storage / fs::path(partition).filename(); };
    sim::WriteLedger ledger;
    for (std::size_t i = 0; i < config.partitions.size(); ++i) {
        Bytes image = file_bytes(storage_of(config.partitions[i]));
        if (modem.images()[i] != Bytes(image.begin(), image.begin() + static_cast<std::ptrdiff_t>(
                                                                           std::min(image.size(), modem.images()[i].size()))))
            return fail("the image " + config.partitions[i] + " loaded at boot differs from its storage file");
        ledger.set_initial(config.partitions[i], image);
    }
    modem.attach_ledger(ledger);

    const std::uint32_t last_start = config.image_sectors - write_sectors;
    auto index_of = [](int n) { return static_cast<std::size_t>(n % 2); };  // fs1, fs2 in turn
    auto sector_of = [&](int n) { return static_cast<std::uint32_t>(n) * 97u % last_start; };
    for (int n = 0; n < writes; ++n) {
        std::optional<sim::Response> response;
        modem.write(index_of(n), sector_of(n), write_data(n), [&](const sim::Response& r) { response = r; });
        if (!run_until([&] { return response.has_value(); }, request_deadline))
            return fail("write " + std::to_string(n) + " got no answer");
        const auto* rw = *response ? std::get_if<rmtfs::RwIovecResponse>(&**response) : nullptr;
        if (rw == nullptr || !rw->result.ok())
            return fail("write " + std::to_string(n) + " failed: " +
                        (*response ? rmtfs::summary(**response) : response->error().detail));
    }
    std::size_t violations = 0;
    for (int n = 0; n < writes; ++n) {
        std::optional<Expected<Bytes, std::string>> read;
        modem.read(index_of(n), sector_of(n), write_sectors, [&](const Expected<Bytes, std::string>& r) { read = r; });
        if (!run_until([&] { return read.has_value(); }, request_deadline))
            return fail("read " + std::to_string(n) + " got no answer");
        if (!*read) return fail("read " + std::to_string(n) + " failed: " + read->error());
        if (auto v = ledger.read_returned(config.partitions[index_of(n)], sector_of(n), **read)) {
            std::fprintf(stderr, "harness_memory: %s\n", v->describe().c_str());
            ++violations;
        }
    }
    for (const auto& partition : config.partitions)
        for (const auto& v : ledger.check(partition, file_bytes(storage_of(partition)))) {
            std::fprintf(stderr, "harness_memory: %s\n", v.describe().c_str());
            ++violations;
        }
    if (violations > 0) return fail(std::to_string(violations) + " ledger violations");

    std::optional<long> daemon_kib;
    if (auto pid = daemon.pid()) daemon_kib = vm_hwm_kib("/proc/" + std::to_string(*pid) + "/status");
    if (daemon.state() != server::SupervisedProcess::State::running) return fail("the daemon did not stay up");
    const std::optional<long> peak_kib = vm_hwm_kib("/proc/self/status");
    if (!peak_kib) return fail("no VmHWM in /proc/self/status");

    std::printf(
        "{\"benchmark\": \"harness_memory\", \"rmtfs\": \"%s\", \"board\": \"%s\", \"partitions\": %zu, "
        "\"image_bytes\": %u, \"writes\": %d, \"writes_ok\": %zu, \"trace_events\": %zu, \"daemon_output_lines\": %zu, "
        "\"floor_vmhwm_kib\": %ld, \"peak_vmhwm_kib\": %ld, \"growth_kib\": %ld, \"peak_ratio\": %.2f, "
        "\"daemon_vmhwm_kib\": %s}\n",
        json_escaped(rmtfs_binary).c_str(), json_escaped((*sandbox)->board().name).c_str(), config.partitions.size(),
        config.image_sectors * static_cast<unsigned>(rmtfs::sector_size_bytes), writes,
        ledger.count(sim::WriteOutcome::ok), trace.size(), daemon_lines, *floor_kib, *peak_kib, *peak_kib - *floor_kib,
        static_cast<double>(*peak_kib) / static_cast<double>(*floor_kib),
        daemon_kib ? std::to_string(*daemon_kib).c_str() : "null");
    return 0;
}
