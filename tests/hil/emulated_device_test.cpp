// The emulated device, driven through Debian's real adb (/usr/bin/adb) as a
// user or a host-side runner drives a board: adb connect, shell, push, pull,
// reboot. Each test runs its own device on a loop thread; the adb server is
// private to this suite (its own port, HOME and TMPDIR) and killed at the end.
#include "hil/emulated_device/device.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <functional>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "hil/emulated_device/adb_wire.hpp"
#include "tests/support/scratch_directory.hpp"

namespace rmtfs_hil::hil::emulated {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* adb_binary = "/usr/bin/adb";
constexpr const char* test_program = RMTFS_HIL_DEVICE_TEST_PROGRAM;
constexpr const char* pushed_program = "/data/local/tmp/device_test_program";

// Generous: a loaded CI machine under sanitizers is slow; a hang is a bug.
constexpr auto adb_command_deadline = 60s;
constexpr auto state_deadline = 30s;
// How often a condition outside our reach (a pid, adb's device list) is asked again.
constexpr auto poll_interval = 20ms;

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const fs::path& path, std::string_view bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// How a host-side runner must pass each argument: adb joins its arguments
// with spaces and the device splits them again by shell rules.
std::string shell_quote(std::string_view word) {
    std::string quoted = "'";
    for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

std::string command_line(const std::vector<std::string>& words) {
    std::string line;
    for (const std::string& word : words) line += (line.empty() ? "" : " ") + shell_quote(word);
    return line;
}

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(poll_interval);
    }
    return true;
}

std::uint16_t free_local_port() {
    for (;;) {
        int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
        ::close(fd);
        const std::uint16_t port = ntohs(address.sin_port);
        if (port != 5037 && !is_adb_emulator_port(port)) return port;
    }
}

