// Benchmark: a datagram round trip between two emulated AF_QIPCRTR sockets
// through the fabric, against the floor of a plain UNIX-socket ping-pong
// measured in the same run, by the same process, with the same message size.
//
//   fabric_roundtrip [--iterations N] [--bytes N] [--shim PATH]
//
// The harness side (fabric + shim server) runs on its own thread; the
// measuring side is this program re-executed with the preload shim, so its
// sockets are exactly what rmtfs gets. Prints one JSON object.
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/bench_support.hpp"
#include "sim/fabric.hpp"
#include "sim/remoteproc.hpp"
#include "sim/shim/shim_protocol.h"
#include "sim/shim_server.hpp"

namespace {

namespace fs = std::filesystem;
namespace bench = rmtfs_hil::bench;
using bench::Clock;

constexpr const char* program = "fabric_roundtrip";
constexpr int warmup_iterations = 500;
constexpr std::uint32_t echo_port = 0x5000;

struct sockaddr_qrtr_bytes {
    unsigned short family;
    std::uint32_t node;
    std::uint32_t port;
};

[[noreturn]] void die(const char* what) { bench::die(program, what); }

// Two sockets, an echo thread on one; the caller's thread pings the other.
template <class Send, class Recv>
std::vector<double> ping_pong(int iterations, std::size_t bytes, Send send, Recv recv) {
    std::vector<char> message(bytes, 'x'), reply(bytes + 64);
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(iterations));
    for (int i = -warmup_iterations; i < iterations; ++i) {
        auto start = Clock::now();
        if (send(message.data(), message.size()) != static_cast<ssize_t>(bytes)) die("send");
        if (recv(reply.data(), reply.size()) != static_cast<ssize_t>(bytes)) die("recv");
        if (i >= 0) samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    }
    return samples;
}

bench::Summary unix_floor(int iterations, std::size_t bytes) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) != 0) die("socketpair");
    std::thread echo([&] {
        std::vector<char> buffer(bytes + 64);
        for (int i = 0; i < iterations + warmup_iterations; ++i) {
            ssize_t got = ::recv(pair[1], buffer.data(), buffer.size(), 0);
            if (got < 0 || ::send(pair[1], buffer.data(), static_cast<std::size_t>(got), 0) != got) die("echo");
        }
    });
    auto samples = ping_pong(iterations, bytes, [&](const char* d, std::size_t n) { return ::send(pair[0], d, n, 0); },
                             [&](char* d, std::size_t n) { return ::recv(pair[0], d, n, 0); });
    echo.join();
    ::close(pair[0]);
    ::close(pair[1]);
    return bench::summarise(std::move(samples));
}

bench::Summary qrtr_fabric(int iterations, std::size_t bytes) {
    int server = ::socket(SHIM_AF_QIPCRTR, SOCK_DGRAM, 0);
    int client = ::socket(SHIM_AF_QIPCRTR, SOCK_DGRAM, 0);
    if (server < 0 || client < 0) die("socket(AF_QIPCRTR) — is the shim preloaded?");
    sockaddr_qrtr_bytes at{SHIM_AF_QIPCRTR, 1, echo_port};
    if (::bind(server, reinterpret_cast<sockaddr*>(&at), 12) != 0) die("bind");
    std::thread echo([&] {
        std::vector<char> buffer(bytes + 64);
        for (int i = 0; i < iterations + warmup_iterations; ++i) {
            sockaddr_qrtr_bytes from{};
            socklen_t length = 12;
            ssize_t got = ::recvfrom(server, buffer.data(), buffer.size(), 0, reinterpret_cast<sockaddr*>(&from), &length);
            if (got < 0 ||
                ::sendto(server, buffer.data(), static_cast<std::size_t>(got), 0, reinterpret_cast<sockaddr*>(&from), 12) != got)
                die("echo");
        }
    });
    auto samples = ping_pong(
        iterations, bytes,
        [&](const char* d, std::size_t n) { return ::sendto(client, d, n, 0, reinterpret_cast<sockaddr*>(&at), 12); },
        [&](char* d, std::size_t n) { return ::recv(client, d, n, 0); });
    echo.join();
    ::close(client);
    ::close(server);
    return bench::summarise(std::move(samples));
}

int measure(int iterations, std::size_t bytes) {
    bench::Summary floor = unix_floor(iterations, bytes);
    bench::Summary fabric = qrtr_fabric(iterations, bytes);
    std::printf(
        "{\"benchmark\": \"fabric_roundtrip\", \"iterations\": %d, \"bytes\": %zu, "
        "\"unix_pingpong_median_us\": %.2f, \"unix_pingpong_p99_us\": %.2f, "
        "\"fabric_median_us\": %.2f, \"fabric_p99_us\": %.2f, \"median_ratio\": %.2f}\n",
        iterations, bytes, floor.median, floor.p99, fabric.median, fabric.p99, fabric.median / floor.median);
    return 0;
}

fs::path default_shim() {
    return fs::canonical("/proc/self/exe").parent_path().parent_path() / "lib" / "librmtfs_hil_shim.so";
}

}  // namespace

int main(int argc, char** argv) {
    int iterations = 20000;
    std::size_t bytes = 64;
    fs::path shim = default_shim();
    bool measuring = false;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (arg == "--iterations" && i + 1 < argc) iterations = std::atoi(argv[++i]);
        else if (arg == "--bytes" && i + 1 < argc) bytes = static_cast<std::size_t>(std::atoi(argv[++i]));
        else if (arg == "--shim" && i + 1 < argc) shim = argv[++i];
        else if (arg == "--measure") measuring = true;
        else {
            std::fprintf(stderr, "usage: %s [--iterations N] [--bytes N] [--shim PATH]\n", argv[0]);
            return 2;
        }
    }
    if (iterations < 100 || bytes < 1 || bytes > SHIM_DATAGRAM_MAX_BYTES) {
        std::fprintf(stderr, "fabric_roundtrip: need --iterations >= 100 and 1 <= --bytes <= 65535\n");
        return 2;
    }
    if (measuring) return measure(iterations, bytes);

    if (!fs::exists(shim)) {
        std::fprintf(stderr, "fabric_roundtrip: shim library %s not found (build it, or pass --shim)\n", shim.c_str());
        return 1;
    }
    fs::path dir = fs::temp_directory_path() / ("rmtfs-hil-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    boost::asio::io_context io;
    rmtfs_hil::sim::Fabric fabric;
    rmtfs_hil::sim::RemoteprocRegistry remoteprocs;
    rmtfs_hil::sim::ShimServer server(io, fabric, remoteprocs, dir / "shim.sock");
    auto work = boost::asio::make_work_guard(io);
    std::thread harness([&] { io.run(); });

    pid_t child = ::fork();
    if (child == 0) {
        ::setenv("LD_PRELOAD", shim.c_str(), 1);
        ::setenv(SHIM_ENV_SOCKET, (dir / "shim.sock").c_str(), 1);
        std::string n = std::to_string(iterations), b = std::to_string(bytes);
        ::execl("/proc/self/exe", argv[0], "--measure", "--iterations", n.c_str(), "--bytes", b.c_str(), nullptr);
        _exit(127);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    work.reset();
    io.stop();
    harness.join();
    fs::remove_all(dir);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
