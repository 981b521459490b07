#include "engine/modem_requests.hpp"

#include <memory>
#include <string>
#include <utility>

namespace rmtfs_hil::engine {

namespace {

// Why the modem cannot move `bytes` to or from `partition` now, or nothing.
std::optional<std::string> unsendable(const sim::Modem& m, std::size_t partition, std::size_t bytes) {
    if (partition >= m.caller_ids().size())
        return "modem has no partition " + std::to_string(partition) + " (it has " + std::to_string(m.caller_ids().size()) + ")";
    if (!m.caller_ids()[partition])
        return "modem holds no handle for " + m.config().partitions[partition] + " (state " +
               std::string(sim::to_string(m.state())) + ")";
    if (!m.buffer_address()) return "modem has no shared buffer (state " + std::string(sim::to_string(m.state())) + ")";
    if (bytes == 0 || bytes % rmtfs::sector_size_bytes != 0) return "not whole 512-byte sectors: " + std::to_string(bytes) + " bytes";
    if (bytes > m.config().buffer_bytes)
        return std::to_string(bytes) + " bytes do not fit the modem's " + std::to_string(m.config().buffer_bytes) + "-byte buffer";
    return std::nullopt;
}

// A hand-built RW_IOVEC through one of the modem's own handles: its writes
// in the ledger (the bytes its iovec names in shared memory), its reads to
// check once answered.
struct HandBuilt {
    std::vector<sim::WriteId> writes;
    std::vector<std::pair<std::string, rmtfs::IovecEntry>> reads;  // partition, entry
};

HandBuilt ledger_hand_built(const sim::Modem& m, ModemBooks books, const rmtfs::Message& message) {
    HandBuilt sent;
    const auto* rw = std::get_if<rmtfs::RwIovecRequest>(&message);
    if (rw == nullptr) return sent;
    // Which of the modem's partitions the caller id is; another's handle is
    // not this modem's to ledger (a correct daemon refuses it).
    std::optional<std::string> partition;
    for (std::size_t i = 0; i < m.caller_ids().size(); ++i)
        if (m.caller_ids()[i] == rw->caller_id) partition = m.config().partitions[i];
    if (!partition) return sent;
    for (const rmtfs::IovecEntry& entry : rw->iovec) {
        if (entry.num_sector == 0) continue;
        if (!rw->is_write()) {
            sent.reads.emplace_back(*partition, entry);
            continue;
        }
        // What the daemon will find at the entry's address; outside the
        // region there is nothing to write (a correct daemon refuses).
        auto bytes = books.memory.read(entry.phys_offset, static_cast<std::size_t>(entry.num_sector) * rmtfs::sector_size_bytes);
        if (bytes) sent.writes.push_back(books.ledger.invoked(*partition, entry.sector_addr, *bytes));
    }
    return sent;
}

void judge_hand_built(ModemBooks books, const HandBuilt& sent, const std::optional<sim::Response>& response) {
    const auto* rw = response && *response ? std::get_if<rmtfs::RwIovecResponse>(&**response) : nullptr;
    bool acknowledged = rw != nullptr && rw->result.ok();
    sim::WriteOutcome outcome = acknowledged ? sim::WriteOutcome::ok
                                : rw != nullptr ? sim::WriteOutcome::failed
                                                : sim::WriteOutcome::unknown;
    // A write the daemon's death already made unknown stays so.
    for (sim::WriteId id : sent.writes)
        if (books.ledger.outcome(id) == sim::WriteOutcome::pending) books.ledger.resolved(id, outcome);
    if (!acknowledged) return;
    for (const auto& [partition, entry] : sent.reads) {
        auto bytes = books.memory.read(entry.phys_offset, static_cast<std::size_t>(entry.num_sector) * rmtfs::sector_size_bytes);
        if (!bytes) continue;
        if (auto violation = books.ledger.read_returned(partition, entry.sector_addr, *bytes))
            books.read_violations.push_back(*violation);
    }
}

}  // namespace

WriteResult modem_write(sim::Modem& m, ModemBooks books, std::size_t partition, std::uint32_t sector, const Bytes& data,
                        const AwaitAnswer& await) {
    if (auto why = unsendable(m, partition, data.size()))
        return WriteResult{sim::WriteOutcome::pending, "not sent: " + *why, false, false, std::nullopt};
    // Shared with the callback: an interrupted wait leaves it pending.
    auto response = std::make_shared<std::optional<sim::Response>>();
    std::size_t before = books.ledger.writes();
    m.write(partition, sector, data, [response](const sim::Response& r) { *response = r; });
    await([&] { return response->has_value(); });
    WriteResult result;
    result.outcome = books.ledger.writes() > before ? books.ledger.outcome(before) : sim::WriteOutcome::pending;
    if (!*response) {
        result.detail = "no answer";
    } else if (**response) {
        result.detail = rmtfs::summary(***response);
        if (const auto* rw = std::get_if<rmtfs::RwIovecResponse>(&***response); rw != nullptr && !rw->result.ok())
            result.error = rw->result.error;
    } else {
        const sim::RequestFailure& failure = (*response)->error();
        result.detail = std::string(sim::to_string(failure.kind)) + ": " + failure.detail;
        result.timed_out = failure.kind == sim::RequestFailure::Kind::timeout;
    }
    return result;
}

ReadResult modem_read(sim::Modem& m, ModemBooks books, std::size_t partition, std::uint32_t sector, std::uint32_t count,
                      const AwaitAnswer& await) {
    if (auto why = unsendable(m, partition, static_cast<std::size_t>(count) * rmtfs::sector_size_bytes))
        return ReadResult{false, {}, "not sent: " + *why, false, false, false, std::nullopt};
    auto answer = std::make_shared<std::optional<Expected<Bytes, sim::ReadFailure>>>();
    m.read(partition, sector, count, [answer](const Expected<Bytes, sim::ReadFailure>& r) { *answer = r; });
    await([&] { return answer->has_value(); });
    ReadResult result;
    if (!*answer) {
        result.detail = "no answer";
    } else if (!**answer) {
        result.detail = (*answer)->error().detail;
        result.timed_out = (*answer)->error().timed_out;
        result.refused = (*answer)->error().refused;
        if (result.refused) result.error = (*answer)->error().error;
    } else {
        result.ok = true;
        result.data = ***answer;
        if (auto violation = books.ledger.read_returned(m.config().partitions.at(partition), sector, result.data))
            result.detail = violation->describe();
    }
    return result;
}

std::optional<sim::Response> modem_request(sim::Modem& m, ModemBooks books, const rmtfs::Message& message,
                                           const AwaitAnswer& await) {
    HandBuilt sent = ledger_hand_built(m, books, message);
    auto response = std::make_shared<std::optional<sim::Response>>();
    m.client().request(message, [response](const sim::Response& r) { *response = r; });
    await([&] { return response->has_value(); });
    judge_hand_built(books, sent, *response);
    return *response;
}

std::optional<sim::Response> modem_request_raw(sim::Modem& m, ModemBooks books, const Bytes& qmi, const AwaitAnswer& await) {
    HandBuilt sent;
    if (auto decoded = rmtfs::decode(qmi)) sent = ledger_hand_built(m, books, decoded->message);
    auto response = std::make_shared<std::optional<sim::Response>>();
    m.client().request_raw(qmi, [response](const sim::Response& r) { *response = r; });
    await([&] { return response->has_value(); });
    judge_hand_built(books, sent, *response);
    return *response;
}

}  // namespace rmtfs_hil::engine
