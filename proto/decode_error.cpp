#include "proto/decode_error.hpp"

namespace rmtfs_hil {

std::string_view to_string(DecodeErrorCode code) {
    switch (code) {
        case DecodeErrorCode::packet_empty: return "packet_empty";
        case DecodeErrorCode::packet_length_unaligned: return "packet_length_unaligned";
        case DecodeErrorCode::packet_header_truncated: return "packet_header_truncated";
        case DecodeErrorCode::packet_version_unknown: return "packet_version_unknown";
        case DecodeErrorCode::packet_size_zero: return "packet_size_zero";
        case DecodeErrorCode::packet_length_mismatch: return "packet_length_mismatch";
        case DecodeErrorCode::packet_control_payload_short: return "packet_control_payload_short";
        case DecodeErrorCode::packet_control_type_to_data_port:
            return "packet_control_type_to_data_port";
        case DecodeErrorCode::control_truncated: return "control_truncated";
        case DecodeErrorCode::control_type_unknown: return "control_type_unknown";
        case DecodeErrorCode::qmi_header_truncated: return "qmi_header_truncated";
        case DecodeErrorCode::qmi_message_type_unknown: return "qmi_message_type_unknown";
        case DecodeErrorCode::qmi_length_mismatch: return "qmi_length_mismatch";
        case DecodeErrorCode::qmi_tlv_header_truncated: return "qmi_tlv_header_truncated";
        case DecodeErrorCode::qmi_tlv_overrun: return "qmi_tlv_overrun";
        case DecodeErrorCode::rmtfs_message_unknown: return "rmtfs_message_unknown";
        case DecodeErrorCode::rmtfs_tlv_missing: return "rmtfs_tlv_missing";
        case DecodeErrorCode::rmtfs_tlv_duplicate: return "rmtfs_tlv_duplicate";
        case DecodeErrorCode::rmtfs_tlv_unexpected: return "rmtfs_tlv_unexpected";
        case DecodeErrorCode::rmtfs_tlv_size: return "rmtfs_tlv_size";
        case DecodeErrorCode::rmtfs_path_too_long: return "rmtfs_path_too_long";
        case DecodeErrorCode::rmtfs_count_mismatch: return "rmtfs_count_mismatch";
        case DecodeErrorCode::rmtfs_count_over_limit: return "rmtfs_count_over_limit";
    }
    return "unknown_decode_error";
}

std::string describe(const DecodeError& error) {
    std::string text(to_string(error.code));
    text += " at byte ";
    text += std::to_string(error.offset);
    text += ": ";
    text += error.message;
    return text;
}

}  // namespace rmtfs_hil
