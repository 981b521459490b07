#include "hil/emulated_device/board_world.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "proto/errno_names.hpp"
#include "proto/contract.hpp"
#include "server/process.hpp"
#include "server/sandbox.hpp"

namespace rmtfs_hil::hil::emulated {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using local = asio::local::stream_protocol;
using json = nlohmann::json;

namespace {

constexpr const char* service_unit = "rmtfs.service";
constexpr std::size_t request_bound = 64 * 1024;

// A link in the device root, replacing whatever the board made there.
void link(const fs::path& at, const fs::path& to) {
    fs::create_directories(at.parent_path());
    fs::remove_all(at);
    fs::create_symlink(to, at);
}

}  // namespace

struct BoardWorld::Core : std::enable_shared_from_this<Core> {
    Core(asio::io_context& context, DeviceRoot& device_root, Board& device_board, Shell& device_shell,
         BoardWorldOptions world_options, LogSink sink)
        : io(context), root(device_root), board(device_board), shell(device_shell), options(std::move(world_options)),
          log(std::move(sink)), control(context) {}

    bool daemon_alive() const {
        if (!daemon) return false;
        auto state = daemon->state();
        return state == server::SupervisedProcess::State::running || state == server::SupervisedProcess::State::stopping;
    }

    // The board's service manager acting: the daemon runs while the unit is active.
    void service_changed(const std::string& unit, ServiceState state) {
        if (unit != service_unit || stopped) return;
        if (state == ServiceState::active && !daemon_alive()) {
            auto started = daemon->start();
            if (!started) log(std::string(service_unit) + ": its daemon did not start: " + started.error().message);
        } else if (state == ServiceState::inactive && daemon_alive()) {
            daemon->stop();
        }
    }

    void make_daemon() {
        // The unit's command line, split as the board's shell splits one.
        auto words = split_words(board.description().rmtfs_command_line);
        RMTFS_HIL_ASSERT(words && !words->empty(), "the board's rmtfs.service has a command line");
        std::vector<std::string> argv = std::move(*words);
        argv.front() = options.system_server.string();
        server::ProcessEvents events;
        std::weak_ptr<Core> weak = weak_from_this();
        events.output = [this](const server::OutputLine& line) { log(std::string(service_unit) + ": " + line.text); };
        events.ended = [weak](const server::ProcessEnded& ended) {
            auto self = weak.lock();
            if (!self) return;
            self->log(std::string(service_unit) + ": its daemon " + ended.exit.describe());
            auto waiting = std::move(self->on_daemon_end);
            self->on_daemon_end.clear();
            for (auto& reply : waiting) reply();
        };
        daemon = std::make_unique<server::SupervisedProcess>(io, sandbox->launch(argv), events);
    }

    void accept() {
        auto socket = std::make_shared<local::socket>(io);
        std::weak_ptr<Core> weak = weak_from_this();
        control.async_accept(*socket, [weak, socket](const boost::system::error_code& error) {
            auto self = weak.lock();
            if (!self || error || self->stopped) return;
            self->serve(socket);
            self->accept();
        });
    }

    // One request: a JSON array of systemctl's arguments; one reply.
    void serve(const std::shared_ptr<local::socket>& socket) {
        auto buffer = std::make_shared<asio::streambuf>(request_bound);
        std::weak_ptr<Core> weak = weak_from_this();
        asio::async_read_until(*socket, *buffer, '\n',
                               [weak, socket, buffer](const boost::system::error_code& error, std::size_t) {
                                   auto self = weak.lock();
                                   if (!self || error) return;
                                   std::istream in(buffer.get());
                                   std::string line;
                                   std::getline(in, line);
                                   self->answer(socket, line);
                               });
    }

    void answer(const std::shared_ptr<local::socket>& socket, const std::string& request) {
        std::vector<std::string> args;
        try {
            for (const auto& arg : json::parse(request).get<std::vector<std::string>>()) args.push_back(arg);
        } catch (const json::exception&) {
            log("systemctl: a request that is not a JSON array of strings; closed");
            return;
        }
        args.insert(args.begin(), "systemctl");
        CommandOutput output = shell.run_builtin(args, "(a program ran /usr/bin/systemctl)");
        args.erase(args.begin());
        auto reply = std::make_shared<std::string>(
            json{{"status", output.exit_status}, {"stdout", output.standard_output}, {"stderr", output.standard_error}}
                .dump(-1, ' ', false, json::error_handler_t::replace) +
            "\n");
        auto send = [socket, reply] {
            asio::async_write(*socket, asio::buffer(*reply), [socket, reply](const boost::system::error_code&, std::size_t) {});
        };
        // systemctl stop returns once the unit's processes have ended.
        if (!args.empty() && args[0] == "stop" && daemon_alive()) on_daemon_end.push_back(send);
        else send();
    }

    void stop() {
        if (stopped) return;
        stopped = true;
        boost::system::error_code ignored;
        control.close(ignored);
        if (daemon) daemon.reset();  // kills its group, reaps it
        for (auto& reply : on_daemon_end) reply();
        on_daemon_end.clear();
    }

