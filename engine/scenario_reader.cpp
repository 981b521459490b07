#include "engine/scenario_reader.hpp"

#include "proto/rmtfs.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::engine {

using wording::alternatives;
using wording::contains;
using wording::in_quotes;
using wording::suggestion;

void ScenarioReader::check_modem_index(std::size_t index, const std::string& pointer, std::string_view what) {
    if (!modems_trusted_) return;
    std::size_t count = scenario_.setup.modems.size();
    if (index < count) return;
    std::string have = count == 1 ? "1 modem (index 0)"
                                  : std::to_string(count) + " modems (indexes 0 to " + std::to_string(count - 1) + ")";
    error(pointer, std::string(what) + " " + std::to_string(index) + " does not exist: setup.modems has " + have);
}

void ScenarioReader::get_index(const Field& f, std::size_t& out, std::string_view what) {
    if (get_uint(f, out, 0, u32_max)) check_modem_index(out, f.pointer, what);
}

void ScenarioReader::check_partition(std::size_t modem, const Field& f, const std::string& partition, bool by_default) {
    if (!modems_trusted_ || modem >= scenario_.setup.modems.size()) return;
    const auto& partitions = scenario_.setup.modems[modem].partitions;
    if (contains(partitions, partition)) return;
    std::string message = "modem " + std::to_string(modem) + " has no partition " + in_quotes(partition);
    if (by_default)
        message += ", the default: give 'partition' (one of " + alternatives(partitions) + ")";
    else if (auto close = suggestion(partition, partitions))
        message += "; did you mean '" + *close + "'?";
    else
        message += " (its partitions: " + alternatives(partitions, "and") + ")";
    error(f.pointer, message);
}

void ScenarioReader::get_partition(const Field& f, std::size_t modem, std::string& out) {
    if (get_string(f, out, true)) check_partition(modem, f, out);
}

void ScenarioReader::no_options(const Field& f) {
    if (!f->is_object()) {
        error(f.pointer, "expected {} (this step takes no options), found " + found(*f));
        return;
    }
    check_keys(f, {});
}

const Names& ScenarioReader::storage_file_names() {
    static const Names names = [] {
        Names out;
        for (const auto& partition : server::default_board().partitions) out.push_back(partition.file_name);
        return out;
    }();
    return names;
}

bool ScenarioReader::get_storage_file(const Field& f, std::string& out) {
    return get_name(f, out, storage_file_names(), "storage file");
}

std::optional<DataSpec> ScenarioReader::data_value(const Field& f, std::optional<std::uint32_t> sectors) {
    if (!is_object(f, "an object with one of 'pattern', 'hex' or 'fill'")) return std::nullopt;
    check_keys(f, {"pattern", "hex", "fill"});
    int given = 0;
    for (const char* key : {"pattern", "hex", "fill"}) given += f->contains(key) ? 1 : 0;
    if (given == 0) {
        error(f.pointer, "expected one of 'pattern', 'hex' or 'fill'");
        return std::nullopt;
    }
    if (given > 1) {
        error(f.pointer, "give only one of 'pattern', 'hex' or 'fill'");
        return std::nullopt;
    }
    constexpr std::uint64_t sector_bytes = rmtfs::sector_size_bytes;
    DataSpec data;
    bool ok = true;
    if (Field pattern = field(f, "pattern")) ok = get_string(pattern, data.pattern, true);
    if (Field hex = field(f, "hex")) {
        ok = get_string(hex, data.hex, true);
        if (ok) {
            auto bytes = parse_hex(data.hex);
            if (!bytes) {
                error(hex.pointer, bytes.error());
                ok = false;
            } else if (sectors && bytes->size() != *sectors * sector_bytes) {
                error(hex.pointer, "hex data is " + std::to_string(bytes->size()) + " bytes; " + std::to_string(*sectors) +
                                       (*sectors == 1 ? " sector is " : " sectors are ") +
                                       std::to_string(*sectors * sector_bytes) + " bytes");
                ok = false;
            } else if (bytes->size() % sector_bytes != 0) {
                error(hex.pointer, "hex data is " + std::to_string(bytes->size()) + " bytes: not whole " +
                                       std::to_string(sector_bytes) + "-byte sectors");
                ok = false;
            }
        }
    }
    if (Field fill = field(f, "fill")) {
        ok = get_string(fill, data.fill);
        if (ok && !valid_fill_byte(data.fill)) {
            error(fill.pointer, "bad fill byte " + in_quotes(data.fill) + ": expected one byte as 0x00 to 0xff");
            ok = false;
        }
    }
    if (!ok) return std::nullopt;
    return data;
}

bool ScenarioReader::load_transfer(const Field& f, std::size_t& modem, std::string& partition, std::uint32_t& sector,
                                   std::uint32_t& sectors) {
    get_index(field(f, "modem"), modem, "modem");
    if (Field given = field(f, "partition"))
        get_partition(given, modem, partition);
    else
        check_partition(modem, f, partition, true);
    get_uint(field(f, "sector"), sector);
    // The modem moves data through its 1 MiB shared buffer: 2048 sectors at most.
    return !f->contains("sectors") || get_uint(field(f, "sectors"), sectors, 1, buffer_sectors);
}

}  // namespace rmtfs_hil::engine
