// What the benchmarks share: the command line of one that runs the real
// rmtfs, the sandbox and daemon it stands on, median and p99 figures, and the
// bits of JSON they print. What a benchmark measures stays in its own file.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/process.hpp"
#include "server/sandbox.hpp"
#include "sim/modem.hpp"
#include "sim/qrtr_endpoint.hpp"
#include "sim/trace.hpp"

namespace rmtfs_hil::bench {

using Clock = std::chrono::steady_clock;

// The median and 99th percentile of a run's samples, in the samples' unit.
struct Summary {
    double median;
    double p99;
};

Summary summarise(std::vector<double> samples);

// A string as a JSON string's contents.
std::string json_escaped(const std::string& text);

// A whole decimal number, or nothing.
std::optional<long> parse_number(const char* text);

// A system call failed: "<program>: <what>: <errno's text>", exit 1.
[[noreturn]] void die(const char* program, const char* what);

// A whole-number option: what --help says of it, the range it takes, and its
// value, the default until the command line gives another.
struct NumberOption {
    const char* flag;     // "--iterations"
    const char* meaning;  // "timed requests of each kind"
    long min;
    long max;
    long value;
};

// The command line of a benchmark against the real rmtfs:
//   <program> [--rmtfs PATH] [<number flag> N]... | --help
struct CommandLine {
    const char* program;      // the start of every message: "qmi_roundtrip"
    const char* description;  // --help's lines between the usage and the options, each "  ...\n"
    std::vector<NumberOption*> numbers;
    std::string rmtfs = "/usr/bin/rmtfs";

    // Reads argv into rmtfs and the numbers. The status main exits with when
    // it should not go on: 0 after --help, 2 for a usage error or a number out
    // of its range, 3 when there is no daemon to run: a machine not set up,
    // not a run that failed (1).
    std::optional<int> parse(int argc, char** argv);
};

// The sandbox, the real rmtfs running in it, and the modem's link to the
// fabric: what a benchmark against the daemon stands on. It keeps the
// fabric's trace and the daemon's output so that a failed run can say what
// happened (fail()).
class DaemonRun {
public:
    DaemonRun(boost::asio::io_context& io, const char* program) : io_(io), program_(program) {}
    DaemonRun(const DaemonRun&) = delete;
    DaemonRun& operator=(const DaemonRun&) = delete;

    // The sandbox, then `rmtfs` in it as `rmtfs <flags> -o <storage>`. False,
    // and why on stderr, when either fails: main exits 1.
    bool start(const std::string& rmtfs, const std::vector<std::string>& flags = {});

    server::Sandbox& sandbox() { return *sandbox_; }
    server::SupervisedProcess& daemon() { return *daemon_; }
    sim::FabricLink& link() { return *link_; }
    // "kind detail" per event: the fabric's from before the daemon started,
    // and whatever else is given trace_sink().
    const std::vector<std::string>& trace() const { return trace_; }
    sim::TraceSink trace_sink();
    const std::vector<std::string>& daemon_output() const { return daemon_output_; }

    // Runs the io_context until done() or until `limit` has passed; false on
    // the latter.
    template <class Done>
    bool run_until(Done done, Clock::duration limit) {
        for (auto deadline = Clock::now() + limit; !done();) {
            if (Clock::now() >= deadline) return false;
            io_.run_one_for(std::chrono::milliseconds(10));
        }
        return true;
    }

    // Boots `modem` within `limit`: why it did not, or nothing.
    std::optional<std::string> boot(sim::Modem& modem, Clock::duration limit);

    // "<program>: <why>", then the daemon's output, the end of the trace and
    // the daemon's state, on stderr. Returns 1, main's exit status.
    int fail(const std::string& why) const;

private:
    boost::asio::io_context& io_;
    const char* program_;
    // Before the sandbox, which traces until it goes, and the daemon, which
    // writes output until it is gone.
    std::vector<std::string> trace_;
    std::vector<std::string> daemon_output_;
    std::unique_ptr<server::Sandbox> sandbox_;
    std::optional<server::SupervisedProcess> daemon_;
    std::optional<sim::FabricLink> link_;
};

}  // namespace rmtfs_hil::bench
