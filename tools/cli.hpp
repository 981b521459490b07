// What every rmtfs-hil subcommand shares: exit statuses, usage errors, and a
// cursor over the arguments that names what it expected when they run out.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace rmtfs_hil::cli {

// Exit statuses; scripts and CI branch on them.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;       // a scenario or check failed
inline constexpr int exit_usage = 2;        // bad arguments or bad input files
inline constexpr int exit_environment = 3;  // the machine lacks something the harness needs

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
struct EnvironmentError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Arguments {
public:
    Arguments(int argc, char** argv, int first) {
        for (int i = first; i < argc; ++i) items_.emplace_back(argv[i]);
    }
    bool done() const { return next_ >= items_.size(); }
    std::string_view peek() const { return items_[next_]; }
    std::string take() { return items_[next_++]; }
    // The value of `option` ("--board"): the next argument, or a UsageError.
    std::string value_of(std::string_view option) {
        if (done()) throw UsageError("option '" + std::string(option) + "' needs a value");
        return take();
    }
    std::vector<std::string> rest() {
        std::vector<std::string> out(items_.begin() + static_cast<std::ptrdiff_t>(next_), items_.end());
        next_ = items_.size();
        return out;
    }

private:
    std::vector<std::string> items_;
    std::size_t next_ = 0;
};

}  // namespace rmtfs_hil::cli