bool process_exists(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

// ---------------------------------------------------------------------------
// The real adb client, isolated from the user's: its own server port, HOME
// (adbkey) and TMPDIR (the server's log).

struct AdbResult {
    int exit_status = -1;  // 128 + N when adb died by signal N
    std::string out;
    std::string err;
    bool timed_out = false;

    // adb push and pull print their errors on stdout.
    std::string all_output() const { return out + err; }
    std::string describe() const {
        return "exit " + std::to_string(exit_status) + (timed_out ? " (timed out, killed)" : "") + "\nstdout: " + out +
               "\nstderr: " + err;
    }
};

class AdbClient {
public:
    explicit AdbClient(fs::path scratch) : scratch_(std::move(scratch)), server_port_(free_local_port()) {
        fs::create_directories(scratch_ / "home");
        fs::create_directories(scratch_ / "tmp");
        environment_ = {"PATH=/usr/bin:/bin", "HOME=" + (scratch_ / "home").string(),
                        "TMPDIR=" + (scratch_ / "tmp").string(),
                        "ANDROID_ADB_SERVER_PORT=" + std::to_string(server_port_)};
    }

    // Starts adb with its output in files; stdin from `stdin_text`.
    pid_t spawn(const std::vector<std::string>& args, std::string_view stdin_text, const fs::path& out,
                const fs::path& err) {
        const fs::path in = scratch_ / ("stdin-" + std::to_string(++runs_));
        write_file(in, stdin_text);
        std::vector<std::string> argv{adb_binary};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<char*> argv_c, envp_c;
        for (auto& s : argv) argv_c.push_back(s.data());
        argv_c.push_back(nullptr);
        for (auto& s : environment_) envp_c.push_back(s.data());
        envp_c.push_back(nullptr);
        const std::string in_path = in.string(), out_path = out.string(), err_path = err.string();
        const pid_t pid = ::fork();
        if (pid == 0) {
            // Only async-signal-safe calls: the device's loop thread runs.
            int in_fd = ::open(in_path.c_str(), O_RDONLY);
            int out_fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            int err_fd = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            if (in_fd < 0 || out_fd < 0 || err_fd < 0) ::_exit(127);
            ::dup2(in_fd, 0);
            ::dup2(out_fd, 1);
            ::dup2(err_fd, 2);
            // The adb server this client may start must not hold the device's sockets.
            ::close_range(3, ~0u, 0);
            ::execve(adb_binary, argv_c.data(), envp_c.data());
            ::_exit(127);
        }
        return pid;
    }

    AdbResult run(const std::vector<std::string>& args, std::string_view stdin_text = {}) {
        const std::string n = std::to_string(runs_ + 1);
        const fs::path out = scratch_ / ("out-" + n), err = scratch_ / ("err-" + n);
        return wait(spawn(args, stdin_text, out, err), out, err, adb_command_deadline);
    }

    static AdbResult wait(pid_t pid, const fs::path& out, const fs::path& err, std::chrono::milliseconds limit) {
        AdbResult result;
        // Glibc 2.36's <sys/pidfd.h> declares pidfd_open without extern "C".
        int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
        pollfd ready{pidfd, POLLIN, 0};
        if (::poll(&ready, 1, static_cast<int>(limit.count())) == 0) {
            result.timed_out = true;
            ::kill(pid, SIGKILL);
        }
        ::close(pidfd);
        int status = 0;
        ::waitpid(pid, &status, 0);
        result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        result.out = read_file(out);
        result.err = read_file(err);
        return result;
    }

    const fs::path& scratch() const { return scratch_; }

private:
    fs::path scratch_;
    std::uint16_t server_port_;
    std::vector<std::string> environment_;
    int runs_ = 0;
};

// ---------------------------------------------------------------------------

// A device on its own loop thread, its root inside the test's scratch; its
// log is shown when the test fails.
class DeviceOnItsLoop : public ::testing::Test {
protected:
    void TearDown() override {
        if (device_) shut_down();
        if (HasFailure()) {
            std::lock_guard lock(log_mutex_);
            std::string text;
            for (const std::string& line : log_) text += "  " + line + "\n";
            std::fprintf(stderr, "device log:\n%s", text.c_str());
        }
    }

    void boot(DeviceOptions options = {}) {
        if (options.root.empty()) options.root = scratch_.path / "device-root";
        options.log = [this](std::string_view line) {
            std::lock_guard lock(log_mutex_);
            log_.emplace_back(line);
        };
        auto created = Device::create(io_, std::move(options));
        ASSERT_TRUE(created) << created.error();
        device_ = std::move(*created);
        loop_ = std::thread([this] { io_.run(); });
    }

    void shut_down() {
        boost::asio::post(io_, [this] { device_->stop(); });
        loop_.join();
        device_.reset();
    }

    std::string serial() const { return device_->serial(); }
    fs::path root() const { return device_->root(); }

    bool log_has(std::string_view text) {
        std::lock_guard lock(log_mutex_);
        return std::any_of(log_.begin(), log_.end(), [&](const std::string& line) { return line.find(text) != std::string::npos; });
    }

    testing::ScratchDirectory scratch_;
    boost::asio::io_context io_;
    std::unique_ptr<Device> device_;
    std::thread loop_;
    std::mutex log_mutex_;
    std::vector<std::string> log_;
};

// The device through the real adb client. One adb server for the suite,
// killed at its end.
class EmulatedDeviceTest : public DeviceOnItsLoop {
protected:
    static void TearDownTestSuite() {
        if (adb_) adb_->run({"kill-server"});
        adb_.reset();
        suite_scratch_.reset();
    }

    void SetUp() override {
        if (!fs::exists(adb_binary))
            GTEST_SKIP() << adb_binary << " is missing: apt-get install adb (Debian 12's 1:29.0.6-28)";
        if (!adb_) {
            suite_scratch_ = std::make_unique<testing::ScratchDirectory>();
            adb_ = std::make_unique<AdbClient>(suite_scratch_->path);
        }
    }

    void TearDown() override {
        if (device_) adb({"disconnect", serial()});
        DeviceOnItsLoop::TearDown();
    }

    AdbResult adb(const std::vector<std::string>& args, std::string_view stdin_text = {}) {
        return adb_->run(args, stdin_text);
    }
    // `adb -s SERIAL shell LINE`: the line goes to the device as it is.
    AdbResult shell(const std::string& line, std::string_view stdin_text = {}) {
        return adb({"-s", serial(), "shell", line}, stdin_text);
    }
    AdbResult run_program(const std::vector<std::string>& args, std::string_view stdin_text = {}) {
        std::vector<std::string> words{pushed_program};
        words.insert(words.end(), args.begin(), args.end());
        return shell(command_line(words), stdin_text);
    }

    std::string state() { return adb({"-s", serial(), "get-state"}).out; }

    // HIL-FACTS: a stale TCP device makes adb block, so disconnect first;
    // `adb connect` exits 0 even when it fails, so ask get-state.
    void connect() {
        adb({"disconnect", serial()});
        AdbResult connected = adb({"connect", serial()});
        ASSERT_EQ(connected.exit_status, 0) << connected.describe();
        ASSERT_TRUE(wait_until([&] { return state() == "device\n"; }, state_deadline))
            << "get-state never said 'device'; it says: " << adb({"-s", serial(), "get-state"}).describe();
    }

    void boot_and_connect(DeviceOptions options = {}) {
        boot(std::move(options));
        ASSERT_NO_FATAL_FAILURE(connect());
    }

    void push_test_program() {
        AdbResult pushed = adb({"-s", serial(), "push", test_program, pushed_program});
        ASSERT_EQ(pushed.exit_status, 0) << pushed.describe();
    }

    static inline std::unique_ptr<testing::ScratchDirectory> suite_scratch_;
    static inline std::unique_ptr<AdbClient> adb_;
};

// ---------------------------------------------------------------------------
// Connecting

TEST_F(EmulatedDeviceTest, AdbConnectListsItAsADevice) {
    boot_and_connect();
    AdbResult devices = adb({"devices", "-l"});
    EXPECT_NE(devices.out.find(serial() + " "), std::string::npos) << devices.describe();
    EXPECT_NE(devices.out.find("product:sdm845 model:Dragonboard_845c device:sdm845"), std::string::npos)
        << "the banner's product, model and device: " << devices.describe();
}

TEST_F(EmulatedDeviceTest, RequireAuthLeavesItUnauthorized) {
    DeviceOptions options;
    options.require_auth = true;
    boot(std::move(options));
    adb({"disconnect", serial()});
    adb({"connect", serial()});
    std::string listing;
    EXPECT_TRUE(wait_until(
        [&] {
            listing = adb({"devices"}).out;
            return listing.find(serial() + "\tunauthorized") != std::string::npos;
        },
        state_deadline))
        << "adb devices never listed it as unauthorized:\n" << listing;
    EXPECT_NE(state(), "device\n");
    EXPECT_NE(shell("true").exit_status, 0) << "an unauthorized device runs nothing";
    EXPECT_TRUE(device_->commands().empty());
}

// ---------------------------------------------------------------------------
// shell

TEST_F(EmulatedDeviceTest, ShellV2CarriesExitStatuses) {
    boot_and_connect();
    EXPECT_EQ(shell("true").exit_status, 0);
    EXPECT_EQ(shell("false").exit_status, 1);
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    EXPECT_EQ(run_program({"exit", "42"}).exit_status, 42);
}

TEST_F(EmulatedDeviceTest, DeathBySignalIs128PlusN) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    EXPECT_EQ(run_program({"kill-self", std::to_string(SIGKILL)}).exit_status, 128 + SIGKILL);
    EXPECT_EQ(run_program({"kill-self", std::to_string(SIGSEGV)}).exit_status, 128 + SIGSEGV);
}

