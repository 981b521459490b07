#include "hil/agent/board_check.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <sstream>

#include "hil/agent/efs_partitions.hpp"
#include "hil/agent/system_service.hpp"
#include "server/preload_check.hpp"

namespace rmtfs_hil::hil {

namespace {

namespace fs = std::filesystem;

// A board path ("/sys/class/remoteproc") under the root the agent sees.
fs::path on_board(const BoardCheckOptions& o, std::string_view board_path) {
    return o.root / fs::path(board_path).relative_path();
}

std::optional<std::string> read_attribute(const fs::path& path) { return read_board_attribute(path); }

std::string hex(std::uint64_t value) {
    std::ostringstream out;
    out << "0x" << std::hex << value;
    return out.str();
}

std::string size_text(std::uint64_t bytes) {
    if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0) return std::to_string(bytes / (1024 * 1024)) + " MiB";
    if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes / 1024) + " KiB";
    return std::to_string(bytes) + " bytes";
}

std::optional<std::uint64_t> parse_number(const std::string& text) {
    try {
        std::size_t used = 0;
        unsigned long long value = std::stoull(text, &used, 0);
        return used == text.size() ? std::optional<std::uint64_t>(value) : std::nullopt;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

Check ok(std::string name, std::string found) { return {std::move(name), CheckStatus::ok, std::move(found), ""}; }
Check warning(std::string name, std::string found, std::string fix) {
    return {std::move(name), CheckStatus::warning, std::move(found), std::move(fix)};
}
Check problem(std::string name, std::string found, std::string fix) {
    return {std::move(name), CheckStatus::problem, std::move(found), std::move(fix)};
}

Check check_daemon(const BoardCheckOptions& o) {
    if (o.server.empty())
        return problem("rmtfs program", "no rmtfs found (" + o.server_search + ")",
                       "install it (Debian: apt install rmtfs; AOSP images have /vendor/bin/rmtfs) or pass "
                       "--server PATH");
    return ok("rmtfs program", o.server);
}

// The loopback transport runs the daemon under the preload libraries; one
// they cannot enter would act on the board's real devices, so runs refuse it.
Check check_loopback_world(const BoardCheckOptions& o) {
    const std::string name = "loopback world";
    if (o.shim.empty())
        return problem(name, "the preload shim librmtfs_hil_shim.so is not beside the agent (bin/../lib)",
                       "push the shim built for the board with the agent: build-aarch64/lib/librmtfs_hil_shim.so "
                       "(run --target adb and hil doctor do)");
    if (o.umockdev_preload.empty())
        return problem(name, "umockdev's preload library (libumockdev-preload.so.0) is not installed",
                       "apt install umockdev on the board (Debian images); AOSP has none: --transport kernel");
    if (o.server.empty()) return warning(name, "no rmtfs program to judge", "see the rmtfs program check");
    const std::vector<fs::path> preloads{o.shim, o.umockdev_preload};
    if (auto why = server::why_not_interposable(o.server, preloads))
        return problem(name, "--transport loopback cannot run this daemon: " + *why,
                       "point --server at a dynamically linked, glibc rmtfs built for this board (Debian's), or use "
                       "--transport kernel");
    auto facts = server::read_elf(o.server);
    return ok(name, o.server + ", the shim and umockdev's preload are all " +
                        (facts ? server::machine_name(facts->machine) : std::string("one machine")) +
                        ": the daemon runs inside the loopback world");
}

Check check_qrtr() {
    int probe = ::socket(af_qipcrtr, SOCK_DGRAM, 0);
    if (probe >= 0) {
        ::close(probe);
        return ok("kernel QRTR", "AF_QIPCRTR sockets open: --transport kernel can run here");
    }
    return warning("kernel QRTR",
                   std::string("AF_QIPCRTR sockets cannot be opened (") + std::strerror(errno) +
                       "): only --transport loopback runs here",
                   "load the kernel's QRTR (CONFIG_QRTR, CONFIG_QRTR_SMD; modprobe qrtr-smd)");
}

// As `rmtfs -s` picks the modem: the remoteproc whose device's modalias
// names -mpss-pas or -mss-pil.
Check check_remoteproc(const BoardCheckOptions& o) {
    const std::string name = "modem remoteproc";
    const fs::path classes = on_board(o, "/sys/class/remoteproc");
    std::error_code error;
    if (!fs::is_directory(classes, error))
        return problem(name, "no /sys/class/remoteproc on the board",
                       "a kernel with remoteproc and the board's modem driver (" + o.board->modem.driver + ")");
    std::vector<std::string> seen;
    std::vector<fs::path> entries;
    for (const auto& entry : fs::directory_iterator(classes, error)) entries.push_back(entry.path());
    std::sort(entries.begin(), entries.end());
    for (const fs::path& entry : entries) {
        std::string modalias = read_attribute(entry / "device/modalias").value_or("");
        std::string rproc = read_attribute(entry / "name").value_or("?");
        seen.push_back(entry.filename().string() + " (" + rproc + ")");
        if (!server::is_modem_modalias(modalias)) continue;
        std::string state = read_attribute(entry / "state").value_or("unreadable");
        std::string found = entry.filename().string() + " (" + rproc + ", " + modalias + "): " + state;
        if (rproc != o.board->modem.name)
            return warning(name, found + "; the board profile " + o.board->name + " expects " + o.board->modem.name,
                           "check --board names this board");
        if (state != "running")
            return warning(name, found + ": the real modem is not running, so it is not a client now",
                           "echo start > /sys/class/remoteproc/" + entry.filename().string() +
                               "/state, or check the modem firmware in /lib/firmware");
        return ok(name, found);
    }
    std::string list;
    for (const std::string& s : seen) list += (list.empty() ? "" : ", ") + s;
    return problem(name,
                   "no remoteproc whose modalias names -mpss-pas or -mss-pil (found: " +
                       (list.empty() ? std::string("none") : list) + "): rmtfs -s fails (\"Failed to get rprocfd\")",
                   "the modem's remoteproc driver (" + o.board->modem.driver + ") and its device-tree node " +
                       o.board->modem.of_fullname);
}

Check check_shared_memory(const BoardCheckOptions& o) {
    const server::RmtfsMemRegion& memory = o.board->rmtfs_mem;
    const std::string name = "rmtfs shared memory";
    const std::string device = "/dev/" + memory.device_name();
    struct stat status {};
    if (::stat(on_board(o, device).c_str(), &status) != 0)
        return problem(name, device + " is missing: rmtfs cannot start (or starts too early: rmtfs issue 34)",
                       "the qcom_rmtfs_mem driver (CONFIG_QCOM_RMTFS_MEM) and the reserved-memory node " +
                           memory.of_fullname);
    const fs::path attributes = on_board(o, "/sys/class/rmtfs/" + memory.device_name());
    auto size = parse_number(read_attribute(attributes / "size").value_or(""));
    auto address = parse_number(read_attribute(attributes / "phys_addr").value_or(""));
    std::string found = device;
    if (size && address) found += ": " + size_text(*size) + " at " + hex(*address);
    if (size && *size != memory.size_bytes)
        return warning(name, found + "; the board profile " + o.board->name + " says " + size_text(memory.size_bytes),
                       "check --board names this board");
    return ok(name, found);
}

Check check_partition(const BoardCheckOptions& o, const server::EfsPartition& partition) {
    const std::string name = "EFS partition " + partition.label;
    if (auto found = find_efs_partition(o.root, *o.board, partition)) {
        auto size = partition_size(found->path);
        if (!size) return problem(name, found->board_path + " is there but its size cannot be read", "run as root");
        std::string text = found->board_path + ", " + size_text(*size);
        if (partition.size_bytes && *partition.size_bytes != *size)
            return problem(name, text + "; the board profile " + o.board->name + " says " +
                                     size_text(*partition.size_bytes),
                           "check --board names this board; a wrong size means a different partition table");
        return ok(name, text);
    }
    return problem(name, "not found in " + efs_search_text(*o.board),
                   "check --board names this board and that udev made the by-partlabel links");
}

// A snapshot holds every partition once, beside the worlds of a run.
Check check_scratch(const BoardCheckOptions& o) {
    const std::string name = "scratch space";
    std::uint64_t needed = 64ull * 1024 * 1024;
    for (const server::EfsPartition& partition : o.board->partitions) needed += partition.size_bytes.value_or(server::assumed_partition_bytes);
    struct statvfs status {};
    if (::statvfs(o.scratch.c_str(), &status) != 0)
        return problem(name, o.scratch.string() + ": " + std::strerror(errno), "the agent runs in a writable directory");
    const std::uint64_t free_bytes = static_cast<std::uint64_t>(status.f_bavail) * status.f_frsize;
    std::string found = size_text(free_bytes / (1024 * 1024) * (1024 * 1024)) + " free in " + o.scratch.string();
    if (free_bytes < needed)
        return warning(name, found + ", less than the " + size_text(needed) + " a run may need",
                       "free space on the board's data partition");
    return ok(name, found);
}

}  // namespace

std::vector<Check> check_board(const BoardCheckOptions& o) {
    std::vector<Check> checks{check_daemon(o), check_loopback_world(o), check_qrtr(), check_remoteproc(o),
                              check_shared_memory(o)};
    for (const server::EfsPartition& partition : o.board->partitions) checks.push_back(check_partition(o, partition));
    checks.push_back(check_scratch(o));
    return checks;
}

}  // namespace rmtfs_hil::hil
