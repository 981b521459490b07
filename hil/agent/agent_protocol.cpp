#include "hil/agent/agent_protocol.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace rmtfs_hil::hil {

namespace {

using nlohmann::json;

// Every protocol line is an object whose "agent" member says what it is:
// a daemon's stray output never looks like one by accident.
constexpr std::string_view tag = "agent";

}  // namespace

std::string hello_line(const Hello& hello) {
    json capabilities = json::array();
    for (engine::Capability c : values_of<engine::Capability>())
        if (hello.capabilities.contains(c)) capabilities.push_back(std::string(name_of(c)));
    json line{{tag, "hello"},
              {"protocol", hello.protocol},
              {"version", hello.version},
              {"transport", std::string(name_of(hello.transport))},
              {"board", hello.board},
              {"capabilities", capabilities},
              {"scenarios", hello.scenarios}};
    return line.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string result_line(const engine::ScenarioResult& result) {
    return R"({"agent":"result","result":)" + engine::scenario_json_line(result) + "}";
}

std::string done_line(bool interrupted, const std::string& not_restored) {
    json line{{tag, "done"}, {"interrupted", interrupted}};
    if (!not_restored.empty()) line["not_restored"] = not_restored;
    return line.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string check_line(const Check& check) {
    json line{{tag, "check"},
              {"name", check.name},
              {"status", std::string(name_of(check.status))},
              {"found", check.found},
              {"fix", check.fix}};
    return line.dump(-1, ' ', false, json::error_handler_t::replace);
}

AgentLine parse_agent_line(std::string_view line) {
    if (line.empty() || line.front() != '{') return OtherLine{std::string(line)};
    json j = json::parse(line.begin(), line.end(), nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains(tag) || !j[tag].is_string()) return OtherLine{std::string(line)};
    const std::string kind = j[tag].get<std::string>();
    try {
        if (kind == "hello") {
            Hello hello;
            hello.protocol = j.at("protocol").get<int>();
            if (hello.protocol != agent_protocol_version)
                return BadLine{"the agent speaks protocol " + std::to_string(hello.protocol) + ", this host " +
                               std::to_string(agent_protocol_version) + ": push the agent built with this rmtfs-hil"};
            hello.version = j.at("version").get<std::string>();
            auto transport = named<Transport>(j.at("transport").get<std::string>());
            if (!transport) return BadLine{"hello: unknown transport"};
            hello.transport = *transport;
            hello.board = j.at("board").get<std::string>();
            for (const auto& name : j.at("capabilities")) {
                auto capability = named<engine::Capability>(name.get<std::string>());
                if (!capability) return BadLine{"hello: unknown capability '" + name.get<std::string>() + "'"};
                hello.capabilities.add(*capability);
            }
            hello.scenarios = j.at("scenarios").get<std::size_t>();
            return hello;
        }
        if (kind == "result") return ResultLine{engine::read_scenario_json(j.at("result").dump())};
        if (kind == "done") return Done{j.at("interrupted").get<bool>(), j.value("not_restored", std::string())};
        if (kind == "check") {
            auto status = named<CheckStatus>(j.at("status").get<std::string>());
            if (!status) return BadLine{"check: unknown status"};
            return Check{j.at("name").get<std::string>(), *status, j.at("found").get<std::string>(),
                         j.at("fix").get<std::string>()};
        }
    } catch (const json::exception& e) {
        return BadLine{kind + ": " + e.what()};
    } catch (const std::runtime_error& e) {
        return BadLine{kind + ": " + e.what()};
    }
    return BadLine{"unknown agent line '" + kind + "'"};
}

}  // namespace rmtfs_hil::hil
