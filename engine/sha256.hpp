// SHA-256 (FIPS 180-4), for storage checks by hash.
#pragma once

#include <string>

#include "proto/bytes.hpp"

namespace rmtfs_hil::engine {

// 64 lower-case hex digits.
std::string sha256_hex(ByteView bytes);

}  // namespace rmtfs_hil::engine
