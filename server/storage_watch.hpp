// The daemon's I/O as the harness sees it through the shim: its storage files
// and the rmtfs_mem device are watched files (sim/file_watch.hpp). Here live
// the faults on that I/O (EIO, ENOSPC, short writes, failed syncs, errors on
// the memory device), the count of sector writes that process faults key on,
// the durability model behind power loss (what fdatasync made durable, what
// is still only in the page cache), and the opens and closes of the memory
// device that the mem-open coupling policy follows.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/names.hpp"
#include "sim/fabric.hpp"
#include "sim/file_watch.hpp"

namespace rmtfs_hil::server {

// What kind of call a fault fails.
enum class IoCall { open, read, write, sync };
enum class IoTarget { storage, memory };
}  // namespace rmtfs_hil::server

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::server::IoCall> {
    using C = rmtfs_hil::server::IoCall;
    static constexpr std::array entries{Named{C::open, "open"}, Named{C::read, "read"}, Named{C::write, "write"},
                                        Named{C::sync, "sync"}};
};
template <>
struct rmtfs_hil::NameTable<rmtfs_hil::server::IoTarget> {
    using T = rmtfs_hil::server::IoTarget;
    static constexpr std::array entries{Named{T::storage, "storage"}, Named{T::memory, "memory"}};
};

namespace rmtfs_hil::server {
inline std::string_view to_string(IoCall call) { return name_of(call); }
inline std::string_view to_string(IoTarget target) { return name_of(target); }

struct IoFault {
    IoTarget target = IoTarget::storage;
    // Storage: the file's name in the storage directory ("modem_fs1"); empty
    // for any storage file. Ignored for the memory device.
    std::string file;
    IoCall call = IoCall::write;
    // The fault hits the `nth` matching call after it was armed (1: the next
    // one) and the `times - 1` matching calls after it (times 0: every one
    // from then on).
    unsigned nth = 1;
    unsigned times = 1;
    // The call fails with this errno...
    int error = 0;
    // ...or, with error 0, transfers only this many bytes (short read/write).
    std::optional<std::uint32_t> short_bytes;
};
// "1st", "2nd", "11th": how faults count calls and requests.
std::string ordinal(unsigned n);

// "EIO on write of modem_fs1 (1st call)"
std::string describe(const IoFault& fault);

// One sector-sized (or any) write the daemon finished on a storage file.
struct StorageWrite {
    std::string file;          // name in the storage directory
    std::uint64_t offset = 0;
    std::uint32_t bytes = 0;
    int error = 0;             // errno of a failed write
    unsigned writes_so_far = 0;  // successful storage writes since the watch began, this one included
};

// Bytes power loss took back.
struct RevertedRange {
    std::string file;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
};

class StorageWatch final : public sim::FileWatcher {
public:
    // `memory_device`: the rmtfs_mem device as programs name it
    // ("/dev/qcom_rmtfs_mem1"). Faults and I/O land in `fabric`'s trace.
    StorageWatch(std::filesystem::path storage_dir, std::string memory_device, sim::Fabric& fabric);
    ~StorageWatch() override;
    StorageWatch(const StorageWatch&) = delete;
    StorageWatch& operator=(const StorageWatch&) = delete;

    // A storage file is also a partition's block device, by each of `paths`
    // ("/dev/sde1", "/dev/disk/by-partlabel/modemst1", ...): opened so, it
    // keeps `size_bytes` (a write at or past the end fails with ENOSPC, one
    // across it is cut short, as the kernel does for a block device).
    // `directories`: where the by-name paths are, for the watch list.
    void add_partition_device(const std::string& file, std::uint64_t size_bytes, const std::vector<std::string>& paths);
    void watch_directories(std::vector<std::string> directories) { device_directories_ = std::move(directories); }

    // For RMTFS_HIL_WATCH: the storage directory, the memory device, and the
    // partition devices.
    std::string watch_list() const;

    // Reads are asked about only when this is on at the open (a boot reads
    // every sector: tens of thousands of exchanges); the memory device's I/O
    // likewise. Writes and syncs of storage are always asked about.
    void ask_storage_reads(bool on) { ask_storage_reads_ = on; }
    void ask_memory_io(bool on) { ask_memory_io_ = on; }

