#include "server/world.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "proto/contract.hpp"
#include "proto/errno_names.hpp"

#ifndef RMTFS_HIL_LIBRARY_ARCHITECTURE
#define RMTFS_HIL_LIBRARY_ARCHITECTURE ""
#endif

namespace rmtfs_hil::server {

namespace fs = std::filesystem;

namespace {

// A process as /proc knows it: its pid and its start time (field 22 of
// /proc/PID/stat), which tells it apart from a later process with its pid.
std::optional<std::string> process_identity(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!stat || !std::getline(stat, text)) return std::nullopt;
    auto close = text.rfind(')');  // the name may hold spaces and parentheses
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    for (int i = 3; i <= 22 && fields >> field; ++i)
        if (i == 22) return std::to_string(pid) + " " + field;
    return std::nullopt;
}

bool write_owner(const fs::path& root) {
    auto me = process_identity(::getpid());
    std::ofstream out(root / world_owner_file);
    out << me.value_or("0 0") << "\n";
    out.close();
    return static_cast<bool>(out);
}

// Worlds this harness made whose owner is gone (a run that was SIGKILLed):
// removed. A world without an owner file (kept on purpose, or not ours) stays.
void remove_abandoned_worlds(const fs::path& base) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(base, error)) {
        const fs::path& dir = entry.path();
        if (!dir.filename().string().starts_with(world_directory_prefix) || !entry.is_directory(error)) continue;
        std::ifstream in(dir / world_owner_file);
        pid_t pid = 0;
        std::string started;
        if (!(in >> pid >> started) || pid <= 0) continue;
        auto now = process_identity(pid);
        if (now && *now == std::to_string(pid) + " " + started) continue;  // its owner still runs
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }
}

}  // namespace