TEST_F(EmulatedDeviceTest, StdoutAndStderrStaySeparate) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    AdbResult result = run_program({"stdout-stderr"});
    EXPECT_EQ(result.exit_status, 0) << result.describe();
    EXPECT_EQ(result.out, "to stdout\n");
    EXPECT_EQ(result.err, "to stderr\n");

    AdbResult missing = shell("cat /no/such/file");
    EXPECT_EQ(missing.exit_status, 1) << missing.describe();
    EXPECT_EQ(missing.out, "");
    EXPECT_NE(missing.err.find("No such file or directory"), std::string::npos) << missing.describe();
}

TEST_F(EmulatedDeviceTest, StdinReachesTheProgram) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    std::string text;
    for (int line = 0; text.size() < 300 * 1024; ++line) text += "line " + std::to_string(line) + " of stdin\n";
    AdbResult result = run_program({"echo-stdin"}, text);
    EXPECT_EQ(result.exit_status, 0) << result.describe().substr(0, 2000);
    EXPECT_EQ(result.out.size(), text.size());
    EXPECT_TRUE(result.out == text) << "stdin came back changed";
}

TEST_F(EmulatedDeviceTest, ManyMegabytesOfOutputArriveWhole) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    constexpr std::size_t bytes = 3 * 1024 * 1024;
    AdbResult result = run_program({"print-bytes", std::to_string(bytes)});
    EXPECT_EQ(result.exit_status, 0) << result.err;
    ASSERT_EQ(result.out.size(), bytes);
    for (std::size_t i = 0; i < bytes; i += 4093) ASSERT_EQ(result.out[i], static_cast<char>('0' + (i % 4000) % 10)) << i;
}

TEST_F(EmulatedDeviceTest, ArgumentsArriveVerbatim) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    const std::vector<std::string> args{"print-args", "plain", "two words", "it's", "double\"quote", "back\\slash",
                                        "$HOME",      "a;b|c&d", "",       "*",    "tab\there"};
    AdbResult result = run_program(args);
    ASSERT_EQ(result.exit_status, 0) << result.describe();
    std::string expected = "argv[0]=<" + std::string(pushed_program) + ">\n";
    for (std::size_t i = 0; i < args.size(); ++i) expected += "argv[" + std::to_string(i + 1) + "]=<" + args[i] + ">\n";
    EXPECT_EQ(result.out, expected);
}

TEST_F(EmulatedDeviceTest, AProgramGetsACleanEnvironmentAndStartsInTheDevicesRoot) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    AdbResult result = run_program({"print-env"});
    ASSERT_EQ(result.exit_status, 0) << result.describe();
    std::vector<std::string> lines;
    std::istringstream in(result.out);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    const std::string tmp = (root() / "data/local/tmp").string();
    std::vector<std::string> expected{"HOME=" + tmp, "PATH=/usr/bin:/bin", "RMTFS_HIL_DEVICE_ROOT=" + root().string(),
                                      "TMPDIR=" + tmp, "cwd=" + root().string()};
    EXPECT_EQ(lines, expected);
}

TEST_F(EmulatedDeviceTest, MetacharactersAreRefusedAndNothingRuns) {
    boot_and_connect();
    write_file(root() / "data/local/tmp/keep", "still here");
    AdbResult result = shell("echo a; rm -rf /");
    EXPECT_EQ(result.exit_status, 127) << result.describe();
    EXPECT_EQ(result.out, "") << "'echo a' must not have run";
    EXPECT_NE(result.err.find("';'"), std::string::npos) << "the message names the character: " << result.err;
    EXPECT_EQ(read_file(root() / "data/local/tmp/keep"), "still here");
    for (const CommandRecord& command : device_->commands()) {
        if (command.command_line != "echo a; rm -rf /") continue;
        EXPECT_TRUE(command.argv.empty()) << "a refused line has no words";
        EXPECT_NE(command.outcome.find("refused"), std::string::npos) << command.outcome;
    }
    EXPECT_EQ(shell("cat $HOME").exit_status, 127);
    EXPECT_EQ(shell("ls | cat").exit_status, 127);
    EXPECT_EQ(shell("sh -c true").exit_status, 127) << "there is no shell to run";
}

TEST_F(EmulatedDeviceTest, BoardBuiltinsAnswerLikeTheBoard) {
    boot_and_connect();
    EXPECT_EQ(shell("id -u").out, "0\n");
    EXPECT_EQ(shell("uname -m").out, "aarch64\n");
    EXPECT_EQ(shell("getprop ro.product.device").out, "sdm845\n");
    EXPECT_EQ(shell("cat /sys/class/remoteproc/remoteproc0/name /sys/class/remoteproc/remoteproc0/state").out,
              "4080000.remoteproc\nrunning\n");
    EXPECT_NE(shell("cat /etc/os-release").out.find("ID=debian"), std::string::npos);
    EXPECT_EQ(shell("echo 'hello   world'").out, "hello   world\n");

    AdbResult unknown = shell("frobnicate now");
    EXPECT_EQ(unknown.exit_status, 127);
    EXPECT_EQ(unknown.err, "frobnicate: not found\n");

    AdbResult interactive = adb({"-s", serial(), "shell"});
    EXPECT_NE(interactive.exit_status, 0) << "no interactive shell: " << interactive.describe();
    EXPECT_NE(interactive.err.find("no interactive shell"), std::string::npos) << interactive.describe();
}

