#include "server/board_profile.hpp"

#include <deque>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <stdexcept>

#include "server/builtin_boards.hpp"

namespace rmtfs_hil::server {

namespace {

using nlohmann::json;

// A member at fault: its JSON pointer and what is wrong.
struct BoardError : std::runtime_error {
    BoardError(const std::string& pointer, const std::string& what) : std::runtime_error(pointer + ": " + what) {}
};

// Reads one object's members, refusing any it does not know.
class Members {
public:
    Members(const json& object, std::string pointer) : object_(object), pointer_(std::move(pointer)) {
        if (!object_.is_object()) throw BoardError(pointer_.empty() ? "/" : pointer_, "must be an object");
    }
    ~Members() = default;
    Members(const Members&) = delete;
    Members& operator=(const Members&) = delete;

    std::string at(const std::string& key) const { return pointer_ + "/" + key; }
    const json* find(const std::string& key) {
        known_.insert(key);
        auto it = object_.find(key);
        return it == object_.end() ? nullptr : &*it;
    }
    const json& required(const std::string& key) {
        const json* value = find(key);
        if (value == nullptr) throw BoardError(pointer_.empty() ? "/" : pointer_, "lacks the required member \"" + key + "\"");
        return *value;
    }
    std::string text(const std::string& key) {
        const json& value = required(key);
        if (!value.is_string() || value.get_ref<const std::string&>().empty())
            throw BoardError(at(key), "must be a non-empty string");
        return value.get<std::string>();
    }
    std::string text_or(const std::string& key, std::string fallback) {
        return find(key) == nullptr ? std::move(fallback) : text(key);
    }
    std::uint64_t integer_or(const std::string& key, std::uint64_t fallback, std::uint64_t maximum) {
        const json* value = find(key);
        if (value == nullptr) return fallback;
        if (!value->is_number_unsigned() || value->get<std::uint64_t>() > maximum)
            throw BoardError(at(key), "must be a whole number from 0 to " + std::to_string(maximum));
        return value->get<std::uint64_t>();
    }
    std::uint64_t integer(const std::string& key, std::uint64_t maximum) {
        required(key);
        return integer_or(key, 0, maximum);
    }
    // Bytes: an integer or a hexadecimal string ("0x200000"), never zero.
    std::optional<std::uint64_t> size(const std::string& key) {
        const json* value = find(key);
        if (value == nullptr) return std::nullopt;
        std::uint64_t bytes = 0;
        if (value->is_number_unsigned()) {
            bytes = value->get<std::uint64_t>();
        } else if (value->is_string()) {
            const std::string& digits = value->get_ref<const std::string&>();
            std::size_t used = 0;
            bool hex = digits.size() > 2 && digits.size() <= 18 && digits.compare(0, 2, "0x") == 0;
            if (hex) {
                try {
                    bytes = std::stoull(digits.substr(2), &used, 16);
                } catch (const std::exception&) {
                    hex = false;
                }
            }
            if (!hex || used != digits.size() - 2) throw BoardError(at(key), "\"" + digits + "\" is not a hexadecimal size (\"0x200000\")");
        } else {
            throw BoardError(at(key), "must be a size: an integer or a hexadecimal string (\"0x200000\")");
        }
        if (bytes == 0) throw BoardError(at(key), "must not be zero");
        return bytes;
    }
    // After reading: a member nobody asked for is a typo.
    void no_others() const {
        for (const auto& [key, value] : object_.items())
            if (!known_.contains(key)) throw BoardError(at(key), "is not a member of a board profile here (a typo?)");
    }

private:
    const json& object_;
    std::string pointer_;
    std::set<std::string> known_;
};

// A device-tree node path's last component: its name and unit address
// ("/soc@0/remoteproc@4080000" -> "remoteproc", "4080000").
struct NodeName {
    std::string name;
    std::string unit_address;

