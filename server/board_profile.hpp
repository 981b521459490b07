// A board, as the daemon and the modem see it: where the shared memory is,
// which remoteproc is the modem, which EFS partitions exist. Data, not code:
// a board is a small JSON file (server/boards/, its schema in
// server/boards/board.schema.json); the files there are built in, and a
// user's own file can be named wherever a board is (--board FILE).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/expected.hpp"

namespace rmtfs_hil::server {

// The rmtfs_mem carve-out and the char device the kernel's qcom_rmtfs_mem
// driver makes for it (/dev/qcom_rmtfs_mem<client id>, class "rmtfs").
struct RmtfsMemRegion {
    std::uint64_t phys_addr = 0;
    std::uint64_t size_bytes = 0;
    std::uint32_t client_id = 1;
    // The platform device of the reserved-memory node ("<unit address>.<node name>").
    std::string platform_device;
    std::string of_fullname;  // "/reserved-memory/rmtfs@88f00000"
    // The kernel allocates the major dynamically; any pair unused in the
    // emulated world will do. The driver's minor is the client id.
    std::uint32_t major = 246;

    std::uint32_t minor() const { return client_id; }
    std::string device_name() const { return "qcom_rmtfs_mem" + std::to_string(client_id); }
};

// The modem's remote processor as sysfs shows it.
struct ModemRemoteproc {
    std::string class_device;     // "remoteproc0": /sys/class/remoteproc/<this>
    std::string platform_device;  // "4080000.remoteproc"
    std::string name;             // the class device's `name` attribute
    std::string compatible;       // "qcom,sdm845-mss-pil"
    std::string of_name;          // device-tree node name, "remoteproc"
    std::string of_fullname;      // "/soc@0/remoteproc@4080000"
    std::string driver;           // "qcom-q6v5-mss" (rmtfs -s falls back to this driver's directory)
    // `device/modalias`; `rmtfs -s` picks the remoteproc whose modalias
    // contains "-mpss-pas" or "-mss-pil".
    std::string modalias;
};

// As `rmtfs -s` picks the modem's remoteproc: its `device/modalias`
// contains "-mpss-pas" or "-mss-pil".
inline bool is_modem_modalias(std::string_view modalias) {
    return modalias.find("-mpss-pas") != std::string_view::npos || modalias.find("-mss-pil") != std::string_view::npos;
}

// The size taken for a partition whose profile does not know it (the 845c's
// modemst1): what an emulated board makes, and the room a snapshot needs.
inline constexpr std::uint64_t assumed_partition_bytes = 2 * 1024 * 1024;

// An EFS partition: its GPT label (rmtfs -P) and its file under `rmtfs -o DIR`.
struct EfsPartition {
    std::string label;      // "modemst1"
    std::string file_name;  // "modem_fs1"
    std::optional<std::uint64_t> size_bytes;  // on the real board, when the profile knows it
};

// The disk the EFS partitions are on, as the world's /dev shows it: the
// partitions are block devices <name><separator><number>, numbered from
// `first_partition` in the board's partition order, with minors
// `first_minor + number`. The numbers are the emulation's, not the board's
// partition table (nothing in the daemon depends on them).
struct BlockDisk {
    std::string name;                 // "sda"
    std::string partition_separator;  // "" for sda5, "p" for mmcblk0p5
    std::uint32_t major = 8;
    std::uint32_t first_minor = 0;
    std::uint32_t first_partition = 1;
    // Where partitions are found by label: udev's (`rmtfs -P`'s default)
    // and Android's by-name directories (`rmtfs -o DIR -P`).
    std::vector<std::string> by_name_directories;
};

struct BoardProfile {
    std::string name;         // short id for command lines: "sdm845"
    std::string description;  // "SDM845 / Dragonboard 845c"
    RmtfsMemRegion rmtfs_mem;
    ModemRemoteproc modem;
    std::vector<EfsPartition> partitions;
    BlockDisk disk;
    std::uint32_t modem_node = 0;  // the modem's QRTR node
    // The shared buffer the modem asks ALLOC_BUFF for: it must fit the
    // rmtfs_mem region, or a correct daemon refuses it and the boot fails.
    std::uint32_t modem_buffer_bytes = 0x100000;
    std::uint32_t local_node = 1;  // the application processor's QRTR node

    const EfsPartition* partition(std::string_view label) const;
};

// A profile from a board file's text; `origin` (its path) names it in the
// error, with the member at fault ("board.json: /modem/node: ...").
Expected<BoardProfile, std::string> parse_board(std::string_view text, const std::string& origin);
Expected<BoardProfile, std::string> load_board_file(const std::filesystem::path& path);

// The built-in boards (server/boards/*.json), by name.
std::span<const BoardProfile* const> known_boards();
// The board a run uses when none is named: SDM845 / Dragonboard 845c.
const BoardProfile& default_board();
// A built-in board by BoardProfile::name; nullptr when unknown.
const BoardProfile* find_board(std::string_view name);
// What --board takes: a built-in board's name, or a board file (a path: it
// holds a '/' or ends in ".json"). A file's profile lives until the process
// ends. The error says which boards there are, or what is wrong with the file.
Expected<const BoardProfile*, std::string> resolve_board(std::string_view name_or_file);
// "sdm845 (SDM845 / Dragonboard 845c), ..." for help texts and errors.
std::string describe_known_boards();

}  // namespace rmtfs_hil::server
