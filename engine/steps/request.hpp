// {"request": {"message": "OPEN", "path": "/boot/modem_fs1", "expect": {"result": 0}}}
// One RMTFS request, fields as the message has them; omitted ones come from
// the modem's state (its caller id for the partition, its buffer).
#pragma once

#include <optional>
#include <vector>

#include "engine/step.hpp"
#include "engine/step_support.hpp"

namespace rmtfs_hil::engine {

struct RequestStep final : StepAction {
    std::size_t modem = 0;
    rmtfs::MessageId message = rmtfs::MessageId::open;
    std::optional<std::string> path;          // OPEN
    std::optional<std::uint32_t> caller_id;   // CLOSE, RW_IOVEC, ALLOC_BUFF, GET_DEV_ERROR
    std::optional<std::string> partition;     // or the caller id the modem holds for it
    std::optional<std::uint8_t> direction;    // RW_IOVEC: 0 read, 1 write
    struct Iovec {
        std::uint32_t sector_addr = 0;
        std::optional<std::uint32_t> phys_offset;  // default: the modem's buffer
        std::uint32_t num_sector = 1;
    };
    std::vector<Iovec> iovec;                 // RW_IOVEC
    std::optional<std::uint8_t> force_sync;   // RW_IOVEC
    std::optional<std::uint32_t> size;        // ALLOC_BUFF
    AnswerExpectation expect;
    AnswerWait wait = AnswerWait::until_idle;

    Capabilities needs() const override { return {Capability::simulated_modem}; }
    std::optional<StepFailure> run(StepContext& context) const override;
    std::string describe() const override;
};

}  // namespace rmtfs_hil::engine
