#include "hil/emulated_device/device_root.hpp"

#include <fcntl.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

namespace rmtfs_hil::hil::emulated {

namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t kib = 1024;
// The pattern's unit: the sector size of the 845c's UFS.
constexpr std::uint64_t pattern_block_bytes = 4 * kib;
constexpr std::uint8_t pattern_fill = 0xa5;

// Every event that means someone changed, or could have changed, a partition.
constexpr std::uint32_t partition_watch_mask = IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;

constexpr std::string_view debian_os_release = R"os(PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
VARIANT="rmtfs-hil emulated board"
VARIANT_ID=rmtfs-hil-emulated
)os";

void write_file(const fs::path& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
    out.close();
    if (!out) throw std::system_error(errno, std::generic_category(), "cannot write " + path.string());
}

PathError escape_error(std::string_view device_path, std::string_view why) {
    return PathError{EACCES, std::string(device_path) + ": permission denied (" + std::string(why) + ")"};
}

// The words of a device path after "." and ".." are applied; nothing when a
// ".." would climb above "/".
std::optional<std::vector<std::string>> lexical_parts(std::string_view device_path) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (start <= device_path.size()) {
        std::size_t end = std::min(device_path.find('/', start), device_path.size());
        std::string_view part = device_path.substr(start, end - start);
        if (part == "..") {
            if (parts.empty()) return std::nullopt;
            parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.emplace_back(part);
        }
        start = end + 1;
    }
    return parts;
}

// One bit of an inotify mask, in words a log reader understands.
std::vector<std::string_view> describe_mask(std::uint32_t mask) {
    std::vector<std::string_view> what;
    if (mask & IN_MODIFY) what.push_back("modified");
    if (mask & IN_CLOSE_WRITE) what.push_back("closed after being opened for writing");
    if (mask & IN_ATTRIB) what.push_back("attributes changed (mode, owner, times or links)");
    if (mask & IN_DELETE_SELF) what.push_back("deleted");
    if (mask & IN_MOVE_SELF) what.push_back("moved or renamed");
    return what;
}

}  // namespace

void FileDescriptor::reset(int fd) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
}

BoardDescription describe_board(const server::BoardProfile& profile) {
    BoardDescription board;
    board.profile = &profile;
    // "SDM845 / Dragonboard 845c" -> "Dragonboard 845c"; "(...)" left out.
    std::string model = profile.description;
    if (auto slash = model.find(" / "); slash != std::string::npos) model.erase(0, slash + 3);
    if (auto note = model.find(" ("); note != std::string::npos) model.erase(note);
    board.product_model = model;
    for (const server::EfsPartition& partition : profile.partitions)
        board.partitions.push_back({partition.label, partition.size_bytes.value_or(server::assumed_partition_bytes)});
    return board;
}

Bytes partition_pattern(std::string_view label, std::uint64_t size_bytes) {
    Bytes bytes(size_bytes, pattern_fill);
    for (std::uint64_t block = 0; block * pattern_block_bytes < size_bytes; ++block) {
        std::string stamp =
            "rmtfs-hil emulated partition " + std::string(label) + " block " + std::to_string(block) + "\n";
        const std::uint64_t at = block * pattern_block_bytes;
        const std::size_t length = std::min<std::uint64_t>(stamp.size(), size_bytes - at);
        std::copy_n(stamp.begin(), length, bytes.begin() + static_cast<std::ptrdiff_t>(at));
    }
    return bytes;
}

// ---------------------------------------------------------------------------

DeviceRoot::DeviceRoot(fs::path host_root) : root_(fs::canonical(host_root)) {}

bool DeviceRoot::inside(const fs::path& host_path) const {
    auto [in_root, in_path] = std::mismatch(root_.begin(), root_.end(), host_path.begin(), host_path.end());
    return in_root == root_.end();
}

