#include "proto/errno_names.hpp"

#include <cstring>

namespace rmtfs_hil {

namespace {
// Linux numbers errno values densely below this.
constexpr int errno_max = 134;
}  // namespace

std::string errno_name(int error_number) {
    const char* name = strerrorname_np(error_number);
    return name != nullptr ? name : "errno " + std::to_string(error_number);
}

std::optional<int> errno_named(std::string_view name) {
    for (int n = 1; n <= errno_max; ++n) {
        const char* known = strerrorname_np(n);
        if (known != nullptr && name == known) return n;
    }
    return std::nullopt;
}

std::string errno_text(int error_number) {
    return std::string(std::strerror(error_number)) + " (" + errno_name(error_number) + ")";
}

const std::vector<std::string>& errno_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (int n = 1; n <= errno_max; ++n)
            if (const char* name = strerrorname_np(n)) out.emplace_back(name);
        return out;
    }();
    return names;
}

}  // namespace rmtfs_hil