Expected<fs::path, std::string> make_owned_directory(const fs::path& base, std::string_view tag) {
    remove_abandoned_worlds(base);
    std::string pattern = (base / (std::string(world_directory_prefix) + std::string(tag) + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) return unexpected("cannot create a directory like " + pattern + ": " + errno_text(errno));
    fs::path made(pattern);
    if (!write_owner(made)) {
        std::string why = "cannot write " + (made / world_owner_file).string() + ": " + errno_text(errno);
        std::error_code ignored;
        fs::remove_all(made, ignored);
        return unexpected(why);
    }
    return made;
}

namespace {

// Pending connections umockdev's preload may queue on ioctl/_default before
// anyone accepts (each open() of a testbed /dev node makes one).
constexpr int ioctl_listen_backlog = SOMAXCONN;
// Chunk for writing pattern-filled partition files.
constexpr std::size_t fill_chunk_bytes = 64 * 1024;

// The kernel's "%pa" for a 64-bit phys_addr_t, as the rmtfs_mem driver prints
// phys_addr and size: "0x" and 16 zero-padded hex digits.
std::string kernel_phys_addr_text(std::uint64_t value) {
    char text[32];
    std::snprintf(text, sizeof text, "0x%016" PRIx64 "\n", value);
    return text;
}


// Writes the tree under the testbed root; remembers the first failure and
// does nothing after it, so create() checks once.
class TreeBuilder {
public:
    explicit TreeBuilder(fs::path root) : root_(std::move(root)) {}

    void directory(const fs::path& relative) {
        if (failed()) return;
        std::error_code error;
        fs::create_directories(root_ / relative, error);
        if (error) fail(relative, "cannot create directory", error);
    }

    void file(const fs::path& relative, std::string_view content) {
        if (failed()) return;
        directory(relative.parent_path());
        if (failed()) return;
        std::FILE* out = std::fopen((root_ / relative).c_str(), "wbx");
        if (out == nullptr) {
            fail(relative, "cannot create file", std::error_code(errno, std::generic_category()));
            return;
        }
        bool written = std::fwrite(content.data(), 1, content.size(), out) == content.size();
        if (std::fclose(out) != 0 || !written)
            fail(relative, "cannot write file", std::error_code(errno, std::generic_category()));
    }

    // A relative symlink at `link` pointing at `target` (both relative to the
    // root), as sysfs's links are relative.
    void link(const fs::path& link, const fs::path& target) {
        if (failed()) return;
        directory(link.parent_path());
        if (failed()) return;
        fs::path relative_target = target.lexically_relative(link.parent_path());
        std::error_code error;
        fs::create_symlink(relative_target, root_ / link, error);
        if (error) fail(link, "cannot create symlink", error);
    }

    // A symlink whose text is not a path (umockdev's dev/.node entries).
    void raw_link(const fs::path& link, const std::string& text) {
        if (failed()) return;
        directory(link.parent_path());
        if (failed()) return;
        std::error_code error;
        fs::create_symlink(text, root_ / link, error);
        if (error) fail(link, "cannot create symlink", error);
    }

    bool failed() const { return !error_.empty(); }
    const std::string& error() const { return error_; }
    void fail(const fs::path& relative, const std::string& what, const std::error_code& error) {
        if (error_.empty()) error_ = what + " " + (root_ / relative).string() + ": " + error.message();
    }

private:
    fs::path root_;
    std::string error_;
};

struct PlatformDevice {
    std::string name;
    std::string driver;
    std::string of_name;
    std::string of_fullname;
    std::string compatible;
    std::string modalias;
};

// /sys/devices/platform/<name> with the links a bound platform device has.
fs::path add_platform_device(TreeBuilder& tree, const PlatformDevice& device) {
    fs::path directory = fs::path("sys/devices/platform") / device.name;
    tree.file(directory / "uevent", "DRIVER=" + device.driver + "\nOF_NAME=" + device.of_name +
                                        "\nOF_FULLNAME=" + device.of_fullname + "\nOF_COMPATIBLE_0=" +
                                        device.compatible + "\nOF_COMPATIBLE_N=1\nMODALIAS=" + device.modalias + "\n");
    tree.file(directory / "modalias", device.modalias + "\n");
    tree.link(directory / "subsystem", "sys/bus/platform");
    tree.link(directory / "driver", fs::path("sys/bus/platform/drivers") / device.driver);
    tree.link(fs::path("sys/bus/platform/devices") / device.name, directory);
    tree.link(fs::path("sys/bus/platform/drivers") / device.driver / device.name, directory);
    return directory;
}

// A class device below its parent: <parent>/<class>/<name>, as the driver
// core places class devices of non-class parents, with the class link.
fs::path add_class_device(TreeBuilder& tree, const fs::path& parent, const std::string& class_name,
                          const std::string& name, std::string_view uevent) {
    fs::path directory = parent / class_name / name;
    tree.file(directory / "uevent", uevent);
    tree.link(directory / "subsystem", fs::path("sys/class") / class_name);
    tree.link(directory / "device", parent);
    tree.link(fs::path("sys/class") / class_name / name, directory);
    return directory;
}

void build_rmtfs_mem(TreeBuilder& tree, const RmtfsMemRegion& region) {
    fs::path platform = add_platform_device(
        tree, PlatformDevice{region.platform_device, "qcom_rmtfs_mem", "rmtfs", region.of_fullname, "qcom,rmtfs-mem",
                             "of:NrmtfsT(null)Cqcom,rmtfs-mem"});
    std::string numbers = std::to_string(region.major) + ":" + std::to_string(region.minor());
    fs::path device = add_class_device(tree, platform, "rmtfs", region.device_name(),
                                       "MAJOR=" + std::to_string(region.major) + "\nMINOR=" +
                                           std::to_string(region.minor()) + "\nDEVNAME=" + region.device_name() + "\n");
    tree.file(device / "dev", numbers + "\n");
    tree.file(device / "phys_addr", kernel_phys_addr_text(region.phys_addr));
    tree.file(device / "size", kernel_phys_addr_text(region.size_bytes));
    tree.file(device / "client_id", std::to_string(region.client_id) + "\n");
    // libudev's udev_device_new_from_devnum('c', ...) starts here.
    tree.link(fs::path("sys/dev/char") / numbers, device);
    // umockdev's own record of a node's numbers: stat() of the path then
    // reports a char device with them (fstat does not; see `chardevs`).
    tree.raw_link(fs::path("dev/.node") / region.device_name(), numbers);
}

// umockdev's record of a node's numbers is keyed by the path a program
// stat()s, below /dev, with '/' as '_'.
fs::path umockdev_node_record(std::string_view dev_path) {
    std::string key(dev_path.substr(std::string_view("/dev/").size()));
    std::replace(key.begin(), key.end(), '/', '_');
    return fs::path("dev/.node") / key;
}

std::string partition_node_name(const BlockDisk& disk, std::size_t index) {
    return disk.name + disk.partition_separator + std::to_string(disk.first_partition + index);
}

// sysfs of one partition: the disk's directory holds it, as the block layer
// lays out partitions of a disk.
void build_partition_sysfs(TreeBuilder& tree, const BlockDisk& disk, const PartitionDevice& device, std::size_t index) {
    std::string name = fs::path(device.node).filename().string();
    std::string numbers = std::to_string(device.major) + ":" + std::to_string(device.minor);
    fs::path directory = fs::path("sys/block") / disk.name / name;
    tree.file(directory / "uevent", "MAJOR=" + std::to_string(device.major) + "\nMINOR=" + std::to_string(device.minor) +
                                        "\nDEVNAME=" + name + "\nDEVTYPE=partition\nPARTN=" +
                                        std::to_string(disk.first_partition + index) + "\nPARTNAME=" + device.label + "\n");
    tree.file(directory / "partition", std::to_string(disk.first_partition + index) + "\n");
    tree.file(directory / "size", std::to_string(device.size_bytes / 512) + "\n");
    tree.file(directory / "dev", numbers + "\n");
    tree.link(directory / "subsystem", "sys/class/block");
    tree.link(fs::path("sys/class/block") / name, directory);
    tree.link(fs::path("sys/dev/block") / numbers, directory);
}

void build_modem_remoteproc(TreeBuilder& tree, const ModemRemoteproc& modem) {
    fs::path platform = add_platform_device(
        tree, PlatformDevice{modem.platform_device, modem.driver, modem.of_name, modem.of_fullname, modem.compatible,
                             modem.modalias});
    fs::path device = add_class_device(tree, platform, "remoteproc", modem.class_device, "");
    tree.file(device / "name", modem.name + "\n");
    // What the kernel shows before anyone boots the modem. The remoteproc
    // model (through the shim) owns the state from here on.
    tree.file(device / "state", "offline\n");
}

std::uint64_t splitmix64(std::uint64_t& state) {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t hash = 0xcbf29ce484222325ull;
    for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ull;
    return hash;
}

std::optional<std::string> make_sized_file(const fs::path& path, std::uint64_t size_bytes) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) return "cannot create " + path.string() + ": " + errno_text(errno);
    bool sized = ::ftruncate(fd, static_cast<off_t>(size_bytes)) == 0;
    int error_number = errno;
    ::close(fd);
    if (!sized) return "cannot size " + path.string() + ": " + errno_text(error_number);
    return std::nullopt;
}

