#include "bench/bench_support.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>

namespace rmtfs_hil::bench {

namespace {

// How much of the trace and of the daemon's output a failure shows: the end
// is what matters, and a long run's whole trace would bury it.
constexpr std::size_t failure_tail_lines = 200;

void print_tail(const char* label, const std::vector<std::string>& lines) {
    std::size_t from = lines.size() > failure_tail_lines ? lines.size() - failure_tail_lines : 0;
    for (std::size_t i = from; i < lines.size(); ++i) std::fprintf(stderr, "  %s: %s\n", label, lines[i].c_str());
}

}  // namespace

Summary summarise(std::vector<double> samples) {
    std::sort(samples.begin(), samples.end());
    return Summary{samples[samples.size() / 2], samples[samples.size() * 99 / 100]};
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

std::optional<long> parse_number(const char* text) {
    errno = 0;
    char* end = nullptr;
    long value = std::strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') return std::nullopt;
    return value;
}

void die(const char* program, const char* what) {
    std::fprintf(stderr, "%s: %s: %s\n", program, what, std::strerror(errno));
    std::exit(1);
}

std::optional<int> CommandLine::parse(int argc, char** argv) {
    // --help shows the defaults, whatever came before it on the line.
    std::vector<long> defaults;
    for (const NumberOption* number : numbers) defaults.push_back(number->value);
    std::string usage = std::string("usage: ") + argv[0] + " [--rmtfs PATH]";
    for (const NumberOption* number : numbers) usage += std::string(" [") + number->flag + " N]";

    // A number out of its range is told after the whole line is read, so that
    // a --help or a usage error further on still comes first.
    const NumberOption* out_of_range = nullptr;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto number =
            std::find_if(numbers.begin(), numbers.end(), [&](const NumberOption* n) { return arg == n->flag; });
        if (arg == "--rmtfs" && i + 1 < argc) {
            rmtfs = argv[++i];
        } else if (number != numbers.end() && i + 1 < argc) {
            auto n = parse_number(argv[++i]);
            if (n && *n >= (*number)->min && *n <= (*number)->max) (*number)->value = *n;
            else if (out_of_range == nullptr) out_of_range = *number;
        } else if (arg == "--help" || arg == "-h") {
            // The option column: the longest option and its argument, then 4.
            int width = static_cast<int>(std::string_view("--rmtfs PATH").size());
            for (const NumberOption* n : numbers) width = std::max(width, static_cast<int>(std::strlen(n->flag)) + 2);
            width += 4;
            std::printf("%s\n%s", usage.c_str(), description);
            std::printf("  %-*s%s\n", width, "--rmtfs PATH", "the daemon (default /usr/bin/rmtfs)");
            for (std::size_t k = 0; k < numbers.size(); ++k) {
                std::string option = std::string(numbers[k]->flag) + " N";
                std::printf("  %-*s%s (default %ld, %ld..%ld)\n", width, option.c_str(), numbers[k]->meaning,
                            defaults[k], numbers[k]->min, numbers[k]->max);
            }
            return 0;
        } else {
            std::fprintf(stderr, "%s\n", usage.c_str());
            return 2;
        }
    }
    if (out_of_range != nullptr) {
        std::fprintf(stderr, "%s: need %ld <= %s <= %ld\n", program, out_of_range->min, out_of_range->flag,
                     out_of_range->max);
        return 2;
    }
    if (!std::filesystem::exists(rmtfs)) {
        std::fprintf(stderr, "%s: %s not found (ci/setup.sh installs Debian's rmtfs)\n", program, rmtfs.c_str());
        return 3;
    }
    return std::nullopt;
}

bool DaemonRun::start(const std::string& rmtfs, const std::vector<std::string>& flags) {
    auto sandbox = server::Sandbox::create(io_, {});
    if (!sandbox) {
        std::fprintf(stderr, "%s: %s\n", program_, sandbox.error().message.c_str());
        return false;
    }
    sandbox_ = std::move(*sandbox);
    // Traced from before the daemon starts: a daemon that never offers its
    // service shows what it did on the fabric instead.
    sandbox_->fabric().set_trace(trace_sink());
    server::ProcessEvents events;
    events.output = [this](const server::OutputLine& line) { daemon_output_.push_back(line.text); };
    std::vector<std::string> argv{rmtfs};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"-o", sandbox_->world().storage_dir().string()});
    daemon_.emplace(io_, sandbox_->launch(std::move(argv)), std::move(events));
    if (auto started = daemon_->start(); !started) {
        std::fprintf(stderr, "%s: %s\n", program_, started.error().message.c_str());
        return false;
    }
    link_.emplace(io_, sandbox_->fabric(), "modem");
    return true;
}

sim::TraceSink DaemonRun::trace_sink() {
    return [this](const sim::TraceEvent& e) { trace_.push_back(std::string(sim::to_string(e.kind)) + " " + e.detail); };
}

std::optional<std::string> DaemonRun::boot(sim::Modem& modem, Clock::duration limit) {
    // Shared with the callback: a boot that timed out may still end later.
    auto booted = std::make_shared<std::optional<sim::BootResult>>();
    modem.boot([booted](const sim::BootResult& r) { *booted = r; });
    if (run_until([&] { return booted->has_value(); }, limit) && (*booted)->ok) return std::nullopt;
    return "boot failed: " + (*booted ? (*booted)->reason : std::string("timed out"));
}

int DaemonRun::fail(const std::string& why) const {
    std::fprintf(stderr, "%s: %s\n", program_, why.c_str());
    print_tail("rmtfs", daemon_output_);
    print_tail("trace", trace_);
    std::fprintf(stderr, "  daemon: %s\n",
                 daemon_ ? std::string(server::to_string(daemon_->state())).c_str() : "not started");
    return 1;
}

}  // namespace rmtfs_hil::bench