TEST_F(EmulatedDeviceTest, SystemctlDrivesTheRmtfsServiceAndRecordsIt) {
    boot_and_connect();
    AdbResult active = shell("systemctl is-active rmtfs");
    EXPECT_EQ(active.exit_status, 0);
    EXPECT_EQ(active.out, "active\n");
    EXPECT_EQ(shell("systemctl stop rmtfs.service").exit_status, 0);
    AdbResult stopped = shell("systemctl is-active rmtfs");
    EXPECT_EQ(stopped.exit_status, exit_systemctl_inactive);
    EXPECT_EQ(stopped.out, "inactive\n");
    EXPECT_EQ(shell("systemctl restart rmtfs").exit_status, 0);
    EXPECT_EQ(shell("systemctl start nosuch").exit_status, exit_systemctl_no_unit);

    auto history = device_->service_history();
    ASSERT_EQ(history.size(), 3u);
    EXPECT_EQ(history[0].unit, "rmtfs.service");
    EXPECT_EQ(history[0].to, ServiceState::inactive);
    EXPECT_EQ(history[0].cause, "systemctl stop rmtfs.service");
    EXPECT_EQ(history[2].to, ServiceState::active);
}

TEST_F(EmulatedDeviceTest, LegacyShellWithoutShellV2HasNoExitStatus) {
    boot_and_connect();
    AdbResult result = adb({"-s", serial(), "shell", "-x", "false"});
    EXPECT_EQ(result.exit_status, 0) << "shell: without v2 cannot carry a status: " << result.describe();
    EXPECT_EQ(adb({"-s", serial(), "shell", "-x", "echo", "hi"}).out, "hi\n");
}

TEST_F(EmulatedDeviceTest, LsListsTheDevicesFileSystem) {
    boot_and_connect();
    AdbResult top = shell("ls");
    EXPECT_EQ(top.exit_status, 0) << top.describe();
    EXPECT_EQ(top.out, "data\ndev\netc\nsys\n");
    EXPECT_EQ(shell("ls /dev/disk/by-partlabel").out, "fsc\nfsg\nmodemst1\nmodemst2\n");
    EXPECT_NE(shell("ls -l /dev/disk/by-partlabel/fsc").out.find(" 131072 "), std::string::npos);
    AdbResult listed = adb({"-s", serial(), "ls", "/etc"});  // sync LIST
    EXPECT_NE(listed.out.find("os-release"), std::string::npos) << listed.describe();
}

#if !defined(__aarch64__)
TEST_F(EmulatedDeviceTest, AnAarch64ProgramWithoutQemuIsRefusedWithTheReason) {
    DeviceOptions options;
    options.search_path = (scratch_.path / "empty").string();  // no qemu-aarch64-static here
    fs::create_directories(options.search_path);
    boot_and_connect(std::move(options));
    std::string elf(64, '\0');
    elf.replace(0, 4, "\x7f" "ELF");
    elf[18] = static_cast<char>(183);  // EM_AARCH64
    const fs::path local = scratch_.path / "agent";
    write_file(local, elf);
    fs::permissions(local, fs::perms::owner_all);
    ASSERT_EQ(adb({"-s", serial(), "push", local.string(), "/data/local/tmp/agent"}).exit_status, 0);
    AdbResult result = shell("/data/local/tmp/agent --version");
    EXPECT_EQ(result.exit_status, exit_cannot_execute) << result.describe();
    EXPECT_NE(result.err.find("qemu-aarch64-static"), std::string::npos) << result.describe();
}
#endif

// ---------------------------------------------------------------------------
// A program outlives nothing

TEST_F(EmulatedDeviceTest, KillingTheAdbClientKillsTheProgram) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    for (const char* mode : {"sleep", "sleep-ignoring-term"}) {
        SCOPED_TRACE(mode);
        const fs::path pidfile = root() / "data/local/tmp" / (std::string(mode) + ".pid");
        const fs::path out = scratch_.path / "client.out", err = scratch_.path / "client.err";
        // Relative to "/", where the device starts its commands.
        const std::string pid_path = "data/local/tmp/" + pidfile.filename().string();
        pid_t client = adb_->spawn({"-s", serial(), "shell", command_line({pushed_program, mode, "600", pid_path})},
                                   "", out, err);
        ASSERT_TRUE(wait_until([&] { return !read_file(pidfile).empty(); }, state_deadline))
            << "the program never wrote its pid";
        const pid_t program = std::stoi(read_file(pidfile));
        ASSERT_TRUE(process_exists(program));

        ::kill(client, SIGKILL);
        AdbClient::wait(client, out, err, adb_command_deadline);
        // SIGTERM, and SIGKILL after the 2 s grace for the one that ignores it.
        EXPECT_TRUE(wait_until([&] { return !process_exists(program); }, 10s))
            << "program " << program << " still runs after its adb client was killed";
    }
    EXPECT_TRUE(log_has("SIGKILL")) << "the SIGTERM-ignoring program needed the SIGKILL";
}

// ---------------------------------------------------------------------------
// sync: push, pull