Expected<fs::path, PathError> DeviceRoot::resolve(std::string_view device_path, Last last) const {
    if (device_path.empty()) return unexpected(PathError{ENOENT, "an empty path names no file"});
    auto parts = lexical_parts(device_path);
    if (!parts) return unexpected(escape_error(device_path, "'..' above the device root"));
    if (parts->empty()) return root_;

    // Walk what exists, resolving symlinks as the kernel would and checking
    // each result; the first missing component ends the walk, and the rest
    // is plain names below a checked directory.
    const std::size_t followed = last == Last::follow ? parts->size() : parts->size() - 1;
    fs::path current = root_;
    std::size_t i = 0;
    for (; i < followed; ++i) {
        fs::path next = current / (*parts)[i];
        struct stat status {};
        if (::lstat(next.c_str(), &status) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) break;
            return unexpected(PathError{errno, std::string(device_path) + ": " + std::strerror(errno)});
        }
        if (!S_ISLNK(status.st_mode)) {
            current = std::move(next);
            continue;
        }
        std::error_code error;
        fs::path target = fs::canonical(next, error);
        if (error) return unexpected(escape_error(device_path, "a symlink that leads nowhere"));
        if (!inside(target)) return unexpected(escape_error(device_path, "a symlink that leads outside the device root"));
        current = std::move(target);
    }
    for (; i < parts->size(); ++i) current /= (*parts)[i];
    return current;
}

std::string DeviceRoot::device_path_of(const fs::path& host_path) const {
    fs::path relative = host_path.lexically_relative(root_);
    if (relative.empty() || relative == ".") return "/";
    return "/" + relative.string();
}

bool DeviceRoot::within(const fs::path& host_path, std::string_view device_dir) const {
    if (!inside(host_path)) return false;
    std::string path = device_path_of(host_path);
    return path == device_dir || (path.starts_with(device_dir) && path.size() > device_dir.size() &&
                                  path[device_dir.size()] == '/');
}

// ---------------------------------------------------------------------------

std::string_view to_string(ServiceState state) { return state == ServiceState::active ? "active" : "inactive"; }

Board::Board(boost::asio::io_context& io, DeviceRoot& root, const BoardDescription& description, LogSink log)
    : root_(root), description_(description), log_(std::move(log)), inotify_(io) {
    for (const std::string& unit : description_.services) services_[unit_name(unit)] = ServiceState::active;
    make_tree();
    watch_partitions();
}

Board::~Board() {
    // Closing the descriptor aborts the wait; its handler no longer touches us.
    boost::system::error_code ignored;
    inotify_.close(ignored);
}

void Board::make_tree() {
    const fs::path& root = root_.host_root();
    const server::BoardProfile& profile = *description_.profile;

    // The modem's remoteproc, its `device` link to the platform device whose
    // modalias `rmtfs -s` looks for.
    fs::path platform = root / "sys/devices/platform" / profile.modem.platform_device;
    fs::create_directories(platform);
    write_file(platform / "modalias", profile.modem.modalias + "\n");
    fs::path remoteproc = root / "sys/class/remoteproc" / profile.modem.class_device;
    fs::create_directories(remoteproc);
    write_file(remoteproc / "name", profile.modem.name + "\n");
    fs::remove(remoteproc / "device");
    fs::create_directory_symlink(fs::path("../../../devices/platform") / profile.modem.platform_device,
                                 remoteproc / "device");
    write_remoteproc_state();

    // The rmtfs_mem carve-out: its char device (a file of its size) and the
    // attributes the daemon reads.
    const server::RmtfsMemRegion& memory = profile.rmtfs_mem;
    fs::create_directories(root / "dev");
    fs::path memory_device = root / "dev" / memory.device_name();
    write_file(memory_device, "");
    fs::resize_file(memory_device, memory.size_bytes);
    fs::path memory_class = root / "sys/class/rmtfs" / memory.device_name();
    fs::create_directories(memory_class);
    char hex[32];
    std::snprintf(hex, sizeof hex, "0x%llx\n", static_cast<unsigned long long>(memory.phys_addr));
    write_file(memory_class / "phys_addr", hex);
    std::snprintf(hex, sizeof hex, "0x%llx\n", static_cast<unsigned long long>(memory.size_bytes));
    write_file(memory_class / "size", hex);
    write_file(memory_class / "client_id", std::to_string(memory.client_id) + "\n");

    fs::path by_partlabel = root / "dev/disk/by-partlabel";
    fs::create_directories(by_partlabel);
    for (const PartitionDescription& partition : description_.partitions) {
        Bytes pattern = partition_pattern(partition.label, partition.size_bytes);
        write_file(by_partlabel / partition.label,
                   std::string_view(reinterpret_cast<const char*>(pattern.data()), pattern.size()));
    }

    fs::create_directories(root / "etc");
    write_file(root / "etc/os-release", debian_os_release);
    fs::create_directories(root / "data/local/tmp");
}

