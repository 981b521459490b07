// Benchmark: one QMI round trip modem -> real rmtfs -> modem, against the
// floor of a UNIX-socket ping-pong with the same hops, measured in the same
// run. Prints one JSON object.
//
//   qmi_roundtrip [--rmtfs PATH] [--iterations N]
//
// The timed request is GET_DEV_ERROR on an open caller id: the daemon answers
// it from its own state, with no storage I/O (Debian's rmtfs 1.0 answers it
// with result=1 error=1 because of an inverted test; the JSON shows the answer). A second figure times a
// 1-sector RW_IOVEC read (the daemon's pread of storage and pwrite of the
// shared memory included).
//
// The hops of one GET_DEV_ERROR, all on this machine:
//   1. the fabric writes the request to the daemon's data channel (a UNIX
//      SOCK_SEQPACKET crossing: shim_datagram header + QMI request);
//   2. the daemon's sendto() becomes a SHIM_OP_SEND on its control channel
//      (shim_request header + QMI response);
//   3. the harness replies (shim_reply), which the daemon waits for before it
//      goes back to select().
// The modem's side (its QRTR packets, the link) stays inside this process.
// The floor is the same three crossings between this process and a forked
// child: { recv on A; send on B; wait for the ack on B }, timed from the send
// on A to the receive on B, the ack written after.
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_support.hpp"
#include "proto/qrtr_packet.hpp"
#include "proto/rmtfs.hpp"
#include "server/process.hpp"
#include "sim/modem.hpp"
#include "sim/shim/shim_protocol.h"

namespace {

namespace bench = rmtfs_hil::bench;
using bench::Clock;
using namespace std::chrono_literals;

constexpr const char* program = "qmi_roundtrip";
constexpr int warmup_iterations = 200;
constexpr std::uint32_t image_sectors = 8;  // a short boot: 4 KiB per partition
constexpr auto boot_deadline = 30s;
// A request the daemon does not answer within this is a failure (the client's
// own timeout is 2 s).
constexpr auto request_deadline = 5s;

[[noreturn]] void die(const char* what) { bench::die(program, what); }

// The floor: three SOCK_SEQPACKET crossings to and from another process.
bench::Summary unix_floor(int iterations, std::size_t request_bytes, std::size_t response_bytes,
                          std::size_t ack_bytes) {
    int a[2], b[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, a) != 0 ||
        ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, b) != 0)
        die("socketpair");
    const int total = iterations + warmup_iterations;
    std::fflush(nullptr);
    pid_t child = ::fork();
    if (child < 0) die("fork");
    if (child == 0) {
        ::close(a[0]);
        ::close(b[0]);
        std::vector<char> buffer(std::max({request_bytes, response_bytes, ack_bytes}) + 64, 'r');
        for (int i = 0; i < total; ++i) {
            if (::recv(a[1], buffer.data(), buffer.size(), 0) != static_cast<ssize_t>(request_bytes) ||
                ::send(b[1], buffer.data(), response_bytes, MSG_NOSIGNAL) != static_cast<ssize_t>(response_bytes) ||
                ::recv(b[1], buffer.data(), buffer.size(), 0) != static_cast<ssize_t>(ack_bytes))
                _exit(1);
        }
        _exit(0);
    }
    ::close(a[1]);
    ::close(b[1]);
    std::vector<char> request(request_bytes, 'q'), ack(ack_bytes, 'k'), reply(response_bytes + 64);
    std::vector<double> samples;
    samples.reserve(static_cast<std::size_t>(iterations));
    for (int i = -warmup_iterations; i < iterations; ++i) {
        auto start = Clock::now();
        if (::send(a[0], request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request_bytes))
            die("floor: send");
        if (::recv(b[0], reply.data(), reply.size(), 0) != static_cast<ssize_t>(response_bytes)) die("floor: recv");
        auto end = Clock::now();
        if (::send(b[0], ack.data(), ack.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(ack_bytes)) die("floor: ack");
        if (i >= 0) samples.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(a[0]);
    ::close(b[0]);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        std::fprintf(stderr, "%s: the floor's child failed\n", program);
        std::exit(1);
    }
    return bench::summarise(std::move(samples));
}

}  // namespace

