#include "server/board_profile.hpp"

#include <array>

namespace rmtfs_hil::server {

namespace {

// Every Qualcomm modem uses the same four partitions and file names (the
// daemon's fixed table).
std::vector<EfsPartition> standard_partitions() {
    return {{"modemst1", "modem_fs1"}, {"modemst2", "modem_fs2"}, {"fsg", "modem_fsg"}, {"fsc", "modem_fsc"}};
}

ModemRemoteproc mss_pil_modem(const std::string& soc, const std::string& of_parent) {
    ModemRemoteproc modem;
    modem.class_device = "remoteproc0";
    modem.platform_device = "4080000.remoteproc";
    modem.name = "4080000.remoteproc";
    modem.compatible = "qcom," + soc + "-mss-pil";
    modem.of_name = "remoteproc";
    modem.of_fullname = of_parent + "/remoteproc@4080000";
    modem.driver = "qcom-q6v5-mss";
    modem.modalias = "of:NremoteprocT(null)C" + modem.compatible;
    return modem;
}

// udev's by-partlabel links (Debian, `rmtfs -P`), and Android's by-name
// links, short and under the storage controller's platform device.
std::vector<std::string> by_name_directories(const std::string& storage_controller) {
    return {"/dev/disk/by-partlabel", "/dev/block/by-name", "/dev/block/platform/" + storage_controller + "/by-name"};
}

BoardProfile make_sdm845() {
    BoardProfile board;
    board.name = "sdm845";
    board.description = "SDM845 / Dragonboard 845c";
    // arch/arm64/boot/dts/qcom/sdm845.dtsi: rmtfs@88f00000, qcom,client-id = <1>
    board.rmtfs_mem.phys_addr = 0x88f00000;
    board.rmtfs_mem.size_bytes = 0x200000;
    board.rmtfs_mem.client_id = 1;
    board.rmtfs_mem.platform_device = "88f00000.rmtfs";
    board.rmtfs_mem.of_fullname = "/reserved-memory/rmtfs@88f00000";
    board.modem = mss_pil_modem("sdm845", "/soc@0");
    board.partitions = standard_partitions();
    // UFS: SCSI disks, major 8, 16 minors each.
    board.disk = BlockDisk{"sde", "", 8, 64, 1, by_name_directories("soc@0/1d84000.ufshc")};
    return board;
}

BoardProfile make_apq8016() {
    BoardProfile board;
    board.name = "apq8016";
    board.description = "APQ8016 / Dragonboard 410c";
    // arch/arm64/boot/dts/qcom/msm8916.dtsi: rmtfs@86700000, 0xe0000 bytes
    board.rmtfs_mem.phys_addr = 0x86700000;
    board.rmtfs_mem.size_bytes = 0xe0000;
    board.rmtfs_mem.client_id = 1;
    board.rmtfs_mem.platform_device = "86700000.rmtfs";
    board.rmtfs_mem.of_fullname = "/reserved-memory/rmtfs@86700000";
    // The region is smaller than the 1 MiB the SDM845 modem takes: the
    // modem's buffer is the whole of it.
    board.modem_buffer_bytes = 0xe0000;
    board.modem = mss_pil_modem("msm8916", "/soc@0");
    board.partitions = standard_partitions();
    // eMMC: major 179.
    board.disk = BlockDisk{"mmcblk0", "p", 179, 0, 8, by_name_directories("soc@0/7824900.mmc")};
    return board;
}

}  // namespace

const EfsPartition* BoardProfile::partition(std::string_view label) const {
    for (const auto& candidate : partitions)
        if (candidate.label == label) return &candidate;
    return nullptr;
}

const BoardProfile& sdm845_dragonboard_845c() {
    static const BoardProfile board = make_sdm845();
    return board;
}

const BoardProfile& apq8016_dragonboard_410c() {
    static const BoardProfile board = make_apq8016();
    return board;
}

const BoardProfile& default_board() { return sdm845_dragonboard_845c(); }

std::span<const BoardProfile* const> known_boards() {
    static const std::array<const BoardProfile*, 2> boards{&sdm845_dragonboard_845c(), &apq8016_dragonboard_410c()};
    return boards;
}

const BoardProfile* find_board(std::string_view name) {
    for (const BoardProfile* board : known_boards())
        if (board->name == name) return board;
    return nullptr;
}

}  // namespace rmtfs_hil::server