TEST_F(EmulatedDeviceTest, PushMakesNestedDirectoriesAndPullGivesTheSameBytes) {
    boot_and_connect();
    std::mt19937 random(20240611);
    std::string big(1536 * 1024 + 17, '\0');  // > 1 MiB: many DATA chunks and WRTEs
    for (char& c : big) c = static_cast<char>(random());
    const fs::path local = scratch_.path / "big.bin";
    write_file(local, big);

    AdbResult pushed = adb({"-s", serial(), "push", local.string(), "/data/local/tmp/new/nested/dir/big.bin"});
    ASSERT_EQ(pushed.exit_status, 0) << pushed.describe();
    EXPECT_TRUE(read_file(root() / "data/local/tmp/new/nested/dir/big.bin") == big) << "the device holds other bytes";

    const fs::path pulled = scratch_.path / "pulled.bin";
    AdbResult pull = adb({"-s", serial(), "pull", "/data/local/tmp/new/nested/dir/big.bin", pulled.string()});
    ASSERT_EQ(pull.exit_status, 0) << pull.describe();
    EXPECT_TRUE(read_file(pulled) == big) << "pulled bytes differ from pushed ones";

    const fs::path small = scratch_.path / "os-release";
    ASSERT_EQ(adb({"-s", serial(), "pull", "/etc/os-release", small.string()}).exit_status, 0);
    EXPECT_EQ(read_file(small), read_file(root() / "etc/os-release"));
    EXPECT_NE(adb({"-s", serial(), "pull", "/no/such/file", small.string()}).exit_status, 0);
}

TEST_F(EmulatedDeviceTest, PathsThatEscapeTheRootAreRefused) {
    boot_and_connect();
    const fs::path local = scratch_.path / "x";
    write_file(local, "x");
    AdbResult dotdot = adb({"-s", serial(), "push", local.string(), "/data/local/tmp/../../../../../../etc/x"});
    EXPECT_NE(dotdot.exit_status, 0) << dotdot.describe();
    EXPECT_NE(dotdot.all_output().find("permission denied"), std::string::npos) << dotdot.describe();

    // A symlink on the device that leads out of the root.
    const fs::path outside = scratch_.path / "outside";
    fs::create_directories(outside);
    fs::create_directory_symlink(outside, root() / "data/local/tmp/out");
    AdbResult symlink = adb({"-s", serial(), "push", local.string(), "/data/local/tmp/out/x"});
    EXPECT_NE(symlink.exit_status, 0) << symlink.describe();
    EXPECT_TRUE(fs::is_empty(outside)) << "a push wrote through a symlink out of the device root";
    EXPECT_EQ(shell("cat /data/local/tmp/out/../../../../../etc/passwd").exit_status, 1);

    // Nothing appeared beside the root (the test's scratch holds it).
    std::vector<std::string> beside;
    for (const auto& entry : fs::directory_iterator(scratch_.path)) beside.push_back(entry.path().filename());
    std::sort(beside.begin(), beside.end());
    EXPECT_EQ(beside, (std::vector<std::string>{"device-root", "outside", "x"}));
}

// ---------------------------------------------------------------------------
// Block devices: never written, and every attempt recorded

TEST_F(EmulatedDeviceTest, APushToAPartitionIsRefusedAndRecorded) {
    boot_and_connect();
    const fs::path local = scratch_.path / "image";
    write_file(local, std::string(4096, 'z'));
    AdbResult pushed = adb({"-s", serial(), "push", local.string(), "/dev/disk/by-partlabel/modemst1"});
    EXPECT_NE(pushed.exit_status, 0) << pushed.describe();
    EXPECT_NE(pushed.all_output().find("read-only block device"), std::string::npos) << pushed.describe();

    auto writes = device_->block_device_writes();
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].path, "/dev/disk/by-partlabel/modemst1");
    EXPECT_EQ(writes[0].what, "sync push refused");
    Bytes pattern = partition_pattern("modemst1", 2 * 1024 * 1024);
    EXPECT_TRUE(read_file(root() / "dev/disk/by-partlabel/modemst1") == std::string(pattern.begin(), pattern.end()))
        << "the partition changed";
}

TEST_F(EmulatedDeviceTest, AProgramOpeningAPartitionForWritingIsRecorded) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    ASSERT_TRUE(device_->block_device_writes().empty()) << "pushing a program touched no partition";
    AdbResult reading = shell("cat /dev/disk/by-partlabel/fsc");
    ASSERT_EQ(reading.out.size(), 128u * 1024);
    EXPECT_TRUE(device_->block_device_writes().empty()) << "reading is not writing";

    AdbResult opened = run_program({"open-for-write", "/dev/disk/by-partlabel/fsg"});
    ASSERT_EQ(opened.exit_status, 0) << opened.describe();
    auto writes = device_->block_device_writes();
    ASSERT_EQ(writes.size(), 1u);
    EXPECT_EQ(writes[0].path, "/dev/disk/by-partlabel/fsg");
    EXPECT_EQ(writes[0].what, "closed after being opened for writing");
    EXPECT_TRUE(log_has("BLOCK DEVICE WRITE: /dev/disk/by-partlabel/fsg"));
}

// ---------------------------------------------------------------------------
// Reboot

