#include "proto/rmtfs.hpp"

#include <array>
#include <initializer_list>

#include "proto/contract.hpp"

namespace rmtfs_hil::rmtfs {

namespace {

constexpr std::uint8_t tlv_result = 0x02;
constexpr std::size_t result_size_bytes = 4;

// One TLV of a message's definition.
struct Field {
    std::uint8_t type;
    std::string_view name;
    bool required;
};

// Reads the TLVs of one message against its definition. The first problem
// found sticks; later reads return zeros and the message is rejected whole.
class FieldReader {
public:
    FieldReader(const qmi::MessageView& view, std::string message, std::initializer_list<Field> fields)
        : message_(std::move(message)) {
        RMTFS_HIL_ASSERT(fields.size() <= fields_max, "message definition with too many TLVs");
        for (const Field& f : fields) fields_[field_count_++] = f;
        for (const qmi::Tlv& tlv : view.tlvs) {
            const Field* field = find_field(tlv.type);
            if (field == nullptr) {
                if (tlv.type >= qmi::first_optional_tlv_type) continue;
                fail(DecodeErrorCode::rmtfs_tlv_unexpected, tlv.offset,
                     "TLV " + hex(tlv.type) + " is not part of " + message_ +
                         " (unknown mandatory TLVs are refused)");
                return;
            }
            std::size_t slot = static_cast<std::size_t>(field - fields_.data());
            if (found_[slot].has_value()) {
                fail(DecodeErrorCode::rmtfs_tlv_duplicate, tlv.offset,
                     "TLV " + hex(tlv.type) + " (" + std::string(field->name) + ") appears twice in " +
                         message_);
                return;
            }
            found_[slot] = tlv;
        }
        for (std::size_t i = 0; i < field_count_; ++i) {
            if (fields_[i].required && !found_[i].has_value()) {
                fail(DecodeErrorCode::rmtfs_tlv_missing, 0,
                     message_ + " lacks mandatory TLV " + hex(fields_[i].type) + " (" +
                         std::string(fields_[i].name) + ")");
                return;
            }
        }
    }

    bool failed() const { return error_.has_value(); }
    DecodeError error() const { return *error_; }

    // The TLV's value if present and exactly `size` bytes (size 0: any length).
    std::optional<ByteView> value(std::uint8_t type, std::size_t size) {
        const std::optional<qmi::Tlv>* slot = lookup(type);
        if (failed() || slot == nullptr || !slot->has_value()) return std::nullopt;
        const qmi::Tlv& tlv = **slot;
        if (size != 0 && tlv.value.size() != size) {
            fail(DecodeErrorCode::rmtfs_tlv_size, tlv.offset,
                 "TLV " + hex(type) + " (" + std::string(field_name(type)) + ") of " + message_ +
                     " is " + std::to_string(tlv.value.size()) + " bytes, expected " +
                     std::to_string(size));
            return std::nullopt;
        }
        return tlv.value;
    }

    std::uint8_t u8(std::uint8_t type) { return opt_u8(type).value_or(0); }
    std::uint32_t u32(std::uint8_t type) { return opt_u32(type).value_or(0); }

    std::optional<std::uint8_t> opt_u8(std::uint8_t type) {
        auto v = value(type, 1);
        if (!v) return std::nullopt;
        return (*v)[0];
    }
    std::optional<std::uint32_t> opt_u32(std::uint8_t type) {
        auto v = value(type, 4);
        if (!v) return std::nullopt;
        return load_u32(v->data());
    }
    std::optional<std::uint64_t> opt_u64(std::uint8_t type) {
        auto v = value(type, 8);
        if (!v) return std::nullopt;
        return ByteReader(*v).u64();
    }
    Result result() {
        auto v = value(tlv_result, result_size_bytes);
        if (!v) return {};
        return Result{load_u16(v->data()), load_u16(v->data() + 2)};
    }

