#include "hil/host/board_connection.hpp"

#include <thread>

#include "server/sandbox.hpp"

namespace rmtfs_hil::hil {

using std::chrono::milliseconds;
using std::chrono::seconds;

void must(const AdbResult& result, const std::string& what) {
    if (!result.ok()) throw BoardError(result.describe(what));
}

bool is_tcp_serial(const std::string& serial) {
    std::size_t colon = serial.rfind(':');
    return colon != std::string::npos && colon + 1 < serial.size() &&
           serial.find_first_not_of("0123456789", colon + 1) == std::string::npos;
}

void connect_board(const AdbClient& adb) {
    if (is_tcp_serial(adb.serial())) {
        adb.run({"disconnect", adb.serial()}, quick_command);
        AdbResult connected = adb.run({"connect", adb.serial()}, quick_command);
        // adb connect exits 0 even when it fails: its words say.
        if (connected.out.find("connected to") == std::string::npos)
            throw BoardError(connected.describe("adb connect " + adb.serial()));
    }
    std::string named = adb.serial().empty() ? "adb's device" : adb.serial();
    AdbResult state;
    auto deadline = std::chrono::steady_clock::now() + seconds(10);
    do {  // a device just connected is offline for a moment
        state = adb.run({"get-state"}, quick_command);
        if (state.ok() && state.out.rfind("device", 0) == 0) return;
        std::this_thread::sleep_for(milliseconds(200));
    } while (std::chrono::steady_clock::now() < deadline);
    std::string hint = state.err.find("unauthorized") != std::string::npos
                           ? "; accept this host's key on the device (adb's AUTH)"
                           : "; is it connected (adb devices)?";
    throw BoardError(state.describe("adb get-state for " + named) + hint);
}

std::string from_root(const std::string& absolute) { return absolute.substr(absolute.find_first_not_of('/')); }

std::string push_agent(const AdbClient& adb, const std::string& remote_dir, const std::filesystem::path& agent) {
    const std::string remote = remote_dir + "/bin/rmtfs-hil";
    must(adb.shell({"rm", "-rf", remote_dir}, quick_command), "clearing " + remote_dir + " on the board");
    must(adb.run({"push", agent.string(), remote}, push_bound), "pushing the agent");
    must(adb.shell({"chmod", "755", remote}, quick_command), "making the agent executable");
    return remote;
}

std::filesystem::path shim_for_agent(const std::filesystem::path& agent) {
    std::error_code error;
    std::filesystem::path beside = agent.parent_path().parent_path() / "lib" / "librmtfs_hil_shim.so";
    return std::filesystem::exists(beside, error) ? beside : server::find_shim_library();
}

void push_shim(const AdbClient& adb, const std::string& remote_dir, const std::filesystem::path& shim) {
    must(adb.run({"push", shim.string(), remote_dir + "/lib/librmtfs_hil_shim.so"}, push_bound), "pushing the shim");
}

std::string push_board(const AdbClient& adb, const std::string& remote_dir, const std::string& board) {
    if (board.find('/') == std::string::npos && !board.ends_with(".json")) return board;
    must(adb.run({"push", board, remote_dir + "/board.json"}, push_bound), "pushing the board file " + board);
    return from_root(remote_dir + "/board.json");
}

}  // namespace rmtfs_hil::hil
