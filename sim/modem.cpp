#include "sim/modem.hpp"

#include <algorithm>
#include <cstdio>

#include "proto/contract.hpp"

namespace rmtfs_hil::sim {

namespace {

std::string refusal(const std::string& what, const Response& response) {
    if (!response) return what + " failed: " + std::string(to_string(response.error().kind)) + ": " + response.error().detail;
    return what + " refused: " + rmtfs::summary(*response);
}

template <class T>
const T* as(const Response& response) {
    return response ? std::get_if<T>(&*response) : nullptr;
}

}  // namespace

Modem::Modem(boost::asio::io_context& io, Link& link, SharedMemory& memory, ModemConfig config, Events events,
             TraceSink trace)
    : io_(io),
      memory_(memory),
      config_(std::move(config)),
      events_(std::move(events)),
      trace_(trace),
      endpoint_(link, config_.node,
                QrtrEndpoint::Events{
                    [this](const RemoteServer& s) {
                        if (is_rmtfs(s) && state_ == ModemState::waiting_for_service) {
                            service_timer_.cancel();
                            client_.set_server(s.address);
                            open_next(0);
                        }
                    },
                    [this](const RemoteServer& s) {
                        if (s.service != rmtfs::service_id || !client_.server() || *client_.server() != s.address) return;
                        on_service_lost(s);
                    },
                    nullptr,
                    [this](QrtrAddress from, std::uint32_t to_port, ByteView payload) {
                        if (to_port == config_.port) client_.on_datagram(from, payload);
                    },
                    nullptr},
                trace),
      client_(io, endpoint_, config_.port, config_.request_timeout),
      service_timer_(io),
      caller_ids_(config_.partitions.size()),
      images_(config_.partitions.size()),
      sync_timer_(io) {
    RMTFS_HIL_ASSERT(config_.transfer_sectors > 0, "a transfer moves at least one sector");
    RMTFS_HIL_ASSERT(static_cast<std::uint64_t>(config_.transfer_sectors) * rmtfs::sector_size_bytes <= config_.buffer_bytes,
                     "a transfer must fit the buffer");
}

Modem::~Modem() { *alive_ = false; }

void Modem::set_state(ModemState state) {
    state_ = state;
    if (trace_) {
        TraceFields fields;
        fields.state = std::string(to_string(state));
        trace_(TraceEvent{std::chrono::steady_clock::now(), TraceSource::modem, TraceKind::modem_state,
                          "modem node " + std::to_string(config_.node) + " " + std::string(to_string(state)), fields});
    }
    if (events_.state_changed) events_.state_changed(state);
}

// The RMTFS server as the modem's QMI client looks it up: service 14 of
// version 1, instance 0. Another version or instance is another service.
bool Modem::is_rmtfs(const RemoteServer& server) {
    return server.service == rmtfs::service_id && server.version == rmtfs::service_version &&
           server.instance == rmtfs::service_instance;
}

std::optional<RemoteServer> Modem::find_rmtfs() const {
    return endpoint_.find_server(rmtfs::service_id, rmtfs::service_version, rmtfs::service_instance);
}

// The buffer ALLOC_BUFF answered is the daemon's word: one that does not fit
// the region is the daemon's error, not the harness's shared memory failing.
bool Modem::fits_region(std::uint64_t address, std::size_t length) const {
    return address >= memory_.base() && address - memory_.base() + length <= memory_.size_bytes();
}

std::string Modem::outside_region(std::uint64_t address, std::size_t length) const {
    char text[160];
    std::snprintf(text, sizeof text,
                  "the buffer ALLOC_BUFF gave (0x%llx + %zu bytes) is not inside the rmtfs_mem region 0x%llx + %llu bytes",
                  static_cast<unsigned long long>(address), length, static_cast<unsigned long long>(memory_.base()),
                  static_cast<unsigned long long>(memory_.size_bytes()));
    return text;
}

void Modem::boot(std::function<void(const BootResult&)> done) {
    boot_done_ = std::move(done);
    set_state(ModemState::waiting_for_service);
    endpoint_.hello();
    if (auto server = find_rmtfs()) {
        client_.set_server(server->address);
        open_next(0);
        return;
    }
    service_timer_.expires_after(config_.service_wait);
    service_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
        if (error || !alive.lock() || state_ != ModemState::waiting_for_service) return;
        std::string other;
        if (auto server = endpoint_.find_server(rmtfs::service_id))
            other = " (service 14 is published at " + to_string(server->address) + " as version " +
                    std::to_string(server->version) + " instance " + std::to_string(server->instance) +
                    "; the modem looks up version " + std::to_string(rmtfs::service_version) + " instance " +
                    std::to_string(rmtfs::service_instance) + ")";
        fail_boot("the RMTFS service did not appear within " + std::to_string(config_.service_wait.count()) + " ms" + other);
    });
}

