// The JSON reader with what it knows of the scenario so far: the setup is
// read before the steps, so a step's modem index or partition is checked
// against the modems the scenario has. Step and fault kinds load through it.
#pragma once

#include <optional>
#include <string>

#include "engine/data_spec.hpp"
#include "engine/json_reader.hpp"
#include "engine/scenario.hpp"

namespace rmtfs_hil::engine {

// The modem's shared buffer (ALLOC_BUFF, 1 MiB) in sectors: the most one
// write or read moves.
inline constexpr std::uint32_t buffer_sectors = 2048;

class ScenarioReader : public JsonReader {
public:
    ScenarioReader(std::string file, json_text::PositionIndex positions, const Scenario& scenario)
        : JsonReader(std::move(file), std::move(positions)), scenario_(scenario) {}

    const Scenario& scenario() const { return scenario_; }
    // Index and partition checks against a setup that is itself wrong would only add noise.
    void trust_modems(bool trusted) { modems_trusted_ = trusted; }

    void check_modem_index(std::size_t index, const std::string& pointer, std::string_view what);
    // A modem (or remoteproc) index, checked against the setup.
    void get_index(const Field& f, std::size_t& out, std::string_view what);
    // `by_default`: the partition was not given; `f` is the object that lacks it.
    void check_partition(std::size_t modem, const Field& f, const std::string& partition, bool by_default = false);
    void get_partition(const Field& f, std::size_t modem, std::string& out);
    // A storage file of the board ("modem_fs1").
    bool get_storage_file(const Field& f, std::string& out);
    static const Names& storage_file_names();

    // {}: a step that takes no options.
    void no_options(const Field& f);

    // {"pattern": LABEL} | {"hex": "de ad ..."} | {"fill": "0x00"}; hex is
    // whole sectors: `sectors` of them when given.
    std::optional<DataSpec> data_value(const Field& f, std::optional<std::uint32_t> sectors);

    // What a write and a read share: the modem, its partition, the sectors.
    // True when 'sectors' is usable (absent or valid) for checking 'data'.
    bool load_transfer(const Field& f, std::size_t& modem, std::string& partition, std::uint32_t& sector,
                       std::uint32_t& sectors);

private:
    const Scenario& scenario_;
    bool modems_trusted_ = true;
};

}  // namespace rmtfs_hil::engine