    asio::io_context& io;
    DeviceRoot& root;
    Board& board;
    Shell& shell;
    BoardWorldOptions options;
    LogSink log;
    std::unique_ptr<server::Sandbox> sandbox;
    std::unique_ptr<server::SupervisedProcess> daemon;
    local::acceptor control;
    fs::path control_path;
    std::vector<std::function<void()>> on_daemon_end;
    bool stopped = false;
};

BoardWorld::BoardWorld(std::shared_ptr<Core> core) : core_(std::move(core)) {}

BoardWorld::~BoardWorld() { core_->stop(); }

void BoardWorld::stop() { core_->stop(); }

Expected<std::unique_ptr<BoardWorld>, std::string> BoardWorld::create(asio::io_context& io, DeviceRoot& root, Board& board,
                                                                      Shell& shell, BoardWorldOptions options, LogSink log) {
    auto core = std::make_shared<Core>(io, root, board, shell, std::move(options), std::move(log));
    server::SandboxOptions sandbox_options;
    sandbox_options.board = core->options.board;
    auto sandbox = server::Sandbox::create(io, sandbox_options);
    if (!sandbox) return unexpected("the board's QRTR world: " + sandbox.error().message);
    core->sandbox = std::move(*sandbox);
    const fs::path& host_root = root.host_root();
    try {
        // The daemon's rmtfs_mem and the agent's are one memory.
        link(host_root / "dev" / core->options.board->rmtfs_mem.device_name(),
             core->sandbox->world().shared_memory_file());
        // The modem's remoteproc is the world's: rmtfs -s drives it there.
        const std::string& rproc = core->options.board->modem.class_device;
        link(host_root / "sys/class/remoteproc" / rproc,
             core->sandbox->world().umockdev_dir() / "sys/class/remoteproc" / rproc);
        link(host_root / "usr/bin/systemctl", core->options.systemctl_program);
        fs::create_directories(host_root / "run/systemd/system");  // systemd runs the board
    } catch (const fs::filesystem_error& e) {
        return unexpected(std::string("the board's QRTR world: ") + e.what());
    }
    core->control_path = core->sandbox->world().root() / "device-control.sock";
    boost::system::error_code error;
    core->control.open(local(), error);
    if (!error) core->control.bind(local::endpoint(core->control_path.string()), error);
    if (!error) core->control.listen(asio::socket_base::max_listen_connections, error);
    if (error) return unexpected("the device's control socket " + core->control_path.string() + ": " + error.message());
    core->make_daemon();
    core->accept();

    std::weak_ptr<Core> weak = core;
    board.on_service_change = [weak](const std::string& unit, ServiceState state) {
        if (auto self = weak.lock()) self->service_changed(unit, state);
    };
    shell.set_environment_hook([weak](std::vector<std::string> base) {
        auto self = weak.lock();
        if (!self) return base;
        std::vector<std::string> environment = self->sandbox->environment(std::move(base));
        environment.push_back(std::string(device_control_variable) + "=" + self->control_path.string());
        // A sanitizer build's program (the agent, systemctl) finds the world's
        // preload libraries ahead of its runtime, as intended: ASan is told so,
        // with this host's own options.
        const char* asan = std::getenv("ASAN_OPTIONS");
        environment.push_back(std::string("ASAN_OPTIONS=") + (asan != nullptr ? asan : "") + ":verify_asan_link_order=0");
        for (const char* name : {"UBSAN_OPTIONS", "LSAN_OPTIONS"})
            if (const char* value = std::getenv(name)) environment.push_back(std::string(name) + "=" + value);
        return environment;
    });
    if (board.service_state(service_unit) == ServiceState::active) core->service_changed(service_unit, ServiceState::active);
    core->log("QRTR: programs run in the world " + core->sandbox->world().root().string() + "; " + service_unit +
              " runs " + board.description().rmtfs_command_line + " there with " + core->options.system_server.string());
    return std::unique_ptr<BoardWorld>(new BoardWorld(std::move(core)));
}

int systemctl_client(int argc, char** argv) {
    const char* path = std::getenv(device_control_variable);
    if (path == nullptr || *path == '\0') {
        std::fprintf(stderr,
                     "systemctl: this is rmtfs-hil standing in for systemctl on an emulated device, and there is no "
                     "device here (%s is not set)\n",
                     device_control_variable);
        return 2;
    }
    json request = json::array();
    for (int i = 1; i < argc; ++i) request.push_back(argv[i]);
    std::string line = request.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (std::strlen(path) >= sizeof address.sun_path) {
        std::fprintf(stderr, "systemctl: %s is too long for a socket path\n", path);
        return 1;
    }
    std::strcpy(address.sun_path, path);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        std::fprintf(stderr, "systemctl: the emulated device is not answering at %s: %s\n", path, errno_text(errno).c_str());
        return 1;
    }
    for (std::size_t sent = 0; sent < line.size();) {
        ssize_t wrote = ::write(fd, line.data() + sent, line.size() - sent);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) break;
        sent += static_cast<std::size_t>(wrote);
    }
    std::string reply;
    char buffer[4096];
    for (;;) {
        ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        reply.append(buffer, static_cast<std::size_t>(got));
    }
    ::close(fd);
    try {
        json answer = json::parse(reply);
        std::string out = answer.at("stdout").get<std::string>(), err = answer.at("stderr").get<std::string>();
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fwrite(err.data(), 1, err.size(), stderr);
        return answer.at("status").get<int>();
    } catch (const json::exception&) {
        std::fprintf(stderr, "systemctl: the emulated device gave no answer\n");
        return 1;
    }
}

}  // namespace rmtfs_hil::hil::emulated
