#include "engine/step_support.hpp"

#include <algorithm>

#include "engine/scenario.hpp"
#include "engine/scenario_reader.hpp"

namespace rmtfs_hil::engine {

const Names& request_names() {
    static const Names names = [] {
        Names out;
        for (rmtfs::MessageId id : values_of<rmtfs::MessageId>())
            if (id != rmtfs::MessageId::force_sync) out.emplace_back(name_of(id));
        return out;
    }();
    return names;
}

std::optional<std::size_t> partition_index(const Scenario& scenario, std::size_t modem, const std::string& path) {
    const auto& partitions = scenario.setup.modems.at(modem).partitions;
    auto it = std::find(partitions.begin(), partitions.end(), path);
    if (it == partitions.end()) return std::nullopt;
    return static_cast<std::size_t>(it - partitions.begin());
}

Expected<std::size_t, StepFailure> handle_for(StepContext& context, std::size_t modem, const std::string& partition) {
    auto index = partition_index(context.scenario, modem, partition);
    if (!index)
        return unexpected(StepFailure{"partition " + partition + " is not one of modem " + std::to_string(modem) + "'s", true});
    ModemHandles handles = context.target.modem_handles(modem);
    if (*index >= handles.caller_ids.size() || !handles.caller_ids[*index] || !handles.buffer_address)
        return unexpected(StepFailure{"modem " + std::to_string(modem) + " has no handle for " + partition + " (state " +
                                      std::string(sim::to_string(context.target.modem_state(modem))) + ")"});
    return *index;
}

std::string describe_response(const std::optional<sim::Response>& response) {
    if (!response) return "no answer";
    if (*response) return rmtfs::summary(**response);
    return std::string(sim::to_string(response->error().kind)) + ": " + response->error().detail;
}

AnswerWait load_wait(ScenarioReader& reader, const Field& step) {
    bool full = false;
    reader.get_bool(reader.field(step, "full_wait"), full);
    return full ? AnswerWait::full : AnswerWait::until_idle;
}

void load_failure_error(ScenarioReader& reader, const Field& step, bool expects_failure,
                        std::optional<std::uint16_t>& out) {
    Field error = reader.field(step, "error");
    if (!error) return;
    reader.get_uint(error, out);
    if (!expects_failure)
        reader.error_at_key(error.pointer, "'error' is the code of a failure answer: it goes with \"expect\": \"failed\"");
}

std::optional<StepFailure> check_failure_error(const std::string& what, std::optional<std::uint16_t> expected,
                                               std::optional<std::uint16_t> got) {
    if (!expected || got == expected) return std::nullopt;
    return StepFailure{what + " failed with error " + (got ? std::to_string(*got) : std::string("(none)")) +
                       ", expected error " + std::to_string(*expected)};
}

void load_answer(ScenarioReader& reader, const Field& f, AnswerExpectation& out, bool open) {
    if (!f || !reader.is_object(f)) return;
    reader.check_keys(f, {"answered", "result", "error", "caller_id"});
    reader.get_bool(reader.field(f, "answered"), out.answered);
    reader.get_uint(reader.field(f, "result"), out.result);
    reader.get_uint(reader.field(f, "error"), out.error);
    reader.get_uint(reader.field(f, "caller_id"), out.caller_id);
    if (!open) reader.reject(f, "caller_id", "'caller_id' is only expected of an OPEN answer");
    if (!out.answered) {
        for (const char* key : {"result", "error", "caller_id"})
            reader.reject(f, key, "'" + std::string(key) + "' needs an answer: remove it or set \"answered\": true");
    }
}

namespace {

const rmtfs::Result* result_of(const rmtfs::Message& message) {
    return std::visit(
        [](const auto& m) -> const rmtfs::Result* {
            if constexpr (requires { m.result; }) return &m.result;
            return nullptr;
        },
        message);
}

}  // namespace

std::optional<StepFailure> check_answer(StepContext& context, const std::optional<sim::Response>& response,
                                        const AnswerExpectation& expect) {
    using Kind = sim::RequestFailure::Kind;
    bool answered = response && (*response || (response->error().kind != Kind::timeout &&
                                               response->error().kind != Kind::service_gone &&
                                               response->error().kind != Kind::no_service));
    if (!expect.answered) {
        if (answered) return StepFailure{"an answer came (" + describe_response(response) + "); the scenario expects none"};
        return std::nullopt;
    }
    if (!answered) {
        context.unanswered("a request", describe_response(response));
        return StepFailure{"no answer: " + describe_response(response)};
    }
    if (!*response) return StepFailure{"the answer did not decode: " + describe_response(response)};
    const rmtfs::Result* result = result_of(**response);
    if ((expect.result || expect.error) && result == nullptr) return StepFailure{"the answer has no result TLV"};
    if (expect.result && result->result != *expect.result)
        return StepFailure{"answer " + describe_response(response) + ": result " + std::to_string(result->result) +
                           ", expected " + std::to_string(*expect.result)};
    if (expect.error && result->error != *expect.error)
        return StepFailure{"answer " + describe_response(response) + ": error " + std::to_string(result->error) +
                           ", expected " + std::to_string(*expect.error)};
    if (expect.caller_id) {
        const auto* open = std::get_if<rmtfs::OpenResponse>(&**response);
        if (open == nullptr || open->caller_id != expect.caller_id)
            return StepFailure{"answer " + describe_response(response) + ": expected caller id " +
                               std::to_string(*expect.caller_id)};
    }
    return std::nullopt;
}

}  // namespace rmtfs_hil::engine

namespace rmtfs_hil::engine {

void StepContext::unanswered(const std::string& what, const std::string& how) {
    if (!scenario.invariants.requests_answered) return;
    if (target.daemon_status().state != DaemonStatus::State::running) return;
    book.invariant_failures.push_back(what + " went unanswered while the daemon was running (" + how + ")");
}

}  // namespace rmtfs_hil::engine
