// The real `adb` client, run as a program with argument lists (never through
// a host shell). Commands for the device's shell are built word by word,
// each quoted, so no scenario value or path can inject anything.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/interrupt.hpp"

namespace rmtfs_hil::hil {

struct AdbResult {
    int status = -1;  // adb's exit status; 128+N when killed by signal N; -1 when it could not run
    std::string out, err;
    bool timed_out = false;

    bool ok() const { return status == 0 && !timed_out; }
    // "adb shell ... exited 1: <its stderr>" for error messages.
    std::string describe(std::string_view what) const;
};

class AdbClient {
public:
    // `serial`: empty for adb's only device.
    AdbClient(std::string adb_binary, std::string serial);

    const std::string& serial() const { return serial_; }
    // adb [-s SERIAL] ARGS..., waited for up to `timeout`.
    AdbResult run(const std::vector<std::string>& args, std::chrono::milliseconds timeout) const;
    // `adb shell` with `argv` as one command line of quoted words.
    AdbResult shell(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) const;
    // `adb shell` streaming the command's stdout line by line to `on_line`
    // until it ends; when `stop` is asked, the adb client is ended (the
    // device closes the command's stream). Returns adb's result (out empty).
    AdbResult shell_lines(const std::vector<std::string>& argv, const std::function<void(std::string_view)>& on_line,
                          const engine::Interrupt& stop) const;

    // One command line for the device's shell: each word single-quoted.
    static std::string device_command(const std::vector<std::string>& argv);
    // An adb server answers on its port (ANDROID_ADB_SERVER_PORT, else 5037).
    static bool server_running();

private:
    std::vector<std::string> command(const std::vector<std::string>& args) const;

    std::string adb_;
    std::string serial_;
};

}  // namespace rmtfs_hil::hil
