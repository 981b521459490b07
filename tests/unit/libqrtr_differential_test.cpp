// Our RMTFS and control codecs against Debian's libqrtr, the library the real
// rmtfs daemon is built on. For thousands of seeded random messages of every
// kind: our bytes equal qmi_encode_message's, libqrtr decodes our bytes to the
// same values, and we decode libqrtr's bytes to the same values.
//
// The element-info tables below are written here from the service definition
// (RMTFS-FACTS.md), independently of rmtfs's own sources.
#include <gtest/gtest.h>
#include <libqrtr.h>

#include <cstddef>
#include <cstring>
#include <functional>
#include <random>

#include "proto/qrtr_control.hpp"
#include "proto/rmtfs.hpp"
#include "tests/support/seed.hpp"

namespace rmtfs_hil::rmtfs {
namespace {

constexpr int messages_per_kind = 2000;

// ---- C structs and element-info tables for libqrtr ---------------------------

struct CResult {
    std::uint16_t result;
    std::uint16_t error;
};
struct CIovecEntry {
    std::uint32_t sector_addr;
    std::uint32_t phys_offset;
    std::uint32_t num_sector;
};
struct COpenReq {
    char path[path_length_max_bytes + 1];  // libqrtr writes a terminator after the string
};
struct COpenResp {
    CResult result;
    std::uint8_t caller_id_valid;
    std::uint32_t caller_id;
};
struct CCallerReq {  // CLOSE and GET_DEV_ERROR requests
    std::uint32_t caller_id;
};
struct CResultOnly {  // CLOSE and RW_IOVEC responses
    CResult result;
};
struct CIovecReq {
    std::uint32_t caller_id;
    std::uint8_t direction;
    std::uint32_t iovec_len;
    CIovecEntry iovec[iovec_entries_max];
    std::uint8_t is_force_sync;
};
struct CAllocReq {
    std::uint32_t caller_id;
    std::uint32_t buff_size;
};
struct CAllocResp {
    CResult result;
    std::uint8_t buff_address_valid;
    std::uint64_t buff_address;
};
struct CDevErrorResp {
    CResult result;
    std::uint8_t status_valid;
    std::uint8_t status;
};
struct CForceSync {
    std::uint32_t caller_id_len;
    std::uint32_t caller_id[force_sync_caller_ids_max];
};

#define ELEM(type_, len_, size_, array_, tlv_, struct_, field_, nested_) \
    qmi_elem_info { type_, len_, size_, array_, tlv_, offsetof(struct_, field_), nested_ }
#define END qmi_elem_info { QMI_EOTI, 0, 0, NO_ARRAY, 0, 0, nullptr }

qmi_elem_info result_ei[] = {
    ELEM(QMI_UNSIGNED_2_BYTE, 1, 2, NO_ARRAY, 0, CResult, result, nullptr),
    ELEM(QMI_UNSIGNED_2_BYTE, 1, 2, NO_ARRAY, 0, CResult, error, nullptr),
    END,
};
qmi_elem_info iovec_entry_ei[] = {
    ELEM(QMI_UNSIGNED_4_BYTE, 1, 4, NO_ARRAY, 0, CIovecEntry, sector_addr, nullptr),
    ELEM(QMI_UNSIGNED_4_BYTE, 1, 4, NO_ARRAY, 0, CIovecEntry, phys_offset, nullptr),
    ELEM(QMI_UNSIGNED_4_BYTE, 1, 4, NO_ARRAY, 0, CIovecEntry, num_sector, nullptr),
    END,
};
qmi_elem_info open_req_ei[] = {
    ELEM(QMI_STRING, path_length_max_bytes, 1, NO_ARRAY, 0x01, COpenReq, path, nullptr),
    END,
};
qmi_elem_info open_resp_ei[] = {
    ELEM(QMI_STRUCT, 1, sizeof(CResult), NO_ARRAY, 0x02, COpenResp, result, result_ei),
    ELEM(QMI_OPT_FLAG, 1, 1, NO_ARRAY, 0x10, COpenResp, caller_id_valid, nullptr),
    ELEM(QMI_UNSIGNED_4_BYTE, 1, 4, NO_ARRAY, 0x10, COpenResp, caller_id, nullptr),
    END,
};
qmi_elem_info caller_req_ei[] = {
    ELEM(QMI_UNSIGNED_4_BYTE, 1, 4, NO_ARRAY, 0x01, CCallerReq, caller_id, nullptr),
    END,
};
qmi_elem_info result_only_ei[] = {
    ELEM(QMI_STRUCT, 1, sizeof(CResult), NO_ARRAY, 0x02, CResultOnly, result, result_ei),
    END,
};
qmi_elem_info iovec_req_ei[] = {
    ELEM(QMI_UNSIGNED_4_BYTE, 1, 4, NO_ARRAY, 0x01, CIovecReq, caller_id, nullptr),
    ELEM(QMI_UNSIGNED_1_BYTE, 1, 1, NO_ARRAY, 0x02, CIovecReq, direction, nullptr),
    ELEM(QMI_DATA_LEN, 1, 1, NO_ARRAY, 0x03, CIovecReq, iovec_len, nullptr),
    ELEM(QMI_STRUCT, iovec_entries_max, sizeof(CIovecEntry), VAR_LEN_ARRAY, 0x03, CIovecReq, iovec,
         iovec_entry_ei),
    ELEM(QMI_UNSIGNED_1_BYTE, 1, 1, NO_ARRAY, 0x04, CIovecReq, is_force_sync, nullptr),
    END,
};
qmi_elem_info alloc_req_ei[] = {
    ELEM(QMI_UNSIGNED_4_BYTE, 1, 4, NO_ARRAY, 0x01, CAllocReq, caller_id, nullptr),
    ELEM(QMI_UNSIGNED_4_BYTE, 1, 4, NO_ARRAY, 0x02, CAllocReq, buff_size, nullptr),
    END,
};
qmi_elem_info alloc_resp_ei[] = {
    ELEM(QMI_STRUCT, 1, sizeof(CResult), NO_ARRAY, 0x02, CAllocResp, result, result_ei),
    ELEM(QMI_OPT_FLAG, 1, 1, NO_ARRAY, 0x10, CAllocResp, buff_address_valid, nullptr),
    ELEM(QMI_UNSIGNED_8_BYTE, 1, 8, NO_ARRAY, 0x10, CAllocResp, buff_address, nullptr),
    END,
};
qmi_elem_info dev_error_resp_ei[] = {
    ELEM(QMI_STRUCT, 1, sizeof(CResult), NO_ARRAY, 0x02, CDevErrorResp, result, result_ei),
    ELEM(QMI_OPT_FLAG, 1, 1, NO_ARRAY, 0x10, CDevErrorResp, status_valid, nullptr),
    ELEM(QMI_UNSIGNED_1_BYTE, 1, 1, NO_ARRAY, 0x10, CDevErrorResp, status, nullptr),
    END,
};
qmi_elem_info force_sync_ei[] = {
    ELEM(QMI_DATA_LEN, 1, 1, NO_ARRAY, 0x01, CForceSync, caller_id_len, nullptr),
    ELEM(QMI_UNSIGNED_4_BYTE, force_sync_caller_ids_max, 4, VAR_LEN_ARRAY, 0x01, CForceSync, caller_id, nullptr),
    END,
};

#undef ELEM
#undef END

// ---- conversions between our values and the C structs -----------------------

CResult to_c(const Result& r) { return CResult{r.result, r.error}; }
Result from_c(const CResult& r) { return Result{r.result, r.error}; }

// One kind of message: how to make a random one, and how it maps to libqrtr.
struct Kind {
    const char* name;
    int qmi_type;
    MessageId id;
    qmi_elem_info* ei;
    std::size_t c_size;
    std::function<Message(std::mt19937_64&)> random;
    std::function<void(const Message&, void*)> to_c;
    std::function<Message(const void*)> from_c;
};

std::uint32_t u32(std::mt19937_64& rng) {
    // Bias towards edges: zero, all-ones and small values find more bugs than uniform noise.
    switch (rng() % 4) {
        case 0: return 0;
        case 1: return 0xffffffffu - static_cast<std::uint32_t>(rng() % 3);
        case 2: return static_cast<std::uint32_t>(rng() % 16);
        default: return static_cast<std::uint32_t>(rng());
    }
}
std::uint8_t u8(std::mt19937_64& rng) { return static_cast<std::uint8_t>(rng() % 4 == 0 ? 0 : rng()); }
Result random_result(std::mt19937_64& rng) {
    if (rng() % 2) return Result{result_success, error_none};
    return Result{static_cast<std::uint16_t>(rng()), static_cast<std::uint16_t>(rng())};
}

std::vector<Kind> kinds() {
    std::vector<Kind> all;
    all.push_back(Kind{
        "OPEN request", QMI_REQUEST, MessageId::open, open_req_ei, sizeof(COpenReq),
        [](std::mt19937_64& rng) {
            std::size_t length = rng() % 8 == 0 ? path_length_max_bytes : rng() % (path_length_max_bytes + 1);
            std::string path(length, 'x');
            // libqrtr encodes C strings, so every byte but NUL.
            for (char& c : path) c = static_cast<char>(1 + rng() % 255);
            return Message{OpenRequest{path}};
        },
        [](const Message& m, void* c) {
            const auto& path = std::get<OpenRequest>(m).path;
            std::memcpy(static_cast<COpenReq*>(c)->path, path.data(), path.size());
        },
        [](const void* c) { return Message{OpenRequest{static_cast<const COpenReq*>(c)->path}}; }});
    all.push_back(Kind{
        "OPEN response", QMI_RESPONSE, MessageId::open, open_resp_ei, sizeof(COpenResp),
        [](std::mt19937_64& rng) {
            OpenResponse m{random_result(rng), std::nullopt};
            if (rng() % 2) m.caller_id = u32(rng);
            return Message{m};
        },
        [](const Message& m, void* c) {
            const auto& v = std::get<OpenResponse>(m);
            auto* s = static_cast<COpenResp*>(c);
            s->result = to_c(v.result);
            s->caller_id_valid = v.caller_id.has_value();
            s->caller_id = v.caller_id.value_or(0);
        },
        [](const void* c) {
            const auto* s = static_cast<const COpenResp*>(c);
            OpenResponse m{from_c(s->result), std::nullopt};
            if (s->caller_id_valid) m.caller_id = s->caller_id;
            return Message{m};
        }});
    all.push_back(Kind{
        "CLOSE request", QMI_REQUEST, MessageId::close, caller_req_ei, sizeof(CCallerReq),
        [](std::mt19937_64& rng) { return Message{CloseRequest{u32(rng)}}; },
        [](const Message& m, void* c) { static_cast<CCallerReq*>(c)->caller_id = std::get<CloseRequest>(m).caller_id; },
        [](const void* c) { return Message{CloseRequest{static_cast<const CCallerReq*>(c)->caller_id}}; }});
    all.push_back(Kind{
        "CLOSE response", QMI_RESPONSE, MessageId::close, result_only_ei, sizeof(CResultOnly),
        [](std::mt19937_64& rng) { return Message{CloseResponse{random_result(rng)}}; },
        [](const Message& m, void* c) { static_cast<CResultOnly*>(c)->result = to_c(std::get<CloseResponse>(m).result); },
        [](const void* c) { return Message{CloseResponse{from_c(static_cast<const CResultOnly*>(c)->result)}}; }});
    all.push_back(Kind{
        "RW_IOVEC request", QMI_REQUEST, MessageId::rw_iovec, iovec_req_ei, sizeof(CIovecReq),
        [](std::mt19937_64& rng) {
            RwIovecRequest m{u32(rng), u8(rng), {}, u8(rng)};
            std::size_t count = rng() % 8 == 0 ? iovec_entries_max : rng() % 32;
            for (std::size_t i = 0; i < count; ++i) m.iovec.push_back({u32(rng), u32(rng), u32(rng)});
            return Message{m};
        },
        [](const Message& m, void* c) {
            const auto& v = std::get<RwIovecRequest>(m);
            auto* s = static_cast<CIovecReq*>(c);
            s->caller_id = v.caller_id;
            s->direction = v.direction;
            s->iovec_len = static_cast<std::uint32_t>(v.iovec.size());
            for (std::size_t i = 0; i < v.iovec.size(); ++i)
                s->iovec[i] = CIovecEntry{v.iovec[i].sector_addr, v.iovec[i].phys_offset, v.iovec[i].num_sector};
            s->is_force_sync = v.is_force_sync;
        },
        [](const void* c) {
            const auto* s = static_cast<const CIovecReq*>(c);
            RwIovecRequest m{s->caller_id, s->direction, {}, s->is_force_sync};
            for (std::uint32_t i = 0; i < s->iovec_len; ++i)
                m.iovec.push_back({s->iovec[i].sector_addr, s->iovec[i].phys_offset, s->iovec[i].num_sector});
            return Message{m};
        }});
    all.push_back(Kind{
        "RW_IOVEC response", QMI_RESPONSE, MessageId::rw_iovec, result_only_ei, sizeof(CResultOnly),
        [](std::mt19937_64& rng) { return Message{RwIovecResponse{random_result(rng)}}; },
        [](const Message& m, void* c) { static_cast<CResultOnly*>(c)->result = to_c(std::get<RwIovecResponse>(m).result); },
        [](const void* c) { return Message{RwIovecResponse{from_c(static_cast<const CResultOnly*>(c)->result)}}; }});
    all.push_back(Kind{
        "ALLOC_BUFF request", QMI_REQUEST, MessageId::alloc_buff, alloc_req_ei, sizeof(CAllocReq),
        [](std::mt19937_64& rng) { return Message{AllocBuffRequest{u32(rng), u32(rng)}}; },
        [](const Message& m, void* c) {
            const auto& v = std::get<AllocBuffRequest>(m);
            *static_cast<CAllocReq*>(c) = CAllocReq{v.caller_id, v.buff_size};
        },
        [](const void* c) {
            const auto* s = static_cast<const CAllocReq*>(c);
            return Message{AllocBuffRequest{s->caller_id, s->buff_size}};
        }});
    all.push_back(Kind{
        "ALLOC_BUFF response", QMI_RESPONSE, MessageId::alloc_buff, alloc_resp_ei, sizeof(CAllocResp),
        [](std::mt19937_64& rng) {
            AllocBuffResponse m{random_result(rng), std::nullopt};
            if (rng() % 2) m.buff_address = (static_cast<std::uint64_t>(u32(rng)) << 32) | u32(rng);
            return Message{m};
        },
        [](const Message& m, void* c) {
            const auto& v = std::get<AllocBuffResponse>(m);
            auto* s = static_cast<CAllocResp*>(c);
            s->result = to_c(v.result);
            s->buff_address_valid = v.buff_address.has_value();
            s->buff_address = v.buff_address.value_or(0);
        },
        [](const void* c) {
            const auto* s = static_cast<const CAllocResp*>(c);
            AllocBuffResponse m{from_c(s->result), std::nullopt};
            if (s->buff_address_valid) m.buff_address = s->buff_address;
            return Message{m};
        }});
    all.push_back(Kind{
        "GET_DEV_ERROR request", QMI_REQUEST, MessageId::get_dev_error, caller_req_ei, sizeof(CCallerReq),
        [](std::mt19937_64& rng) { return Message{GetDevErrorRequest{u32(rng)}}; },
        [](const Message& m, void* c) {
            static_cast<CCallerReq*>(c)->caller_id = std::get<GetDevErrorRequest>(m).caller_id;
        },
        [](const void* c) { return Message{GetDevErrorRequest{static_cast<const CCallerReq*>(c)->caller_id}}; }});
    all.push_back(Kind{
        "GET_DEV_ERROR response", QMI_RESPONSE, MessageId::get_dev_error, dev_error_resp_ei, sizeof(CDevErrorResp),
        [](std::mt19937_64& rng) {
            GetDevErrorResponse m{random_result(rng), std::nullopt};
            if (rng() % 2) m.status = u8(rng);
            return Message{m};
        },
        [](const Message& m, void* c) {
            const auto& v = std::get<GetDevErrorResponse>(m);
            auto* s = static_cast<CDevErrorResp*>(c);
            s->result = to_c(v.result);
            s->status_valid = v.status.has_value();
            s->status = v.status.value_or(0);
        },
        [](const void* c) {
            const auto* s = static_cast<const CDevErrorResp*>(c);
            GetDevErrorResponse m{from_c(s->result), std::nullopt};
            if (s->status_valid) m.status = s->status;
            return Message{m};
        }});
    all.push_back(Kind{
        "FORCE_SYNC indication", QMI_INDICATION, MessageId::force_sync, force_sync_ei, sizeof(CForceSync),
        [](std::mt19937_64& rng) {
            ForceSyncIndication m;
            std::size_t count = rng() % (force_sync_caller_ids_max + 1);
            for (std::size_t i = 0; i < count; ++i) m.caller_ids.push_back(u32(rng));
            return Message{m};
        },
        [](const Message& m, void* c) {
            const auto& v = std::get<ForceSyncIndication>(m);
            auto* s = static_cast<CForceSync*>(c);
            s->caller_id_len = static_cast<std::uint32_t>(v.caller_ids.size());
            for (std::size_t i = 0; i < v.caller_ids.size(); ++i) s->caller_id[i] = v.caller_ids[i];
        },
        [](const void* c) {
            const auto* s = static_cast<const CForceSync*>(c);
            ForceSyncIndication m;
            for (std::uint32_t i = 0; i < s->caller_id_len; ++i) m.caller_ids.push_back(s->caller_id[i]);
            return Message{m};
        }});
    return all;
}

// ---- the differential runs ---------------------------------------------------

class LibqrtrDifferential : public ::testing::TestWithParam<std::size_t> {};

TEST_P(LibqrtrDifferential, AgreesWithLibqrtrBothWays) {
    const Kind kind = kinds()[GetParam()];
    std::mt19937_64 rng(testing::run_seed() ^ (0x9e3779b97f4a7c15ull * (GetParam() + 1)));
    std::vector<std::uint8_t> c_struct(kind.c_size);
    std::vector<std::uint8_t> c_decoded(kind.c_size);
    std::vector<std::uint8_t> packet_buffer(65536);
    int byte_identical = 0, libqrtr_decoded = 0, we_decoded = 0;

    for (int i = 0; i < messages_per_kind; ++i) {
        SCOPED_TRACE(std::string(kind.name) + " #" + std::to_string(i) + ", " + testing::replay_hint());
        const auto txn = static_cast<std::uint16_t>(rng());
        const Message message = kind.random(rng);
        ASSERT_EQ(message_id(message), kind.id);

        // 1. Same bytes from both encoders.
        const Bytes ours = encode(txn, message);
        std::fill(c_struct.begin(), c_struct.end(), 0);
        kind.to_c(message, c_struct.data());
        qrtr_packet theirs{};
        theirs.data = packet_buffer.data();
        theirs.data_len = packet_buffer.size();
        ssize_t length = qmi_encode_message(&theirs, kind.qmi_type, static_cast<int>(kind.id), txn,
                                            c_struct.data(), kind.ei);
        ASSERT_GT(length, 0) << "libqrtr refused to encode " << summary(message);
        Bytes libqrtr_bytes(packet_buffer.begin(), packet_buffer.begin() + length);
        ASSERT_EQ(hex_dump(ours), hex_dump(libqrtr_bytes)) << summary(message);
        ++byte_identical;

        // 2. libqrtr decodes our bytes to the same values.
        qrtr_packet ours_packet{};
        ours_packet.data = const_cast<std::uint8_t*>(ours.data());
        ours_packet.data_len = ours.size();
        unsigned int msg_id = 0;
        ASSERT_EQ(qmi_decode_header(&ours_packet, &msg_id), 0) << "libqrtr rejects our header";
        ASSERT_EQ(msg_id, static_cast<unsigned>(kind.id));
        std::fill(c_decoded.begin(), c_decoded.end(), 0);
        unsigned int their_txn = 0;
        int rc = qmi_decode_message(c_decoded.data(), &their_txn, &ours_packet, kind.qmi_type,
                                    static_cast<int>(kind.id), kind.ei);
        ASSERT_GE(rc, 0) << "libqrtr failed to decode our " << summary(message) << ": " << hex_dump(ours);
        ASSERT_EQ(their_txn, txn);
        ASSERT_EQ(kind.from_c(c_decoded.data()), message)
            << "libqrtr read our bytes as " << summary(kind.from_c(c_decoded.data())) << ", we meant "
            << summary(message);
        ++libqrtr_decoded;

        // 3. We decode libqrtr's bytes to the same values.
        auto decoded = decode(libqrtr_bytes);
        ASSERT_TRUE(decoded) << describe(decoded.error()) << "\n  bytes: " << hex_dump(libqrtr_bytes);
        ASSERT_EQ(decoded->txn_id, txn);
        ASSERT_EQ(decoded->message, message) << "we read libqrtr's bytes as " << summary(decoded->message);
        ++we_decoded;
    }
    std::printf("[ libqrtr ] %-22s %d byte-identical, %d decoded by libqrtr, %d decoded by us (%s)\n", kind.name,
                byte_identical, libqrtr_decoded, we_decoded, testing::replay_hint().c_str());
    EXPECT_EQ(we_decoded, messages_per_kind);
}

INSTANTIATE_TEST_SUITE_P(EveryKind, LibqrtrDifferential, ::testing::Range<std::size_t>(0, 11),
                         [](const ::testing::TestParamInfo<std::size_t>& param_info) {
                             std::string name;
                             for (char c : std::string(kinds()[param_info.param].name))
                                 name += (c == ' ') ? '_' : c;
                             return name;
                         });

TEST(LibqrtrDifferential, CoversEveryMessageOnce) {
    std::vector<Kind> all = kinds();
    ASSERT_EQ(all.size(), 11u) << "six messages: five request/response pairs and one indication";
}

}  // namespace
}  // namespace rmtfs_hil::rmtfs

