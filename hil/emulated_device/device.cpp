#include "hil/emulated_device/device.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "hil/emulated_device/adb_wire.hpp"
#include "hil/emulated_device/board_world.hpp"
#include "proto/contract.hpp"

namespace rmtfs_hil::hil::emulated {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// What the device announces; each one is implemented (HIL-FACTS.md warns
// against announcing stat_v2, ls_v2, sendrecv_v2 or delayed_ack without).
const std::vector<std::string> device_features = {"shell_v2", "cmd", "fixed_push_mkdir"};

// A stream stops producing (program output, a pulled file) while this much
// waits for the host's OKAYs, and goes on once it fell below.
constexpr std::size_t stream_queue_high_bytes = 2 * adb::device_max_payload_bytes;

// A port 0 that lands among adb's emulator ports is asked for again, this often.
constexpr int port_choice_attempts_max = 8;
// After a reboot, listening again is tried this often (someone may hold the port).
constexpr int relisten_attempts_max = 20;
// adb opens a handful at a time; more is a runaway host, refused before it
// costs memory (each stream may hold stream_queue_high_bytes).
constexpr std::size_t connections_max = 16;
constexpr std::size_t streams_per_connection_max = 64;

// Programs, the device's connections and files are not for children of the
// process the device lives in (an adb server started by a test, say).
void keep_from_children(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

std::string in_quotes(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string search_path_of(const DeviceOptions& options) {
    if (!options.search_path.empty()) return options.search_path;
    const char* path = std::getenv("PATH");
    return path ? path : "";
}

}  // namespace

// Timestamped lines to the log file and the caller's sink, from any thread.
class DeviceLog {
public:
    DeviceLog(const std::optional<fs::path>& file, LogSink sink) : sink_(std::move(sink)) {
        if (file) {
            file_.open(*file, std::ios::app);
            if (!file_) throw std::runtime_error("cannot write the log file " + file->string());
        }
    }
    void write(std::string_view line) {
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
        char stamp[32];
        std::snprintf(stamp, sizeof stamp, "[%9.3f] ", seconds);
        std::lock_guard lock(mutex_);
        if (file_.is_open()) file_ << stamp << line << std::endl;
        if (sink_) sink_(std::string(stamp) + std::string(line));
    }
    LogSink sink() {
        return [this](std::string_view line) { write(line); };
    }

private:
    std::mutex mutex_;
    std::ofstream file_;
    LogSink sink_;
    std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

class Connection;

struct Device::Core {
    Core(asio::io_context& context, DeviceOptions device_options, fs::path root_path, bool root_owned);

    bool listen_on(std::uint16_t port_number, boost::system::error_code& error);
    bool listen(boost::system::error_code& error);
    void accept();
    void reboot(std::string_view kind);
    void relisten(int attempt);
    void stop();
    void close_connections(const std::string& reason);
    void forget(const std::shared_ptr<Connection>& connection);

    asio::io_context& io;
    DeviceOptions options;
    fs::path root_path;
    bool owns_root;
    DeviceLog log;
    DeviceRoot root;
    Board board;
    Shell shell;
    Programs programs;
    std::unique_ptr<BoardWorld> world;  // with options.qrtr
    tcp::acceptor acceptor;
    asio::steady_timer reboot_timer;
    std::uint16_t port = 0;
    std::set<std::shared_ptr<Connection>> open_connections;
    std::atomic<std::size_t> connection_count{0};
    std::atomic<unsigned> reboot_count{0};
    unsigned next_connection_id = 1;
    bool stopped = false;
};

// ---------------------------------------------------------------------------
// Streams: one per OPEN the device accepted.

class Stream : public std::enable_shared_from_this<Stream> {
public:
    explicit Stream(Device::Core& core) : core_(core) {}
    virtual ~Stream() = default;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    void attach(std::weak_ptr<Connection> connection, std::uint32_t local_id, std::uint32_t remote_id);

    // Our OKAY for the OPEN is on its way.
    virtual void opened() {}
    // One WRTE's payload; acknowledge() when ready for the next.
    virtual void received(Bytes data) = 0;
    // The host's OKAY for our last WRTE.
    void host_acknowledged();
    // The host closed the stream, or the connection went.
    void end() {
        closed_ = true;
        ended();
    }

protected:
    void write(ByteView bytes);
    void acknowledge();
    // CLSE once everything written was acknowledged.
    void finish();
    bool finishing() const { return finishing_ || closed_; }
    std::size_t queued_bytes() const { return queue_.size(); }
    // The queue fell below stream_queue_high_bytes: produce more.
    virtual void drained() {}
    // After end(): stop everything; nothing more goes out.
    virtual void ended() {}
    void log(std::string_view line) const;
    // `then` runs once everything sent so far on the connection is written.
    void after_written(std::function<void()> then);
    Device::Core& core() { return core_; }

private:
    void send_next();

    Device::Core& core_;
    std::weak_ptr<Connection> connection_;
    std::uint32_t local_id_ = 0;
    std::uint32_t remote_id_ = 0;
    Bytes queue_;
    bool awaiting_okay_ = false;
    bool finishing_ = false;
    bool closed_ = false;  // CLSE sent or received
};

// `shell,v2,...:CMD` (exit status, separate stderr, stdin packets) and the
// legacy `shell:CMD` (one raw byte stream, no exit status).
class ShellStream final : public Stream {
public:
    ShellStream(Device::Core& core, bool v2, std::string command)
        : Stream(core), v2_(v2), command_(std::move(command)) {}

    void opened() override;
    void received(Bytes data) override;

protected:
    void drained() override;
    void ended() override;

private:
    void run(const ProgramLaunch& launch);
    void complete(const CommandOutput& output);
    void output(OutputStream stream, ByteView bytes);
    void exited(int exit_status);
    void pump_input();
    void protocol_error(const std::string& reason);

    bool v2_;
    std::string command_;
    std::shared_ptr<RunningProgram> program_;
    adb::shell_v2::PacketParser parser_;
};

// `sync:`: stat, list, push (SEND), pull (RECV).
class SyncStream final : public Stream {
public:
    using Stream::Stream;

    void received(Bytes data) override;

protected:
    void drained() override;
    void ended() override;

private:
    // A SEND in progress: the file being written, or why it is refused (the
    // host has sent its DATA already; it is read and dropped until DONE).
    struct Incoming {
        FileDescriptor file;
        std::string device_path;
        std::uint32_t mode = 0;
        std::uint64_t bytes = 0;
        std::optional<std::string> refusal;
    };
    // A RECV in progress.
    struct Outgoing {
        FileDescriptor file;
        std::string device_path;
        std::uint64_t bytes = 0;
    };

    void process();
    void handle(const adb::sync::Stat& request);
    void handle(const adb::sync::List& request);
    void handle(const adb::sync::Send& request);
    void handle(const adb::sync::Recv& request);
    void handle(const adb::sync::Data& request);
    void handle(const adb::sync::Done& request);
    void handle(const adb::sync::Quit& request);
    Incoming open_incoming(const std::string& path, std::uint32_t mode);
    void continue_outgoing();
    void fail(const std::string& message);

    adb::sync::RequestParser parser_;
    std::optional<Incoming> incoming_;
    std::optional<Outgoing> outgoing_;
};

// `reboot:` and `reboot:bootloader`: the host reads until the connection drops.
class RebootStream final : public Stream {
public:
    RebootStream(Device::Core& core, std::string kind) : Stream(core), kind_(std::move(kind)) {}
    void opened() override;
    void received(Bytes) override { acknowledge(); }

private:
    std::string kind_;
};

// ---------------------------------------------------------------------------

class Connection : public std::enable_shared_from_this<Connection> {
public:
    Connection(Device::Core& core, tcp::socket socket, unsigned id);

    void start();
    void close(const std::string& reason);
    void send(adb::Command command, std::uint32_t arg0, std::uint32_t arg1, ByteView payload = {});
    // `then` runs once everything sent so far is written to the socket.
    void when_written(std::function<void()> then);
    void forget(std::uint32_t local_id) { streams_.erase(local_id); }
    std::uint32_t max_payload() const { return max_payload_; }
    void log(std::string_view line) const;

private:
    struct PendingWrite {
        Bytes bytes;
        std::function<void()> then;
    };

    void read_header();
    void read_payload(const adb::Header& header);
    void handle(const adb::Header& header, Bytes payload);
    void on_cnxn(const adb::Header& header, const Bytes& payload);
    void on_auth(const adb::Header& header);
    void on_open(const adb::Header& header, const Bytes& payload);
    void on_stream_message(const adb::Header& header, Bytes payload);
    std::shared_ptr<Stream> make_stream(std::string_view service);
    void send_auth_token();
    void write_next();

    Device::Core& core_;
    tcp::socket socket_;
    unsigned id_;
    std::string peer_;
    bool online_ = false;         // our CNXN went out
    bool awaiting_auth_ = false;  // our AUTH token went out instead
    bool closed_ = false;
    std::uint32_t max_payload_ = adb::device_max_payload_bytes;
    std::array<std::uint8_t, adb::header_size_bytes> header_{};
    Bytes payload_;
    std::deque<PendingWrite> writes_;
    bool writing_ = false;
    std::map<std::uint32_t, std::shared_ptr<Stream>> streams_;
    std::uint32_t next_stream_id_ = 1;
};

// ---------------------------------------------------------------------------
// Stream

void Stream::attach(std::weak_ptr<Connection> connection, std::uint32_t local_id, std::uint32_t remote_id) {
    connection_ = std::move(connection);
    local_id_ = local_id;
    remote_id_ = remote_id;
}

void Stream::log(std::string_view line) const {
    if (auto connection = connection_.lock()) connection->log("stream " + std::to_string(local_id_) + ": " + std::string(line));
}

void Stream::after_written(std::function<void()> then) {
    if (auto connection = connection_.lock()) connection->when_written(std::move(then));
}

void Stream::write(ByteView bytes) {
    if (closed_) return;
    queue_.insert(queue_.end(), bytes.begin(), bytes.end());
    send_next();
}

void Stream::acknowledge() {
    if (closed_) return;
    if (auto connection = connection_.lock()) connection->send(adb::Command::okay, local_id_, remote_id_);
}

void Stream::finish() {
    finishing_ = true;
    send_next();
}

void Stream::host_acknowledged() {
    awaiting_okay_ = false;
    if (!finishing_ && queue_.size() < stream_queue_high_bytes) drained();
    send_next();
}

void Stream::send_next() {
    auto connection = connection_.lock();
    if (closed_ || awaiting_okay_ || !connection) return;
    if (queue_.empty()) {
        if (!finishing_) return;
        closed_ = true;
        connection->send(adb::Command::clse, local_id_, remote_id_);
        connection->forget(local_id_);
        return;
    }
    const std::size_t length = std::min<std::size_t>(queue_.size(), connection->max_payload());
    connection->send(adb::Command::wrte, local_id_, remote_id_, ByteView(queue_.data(), length));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(length));
    awaiting_okay_ = true;
}

// ---------------------------------------------------------------------------
// ShellStream

namespace {

struct ShellService {
    bool v2 = false;
    std::string command;
};

// "shell,v2,TERM=xterm,raw:CMD", "shell:CMD"; the command may hold ':'.
std::optional<ShellService> parse_shell_service(std::string_view service) {
    constexpr std::string_view prefix = "shell";
    const std::size_t colon = service.find(':');
    if (!service.starts_with(prefix) || colon == std::string_view::npos) return std::nullopt;
    std::string_view arguments = service.substr(prefix.size(), colon - prefix.size());
    if (!arguments.empty() && arguments[0] != ',') return std::nullopt;
    ShellService parsed{false, std::string(service.substr(colon + 1))};
    while (!arguments.empty()) {
        arguments.remove_prefix(1);  // the ','
        std::string_view argument = arguments.substr(0, arguments.find(','));
        if (argument == "v2") parsed.v2 = true;
        arguments.remove_prefix(argument.size());
    }
    return parsed;
}

ByteView bytes_of(std::string_view text) {
    return ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

constexpr int exit_no_interactive_shell = 1;

}  // namespace

void ShellStream::opened() {
    log(std::string(v2_ ? "shell_v2" : "legacy shell") + " command " + in_quotes(command_));
    if (command_.empty()) {
        complete(CommandOutput{exit_no_interactive_shell, "",
                               "emulated device: there is no interactive shell; give the command to run "
                               "(adb shell COMMAND)\n"});
        return;
    }
    CommandPlan plan = core().shell.plan(command_);
    if (auto* launch = std::get_if<ProgramLaunch>(&plan)) run(*launch);
    else complete(std::get<CommandOutput>(plan));
}

void ShellStream::run(const ProgramLaunch& launch) {
    std::weak_ptr<ShellStream> weak = std::static_pointer_cast<ShellStream>(shared_from_this());
    ProgramEvents events;
    events.output = [weak](OutputStream stream, ByteView bytes) {
        if (auto self = weak.lock()) self->output(stream, bytes);
    };
    events.ended = [weak](int exit_status) {
        if (auto self = weak.lock()) self->exited(exit_status);
    };
    auto started = core().programs.start(launch, std::move(events));
    if (!started) {
        complete(started.error());
        return;
    }
    program_ = *started;
}

void ShellStream::complete(const CommandOutput& result) {
    output(OutputStream::standard_output, bytes_of(result.standard_output));
    output(OutputStream::standard_error, bytes_of(result.standard_error));
    exited(result.exit_status);
}

void ShellStream::output(OutputStream stream, ByteView bytes) {
    if (bytes.empty()) return;
    if (!v2_) {
        write(bytes);
    } else {
        const auto id = stream == OutputStream::standard_output ? adb::shell_v2::PacketId::stdout_data
                                                                : adb::shell_v2::PacketId::stderr_data;
        write(adb::shell_v2::encode_packet(id, bytes));
    }
    if (program_ && queued_bytes() >= stream_queue_high_bytes) program_->pause_output();
}

void ShellStream::drained() {
    if (program_) program_->resume_output();
}

void ShellStream::exited(int exit_status) {
    log("exit status " + std::to_string(exit_status));
    if (v2_) write(adb::shell_v2::encode_exit(static_cast<std::uint8_t>(exit_status)));
    program_.reset();
    finish();
}

void ShellStream::received(Bytes data) {
    if (!v2_) {  // legacy: the bytes are stdin
        if (!program_) return acknowledge();
        program_->write_stdin(std::move(data), [weak = weak_from_this()] {
            if (auto self = weak.lock()) std::static_pointer_cast<ShellStream>(self)->acknowledge();
        });
        return;
    }
    parser_.feed(data);
    pump_input();
}

// Hands the packets of the last WRTE to the program one at a time; its OKAY
// goes out when all are delivered, so a program that does not read its stdin
// holds the host back.
void ShellStream::pump_input() {
    using adb::shell_v2::PacketId;
    for (;;) {
        auto packet = parser_.next();
        if (!packet) return protocol_error(adb::describe(packet.error()));
        if (!*packet) return acknowledge();
        switch ((*packet)->id) {
            case PacketId::stdin_data:
                if (!program_) continue;
                program_->write_stdin(std::move((*packet)->data), [weak = weak_from_this()] {
                    if (auto self = weak.lock()) std::static_pointer_cast<ShellStream>(self)->pump_input();
                });
                return;
            case PacketId::close_stdin:
                if (program_) program_->close_stdin();
                continue;
            case PacketId::window_size:  // no pty: nothing to resize
                continue;
            default:
                return protocol_error("the host sent shell packet " +
                                      std::to_string(static_cast<unsigned>((*packet)->id)) + ", which only a device sends");
        }
    }
}

void ShellStream::protocol_error(const std::string& reason) {
    log("closing: " + reason);
    if (program_) program_->terminate();
    program_.reset();
    finish();
}

void ShellStream::ended() {
    if (program_) program_->terminate();
    program_.reset();
}

// ---------------------------------------------------------------------------
// SyncStream

void SyncStream::received(Bytes data) {
    parser_.feed(data);
    process();
    acknowledge();
}

// Requests in order; while a pull streams its file, the rest wait.
void SyncStream::process() {
    while (!outgoing_ && !finishing()) {
        auto request = parser_.next();
        if (!request) return fail("protocol error: " + adb::describe(request.error()));
        if (!*request) return;
        // What was asked, not each DATA: a push or pull ends with one summary line.
        if (!std::holds_alternative<adb::sync::Data>(**request)) log("sync " + adb::sync::describe(**request));
        std::visit([this](const auto& r) { handle(r); }, **request);
    }
}

void SyncStream::handle(const adb::sync::Stat& request) {
    auto resolved = core().root.resolve(request.path);
    struct stat status {};
    if (!resolved || ::stat(resolved->c_str(), &status) != 0) {
        write(adb::sync::encode_stat(0, 0, 0));
        return;
    }
    write(adb::sync::encode_stat(status.st_mode, static_cast<std::uint32_t>(status.st_size),
                                 static_cast<std::uint32_t>(status.st_mtime)));
}

void SyncStream::handle(const adb::sync::List& request) {
    auto resolved = core().root.resolve(request.path);
    std::error_code error;
    if (resolved) {
        for (const auto& entry : fs::directory_iterator(*resolved, error)) {
            struct stat status {};
            if (::lstat(entry.path().c_str(), &status) != 0) continue;
            write(adb::sync::encode_dent(status.st_mode, static_cast<std::uint32_t>(status.st_size),
                                         static_cast<std::uint32_t>(status.st_mtime),
                                         entry.path().filename().string()));
        }
    }
    write(adb::sync::encode_list_done());
}

void SyncStream::handle(const adb::sync::Send& request) {
    if (incoming_) return fail("protocol error: SEND inside a SEND");
    auto target = adb::sync::parse_send_target(request.target);
    if (!target) return fail("protocol error: " + adb::describe(target.error()));
    incoming_ = open_incoming(target->path, target->mode);
    if (incoming_->refusal) log("push to " + target->path + " refused: " + *incoming_->refusal);
}

SyncStream::Incoming SyncStream::open_incoming(const std::string& path, std::uint32_t mode) {
    Incoming incoming{FileDescriptor(), path, mode, 0, std::nullopt};
    // adb sends the local st_mode; a client that sends permissions only means a file.
    if (const std::uint32_t type = mode & S_IFMT; type != 0 && type != S_IFREG) {
        incoming.refusal = "the emulated device takes regular files only (no symlinks or devices)";
        return incoming;
    }
    auto resolved = core().root.resolve(path);
    if (!resolved) {
        incoming.refusal = resolved.error().message;
        return incoming;
    }
    incoming.device_path = core().root.device_path_of(*resolved);
    if (core().root.within(*resolved, "/dev")) {
        core().board.record_refused_write(incoming.device_path, "sync push refused");
        incoming.refusal = "read-only block device";
        return incoming;
    }
    // fixed_push_mkdir: the device makes the parent directories.
    std::error_code error;
    fs::create_directories(resolved->parent_path(), error);
    if (error) {
        incoming.refusal = "cannot create the parent directories: " + error.message();
        return incoming;
    }
    // O_NOFOLLOW: a symlink put there since resolve() must not be followed out.
    incoming.file = FileDescriptor(::open(resolved->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!incoming.file) incoming.refusal = std::string("cannot create the file: ") + std::strerror(errno);
    return incoming;
}

void SyncStream::handle(const adb::sync::Data& request) {
    if (!incoming_) return fail("protocol error: DATA outside a SEND");
    if (incoming_->refusal) return;
    std::size_t written = 0;
    while (written < request.bytes.size()) {
        ssize_t n = ::write(incoming_->file.get(), request.bytes.data() + written, request.bytes.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            incoming_->refusal = std::string("write failed: ") + std::strerror(errno);
            return;
        }
        written += static_cast<std::size_t>(n);
    }
    incoming_->bytes += written;
}

void SyncStream::handle(const adb::sync::Done& request) {
    if (!incoming_) return fail("protocol error: DONE outside a SEND");
    Incoming incoming = std::move(*incoming_);
    incoming_.reset();
    if (incoming.refusal) return fail(*incoming.refusal);
    const timespec times[2] = {{request.mtime, 0}, {request.mtime, 0}};
    if (::fchmod(incoming.file.get(), incoming.mode & 07777) != 0 || ::futimens(incoming.file.get(), times) != 0)
        return fail(std::string("cannot set the mode or mtime: ") + std::strerror(errno));
    incoming.file.reset();
    log("pushed " + std::to_string(incoming.bytes) + " bytes to " + incoming.device_path);
    write(adb::sync::encode_okay());
}

void SyncStream::handle(const adb::sync::Recv& request) {
    auto resolved = core().root.resolve(request.path);
    if (!resolved) return fail(resolved.error().message);
    FileDescriptor file(::open(resolved->c_str(), O_RDONLY | O_CLOEXEC));
    if (!file) return fail(request.path + ": " + std::strerror(errno));
    outgoing_ = Outgoing{std::move(file), core().root.device_path_of(*resolved), 0};
    continue_outgoing();
}

void SyncStream::continue_outgoing() {
    std::uint8_t chunk[adb::sync::data_max_bytes];
    while (outgoing_ && queued_bytes() < stream_queue_high_bytes) {
        ssize_t got = ::read(outgoing_->file.get(), chunk, sizeof chunk);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail(outgoing_->device_path + ": " + std::strerror(errno));
        if (got > 0) {
            write(adb::sync::encode_data(ByteView(chunk, static_cast<std::size_t>(got))));
            outgoing_->bytes += static_cast<std::uint64_t>(got);
            continue;
        }
        write(adb::sync::encode_data_done());
        log("pulled " + std::to_string(outgoing_->bytes) + " bytes of " + outgoing_->device_path);
        outgoing_.reset();
        process();
    }
}

void SyncStream::drained() {
    if (outgoing_) continue_outgoing();
}

void SyncStream::handle(const adb::sync::Quit&) { finish(); }

// adbd's way: FAIL, then the stream ends.
void SyncStream::fail(const std::string& message) {
    log("FAIL " + message);
    incoming_.reset();
    outgoing_.reset();
    write(adb::sync::encode_fail(message));
    finish();
}

void SyncStream::ended() {
    incoming_.reset();
    outgoing_.reset();
}

// ---------------------------------------------------------------------------
// RebootStream

void RebootStream::opened() {
    log("reboot (" + kind_ + ") requested");
    // The OKAY must reach the host first: the client then reads until the
    // connection drops, and exits 0.
    Device::Core& device = core();
    after_written([&device, kind = kind_] {
        asio::post(device.io, [&device, kind] {
            if (!device.stopped) device.reboot(kind);
        });
    });
}

// ---------------------------------------------------------------------------
// Connection

Connection::Connection(Device::Core& core, tcp::socket socket, unsigned id)
    : core_(core), socket_(std::move(socket)), id_(id) {
    boost::system::error_code error;
    auto remote = socket_.remote_endpoint(error);
    peer_ = error ? "?" : remote.address().to_string() + ":" + std::to_string(remote.port());
    keep_from_children(socket_.native_handle());
    socket_.set_option(tcp::no_delay(true), error);  // OKAYs are small and on the critical path
}

void Connection::log(std::string_view line) const {
    core_.log.write("connection " + std::to_string(id_) + " (" + peer_ + "): " + std::string(line));
}

void Connection::start() {
    log("accepted");
    read_header();
}

void Connection::close(const std::string& reason) {
    if (closed_) return;
    closed_ = true;
    log("closed: " + reason);
    auto streams = std::move(streams_);
    streams_.clear();
    for (auto& [id, stream] : streams) stream->end();
    boost::system::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    core_.forget(shared_from_this());
}

void Connection::send(adb::Command command, std::uint32_t arg0, std::uint32_t arg1, ByteView payload) {
    RMTFS_HIL_ASSERT(command != adb::Command::open,
                     "the device must never send OPEN: Debian's adb server aborts (CVE-2022-3168 fix)");
    RMTFS_HIL_ASSERT(payload.size() <= max_payload_, "a message larger than the connection's max payload");
    if (closed_) return;
    writes_.push_back(PendingWrite{adb::encode_message(command, arg0, arg1, payload), {}});
    write_next();
}

void Connection::when_written(std::function<void()> then) {
    if (writes_.empty()) {
        asio::post(socket_.get_executor(), std::move(then));
        return;
    }
    auto& last = writes_.back().then;
    last = [first = std::move(last), then = std::move(then)] {
        if (first) first();
        then();
    };
}

void Connection::write_next() {
    if (writing_ || writes_.empty() || closed_) return;
    writing_ = true;
    asio::async_write(socket_, asio::buffer(writes_.front().bytes),
                      [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
                          self->writing_ = false;
                          if (self->closed_) return;
                          if (error) return self->close("write failed: " + error.message());
                          auto then = std::move(self->writes_.front().then);
                          self->writes_.pop_front();
                          if (then) then();
                          self->write_next();
                      });
}

void Connection::read_header() {
    asio::async_read(socket_, asio::buffer(header_),
                     [self = shared_from_this()](const boost::system::error_code& error, std::size_t) {
                         if (self->closed_) return;
                         if (error == asio::error::eof) return self->close("the host closed the connection");
                         if (error) return self->close("read failed: " + error.message());
                         auto header = adb::decode_header(self->header_, self->max_payload_);
                         if (!header) return self->close("garbage from the host: " + adb::describe(header.error()));
                         self->read_payload(*header);
                     });
}

void Connection::read_payload(const adb::Header& header) {
    payload_.resize(header.payload_length);
    asio::async_read(socket_, asio::buffer(payload_),
                     [self = shared_from_this(), header](const boost::system::error_code& error, std::size_t) {
                         if (self->closed_) return;
                         if (error) return self->close("the host closed the connection inside a " +
                                                       std::string(adb::to_string(header.command)) + " message");
                         self->handle(header, std::move(self->payload_));
                         if (!self->closed_) self->read_header();
                     });
}

void Connection::handle(const adb::Header& header, Bytes payload) {
    switch (header.command) {
        case adb::Command::cnxn: return on_cnxn(header, payload);
        case adb::Command::auth: return on_auth(header);
        case adb::Command::open: return on_open(header, payload);
        case adb::Command::okay:
        case adb::Command::wrte:
        case adb::Command::clse: return on_stream_message(header, std::move(payload));
        case adb::Command::sync:
        case adb::Command::stls: break;
    }
    close("the host sent " + std::string(adb::to_string(header.command)) + ", which the device does not speak");
}

void Connection::on_cnxn(const adb::Header& header, const Bytes& payload) {
    if (online_ || awaiting_auth_) return close("a second CNXN on one connection");
    if (header.arg1 == 0) return close("the host's CNXN offers a max payload of 0");
    max_payload_ = std::min(adb::device_max_payload_bytes, header.arg1);
    log("host CNXN: version " + hex(header.arg0, 8) + ", max payload " + std::to_string(header.arg1) + ", banner " +
        in_quotes(std::string(payload.begin(), std::find(payload.begin(), payload.end(), 0))));
    if (core_.options.require_auth) {
        awaiting_auth_ = true;
        send_auth_token();
        return;
    }
    const BoardDescription& board = core_.board.description();
    const std::string banner = adb::encode_banner(
        {board.profile->name, board.product_model, board.profile->name, device_features});
    send(adb::Command::cnxn, adb::protocol_version, max_payload_, bytes_of(banner));
    online_ = true;
    log("online: CNXN sent, max payload " + std::to_string(max_payload_));
}

void Connection::send_auth_token() {
    std::random_device random;
    Bytes token(adb::auth_token_size_bytes);
    for (auto& byte : token) byte = static_cast<std::uint8_t>(random());
    send(adb::Command::auth, adb::auth_token, 0, token);
}

// require_auth: no signature and no key is ever good enough, so the host
// lists the device as `unauthorized` until it gives up.
void Connection::on_auth(const adb::Header& header) {
    if (!awaiting_auth_) return close("AUTH from the host before the device asked for it");
    if (header.arg0 == adb::auth_signature) {
        log("host signed the AUTH token; the device accepts no key: a new token");
        return send_auth_token();
    }
    if (header.arg0 == adb::auth_rsa_public_key)
        return log("host offered its public key; the device accepts none: it stays unauthorized");
    close("AUTH of type " + std::to_string(header.arg0) + " from the host");
}

void Connection::on_open(const adb::Header& header, const Bytes& payload) {
    if (!online_) return close("OPEN before the connection is online");
    if (header.arg0 == 0) return close("OPEN with local id 0");
    const std::string service(payload.begin(), std::find(payload.begin(), payload.end(), 0));
    if (streams_.size() >= streams_per_connection_max) {
        log("refused service " + in_quotes(service) + ": " + std::to_string(streams_.size()) + " streams are open");
        return send(adb::Command::clse, 0, header.arg0);
    }
    auto stream = make_stream(service);
    if (!stream) {
        log("refused service " + in_quotes(service));
        return send(adb::Command::clse, 0, header.arg0);
    }
    const std::uint32_t id = next_stream_id_++;
    streams_[id] = stream;
    stream->attach(weak_from_this(), id, header.arg0);
    send(adb::Command::okay, id, header.arg0);
    log("stream " + std::to_string(id) + " opened: " + in_quotes(service));
    stream->opened();
}

std::shared_ptr<Stream> Connection::make_stream(std::string_view service) {
    if (auto shell = parse_shell_service(service))
        return std::make_shared<ShellStream>(core_, shell->v2, std::move(shell->command));
    if (service == "sync:") return std::make_shared<SyncStream>(core_);
    if (service.starts_with("reboot:")) {
        std::string_view kind = service.substr(std::string_view("reboot:").size());
        return std::make_shared<RebootStream>(core_, kind.empty() ? "system" : std::string(kind));
    }
    return nullptr;
}

// OKAY, WRTE and CLSE name our stream in arg1. One for a stream that is gone
// (it crossed our CLSE) is dropped.
void Connection::on_stream_message(const adb::Header& header, Bytes payload) {
    if (!online_) return close(std::string(adb::to_string(header.command)) + " before the connection is online");
    auto found = streams_.find(header.arg1);
    if (found == streams_.end()) return;
    std::shared_ptr<Stream> stream = found->second;  // alive while it runs, even if it finishes
    switch (header.command) {
        case adb::Command::okay: return stream->host_acknowledged();
        case adb::Command::wrte: return stream->received(std::move(payload));
        default:
            streams_.erase(found);
            log("stream " + std::to_string(header.arg1) + " closed by the host");
            return stream->end();
    }
}

// ---------------------------------------------------------------------------
// Device::Core

namespace {

// With its own QRTR, the board's modem state is the world's (board_world.hpp).
BoardDescription board_of(const DeviceOptions& options) {
    BoardDescription board = describe_board(*options.board);
    if (options.qrtr) board.remoteproc_state.clear();
    return board;
}

}  // namespace

Device::Core::Core(asio::io_context& context, DeviceOptions device_options, fs::path root_directory,
                   bool root_owned)
    : io(context),
      options(std::move(device_options)),
      root_path(std::move(root_directory)),
      owns_root(root_owned),
      log(options.log_file, options.log),
      root(root_path),
      board(io, root, board_of(options), log.sink()),
      shell(root, board, search_path_of(options), log.sink()),
      programs(io, options.stop_grace, log.sink()),
      acceptor(io),
      reboot_timer(io) {}

bool Device::Core::listen_on(std::uint16_t port_number, boost::system::error_code& error) {
    tcp::acceptor candidate(io);
    const tcp::endpoint endpoint(asio::ip::address_v4::loopback(), port_number);
    candidate.open(endpoint.protocol(), error);
    if (!error) candidate.set_option(tcp::acceptor::reuse_address(true), error);  // the port right after a reboot
    if (!error) candidate.bind(endpoint, error);
    if (!error) candidate.listen(asio::socket_base::max_listen_connections, error);
    if (error) return false;
    keep_from_children(candidate.native_handle());
    port = candidate.local_endpoint().port();
    acceptor = std::move(candidate);
    return true;
}

bool Device::Core::listen(boost::system::error_code& error) {
    for (int attempt = 0; attempt < port_choice_attempts_max; ++attempt) {
        if (!listen_on(options.port, error)) return false;
        if (options.port != 0 || !is_adb_emulator_port(port)) return true;
        acceptor.close(error);
    }
    error = asio::error::address_in_use;
    return false;
}

void Device::Core::accept() {
    acceptor.async_accept([this](const boost::system::error_code& error, tcp::socket socket) {
        if (error) return;  // closed: a reboot or a stop
        auto connection = std::make_shared<Connection>(*this, std::move(socket), next_connection_id++);
        open_connections.insert(connection);
        connection_count = open_connections.size();
        if (open_connections.size() > connections_max)
            connection->close("more than " + std::to_string(connections_max) + " connections at once");
        else
            connection->start();
        accept();
    });
}

void Device::Core::forget(const std::shared_ptr<Connection>& connection) {
    open_connections.erase(connection);
    connection_count = open_connections.size();
}

void Device::Core::close_connections(const std::string& reason) {
    for (const auto& connection : std::vector(open_connections.begin(), open_connections.end()))
        connection->close(reason);
}

// What a board does when told to reboot: every connection drops, every
// process dies, the RAM state (services, remoteproc) starts over, and after a
// while adbd listens again on the same port.
void Device::Core::reboot(std::string_view kind) {
    log.write("reboot (" + std::string(kind) + "): connections closed, programs killed, back in " +
              std::to_string(options.reboot_offline.count()) + " ms");
    ++reboot_count;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    programs.kill_all();
    close_connections("the device reboots");
    board.reboot();
    relisten(1);
}

void Device::Core::relisten(int attempt) {
    reboot_timer.expires_after(options.reboot_offline);
    reboot_timer.async_wait([this, attempt](const boost::system::error_code& error) {
        if (error || stopped) return;
        boost::system::error_code listen_error;
        if (listen_on(port, listen_error)) {
            log.write("rebooted: listening again on 127.0.0.1:" + std::to_string(port));
            accept();
        } else if (attempt < relisten_attempts_max) {
            log.write("cannot listen again on port " + std::to_string(port) + ": " + listen_error.message());
            relisten(attempt + 1);
        } else {
            log.write("gave up listening again on port " + std::to_string(port) + " after a reboot");
        }
    });
}

void Device::Core::stop() {
    if (stopped) return;
    stopped = true;
    log.write("stopping");
    boost::system::error_code ignored;
    acceptor.close(ignored);
    reboot_timer.cancel();
    programs.kill_all();
    if (world) world->stop();
    close_connections("the device stops");
    board.stop_watching();
}

// ---------------------------------------------------------------------------
// Device

Device::Device(std::unique_ptr<Core> core) : core_(std::move(core)) {}

Device::~Device() {
    core_->stop();
    const bool remove = core_->owns_root;
    const fs::path root = core_->root_path;
    core_.reset();
    if (remove) {
        std::error_code ignored;
        fs::remove_all(root, ignored);
    }
}

Expected<std::unique_ptr<Device>, std::string> Device::create(asio::io_context& io, DeviceOptions options) {
    if (options.port != 0 && is_adb_emulator_port(options.port))
        return unexpected("port " + std::to_string(options.port) + " is among adb's emulator ports (" +
                          std::to_string(adb_emulator_port_first) + "-" + std::to_string(adb_emulator_port_last) + ")");
    RMTFS_HIL_ASSERT(options.board != nullptr, "a device needs a board description");
    fs::path root = options.root;
    const bool owns_root = root.empty();
    std::error_code error;
    if (owns_root) {
        std::string pattern = (fs::temp_directory_path(error) / "rmtfs-hil-device-XXXXXX").string();
        if (error || ::mkdtemp(pattern.data()) == nullptr)
            return unexpected("cannot make a device root in the temporary directory: " + std::string(std::strerror(errno)));
        root = pattern;
    } else if (fs::create_directories(root, error); error) {
        return unexpected("cannot make the device root " + root.string() + ": " + error.message());
    }
    std::unique_ptr<Core> core;
    try {
        core = std::make_unique<Core>(io, std::move(options), root, owns_root);
    } catch (const std::exception& e) {
        if (owns_root) fs::remove_all(root, error);
        return unexpected("cannot set the device up in " + root.string() + ": " + e.what());
    }
    if (core->options.qrtr) {
        BoardWorldOptions world{core->options.board, core->options.system_server, core->options.systemctl_program};
        auto made = BoardWorld::create(io, core->root, core->board, core->shell, std::move(world), core->log.sink());
        if (!made) {
            std::unique_ptr<Device> cleanup(new Device(std::move(core)));
            return unexpected(made.error());
        }
        core->world = std::move(*made);
    }
    boost::system::error_code listen_error;
    if (!core->listen(listen_error)) {
        std::string message = "cannot listen on 127.0.0.1:" + std::to_string(core->options.port) + ": " +
                              listen_error.message();
        std::unique_ptr<Device> cleanup(new Device(std::move(core)));
        return unexpected(std::move(message));
    }
    core->log.write("listening on 127.0.0.1:" + std::to_string(core->port) + ", board " + core->options.board->name +
                    ", device root " + core->root.host_root().string() +
                    (core->options.require_auth ? ", requiring AUTH (no key is accepted)" : "") +
                    (core->world ? ", with its QRTR (programs run in an emulated world)" : ""));
    core->accept();
    return std::unique_ptr<Device>(new Device(std::move(core)));
}

std::uint16_t Device::port() const { return core_->port; }

std::string Device::serial() const { return "127.0.0.1:" + std::to_string(core_->port); }

const fs::path& Device::root() const { return core_->root.host_root(); }

void Device::stop() { core_->stop(); }

std::vector<CommandRecord> Device::commands() const { return core_->shell.commands(); }

std::vector<ServiceTransition> Device::service_history() const { return core_->board.service_history(); }

std::vector<BlockDeviceWrite> Device::block_device_writes() const { return core_->board.block_device_writes(); }

unsigned Device::reboots() const { return core_->reboot_count; }

std::size_t Device::connections() const { return core_->connection_count; }

}  // namespace rmtfs_hil::hil::emulated
