// The ADB wire protocol as Debian 12's adb (1.0.41, protocol 0x01000001)
// speaks it over TCP, from the device's side: the message header, the
// shell_v2 packets inside a shell stream, and the sync protocol inside a
// `sync:` stream. Pure codecs: bytes in, values out, errors as values.
// The facts behind each rule: the design notes' HIL-FACTS.md, "ADB as
// Debian 12's client speaks it".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/expected.hpp"
#include "proto/names.hpp"

namespace rmtfs_hil::hil::adb {

// ---------------------------------------------------------------------------
// Messages: a 24-byte header of six little-endian u32, then the payload.

inline constexpr std::size_t header_size_bytes = 24;
// The version Debian 12's adb sends and expects: checksums are not checked
// by the receiver, and there is no delayed ack.
inline constexpr std::uint32_t protocol_version = 0x01000001;
// What the device offers in its CNXN; the connection uses the smaller of this
// and what the host offered.
inline constexpr std::uint32_t device_max_payload_bytes = 256 * 1024;
// adb refuses a longer connection banner.
inline constexpr std::size_t banner_max_bytes = 4096;

enum class Command : std::uint32_t {
    sync = 0x434e5953,  // SYNC: obsolete, never sent by the host
    cnxn = 0x4e584e43,  // CNXN(version, max payload, "banner")
    auth = 0x48545541,  // AUTH(type, 0, data)
    open = 0x4e45504f,  // OPEN(local id, 0, "service\0"): the device never sends it
    okay = 0x59414b4f,  // OKAY(local id, remote id)
    clse = 0x45534c43,  // CLSE(local id, remote id)
    wrte = 0x45545257,  // WRTE(local id, remote id, data)
    stls = 0x534c5453,  // STLS: TLS upgrade, newer adb only
};

// AUTH message types (arg0).
inline constexpr std::uint32_t auth_token = 1;
inline constexpr std::uint32_t auth_signature = 2;
inline constexpr std::uint32_t auth_rsa_public_key = 3;
inline constexpr std::size_t auth_token_size_bytes = 20;

struct Header {
    Command command = Command::cnxn;
    std::uint32_t arg0 = 0;
    std::uint32_t arg1 = 0;
    std::uint32_t payload_length = 0;
    std::uint32_t checksum = 0;  // as sent; not checked (protocol_version)

    bool operator==(const Header&) const = default;
};

enum class WireErrorCode {
    header_truncated,   // fewer than header_size_bytes
    bad_magic,          // magic is not command ^ 0xffffffff
    unknown_command,    // a well-formed header with a command we do not know
    payload_too_large,  // length above the connection's limit
    shell_packet_unknown_id,
    shell_packet_too_large,
    shell_exit_length,       // an exit packet must carry exactly one byte
    sync_request_unknown_id, // also the v2 requests we do not announce
    sync_path_too_long,
    sync_data_too_large,
    sync_send_target,        // SEND's "path,mode" is malformed
};

struct WireError {
    WireErrorCode code;
    std::string message;  // "bad magic 0x00000000 for command 0x4e584e43"
};

std::string_view to_string(Command command);  // "CNXN"; "unknown" outside the set
bool is_known(Command command);
std::string describe(const WireError& error);  // "bad_magic: bad magic ..."

// The byte sum that older receivers check; ours is always the real one.
std::uint32_t checksum(ByteView payload);

// `bytes` must hold at least header_size_bytes; a length above
// `max_payload_bytes` is an error (never read a payload that large).
Expected<Header, WireError> decode_header(ByteView bytes, std::uint32_t max_payload_bytes);

// Header (checksum and magic filled in) followed by the payload.
Bytes encode_message(Command command, std::uint32_t arg0, std::uint32_t arg1, ByteView payload = {});

// What the device tells the host about itself in its CNXN.
struct DeviceBanner {
    std::string product_name;
    std::string product_model;
    std::string product_device;
    std::vector<std::string> features;  // "shell_v2", "cmd", "fixed_push_mkdir"
};
// "device::ro.product.name=X;ro.product.model=Y;ro.product.device=Z;features=a,b";
// asserted to fit banner_max_bytes.
std::string encode_banner(const DeviceBanner& banner);

// ---------------------------------------------------------------------------
// shell_v2: inside a `shell,v2,...` stream, packets [u8 id][u32 LE length][data].

namespace shell_v2 {

enum class PacketId : std::uint8_t {
    stdin_data = 0,
    stdout_data = 1,
    stderr_data = 2,
    exit = 3,         // one byte: the exit status
    close_stdin = 4,
    window_size = 5,  // "rows x cols, x pixels x y pixels": ignored without a pty
};
inline constexpr std::uint8_t packet_id_last = 5;
inline constexpr std::size_t packet_header_size_bytes = 5;
// The host's packets are bounded by its buffer; anything larger is garbage.
inline constexpr std::size_t packet_data_max_bytes = 1024 * 1024;

struct Packet {
    PacketId id = PacketId::stdin_data;
    Bytes data;

