// Processes as /proc shows them, read so that a process vanishing mid-read
// is an answer ("gone"), not an exception.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <optional>
#include <string>

namespace rmtfs_hil::testing {

struct ProcessInfo {
    char state = '?';  // R, S, D, T, t, Z, ...
    pid_t parent = 0;
};

inline std::optional<ProcessInfo> process_info(pid_t pid) {
    std::string path = "/proc/" + std::to_string(pid) + "/stat";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    char text[1024];
    ssize_t size = ::read(fd, text, sizeof text - 1);
    ::close(fd);
    if (size <= 0) return std::nullopt;
    std::string stat(text, static_cast<std::size_t>(size));
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses.
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size()) return std::nullopt;
    return ProcessInfo{stat[close + 2], static_cast<pid_t>(std::atol(stat.c_str() + close + 4))};
}

inline char process_state(pid_t pid) {
    auto info = process_info(pid);
    return info ? info->state : '?';
}

// Gone: no such process, or only its zombie is left.
inline bool gone(pid_t pid) {
    char state = process_state(pid);
    return state == '?' || state == 'Z' || state == 'X';
}

inline std::map<pid_t, ProcessInfo> process_table() {
    std::map<pid_t, ProcessInfo> table;
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return table;
    while (dirent* entry = ::readdir(proc)) {
        char* end = nullptr;
        long pid = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0') continue;
        if (auto info = process_info(static_cast<pid_t>(pid))) table[static_cast<pid_t>(pid)] = *info;
    }
    ::closedir(proc);
    return table;
}

}  // namespace rmtfs_hil::testing
