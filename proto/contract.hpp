// Assertions on what a function assumes and promises. Always on, in every
// build: a broken contract is a harness bug, and a harness bug must never turn
// into a wrong verdict about the server under test.
//
// Outside a ContractScope a broken contract aborts the program. Inside one
// (the runner opens one per scenario) it throws ContractViolation: the
// scenario ends as an error naming the bug, and the rest of the suite runs.
#pragma once

#include <stdexcept>

namespace rmtfs_hil {

struct ContractViolation : std::logic_error {
    using std::logic_error::logic_error;
};

// While one lives on this thread, broken contracts throw instead of aborting.
class ContractScope {
public:
    ContractScope();
    ~ContractScope();
    ContractScope(const ContractScope&) = delete;
    ContractScope& operator=(const ContractScope&) = delete;
};

}  // namespace rmtfs_hil

namespace rmtfs_hil::detail {
[[noreturn]] void contract_failed(const char* condition, const char* message, const char* file, int line);
}

#define RMTFS_HIL_ASSERT(condition, message)                                                 \
    do {                                                                                     \
        if (!(condition)) [[unlikely]]                                                       \
            ::rmtfs_hil::detail::contract_failed(#condition, (message), __FILE__, __LINE__); \
    } while (0)
