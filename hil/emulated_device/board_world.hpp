// The emulated device's QRTR (`hil emulate --qrtr`): the board's kernel
// transport, so `run --target adb --transport kernel` goes end to end
// without a board. Its programs run in an emulated world (server/sandbox.hpp:
// AF_QIPCRTR sockets, the rmtfs_mem device, the modem's remoteproc), whose
// rmtfs_mem is also the device's /dev/qcom_rmtfs_memN; while the board's
// rmtfs.service is active, its daemon (rmtfs.service's command line, with
// the host's rmtfs) serves the RMTFS service there, as on a board.
//
// Programs on the device reach the service as they would on a board:
// /usr/bin/systemctl is this project's executable, which, called by that
// name, hands its arguments to the device (a UNIX socket named by
// RMTFS_HIL_DEVICE_CONTROL) and answers as the device's own `systemctl`
// does; `stop` returns once the daemon has ended.
#pragma once

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hil/emulated_device/device_root.hpp"
#include "hil/emulated_device/shell.hpp"
#include "proto/expected.hpp"
#include "server/board_profile.hpp"

namespace rmtfs_hil::hil::emulated {

// Where the device's programs find its control socket.
inline constexpr const char* device_control_variable = "RMTFS_HIL_DEVICE_CONTROL";

struct BoardWorldOptions {
    const server::BoardProfile* board = nullptr;
    std::filesystem::path system_server;      // the daemon rmtfs.service runs (the host's rmtfs)
    std::filesystem::path systemctl_program;  // linked as <root>/usr/bin/systemctl
};

class BoardWorld {
public:
    // Makes the world, links /dev/qcom_rmtfs_memN and /usr/bin/systemctl in
    // the device root, listens for systemctl, and starts the service's daemon
    // when the board says it is active. Hooks itself to the board and shell.
    static Expected<std::unique_ptr<BoardWorld>, std::string> create(boost::asio::io_context& io, DeviceRoot& root,
                                                                      Board& board, Shell& shell,
                                                                      BoardWorldOptions options, LogSink log);
    ~BoardWorld();
    BoardWorld(const BoardWorld&) = delete;
    BoardWorld& operator=(const BoardWorld&) = delete;

    // Ends the daemon and closes the control socket: the loop runs out of work.
    void stop();

    struct Core;

private:
    explicit BoardWorld(std::shared_ptr<Core> core);
    std::shared_ptr<Core> core_;
};

// `systemctl ARGS...` on the device: this executable called by that name.
// Returns the device's exit status for the command (2 outside a device).
int systemctl_client(int argc, char** argv);

}  // namespace rmtfs_hil::hil::emulated