    bool operator==(const Packet&) const = default;
};

Bytes encode_packet(PacketId id, ByteView data);
Bytes encode_exit(std::uint8_t status);

// Packets from a byte stream cut anywhere: feed() what arrives, then take
// packets with next() until it answers nothing. After an error the stream is
// unusable and every next() repeats the error.
class PacketParser {
public:
    void feed(ByteView bytes);
    Expected<std::optional<Packet>, WireError> next();
    std::size_t buffered_bytes() const { return buffer_.size() - consumed_; }

private:
    Bytes buffer_;
    std::size_t consumed_ = 0;
    std::optional<WireError> failed_;
};

}  // namespace shell_v2

// ---------------------------------------------------------------------------
// sync: requests are a 4-byte id, a u32 LE length, and that many bytes, in a
// byte stream that WRTE boundaries cut anywhere.

namespace sync {

// The ids, as the little-endian u32 of their four ASCII letters.
constexpr std::uint32_t id_of(const char (&name)[5]) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(name[0])) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(name[1])) << 8 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(name[2])) << 16 |
           static_cast<std::uint32_t>(static_cast<unsigned char>(name[3])) << 24;
}

inline constexpr std::size_t request_header_size_bytes = 8;
// adb's SYNC_DATA_MAX: no DATA chunk is larger, in either direction.
inline constexpr std::size_t data_max_bytes = 64 * 1024;
// Longer paths are refused by adbd as well.
inline constexpr std::size_t path_max_bytes = 1024;

struct Stat {
    std::string path;
    bool operator==(const Stat&) const = default;
};
struct List {
    std::string path;
    bool operator==(const List&) const = default;
};
struct Send {
    std::string target;  // "path,mode": see parse_send_target
    bool operator==(const Send&) const = default;
};
struct Recv {
    std::string path;
    bool operator==(const Recv&) const = default;
};
struct Data {
    Bytes bytes;
    bool operator==(const Data&) const = default;
};
// Ends a SEND; the length field carries the file's mtime, and no bytes follow.
struct Done {
    std::uint32_t mtime = 0;
    bool operator==(const Done&) const = default;
};
struct Quit {
    bool operator==(const Quit&) const = default;
};
using Request = std::variant<Stat, List, Send, Recv, Data, Done, Quit>;

std::string describe(const Request& request);  // "SEND /data/local/tmp/x,33261"

// Requests from a byte stream cut anywhere, in order, however WRTEs split or
// packed them; used like shell_v2::PacketParser.
class RequestParser {
public:
    void feed(ByteView bytes);
    Expected<std::optional<Request>, WireError> next();
    std::size_t buffered_bytes() const { return buffer_.size() - consumed_; }

private:
    Bytes buffer_;
    std::size_t consumed_ = 0;
    std::optional<WireError> failed_;
};

struct SendTarget {
    std::string path;
    std::uint32_t mode = 0;  // st_mode as the host had it: type and permission bits
    bool operator==(const SendTarget&) const = default;
};
// "path,mode" with mode in decimal; the path may itself contain commas.
Expected<SendTarget, WireError> parse_send_target(std::string_view target);

// Replies.
Bytes encode_stat(std::uint32_t mode, std::uint32_t size, std::uint32_t mtime);  // all 0: no such file
Bytes encode_dent(std::uint32_t mode, std::uint32_t size, std::uint32_t mtime, std::string_view name);
Bytes encode_list_done();  // a DENT-sized DONE ends a listing
Bytes encode_data(ByteView chunk);  // chunk asserted to fit data_max_bytes
Bytes encode_data_done();  // ends a RECV
Bytes encode_okay();       // a SEND landed
Bytes encode_fail(std::string_view message);

}  // namespace sync

}  // namespace rmtfs_hil::hil::adb

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::hil::adb::Command> {
    using C = rmtfs_hil::hil::adb::Command;
    static constexpr std::array entries{Named{C::sync, "SYNC"}, Named{C::cnxn, "CNXN"}, Named{C::auth, "AUTH"},
                                        Named{C::open, "OPEN"}, Named{C::okay, "OKAY"}, Named{C::clse, "CLSE"},
                                        Named{C::wrte, "WRTE"}, Named{C::stls, "STLS"}};
};

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::hil::adb::WireErrorCode> {
    using E = rmtfs_hil::hil::adb::WireErrorCode;
    static constexpr std::array entries{Named{E::header_truncated, "header_truncated"},
                                        Named{E::bad_magic, "bad_magic"},
                                        Named{E::unknown_command, "unknown_command"},
                                        Named{E::payload_too_large, "payload_too_large"},
                                        Named{E::shell_packet_unknown_id, "shell_packet_unknown_id"},
                                        Named{E::shell_packet_too_large, "shell_packet_too_large"},
                                        Named{E::shell_exit_length, "shell_exit_length"},
                                        Named{E::sync_request_unknown_id, "sync_request_unknown_id"},
                                        Named{E::sync_path_too_long, "sync_path_too_long"},
                                        Named{E::sync_data_too_large, "sync_data_too_large"},
                                        Named{E::sync_send_target, "sync_send_target"}};
};
