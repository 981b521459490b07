#include "hil/emulated_device/adb_wire.hpp"

#include <algorithm>
#include <charconv>

#include "proto/contract.hpp"

namespace rmtfs_hil::hil::adb {

namespace {

WireError error(WireErrorCode code, std::string message) { return WireError{code, std::move(message)}; }

// Appends to a parser's buffer, first dropping what was consumed once that
// is most of it: a long stream costs memory for what is pending, not for
// what went by.
void append(Bytes& buffer, std::size_t& consumed, ByteView bytes) {
    if (consumed > 0 && consumed >= buffer.size() / 2) {
        buffer.erase(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(consumed));
        consumed = 0;
    }
    buffer.insert(buffer.end(), bytes.begin(), bytes.end());
}

// "STAT", or "0x00ff0102" when the four bytes are not printable.
std::string four_cc(std::uint32_t id) {
    std::string text;
    for (int shift = 0; shift < 32; shift += 8) {
        char c = static_cast<char>(id >> shift & 0xff);
        if (c < 0x20 || c > 0x7e) return hex(id, 8);
        text += c;
    }
    return text;
}

}  // namespace

std::string_view to_string(Command command) { return name_if(command).value_or("unknown"); }

bool is_known(Command command) { return name_if(command).has_value(); }

std::string describe(const WireError& error) { return std::string(name_of(error.code)) + ": " + error.message; }

std::uint32_t checksum(ByteView payload) {
    std::uint32_t sum = 0;
    for (std::uint8_t byte : payload) sum += byte;
    return sum;
}

Expected<Header, WireError> decode_header(ByteView bytes, std::uint32_t max_payload_bytes) {
    ByteReader reader(bytes);
    auto command = reader.u32(), arg0 = reader.u32(), arg1 = reader.u32(), length = reader.u32(),
         sum = reader.u32(), magic = reader.u32();
    if (!magic)
        return unexpected(error(WireErrorCode::header_truncated,
                                std::to_string(bytes.size()) + " bytes, a header is " +
                                    std::to_string(header_size_bytes)));
    if (*magic != (*command ^ 0xffffffffu))
        return unexpected(error(WireErrorCode::bad_magic,
                                "magic " + hex(*magic, 8) + " is not the complement of command " + hex(*command, 8)));
    Header header{static_cast<Command>(*command), *arg0, *arg1, *length, *sum};
    if (!is_known(header.command))
        return unexpected(error(WireErrorCode::unknown_command, "command " + four_cc(*command)));
    if (header.payload_length > max_payload_bytes)
        return unexpected(error(WireErrorCode::payload_too_large,
                                std::string(to_string(header.command)) + " claims " +
                                    std::to_string(header.payload_length) + " payload bytes, the limit is " +
                                    std::to_string(max_payload_bytes)));
    return header;
}

Bytes encode_message(Command command, std::uint32_t arg0, std::uint32_t arg1, ByteView payload) {
    Bytes out;
    out.reserve(header_size_bytes + payload.size());
    const auto code = static_cast<std::uint32_t>(command);
    put_u32(out, code);
    put_u32(out, arg0);
    put_u32(out, arg1);
    put_u32(out, static_cast<std::uint32_t>(payload.size()));
    put_u32(out, checksum(payload));
    put_u32(out, code ^ 0xffffffffu);
    put_bytes(out, payload);
    return out;
}

std::string encode_banner(const DeviceBanner& banner) {
    std::string features;
    for (const std::string& feature : banner.features) features += (features.empty() ? "" : ",") + feature;
    std::string text = "device::ro.product.name=" + banner.product_name + ";ro.product.model=" +
                       banner.product_model + ";ro.product.device=" + banner.product_device +
                       ";features=" + features;
    RMTFS_HIL_ASSERT(text.size() <= banner_max_bytes, "the device banner is longer than adb accepts");
    return text;
}

// ---------------------------------------------------------------------------

namespace shell_v2 {

Bytes encode_packet(PacketId id, ByteView data) {
    Bytes out;
    out.reserve(packet_header_size_bytes + data.size());
    put_u8(out, static_cast<std::uint8_t>(id));
    put_u32(out, static_cast<std::uint32_t>(data.size()));
    put_bytes(out, data);
    return out;
}

Bytes encode_exit(std::uint8_t status) { return encode_packet(PacketId::exit, ByteView(&status, 1)); }

void PacketParser::feed(ByteView bytes) { append(buffer_, consumed_, bytes); }

Expected<std::optional<Packet>, WireError> PacketParser::next() {
    if (failed_) return unexpected(*failed_);
    ByteReader reader(ByteView(buffer_).subspan(consumed_));
    auto id = reader.u8();
    auto length = reader.u32();
    if (!length) return std::optional<Packet>();
    if (*id > packet_id_last)
        failed_ = error(WireErrorCode::shell_packet_unknown_id, "shell packet id " + std::to_string(*id));
    else if (*length > packet_data_max_bytes)
        failed_ = error(WireErrorCode::shell_packet_too_large,
                        "shell packet of " + std::to_string(*length) + " bytes, the limit is " +
                            std::to_string(packet_data_max_bytes));
    else if (static_cast<PacketId>(*id) == PacketId::exit && *length != 1)
        failed_ = error(WireErrorCode::shell_exit_length,
                        "exit packet of " + std::to_string(*length) + " bytes, it carries one");
    if (failed_) return unexpected(*failed_);
    auto data = reader.take(*length);
    if (!data) return std::optional<Packet>();
    consumed_ += reader.offset();
    return std::optional<Packet>(Packet{static_cast<PacketId>(*id), Bytes(data->begin(), data->end())});
}

}  // namespace shell_v2

// ---------------------------------------------------------------------------

namespace sync {

namespace {

constexpr std::uint32_t id_stat = id_of("STAT");
constexpr std::uint32_t id_list = id_of("LIST");
constexpr std::uint32_t id_send = id_of("SEND");
constexpr std::uint32_t id_recv = id_of("RECV");
constexpr std::uint32_t id_data = id_of("DATA");
constexpr std::uint32_t id_done = id_of("DONE");
constexpr std::uint32_t id_quit = id_of("QUIT");
constexpr std::uint32_t id_okay = id_of("OKAY");
constexpr std::uint32_t id_fail = id_of("FAIL");
constexpr std::uint32_t id_dent = id_of("DENT");

bool carries_path(std::uint32_t id) { return id == id_stat || id == id_list || id == id_send || id == id_recv; }

Request make_request(std::uint32_t id, std::uint32_t length, ByteView data) {
    std::string text(data.begin(), data.end());
    switch (id) {
        case id_stat: return Stat{std::move(text)};
        case id_list: return List{std::move(text)};
        case id_send: return Send{std::move(text)};
        case id_recv: return Recv{std::move(text)};
        case id_data: return Data{Bytes(data.begin(), data.end())};
        case id_done: return Done{length};
        default: return Quit{};
    }
}

void put_id(Bytes& out, std::uint32_t id) { put_u32(out, id); }

}  // namespace

std::string describe(const Request& request) {
    struct Describe {
        std::string operator()(const Stat& r) const { return "STAT " + r.path; }
        std::string operator()(const List& r) const { return "LIST " + r.path; }
        std::string operator()(const Send& r) const { return "SEND " + r.target; }
        std::string operator()(const Recv& r) const { return "RECV " + r.path; }
        std::string operator()(const Data& r) const { return "DATA " + std::to_string(r.bytes.size()) + " bytes"; }
        std::string operator()(const Done& r) const { return "DONE mtime " + std::to_string(r.mtime); }
        std::string operator()(const Quit&) const { return "QUIT"; }
    };
    return std::visit(Describe{}, request);
}

void RequestParser::feed(ByteView bytes) { append(buffer_, consumed_, bytes); }

Expected<std::optional<Request>, WireError> RequestParser::next() {
    if (failed_) return unexpected(*failed_);
    ByteReader reader(ByteView(buffer_).subspan(consumed_));
    auto id = reader.u32();
    auto length = reader.u32();
    if (!length) return std::optional<Request>();
    // DONE's length field is the mtime and QUIT's is ignored: no bytes follow.
    const bool has_data = *id != id_done && *id != id_quit;
    if (!carries_path(*id) && *id != id_data && has_data)
        failed_ = error(WireErrorCode::sync_request_unknown_id, "sync request " + four_cc(*id));
    else if (carries_path(*id) && *length > path_max_bytes)
        failed_ = error(WireErrorCode::sync_path_too_long,
                        four_cc(*id) + " path of " + std::to_string(*length) + " bytes, the limit is " +
                            std::to_string(path_max_bytes));
    else if (*id == id_data && *length > data_max_bytes)
        failed_ = error(WireErrorCode::sync_data_too_large,
                        "DATA of " + std::to_string(*length) + " bytes, the limit is " +
                            std::to_string(data_max_bytes));
    if (failed_) return unexpected(*failed_);
    auto data = reader.take(has_data ? *length : 0);
    if (!data) return std::optional<Request>();
    consumed_ += reader.offset();
    return std::optional<Request>(make_request(*id, *length, *data));
}

Expected<SendTarget, WireError> parse_send_target(std::string_view target) {
    const std::size_t comma = target.rfind(',');
    if (comma == std::string_view::npos || comma == 0)
        return unexpected(error(WireErrorCode::sync_send_target, "SEND target '" + std::string(target) +
                                                                     "' is not \"path,mode\""));
    std::string_view digits = target.substr(comma + 1);
    std::uint32_t mode = 0;
    auto [end, code] = std::from_chars(digits.data(), digits.data() + digits.size(), mode);
    if (digits.empty() || code != std::errc() || end != digits.data() + digits.size())
        return unexpected(error(WireErrorCode::sync_send_target,
                                "SEND mode '" + std::string(digits) + "' is not a decimal number"));
    return SendTarget{std::string(target.substr(0, comma)), mode};
}

Bytes encode_stat(std::uint32_t mode, std::uint32_t size, std::uint32_t mtime) {
    Bytes out;
    put_id(out, id_stat);
    put_u32(out, mode);
    put_u32(out, size);
    put_u32(out, mtime);
    return out;
}

Bytes encode_dent(std::uint32_t mode, std::uint32_t size, std::uint32_t mtime, std::string_view name) {
    Bytes out;
    put_id(out, id_dent);
    put_u32(out, mode);
    put_u32(out, size);
    put_u32(out, mtime);
    put_u32(out, static_cast<std::uint32_t>(name.size()));
    out.insert(out.end(), name.begin(), name.end());
    return out;
}

Bytes encode_list_done() {
    Bytes out;
    put_id(out, id_done);
    for (int field = 0; field < 4; ++field) put_u32(out, 0);
    return out;
}

Bytes encode_data(ByteView chunk) {
    RMTFS_HIL_ASSERT(chunk.size() <= data_max_bytes, "a sync DATA chunk larger than adb accepts");
    Bytes out;
    out.reserve(request_header_size_bytes + chunk.size());
    put_id(out, id_data);
    put_u32(out, static_cast<std::uint32_t>(chunk.size()));
    put_bytes(out, chunk);
    return out;
}

Bytes encode_data_done() {
    Bytes out;
    put_id(out, id_done);
    put_u32(out, 0);
    return out;
}

Bytes encode_okay() {
    Bytes out;
    put_id(out, id_okay);
    put_u32(out, 0);
    return out;
}

Bytes encode_fail(std::string_view message) {
    Bytes out;
    put_id(out, id_fail);
    put_u32(out, static_cast<std::uint32_t>(message.size()));
    out.insert(out.end(), message.begin(), message.end());
    return out;
}

}  // namespace sync

}  // namespace rmtfs_hil::hil::adb
