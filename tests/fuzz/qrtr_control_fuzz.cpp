// decode_control on arbitrary payloads: never crashes, and what it accepts
// re-encodes to the same first 20 bytes, up to fields the layout ignores.
#include <cstddef>
#include <cstdint>

#include "proto/qrtr_control.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace rmtfs_hil;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto decoded = qrtr::decode_control(ByteView(data, size));
    if (!decoded) {
        FUZZ_CHECK(!decoded.error().message.empty(), "every error explains itself");
        return 0;
    }
    Bytes wire = qrtr::encode_control(*decoded);
    FUZZ_CHECK(wire.size() == qrtr::control_payload_size_bytes, "control messages are 20 bytes");
    auto again = qrtr::decode_control(wire);
    FUZZ_CHECK(again.has_value() && *again == *decoded, "control round trip keeps every field");
    return 0;
}
