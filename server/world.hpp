// The emulated device world: one directory that programs under test see as
// a Qualcomm board's /sys, /dev and EFS storage, through umockdev's preload
// library (paths) and the rmtfs-hil shim (fstat of the char device, QRTR,
// remoteproc state).
//
//   <root>/
//     umockdev/                 UMOCKDEV_DIR: umockdev's testbed
//       sys/devices/platform/<rmtfs_mem platform device>/rmtfs/qcom_rmtfs_mem1/
//           uevent dev phys_addr size client_id subsystem-> device->
//       sys/class/rmtfs/qcom_rmtfs_mem1 ->      sys/dev/char/MAJ:MIN ->
//       sys/devices/platform/4080000.remoteproc/ (modalias, driver->, subsystem->)
//           remoteproc/remoteproc0/ (name, state, device->, subsystem->)
//       sys/class/remoteproc/remoteproc0 ->     sys/bus/platform/{devices,drivers}/...
//       dev/qcom_rmtfs_mem1     regular file, exactly the region's size: the
//                               shared memory (offset = phys address - phys_addr)
//       dev/.node/qcom_rmtfs_mem1 -> "MAJ:MIN"  (umockdev: stat() shows a char device)
//       dev/sde1 ... dev/sde4   the EFS partitions as block devices (`rmtfs -P`):
//                               hard links to the storage files (sticky bit:
//                               umockdev's stat() shows a block device)
//       dev/disk/by-partlabel/modemst1 -> ../../sde1, and the same in each of
//                               the board's by-name directories (dev/block/by-name ...)
//       dev/.node/sde1, dev/.node/disk_by-partlabel_modemst1 ... -> "MAJ:MIN"
//       sys/block/sde/sde1/ (uevent with PARTNAME, partition, size, dev)
//       sys/class/block/sde1 ->                 sys/dev/block/MAJ:MIN ->
//       ioctl/_default          listening socket umockdev's preload must reach
//                               on every open() of a testbed /dev node
//     devices                   "c|b MAJ MIN /abs/path/of/the/node" per device node (the shim's fstat)
//     storage/                  `rmtfs -o` directory: modem_fs1, modem_fs2, modem_fsg, modem_fsc
//
// umockdev 0.17 (Debian 12) facts this layout answers: its preload redirects
// /sys/... always and /dev/... when the file exists in the testbed; an open()
// of a redirected /dev node connects to ioctl/<path> or ioctl/_default and
// exit(1)s ("Failed to connect to ioctl socket") when nothing listens; its
// fstat() of a regular-file node reports a regular file (st_rdev 0), which is
// why the shim needs `devices`. UmockdevIoctlPassthrough serves the socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/expected.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::server {

inline constexpr std::uint64_t default_partition_size_bytes = 2 * 1024 * 1024;
// mkdtemp template under $TMPDIR (or /tmp) for a world the harness owns.
inline constexpr std::string_view world_directory_prefix = "rmtfs-hil-";
// In a world directory the harness made: "PID STARTTIME" of the process that
// owns it. The next world made in the same place removes worlds whose owner
// is gone; a kept world loses the file and stays.
inline constexpr const char* world_owner_file = ".owner";

// A fresh directory under `base` named world_directory_prefix + `tag` +
// six random characters, owned by this process (world_owner_file): first
// removes those this harness made whose owner is gone (a SIGKILLed run), so
// nothing outlives the next run. Returns its path or why it could not.
Expected<std::filesystem::path, std::string> make_owned_directory(const std::filesystem::path& base,
                                                                  std::string_view tag = "");
// umockdev's preload library (Debian package umockdev).
inline constexpr std::string_view umockdev_preload_soname = "libumockdev-preload.so.0";

// Environment variables a program in the world gets (besides UMOCKDEV_DIR
// and LD_PRELOAD). RMTFS_HIL_WORLD is the shim's SHIM_ENV_WORLD.
inline constexpr std::string_view world_environment_variable = "RMTFS_HIL_WORLD";
inline constexpr std::string_view storage_environment_variable = "RMTFS_HIL_STORAGE";

struct WorldError {
    std::string message;  // names the path and the reason
};

// What the partition files hold at creation.
struct StorageContent {
    enum class Fill {
        zeros,    // sparse zero files of WorldOptions::partition_size_bytes
        pattern,  // deterministic bytes from `seed` (and the partition label)
        copy,     // copied from `source`: a directory with modem_fs1 ... (a
                  // board's snapshot), or one file copied to every partition;
                  // the copies keep their own sizes
    };
    Fill fill = Fill::zeros;
    std::uint64_t seed = 0;
    std::filesystem::path source;

    static StorageContent zeros() { return {}; }
    static StorageContent pattern(std::uint64_t seed_value) { return {Fill::pattern, seed_value, {}}; }
    static StorageContent copy_from(std::filesystem::path from) { return {Fill::copy, 0, std::move(from)}; }
};

// Makes one file per partition of `profile` in `storage` (an existing
// directory) as `content` says; why not, naming the file.
std::optional<std::string> fill_storage(const std::filesystem::path& storage, const BoardProfile& profile,
                                        std::uint64_t partition_size_bytes, const StorageContent& content);