    // A u8 count followed by count elements of `element_size` bytes.
    std::optional<std::pair<std::size_t, ByteView>> counted(std::uint8_t type, std::size_t element_size,
                                                            std::size_t count_max) {
        auto v = value(type, 0);
        if (!v) return std::nullopt;
        std::size_t offset = (*lookup(type))->offset;
        std::string name = "TLV " + hex(type) + " (" + std::string(field_name(type)) + ") of " + message_;
        if (v->empty()) {
            fail(DecodeErrorCode::rmtfs_count_mismatch, offset, name + " is empty, needs a count byte");
            return std::nullopt;
        }
        std::size_t count = (*v)[0];
        if (count > count_max) {
            fail(DecodeErrorCode::rmtfs_count_over_limit, offset,
                 name + " announces " + std::to_string(count) + " entries, at most " +
                     std::to_string(count_max));
            return std::nullopt;
        }
        if (v->size() != 1 + count * element_size) {
            fail(DecodeErrorCode::rmtfs_count_mismatch, offset,
                 name + " announces " + std::to_string(count) + " entries (" +
                     std::to_string(1 + count * element_size) + " bytes) but is " +
                     std::to_string(v->size()) + " bytes");
            return std::nullopt;
        }
        return std::pair{count, v->subspan(1)};
    }

    void fail(DecodeErrorCode code, std::size_t offset, std::string text) {
        if (!error_) error_ = DecodeError{code, offset, std::move(text)};
    }

    const std::string& message() const { return message_; }

private:
    const Field* find_field(std::uint8_t type) const {
        for (std::size_t i = 0; i < field_count_; ++i)
            if (fields_[i].type == type) return &fields_[i];
        return nullptr;
    }
    std::string_view field_name(std::uint8_t type) const {
        const Field* field = find_field(type);
        return field != nullptr ? field->name : std::string_view("unnamed");
    }
    const std::optional<qmi::Tlv>* lookup(std::uint8_t type) const {
        const Field* field = find_field(type);
        RMTFS_HIL_ASSERT(field != nullptr, "reading a TLV the message definition lacks");
        return &found_[static_cast<std::size_t>(field - fields_.data())];
    }

