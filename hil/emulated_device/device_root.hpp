// The emulated device's file system and board: a directory on the host (the
// device root) that every device path maps into, and the board made inside it
// from a board profile — the modem's remoteproc in /sys (with its platform
// device's modalias), the rmtfs_mem char device and its /sys/class/rmtfs
// attributes, the EFS partitions as files in /dev/disk/by-partlabel,
// /etc/os-release, an empty /data/local/tmp —
// with the board state a reboot resets (system services, the remoteproc
// state) and the record of every write attempted on a partition.
#pragma once

#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/expected.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::hil::emulated {

// Where the device's log lines go; may be called from any thread.
using LogSink = std::function<void(std::string_view line)>;

// A file descriptor the device owns, closed with it.
class FileDescriptor {
public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : fd_(fd) {}
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
    FileDescriptor& operator=(FileDescriptor&& other) noexcept {
        reset(other.release());
        return *this;
    }
    ~FileDescriptor() { reset(); }

    int get() const { return fd_; }
    explicit operator bool() const { return fd_ >= 0; }
    int release() {
        int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd = -1);

private:
    int fd_ = -1;
};

// ---------------------------------------------------------------------------
// What a board is.

struct PartitionDescription {
    std::string label;  // its GPT partition label: /dev/disk/by-partlabel/<label>
    std::uint64_t size_bytes = 0;
};

// The emulated board made from a board profile (server/boards/): the
// profile's hardware, and what a Debian image on it shows.
struct BoardDescription {
    // Its name is what --board names, and ro.product.name and .device.
    const server::BoardProfile* profile = nullptr;
    std::string product_model;  // ro.product.model: the board part of its description
    std::string machine = "aarch64";  // `uname -m`
    // After every boot; empty: the board's QRTR world keeps the state (board_world.hpp).
    std::string remoteproc_state = "running";
    // The profile's partitions; one whose size the profile does not know is
    // emulated with server::assumed_partition_bytes.
    std::vector<PartitionDescription> partitions;
    // systemd units the board runs, "rmtfs" for rmtfs.service, all active after a boot.
    std::vector<std::string> services = {"rmtfs"};
    // rmtfs.service's command line, as Debian 12 ships it.
    std::string rmtfs_command_line = "/usr/bin/rmtfs -r -P -s";
};

BoardDescription describe_board(const server::BoardProfile& profile);

// The bytes a freshly made partition file holds: each 4 KiB block starts with
// "rmtfs-hil emulated partition <label> block <n>\n", the rest is 0xa5. A test
// compares against it to prove a partition untouched.
Bytes partition_pattern(std::string_view label, std::uint64_t size_bytes);

// ---------------------------------------------------------------------------
// Device paths.

struct PathError {
    int error_number = 0;  // EACCES for an escape, else what the file system said
    std::string message;   // "/data/../../etc: permission denied (outside the device root)"
};

// Maps device paths ("/data/local/tmp/x", relative ones from "/") to host paths
// inside the root. A path whose ".." climbs above "/", or whose symlinks lead
// outside the root, is refused with EACCES; the rest of the path need not
// exist. The check is made when resolving: a program on the device could swap
// a directory for a symlink afterwards, which the emulation does not defend.
class DeviceRoot {
public:
    explicit DeviceRoot(std::filesystem::path host_root);  // must exist

    const std::filesystem::path& host_root() const { return root_; }

    enum class Last { follow, no_follow };
    // `no_follow`: a symlink as the last component is the result itself (rm).
    Expected<std::filesystem::path, PathError> resolve(std::string_view device_path, Last last = Last::follow) const;
    // The device path of a host path inside the root: "/dev/disk/by-partlabel/fsg".
    std::string device_path_of(const std::filesystem::path& host_path) const;
    // `host_path` is `device_dir` or inside it (device_dir: "/dev").
    bool within(const std::filesystem::path& host_path, std::string_view device_dir) const;

private:
    bool inside(const std::filesystem::path& host_path) const;

    std::filesystem::path root_;  // canonical
};

// ---------------------------------------------------------------------------
// The board: its tree in the device root, and the state that lives in RAM on a
// real board. Thread-safe: tests read the records while the device runs.

enum class ServiceState { active, inactive };
std::string_view to_string(ServiceState state);

struct ServiceTransition {
    std::string unit;  // "rmtfs.service"
    ServiceState from = ServiceState::inactive;
    ServiceState to = ServiceState::inactive;
    std::string cause;  // "systemctl stop rmtfs", "reboot"
};

// A write attempted on a partition: by any process, seen by inotify, or a
// sync push the device refused.
struct BlockDeviceWrite {
    std::string path;  // device path: "/dev/disk/by-partlabel/modemst1"
    std::string what;  // "modified", "closed after being opened for writing", "sync push refused", ...
};

class Board {
public:
    // Makes the tree (files already there are overwritten, /data/local/tmp is
    // kept) and starts watching the partitions; throws std::system_error when
    // the host refuses.
    Board(boost::asio::io_context& io, DeviceRoot& root, const BoardDescription& description, LogSink log);
    ~Board();
    Board(const Board&) = delete;
    Board& operator=(const Board&) = delete;

    const BoardDescription& description() const { return description_; }

    // What a reboot resets: every service active again, the remoteproc state.
    // Partitions and /data survive, as on a board.
    void reboot();

    // "rmtfs" or "rmtfs.service"; nothing for a unit the board does not have.
    std::optional<ServiceState> service_state(std::string_view unit) const;
    // Records a transition even when the state does not change (a restart),
    // then tells on_service_change.
    bool set_service_state(std::string_view unit, ServiceState state, std::string cause);
    // Each transition, after it is recorded ("rmtfs.service", its new state):
    // what makes a service's daemon run, where the device has one. Set before
    // the device starts; called on the thread that made the transition.
    std::function<void(const std::string& unit, ServiceState state)> on_service_change;
    std::vector<ServiceTransition> service_history() const;

    // A write refused before it reached a partition (a sync push to /dev).
    void record_refused_write(std::string device_path, std::string what);
    // Every write attempted so far, including those a process made an instant
    // ago: inotify's queue is read first, so a caller that waited for the
    // writer to finish sees its writes.
    std::vector<BlockDeviceWrite> block_device_writes();
    // Stops the asynchronous wait (a stopping device must let its loop run
    // out of work); block_device_writes() still reads what is queued.
    void stop_watching();

private:
    void make_tree();
    void write_remoteproc_state();
    void watch_partitions();
    void wait_for_events();
    void read_events_locked();  // mutex_ held
    void record_locked(BlockDeviceWrite write);
    static std::string unit_name(std::string_view unit);

    DeviceRoot& root_;
    BoardDescription description_;
    LogSink log_;

    mutable std::mutex mutex_;
    std::map<std::string, ServiceState> services_;  // by unit name
    std::vector<ServiceTransition> service_history_;
    std::vector<BlockDeviceWrite> block_device_writes_;
    std::map<int, std::string> watched_;  // inotify watch descriptor -> device path
    boost::asio::posix::stream_descriptor inotify_;
};

}  // namespace rmtfs_hil::hil::emulated
