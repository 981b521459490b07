#include "server/process_idle.hpp"

#include <sys/syscall.h>

#include <array>
#include <cstdint>
#include <fstream>
#include <filesystem>
#include <span>
#include <sstream>
#include <string_view>
#include <vector>

#include "server/preload_check.hpp"

namespace rmtfs_hil::server {

namespace {

namespace fs = std::filesystem;

// A blocked thread as /proc/TID/syscall shows it: the call and its six arguments.
struct BlockedCall {
    long number = -1;
    std::array<std::uint64_t, 6> args{};
};

// How a waiting call's timeout is given.
enum class Timeout {
    none,             // the call has none: only input ends it
    pointer_arg,      // a pointer argument; null means none
    negative_int_arg  // an int argument; negative means none
};

struct WaitCall {
    long number;
    const char* name;
    Timeout timeout;
    int arg = 0;  // which argument holds the timeout
};

// The calls that wait for input, by the numbers of the build's own
// architecture. nanosleep and friends are not among them: a sleeping thread
// will wake by itself.
constexpr WaitCall native_calls[] = {
#ifdef SYS_select
    {SYS_select, "select", Timeout::pointer_arg, 4},
#endif
    {SYS_pselect6, "pselect6", Timeout::pointer_arg, 4},
#ifdef SYS_poll
    {SYS_poll, "poll", Timeout::negative_int_arg, 2},
#endif
    {SYS_ppoll, "ppoll", Timeout::pointer_arg, 2},
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait", Timeout::negative_int_arg, 3},
#endif
    {SYS_epoll_pwait, "epoll_pwait", Timeout::negative_int_arg, 3},
#ifdef SYS_epoll_pwait2
    {SYS_epoll_pwait2, "epoll_pwait2", Timeout::pointer_arg, 3},
#endif
    {SYS_recvfrom, "recvfrom", Timeout::none},
    {SYS_recvmsg, "recvmsg", Timeout::none},
    {SYS_recvmmsg, "recvmmsg", Timeout::pointer_arg, 4},
    {SYS_read, "read", Timeout::none},
    {SYS_readv, "readv", Timeout::none},
    {SYS_accept4, "accept4", Timeout::none},
#ifdef SYS_accept
    {SYS_accept, "accept", Timeout::none},
#endif
    {SYS_futex, "futex", Timeout::pointer_arg, 3},
    {SYS_wait4, "wait4", Timeout::none},
    {SYS_waitid, "waitid", Timeout::none},
#ifdef SYS_pause
    {SYS_pause, "pause", Timeout::none},
#endif
    {SYS_rt_sigsuspend, "rt_sigsuspend", Timeout::none},
    {SYS_rt_sigtimedwait, "rt_sigtimedwait", Timeout::pointer_arg, 2},
};

// The same calls by the numbers of the two architectures a daemon may have
// when it is not the build's: the board agent for aarch64 runs this
// machine's x86_64 daemon under qemu-user, and /proc shows the daemon's
// numbers. Checked against the build's own table below, on each.
constexpr WaitCall x86_64_calls[] = {
    {23, "select", Timeout::pointer_arg, 4},       {270, "pselect6", Timeout::pointer_arg, 4},
    {7, "poll", Timeout::negative_int_arg, 2},     {271, "ppoll", Timeout::pointer_arg, 2},
    {232, "epoll_wait", Timeout::negative_int_arg, 3}, {281, "epoll_pwait", Timeout::negative_int_arg, 3},
    {441, "epoll_pwait2", Timeout::pointer_arg, 3}, {45, "recvfrom", Timeout::none},
    {47, "recvmsg", Timeout::none},                {299, "recvmmsg", Timeout::pointer_arg, 4},
    {0, "read", Timeout::none},                    {19, "readv", Timeout::none},
    {288, "accept4", Timeout::none},               {43, "accept", Timeout::none},
    {202, "futex", Timeout::pointer_arg, 3},       {61, "wait4", Timeout::none},
    {247, "waitid", Timeout::none},                {34, "pause", Timeout::none},
    {130, "rt_sigsuspend", Timeout::none},         {128, "rt_sigtimedwait", Timeout::pointer_arg, 2},
};
constexpr WaitCall aarch64_calls[] = {
    {72, "pselect6", Timeout::pointer_arg, 4},     {73, "ppoll", Timeout::pointer_arg, 2},
    {22, "epoll_pwait", Timeout::negative_int_arg, 3}, {441, "epoll_pwait2", Timeout::pointer_arg, 3},
    {207, "recvfrom", Timeout::none},              {212, "recvmsg", Timeout::none},
    {243, "recvmmsg", Timeout::pointer_arg, 4},    {63, "read", Timeout::none},
    {65, "readv", Timeout::none},                  {242, "accept4", Timeout::none},
    {202, "accept", Timeout::none},                {98, "futex", Timeout::pointer_arg, 3},
    {260, "wait4", Timeout::none},                 {95, "waitid", Timeout::none},
    {133, "rt_sigsuspend", Timeout::none},         {137, "rt_sigtimedwait", Timeout::pointer_arg, 2},
};

#if defined(__x86_64__)
constexpr int native_machine = elf_machine_x86_64;
#elif defined(__aarch64__)
constexpr int native_machine = elf_machine_aarch64;
#else
constexpr int native_machine = -1;
#endif

template <std::size_t N, std::size_t M>
constexpr bool agrees(const WaitCall (&table)[N], const WaitCall (&native)[M]) {
    for (const WaitCall& call : table) {
        bool found = false;
        for (const WaitCall& own : native) {
            if (std::string_view(own.name) != call.name) continue;
            found = own.number == call.number && own.timeout == call.timeout && own.arg == call.arg;
        }
        if (!found) return false;
    }
    return N == M;
}
static_assert(native_machine != elf_machine_x86_64 || agrees(x86_64_calls, native_calls), "x86_64's numbers are wrong");
static_assert(native_machine != elf_machine_aarch64 || agrees(aarch64_calls, native_calls), "aarch64's numbers are wrong");

// The calls as a process of that ELF machine numbers them (the build's own
// when its program could not be read); empty when unknown.
std::span<const WaitCall> wait_calls_of(int machine) {
    if (machine == native_machine || machine < 0) return native_calls;
    if (machine == elf_machine_x86_64) return x86_64_calls;
    if (machine == elf_machine_aarch64) return aarch64_calls;
    return {};
}

// The ELF machine of a process's program (-1 when it cannot be read).
int machine_of(pid_t pid) {
    auto facts = read_elf(fs::path("/proc") / std::to_string(pid) / "exe");
    return facts ? facts->machine : -1;
}

// "running", "-1 sp pc" (blocked outside a call: stopped), or "nr a0..a5 sp pc".
std::optional<BlockedCall> blocked_call(const std::string& line) {
    if (line.rfind("running", 0) == 0) return std::nullopt;
    std::istringstream in(line);
    BlockedCall call;
    if (!(in >> call.number)) return std::nullopt;
    for (auto& arg : call.args) {
        std::string hex;
        if (!(in >> hex)) break;
        arg = std::stoull(hex, nullptr, 16);
    }
    return call;
}

// Why a thread so sampled is not idle, or nothing.
std::optional<std::string> thread_busy(const ThreadSample& sample, std::span<const WaitCall> wait_calls, int machine) {
    std::string id = "thread " + std::to_string(sample.tid);
    if (sample.state != 'S') return id + " is in state " + std::string(1, sample.state);
    auto call = blocked_call(sample.syscall);
    if (!call) return id + " is running";
    if (call->number < 0) return id + " is stopped";
    if (wait_calls.empty())
        return id + " is of a program whose architecture (ELF machine " + std::to_string(machine) +
               ") the idle check does not know";
    for (const WaitCall& wait : wait_calls) {
        if (wait.number != call->number) continue;
        std::uint64_t timeout = call->args[static_cast<std::size_t>(wait.arg)];
        bool bounded = (wait.timeout == Timeout::pointer_arg && timeout != 0) ||
                       (wait.timeout == Timeout::negative_int_arg && static_cast<std::int32_t>(timeout) >= 0);
        if (bounded) return id + " waits in " + wait.name + " with a timeout";
        return std::nullopt;
    }
    return id + " is in system call " + std::to_string(call->number);
}

// One thread: its call first, then its state and switch counts (a thread
// waking between the two shows R).
std::optional<ThreadSample> sample_thread(const fs::path& task) {
    ThreadSample sample;
    sample.tid = static_cast<pid_t>(std::stol(task.filename().string()));
    std::ifstream call(task / "syscall");
    if (!call || !std::getline(call, sample.syscall)) return std::nullopt;  // gone meanwhile
    std::ifstream status(task / "status");
    std::string line;
    bool seen_state = false;
    while (std::getline(status, line)) {
        if (line.rfind("State:", 0) == 0) {
            auto at = line.find_first_not_of(" \t", 6);
            if (at != std::string::npos) sample.state = line[at];
            seen_state = true;
        } else if (line.find("ctxt_switches:") != std::string::npos) {
            sample.switches += std::stoull(line.substr(line.find(':') + 1));
        }
    }
    if (!seen_state) return std::nullopt;
    return sample;
}

std::vector<pid_t> children_of(const fs::path& task) {
    std::vector<pid_t> children;
    std::ifstream file(task / "children");
    pid_t child = 0;
    while (file >> child) children.push_back(child);
    return children;
}

}  // namespace

ProcessSample sample_process(pid_t pid) {
    ProcessSample sample;
    std::vector<pid_t> processes{pid};
    for (std::size_t i = 0; i < processes.size(); ++i) {
        std::error_code error;
        fs::directory_iterator tasks(fs::path("/proc") / std::to_string(processes[i]) / "task", error);
        if (error) {
            if (i == 0) sample.busy = "process " + std::to_string(pid) + " is gone";
            continue;  // a descendant that ended meanwhile
        }
        int machine = machine_of(processes[i]);
        std::span<const WaitCall> calls = wait_calls_of(machine);
        for (const auto& task : tasks) {
            auto thread = sample_thread(task.path());
            if (!thread) continue;
            if (!sample.busy) sample.busy = thread_busy(*thread, calls, machine);
            sample.threads.push_back(std::move(*thread));
            for (pid_t child : children_of(task.path())) processes.push_back(child);
        }
    }
    return sample;
}

}  // namespace rmtfs_hil::server
