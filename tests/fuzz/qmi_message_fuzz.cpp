// decode_message on arbitrary bytes: never crashes, and what it accepts is
// rebuilt byte for byte from its header and TLVs.
#include <cstddef>
#include <cstdint>

#include "proto/qmi.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace rmtfs_hil;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    ByteView input(data, size);
    auto view = qmi::decode_message(input);
    if (!view) {
        FUZZ_CHECK(!view.error().message.empty(), "every error explains itself");
        FUZZ_CHECK(view.error().offset <= size, "error offsets point into the input");
        return 0;
    }
    qmi::MessageWriter writer(view->header.kind, view->header.txn_id, view->header.msg_id);
    for (const qmi::Tlv& tlv : view->tlvs) {
        FUZZ_CHECK(tlv.offset + qmi::tlv_header_size_bytes + tlv.value.size() <= size, "TLVs lie inside the input");
        writer.tlv(tlv.type, tlv.value);
    }
    Bytes rebuilt = std::move(writer).finish();
    FUZZ_CHECK(rebuilt.size() == size && std::equal(rebuilt.begin(), rebuilt.end(), input.begin()),
               "an accepted message is rebuilt byte for byte");
    return 0;
}
