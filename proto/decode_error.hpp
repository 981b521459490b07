// The one error type every decoder returns: a code a caller can branch on, the
// byte offset where the input went wrong, and a sentence a person can act on
// ("TLV 0x03 claims 3060 bytes, 12 left").
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace rmtfs_hil {

enum class DecodeErrorCode {
    // QRTR link packets (the receive-side rules of the kernel's qrtr_endpoint_post)
    packet_empty,
    packet_length_unaligned,
    packet_header_truncated,
    packet_version_unknown,
    packet_size_zero,
    packet_length_mismatch,
    packet_control_payload_short,
    packet_control_type_to_data_port,
    // QRTR control messages
    control_truncated,
    control_type_unknown,
    // QMI framing
    qmi_header_truncated,
    qmi_message_type_unknown,
    qmi_length_mismatch,
    qmi_tlv_header_truncated,
    qmi_tlv_overrun,
    // RMTFS messages
    rmtfs_message_unknown,
    rmtfs_tlv_missing,
    rmtfs_tlv_duplicate,
    rmtfs_tlv_unexpected,
    rmtfs_tlv_size,
    rmtfs_path_too_long,
    rmtfs_count_mismatch,
    rmtfs_count_over_limit,
};

std::string_view to_string(DecodeErrorCode code);

struct DecodeError {
    DecodeErrorCode code;
    std::size_t offset;  // into the input handed to the decoder
    std::string message;
};

// "packet_length_mismatch at byte 0: ..." — what a log line or a test shows.
std::string describe(const DecodeError& error);

}  // namespace rmtfs_hil
