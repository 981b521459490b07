// Serves the preload shim: accepts its control channels on a UNIX
// SOCK_SEQPACKET socket and turns each into a fabric socket (bind, send,
// datagrams written to the program's data channel), a remoteproc state file,
// or a watched file (sim/file_watch.hpp).
// The wire format is sim/shim/shim_protocol.h.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "sim/fabric.hpp"
#include "sim/file_watch.hpp"
#include "sim/remoteproc.hpp"

namespace rmtfs_hil::sim {

class ShimServer {
public:
    // Listens at `socket_path` (created; removed again by the destructor).
    // Throws std::system_error when the socket cannot be made.
    ShimServer(boost::asio::io_context& io, Fabric& fabric, RemoteprocRegistry& remoteprocs,
               std::filesystem::path socket_path);
    ~ShimServer();
    ShimServer(const ShimServer&) = delete;
    ShimServer& operator=(const ShimServer&) = delete;

    const std::filesystem::path& socket_path() const { return socket_path_; }
    // Who answers for watched files (none: every watched open is ignored).
    // The watcher must outlive the server or be reset to nullptr first.
    void set_file_watcher(FileWatcher* watcher) { file_watcher_ = watcher; }
    std::size_t channel_count() const { return channels_.size(); }
    // Why some channel is not at rest (sim/shim_server.cpp), or nothing:
    // then every program has read all the harness wrote to it, and the
    // harness has answered all they asked. A `stopped` process (SIGSTOP)
    // cannot read: what waits for it to read does not count, what waits for
    // the harness does.
    std::optional<std::string> busy(std::optional<pid_t> stopped = std::nullopt) const;

private:
    class Channel;
    friend class Channel;

    void accept_next();
    void drop(Channel* channel);

    boost::asio::io_context& io_;
    Fabric& fabric_;
    RemoteprocRegistry& remoteprocs_;
    std::filesystem::path socket_path_;
    boost::asio::posix::stream_descriptor listener_;
    int listener_fd_ = -1;  // listener_'s, for the const check of pending connections
    std::map<Channel*, std::shared_ptr<Channel>> channels_;
    FileWatcher* file_watcher_ = nullptr;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // expires with the server
    WatchId next_watch_id_ = 1;
};

}  // namespace rmtfs_hil::sim