// ---- control messages against qrtr_decode ------------------------------------

namespace rmtfs_hil::qrtr {
namespace {

constexpr int control_messages_per_type = 1000;

ControlMessage random_control(PacketType type, std::mt19937_64& rng) {
    switch (control_layout(type)) {
        case ControlLayout::server:
            return ControlMessage::server(
                type, ServerRecord{static_cast<std::uint32_t>(rng()), static_cast<std::uint32_t>(rng() & instance_max),
                                   static_cast<std::uint32_t>(rng() & version_max), static_cast<std::uint32_t>(rng()),
                                   static_cast<std::uint32_t>(rng())});
        case ControlLayout::client:
            return ControlMessage::client(
                type, ClientRecord{static_cast<std::uint32_t>(rng()),
                                   type == PacketType::bye ? 0 : static_cast<std::uint32_t>(rng())});
        case ControlLayout::none: break;
    }
    return ControlMessage::bare(type);
}

class LibqrtrControl : public ::testing::TestWithParam<std::uint32_t> {};

TEST_P(LibqrtrControl, QrtrDecodeReadsOurControlMessages) {
    const auto type = static_cast<PacketType>(GetParam());
    std::mt19937_64 rng(testing::run_seed() + GetParam());
    int agreed = 0;
    for (int i = 0; i < control_messages_per_type; ++i) {
        SCOPED_TRACE(std::string(to_string(type)) + " #" + std::to_string(i) + ", " + testing::replay_hint());
        ControlMessage message = random_control(type, rng);
        Bytes wire = encode_control(message);
        sockaddr_qrtr from{};
        from.sq_family = AF_QIPCRTR;
        from.sq_node = 1;
        from.sq_port = port_control;
        qrtr_packet theirs{};
        ASSERT_EQ(qrtr_decode(&theirs, wire.data(), wire.size(), &from), 0);
        switch (type) {
            case PacketType::new_server:
            case PacketType::del_server: {
                const auto& s = std::get<ServerRecord>(message.body);
                ASSERT_EQ(theirs.type, static_cast<int>(type));
                ASSERT_EQ(theirs.service, s.service);
                ASSERT_EQ(theirs.instance, s.instance);
                ASSERT_EQ(theirs.version, s.version);
                ASSERT_EQ(theirs.node, s.node);
                ASSERT_EQ(theirs.port, s.port);
                break;
            }
            case PacketType::del_client:
                ASSERT_EQ(theirs.type, static_cast<int>(type));
                ASSERT_EQ(theirs.node, std::get<ClientRecord>(message.body).node);
                ASSERT_EQ(theirs.port, std::get<ClientRecord>(message.body).port);
                break;
            case PacketType::bye:
                ASSERT_EQ(theirs.type, static_cast<int>(type));
                ASSERT_EQ(theirs.node, std::get<ClientRecord>(message.body).node);
                break;
            default:
                // libqrtr interprets only what a client needs; it reports the rest as type 0.
                ASSERT_EQ(theirs.type, 0) << "libqrtr now interprets " << to_string(type)
                                          << ": extend this comparison";
                break;
        }
        auto ours = decode_control(wire);
        ASSERT_TRUE(ours) << describe(ours.error());
        ASSERT_EQ(*ours, message);
        ++agreed;
    }
    std::printf("[ libqrtr ] %-22s %d control messages decoded alike (%s)\n", std::string(to_string(type)).c_str(),
                agreed, testing::replay_hint().c_str());
}

INSTANTIATE_TEST_SUITE_P(EveryType, LibqrtrControl, ::testing::Range<std::uint32_t>(packet_type_first, packet_type_last + 1),
                         [](const ::testing::TestParamInfo<std::uint32_t>& param_info) {
                             return std::string(to_string(static_cast<PacketType>(param_info.param)));
                         });

TEST(LibqrtrControl, DataFromAnOrdinaryPortIsPassedThrough) {
    Bytes wire = {0, 1, 0, 1, 0, 0, 0};
    sockaddr_qrtr from{};
    from.sq_family = AF_QIPCRTR;
    from.sq_node = 0;
    from.sq_port = 0x4000;
    qrtr_packet theirs{};
    ASSERT_EQ(qrtr_decode(&theirs, wire.data(), wire.size(), &from), 0);
    EXPECT_EQ(theirs.type, static_cast<int>(PacketType::data));
    EXPECT_EQ(theirs.node, 0u);
    EXPECT_EQ(theirs.port, 0x4000u);
    EXPECT_EQ(theirs.data_len, wire.size());
}

}  // namespace
}  // namespace rmtfs_hil::qrtr
