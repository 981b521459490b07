// Watched files: real files a program under test opens and does I/O on
// itself (the daemon's storage files, the rmtfs_mem device), which the shim
// reports to the harness call by call (sim/shim/shim_protocol.h,
// SHIM_OP_FILE_*). The harness answers each report — go on, fail with this
// errno, transfer fewer bytes — and is told when the call is over, while the
// program still waits inside it: that is where faults land exactly.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace rmtfs_hil::sim {

enum class FileOp : std::uint32_t { read = 1, write = 2, sync = 4 };

constexpr std::string_view to_string(FileOp op) {
    switch (op) {
        case FileOp::read: return "read";
        case FileOp::write: return "write";
        case FileOp::sync: return "sync";
    }
    return "?";
}

// A set of FileOp bits: which calls the shim asks about.
using FileOpMask = std::uint32_t;
constexpr FileOpMask mask_of(FileOp op) { return static_cast<FileOpMask>(op); }

struct FileOpening {
    std::string path;  // absolute, as the program named it
    int flags = 0;     // open(2) flags
    pid_t pid = 0;     // the opening process (0 when unknown)
};

struct OpenAnswer {
    int error = 0;        // the open fails with this errno
    bool watch = false;   // keep watching this open file
    FileOpMask ask = 0;   // which calls to ask about (when watched)

    static OpenAnswer fail(int error_number) { return {error_number, false, 0}; }
    static OpenAnswer ignore() { return {}; }
    static OpenAnswer watching(FileOpMask ops) { return {0, true, ops}; }
};

struct FileCall {
    FileOp op = FileOp::read;
    std::uint64_t offset = 0;
    std::uint32_t length = 0;  // bytes asked for; 0 for a sync
};

struct CallAnswer {
    int error = 0;               // the call fails with this errno, doing nothing
    std::uint32_t length = 0;    // bytes to transfer (at most those asked for)
    bool report_done = false;    // tell FileWatcher::done() after the real call
};

struct CallDone {
    FileOp op = FileOp::read;
    std::uint64_t offset = 0;
    std::uint32_t bytes = 0;  // transferred
    int error = 0;            // errno of a failed real call
};

// One watched open file description; ids are unique for the harness's life.
using WatchId = std::uint64_t;

// What the harness does with watched files. All calls run on the event loop;
// the program waits in its call until the callback returns (so a done() that
// sends SIGKILL lands before the program runs another instruction).
class FileWatcher {
public:
    virtual ~FileWatcher() = default;
    virtual OpenAnswer opened(WatchId id, const FileOpening& opening) = 0;
    virtual CallAnswer call(WatchId id, const FileCall& call) = 0;
    virtual void done(WatchId id, const CallDone& done) = 0;
    // The last descriptor of the open file was closed, or the process died.
    virtual void closed(WatchId id) = 0;
    // The shim refused to open a block device of the host (opening.path,
    // device major:minor) before anything was opened.
    virtual void device_refused(const FileOpening& opening, unsigned major, unsigned minor) = 0;
};

}  // namespace rmtfs_hil::sim
