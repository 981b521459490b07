#include "proto/contract.hpp"

#include <cstdio>
#include <cstdlib>

namespace rmtfs_hil::detail {

void contract_failed(const char* condition, const char* message, const char* file,
                     int line) noexcept {
    std::fprintf(stderr, "%s:%d: contract violated: %s (%s)\n", file, line, message, condition);
    std::fflush(stderr);
    std::abort();
}

}  // namespace rmtfs_hil::detail
