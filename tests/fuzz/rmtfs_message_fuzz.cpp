// rmtfs::decode on arbitrary bytes: never crashes, and what it accepts
// re-encodes to a message that decodes to the same values.
#include <cstddef>
#include <cstdint>

#include "proto/rmtfs.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace rmtfs_hil;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto decoded = rmtfs::decode(ByteView(data, size));
    if (!decoded) {
        FUZZ_CHECK(!decoded.error().message.empty(), "every error explains itself");
        FUZZ_CHECK(decoded.error().offset <= size, "error offsets point into the input");
        return 0;
    }
    FUZZ_CHECK(!rmtfs::summary(decoded->message).empty(), "every message has a summary");
    auto again = rmtfs::decode(rmtfs::encode(*decoded));
    FUZZ_CHECK(again.has_value(), "an accepted message re-encodes to an accepted message");
    FUZZ_CHECK(*again == *decoded, "round trip keeps every field");
    return 0;
}
