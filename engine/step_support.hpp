// What several step kinds share when they run: finding the modem's handle
// for a partition, and judging a request's answer against an expectation.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "engine/json_reader.hpp"
#include "engine/step.hpp"
#include "proto/expected.hpp"
#include "sim/rmtfs_client.hpp"

namespace rmtfs_hil::engine {

class ScenarioReader;

// The messages a modem may send as requests: every RMTFS message but the
// FORCE_SYNC indication.
const Names& request_names();

// The index of `path` among the modem's partitions.
std::optional<std::size_t> partition_index(const Scenario& scenario, std::size_t modem, const std::string& path);

// The partition's index when the modem can move its data now. A missing
// handle or buffer is a failure (the daemon may be why); a partition the
// modem does not have is the scenario's error.
Expected<std::size_t, StepFailure> handle_for(StepContext& context, std::size_t modem, const std::string& partition);

// "OPEN response: result 0 ...", "no answer", "timeout: ..."
std::string describe_response(const std::optional<sim::Response>& response);

// The expected answer of a request step.
struct AnswerExpectation {
    bool answered = true;                    // false: expect no answer within the timeout
    std::optional<std::uint16_t> result;     // 0 success, 1 failure
    std::optional<std::uint16_t> error;      // 0 none, 1 internal, 2 malformed
    std::optional<std::uint32_t> caller_id;  // OPEN's
};

// A request step's "full_wait": true waits the modem's whole request
// timeout for an answer; by default the wait ends once the world is at rest
// without one (Rig::unrest()).
AnswerWait load_wait(ScenarioReader& reader, const Field& step);

// A read's or write's "error": the error code its failure answer must carry;
// only with "expect": "failed".
void load_failure_error(ScenarioReader& reader, const Field& step, bool expects_failure,
                        std::optional<std::uint16_t>& out);
// The failure an answer's error code makes when `expected` names another.
std::optional<StepFailure> check_failure_error(const std::string& what, std::optional<std::uint16_t> expected,
                                               std::optional<std::uint16_t> got);

// {"answered": bool, "result": n, "error": n, "caller_id": n}; caller_id only for OPEN.
void load_answer(ScenarioReader& reader, const Field& f, AnswerExpectation& out, bool open);
std::optional<StepFailure> check_answer(StepContext& context, const std::optional<sim::Response>& response,
                                        const AnswerExpectation& expect);

}  // namespace rmtfs_hil::engine
