#include "hil/agent/efs_partitions.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "proto/errno_names.hpp"
#include "server/world.hpp"

namespace rmtfs_hil::hil {

namespace fs = std::filesystem;

std::optional<FoundPartition> find_efs_partition(const fs::path& root, const server::BoardProfile& board,
                                                 const server::EfsPartition& partition) {
    for (const std::string& directory : board.disk.by_name_directories) {
        std::string board_path = directory + "/" + partition.label;
        fs::path path = root / fs::path(board_path).relative_path();
        std::error_code error;
        if (fs::exists(path, error)) return FoundPartition{board_path, path};
    }
    return std::nullopt;
}

std::string efs_search_text(const server::BoardProfile& board) {
    std::string where;
    for (const std::string& directory : board.disk.by_name_directories) where += (where.empty() ? "" : ", ") + directory;
    return where;
}

std::optional<std::uint64_t> partition_size(const fs::path& path) {
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) return std::nullopt;
    if (S_ISREG(status.st_mode)) return static_cast<std::uint64_t>(status.st_size);
    if (!S_ISBLK(status.st_mode)) return std::nullopt;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::uint64_t bytes = 0;
    bool got = ::ioctl(fd, BLKGETSIZE64, &bytes) == 0;
    ::close(fd);
    return got ? std::optional<std::uint64_t>(bytes) : std::nullopt;
}

bool board_has_efs(const fs::path& root, const server::BoardProfile& board) {
    for (const server::EfsPartition& partition : board.partitions)
        if (!find_efs_partition(root, board, partition)) return false;
    return !board.partitions.empty();
}

namespace {

// Copies `size` bytes of the partition (opened read-only) into a new file.
std::optional<std::string> copy_partition(const FoundPartition& from, std::uint64_t size, const fs::path& to) {
    int in = ::open(from.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return from.board_path + ": cannot open it to read: " + errno_text(errno);
    int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        int error = errno;
        ::close(in);
        return to.string() + ": " + errno_text(error);
    }
    std::optional<std::string> failure;
    std::vector<char> buffer(1 << 16);
    std::uint64_t copied = 0;
    while (copied < size && !failure) {
        std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - copied));
        ssize_t got = ::read(in, buffer.data(), want);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            failure = from.board_path + ": read at byte " + std::to_string(copied) + " of " + std::to_string(size) + ": " +
                      (got < 0 ? errno_text(errno) : "it ended early");
            break;
        }
        for (ssize_t put = 0; put < got && !failure;) {
            ssize_t wrote = ::write(out, buffer.data() + put, static_cast<std::size_t>(got - put));
            if (wrote < 0 && errno == EINTR) continue;
            if (wrote <= 0) failure = to.string() + ": " + (wrote < 0 ? errno_text(errno) : "nothing written");
            else put += wrote;
        }
        copied += static_cast<std::uint64_t>(got);
    }
    ::close(in);
    if (::close(out) != 0 && !failure) failure = to.string() + ": " + errno_text(errno);
    return failure;
}

}  // namespace

Expected<EfsSnapshot, std::string> EfsSnapshot::take(const fs::path& root, const server::BoardProfile& board,
                                                     const fs::path& scratch) {
    auto made = server::make_owned_directory(scratch, "efs-");
    if (!made) return unexpected("no directory for the EFS snapshot: " + made.error());
    EfsSnapshot snapshot(*made);
    for (const server::EfsPartition& partition : board.partitions) {
        auto found = find_efs_partition(root, board, partition);
        if (!found) return unexpected("EFS partition " + partition.label + " not found in " + efs_search_text(board));
        auto size = partition_size(found->path);
        if (!size) return unexpected(found->board_path + ": its size cannot be read (run as root)");
        if (partition.size_bytes && *partition.size_bytes != *size)
            return unexpected(found->board_path + " is " + std::to_string(*size) + " bytes; the board profile " +
                              board.name + " says " + std::to_string(*partition.size_bytes) + " (check --board)");
        if (*size == 0 || *size > efs_partition_limit_bytes)
            return unexpected(found->board_path + " is " + std::to_string(*size) +
                              " bytes: not an EFS partition (check --board)");
        if (auto failed = copy_partition(*found, *size, snapshot.path_ / partition.file_name)) return unexpected(*failed);
    }
    return snapshot;
}

EfsSnapshot::EfsSnapshot(EfsSnapshot&& other) noexcept : path_(std::exchange(other.path_, {})) {}

EfsSnapshot::~EfsSnapshot() {
    std::error_code ignored;
    if (!path_.empty()) fs::remove_all(path_, ignored);
}

}  // namespace rmtfs_hil::hil