std::optional<std::string> make_pattern_file(const fs::path& path, std::uint64_t size_bytes, std::uint64_t seed) {
    std::FILE* out = std::fopen(path.c_str(), "wbx");
    if (out == nullptr) return "cannot create " + path.string() + ": " + errno_text(errno);
    // Each partition gets its own stream: the label is mixed into the seed.
    std::uint64_t state = seed ^ fnv1a(path.filename().string());
    std::vector<std::uint8_t> chunk(fill_chunk_bytes);
    std::uint64_t left = size_bytes;
    bool ok = true;
    while (left > 0 && ok) {
        std::size_t now = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk.size()));
        for (std::size_t i = 0; i < now; i += 8) {
            std::uint64_t word = splitmix64(state);
            for (std::size_t b = 0; b < 8 && i + b < now; ++b) chunk[i + b] = static_cast<std::uint8_t>(word >> (8 * b));
        }
        ok = std::fwrite(chunk.data(), 1, now, out) == now;
        left -= now;
    }
    if (std::fclose(out) != 0 || !ok) return "cannot write " + path.string() + ": " + errno_text(errno);
    return std::nullopt;
}

std::optional<std::string> check_region(const RmtfsMemRegion& region, std::uint64_t phys_addr, std::size_t length,
                                        std::string_view what) {
    std::uint64_t begin = region.phys_addr;
    std::uint64_t end = region.phys_addr + region.size_bytes;
    if (phys_addr >= begin && phys_addr <= end && length <= end - phys_addr) return std::nullopt;
    return std::string(what) + " " + hex(phys_addr, 8) + " + " + std::to_string(length) +
           " bytes is outside the rmtfs_mem region " + hex(begin, 8) + ".." + hex(end, 8);
}

