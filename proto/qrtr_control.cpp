#include "proto/qrtr_control.hpp"

#include <string>

#include "proto/contract.hpp"

namespace rmtfs_hil::qrtr {

ControlLayout control_layout(PacketType type) {
    switch (type) {
        case PacketType::new_server:
        case PacketType::del_server:
        case PacketType::new_lookup:
        case PacketType::del_lookup: return ControlLayout::server;
        case PacketType::bye:
        case PacketType::del_client:
        case PacketType::resume_tx: return ControlLayout::client;
        default: return ControlLayout::none;
    }
}

ControlMessage ControlMessage::server(PacketType type, ServerRecord record) {
    RMTFS_HIL_ASSERT(control_layout(type) == ControlLayout::server, "type carries no server record");
    return ControlMessage{type, record};
}

ControlMessage ControlMessage::client(PacketType type, ClientRecord record) {
    RMTFS_HIL_ASSERT(control_layout(type) == ControlLayout::client, "type carries no client record");
    return ControlMessage{type, record};
}

ControlMessage ControlMessage::bare(PacketType type) {
    RMTFS_HIL_ASSERT(control_layout(type) == ControlLayout::none, "type carries a record");
    return ControlMessage{type, std::monostate{}};
}

Bytes encode_control(const ControlMessage& message) {
    Bytes out;
    out.reserve(control_payload_size_bytes);
    put_u32(out, static_cast<std::uint32_t>(message.type));
    switch (control_layout(message.type)) {
        case ControlLayout::server: {
            const auto* server = std::get_if<ServerRecord>(&message.body);
            RMTFS_HIL_ASSERT(server != nullptr, "server-layout message without a server record");
            RMTFS_HIL_ASSERT(server->instance <= instance_max, "instance does not fit 24 bits");
            RMTFS_HIL_ASSERT(server->version <= version_max, "version does not fit 8 bits");
            put_u32(out, server->service);
            put_u32(out, wire_instance(server->instance, server->version));
            put_u32(out, server->node);
            put_u32(out, server->port);
            break;
        }
        case ControlLayout::client: {
            const auto* client = std::get_if<ClientRecord>(&message.body);
            RMTFS_HIL_ASSERT(client != nullptr, "client-layout message without a client record");
            put_u32(out, client->node);
            put_u32(out, client->port);
            break;
        }
        case ControlLayout::none:
            RMTFS_HIL_ASSERT(std::holds_alternative<std::monostate>(message.body),
                             "record on a message type that carries none");
            break;
    }
    out.resize(control_payload_size_bytes, 0);
    return out;
}

Expected<ControlMessage, DecodeError> decode_control(ByteView payload) {
    if (payload.size() < control_payload_size_bytes)
        return unexpected(DecodeError{DecodeErrorCode::control_truncated, payload.size(),
                                      "control message is " + std::to_string(payload.size()) +
                                          " bytes, needs " +
                                          std::to_string(control_payload_size_bytes)});
    const std::uint8_t* p = payload.data();
    auto type = static_cast<PacketType>(load_u32(p));
    if (!is_known(type))
        return unexpected(DecodeError{DecodeErrorCode::control_type_unknown, 0,
                                      "control command " + std::to_string(load_u32(p)) +
                                          " is not a QRTR type (1..11)"});
    switch (control_layout(type)) {
        case ControlLayout::server: {
            std::uint32_t instance = load_u32(p + 8);
            return ControlMessage::server(
                type, ServerRecord{load_u32(p + 4), instance >> 8, instance & version_max,
                                   load_u32(p + 12), load_u32(p + 16)});
        }
        case ControlLayout::client:
            return ControlMessage::client(type, ClientRecord{load_u32(p + 4), load_u32(p + 8)});
        case ControlLayout::none: break;
    }
    return ControlMessage::bare(type);
}

}  // namespace rmtfs_hil::qrtr
