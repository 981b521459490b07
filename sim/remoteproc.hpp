// A remote processor as the kernel's remoteproc core shows it in sysfs: the
// `state` file's text and how writes to it are answered (EBUSY, EINVAL), with
// every write and transition reported to whoever watches.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proto/names.hpp"

namespace rmtfs_hil::sim {

enum class RemoteprocState { offline, suspended, running, crashed, deleted, attached, detached };
}  // namespace rmtfs_hil::sim

// The words the kernel prints: "offline", "running", "crashed", ...
template <>
struct rmtfs_hil::NameTable<rmtfs_hil::sim::RemoteprocState> {
    using S = rmtfs_hil::sim::RemoteprocState;
    static constexpr std::array entries{Named{S::offline, "offline"},   Named{S::suspended, "suspended"},
                                        Named{S::running, "running"},   Named{S::crashed, "crashed"},
                                        Named{S::deleted, "deleted"},   Named{S::attached, "attached"},
                                        Named{S::detached, "detached"}};
};

namespace rmtfs_hil::sim {
inline std::string_view to_string(RemoteprocState state) { return name_of(state); }

class Remoteproc {
public:
    // `sysfs_name` is the directory under /sys/class/remoteproc ("remoteproc0");
    // `name` what its `name` file says ("4080000.remoteproc").
    Remoteproc(std::string sysfs_name, std::string name);

    const std::string& sysfs_name() const { return sysfs_name_; }
    const std::string& name() const { return name_; }
    RemoteprocState state() const { return state_; }
    // The state file's content: the word and a newline.
    std::string state_text() const;

    // A write to the state file, answered as the kernel's state_store does:
    // 0 when accepted, else the errno the write fails with. A trailing newline
    // is ignored ("start\n" is "start").
    int write_state(std::string_view text);

    // The remote processor died on its own (e.g. the modem's fatal error).
    void crash();
    // Recovery or any harness-driven change that is not a sysfs write.
    void set_state(RemoteprocState state, std::string_view reason);

    struct Change {
        std::string_view command;  // "start", "stop", ... or the reason of set_state/crash
        int error;                 // what the write returned (0 for harness changes)
        RemoteprocState before;
        RemoteprocState after;
    };
    using Listener = std::function<void(const Remoteproc&, const Change&)>;
    // Returns a token for unwatch(); a listener whose owner goes first must be removed.
    std::size_t watch(Listener listener) {
        listeners_.emplace(++last_listener_, std::move(listener));
        return last_listener_;
    }
    void unwatch(std::size_t token) { listeners_.erase(token); }

private:
    void notify(std::string_view command, int error, RemoteprocState before);

    std::string sysfs_name_;
    std::string name_;
    RemoteprocState state_ = RemoteprocState::offline;
    std::map<std::size_t, Listener> listeners_;
    std::size_t last_listener_ = 0;
};

// The remoteprocs a world models, found by the path a program opens.
class RemoteprocRegistry {
public:
    Remoteproc& add(std::string sysfs_name, std::string name);
    // ".../remoteproc/<sysfs_name>/state" for a modelled one, else nullptr.
    Remoteproc* find_by_state_path(std::string_view path);
    Remoteproc* find(std::string_view sysfs_name);
    const std::vector<std::unique_ptr<Remoteproc>>& all() const { return remoteprocs_; }

private:
    std::vector<std::unique_ptr<Remoteproc>> remoteprocs_;
};

}  // namespace rmtfs_hil::sim
