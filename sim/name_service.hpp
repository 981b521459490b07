// The in-kernel QRTR name service (Linux >= 5.7, net/qrtr/ns.c) as the fabric
// runs it at the local control port: servers, lookups with their end-of-list
// marker, and what client release, BYE and HELLO do to them.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "proto/qrtr_control.hpp"
#include "sim/fabric.hpp"

namespace rmtfs_hil::sim {

class NameService final : public DatagramSink {
public:
    struct Server {
        std::uint32_t service = 0;
        std::uint32_t instance = 0;  // wire form: instance << 8 | version
        std::uint32_t node = 0;
        std::uint32_t port = 0;
        bool operator==(const Server&) const = default;
    };
    struct Lookup {
        QrtrAddress client;
        std::uint32_t service = 0;   // 0: any
        std::uint32_t instance = 0;  // wire form; 0: any
    };

    explicit NameService(Fabric& fabric);

    // Ordered by node, then port: the order listings are sent in.
    std::vector<Server> servers() const;
    std::vector<Server> servers_of(std::uint32_t service) const;
    const std::vector<Lookup>& lookups() const { return lookups_; }

    // Told of every server added (true) or removed (false), after the fact.
    using Watcher = std::function<void(const Server&, bool added)>;
    // Returns a token for unwatch(); a watcher whose owner goes first must be removed.
    std::size_t watch(Watcher watcher) {
        watchers_.emplace(++last_watcher_, std::move(watcher));
        return last_watcher_;
    }
    void unwatch(std::size_t token) { watchers_.erase(token); }

    bool deliver(const Datagram& datagram) override;
    void post_error(int, std::uint32_t) override {}

private:
    using Key = std::pair<std::uint32_t, std::uint32_t>;  // node, port

    void on_hello(QrtrAddress from);
    void on_bye(QrtrAddress from);
    void on_new_server(QrtrAddress from, const qrtr::ServerRecord& record);
    void on_del_server(QrtrAddress from, const qrtr::ServerRecord& record);
    void on_del_client(QrtrAddress from, const qrtr::ClientRecord& record);
    void on_new_lookup(QrtrAddress from, const qrtr::ServerRecord& record);
    void on_del_lookup(QrtrAddress from, const qrtr::ServerRecord& record);

    void remove_server(std::uint32_t node, std::uint32_t port, bool broadcast);
    void notify(QrtrAddress to, const Server* server, bool added);
    void announce(QrtrAddress to, const Server& server, bool added);
    bool is_local(std::uint32_t node) const;

    Fabric& fabric_;
    SocketId socket_ = 0;
    std::map<Key, Server> servers_;
    std::vector<Lookup> lookups_;
    std::map<std::size_t, Watcher> watchers_;
    std::size_t last_watcher_ = 0;
    void notify(const Server& server, bool added);
};

}  // namespace rmtfs_hil::sim
