// An emulated Android/board device that Debian 12's real `adb` client connects
// to over TCP, so the real-board path can be tried without a board:
//
//   adb connect 127.0.0.1:PORT
//   adb -s 127.0.0.1:PORT shell /data/local/tmp/agent --json   (exit status, stdout, stderr, stdin)
//   adb -s 127.0.0.1:PORT push agent /data/local/tmp/agent     (and pull, ls via sync)
//   adb -s 127.0.0.1:PORT reboot                               (the adb server reattaches by itself)
//
// What it promises:
//   * It speaks ADB as HIL-FACTS.md describes Debian 12's client: CNXN with
//     shell_v2, cmd and fixed_push_mkdir; OKAY flow control (one WRTE in
//     flight per stream and direction); it never sends OPEN (that makes the
//     adb server abort).
//   * Its file system is a device root on the host (see device_root.hpp): no
//     device path reaches outside it, and nothing is ever written to /dev
//     through it; every write any process attempts on a partition file is
//     recorded (block_device_writes) and logged.
//   * It never runs a host shell (see shell.hpp), and every program it starts
//     ends with its stream: SIGTERM to its process group when the host closes
//     the stream, SIGKILL after the grace; SIGKILL at a reboot or a stop.
//   * Garbage on a connection closes that connection, with the reason in the
//     log; other connections go on.
//
// The device runs on the io_context given to it: start it there, call stop()
// from that context's thread, and destroy it after the loop returned. The
// record accessors are safe from any thread (tests read them while the loop
// runs on another).
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hil/emulated_device/device_root.hpp"
#include "hil/emulated_device/shell.hpp"
#include "proto/expected.hpp"

namespace rmtfs_hil::hil::emulated {

using namespace std::chrono_literals;

// The adb server probes these local ports for emulators (console port, adb
// port pairs): a device listening there would be taken for one.
inline constexpr std::uint16_t adb_emulator_port_first = 5555;
inline constexpr std::uint16_t adb_emulator_port_last = 5585;
constexpr bool is_adb_emulator_port(std::uint16_t port) {
    return port >= adb_emulator_port_first && port <= adb_emulator_port_last;
}

struct DeviceOptions {
    std::uint16_t port = 0;  // 0: any free port (never one of adb's emulator ports)
    const server::BoardProfile* board = &server::default_board();
    // The device root. Empty: a fresh directory under the temporary
    // directory, removed with the device; a given one is kept.
    std::filesystem::path root;
    // Answer the host's CNXN with AUTH and accept no key: adb shows the
    // device as `unauthorized` (a negative test).
    bool require_auth = false;
    std::optional<std::filesystem::path> log_file;
    LogSink log;  // every log line as well, when set
    // Where qemu-aarch64-static is looked for; empty: this process's PATH.
    std::string search_path;
    // How long a reboot keeps the port closed.
    std::chrono::milliseconds reboot_offline = 500ms;
    // From the SIGTERM of a program whose stream the host closed to its SIGKILL.
    std::chrono::milliseconds stop_grace = 2s;
    // The board's own QRTR (board_world.hpp): programs run in an emulated
    // world where rmtfs.service's daemon, `system_server`, serves while the
    // unit is active; `systemctl_program` (rmtfs-hil) is the board's
    // /usr/bin/systemctl. Without it programs run outside any world. The
    // world keeps the loop busy after stop(): stop the loop, then destroy
    // the device outside it.
    bool qrtr = false;
    std::filesystem::path system_server;
    std::filesystem::path systemctl_program;
};

class Device {
public:
    // Makes the device root and the board, and listens on 127.0.0.1; an error
    // says what the host refused.
    static Expected<std::unique_ptr<Device>, std::string> create(boost::asio::io_context& io, DeviceOptions options);
    // Kills what it started, closes its sockets, removes a root it made.
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    std::uint16_t port() const;
    std::string serial() const;  // "127.0.0.1:PORT", as adb names it
    const std::filesystem::path& root() const;

    // Closes every connection and the listening socket, kills every program,
    // stops watching: the loop then runs out of work. Idempotent.
    void stop();

    // Records; safe from any thread.
    std::vector<CommandRecord> commands() const;
    std::vector<ServiceTransition> service_history() const;
    // Includes writes made an instant ago (see Board::block_device_writes).
    std::vector<BlockDeviceWrite> block_device_writes() const;
    unsigned reboots() const;
    std::size_t connections() const;  // open TCP connections

    struct Core;

private:
    explicit Device(std::unique_ptr<Core> core);
    std::unique_ptr<Core> core_;
};

}  // namespace rmtfs_hil::hil::emulated
