// The board's EFS partitions (modemst1, modemst2, fsg, fsc) as the agent
// finds them, and the snapshot of them that scenarios with
// `storage.board_efs` run on: each partition read once, read-only, into a
// directory under the agent's scratch directory, named as the daemon's
// storage files are (modem_fs1, ...). The daemon of such a scenario works on
// a copy of that copy (`-o`); nothing is ever written to a partition.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "proto/expected.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::hil {

struct FoundPartition {
    std::string board_path;          // as the board names it: "/dev/disk/by-partlabel/modemst1"
    std::filesystem::path path;      // where the agent opens it (under the root)
};

// The first of the profile's by-name directories under `root` that holds
// the partition; nothing if none does.
std::optional<FoundPartition> find_efs_partition(const std::filesystem::path& root, const server::BoardProfile& board,
                                                 const server::EfsPartition& partition);

// Where find_efs_partition looks, for messages: "/dev/disk/by-partlabel, ...".
std::string efs_search_text(const server::BoardProfile& board);

// A partition's size without writing: a regular file's length, or a block
// device's (opened read-only); nothing if neither can be read.
std::optional<std::uint64_t> partition_size(const std::filesystem::path& path);

// Every partition of the profile is on the board.
bool board_has_efs(const std::filesystem::path& root, const server::BoardProfile& board);

// The snapshot; removed when destroyed (and, if the agent is killed, by the
// next run: it is an owned directory).
class EfsSnapshot {
public:
    // Refuses (with the partition and the reason) a partition that is
    // missing, unreadable, of another size than the profile says, or larger
    // than any EFS partition is.
    static Expected<EfsSnapshot, std::string> take(const std::filesystem::path& root, const server::BoardProfile& board,
                                                   const std::filesystem::path& scratch);
    EfsSnapshot(EfsSnapshot&& other) noexcept;
    EfsSnapshot& operator=(EfsSnapshot&&) = delete;
    ~EfsSnapshot();
    const std::filesystem::path& path() const { return path_; }

private:
    explicit EfsSnapshot(std::filesystem::path path) : path_(std::move(path)) {}
    std::filesystem::path path_;
};

// No EFS partition is larger: a bigger one is another partition.
inline constexpr std::uint64_t efs_partition_limit_bytes = 64ull * 1024 * 1024;

}  // namespace rmtfs_hil::hil
