// The RMTFS QMI service (service 14, version 1): its six messages in every
// direction they travel, and the protocol's limits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "proto/names.hpp"
#include "proto/bytes.hpp"
#include "proto/decode_error.hpp"
#include "proto/expected.hpp"
#include "proto/qmi.hpp"

namespace rmtfs_hil::rmtfs {

inline constexpr std::uint32_t service_id = 14;
inline constexpr std::uint32_t service_version = 1;
inline constexpr std::uint32_t service_instance = 0;

inline constexpr std::size_t path_length_max_bytes = 256;
inline constexpr std::size_t iovec_entries_max = 255;
inline constexpr std::size_t iovec_entry_size_bytes = 12;
inline constexpr std::size_t force_sync_caller_ids_max = 10;
inline constexpr std::size_t sector_size_bytes = 512;
// The daemon reads requests into a buffer this large; longer ones are cut.
inline constexpr std::size_t server_receive_buffer_bytes = 4096;
// The daemon hands out at most this many caller ids at once (MAX_CALLERS).
inline constexpr std::size_t open_callers_max = 10;

enum class MessageId : std::uint16_t {
    open = 1,
    close = 2,
    rw_iovec = 3,
    alloc_buff = 4,
    get_dev_error = 5,
    force_sync = 6,
};
}  // namespace rmtfs_hil::rmtfs

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::rmtfs::MessageId> {
    using M = rmtfs_hil::rmtfs::MessageId;
    static constexpr std::array entries{Named{M::open, "OPEN"},           Named{M::close, "CLOSE"},
                                        Named{M::rw_iovec, "RW_IOVEC"},   Named{M::alloc_buff, "ALLOC_BUFF"},
                                        Named{M::get_dev_error, "GET_DEV_ERROR"}, Named{M::force_sync, "FORCE_SYNC"}};
};

namespace rmtfs_hil::rmtfs {
// The name, or "unknown message" for an id off the wire that is none of them.
std::string_view to_string(MessageId id);

// TLV 0x02 of every response. Not the generic QMI error numbers.
inline constexpr std::uint16_t result_success = 0;
inline constexpr std::uint16_t result_failure = 1;
inline constexpr std::uint16_t error_none = 0;
inline constexpr std::uint16_t error_internal = 1;
inline constexpr std::uint16_t error_malformed = 2;

struct Result {
    std::uint16_t result = result_success;
    std::uint16_t error = error_none;
    bool ok() const { return result == result_success; }
    bool operator==(const Result&) const = default;
};

struct OpenRequest {
    std::string path;  // raw bytes, no terminator; at most path_length_max_bytes on decode
    bool operator==(const OpenRequest&) const = default;
};
struct OpenResponse {
    Result result;
    std::optional<std::uint32_t> caller_id;
    bool operator==(const OpenResponse&) const = default;
};
struct CloseRequest {
    std::uint32_t caller_id = 0;
    bool operator==(const CloseRequest&) const = default;
};
struct CloseResponse {
    Result result;
    bool operator==(const CloseResponse&) const = default;
};

struct IovecEntry {
    std::uint32_t sector_addr = 0;
    std::uint32_t phys_offset = 0;  // absolute physical address in the shared region
    std::uint32_t num_sector = 0;
    bool operator==(const IovecEntry&) const = default;
};
struct RwIovecRequest {
    std::uint32_t caller_id = 0;
    std::uint8_t direction = 0;  // non-zero: memory -> storage (a write)
    std::vector<IovecEntry> iovec;
    std::uint8_t is_force_sync = 0;
    bool is_write() const { return direction != 0; }
    bool operator==(const RwIovecRequest&) const = default;
};
struct RwIovecResponse {
    Result result;
    bool operator==(const RwIovecResponse&) const = default;
};
struct AllocBuffRequest {
    std::uint32_t caller_id = 0;
    std::uint32_t buff_size = 0;
    bool operator==(const AllocBuffRequest&) const = default;
};
struct AllocBuffResponse {
    Result result;
    std::optional<std::uint64_t> buff_address;
    bool operator==(const AllocBuffResponse&) const = default;
};
struct GetDevErrorRequest {
    std::uint32_t caller_id = 0;
    bool operator==(const GetDevErrorRequest&) const = default;
};
struct GetDevErrorResponse {
    Result result;
    std::optional<std::uint8_t> status;
    bool operator==(const GetDevErrorResponse&) const = default;
};
struct ForceSyncIndication {
    std::vector<std::uint32_t> caller_ids;  // at most force_sync_caller_ids_max on decode
    bool operator==(const ForceSyncIndication&) const = default;
};

using Message = std::variant<OpenRequest, OpenResponse, CloseRequest, CloseResponse, RwIovecRequest,
                             RwIovecResponse, AllocBuffRequest, AllocBuffResponse, GetDevErrorRequest,
                             GetDevErrorResponse, ForceSyncIndication>;

MessageId message_id(const Message& message);
qmi::MessageKind message_kind(const Message& message);
// "OPEN request", "RW_IOVEC response", "FORCE_SYNC indication".
std::string message_name(const Message& message);
// One line for traces: the name and every field.
std::string summary(const Message& message);

struct Envelope {
    std::uint16_t txn_id = 0;
    Message message;
    bool operator==(const Envelope&) const = default;
};

// Encodes TLVs in the order of the service definition, as libqrtr does.
// Counts that do not fit their u8 on the wire are asserted; semantic limits
// (path length, ten FORCE_SYNC ids) are not, so robustness tests can exceed
// them.
Bytes encode(std::uint16_t txn_id, const Message& message);
Bytes encode(const Envelope& envelope);

// Strict: every mandatory TLV present once with its exact size, no unknown
// mandatory TLV (unknown optional ones, 0x10 and up, are skipped), counts
// that agree with their TLV's length and stay within the protocol's limits.
Expected<Envelope, DecodeError> decode(ByteView message);

}  // namespace rmtfs_hil::rmtfs
