#include "server/sandbox.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <system_error>

#include "server/preload_check.hpp"
#include "sim/shim/shim_protocol.h"

namespace rmtfs_hil::server {

namespace fs = std::filesystem;

namespace {

// coreutils' stdbuf library: setvbuf from a constructor, per _STDBUF_O/_STDBUF_E.
constexpr const char* stdbuf_library_paths[] = {"/usr/libexec/coreutils/libstdbuf.so",
                                                 "/usr/lib/coreutils/libstdbuf.so"};

}  // namespace

fs::path find_shim_library() {
    if (const char* path = std::getenv("RMTFS_HIL_SHIM_LIBRARY"); path != nullptr && *path != '\0')
        return fs::exists(path) ? fs::path(path) : fs::path();
    // Beside the executable, or the shared object this code is in (the
    // Python module).
    std::vector<fs::path> binaries;
    std::error_code error;
    if (fs::path exe = fs::canonical("/proc/self/exe", error); !error) binaries.push_back(exe);
    Dl_info info{};
    if (::dladdr(reinterpret_cast<void*>(&find_shim_library), &info) != 0 && info.dli_fname != nullptr)
        if (fs::path object = fs::canonical(info.dli_fname, error); !error) binaries.push_back(object);
    // The build tree (bin/ and python/ beside lib/), an installed program
    // (bin/ beside lib/rmtfs-hil/) and an installed module (its
    // dist-packages/ a relative path away from lib/rmtfs-hil/).
    for (const fs::path& binary : binaries) {
        const fs::path dir = binary.parent_path();
        for (const fs::path& shim_dir : {dir.parent_path() / "lib", dir.parent_path() / RMTFS_HIL_INSTALL_SHIM_DIR,
                                         dir / RMTFS_HIL_MODULE_TO_SHIM}) {
            fs::path shim = (shim_dir / "librmtfs_hil_shim.so").lexically_normal();
            if (fs::exists(shim, error)) return shim;
        }
    }
    return {};
}

Expected<std::unique_ptr<Sandbox>, SandboxError> Sandbox::create(boost::asio::io_context& io, SandboxOptions options) {
    if (options.world.shim_library.empty()) options.world.shim_library = find_shim_library();
    if (options.world.shim_library.empty())
        return unexpected(SandboxError{"the preload shim librmtfs_hil_shim.so was not found beside the program "
                                       "(bin/../lib, or bin/../" RMTFS_HIL_INSTALL_SHIM_DIR " when installed): build "
                                       "it, or set RMTFS_HIL_SHIM_LIBRARY"});
    if (options.world.umockdev_preload.empty() && find_umockdev_preload().empty())
        return unexpected(SandboxError{"umockdev's preload library (libumockdev-preload.so.0) is not installed: "
                                       "apt-get install umockdev (ci/setup.sh installs it)"});
    auto world = World::create({}, *options.board, options.world);
    if (!world) return unexpected(SandboxError{"cannot build the world: " + world.error().message});
    try {
        return std::unique_ptr<Sandbox>(new Sandbox(io, std::move(*world), options));
    } catch (const std::system_error& e) {
        return unexpected(SandboxError{std::string("cannot serve the fabric: ") + e.what()});
    }
}

Sandbox::Sandbox(boost::asio::io_context& io, World world, const SandboxOptions& options)
    : io_(io),
      world_(std::move(world)),
      fabric_(sim::FabricConfig{world_.profile().local_node, options.privileged_binds, options.kernel_name_service}) {
    modem_ = &remoteprocs_.add(world_.profile().modem.class_device, world_.profile().modem.name);
    storage_watch_ = std::make_unique<StorageWatch>(world_.storage_dir(), "/dev/" + world_.profile().rmtfs_mem.device_name(),
                                                    fabric_);
    storage_watch_->watch_directories(world_.profile().disk.by_name_directories);
    for (const PartitionDevice& device : world_.partition_devices()) {
        std::vector<std::string> paths = world_.by_name_paths(device);
        paths.push_back(device.node);
        storage_watch_->add_partition_device(device.file_name, device.size_bytes, paths);
    }
    shim_server_ = std::make_unique<sim::ShimServer>(io_, fabric_, remoteprocs_, world_.root() / fabric_socket_name);
    shim_server_->set_file_watcher(storage_watch_.get());
    umockdev_ioctl_ = std::make_unique<UmockdevIoctlPassthrough>(io_, world_);
    shared_memory_ = std::make_unique<WorldSharedMemory>(world_);
    if (options.line_buffered_output)
        for (const char* path : stdbuf_library_paths)
            if (fs::exists(path)) {
                line_buffering_preload_ = path;
                break;
            }
}

Sandbox::~Sandbox() {
    // The trace sink usually belongs to the sandbox's owner, who may already
    // be tearing down; what the teardown itself does (releasing sockets) is
    // not traced.
    fabric_.set_trace({});
    shim_server_->set_file_watcher(nullptr);
}

Expected<Bytes, std::string> WorldSharedMemory::read(std::uint64_t phys_addr, std::size_t length) const {
    auto bytes = world_.read_shared_memory(phys_addr, length);
    if (!bytes) return unexpected(bytes.error().message);
    return std::move(*bytes);
}

Expected<std::size_t, std::string> WorldSharedMemory::write(std::uint64_t phys_addr, ByteView bytes) {
    auto written = world_.write_shared_memory(phys_addr, bytes);
    if (!written) return unexpected(written.error().message);
    return *written;
}

std::vector<std::string> Sandbox::environment(std::vector<std::string> base) const {
    std::vector<std::string> env = world_.environment(std::move(base));
    env.push_back(std::string(SHIM_ENV_SOCKET) + "=" + fabric_socket().string());
    env.push_back(std::string(SHIM_ENV_WATCH) + "=" + storage_watch_->watch_list());
    if (!line_buffering_preload_.empty()) {
        for (std::string& entry : env)
            if (entry.rfind("LD_PRELOAD=", 0) == 0) entry += ":" + line_buffering_preload_;
        env.push_back("_STDBUF_O=L");
    }
    return env;
}

LaunchSpec Sandbox::launch(std::vector<std::string> argv) const {
    // The world's programs run in the world's directory, never in the
    // harness's: from "/", libudev's lookups under umockdev reached the
    // machine's real /sys and the daemon found no device. A program named by
    // a relative path is still the one the harness's directory names.
    if (!argv.empty() && argv[0].find('/') != std::string::npos && fs::path(argv[0]).is_relative()) {
        std::error_code error;
        if (fs::path absolute = fs::absolute(argv[0], error); !error) argv[0] = absolute.string();
    }
    LaunchSpec spec{std::move(argv), environment(), world_.root()};
    // A program the preload libraries cannot enter would act on the
    // machine's real devices: it is not started.
    std::vector<fs::path> preloads;
    for (const fs::path& library : {world_.shim_library(), world_.umockdev_preload()})
        if (!library.empty()) preloads.push_back(library);
    spec.admit = [preloads](const fs::path& program) { return why_not_interposable(program, preloads); };
    return spec;
}

}  // namespace rmtfs_hil::server