    // Every storage write the daemon finished; runs while it still waits
    // inside the call.
    void on_write(std::function<void(const StorageWrite&)> listener) { wrote_ = std::move(listener); }
    // The memory device was opened (true) or closed (false); `open_count`
    // is the number of open descriptions after the change.
    void on_memory(std::function<void(bool opened, unsigned open_count)> listener) { memory_ = std::move(listener); }
    // A real call on storage failed with what only the machine causes (no
    // space, I/O error, a read-only file system), or the harness could not
    // keep the files' durability record: the machine's trouble, not the
    // daemon's.
    void on_machine_trouble(std::function<void(const std::string&)> listener) { machine_trouble_ = std::move(listener); }

    // Why `fault` could never hit a call, or nothing: reads of storage or
    // I/O on the memory device that are not asked about, a storage file that
    // does not exist.
    std::optional<std::string> never_fires(const IoFault& fault) const;
    // Arms a fault; returns its index for fault_hits().
    std::size_t arm(IoFault fault);
    void disarm_all();
    // How often each armed fault has hit.
    unsigned fault_hits(std::size_t index) const;

    unsigned storage_writes() const { return storage_writes_; }
    unsigned memory_open_count() const { return static_cast<unsigned>(memory_opens_.size()); }

    // Bytes written to storage since they were last made durable (fdatasync).
    std::uint64_t unsynced_bytes() const;
    // Power loss: every storage file goes back to what was last made durable,
    // as the page cache is lost. Only while no program has the files open for
    // writing (stop the daemon first). Returns what was taken back.
    std::vector<RevertedRange> lose_power();

    // sim::FileWatcher
    sim::OpenAnswer opened(sim::WatchId id, const sim::FileOpening& opening) override;
    sim::CallAnswer call(sim::WatchId id, const sim::FileCall& call) override;
    void done(sim::WatchId id, const sim::CallDone& done) override;
    void closed(sim::WatchId id) override;
    void device_refused(const sim::FileOpening& opening, unsigned major, unsigned minor) override;

private:
    struct Armed {
        IoFault fault;
        unsigned matched = 0;  // matching calls seen since armed
        unsigned hits = 0;
    };
    struct OpenFile {
        IoTarget target;
        std::string file;  // storage: name in the directory
        std::optional<std::uint64_t> device_size;  // opened as a partition's block device
    };
    struct PartitionDevice {
        std::string file;
        std::uint64_t size_bytes = 0;
    };
    // What power loss needs of one storage file written since its last
    // sync: an undo log, the durable bytes of each sector before its first
    // write (memory follows what is unsynced, not the file's size).
    // A file's writes not yet durable: what each sector last durably held.
    // As Linux since 4.13: a failed sync leaves the file's dirty data
    // unwritten yet no longer dirty, so a later successful sync does not
    // make it durable; only writing the sector again does (sync_failed).
    struct Durability {
        std::uint64_t durable_size = 0;
        std::map<std::uint64_t, Bytes> undo;  // by sector number
        std::set<std::uint64_t> sync_failed;  // sectors a failed sync left behind
    };
    // The file's sync failed: its unsynced sectors stay so.
    void sync_failed(const std::string& file);

    std::optional<IoTarget> classify(const std::string& path, OpenFile& file) const;
    // A write to a partition's block device, bounded by its end.
    void bound_by_device(const OpenFile& open, const sim::FileCall& call, sim::CallAnswer& answer);
    // The fault that takes this call, if any (counts the call for every armed fault).
    Armed* take(IoTarget target, const std::string& file, IoCall call);
    // A write of [offset, offset + length) is about to happen.
    void before_write(const std::string& file, std::uint64_t offset, std::uint32_t length);
    std::filesystem::path path_of(const std::string& file) const { return storage_dir_ / file; }

    std::filesystem::path storage_dir_;
    std::string memory_device_;
    std::map<std::string, PartitionDevice> partition_devices_;  // by path
    std::vector<std::string> device_directories_;
    sim::Fabric& fabric_;
    bool ask_storage_reads_ = false;
    bool ask_memory_io_ = false;
    std::function<void(const StorageWrite&)> wrote_;
    std::function<void(const std::string&)> machine_trouble_;
    void machine_trouble(const std::string& what);
    std::function<void(bool, unsigned)> memory_;
    std::vector<Armed> faults_;
    std::map<sim::WatchId, OpenFile> open_;
    std::set<sim::WatchId> memory_opens_;
    std::map<std::string, Durability> durability_;
    // One read-only descriptor per storage file for the undo log, opened at
    // its first write: not one open per sector on the write path.
    std::map<std::string, int> readers_;
    int reader_of(const std::string& file);
    unsigned storage_writes_ = 0;
};

}  // namespace rmtfs_hil::server
