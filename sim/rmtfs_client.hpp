// RMTFS requests from a remote node: transaction ids, one answer per request
// matched by txn, a bounded wait for it, and the end of every outstanding
// request when the service goes away.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <vector>
#include <string>

#include "proto/expected.hpp"
#include "proto/rmtfs.hpp"
#include "sim/qrtr_endpoint.hpp"

namespace rmtfs_hil::sim {

struct RequestFailure {
    enum class Kind {
        timeout,         // no answer within the request timeout
        service_gone,    // the server's client went away first (the daemon died)
        no_service,      // no RMTFS server is known
        bad_response,    // the answer did not decode (the error says why)
        wrong_response,  // it decoded, but not as the answer to this request
    };
    Kind kind;
    std::string detail;
};
std::string_view to_string(RequestFailure::Kind kind);

using Response = Expected<rmtfs::Message, RequestFailure>;
using ResponseHandler = std::function<void(const Response&)>;

class RmtfsClient {
public:
    RmtfsClient(boost::asio::io_context& io, QrtrEndpoint& endpoint, std::uint32_t port,
                std::chrono::milliseconds timeout);
    ~RmtfsClient();

    std::uint32_t port() const { return port_; }
    void set_server(std::optional<QrtrAddress> server) { server_ = server; }
    std::optional<QrtrAddress> server() const { return server_; }

    // Sends `request` (a request message) and calls `done` exactly once.
    void request(const rmtfs::Message& request, ResponseHandler done);
    // Sends hand-built bytes (any QMI message, malformed ones included); the
    // answer is matched by the txn id found at bytes 1..2 of `qmi`, when present.
    void request_raw(Bytes qmi, ResponseHandler done);
    // A datagram to this client's port.
    void on_datagram(QrtrAddress from, ByteView payload);
    // Ends every outstanding request with `failure`.
    void fail_all(const RequestFailure& failure);
    // Ends every outstanding request as unanswered (a timeout, saying
    // `why`) before its timer: the harness knows no answer can come. An
    // answer that comes anyway goes to `late_answer`.
    void give_up(const std::string& why);
    std::function<void(std::uint16_t txn)> late_answer;
    std::size_t outstanding() const { return pending_.size(); }

private:
    struct Pending {
        rmtfs::MessageId id;
        bool raw = false;
        ResponseHandler done;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    void send(std::uint16_t txn, Bytes qmi, rmtfs::MessageId id, bool raw, ResponseHandler done);
    void finish(std::uint16_t txn, const Response& response);

    boost::asio::io_context& io_;
    QrtrEndpoint& endpoint_;
    std::uint32_t port_;
    std::chrono::milliseconds timeout_;
    std::optional<QrtrAddress> server_;
    std::map<std::uint16_t, Pending> pending_;
    std::set<std::uint16_t> given_up_;
    // Answers whose txn matched no pending request, while some were pending.
    static constexpr std::size_t stray_limit = 3;
    std::vector<std::string> strays_;
    std::string strays();
    std::uint16_t next_txn_ = 1;
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rmtfs_hil::sim