void Board::write_remoteproc_state() {
    if (description_.remoteproc_state.empty()) return;  // a world's remoteproc keeps its own
    write_file(root_.host_root() / "sys/class/remoteproc" / description_.profile->modem.class_device / "state",
               description_.remoteproc_state + "\n");
}

void Board::watch_partitions() {
    int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) throw std::system_error(errno, std::generic_category(), "inotify_init1");
    inotify_.assign(fd);
    for (const PartitionDescription& partition : description_.partitions) {
        fs::path path = root_.host_root() / "dev/disk/by-partlabel" / partition.label;
        int watch = ::inotify_add_watch(fd, path.c_str(), partition_watch_mask);
        if (watch < 0) throw std::system_error(errno, std::generic_category(), "inotify_add_watch " + path.string());
        watched_[watch] = root_.device_path_of(path);
    }
    wait_for_events();
}

void Board::wait_for_events() {
    inotify_.async_wait(boost::asio::posix::stream_descriptor::wait_read, [this](const boost::system::error_code& error) {
        if (error) return;  // closed: the board is going away
        {
            std::lock_guard lock(mutex_);
            read_events_locked();
        }
        wait_for_events();
    });
}

void Board::read_events_locked() {
    alignas(inotify_event) char buffer[4096];
    for (;;) {
        ssize_t got = ::read(inotify_.native_handle(), buffer, sizeof buffer);
        if (got <= 0) return;  // EAGAIN: drained
        for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= got;) {
            inotify_event event;
            std::memcpy(&event, buffer + at, sizeof event);
            at += static_cast<ssize_t>(sizeof event + event.len);
            auto watched = watched_.find(event.wd);
            if (watched == watched_.end()) continue;
            for (std::string_view what : describe_mask(event.mask)) record_locked({watched->second, std::string(what)});
            if (event.mask & IN_IGNORED) {
                log_("partition watch: " + watched->second + " is no longer watched (the file is gone)");
                watched_.erase(watched);
            }
        }
    }
}

void Board::record_locked(BlockDeviceWrite write) {
    log_("!!! BLOCK DEVICE WRITE: " + write.path + " " + write.what);
    block_device_writes_.push_back(std::move(write));
}

void Board::record_refused_write(std::string device_path, std::string what) {
    std::lock_guard lock(mutex_);
    record_locked({std::move(device_path), std::move(what)});
}

std::vector<BlockDeviceWrite> Board::block_device_writes() {
    std::lock_guard lock(mutex_);
    if (inotify_.is_open()) read_events_locked();
    return block_device_writes_;
}

void Board::stop_watching() {
    boost::system::error_code ignored;
    inotify_.cancel(ignored);
}

std::string Board::unit_name(std::string_view unit) {
    std::string name(unit);
    if (!name.ends_with(".service")) name += ".service";
    return name;
}

std::optional<ServiceState> Board::service_state(std::string_view unit) const {
    std::lock_guard lock(mutex_);
    auto found = services_.find(unit_name(unit));
    if (found == services_.end()) return std::nullopt;
    return found->second;
}

bool Board::set_service_state(std::string_view unit, ServiceState state, std::string cause) {
    std::unique_lock lock(mutex_);
    auto found = services_.find(unit_name(unit));
    if (found == services_.end()) return false;
    ServiceTransition transition{found->first, found->second, state, std::move(cause)};
    log_("service " + transition.unit + ": " + std::string(to_string(transition.from)) + " -> " +
         std::string(to_string(transition.to)) + " (" + transition.cause + ")");
    found->second = state;
    std::string unit_name = transition.unit;
    service_history_.push_back(std::move(transition));
    lock.unlock();
    if (on_service_change) on_service_change(unit_name, state);
    return true;
}

std::vector<ServiceTransition> Board::service_history() const {
    std::lock_guard lock(mutex_);
    return service_history_;
}

void Board::reboot() {
    std::map<std::string, ServiceState> before;
    {
        std::lock_guard lock(mutex_);
        before = services_;
    }
    // A shutdown stops every running service, the boot starts them all.
    for (const auto& [unit, state] : before) {
        if (state == ServiceState::active) set_service_state(unit, ServiceState::inactive, "reboot: shutdown");
        set_service_state(unit, ServiceState::active, "reboot: boot");
    }
    write_remoteproc_state();
}

}  // namespace rmtfs_hil::hil::emulated
