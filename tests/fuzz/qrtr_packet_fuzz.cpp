// decode_packet on arbitrary link bytes: never crashes, never reads past its
// input, and what it accepts re-encodes to a packet that decodes the same.
#include <cstddef>
#include <cstdint>

#include "proto/qrtr_packet.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace rmtfs_hil;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto decoded = qrtr::decode_packet(ByteView(data, size));
    if (!decoded) {
        FUZZ_CHECK(!decoded.error().message.empty(), "every error explains itself");
        return 0;
    }
    qrtr::Packet packet = *decoded;
    auto again = qrtr::decode_packet(qrtr::encode_v1(packet));
    FUZZ_CHECK(again.has_value(), "an accepted packet re-encoded as v1 is accepted");
    packet.version = qrtr::version_v1;
    FUZZ_CHECK(*again == packet, "v1 round trip keeps every field");
    if (decoded->version == qrtr::version_v2) {
        auto v2 = qrtr::decode_packet(qrtr::encode_v2(*decoded));
        FUZZ_CHECK(v2.has_value() && v2->payload == decoded->payload, "v2 round trip keeps the payload");
    }
    return 0;
}