    static constexpr std::size_t fields_max = 4;
    std::string message_;
    std::array<Field, fields_max> fields_{};
    std::size_t field_count_ = 0;
    std::array<std::optional<qmi::Tlv>, fields_max> found_{};
    std::optional<DecodeError> error_;
};

constexpr Field result_field{tlv_result, "result", true};

qmi::MessageWriter writer(std::uint16_t txn_id, const Message& message) {
    return qmi::MessageWriter(message_kind(message), txn_id,
                              static_cast<std::uint16_t>(message_id(message)));
}

void put_result(qmi::MessageWriter& w, const Result& result) {
    Bytes v;
    put_u16(v, result.result);
    put_u16(v, result.error);
    w.tlv(tlv_result, v);
}

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string result_text(const Result& r) {
    return "result=" + std::to_string(r.result) + " error=" + std::to_string(r.error);
}

}  // namespace

std::string_view to_string(MessageId id) { return name_if(id).value_or("unknown message"); }

MessageId message_id(const Message& message) {
    return std::visit(Overloaded{
                          [](const OpenRequest&) { return MessageId::open; },
                          [](const OpenResponse&) { return MessageId::open; },
                          [](const CloseRequest&) { return MessageId::close; },
                          [](const CloseResponse&) { return MessageId::close; },
                          [](const RwIovecRequest&) { return MessageId::rw_iovec; },
                          [](const RwIovecResponse&) { return MessageId::rw_iovec; },
                          [](const AllocBuffRequest&) { return MessageId::alloc_buff; },
                          [](const AllocBuffResponse&) { return MessageId::alloc_buff; },
                          [](const GetDevErrorRequest&) { return MessageId::get_dev_error; },
                          [](const GetDevErrorResponse&) { return MessageId::get_dev_error; },
                          [](const ForceSyncIndication&) { return MessageId::force_sync; },
                      },
                      message);
}

qmi::MessageKind message_kind(const Message& message) {
    return std::visit(
        Overloaded{
            [](const OpenRequest&) { return qmi::MessageKind::request; },
            [](const CloseRequest&) { return qmi::MessageKind::request; },
            [](const RwIovecRequest&) { return qmi::MessageKind::request; },
            [](const AllocBuffRequest&) { return qmi::MessageKind::request; },
            [](const GetDevErrorRequest&) { return qmi::MessageKind::request; },
            [](const ForceSyncIndication&) { return qmi::MessageKind::indication; },
            [](const auto&) { return qmi::MessageKind::response; },
        },
        message);
}

std::string message_name(const Message& message) {
    return std::string(to_string(message_id(message))) + " " +
           std::string(qmi::to_string(message_kind(message)));
}

std::string summary(const Message& message) {
    std::string fields = std::visit(
        Overloaded{
            [](const OpenRequest& m) { return "path=\"" + m.path + "\""; },
            [](const OpenResponse& m) {
                return result_text(m.result) +
                       (m.caller_id ? " caller_id=" + std::to_string(*m.caller_id) : std::string());
            },
            [](const CloseRequest& m) { return "caller_id=" + std::to_string(m.caller_id); },
            [](const CloseResponse& m) { return result_text(m.result); },
            [](const RwIovecRequest& m) {
                std::string text = "caller_id=" + std::to_string(m.caller_id) +
                                   (m.is_write() ? " write" : " read") +
                                   " force_sync=" + std::to_string(m.is_force_sync) + " iovec=[";
                for (std::size_t i = 0; i < m.iovec.size(); ++i) {
                    const IovecEntry& e = m.iovec[i];
                    if (i) text += ", ";
                    text += "sector " + std::to_string(e.sector_addr) + " x" + std::to_string(e.num_sector) +
                            " @" + hex(e.phys_offset, 8);
                }
                return text + "]";
            },
            [](const RwIovecResponse& m) { return result_text(m.result); },
            [](const AllocBuffRequest& m) {
                return "caller_id=" + std::to_string(m.caller_id) + " size=" + std::to_string(m.buff_size);
            },
            [](const AllocBuffResponse& m) {
                return result_text(m.result) +
                       (m.buff_address ? " address=" + hex(*m.buff_address, 8) : std::string());
            },
            [](const GetDevErrorRequest& m) { return "caller_id=" + std::to_string(m.caller_id); },
            [](const GetDevErrorResponse& m) {
                return result_text(m.result) + (m.status ? " status=" + std::to_string(*m.status) : std::string());
            },
            [](const ForceSyncIndication& m) {
                std::string text = "caller_ids=[";
                for (std::size_t i = 0; i < m.caller_ids.size(); ++i)
                    text += (i ? "," : "") + std::to_string(m.caller_ids[i]);
                return text + "]";
            },
        },
        message);
    return message_name(message) + " " + fields;
}

Bytes encode(std::uint16_t txn_id, const Message& message) {
    qmi::MessageWriter w = writer(txn_id, message);
    std::visit(Overloaded{
                   [&](const OpenRequest& m) {
                       w.tlv(0x01, ByteView(reinterpret_cast<const std::uint8_t*>(m.path.data()),
                                            m.path.size()));
                   },
                   [&](const OpenResponse& m) {
                       put_result(w, m.result);
                       if (m.caller_id) w.tlv_u32(0x10, *m.caller_id);
                   },
                   [&](const CloseRequest& m) { w.tlv_u32(0x01, m.caller_id); },
                   [&](const CloseResponse& m) { put_result(w, m.result); },
                   [&](const RwIovecRequest& m) {
                       RMTFS_HIL_ASSERT(m.iovec.size() <= iovec_entries_max, "iovec count does not fit a u8");
                       w.tlv_u32(0x01, m.caller_id);
                       w.tlv_u8(0x02, m.direction);
                       Bytes v;
                       put_u8(v, static_cast<std::uint8_t>(m.iovec.size()));
                       for (const IovecEntry& e : m.iovec) {
                           put_u32(v, e.sector_addr);
                           put_u32(v, e.phys_offset);
                           put_u32(v, e.num_sector);
                       }
                       w.tlv(0x03, v);
                       w.tlv_u8(0x04, m.is_force_sync);
                   },
                   [&](const RwIovecResponse& m) { put_result(w, m.result); },
                   [&](const AllocBuffRequest& m) {
                       w.tlv_u32(0x01, m.caller_id);
                       w.tlv_u32(0x02, m.buff_size);
                   },
                   [&](const AllocBuffResponse& m) {
                       put_result(w, m.result);
                       if (m.buff_address) w.tlv_u64(0x10, *m.buff_address);
                   },
                   [&](const GetDevErrorRequest& m) { w.tlv_u32(0x01, m.caller_id); },
                   [&](const GetDevErrorResponse& m) {
                       put_result(w, m.result);
                       if (m.status) w.tlv_u8(0x10, *m.status);
                   },
                   [&](const ForceSyncIndication& m) {
                       RMTFS_HIL_ASSERT(m.caller_ids.size() <= 0xff, "caller id count does not fit a u8");
                       Bytes v;
                       put_u8(v, static_cast<std::uint8_t>(m.caller_ids.size()));
                       for (std::uint32_t id : m.caller_ids) put_u32(v, id);
                       w.tlv(0x01, v);
                   },
               },
               message);
    return std::move(w).finish();
}

Bytes encode(const Envelope& envelope) { return encode(envelope.txn_id, envelope.message); }

namespace {

template <class T>
Expected<Envelope, DecodeError> finish(FieldReader& reader, std::uint16_t txn_id, T message) {
    if (reader.failed()) return unexpected(reader.error());
    return Envelope{txn_id, Message{std::move(message)}};
}

Expected<Envelope, DecodeError> decode_request(const qmi::MessageView& view, MessageId id,
                                               const std::string& name) {
    const std::uint16_t txn = view.header.txn_id;
    switch (id) {
        case MessageId::open: {
            FieldReader r(view, name, {{0x01, "path", true}});
            OpenRequest m;
            if (auto v = r.value(0x01, 0)) {
                if (v->size() > path_length_max_bytes)
                    r.fail(DecodeErrorCode::rmtfs_path_too_long, 0,
                           "path of OPEN request is " + std::to_string(v->size()) + " bytes, at most " +
                               std::to_string(path_length_max_bytes));
                else
                    m.path.assign(v->begin(), v->end());
            }
            return finish(r, txn, std::move(m));
        }
        case MessageId::close: {
            FieldReader r(view, name, {{0x01, "caller_id", true}});
            return finish(r, txn, CloseRequest{r.u32(0x01)});
        }
        case MessageId::rw_iovec: {
            FieldReader r(view, name,
                          {{0x01, "caller_id", true},
                           {0x02, "direction", true},
                           {0x03, "iovec", true},
                           {0x04, "is_force_sync", true}});
            RwIovecRequest m;
            m.caller_id = r.u32(0x01);
            m.direction = r.u8(0x02);
            if (auto counted = r.counted(0x03, iovec_entry_size_bytes, iovec_entries_max)) {
                ByteReader entries(counted->second);
                for (std::size_t i = 0; i < counted->first; ++i)
                    m.iovec.push_back(IovecEntry{*entries.u32(), *entries.u32(), *entries.u32()});
            }
            m.is_force_sync = r.u8(0x04);
            return finish(r, txn, std::move(m));
        }
        case MessageId::alloc_buff: {
            FieldReader r(view, name, {{0x01, "caller_id", true}, {0x02, "buff_size", true}});
            AllocBuffRequest m;
            m.caller_id = r.u32(0x01);
            m.buff_size = r.u32(0x02);
            return finish(r, txn, m);
        }
        case MessageId::get_dev_error: {
            FieldReader r(view, name, {{0x01, "caller_id", true}});
            return finish(r, txn, GetDevErrorRequest{r.u32(0x01)});
        }
        case MessageId::force_sync: break;
    }
    return unexpected(DecodeError{DecodeErrorCode::rmtfs_message_unknown, 3,
                                  "no RMTFS request has message id " + hex(view.header.msg_id, 4)});
}

Expected<Envelope, DecodeError> decode_response(const qmi::MessageView& view, MessageId id,
                                                const std::string& name) {
    const std::uint16_t txn = view.header.txn_id;
    switch (id) {
        case MessageId::open: {
            FieldReader r(view, name, {result_field, {0x10, "caller_id", false}});
            OpenResponse m{r.result(), r.opt_u32(0x10)};
            return finish(r, txn, m);
        }
        case MessageId::close: {
            FieldReader r(view, name, {result_field});
            return finish(r, txn, CloseResponse{r.result()});
        }
        case MessageId::rw_iovec: {
            FieldReader r(view, name, {result_field});
            return finish(r, txn, RwIovecResponse{r.result()});
        }
        case MessageId::alloc_buff: {
            FieldReader r(view, name, {result_field, {0x10, "buff_address", false}});
            AllocBuffResponse m{r.result(), r.opt_u64(0x10)};
            return finish(r, txn, m);
        }
        case MessageId::get_dev_error: {
            FieldReader r(view, name, {result_field, {0x10, "status", false}});
            GetDevErrorResponse m{r.result(), r.opt_u8(0x10)};
            return finish(r, txn, m);
        }
        case MessageId::force_sync: break;
    }
    return unexpected(DecodeError{DecodeErrorCode::rmtfs_message_unknown, 3,
                                  "no RMTFS response has message id " + hex(view.header.msg_id, 4)});
}

Expected<Envelope, DecodeError> decode_indication(const qmi::MessageView& view, MessageId id,
                                                  const std::string& name) {
    if (id != MessageId::force_sync)
        return unexpected(DecodeError{DecodeErrorCode::rmtfs_message_unknown, 3,
                                      "no RMTFS indication has message id " + hex(view.header.msg_id, 4)});
    FieldReader r(view, name, {{0x01, "caller_id", true}});
    ForceSyncIndication m;
    if (auto counted = r.counted(0x01, 4, force_sync_caller_ids_max)) {
        ByteReader ids(counted->second);
        for (std::size_t i = 0; i < counted->first; ++i) m.caller_ids.push_back(*ids.u32());
    }
    return finish(r, view.header.txn_id, std::move(m));
}

}  // namespace

Expected<Envelope, DecodeError> decode(ByteView message) {
    auto view = qmi::decode_message(message);
    if (!view) return unexpected(view.error());
    const qmi::Header& header = view->header;
    if (header.msg_id < static_cast<std::uint16_t>(MessageId::open) ||
        header.msg_id > static_cast<std::uint16_t>(MessageId::force_sync))
        return unexpected(DecodeError{DecodeErrorCode::rmtfs_message_unknown, 3,
                                      "message id " + hex(header.msg_id, 4) +
                                          " is not an RMTFS message (0x0001..0x0006)"});
    auto id = static_cast<MessageId>(header.msg_id);
    std::string name = std::string(to_string(id)) + " " + std::string(qmi::to_string(header.kind));
    switch (header.kind) {
        case qmi::MessageKind::request: return decode_request(*view, id, name);
        case qmi::MessageKind::response: return decode_response(*view, id, name);
        case qmi::MessageKind::indication: return decode_indication(*view, id, name);
    }
    return unexpected(DecodeError{DecodeErrorCode::qmi_message_type_unknown, 0, "unreachable kind"});
}

}  // namespace rmtfs_hil::rmtfs