std::optional<std::string> set_environment_entry(std::vector<std::string>& environment, std::string_view name,
                                                 std::string value) {
    std::string prefix = std::string(name) + "=";
    std::optional<std::string> previous;
    for (auto it = environment.begin(); it != environment.end();) {
        if (it->rfind(prefix, 0) == 0) {
            previous = it->substr(prefix.size());
            it = environment.erase(it);
        } else {
            ++it;
        }
    }
    environment.push_back(prefix + value);
    return previous;
}

// Whether `path` is `directory` or below it (both absolute and normal).
bool is_within(const fs::path& path, const fs::path& directory) {
    auto [mismatch, rest] = std::mismatch(directory.begin(), directory.end(), path.begin(), path.end());
    (void)rest;
    return mismatch == directory.end();
}

}  // namespace

std::optional<std::string> fill_storage(const fs::path& storage, const BoardProfile& profile,
                                        std::uint64_t partition_size_bytes, const StorageContent& content) {
    for (const auto& partition : profile.partitions) {
        fs::path file = storage / partition.file_name;
        std::optional<std::string> failure;
        switch (content.fill) {
            case StorageContent::Fill::zeros: failure = make_sized_file(file, partition_size_bytes); break;
            case StorageContent::Fill::pattern:
                failure = make_pattern_file(file, partition_size_bytes, content.seed);
                break;
            case StorageContent::Fill::copy: {
                std::error_code error;
                fs::path source = fs::is_directory(content.source, error) ? content.source / partition.file_name
                                                                          : content.source;
                fs::copy_file(source, file, fs::copy_options::none, error);
                if (error) failure = "cannot copy " + source.string() + " to " + file.string() + ": " + error.message();
                break;
            }
        }
        if (failure) return failure;
    }
    return std::nullopt;
}

fs::path find_umockdev_preload() {
    // Preloaded into the daemon, it must be of the daemon's architecture:
    // the build's, unless the daemon is another machine's (an aarch64
    // agent under qemu runs this machine's rmtfs).
    if (const char* path = std::getenv("RMTFS_HIL_UMOCKDEV_PRELOAD"); path != nullptr && *path != '\0')
        return fs::exists(path) ? fs::path(path) : fs::path();
    std::string architecture = RMTFS_HIL_LIBRARY_ARCHITECTURE;
    std::vector<fs::path> directories;
    if (!architecture.empty()) {
        directories.push_back(fs::path("/usr/lib") / architecture);
        directories.push_back(fs::path("/lib") / architecture);
    }
    for (const char* directory : {"/usr/lib64", "/usr/lib", "/lib64", "/lib"}) directories.emplace_back(directory);
    for (const auto& directory : directories) {
        fs::path candidate = directory / umockdev_preload_soname;
        std::error_code error;
        if (fs::exists(candidate, error)) return candidate;
    }
    return {};
}

