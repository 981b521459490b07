// Assertions on what a function assumes and promises. Always on, in every
// build: a broken contract is a harness bug, and a harness bug must never turn
// into a wrong verdict about the server under test.
#pragma once

namespace rmtfs_hil::detail {
[[noreturn]] void contract_failed(const char* condition, const char* message, const char* file,
                                  int line) noexcept;
}

#define RMTFS_HIL_ASSERT(condition, message)                                                 \
    do {                                                                                     \
        if (!(condition)) [[unlikely]]                                                       \
            ::rmtfs_hil::detail::contract_failed(#condition, (message), __FILE__, __LINE__); \
    } while (0)
