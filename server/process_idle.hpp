// Whether a program has gone idle: every thread of it and of its descendants
// is blocked in a call that only input can end (select, poll, epoll, a
// receive, a read, a futex wait, pause) and none of those calls has a timeout.
// Read from /proc/PID/task/TID/syscall, which says "running" for a thread that
// is not blocked and names the call and its arguments for one that is.
//
// A program is woken the moment input reaches it (the waker marks it waking
// inside its own write, and /proc shows it "R" from then on), so when the
// harness has written nothing the program has not read, an idle program stays
// idle until the harness writes again: it will never answer what it has not
// answered. The caller looks at its queues between two samples and takes the
// program as idle only when both samples are idle and equal (no thread ran in
// between: the context-switch counts did not move). What no check can see: an
// alarm() or a timer of another process that will signal it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <cstdint>
#include <string>
#include <vector>

namespace rmtfs_hil::server {

struct ThreadSample {
    pid_t tid = 0;
    std::string syscall;     // /proc/PID/task/TID/syscall
    char state = '?';        // from status: S sleeping, R running or waking, ...
    std::uint64_t switches = 0;  // voluntary + involuntary context switches
    bool operator==(const ThreadSample&) const = default;
};

// `pid` and all it started, thread by thread, and why they are not idle
// (nothing when they are), for a person: "thread 4121 is running", "thread
// 4121 waits in poll with a timeout", "process 4121 is gone".
struct ProcessSample {
    std::vector<ThreadSample> threads;
    std::optional<std::string> busy;
    bool operator==(const ProcessSample&) const = default;
};
ProcessSample sample_process(pid_t pid);

}  // namespace rmtfs_hil::server
