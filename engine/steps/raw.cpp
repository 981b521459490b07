#include "engine/steps/raw.hpp"

#include "engine/data_spec.hpp"
#include "engine/scenario_reader.hpp"
#include "proto/qrtr_packet.hpp"

namespace rmtfs_hil::engine {

namespace {

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<RawStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(f, {"modem", "hex", "expect", "full_wait"});
    reader.require(f, {"hex"});
    reader.get_index(reader.field(f, "modem"), step->modem, "modem");
    std::string hex;
    if (Field given = reader.field(f, "hex"); reader.get_string(given, hex, true)) {
        if (auto bytes = parse_hex(hex); !bytes)
            reader.error(given.pointer, bytes.error());
        else if (bytes->size() > qrtr::datagram_size_max_bytes)
            reader.error(given.pointer, std::to_string(bytes->size()) + " bytes do not fit one QRTR datagram (at most " +
                                            std::to_string(qrtr::datagram_size_max_bytes) + ")");
        else
            step->bytes = std::move(*bytes);
    }
    load_answer(reader, reader.field(f, "expect"), step->expect, false);
    step->wait = load_wait(reader, f);
    return step;
}

}  // namespace

extern const StepKind raw_step{"raw", 70, load};

std::optional<StepFailure> RawStep::run(StepContext& context) const {
    return check_answer(context, context.target.request_raw(modem, bytes, wait), expect);
}

std::string RawStep::describe() const {
    return "hand-built message of " + std::to_string(bytes.size()) + " bytes from modem " + std::to_string(modem);
}

}  // namespace rmtfs_hil::engine
