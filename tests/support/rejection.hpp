// "Was this input refused, with this error, saying this?" — one assertion for
// every decoder's malformed-input tests.
#pragma once

#include <gtest/gtest.h>

#include <string_view>

#include "proto/decode_error.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::testing {

template <class T>
::testing::AssertionResult rejected_with(const Expected<T, DecodeError>& result, DecodeErrorCode code,
                                         std::string_view says = {}) {
    if (result.has_value()) return ::testing::AssertionFailure() << "the input was accepted";
    const DecodeError& error = result.error();
    if (error.code != code)
        return ::testing::AssertionFailure() << "expected " << to_string(code) << ", got " << describe(error);
    if (error.message.empty()) return ::testing::AssertionFailure() << to_string(code) << " with no explanation";
    if (error.message.find(says) == std::string::npos)
        return ::testing::AssertionFailure() << "expected the message to say \"" << says << "\", it says: \""
                                             << error.message << "\"";
    return ::testing::AssertionSuccess();
}

}  // namespace rmtfs_hil::testing
