#include "engine/steps/request.hpp"

#include "engine/scenario_reader.hpp"
#include "proto/qmi.hpp"
#include "proto/qrtr_packet.hpp"

namespace rmtfs_hil::engine {

namespace {

// ALLOC_BUFF's size when the step gives none: the modem's 1 MiB buffer.
constexpr std::uint32_t default_alloc_bytes = buffer_sectors * rmtfs::sector_size_bytes;

// The longest OPEN path one datagram carries: the QMI header and the path's TLV header come first.
constexpr std::size_t open_path_max_bytes =
    qrtr::datagram_size_max_bytes - qmi::header_size_bytes - qmi::tlv_header_size_bytes;

void load_iovec(ScenarioReader& reader, const Field& iovec, RequestStep& step) {
    if (!iovec->is_array()) {
        reader.error(iovec.pointer,
                     "expected an array of {\"sector_addr\", \"phys_offset\", \"num_sector\"}, found " + found(*iovec));
        return;
    }
    if (iovec->size() > rmtfs::iovec_entries_max) {
        reader.error(iovec.pointer, std::to_string(iovec->size()) + " iovec entries: RW_IOVEC counts them in one byte, "
                                    "so at most " + std::to_string(rmtfs::iovec_entries_max));
        return;
    }
    for (std::size_t i = 0; i < iovec->size(); ++i) {
        Field entry{&(*iovec)[i], child(iovec.pointer, i)};
        if (!reader.is_object(entry)) continue;
        reader.check_keys(entry, {"sector_addr", "phys_offset", "num_sector"});
        RequestStep::Iovec io;
        reader.get_uint(reader.field(entry, "sector_addr"), io.sector_addr);
        reader.get_uint(reader.field(entry, "phys_offset"), io.phys_offset);
        reader.get_uint(reader.field(entry, "num_sector"), io.num_sector);
        step.iovec.push_back(io);
    }
}

// Which keys go with which message.
void check_fields(ScenarioReader& reader, const Field& f, rmtfs::MessageId m) {
    using rmtfs::MessageId;
    if (m == MessageId::open) {
        if (!f->contains("path")) reader.error(f.pointer, "an OPEN request needs 'path'");
        reader.reject(f, "caller_id", "'caller_id' is not for OPEN (OPEN answers with one)");
        reader.reject(f, "partition", "'partition' is not for OPEN: give 'path'");
    } else {
        reader.reject(f, "path", "'path' is only for OPEN");
        if (f->contains("caller_id") && f->contains("partition"))
            reader.error_at_key(child(f.pointer, "partition"), "give 'caller_id' or 'partition', not both");
    }
    if (m != MessageId::rw_iovec)
        for (const char* key : {"direction", "iovec", "force_sync"})
            reader.reject(f, key, "'" + std::string(key) + "' is only for RW_IOVEC");
    if (m != MessageId::alloc_buff) reader.reject(f, "size", "'size' is only for ALLOC_BUFF");
}

std::unique_ptr<StepAction> load(ScenarioReader& reader, const Field& f) {
    auto step = std::make_unique<RequestStep>();
    if (!reader.is_object(f)) return step;
    reader.check_keys(
        f, {"modem", "message", "path", "caller_id", "partition", "direction", "iovec", "force_sync", "size", "expect",
            "full_wait"});
    reader.require(f, {"message"});
    reader.get_index(reader.field(f, "modem"), step->modem, "modem");
    std::string message;
    bool known = reader.get_name(reader.field(f, "message"), message, request_names(), "message");
    if (known) step->message = *named<rmtfs::MessageId>(message);
    if (Field path = reader.field(f, "path"); reader.get_string(path, step->path) && step->path &&
                                                  step->path->size() > open_path_max_bytes)
        reader.error(path.pointer, "a path of " + std::to_string(step->path->size()) + " bytes does not fit one QRTR datagram (at most " +
                                       std::to_string(open_path_max_bytes) + " bytes)");
    reader.get_uint(reader.field(f, "caller_id"), step->caller_id);
    if (Field partition = reader.field(f, "partition"); reader.get_string(partition, step->partition, true))
        reader.check_partition(step->modem, partition, *step->partition);
    reader.get_uint(reader.field(f, "direction"), step->direction);
    reader.get_uint(reader.field(f, "force_sync"), step->force_sync);
    reader.get_uint(reader.field(f, "size"), step->size);
    if (Field iovec = reader.field(f, "iovec")) load_iovec(reader, iovec, *step);
    load_answer(reader, reader.field(f, "expect"), step->expect, known && step->message == rmtfs::MessageId::open);
    step->wait = load_wait(reader, f);
    if (known) check_fields(reader, f, step->message);
    return step;
}

}  // namespace

extern const StepKind request_step{"request", 60, load};

std::optional<StepFailure> RequestStep::run(StepContext& context) const {
    Target& target = context.target;
    ModemHandles handles = target.modem_handles(modem);
    auto caller = [&]() -> std::uint32_t {
        if (caller_id) return *caller_id;
        if (partition)
            if (auto index = partition_index(context.scenario, modem, *partition);
                index && *index < handles.caller_ids.size() && handles.caller_ids[*index])
                return *handles.caller_ids[*index];
        for (const auto& id : handles.caller_ids)
            if (id) return *id;
        return 0;
    };
    rmtfs::Message request;
    switch (message) {
        case rmtfs::MessageId::open: request = rmtfs::OpenRequest{path.value_or("/boot/modem_fs1")}; break;
        case rmtfs::MessageId::close: request = rmtfs::CloseRequest{caller()}; break;
        case rmtfs::MessageId::rw_iovec: {
            rmtfs::RwIovecRequest rw{caller(), direction.value_or(0), {}, force_sync.value_or(0)};
            auto buffer = static_cast<std::uint32_t>(handles.buffer_address.value_or(target.shared_memory_base()));
            for (const auto& entry : iovec)
                rw.iovec.push_back(rmtfs::IovecEntry{entry.sector_addr, entry.phys_offset.value_or(buffer), entry.num_sector});
            request = rw;
            break;
        }
        case rmtfs::MessageId::alloc_buff: request = rmtfs::AllocBuffRequest{caller(), size.value_or(default_alloc_bytes)}; break;
        case rmtfs::MessageId::get_dev_error: request = rmtfs::GetDevErrorRequest{caller()}; break;
        case rmtfs::MessageId::force_sync: RMTFS_HIL_ASSERT(false, "FORCE_SYNC is an indication, not a request");
    }
    return check_answer(context, target.request(modem, request, wait), expect);
}

std::string RequestStep::describe() const {
    return std::string(name_of(message)) + " request from modem " + std::to_string(modem);
}

}  // namespace rmtfs_hil::engine