int main(int argc, char** argv) {
    using namespace rmtfs_hil;
    bench::NumberOption iterations_option{"--iterations", "timed requests of each kind", 100, 1000000, 5000};
    bench::CommandLine command{program,
                               "  QMI round trips modem -> rmtfs -> modem (GET_DEV_ERROR, and a 1-sector\n"
                               "  RW_IOVEC read) against a 3-crossing UNIX SOCK_SEQPACKET ping-pong.\n",
                               {&iterations_option}};
    if (auto status = command.parse(argc, argv)) return *status;
    const int iterations = static_cast<int>(iterations_option.value);

    boost::asio::io_context io;
    bench::DaemonRun run(io, program);
    if (!run.start(command.rmtfs)) return 1;
    sim::FabricLink& link = run.link();

    sim::ModemConfig config;
    config.node = run.sandbox().board().modem_node;
    config.image_sectors = image_sectors;
    sim::Modem modem(io, link, run.sandbox().shared_memory(), config);
    if (auto failed = run.boot(modem, boot_deadline)) return run.fail(*failed);
    const std::uint32_t caller_id = *modem.caller_ids().front();
    const auto buffer = static_cast<std::uint32_t>(*modem.buffer_address());

    // One request, run to its answer; false when it failed.
    std::string failure;
    auto round_trip = [&](const rmtfs::Message& request) {
        std::optional<sim::Response> response;
        modem.client().request(request, [&](const sim::Response& r) { response = r; });
        if (!run.run_until([&] { return response.has_value(); }, request_deadline))
            failure = "no answer to " + rmtfs::summary(request);
        else if (!*response) failure = rmtfs::summary(request) + ": " + response->error().detail;
        else if (std::holds_alternative<rmtfs::GetDevErrorResponse>(**response))
            return true;  // answered; see dev_error_answer for what it says
        else if (const auto* rw = std::get_if<rmtfs::RwIovecResponse>(&**response); rw && !rw->result.ok())
            failure = rmtfs::summary(request) + " refused: " + rmtfs::summary(**response);
        else return true;
        return false;
    };
    auto timed = [&](const rmtfs::Message& request, std::vector<double>& samples) {
        samples.reserve(static_cast<std::size_t>(iterations));
        for (int i = -warmup_iterations; i < iterations; ++i) {
            auto start = Clock::now();
            if (!round_trip(request)) return false;
            if (i >= 0) samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        }
        return true;
    };

    // The sizes the floor moves: what this daemon actually answers, seen once
    // on the link, with the shim's headers on each crossing.
    const rmtfs::Message dev_error = rmtfs::GetDevErrorRequest{caller_id};
    const std::size_t qmi_request_bytes = rmtfs::encode(0, dev_error).size();
    std::size_t qmi_response_bytes = 0;
    auto endpoint_receive = link.on_receive;
    link.on_receive = [&](rmtfs_hil::ByteView packet) {
        if (auto p = qrtr::decode_packet(packet); p && p->type == qrtr::PacketType::data)
            qmi_response_bytes = p->payload.size();
        endpoint_receive(packet);
    };
    std::optional<sim::Response> probe;
    modem.client().request(dev_error, [&](const sim::Response& r) { probe = r; });
    run.run_until([&] { return probe.has_value(); }, request_deadline);
    link.on_receive = endpoint_receive;
    if (!probe || !*probe || !std::holds_alternative<rmtfs::GetDevErrorResponse>(**probe) || qmi_response_bytes == 0)
        return run.fail("no GET_DEV_ERROR answer: " + (probe && !*probe ? (*probe).error().detail : std::string("none")));
    // Debian's rmtfs 1.0 refuses GET_DEV_ERROR on every open caller id
    // (rmtfs_get_dev_error tests `if (rmtfd)` where it means `if (!rmtfd)`):
    // the answer is a round trip all the same, and the figure says which.
    const std::string dev_error_answer = rmtfs::summary(**probe);
    const std::size_t request_bytes = sizeof(shim_datagram) + qmi_request_bytes;
    const std::size_t response_bytes = sizeof(shim_request) + qmi_response_bytes;
    const std::size_t ack_bytes = sizeof(shim_reply);

    // The floor first, with the daemon idle in select().
    bench::Summary floor = unix_floor(iterations, request_bytes, response_bytes, ack_bytes);

    std::vector<double> dev_error_samples, read_samples;
    if (!timed(dev_error, dev_error_samples)) return run.fail(failure);
    const rmtfs::Message read_one = rmtfs::RwIovecRequest{caller_id, 0, {rmtfs::IovecEntry{0, buffer, 1}}, 0};
    if (!timed(read_one, read_samples)) return run.fail(failure);
    bench::Summary harness = bench::summarise(dev_error_samples), read = bench::summarise(read_samples);
    if (run.daemon().state() != server::SupervisedProcess::State::running)
        return run.fail("the daemon did not stay up");

    std::printf(
        "{\"benchmark\": \"qmi_roundtrip\", \"rmtfs\": \"%s\", \"iterations\": %d, "
        "\"request_bytes\": %zu, \"response_bytes\": %zu, \"ack_bytes\": %zu, "
        "\"unix_3hop_median_us\": %.2f, \"unix_3hop_p99_us\": %.2f, "
        "\"get_dev_error_median_us\": %.2f, \"get_dev_error_p99_us\": %.2f, "
        "\"rw_iovec_read_1_sector_median_us\": %.2f, \"rw_iovec_read_1_sector_p99_us\": %.2f, "
        "\"median_ratio\": %.2f, \"get_dev_error_answer\": \"%s\"}\n",
        bench::json_escaped(command.rmtfs).c_str(), iterations, request_bytes, response_bytes, ack_bytes, floor.median,
        floor.p99, harness.median, harness.p99, read.median, read.p99, harness.median / floor.median,
        bench::json_escaped(dev_error_answer).c_str());
    return 0;
}