struct WorldOptions {
    // Leave the directory behind when the World goes (for a post-mortem).
    bool keep = false;
    // `--storage DIR`: an existing directory used as is for `rmtfs -o`. The
    // World never writes, truncates or removes anything in it.
    std::optional<std::filesystem::path> storage;
    std::uint64_t partition_size_bytes = default_partition_size_bytes;
    StorageContent storage_content;
    // The rmtfs-hil preload shim; empty: LD_PRELOAD carries umockdev's only.
    std::filesystem::path shim_library;
    // Empty: found in the system's library directories.
    std::filesystem::path umockdev_preload;
};

// An EFS partition as a block device of the world. Its node is the storage
// file itself (a hard link), so the daemon reaches the same bytes through
// `-o DIR` and through `-P`; unlike the file, the device never grows.
struct PartitionDevice {
    std::string label;         // "modemst1"
    std::string file_name;     // "modem_fs1"
    std::string node;          // "/dev/sde1", as a program names it
    std::uint32_t major = 0;
    std::uint32_t minor = 0;
    std::uint64_t size_bytes = 0;
    // The node shares the storage file's inode; false when the storage is
    // the user's on another file system (then the node is a symlink to it,
    // and stat() does not show a block device).
    bool same_inode = true;
};

struct MemoryAccessError {
    std::uint64_t phys_addr = 0;
    std::size_t length = 0;
    std::string message;  // "0x88fffff0 + 32 bytes ends past the region 0x88f00000..0x89100000"
};

class World {
public:
    // Builds the world in `root_dir`: empty path → a fresh directory under
    // $TMPDIR or /tmp; a path that does not exist → created. Either is owned:
    // removed whole with the World (with whatever else the harness put in it)
    // unless kept. An existing empty directory → filled, and only what the
    // World made in it is removed. The root is made canonical (no symlinks).
    static Expected<World, WorldError> create(const std::filesystem::path& root_dir, const BoardProfile& profile,
                                              WorldOptions options = {});

    World(World&& other) noexcept;
    World& operator=(World&& other) noexcept;
    World(const World&) = delete;
    World& operator=(const World&) = delete;
    ~World();

    const BoardProfile& profile() const { return profile_; }
    const std::filesystem::path& root() const { return root_; }
    std::filesystem::path umockdev_dir() const;
    std::filesystem::path storage_dir() const { return storage_; }
    bool storage_is_users() const { return storage_is_users_; }
    std::filesystem::path devices_file() const;
    // The EFS partitions as block devices, in the board's partition order.
    const std::vector<PartitionDevice>& partition_devices() const { return partition_devices_; }
    // The by-name paths of a partition device: "/dev/disk/by-partlabel/modemst1", ...
    std::vector<std::string> by_name_paths(const PartitionDevice& device) const;
    // The backing file of /dev/qcom_rmtfs_mem<client id> in the testbed.
    std::filesystem::path shared_memory_file() const;
    // The modem remoteproc's `state` file in the testbed (initially "offline\n").
    std::filesystem::path remoteproc_state_file() const;
    // The path a program names to reach it: "/sys/class/remoteproc/remoteproc0/state".
    std::string remoteproc_state_path() const;
    const std::filesystem::path& umockdev_preload() const { return umockdev_preload_; }
    const std::filesystem::path& shim_library() const { return shim_library_; }
    // The storage file of a partition, by label ("modemst1"); error when the
    // board has no such partition.
    Expected<std::filesystem::path, WorldError> partition_file(std::string_view label) const;

    // `base` with the world's variables set: RMTFS_HIL_WORLD, UMOCKDEV_DIR,
    // RMTFS_HIL_STORAGE, and LD_PRELOAD = shim:umockdev-preload, followed by
    // whatever LD_PRELOAD `base` had.
    std::vector<std::string> environment(std::vector<std::string> base) const;

    // The shared memory as the modem sees it, by physical address; bounds are
    // the board's region.
    Expected<Bytes, MemoryAccessError> read_shared_memory(std::uint64_t phys_addr, std::size_t length) const;
    Expected<std::size_t, MemoryAccessError> write_shared_memory(std::uint64_t phys_addr, ByteView bytes) const;

    // The listening socket at umockdev/ioctl/_default (for UmockdevIoctlPassthrough).
    int umockdev_ioctl_listener() const { return ioctl_listener_; }

    // Decide late: a failed run keeps its world for inspection.
    void keep(bool keep_directory) { keep_ = keep_directory; }
    bool kept() const { return keep_; }

private:
    World() = default;
    void release() noexcept;
    // The partition devices over the storage files; the failure, if any.
    std::optional<std::string> build_partition_devices();

    BoardProfile profile_;
    std::filesystem::path root_;
    std::filesystem::path storage_;
    std::filesystem::path umockdev_preload_;
    std::filesystem::path shim_library_;
    bool owns_root_ = false;
    bool storage_is_users_ = false;
    bool keep_ = false;
    std::vector<std::filesystem::path> created_entries_;  // in a root the World does not own
    std::vector<PartitionDevice> partition_devices_;
    int shared_memory_fd_ = -1;
    int ioctl_listener_ = -1;
};

// umockdev's preload library in the usual library directories; empty when
// not installed.
std::filesystem::path find_umockdev_preload();

}  // namespace rmtfs_hil::server