Expected<World, WorldError> World::create(const fs::path& root_dir, const BoardProfile& profile,
                                          WorldOptions options) {
    auto failure = [](std::string message) { return unexpected(WorldError{std::move(message)}); };
    if (profile.rmtfs_mem.size_bytes == 0) return failure("board " + profile.name + " has an empty rmtfs_mem region");
    if (profile.partitions.empty()) return failure("board " + profile.name + " names no EFS partitions");

    World world;
    world.profile_ = profile;
    world.shim_library_ = options.shim_library;
    world.umockdev_preload_ = options.umockdev_preload.empty() ? find_umockdev_preload() : options.umockdev_preload;
    std::error_code error;
    if (world.umockdev_preload_.empty() || !fs::exists(world.umockdev_preload_, error))
        return failure("umockdev's preload library " +
                       (world.umockdev_preload_.empty() ? std::string(umockdev_preload_soname)
                                                        : world.umockdev_preload_.string()) +
                       " not found: install the Debian package umockdev (ci/setup.sh does)");
    if (!world.shim_library_.empty() && !fs::exists(world.shim_library_, error))
        return failure("shim library " + world.shim_library_.string() + " does not exist");

    std::optional<fs::path> user_storage;
    if (options.storage) {
        fs::path storage = fs::absolute(*options.storage, error);
        if (error || !fs::is_directory(storage, error))
            return failure("storage directory " + options.storage->string() + " does not exist or is not a directory");
        user_storage = fs::canonical(storage, error);
        if (error) return failure("cannot resolve storage directory " + storage.string() + ": " + error.message());
    }

    // The root. From here on, a failure unwinds through ~World, which removes
    // what was made.
    if (root_dir.empty()) {
        const char* temporary = std::getenv("TMPDIR");
        fs::path base = temporary != nullptr && *temporary != '\0' ? fs::path(temporary) : fs::path("/tmp");
        auto made = make_owned_directory(base);
        if (!made) return failure("world directory: " + made.error());
        world.root_ = *made;
        world.owns_root_ = true;
    } else {
        fs::path root = fs::absolute(root_dir, error).lexically_normal();
        if (error) return failure("cannot resolve world directory " + root_dir.string() + ": " + error.message());
        if (!fs::exists(root, error)) {
            fs::create_directories(root, error);
            if (error) return failure("cannot create world directory " + root.string() + ": " + error.message());
            world.owns_root_ = true;
        } else if (!fs::is_directory(root, error)) {
            return failure("world directory " + root.string() + " exists and is not a directory");
        } else if (!fs::is_empty(root, error)) {
            return failure("world directory " + root.string() + " is not empty (refusing to mix a world into it)");
        }
        world.root_ = root;
    }
    // Canonical: the shim matches `devices` paths against /proc/self/fd
    // links, which never show symlinks (a /tmp that is one, say).
    world.root_ = fs::canonical(world.root_, error);
    if (error) return failure("cannot resolve world directory: " + error.message());
    world.created_entries_ = {world.root_ / "umockdev", world.root_ / "devices"};

    TreeBuilder tree(world.umockdev_dir());
    build_rmtfs_mem(tree, profile.rmtfs_mem);
    build_modem_remoteproc(tree, profile.modem);
    tree.directory("ioctl");
    if (tree.failed()) return failure(tree.error());

    if (auto problem = make_sized_file(world.shared_memory_file(), profile.rmtfs_mem.size_bytes))
        return failure(*problem);
    world.shared_memory_fd_ = ::open(world.shared_memory_file().c_str(), O_RDWR | O_CLOEXEC);
    if (world.shared_memory_fd_ < 0)
        return failure("cannot open " + world.shared_memory_file().string() + ": " + errno_text(errno));

    // umockdev's preload connects here on each open() of a testbed /dev node.
    fs::path socket_path = world.umockdev_dir() / "ioctl" / "_default";
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.native().size() >= sizeof address.sun_path)
        return failure("world directory " + world.root_.string() + " is too deep: umockdev's socket " +
                       socket_path.string() + " exceeds " + std::to_string(sizeof address.sun_path - 1) + " bytes");
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.native().size() + 1);
    world.ioctl_listener_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (world.ioctl_listener_ < 0 ||
        ::bind(world.ioctl_listener_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(world.ioctl_listener_, ioctl_listen_backlog) != 0)
        return failure("cannot listen on " + socket_path.string() + ": " + errno_text(errno));

    if (user_storage) {
        world.storage_ = *user_storage;
        world.storage_is_users_ = true;
    } else {
        world.storage_ = world.root_ / "storage";
        world.created_entries_.push_back(world.storage_);
        fs::create_directory(world.storage_, error);
        if (error) return failure("cannot create " + world.storage_.string() + ": " + error.message());
        if (auto problem = fill_storage(world.storage_, profile, options.partition_size_bytes, options.storage_content)) return failure(*problem);
    }
    if (auto problem = world.build_partition_devices()) return failure(*problem);

    {
        const RmtfsMemRegion& region = profile.rmtfs_mem;
        std::string lines = "c " + std::to_string(region.major) + " " + std::to_string(region.minor()) + " " +
                            world.shared_memory_file().string() + "\n";
        for (const PartitionDevice& device : world.partition_devices_)
            if (device.same_inode)
                lines += "b " + std::to_string(device.major) + " " + std::to_string(device.minor) + " " +
                         (world.umockdev_dir() / device.node.substr(1)).string() + "\n";
        TreeBuilder top(world.root_);
        top.file("devices", lines);
        if (top.failed()) return failure(top.error());
    }
    world.keep_ = options.keep;  // a half-built world is always removed
    return world;
}