TEST_F(EmulatedDeviceTest, RebootKillsProgramsAndTheDeviceComesBack) {
    boot_and_connect();
    ASSERT_NO_FATAL_FAILURE(push_test_program());
    ASSERT_EQ(shell("systemctl stop rmtfs").exit_status, 0);
    const fs::path pidfile = root() / "data/local/tmp/before-reboot.pid";
    const fs::path out = scratch_.path / "sleeper.out", err = scratch_.path / "sleeper.err";
    pid_t client = adb_->spawn({"-s", serial(), "shell", command_line({pushed_program, "sleep", "600", "data/local/tmp/before-reboot.pid"})},
                               "", out, err);
    ASSERT_TRUE(wait_until([&] { return !read_file(pidfile).empty(); }, state_deadline));
    const pid_t program = std::stoi(read_file(pidfile));

    AdbResult reboot = adb({"-s", serial(), "reboot"});
    EXPECT_EQ(reboot.exit_status, 0) << reboot.describe();
    EXPECT_EQ(device_->reboots(), 1u);
    EXPECT_FALSE(process_exists(program)) << "a reboot kills every program";
    AdbClient::wait(client, out, err, adb_command_deadline);

    EXPECT_TRUE(wait_until([&] { return state() == "device\n"; }, state_deadline))
        << "the adb server did not reattach after the reboot";
    EXPECT_EQ(shell("systemctl is-active rmtfs").out, "active\n") << "a reboot starts the service again";
    EXPECT_EQ(shell("cat /sys/class/remoteproc/remoteproc0/state").out, "running\n");
    EXPECT_TRUE(fs::exists(root() / "data/local/tmp/device_test_program")) << "/data survives a reboot";
}

// ---------------------------------------------------------------------------
// Garbage

// Sends `bytes` on a fresh connection and says whether the device closed it.
bool device_closes_after(std::uint16_t port, const Bytes& bytes) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    bool closed = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
        char buffer[256];
        ssize_t got;
        while ((got = ::recv(fd, buffer, sizeof buffer, 0)) > 0) {}
        closed = got == 0 || errno == ECONNRESET;
    }
    ::close(fd);
    return closed;
}

TEST_F(EmulatedDeviceTest, GarbageClosesOnlyItsConnection) {
    boot_and_connect();
    const std::string http = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    EXPECT_TRUE(device_closes_after(device_->port(), Bytes(http.begin(), http.end())));
    Bytes oversized;
    const auto cnxn = static_cast<std::uint32_t>(adb::Command::cnxn);
    for (std::uint32_t field : {cnxn, adb::protocol_version, 4096u, 0x7fffffffu, 0u, cnxn ^ 0xffffffffu})
        put_u32(oversized, field);
    EXPECT_TRUE(device_closes_after(device_->port(), oversized));
    Bytes unknown;
    for (std::uint32_t field : {0x4b4e554au, 0u, 0u, 0u, 0u, 0x4b4e554au ^ 0xffffffffu}) put_u32(unknown, field);
    EXPECT_TRUE(device_closes_after(device_->port(), unknown));
    Bytes open_first = adb::encode_message(adb::Command::open, 1, 0, Bytes{'s', 'h', 'e', 'l', 'l', ':', 0});
    EXPECT_TRUE(device_closes_after(device_->port(), open_first)) << "OPEN before CNXN";

    EXPECT_TRUE(wait_until([&] { return device_->connections() == 1; }, 10s))
        << "only adb's connection stays open, not " << device_->connections();
    EXPECT_TRUE(log_has("garbage from the host: bad_magic"));
    EXPECT_TRUE(log_has("garbage from the host: payload_too_large"));
    EXPECT_TRUE(log_has("garbage from the host: unknown_command"));
    EXPECT_EQ(state(), "device\n") << "adb's own connection survived";
    EXPECT_EQ(shell("echo still here").out, "still here\n");
    adb({"disconnect", serial()});
    ASSERT_NO_FATAL_FAILURE(connect());
    EXPECT_EQ(shell("echo again").out, "again\n");
}

// ---------------------------------------------------------------------------
// The protocol rules adb itself would forgive, checked by a hand-made host

struct Message {
    adb::Header header;
    Bytes payload;
};

class RawHost {
public:
    explicit RawHost(std::uint16_t port) : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    }
    ~RawHost() { ::close(fd_); }
    RawHost(const RawHost&) = delete;
    RawHost& operator=(const RawHost&) = delete;

    bool connected() const { return connected_; }

    void send(adb::Command command, std::uint32_t arg0, std::uint32_t arg1, std::string_view payload = {}) {
        Bytes bytes = adb::encode_message(command, arg0, arg1, ByteView(reinterpret_cast<const std::uint8_t*>(payload.data()), payload.size()));
        ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    }

    // The next message, or nothing when none began within `limit`.
    std::optional<Message> receive(std::chrono::milliseconds limit = adb_command_deadline) {
        pollfd ready{fd_, POLLIN, 0};
        if (::poll(&ready, 1, static_cast<int>(limit.count())) != 1) return std::nullopt;
        Bytes header(adb::header_size_bytes);
        if (!read_exactly(header)) return std::nullopt;
        auto decoded = adb::decode_header(header, adb::device_max_payload_bytes);
        if (!decoded) return std::nullopt;
        Message message{*decoded, Bytes(decoded->payload_length)};
        if (!read_exactly(message.payload)) return std::nullopt;
        return message;
    }

private:
    bool read_exactly(Bytes& bytes) {
        return bytes.empty() || ::recv(fd_, bytes.data(), bytes.size(), MSG_WAITALL) == static_cast<ssize_t>(bytes.size());
    }

    int fd_;
    bool connected_ = false;
};

using RawHostTest = DeviceOnItsLoop;

std::string text_of(const Bytes& bytes) { return std::string(bytes.begin(), bytes.end()); }

// Brings a raw host online with `max_payload`; answers the device's CNXN.
std::optional<Message> go_online(RawHost& host, std::uint32_t max_payload) {
    host.send(adb::Command::cnxn, adb::protocol_version, max_payload, "host::features=shell_v2");
    return host.receive();
}

