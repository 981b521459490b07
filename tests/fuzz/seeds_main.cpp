// Writes a starting corpus for each fuzz target from well-formed messages, so
// the fuzzers begin at valid protocol and mutate from there.
// Usage: fuzz-seeds DIR   (creates DIR/<target>/...)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "proto/qrtr_control.hpp"
#include "proto/qrtr_packet.hpp"
#include "proto/rmtfs.hpp"

using namespace rmtfs_hil;
namespace fs = std::filesystem;

namespace {

void write(const fs::path& dir, const std::string& name, const Bytes& bytes) {
    fs::create_directories(dir);
    std::ofstream(dir / name, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                      static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    fs::path root = argv[1];
    using namespace rmtfs;
    const Message samples[] = {
        OpenRequest{"/boot/modem_fs1"},
        OpenResponse{{0, 0}, 1u},
        CloseRequest{1},
        CloseResponse{{1, 1}},
        RwIovecRequest{1, 1, {{0, 0x88f00000, 8}, {8, 0x88f01000, 8}}, 1},
        RwIovecResponse{{0, 0}},
        AllocBuffRequest{1, 0x100000},
        AllocBuffResponse{{0, 0}, 0x88f00000u},
        GetDevErrorRequest{1},
        GetDevErrorResponse{{0, 0}, std::uint8_t{0}},
        ForceSyncIndication{{1, 2, 3}},
    };
    int index = 0;
    for (const Message& m : samples) {
        Bytes qmi = encode(static_cast<std::uint16_t>(index + 1), m);
        std::string name = "seed-" + std::to_string(index++);
        write(root / "rmtfs_message", name, qmi);
        write(root / "qmi_message", name, qmi);
        qrtr::Packet packet{qrtr::version_v1, qrtr::PacketType::data, index % 5 == 0, 0, 0x4000, 1, 14, qmi};
        write(root / "qrtr_packet", name + "-v1", qrtr::encode_v1(packet));
        write(root / "qrtr_packet", name + "-v2", qrtr::encode_v2(packet));
    }
    for (std::uint32_t t = qrtr::packet_type_first; t <= qrtr::packet_type_last; ++t) {
        auto type = static_cast<qrtr::PacketType>(t);
        qrtr::ControlMessage message;
        switch (qrtr::control_layout(type)) {
            case qrtr::ControlLayout::server:
                message = qrtr::ControlMessage::server(type, {rmtfs::service_id, 0, 1, 1, 14});
                break;
            case qrtr::ControlLayout::client: message = qrtr::ControlMessage::client(type, {1, 0x4000}); break;
            case qrtr::ControlLayout::none: message = qrtr::ControlMessage::bare(type); break;
        }
        Bytes payload = qrtr::encode_control(message);
        std::string name = "seed-" + std::string(qrtr::to_string(type));
        write(root / "qrtr_control", name, payload);
        qrtr::Packet packet{qrtr::version_v1, type, false, 0, qrtr::port_control, 1, qrtr::port_control, payload};
        write(root / "qrtr_packet", name, qrtr::encode_v1(packet));
    }
    std::printf("seed corpus written to %s\n", root.c_str());
    return 0;
}
