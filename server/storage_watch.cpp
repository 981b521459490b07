#include "server/storage_watch.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proto/errno_names.hpp"
#include "proto/rmtfs.hpp"

namespace rmtfs_hil::server {

namespace fs = std::filesystem;

std::string ordinal(unsigned n) {
    const char* suffix = (n % 100 >= 11 && n % 100 <= 13) ? "th"
                         : n % 10 == 1                   ? "st"
                         : n % 10 == 2                   ? "nd"
                         : n % 10 == 3                   ? "rd"
                                                         : "th";
    return std::to_string(n) + suffix;
}

namespace {

IoCall call_of(sim::FileOp op) {
    switch (op) {
        case sim::FileOp::read: return IoCall::read;
        case sim::FileOp::write: return IoCall::write;
        case sim::FileOp::sync: return IoCall::sync;
    }
    return IoCall::read;
}

// pwrite in full, retrying short transfers; false on an error.
bool write_at(int fd, const std::uint8_t* from, std::size_t length, std::uint64_t offset) {
    while (length > 0) {
        ssize_t n = ::pwrite(fd, from, length, static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        from += n;
        length -= static_cast<std::size_t>(n);
        offset += static_cast<std::uint64_t>(n);
    }
    return true;
}

constexpr std::uint64_t sector_bytes = rmtfs::sector_size_bytes;

class FileDescriptor {
public:
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor() {
        if (fd_ >= 0) ::close(fd_);
    }
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

}  // namespace

std::string describe(const IoFault& fault) {
    std::string what = fault.error != 0 ? errno_name(fault.error)
                       : fault.short_bytes ? "short " + std::string(to_string(fault.call)) + " of " +
                                                 std::to_string(*fault.short_bytes) + " bytes"
                                           : std::string("nothing");
    std::string where = fault.target == IoTarget::memory ? "the rmtfs_mem device"
                        : fault.file.empty()             ? "any storage file"
                                                         : fault.file;
    std::string when = ordinal(fault.nth) + " call" +
                       (fault.times == 0   ? " and every one after"
                        : fault.times > 1 ? " and the " + std::to_string(fault.times - 1) + " after"
                                          : "");
    return what + " on " + std::string(to_string(fault.call)) + " of " + where + " (" + when + ")";
}

StorageWatch::StorageWatch(fs::path storage_dir, std::string memory_device, sim::Fabric& fabric)
    : storage_dir_(std::move(storage_dir)), memory_device_(std::move(memory_device)), fabric_(fabric) {}

std::optional<std::string> StorageWatch::never_fires(const IoFault& fault) const {
    if (fault.target == IoTarget::memory && !ask_memory_io_)
        return std::string("I/O on the memory device is not watched: turn on ask_memory_io");
    if (fault.target == IoTarget::storage && fault.call == IoCall::read && !ask_storage_reads_)
        return std::string("storage reads are not watched: turn on ask_storage_reads");
    if (fault.target == IoTarget::storage && !fault.file.empty()) {
        std::error_code error;
        if (!fs::is_regular_file(storage_dir_ / fault.file, error)) {
            std::string files;
            for (const auto& entry : fs::directory_iterator(storage_dir_, error))
                files += (files.empty() ? "" : ", ") + entry.path().filename().string();
            return "there is no storage file '" + fault.file + "' (there are: " + files + ")";
        }
    }
    return std::nullopt;
}

void StorageWatch::add_partition_device(const std::string& file, std::uint64_t size_bytes,
                                        const std::vector<std::string>& paths) {
    for (const std::string& path : paths) partition_devices_[path] = PartitionDevice{file, size_bytes};
}

std::string StorageWatch::watch_list() const {
    std::string list = storage_dir_.string() + "/:" + memory_device_;
    // The by-name directories whole, and the nodes one by one: the shim's
    // table is small.
    for (const std::string& directory : device_directories_) list += ":" + directory + "/";
    for (const auto& [path, device] : partition_devices_) {
        bool listed = std::any_of(device_directories_.begin(), device_directories_.end(),
                                  [&, &p = path](const std::string& d) { return fs::path(p).parent_path() == d; });
        if (!listed) list += ":" + path;
    }
    return list;
}

std::size_t StorageWatch::arm(IoFault fault) {
    std::string what = describe(fault);
    faults_.push_back(Armed{std::move(fault)});
    std::size_t index = faults_.size() - 1;
    sim::TraceFields fields;
    fields.io_fault = index;
    fabric_.trace(sim::TraceSource::harness, sim::TraceKind::io_fault_armed, std::move(what), fields);
    return index;
}

void StorageWatch::disarm_all() { faults_.clear(); }

unsigned StorageWatch::fault_hits(std::size_t index) const {
    return index < faults_.size() ? faults_[index].hits : 0;
}

std::optional<IoTarget> StorageWatch::classify(const std::string& path, OpenFile& open) const {
    if (path == memory_device_) return open.target = IoTarget::memory;
    if (auto device = partition_devices_.find(path); device != partition_devices_.end()) {
        open.file = device->second.file;
        open.device_size = device->second.size_bytes;
        return open.target = IoTarget::storage;
    }
    fs::path p(path);
    if (p.parent_path() == storage_dir_ && p.has_filename()) {
        open.file = p.filename().string();
        return open.target = IoTarget::storage;
    }
    return std::nullopt;  // a by-name path of no partition the board has, say
}

void StorageWatch::bound_by_device(const OpenFile& open, const sim::FileCall& call, sim::CallAnswer& answer) {
    std::uint64_t size = *open.device_size;
    if (call.offset + answer.length <= size) return;
    std::uint64_t fits = call.offset >= size ? 0 : size - call.offset;
    sim::TraceFields fields;
    fields.file = open.file;
    fields.sector = call.offset / sector_bytes;
    std::string where = " of " + std::to_string(answer.length) + " bytes at offset " + std::to_string(call.offset) +
                        " on the partition device of " + open.file + " (" + std::to_string(size) + " bytes)";
    if (fits == 0) {
        answer.error = ENOSPC;
        answer.report_done = false;
        fabric_.trace(sim::TraceSource::server, sim::TraceKind::past_end, "write" + where + ": ENOSPC, past its end", fields);
    } else {
        answer.length = static_cast<std::uint32_t>(fits);
        fabric_.trace(sim::TraceSource::server, sim::TraceKind::past_end,
                      "write" + where + ": cut to " + std::to_string(fits) + " bytes at its end", fields);
    }
}

StorageWatch::Armed* StorageWatch::take(IoTarget target, const std::string& file, IoCall call) {
    Armed* taken = nullptr;
    for (Armed& armed : faults_) {
        const IoFault& f = armed.fault;
        if (f.target != target || f.call != call) continue;
        if (target == IoTarget::storage && !f.file.empty() && f.file != file) continue;
        unsigned seen = ++armed.matched;
        bool due = seen >= f.nth && (f.times == 0 || seen < f.nth + f.times);
        if (due && taken == nullptr) taken = &armed;
    }
    if (taken != nullptr) ++taken->hits;
    return taken;
}

sim::OpenAnswer StorageWatch::opened(sim::WatchId id, const sim::FileOpening& opening) {
    OpenFile open{};
    auto target = classify(opening.path, open);
    if (!target) return sim::OpenAnswer::ignore();
    const std::string& file = open.file;
    if (Armed* fault = take(*target, file, IoCall::open)) {
        sim::TraceFields fields;
        fields.io_fault = static_cast<std::size_t>(fault - faults_.data());
        if (*target == IoTarget::storage) fields.file = file;
        fabric_.trace(sim::TraceSource::server, sim::TraceKind::io_fault, describe(fault->fault) + ": open of " + opening.path,
                      fields);
        if (fault->fault.error != 0) return sim::OpenAnswer::fail(fault->fault.error);
    }
    open_[id] = open;
    if (*target == IoTarget::memory) {
        memory_opens_.insert(id);
        auto count = memory_open_count();
        fabric_.trace(sim::TraceSource::server, sim::TraceKind::memory_open,
                      opening.path + " opened by pid " + std::to_string(opening.pid) + " (" + std::to_string(count) +
                          " open)");
        if (memory_) memory_(true, count);
        return sim::OpenAnswer::watching(ask_memory_io_ ? sim::mask_of(sim::FileOp::read) | sim::mask_of(sim::FileOp::write)
                                                        : 0);
    }
    sim::FileOpMask ask = sim::mask_of(sim::FileOp::write) | sim::mask_of(sim::FileOp::sync);
    if (ask_storage_reads_) ask |= sim::mask_of(sim::FileOp::read);
    return sim::OpenAnswer::watching(ask);
}

sim::CallAnswer StorageWatch::call(sim::WatchId id, const sim::FileCall& call) {
    sim::CallAnswer answer{0, call.length, false};
    auto it = open_.find(id);
    if (it == open_.end()) return answer;
    const OpenFile& open = it->second;
    answer.report_done = open.target == IoTarget::storage && call.op != sim::FileOp::read;
    if (open.target == IoTarget::storage && call.op == sim::FileOp::write) before_write(open.file, call.offset, call.length);
    if (Armed* fault = take(open.target, open.file, call_of(call.op))) {
        const IoFault& f = fault->fault;
        std::string where = open.target == IoTarget::memory ? memory_device_ : open.file;
        sim::TraceFields fields;
        fields.io_fault = static_cast<std::size_t>(fault - faults_.data());
        if (open.target == IoTarget::storage) fields.file = open.file;
        if (call.op != sim::FileOp::sync) fields.sector = call.offset / sector_bytes;
        fabric_.trace(sim::TraceSource::server, sim::TraceKind::io_fault,
                      describe(f) + ": " + std::string(to_string(call.op)) + " of " + where + " at offset " +
                          std::to_string(call.offset),
                      fields);
        if (f.error != 0) {
            answer.error = f.error;
            answer.report_done = false;
            if (open.target == IoTarget::storage && call.op == sim::FileOp::sync) sync_failed(open.file);
        } else if (f.short_bytes) {
            answer.length = std::min(*f.short_bytes, call.length);
        }
    }
    if (answer.error == 0 && open.device_size && call.op == sim::FileOp::write) bound_by_device(open, call, answer);
    return answer;
}

void StorageWatch::done(sim::WatchId id, const sim::CallDone& done) {
    auto it = open_.find(id);
    if (it == open_.end() || it->second.target != IoTarget::storage) return;
    const std::string file = it->second.file;
    if (done.op == sim::FileOp::sync) {
        if (done.error != 0) {
            machine_trouble("the daemon's sync of " + file + " failed with " + errno_name(done.error) +
                            ", which no fault injected: the world's file system");
            return sync_failed(file);
        }
        // fdatasync made every write to the file durable, whoever wrote it,
        // except what an earlier failed sync left behind.
        auto d = durability_.find(file);
        if (d == durability_.end()) return;
        std::erase_if(d->second.undo, [&](const auto& entry) { return !d->second.sync_failed.contains(entry.first); });
        if (d->second.undo.empty()) durability_.erase(d);
        return;
    }
    if (done.op != sim::FileOp::write) return;
    if (done.error == ENOSPC || done.error == EDQUOT || done.error == EIO || done.error == EROFS)
        machine_trouble("the daemon's write of " + file + " at offset " + std::to_string(done.offset) + " failed with " +
                        errno_name(done.error) + ", which no fault injected: the world's file system");
    if (done.error == 0) ++storage_writes_;
    if (wrote_) wrote_(StorageWrite{file, done.offset, done.bytes, done.error, storage_writes_});
}

void StorageWatch::closed(sim::WatchId id) {
    auto it = open_.find(id);
    if (it == open_.end()) return;
    bool memory = it->second.target == IoTarget::memory;
    open_.erase(it);
    if (!memory) return;
    memory_opens_.erase(id);
    auto count = memory_open_count();
    fabric_.trace(sim::TraceSource::server, sim::TraceKind::memory_close, memory_device_ + " closed (" + std::to_string(count) + " open)");
    if (memory_) memory_(false, count);
}

void StorageWatch::sync_failed(const std::string& file) {
    auto d = durability_.find(file);
    if (d == durability_.end()) return;
    for (const auto& [sector, old] : d->second.undo) d->second.sync_failed.insert(sector);
}

void StorageWatch::before_write(const std::string& file, std::uint64_t offset, std::uint32_t length) {
    if (length == 0) return;
    auto [it, fresh] = durability_.try_emplace(file);
    Durability& d = it->second;
    std::error_code error;
    if (fresh) d.durable_size = fs::file_size(path_of(file), error);
    for (std::uint64_t sector = offset / sector_bytes; sector <= (offset + length - 1) / sector_bytes; ++sector) {
        d.sync_failed.erase(sector);  // dirty again: the next sync writes it
        if (d.undo.contains(sector)) continue;
        int fd = reader_of(file);
        Bytes old(sector_bytes);
        ssize_t n = fd < 0 ? -1 : ::pread(fd, old.data(), old.size(), static_cast<off_t>(sector * sector_bytes));
        if (n < 0) {
            machine_trouble("cannot read " + path_of(file).string() + " to keep its durability record: " + std::strerror(errno));
            n = 0;
        }
        old.resize(static_cast<std::size_t>(n));  // a sector past the end had nothing
        d.undo.emplace(sector, std::move(old));
    }
}

int StorageWatch::reader_of(const std::string& file) {
    auto [it, fresh] = readers_.try_emplace(file, -1);
    if (fresh || it->second < 0) it->second = ::open(path_of(file).c_str(), O_RDONLY | O_CLOEXEC);
    return it->second;
}

void StorageWatch::device_refused(const sim::FileOpening& opening, unsigned major, unsigned minor) {
    if (machine_trouble_)
        machine_trouble_("pid " + std::to_string(opening.pid) + " tried to open " + opening.path +
                    ", a block device of the host (" + std::to_string(major) + ":" + std::to_string(minor) +
                    "); refused: nothing a scenario runs may touch the host's disks (the world's partitions are "
                    "under /dev/disk/by-partlabel and /dev/block/by-name)");
}

void StorageWatch::machine_trouble(const std::string& what) {
    fabric_.trace(sim::TraceSource::harness, sim::TraceKind::durability_error, what);
    if (machine_trouble_) machine_trouble_(what);
}

StorageWatch::~StorageWatch() {
    for (const auto& [file, fd] : readers_)
        if (fd >= 0) ::close(fd);
}

std::uint64_t StorageWatch::unsynced_bytes() const {
    std::uint64_t total = 0;
    for (const auto& [file, d] : durability_) total += d.undo.size() * sector_bytes;
    return total;
}

std::vector<RevertedRange> StorageWatch::lose_power() {
    std::vector<RevertedRange> reverted;
    for (auto& [file, d] : durability_) {
        FileDescriptor fd(::open(path_of(file).c_str(), O_WRONLY | O_CLOEXEC));
        if (fd.get() < 0) {
            machine_trouble("cannot revert " + path_of(file).string() + " at power loss: " + std::strerror(errno));
            continue;
        }
        for (const auto& [sector, old] : d.undo) {
            if (!old.empty() && !write_at(fd.get(), old.data(), old.size(), sector * sector_bytes))
                machine_trouble("cannot revert " + file + " at power loss: " + std::strerror(errno));
            // Consecutive sectors are one range.
            if (!reverted.empty() && reverted.back().file == file &&
                reverted.back().offset + reverted.back().length == sector * sector_bytes)
                reverted.back().length += sector_bytes;
            else
                reverted.push_back(RevertedRange{file, sector * sector_bytes, sector_bytes});
        }
        // What grew the file was not durable either.
        if (::ftruncate(fd.get(), static_cast<off_t>(d.durable_size)) != 0)
            machine_trouble("cannot truncate " + file + " at power loss: " + std::strerror(errno));
        sim::TraceFields fields;
        fields.file = file;
        fabric_.trace(sim::TraceSource::harness, sim::TraceKind::power_loss,
                      file + ": " + std::to_string(d.undo.size()) + " unsynced sectors reverted", fields);
    }
    durability_.clear();
    return reverted;
}

}  // namespace rmtfs_hil::server