World::World(World&& other) noexcept { *this = std::move(other); }

World& World::operator=(World&& other) noexcept {
    if (this == &other) return *this;
    release();
    profile_ = std::move(other.profile_);
    root_ = std::move(other.root_);
    storage_ = std::move(other.storage_);
    umockdev_preload_ = std::move(other.umockdev_preload_);
    shim_library_ = std::move(other.shim_library_);
    owns_root_ = std::exchange(other.owns_root_, false);
    storage_is_users_ = other.storage_is_users_;
    keep_ = other.keep_;
    created_entries_ = std::move(other.created_entries_);
    partition_devices_ = std::move(other.partition_devices_);
    other.created_entries_.clear();
    other.root_.clear();
    shared_memory_fd_ = std::exchange(other.shared_memory_fd_, -1);
    ioctl_listener_ = std::exchange(other.ioctl_listener_, -1);
    return *this;
}

World::~World() { release(); }

void World::release() noexcept {
    if (shared_memory_fd_ >= 0) ::close(std::exchange(shared_memory_fd_, -1));
    if (ioctl_listener_ >= 0) ::close(std::exchange(ioctl_listener_, -1));
    std::error_code ignored;
    if (!root_.empty() && keep_) fs::remove(root_ / world_owner_file, ignored);  // kept: never swept as abandoned
    if (root_.empty() || keep_) return;
    // An owned root goes whole, with what the harness put in it (a trace, a
    // socket). A user's --storage directory existed before the root did, so
    // it cannot be inside; the check guards the rule all the same.
    bool users_storage_inside = storage_is_users_ && is_within(storage_, root_);
    if (owns_root_ && !users_storage_inside) {
        fs::remove_all(root_, ignored);
    } else {
        for (const auto& entry : created_entries_) fs::remove_all(entry, ignored);
        if (owns_root_) fs::remove(root_, ignored);  // only if empty now
    }
    created_entries_.clear();
    root_.clear();
}

fs::path World::umockdev_dir() const { return root_ / "umockdev"; }

fs::path World::devices_file() const { return root_ / "devices"; }

std::vector<std::string> World::by_name_paths(const PartitionDevice& device) const {
    std::vector<std::string> paths;
    for (const std::string& directory : profile_.disk.by_name_directories) paths.push_back(directory + "/" + device.label);
    return paths;
}

std::optional<std::string> World::build_partition_devices() {
    const BlockDisk& disk = profile_.disk;
    TreeBuilder tree(umockdev_dir());
    for (std::size_t i = 0; i < profile_.partitions.size(); ++i) {
        const EfsPartition& partition = profile_.partitions[i];
        fs::path file = storage_ / partition.file_name;
        std::error_code error;
        std::uintmax_t size = fs::file_size(file, error);
        if (error) continue;  // a user's storage without this partition: no device, as a board without it
        PartitionDevice device;
        device.label = partition.label;
        device.file_name = partition.file_name;
        device.node = "/dev/" + partition_node_name(disk, i);
        device.major = disk.major;
        device.minor = disk.first_minor + disk.first_partition + static_cast<std::uint32_t>(i);
        device.size_bytes = size;
        fs::path node = umockdev_dir() / device.node.substr(1);
        fs::create_hard_link(file, node, error);
        if (error && storage_is_users_) {
            device.same_inode = false;
            error.clear();
            fs::create_symlink(file, node, error);
        }
        if (error) return "cannot make " + node.string() + " for " + file.string() + ": " + error.message();
        // umockdev shows a testbed file with the sticky bit as a block
        // device. The world's own files only: a user's keep their mode.
        if (!storage_is_users_) {
            fs::permissions(file, fs::perms::sticky_bit, fs::perm_options::add, error);
            if (error) return "cannot mark " + file.string() + " as a block device: " + error.message();
        }
        std::string numbers = std::to_string(device.major) + ":" + std::to_string(device.minor);
        tree.raw_link(umockdev_node_record(device.node), numbers);
        for (const std::string& path : by_name_paths(device)) {
            tree.link(fs::path(path.substr(1)), fs::path(device.node.substr(1)));
            tree.raw_link(umockdev_node_record(path), numbers);
        }
        build_partition_sysfs(tree, disk, device, i);
        if (tree.failed()) return tree.error();
        partition_devices_.push_back(std::move(device));
    }
    return std::nullopt;
}

