// Reaching a board with the real adb, for every host-side command (`run
// --target adb`, `hil doctor`): connecting a TCP device afresh, ending an adb
// server the command started, pushing the agent.
#pragma once

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "hil/host/adb_client.hpp"

namespace rmtfs_hil::hil {

// The board could not be reached or prepared: the machine's trouble, not a verdict.
struct BoardError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A command that returns at once on a reachable board, and a push.
inline constexpr std::chrono::milliseconds quick_command{std::chrono::seconds(30)};
inline constexpr std::chrono::milliseconds push_bound{std::chrono::seconds(300)};

// Throws BoardError with adb's words when `result` is not a success.
void must(const AdbResult& result, const std::string& what);

// HOST:PORT: a device adb reaches over TCP.
bool is_tcp_serial(const std::string& serial);

// A TCP device is connected afresh (a stale connection makes adb block);
// then the device must be there and authorized, within 10 s. Throws
// BoardError saying what adb said and what to do.
void connect_board(const AdbClient& adb);

// Ends the adb server at the end of its scope when none was running at its
// start: nothing a command starts outlives it.
class AdbServerGuard {
public:
    explicit AdbServerGuard(const AdbClient& adb) : adb_(adb), own_(!AdbClient::server_running()) {}
    ~AdbServerGuard() {
        if (own_) adb_.run({"kill-server"}, quick_command);
    }
    AdbServerGuard(const AdbServerGuard&) = delete;
    AdbServerGuard& operator=(const AdbServerGuard&) = delete;

private:
    const AdbClient& adb_;
    bool own_;
};

// A board path as the agent is given it: relative to "/", where adb's shell
// starts its commands (an emulated device starts them at its root).
std::string from_root(const std::string& absolute);

// Clears `remote_dir` and pushes the agent to remote_dir/bin/rmtfs-hil,
// executable. Returns the agent's path on the board.
std::string push_agent(const AdbClient& adb, const std::string& remote_dir, const std::filesystem::path& agent);

// The shim to push with `agent`: the one its build made (bin/../lib), else
// this program's.
std::filesystem::path shim_for_agent(const std::filesystem::path& agent);

// The preload shim beside the agent (remote_dir/lib), where the agent finds it.
void push_shim(const AdbClient& adb, const std::string& remote_dir, const std::filesystem::path& shim);

// --board for the agent: a board file is pushed to remote_dir/board.json
// (and named relative to "/"), a built-in name passes as it is.
std::string push_board(const AdbClient& adb, const std::string& remote_dir, const std::string& board);

}  // namespace rmtfs_hil::hil