void Modem::shutdown() {
    service_timer_.cancel();
    sync_timer_.cancel();
    client_.set_server(std::nullopt);
    client_.fail_all(RequestFailure{RequestFailure::Kind::service_gone, "the modem was shut down"});
    boot_done_ = nullptr;
    recovering_ = false;
    std::fill(caller_ids_.begin(), caller_ids_.end(), std::nullopt);
    for (Bytes& image : images_) image.clear();
    buffer_address_.reset();
    set_state(ModemState::offline);
}

void Modem::on_service_lost(const RemoteServer& server) {
    client_.set_server(std::nullopt);
    client_.fail_all(RequestFailure{RequestFailure::Kind::service_gone,
                                    "service 14 at " + to_string(server.address) + " went away"});
    if (events_.service_lost) events_.service_lost(server);
    const bool booted = state_ == ModemState::running || recovering_;
    const bool booting = state_ == ModemState::opening || state_ == ModemState::allocating || state_ == ModemState::loading;
    if (!booted && !booting) return;
    switch (config_.on_service_loss) {
        case ServiceLoss::fatal:
            return crash("the RMTFS service at " + to_string(server.address) + " went away");
        case ServiceLoss::reopen:
            if (!booted) return fail_boot("the RMTFS service went away during boot");
            recovering_ = true;
            std::fill(caller_ids_.begin(), caller_ids_.end(), std::nullopt);
            set_state(ModemState::waiting_for_service);
            if (auto again = find_rmtfs()) {
                client_.set_server(again->address);
                open_next(0);
            }
            return;
        case ServiceLoss::ignore:
            return;
    }
}

void Modem::crash(std::string reason) {
    set_state(ModemState::crashed);
    if (boot_done_) {
        auto done = std::move(boot_done_);
        boot_done_ = nullptr;
        done(BootResult{false, reason});
    }
    if (events_.crashed) events_.crashed(reason);
}

void Modem::finish_recovery() {
    recovering_ = false;
    set_state(ModemState::running);
    if (events_.recovered) events_.recovered();
    schedule_sync();
}

void Modem::schedule_sync() {
    if (config_.sync_interval.count() == 0 || config_.partitions.size() < 2) return;
    sync_timer_.expires_after(config_.sync_interval);
    sync_timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& error) {
        if (error || !alive.lock() || state_ != ModemState::running) return;
        sync();
    });
}

void Modem::sync() {
    const std::uint64_t number = syncs_started_++;
    const std::size_t partition = number % 2;  // fs1, fs2, fs1, ...
    if (!caller_ids_[partition]) return schedule_sync();  // skipped at boot
    Bytes data(static_cast<std::size_t>(config_.sync_sectors) * rmtfs::sector_size_bytes);
    std::uint64_t x = config_.seed * 0x9e3779b97f4a7c15ull + number + 1;
    for (auto& byte : data) {  // xorshift: cheap, deterministic, never constant
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        byte = static_cast<std::uint8_t>(x);
    }
    write(partition, config_.sync_first_sector, data, [this](const Response& response) {
        const auto* rw = as<rmtfs::RwIovecResponse>(response);
        if (rw != nullptr && rw->result.ok()) ++syncs_completed_;
        if (state_ == ModemState::running) schedule_sync();
    });
}

void Modem::fail_boot(std::string reason) {
    set_state(ModemState::failed);
    if (boot_done_) {
        auto done = std::move(boot_done_);
        boot_done_ = nullptr;
        done(BootResult{false, std::move(reason)});
    }
}

void Modem::open_next(std::size_t index) {
    if (index == config_.partitions.size()) return allocate();
    set_state(ModemState::opening);
    const std::string& path = config_.partitions[index];
    client_.request(rmtfs::OpenRequest{path}, [this, index, path](const Response& response) {
        const auto* open = as<rmtfs::OpenResponse>(response);
        if (open == nullptr || !open->result.ok() || !open->caller_id) {
            std::string reason = refusal("OPEN " + path, response);
            switch (config_.on_open_failure) {
                case OpenFailure::fail: return fail_boot(std::move(reason));
                case OpenFailure::crash: return crash(std::move(reason));
                case OpenFailure::skip:
                    if (trace_) trace_(TraceEvent{std::chrono::steady_clock::now(), TraceSource::modem, TraceKind::open_skipped, reason, {}});
                    return open_next(index + 1);
            }
        }
        caller_ids_[index] = *open->caller_id;
        open_next(index + 1);
    });
}

void Modem::allocate() {
    set_state(ModemState::allocating);
    auto opened = std::find_if(caller_ids_.begin(), caller_ids_.end(), [](const auto& id) { return id.has_value(); });
    if (opened == caller_ids_.end()) return fail_boot("no partition could be opened");
    client_.request(rmtfs::AllocBuffRequest{**opened, config_.buffer_bytes}, [this](const Response& response) {
        const auto* alloc = as<rmtfs::AllocBuffResponse>(response);
        if (alloc == nullptr || !alloc->result.ok() || !alloc->buff_address)
            return fail_boot(refusal("ALLOC_BUFF", response));
        buffer_address_ = *alloc->buff_address;
        if (recovering_) return finish_recovery();
        set_state(ModemState::loading);
        load(0, 0);
    });
}

