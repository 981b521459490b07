// The rmtfs_mem region as the modem reaches it: by physical address. The
// world (server/) provides it over the region's backing file; tests may use
// a plain buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "proto/bytes.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::sim {

class SharedMemory {
public:
    virtual ~SharedMemory() = default;
    virtual std::uint64_t base() const = 0;
    virtual std::uint64_t size_bytes() const = 0;
    // Errors name the address range and the region.
    virtual Expected<Bytes, std::string> read(std::uint64_t phys_addr, std::size_t length) const = 0;
    virtual Expected<std::size_t, std::string> write(std::uint64_t phys_addr, ByteView bytes) = 0;
};

}  // namespace rmtfs_hil::sim
