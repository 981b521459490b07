#include "proto/contract.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

namespace rmtfs_hil {

namespace {
thread_local int scopes = 0;
}

ContractScope::ContractScope() { ++scopes; }
ContractScope::~ContractScope() { --scopes; }

}  // namespace rmtfs_hil

namespace rmtfs_hil::detail {

void contract_failed(const char* condition, const char* message, const char* file, int line) {
    std::string what = std::string(file) + ":" + std::to_string(line) + ": contract violated: " + message + " (" +
                       condition + ")";
    if (scopes > 0) throw ContractViolation(what);
    std::fprintf(stderr, "%s\n", what.c_str());
    std::fflush(stderr);
    std::abort();
}

}  // namespace rmtfs_hil::detail