void Modem::load(std::size_t partition, std::uint32_t sector) {
    if (partition == config_.partitions.size()) {
        set_state(ModemState::running);
        schedule_sync();
        if (boot_done_) {
            auto done = std::move(boot_done_);
            boot_done_ = nullptr;
            done(BootResult{true, {}});
        }
        return;
    }
    if (sector >= config_.image_sectors || !caller_ids_[partition]) return load(partition + 1, 0);
    std::uint32_t count = std::min(config_.transfer_sectors, config_.image_sectors - sector);
    read(partition, sector, count, [this, partition, sector, count](const Expected<Bytes, ReadFailure>& bytes) {
        if (!bytes) return fail_boot("loading " + config_.partitions[partition] + ": " + bytes.error().detail);
        if (ledger_ != nullptr && events_.read_violation)
            if (auto violation = ledger_->read_returned(config_.partitions[partition], sector, *bytes))
                events_.read_violation(*violation);
        Bytes& image = images_[partition];
        image.insert(image.end(), bytes->begin(), bytes->end());
        load(partition, sector + count);
    });
}

void Modem::write(std::size_t index, std::uint32_t sector, const Bytes& data, ResponseHandler done) {
    RMTFS_HIL_ASSERT(index < caller_ids_.size() && caller_ids_[index], "write to a partition that is not open");
    RMTFS_HIL_ASSERT(buffer_address_.has_value(), "write before ALLOC_BUFF");
    RMTFS_HIL_ASSERT(!data.empty() && data.size() % rmtfs::sector_size_bytes == 0, "writes are whole sectors");
    RMTFS_HIL_ASSERT(data.size() <= config_.buffer_bytes, "a write must fit the buffer");
    if (!fits_region(*buffer_address_, data.size())) {
        done(unexpected(RequestFailure{RequestFailure::Kind::no_service, outside_region(*buffer_address_, data.size())}));
        return;
    }
    if (auto written = memory_.write(*buffer_address_, data); !written) {
        if (events_.machine_trouble) events_.machine_trouble("the modem's write to shared memory: " + written.error());
        done(unexpected(RequestFailure{RequestFailure::Kind::no_service, "shared memory: " + written.error()}));
        return;
    }
    auto count = static_cast<std::uint32_t>(data.size() / rmtfs::sector_size_bytes);
    rmtfs::RwIovecRequest request{*caller_ids_[index], 1,
                                  {rmtfs::IovecEntry{sector, static_cast<std::uint32_t>(*buffer_address_), count}}, 0};
    if (ledger_ != nullptr) {
        WriteId id = ledger_->invoked(config_.partitions[index], sector, data);
        done = [ledger = ledger_, id, done = std::move(done)](const Response& response) {
            const auto* rw = as<rmtfs::RwIovecResponse>(response);
            WriteOutcome outcome = WriteOutcome::failed;
            if (rw != nullptr && rw->result.ok()) outcome = WriteOutcome::ok;
            else if (!response && (response.error().kind == RequestFailure::Kind::timeout ||
                                   response.error().kind == RequestFailure::Kind::service_gone))
                outcome = WriteOutcome::unknown;  // no answer: it may or may not have happened
            ledger->resolved(id, outcome);
            done(response);
        };
    }
    client_.request(request, std::move(done));
}

void Modem::read(std::size_t index, std::uint32_t sector, std::uint32_t count, ReadHandler done) {
    RMTFS_HIL_ASSERT(index < caller_ids_.size() && caller_ids_[index], "read of a partition that is not open");
    RMTFS_HIL_ASSERT(buffer_address_.has_value(), "read before ALLOC_BUFF");
    RMTFS_HIL_ASSERT(static_cast<std::uint64_t>(count) * rmtfs::sector_size_bytes <= config_.buffer_bytes,
                     "a read must fit the buffer");
    rmtfs::RwIovecRequest request{*caller_ids_[index], 0,
                                  {rmtfs::IovecEntry{sector, static_cast<std::uint32_t>(*buffer_address_), count}}, 0};
    std::uint64_t address = *buffer_address_;
    client_.request(request, [this, address, count, done = std::move(done)](const Response& response) {
        const auto* rw = as<rmtfs::RwIovecResponse>(response);
        if (rw == nullptr || !rw->result.ok()) {
            bool timed_out = !response && response.error().kind == RequestFailure::Kind::timeout;
            return done(unexpected(ReadFailure{refusal("RW_IOVEC read", response), timed_out, rw != nullptr,
                                               rw != nullptr ? rw->result.error : std::uint16_t{0}}));
        }
        std::size_t length = static_cast<std::size_t>(count) * rmtfs::sector_size_bytes;
        if (!fits_region(address, length)) return done(unexpected(ReadFailure{outside_region(address, length)}));
        auto bytes = memory_.read(address, length);
        if (!bytes) {
            if (events_.machine_trouble) events_.machine_trouble("the modem's read of shared memory: " + bytes.error());
            return done(unexpected(ReadFailure{"shared memory: " + bytes.error()}));
        }
        done(*bytes);
    });
}

}  // namespace rmtfs_hil::sim