fs::path World::shared_memory_file() const { return umockdev_dir() / "dev" / profile_.rmtfs_mem.device_name(); }

fs::path World::remoteproc_state_file() const {
    return umockdev_dir() / "sys/class/remoteproc" / profile_.modem.class_device / "state";
}

std::string World::remoteproc_state_path() const {
    return "/sys/class/remoteproc/" + profile_.modem.class_device + "/state";
}

Expected<fs::path, WorldError> World::partition_file(std::string_view label) const {
    const EfsPartition* partition = profile_.partition(label);
    if (partition == nullptr)
        return unexpected(WorldError{"board " + profile_.name + " has no EFS partition \"" + std::string(label) + "\""});
    return storage_ / partition->file_name;
}

std::vector<std::string> World::environment(std::vector<std::string> base) const {
    set_environment_entry(base, world_environment_variable, root_.string());
    set_environment_entry(base, "UMOCKDEV_DIR", umockdev_dir().string());
    set_environment_entry(base, storage_environment_variable, storage_.string());
    // The shim first: its fstat() must answer before umockdev's.
    std::string preload = shim_library_.empty() ? umockdev_preload_.string()
                                                : shim_library_.string() + ":" + umockdev_preload_.string();
    std::optional<std::string> previous = set_environment_entry(base, "LD_PRELOAD", preload);
    if (previous && !previous->empty()) set_environment_entry(base, "LD_PRELOAD", preload + ":" + *previous);
    return base;
}

Expected<Bytes, MemoryAccessError> World::read_shared_memory(std::uint64_t phys_addr, std::size_t length) const {
    if (auto problem = check_region(profile_.rmtfs_mem, phys_addr, length, "read of"))
        return unexpected(MemoryAccessError{phys_addr, length, *problem});
    RMTFS_HIL_ASSERT(shared_memory_fd_ >= 0, "shared memory read on a moved-from World");
    Bytes bytes(length);
    std::size_t done = 0;
    off_t offset = static_cast<off_t>(phys_addr - profile_.rmtfs_mem.phys_addr);
    while (done < length) {
        ssize_t got = ::pread(shared_memory_fd_, bytes.data() + done, length - done, offset + static_cast<off_t>(done));
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0)
            return unexpected(MemoryAccessError{phys_addr, length,
                                                "reading " + shared_memory_file().string() + ": " +
                                                    (got == 0 ? std::string("file shorter than the region")
                                                              : errno_text(errno))});
        done += static_cast<std::size_t>(got);
    }
    return bytes;
}

Expected<std::size_t, MemoryAccessError> World::write_shared_memory(std::uint64_t phys_addr, ByteView bytes) const {
    if (auto problem = check_region(profile_.rmtfs_mem, phys_addr, bytes.size(), "write of"))
        return unexpected(MemoryAccessError{phys_addr, bytes.size(), *problem});
    RMTFS_HIL_ASSERT(shared_memory_fd_ >= 0, "shared memory write on a moved-from World");
    std::size_t done = 0;
    off_t offset = static_cast<off_t>(phys_addr - profile_.rmtfs_mem.phys_addr);
    while (done < bytes.size()) {
        ssize_t put = ::pwrite(shared_memory_fd_, bytes.data() + done, bytes.size() - done, offset + static_cast<off_t>(done));
        if (put < 0 && errno == EINTR) continue;
        if (put <= 0)
            return unexpected(MemoryAccessError{phys_addr, bytes.size(),
                                                "writing " + shared_memory_file().string() + ": " + errno_text(errno)});
        done += static_cast<std::size_t>(put);
    }
    return done;
}

}  // namespace rmtfs_hil::server
