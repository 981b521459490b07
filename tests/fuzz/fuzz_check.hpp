// A property a fuzz target checks on every input. A violation aborts, which
// libFuzzer records as a crash and the replay driver reports as a failure.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(condition, what)                                                               \
    do {                                                                                          \
        if (!(condition)) {                                                                       \
            std::fprintf(stderr, "%s:%d: property violated: %s (%s)\n", __FILE__, __LINE__, what, \
                         #condition);                                                             \
            std::abort();                                                                         \
        }                                                                                         \
    } while (0)
