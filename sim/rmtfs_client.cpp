#include "sim/rmtfs_client.hpp"

#include "proto/contract.hpp"

namespace rmtfs_hil::sim {

std::string_view to_string(RequestFailure::Kind kind) {
    switch (kind) {
        case RequestFailure::Kind::timeout: return "timeout";
        case RequestFailure::Kind::service_gone: return "service_gone";
        case RequestFailure::Kind::no_service: return "no_service";
        case RequestFailure::Kind::bad_response: return "bad_response";
        case RequestFailure::Kind::wrong_response: return "wrong_response";
    }
    return "unknown";
}

RmtfsClient::RmtfsClient(boost::asio::io_context& io, QrtrEndpoint& endpoint, std::uint32_t port,
                         std::chrono::milliseconds timeout)
    : io_(io), endpoint_(endpoint), port_(port), timeout_(timeout) {}

RmtfsClient::~RmtfsClient() { *alive_ = false; }

void RmtfsClient::request(const rmtfs::Message& request, ResponseHandler done) {
    RMTFS_HIL_ASSERT(rmtfs::message_kind(request) == qmi::MessageKind::request, "request() with a non-request");
    std::uint16_t txn = next_txn_++;
    if (next_txn_ == 0) next_txn_ = 1;
    send(txn, rmtfs::encode(txn, request), rmtfs::message_id(request), false, std::move(done));
}

void RmtfsClient::request_raw(Bytes qmi, ResponseHandler done) {
    std::uint16_t txn = qmi.size() >= 3 ? static_cast<std::uint16_t>(qmi[1] | qmi[2] << 8) : 0;
    auto id = static_cast<rmtfs::MessageId>(qmi.size() >= 5 ? qmi[3] | qmi[4] << 8 : 0);
    send(txn, std::move(qmi), id, true, std::move(done));
}

void RmtfsClient::send(std::uint16_t txn, Bytes qmi, rmtfs::MessageId id, bool raw, ResponseHandler done) {
    if (!server_) {
        done(unexpected(RequestFailure{RequestFailure::Kind::no_service, "no RMTFS server is known"}));
        return;
    }
    if (pending_.contains(txn)) {
        done(unexpected(RequestFailure{RequestFailure::Kind::wrong_response, "txn " + std::to_string(txn) + " is in use"}));
        return;
    }
    auto timer = std::make_unique<boost::asio::steady_timer>(io_, timeout_);
    timer->async_wait([this, txn, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
        if (error || !alive.lock()) return;
        finish(txn, unexpected(RequestFailure{RequestFailure::Kind::timeout,
                                              "no answer within " + std::to_string(timeout_.count()) + " ms" + strays()}));
    });
    given_up_.erase(txn);  // a txn used again: an answer to it is this request's
    pending_.emplace(txn, Pending{id, raw, std::move(done), std::move(timer)});
    endpoint_.send(port_, *server_, qmi);
}

void RmtfsClient::give_up(const std::string& why) {
    // Those outstanding now: a request a callback sends meanwhile is new.
    std::vector<std::uint16_t> outstanding;
    for (const auto& [txn, pending] : pending_) outstanding.push_back(txn);
    std::string note = why + strays();
    for (std::uint16_t txn : outstanding) {
        if (!pending_.contains(txn)) continue;
        given_up_.insert(txn);
        finish(txn, unexpected(RequestFailure{RequestFailure::Kind::timeout, note}));
    }
}

std::string RmtfsClient::strays() {
    if (strays_.empty()) return "";
    std::string text = "; meanwhile answers came that no pending request's txn matches: ";
    for (std::size_t i = 0; i < strays_.size(); ++i) text += (i == 0 ? "" : ", ") + strays_[i];
    strays_.clear();
    return text;
}

void RmtfsClient::finish(std::uint16_t txn, const Response& response) {
    auto it = pending_.find(txn);
    if (it == pending_.end()) return;
    ResponseHandler done = std::move(it->second.done);
    it->second.timer->cancel();
    pending_.erase(it);
    done(response);
}

void RmtfsClient::on_datagram(QrtrAddress from, ByteView payload) {
    if (server_ && from != *server_) return;  // not from our server
    if (payload.size() < 3) return;
    std::uint16_t txn = static_cast<std::uint16_t>(payload[1] | payload[2] << 8);
    auto it = pending_.find(txn);
    if (it == pending_.end()) {
        // Late or unsolicited (FORCE_SYNC indications included), or the
        // answer to a request given up on: that one the harness must hear of.
        if (given_up_.erase(txn) != 0) {
            if (late_answer) late_answer(txn);
        } else if (payload[0] == static_cast<std::uint8_t>(qmi::MessageKind::response) && !pending_.empty()) {
            // An answer with a txn nobody used: said when a request ends unanswered.
            if (strays_.size() < stray_limit) {
                auto decoded = rmtfs::decode(payload);
                strays_.push_back((decoded ? rmtfs::summary(decoded->message) : std::string("an undecodable response")) +
                                  " with txn " + std::to_string(txn));
            }
        }
        return;
    }
    auto decoded = rmtfs::decode(payload);
    if (!decoded) {
        finish(txn, unexpected(RequestFailure{RequestFailure::Kind::bad_response, describe(decoded.error())}));
        return;
    }
    const rmtfs::Message& message = decoded->message;
    if (rmtfs::message_kind(message) != qmi::MessageKind::response ||
        (!it->second.raw && rmtfs::message_id(message) != it->second.id)) {
        finish(txn, unexpected(RequestFailure{RequestFailure::Kind::wrong_response,
                                              "txn " + std::to_string(txn) + " answered by " + rmtfs::summary(message)}));
        return;
    }
    finish(txn, message);
}

void RmtfsClient::fail_all(const RequestFailure& failure) {
    while (!pending_.empty()) finish(pending_.begin()->first, unexpected(failure));
}

}  // namespace rmtfs_hil::sim