    // The platform device the kernel makes for the node: "4080000.remoteproc".
    std::string platform_device() const { return unit_address + "." + name; }
};

NodeName node_name(const std::string& path, const std::string& pointer) {
    std::size_t slash = path.rfind('/');
    std::size_t at = path.rfind('@');
    if (path.empty() || path[0] != '/' || at == std::string::npos || slash == std::string::npos || at < slash ||
        at == slash + 1 || at + 1 == path.size() ||
        path.size() - at - 1 > 16 || path.find_first_not_of("0123456789abcdefABCDEF", at + 1) != std::string::npos)
        throw BoardError(pointer, "\"" + path + "\" is not a device-tree node path ending in name@address");
    return {path.substr(slash + 1, at - slash - 1), path.substr(at + 1)};
}

bool safe_name(const std::string& name) {
    return name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == std::string::npos &&
           name != "." && name != "..";
}

void read_rmtfs_mem(Members& board, BoardProfile& profile) {
    Members mem(board.required("rmtfs_mem"), "/rmtfs_mem");
    std::string node = mem.text("node");
    NodeName parsed = node_name(node, mem.at("node"));
    profile.rmtfs_mem.phys_addr = std::stoull(parsed.unit_address, nullptr, 16);
    profile.rmtfs_mem.of_fullname = node;
    profile.rmtfs_mem.platform_device = parsed.platform_device();
    std::optional<std::uint64_t> size = mem.size("size");
    if (!size) throw BoardError("/rmtfs_mem", "lacks the required member \"size\"");
    profile.rmtfs_mem.size_bytes = *size;
    profile.rmtfs_mem.client_id = static_cast<std::uint32_t>(mem.integer_or("client_id", 1, 255));
    mem.no_others();
}

void read_modem(Members& board, BoardProfile& profile) {
    Members modem(board.required("modem"), "/modem");
    ModemRemoteproc& rproc = profile.modem;
    std::string node = modem.text("node");
    NodeName parsed = node_name(node, modem.at("node"));
    rproc.of_fullname = node;
    rproc.of_name = parsed.name;
    rproc.platform_device = parsed.platform_device();
    rproc.compatible = modem.text("compatible");
    rproc.driver = modem.text("driver");
    rproc.class_device = modem.text_or("class_device", "remoteproc0");
    if (rproc.class_device.rfind("remoteproc", 0) != 0 || rproc.class_device.size() == 10 ||
        rproc.class_device.find_first_not_of("0123456789", 10) != std::string::npos)
        throw BoardError(modem.at("class_device"), "\"" + rproc.class_device + "\" is not remoteprocN");
    rproc.name = modem.text_or("name", rproc.platform_device);
    // The kernel's modalias for an OF platform device: of:N<name>T<type>C<compatible>.
    rproc.modalias = "of:N" + rproc.of_name + "T(null)C" + rproc.compatible;
    std::uint64_t buffer = modem.size("buffer_bytes").value_or(std::min<std::uint64_t>(0x100000, profile.rmtfs_mem.size_bytes));
    if (buffer > profile.rmtfs_mem.size_bytes || buffer > 0xffffffffu)
        throw BoardError(modem.at("buffer_bytes"), "the modem's buffer must fit the rmtfs_mem carve-out (" +
                                                       std::to_string(profile.rmtfs_mem.size_bytes) + " bytes)");
    profile.modem_buffer_bytes = static_cast<std::uint32_t>(buffer);
    profile.modem_node = static_cast<std::uint32_t>(modem.integer_or("qrtr_node", 0, 0xfffffffe));
    modem.no_others();
}

void read_partitions(Members& board, BoardProfile& profile) {
    const json& list = board.required("partitions");
    if (!list.is_array() || list.empty()) throw BoardError("/partitions", "must be a non-empty list");
    for (std::size_t i = 0; i < list.size(); ++i) {
        Members partition(list[i], "/partitions/" + std::to_string(i));
        EfsPartition efs{partition.text("label"), partition.text("file"), partition.size("size")};
        if (!safe_name(efs.label)) throw BoardError(partition.at("label"), "\"" + efs.label + "\" is not a plain name");
        if (!safe_name(efs.file_name)) throw BoardError(partition.at("file"), "\"" + efs.file_name + "\" is not a plain file name");
        for (const EfsPartition& earlier : profile.partitions)
            if (earlier.label == efs.label || earlier.file_name == efs.file_name)
                throw BoardError("/partitions/" + std::to_string(i), "repeats the label or file of an earlier partition");
        partition.no_others();
        profile.partitions.push_back(std::move(efs));
    }
}

void read_disk(Members& board, BoardProfile& profile) {
    Members disk(board.required("disk"), "/disk");
    BlockDisk& out = profile.disk;
    out.name = disk.text("name");
    if (!safe_name(out.name)) throw BoardError(disk.at("name"), "\"" + out.name + "\" is not a device name");
    out.partition_separator = disk.text_or("partition_separator", "");
    if (disk.find("partition_separator") != nullptr && out.partition_separator != "p")
        throw BoardError(disk.at("partition_separator"), "must be \"\" (sde1) or \"p\" (mmcblk0p1)");
    out.major = static_cast<std::uint32_t>(disk.integer("major", 4095));
    if (out.major == 0) throw BoardError(disk.at("major"), "must not be zero");
    out.first_minor = static_cast<std::uint32_t>(disk.integer("first_minor", 0xfffff));
    out.first_partition = static_cast<std::uint32_t>(disk.integer_or("first_partition", 1, 0xffff));
    if (out.first_partition == 0) throw BoardError(disk.at("first_partition"), "partitions are numbered from 1");
    if (out.first_minor + out.first_partition + profile.partitions.size() > 0xfffff)
        throw BoardError(disk.at("first_minor"), "the partitions' minors would pass 2^20");
    std::string controller = disk.text("storage_controller");
    if (controller.front() == '/' || controller.back() == '/' || controller.find("..") != std::string::npos)
        throw BoardError(disk.at("storage_controller"), "\"" + controller + "\" is not a platform device path (\"soc@0/1d84000.ufshc\")");
    // udev's by-partlabel links (Debian, `rmtfs -P`), and Android's by-name
    // links, short and under the storage controller's platform device.
    out.by_name_directories = {"/dev/disk/by-partlabel", "/dev/block/by-name", "/dev/block/platform/" + controller + "/by-name"};
    disk.no_others();
}

BoardProfile read_board(const json& document) {
    Members board(document, "");
    BoardProfile profile;
    profile.name = board.text("name");
    if (!safe_name(profile.name) || profile.name.find('.') != std::string::npos)
        throw BoardError("/name", "\"" + profile.name + "\" is not a short id (letters, digits, - and _)");
    profile.description = board.text("description");
    board.find("device_tree");  // for people
    read_rmtfs_mem(board, profile);
    read_modem(board, profile);
    profile.local_node = static_cast<std::uint32_t>(board.integer_or("local_node", 1, 0xfffffffe));
    if (profile.local_node == profile.modem_node) throw BoardError("/local_node", "must differ from the modem's QRTR node");
    read_partitions(board, profile);
    read_disk(board, profile);
    board.no_others();
    return profile;
}

std::vector<BoardProfile> parse_builtin_boards() {
    std::vector<BoardProfile> boards;
    for (const BuiltinBoardFile& file : builtin_board_files()) {
        auto parsed = parse_board(file.text, std::string(file.name));
        // The files are the project's own and a test parses each: a bad one
        // is a bug of this build, not something a run can go on without.
        if (!parsed) throw std::logic_error("built-in board profile " + parsed.error());
        boards.push_back(std::move(*parsed));
    }
    return boards;
}

const std::vector<const BoardProfile*>& builtin_boards() {
    static const std::vector<BoardProfile> boards = parse_builtin_boards();
    static const std::vector<const BoardProfile*> pointers = [] {
        std::vector<const BoardProfile*> list;
        for (const BoardProfile& board : boards) list.push_back(&board);
        return list;
    }();
    return pointers;
}

bool names_a_file(std::string_view text) {
    return text.find('/') != std::string_view::npos || text.ends_with(".json");
}

}  // namespace

const EfsPartition* BoardProfile::partition(std::string_view label) const {
    for (const auto& candidate : partitions)
        if (candidate.label == label) return &candidate;
    return nullptr;
}

Expected<BoardProfile, std::string> parse_board(std::string_view text, const std::string& origin) {
    json document = json::parse(text.begin(), text.end(), nullptr, false);
    if (document.is_discarded()) return unexpected(origin + ": not valid JSON");
    try {
        return read_board(document);
    } catch (const BoardError& error) {
        return unexpected(origin + ": " + error.what());
    }
}

Expected<BoardProfile, std::string> load_board_file(const std::filesystem::path& path) {
    std::error_code error;
    auto status = std::filesystem::status(path, error);
    if (error) return unexpected(path.string() + ": " + error.message());
    if (!std::filesystem::is_regular_file(status)) return unexpected(path.string() + ": not a regular file");
    constexpr std::uintmax_t size_cap = 1 << 20;
    if (std::filesystem::file_size(path, error) > size_cap) return unexpected(path.string() + ": larger than 1 MiB");
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) return unexpected(path.string() + ": cannot be read");
    return parse_board(text.str(), path.string());
}

