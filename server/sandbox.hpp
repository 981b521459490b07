// A running emulated world: the World directory, the QRTR fabric and the shim
// server that hands its sockets to programs, the modelled remoteprocs, and
// umockdev's ioctl service — everything a program under test needs, on one
// io_context. The `sandbox` command, the tests and the engine build on it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>
#include <vector>

#include "proto/expected.hpp"
#include "server/board_profile.hpp"
#include "server/process.hpp"
#include "server/storage_watch.hpp"
#include "server/umockdev_ioctl.hpp"
#include "server/world.hpp"
#include "sim/fabric.hpp"
#include "sim/remoteproc.hpp"
#include "sim/shared_memory.hpp"
#include "sim/shim_server.hpp"

namespace rmtfs_hil::server {

// The file the fabric's shim server listens on, inside the world.
inline constexpr std::string_view fabric_socket_name = "qrtr.sock";

struct SandboxOptions {
    const BoardProfile* board = &default_board();
    WorldOptions world;  // world.shim_library must name the preload shim
    bool privileged_binds = true;
    bool kernel_name_service = true;
    // Make the programs' stdout and stderr line-buffered (coreutils' stdbuf
    // preload) so every log line reaches the trace when it is written, not
    // when a pipe's buffer fills — a daemon killed mid-run keeps its last words.
    bool line_buffered_output = true;
};

// The world's shared-memory backing, as the simulated modem reaches it.
class WorldSharedMemory final : public sim::SharedMemory {
public:
    explicit WorldSharedMemory(const World& world) : world_(world) {}
    std::uint64_t base() const override { return world_.profile().rmtfs_mem.phys_addr; }
    std::uint64_t size_bytes() const override { return world_.profile().rmtfs_mem.size_bytes; }
    Expected<Bytes, std::string> read(std::uint64_t phys_addr, std::size_t length) const override;
    Expected<std::size_t, std::string> write(std::uint64_t phys_addr, ByteView bytes) override;

private:
    const World& world_;
};

struct SandboxError {
    std::string message;
};

class Sandbox {
public:
    static Expected<std::unique_ptr<Sandbox>, SandboxError> create(boost::asio::io_context& io, SandboxOptions options);
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    World& world() { return world_; }
    const BoardProfile& board() const { return world_.profile(); }
    sim::Fabric& fabric() { return fabric_; }
    sim::RemoteprocRegistry& remoteprocs() { return remoteprocs_; }
    // The board's modem remoteproc.
    sim::Remoteproc& modem() { return *modem_; }
    const std::filesystem::path& fabric_socket() const { return shim_server_->socket_path(); }
    const sim::ShimServer& shim_server() const { return *shim_server_; }
    // The rmtfs_mem region by physical address: what the modem reads and writes.
    sim::SharedMemory& shared_memory() { return *shared_memory_; }
    // The programs' storage and rmtfs_mem I/O: faults, durability, opens.
    StorageWatch& storage_watch() { return *storage_watch_; }

    // `base` plus everything a program needs to live in this world.
    std::vector<std::string> environment(std::vector<std::string> base = current_environment()) const;
    LaunchSpec launch(std::vector<std::string> argv) const;

private:
    Sandbox(boost::asio::io_context& io, World world, const SandboxOptions& options);

    boost::asio::io_context& io_;
    World world_;
    sim::Fabric fabric_;
    sim::RemoteprocRegistry remoteprocs_;
    sim::Remoteproc* modem_ = nullptr;
    std::unique_ptr<StorageWatch> storage_watch_;
    std::unique_ptr<sim::ShimServer> shim_server_;
    std::unique_ptr<UmockdevIoctlPassthrough> umockdev_ioctl_;
    std::unique_ptr<WorldSharedMemory> shared_memory_;
    std::string line_buffering_preload_;
};

// The preload shim beside the running executable or the shared object
// holding this code (bin/../lib, python/../lib), or
// RMTFS_HIL_SHIM_LIBRARY; empty when neither exists.
std::filesystem::path find_shim_library();

}  // namespace rmtfs_hil::server
