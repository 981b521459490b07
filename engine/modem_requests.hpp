// A simulated modem's requests as a step sees them, on any target: a
// ledgered write or read of whole sectors, or one request of any type,
// hand-built RW_IOVECs through the modem's own handles ledgered like its
// writes. The target supplies the wait for the answer (its own loop) and
// where the shared memory and the ledger are.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "engine/target.hpp"
#include "proto/bytes.hpp"
#include "proto/rmtfs.hpp"
#include "sim/modem.hpp"
#include "sim/shared_memory.hpp"
#include "sim/write_ledger.hpp"

namespace rmtfs_hil::engine {

// Runs the target's loop until `answered` or the target gives up waiting.
using AwaitAnswer = std::function<void(const std::function<bool()>& answered)>;

// What the requests are judged against.
struct ModemBooks {
    const sim::SharedMemory& memory;
    sim::WriteLedger& ledger;
    // Reads that returned what storage never held, found after the answer
    // (hand-built RW_IOVEC reads): judged with the storage at the end.
    std::vector<sim::LedgerViolation>& read_violations;
};

// Not sent (sent false, the reason in detail) when the modem holds no handle
// for the partition or no buffer, or the data is not whole sectors or does
// not fit its buffer.
WriteResult modem_write(sim::Modem& modem, ModemBooks books, std::size_t partition, std::uint32_t sector,
                        const Bytes& data, const AwaitAnswer& await);
ReadResult modem_read(sim::Modem& modem, ModemBooks books, std::size_t partition, std::uint32_t sector,
                      std::uint32_t count, const AwaitAnswer& await);
// The answer, or nullopt when none came while `await` waited.
std::optional<sim::Response> modem_request(sim::Modem& modem, ModemBooks books, const rmtfs::Message& message,
                                           const AwaitAnswer& await);
std::optional<sim::Response> modem_request_raw(sim::Modem& modem, ModemBooks books, const Bytes& qmi,
                                               const AwaitAnswer& await);

}  // namespace rmtfs_hil::engine