std::span<const BoardProfile* const> known_boards() { return builtin_boards(); }

const BoardProfile& default_board() {
    const BoardProfile* board = find_board("sdm845");
    if (board == nullptr) throw std::logic_error("the built-in boards lack sdm845");
    return *board;
}

const BoardProfile* find_board(std::string_view name) {
    for (const BoardProfile* board : known_boards())
        if (board->name == name) return board;
    return nullptr;
}

std::string describe_known_boards() {
    std::string text;
    for (const BoardProfile* board : known_boards())
        text += (text.empty() ? "" : ", ") + board->name + " (" + board->description + ")";
    return text;
}

Expected<const BoardProfile*, std::string> resolve_board(std::string_view name_or_file) {
    if (!names_a_file(name_or_file)) {
        if (const BoardProfile* board = find_board(name_or_file)) return board;
        return unexpected("no board named '" + std::string(name_or_file) + "'; the boards are " + describe_known_boards() +
                          ", or give a board file (a path)");
    }
    auto loaded = load_board_file(std::string(name_or_file));
    if (!loaded) return unexpected(loaded.error());
    // Kept for the process: targets and sandboxes hold pointers to it.
    static std::mutex lock;
    static std::deque<BoardProfile> files;
    std::lock_guard<std::mutex> guard(lock);
    files.push_back(std::move(*loaded));
    return &files.back();
}

}  // namespace rmtfs_hil::server