TEST_F(RawHostTest, OneWrteInFlightPerStreamWithinTheHostsMaxPayload) {
    ASSERT_NO_FATAL_FAILURE(boot());
    RawHost host(device_->port());
    ASSERT_TRUE(host.connected());
    constexpr std::uint32_t host_max_payload = 4096;
    auto cnxn = go_online(host, host_max_payload);
    ASSERT_TRUE(cnxn);
    EXPECT_EQ(cnxn->header.command, adb::Command::cnxn);
    EXPECT_EQ(cnxn->header.arg0, adb::protocol_version);
    EXPECT_EQ(cnxn->header.arg1, host_max_payload) << "the device takes the smaller max payload";
    EXPECT_EQ(cnxn->header.checksum, adb::checksum(cnxn->payload));
    EXPECT_EQ(text_of(cnxn->payload),
              "device::ro.product.name=sdm845;ro.product.model=Dragonboard 845c;ro.product.device=sdm845;"
              "features=shell_v2,cmd,fixed_push_mkdir");

    constexpr std::uint32_t host_id = 7;
    host.send(adb::Command::open, host_id, 0, std::string_view("shell,v2,raw:cat /dev/disk/by-partlabel/fsc\0", 44));
    auto okay = host.receive();
    ASSERT_TRUE(okay);
    ASSERT_EQ(okay->header.command, adb::Command::okay);
    EXPECT_EQ(okay->header.arg1, host_id);
    const std::uint32_t device_id = okay->header.arg0;
    EXPECT_NE(device_id, 0u);

    adb::shell_v2::PacketParser packets;
    for (int writes = 0;; ++writes) {
        auto message = host.receive();
        ASSERT_TRUE(message) << "the device went quiet after " << writes << " WRTEs";
        if (message->header.command == adb::Command::clse) break;
        ASSERT_EQ(message->header.command, adb::Command::wrte);
        EXPECT_EQ(message->header.arg0, device_id);
        EXPECT_EQ(message->header.arg1, host_id);
        ASSERT_LE(message->payload.size(), host_max_payload);
        packets.feed(message->payload);
        if (writes < 3) {
            EXPECT_FALSE(host.receive(200ms)) << "a second WRTE came before our OKAY";
        }
        host.send(adb::Command::okay, host_id, device_id);
    }
    Bytes out;
    std::optional<unsigned> exit_status;
    while (auto packet = packets.next()) {
        if (!*packet) break;
        if ((*packet)->id == adb::shell_v2::PacketId::stdout_data) out.insert(out.end(), (*packet)->data.begin(), (*packet)->data.end());
        if ((*packet)->id == adb::shell_v2::PacketId::exit) exit_status = (*packet)->data[0];
    }
    EXPECT_TRUE(out == partition_pattern("fsc", 128 * 1024)) << "stdout is not the partition's 128 KiB";
    EXPECT_EQ(exit_status, 0u);
}

TEST_F(RawHostTest, AnUnknownServiceIsRefusedAndTheConnectionGoesOn) {
    ASSERT_NO_FATAL_FAILURE(boot());
    RawHost host(device_->port());
    ASSERT_TRUE(go_online(host, adb::device_max_payload_bytes));
    host.send(adb::Command::open, 3, 0, std::string_view("jdwp:1234\0", 10));
    auto refused = host.receive();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->header.command, adb::Command::clse);
    EXPECT_EQ(refused->header.arg0, 0u);
    EXPECT_EQ(refused->header.arg1, 3u);

    host.send(adb::Command::open, 4, 0, std::string_view("shell,v2,raw:echo hi\0", 21));
    auto okay = host.receive();
    ASSERT_TRUE(okay);
    EXPECT_EQ(okay->header.command, adb::Command::okay);
    auto wrte = host.receive();
    ASSERT_TRUE(wrte);
    EXPECT_EQ(text_of(wrte->payload).substr(0, 8), std::string("\x01\x03\0\0\0hi\n", 8));
}

TEST_F(RawHostTest, RequireAuthAnswersWithATokenAndNeverGoesOnline) {
    DeviceOptions options;
    options.require_auth = true;
    ASSERT_NO_FATAL_FAILURE(boot(std::move(options)));
    RawHost host(device_->port());
    auto token = go_online(host, adb::device_max_payload_bytes);
    ASSERT_TRUE(token);
    EXPECT_EQ(token->header.command, adb::Command::auth);
    EXPECT_EQ(token->header.arg0, adb::auth_token);
    EXPECT_EQ(token->payload.size(), adb::auth_token_size_bytes);

    host.send(adb::Command::auth, adb::auth_signature, 0, std::string(256, 's'));
    auto next = host.receive();
    ASSERT_TRUE(next);
    EXPECT_EQ(next->header.arg0, adb::auth_token) << "a signature is never good enough: another token";
    EXPECT_NE(next->payload, token->payload) << "tokens are random";
    host.send(adb::Command::auth, adb::auth_rsa_public_key, 0, std::string("QAAAA... key\0", 13));
    EXPECT_FALSE(host.receive(200ms)) << "no CNXN for a public key";
    host.send(adb::Command::open, 5, 0, std::string_view("shell,v2,raw:true\0", 18));
    EXPECT_FALSE(host.receive()) << "an OPEN before CNXN closes the connection";
    EXPECT_TRUE(log_has("OPEN before the connection is online"));
}

// ---------------------------------------------------------------------------
// Without adb: the device's own promises

// The words a command line becomes, as a POSIX shell would split it.
std::vector<std::string> words_of(std::string_view line) {
    auto words = split_words(line);
    EXPECT_TRUE(words) << line << ": " << (words ? "" : words.error().standard_error);
    return words ? *words : std::vector<std::string>{};
}

