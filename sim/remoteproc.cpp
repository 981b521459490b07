#include "sim/remoteproc.hpp"

#include <cerrno>

namespace rmtfs_hil::sim {

Remoteproc::Remoteproc(std::string sysfs_name, std::string name)
    : sysfs_name_(std::move(sysfs_name)), name_(std::move(name)) {}

std::string Remoteproc::state_text() const { return std::string(to_string(state_)) + "\n"; }

int Remoteproc::write_state(std::string_view text) {
    // sysfs_streq: equal up to one trailing newline.
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    const RemoteprocState before = state_;
    const bool up = state_ == RemoteprocState::running || state_ == RemoteprocState::attached;
    int error = 0;
    if (text == "start") {
        if (up) error = EBUSY;
        else state_ = RemoteprocState::running;
    } else if (text == "stop") {
        if (!up) error = EINVAL;
        else state_ = RemoteprocState::offline;
    } else {
        error = EINVAL;  // "Unrecognised option"
    }
    notify(text, error, before);
    return error;
}

void Remoteproc::crash() {
    const RemoteprocState before = state_;
    state_ = RemoteprocState::crashed;
    notify("crash", 0, before);
}

void Remoteproc::set_state(RemoteprocState state, std::string_view reason) {
    const RemoteprocState before = state_;
    state_ = state;
    notify(reason, 0, before);
}

void Remoteproc::notify(std::string_view command, int error, RemoteprocState before) {
    Change change{command, error, before, state_};
    std::vector<std::size_t> tokens;
    for (const auto& [token, listener] : listeners_) tokens.push_back(token);
    for (std::size_t token : tokens)
        if (auto it = listeners_.find(token); it != listeners_.end()) it->second(*this, change);
}

Remoteproc& RemoteprocRegistry::add(std::string sysfs_name, std::string name) {
    remoteprocs_.push_back(std::make_unique<Remoteproc>(std::move(sysfs_name), std::move(name)));
    return *remoteprocs_.back();
}

Remoteproc* RemoteprocRegistry::find(std::string_view sysfs_name) {
    for (auto& r : remoteprocs_)
        if (r->sysfs_name() == sysfs_name) return r.get();
    return nullptr;
}

Remoteproc* RemoteprocRegistry::find_by_state_path(std::string_view path) {
    constexpr std::string_view suffix = "/state";
    if (path.size() <= suffix.size() || path.substr(path.size() - suffix.size()) != suffix) return nullptr;
    path.remove_suffix(suffix.size());
    std::size_t slash = path.rfind('/');
    if (slash == std::string_view::npos) return nullptr;
    std::string_view name = path.substr(slash + 1);
    std::string_view parent = path.substr(0, slash);
    // The class directory, or the device's own remoteproc/ directory.
    if (parent.size() < 11 || parent.substr(parent.size() - 11) != "/remoteproc") return nullptr;
    return find(name);
}

}  // namespace rmtfs_hil::sim