TEST(ShellWords, FollowPosixQuoting) {
    using Words = std::vector<std::string>;
    EXPECT_EQ(words_of("  ls   -l\t/data "), (Words{"ls", "-l", "/data"}));
    EXPECT_EQ(words_of("echo 'a b' \"c d\" e\\ f"), (Words{"echo", "a b", "c d", "e f"}));
    EXPECT_EQ(words_of("echo 'it'\\''s' \"say \\\"hi\\\" \\$x \\n\""), (Words{"echo", "it's", "say \"hi\" $x \\n"}))
        << "inside double quotes a backslash escapes only $ ` \" \\ and newline";
    EXPECT_EQ(words_of("echo '' \"\" x''y"), (Words{"echo", "", "", "xy"})) << "quoted empty words are words";
    EXPECT_EQ(words_of("echo '; | & $ ` < > ( )'"), (Words{"echo", "; | & $ ` < > ( )"}));
    EXPECT_EQ(words_of("echo 'two\nlines'"), (Words{"echo", "two\nlines"})) << "a quoted newline is data";
    EXPECT_EQ(words_of("echo a\\\nb"), (Words{"echo", "ab"})) << "backslash-newline joins lines";
    EXPECT_EQ(words_of(""), Words{});
}

TEST(ShellWords, RefuseWhatOnlyAShellCouldDo) {
    for (char c : std::string_view(";|&$`<>()\n")) {
        const std::string line = std::string("echo a") + c + "b";
        auto words = split_words(line);
        ASSERT_FALSE(words) << line;
        EXPECT_EQ(words.error().exit_status, exit_not_found) << line;
        const std::string named = c == '\n' ? "a newline" : std::string("'") + c + "'";
        EXPECT_NE(words.error().standard_error.find(named), std::string::npos) << words.error().standard_error;
    }
    for (std::string_view line : {"echo \"$HOME\"", "echo \"`id`\""}) {
        auto words = split_words(line);
        ASSERT_FALSE(words) << line << ": a real shell expands inside double quotes";
        EXPECT_NE(words.error().standard_error.find("inside double quotes"), std::string::npos);
    }
    for (std::string_view line : {"echo 'open", "echo \"open", "echo trailing\\"}) {
        auto words = split_words(line);
        ASSERT_FALSE(words) << line;
        EXPECT_EQ(words.error().exit_status, exit_syntax_error) << line;
    }
}

TEST(DeviceRootPaths, StayInsideTheRoot) {
    testing::ScratchDirectory scratch;
    fs::create_directories(scratch.path / "root/data/local/tmp");
    fs::create_directories(scratch.path / "outside");
    fs::create_directory_symlink(scratch.path / "outside", scratch.path / "root/data/local/tmp/out");
    fs::create_symlink("../..", scratch.path / "root/data/local/tmp/up");  // to /data, inside
    fs::create_symlink(scratch.path / "nowhere", scratch.path / "root/data/local/tmp/dangling");
    DeviceRoot root(scratch.path / "root");
    const fs::path host = root.host_root();

    auto resolved = [&](std::string_view path, DeviceRoot::Last last = DeviceRoot::Last::follow) {
        auto result = root.resolve(path, last);
        EXPECT_TRUE(result) << path << ": " << (result ? "" : result.error().message);
        return result ? *result : fs::path();
    };
    auto refused = [&](std::string_view path) {
        auto result = root.resolve(path);
        EXPECT_FALSE(result) << path << " resolved to " << (result ? result->string() : "");
        if (!result) {
            EXPECT_EQ(result.error().error_number, EACCES) << result.error().message;
        }
    };
    EXPECT_EQ(resolved("/"), host);
    EXPECT_EQ(resolved("/data/local/tmp/new/file"), host / "data/local/tmp/new/file") << "need not exist";
    EXPECT_EQ(resolved("data/./local//tmp/"), host / "data/local/tmp") << "relative paths start at /";
    EXPECT_EQ(resolved("/data/local/tmp/../../../etc"), host / "etc");
    EXPECT_EQ(resolved("/data/local/tmp/up/x"), host / "data/x");
    EXPECT_EQ(resolved("/data/local/tmp/out", DeviceRoot::Last::no_follow), host / "data/local/tmp/out");
    refused("/..");
    refused("/data/local/tmp/../../../../etc/passwd");
    refused("/data/local/tmp/out/x");
    refused("/data/local/tmp/dangling");
    EXPECT_FALSE(root.resolve(""));

    EXPECT_EQ(root.device_path_of(host / "dev/disk/by-partlabel/fsg"), "/dev/disk/by-partlabel/fsg");
    EXPECT_EQ(root.device_path_of(host), "/");
    EXPECT_TRUE(root.within(host / "dev/disk", "/dev"));
    EXPECT_TRUE(root.within(host / "dev", "/dev"));
    EXPECT_FALSE(root.within(host / "devices", "/dev"));
    EXPECT_FALSE(root.within(scratch.path / "outside", "/"));
}

TEST(EmulatedDevice, RemovesTheRootItMadeAndRefusesEmulatorPorts) {
    boost::asio::io_context io;
    auto created = Device::create(io, DeviceOptions{});
    ASSERT_TRUE(created) << created.error();
    const fs::path root = (*created)->root();
    EXPECT_TRUE(fs::exists(root / "dev/disk/by-partlabel/modemst1"));
    EXPECT_FALSE(is_adb_emulator_port((*created)->port()));
    created->reset();
    EXPECT_FALSE(fs::exists(root)) << "the device root it made outlived the device";

    DeviceOptions emulator;
    emulator.port = 5555;
    auto refused = Device::create(io, emulator);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("emulator"), std::string::npos) << refused.error();
}

}  // namespace
}  // namespace rmtfs_hil::hil::emulated
