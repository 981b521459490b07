#include "sim/link_faults.hpp"

#include <boost/asio/steady_timer.hpp>

#include "proto/contract.hpp"
#include "proto/qrtr_packet.hpp"

namespace rmtfs_hil::sim {

namespace {

class Drop final : public PacketFault {
public:
    Drop(double p, std::uint64_t seed) : probability_(p), rng_(seed) {}
    std::string name() const override { return "drop"; }
    void apply(Bytes packet, const PacketForward& forward) override {
        if (std::bernoulli_distribution(probability_)(rng_)) return;
        forward(std::move(packet));
    }

private:
    double probability_;
    std::mt19937_64 rng_;
};

class Duplicate final : public PacketFault {
public:
    Duplicate(double p, std::uint64_t seed) : probability_(p), rng_(seed) {}
    std::string name() const override { return "duplicate"; }
    void apply(Bytes packet, const PacketForward& forward) override {
        if (std::bernoulli_distribution(probability_)(rng_)) forward(packet);
        forward(std::move(packet));
    }

private:
    double probability_;
    std::mt19937_64 rng_;
};

class Delay final : public PacketFault {
public:
    Delay(boost::asio::io_context& io, std::chrono::milliseconds delay) : io_(io), delay_(delay) {}
    std::string name() const override { return "delay"; }
    void apply(Bytes packet, const PacketForward& forward) override {
        auto timer = std::make_shared<boost::asio::steady_timer>(io_, delay_);
        ++*held_;
        timer->async_wait([timer, forward, held = held_, packet = std::move(packet)](const boost::system::error_code& error) mutable {
            --*held;
            if (!error) forward(std::move(packet));
        });
    }
    std::size_t held() const override { return *held_; }

private:
    boost::asio::io_context& io_;
    std::chrono::milliseconds delay_;
    std::shared_ptr<std::size_t> held_ = std::make_shared<std::size_t>(0);
};

class Reorder final : public PacketFault {
public:
    std::string name() const override { return "reorder"; }
    void apply(Bytes packet, const PacketForward& forward) override {
        if (!held_) {
            held_ = std::move(packet);
            return;
        }
        Bytes first = std::move(*held_);
        held_.reset();
        forward(std::move(packet));
        forward(std::move(first));
    }
    std::size_t held() const override { return held_ ? 1 : 0; }

private:
    std::optional<Bytes> held_;
};

bool is_data(ByteView packet) {
    auto decoded = qrtr::decode_packet(packet);
    return decoded && decoded->type == qrtr::PacketType::data;
}

}  // namespace

std::unique_ptr<PacketFault> drop_fault(double probability, std::uint64_t seed) {
    RMTFS_HIL_ASSERT(probability >= 0 && probability <= 1, "a probability is within 0..1");
    return std::make_unique<Drop>(probability, seed);
}

std::unique_ptr<PacketFault> duplicate_fault(double probability, std::uint64_t seed) {
    RMTFS_HIL_ASSERT(probability >= 0 && probability <= 1, "a probability is within 0..1");
    return std::make_unique<Duplicate>(probability, seed);
}

std::unique_ptr<PacketFault> delay_fault(boost::asio::io_context& io, std::chrono::milliseconds delay) {
    return std::make_unique<Delay>(io, delay);
}

std::unique_ptr<PacketFault> reorder_fault() { return std::make_unique<Reorder>(); }

void FaultPipeline::add(std::unique_ptr<PacketFault> fault, bool data_only) {
    stages_.push_back(Stage{std::shared_ptr<PacketFault>(std::move(fault)), data_only});
}

std::size_t FaultPipeline::held() const {
    std::size_t packets = 0;
    for (const Stage& stage : stages_) packets += stage.fault->held();
    return packets;
}

void FaultPipeline::run(Bytes packet, const PacketForward& deliver) { run_from(0, std::move(packet), deliver); }

void FaultPipeline::run_from(std::size_t stage, Bytes packet, const PacketForward& deliver) {
    if (stage == stages_.size()) return deliver(std::move(packet));
    const Stage& s = stages_[stage];
    if (s.data_only && !is_data(packet)) return run_from(stage + 1, std::move(packet), deliver);
    // The stage may forward later (delay): keep what the continuation needs alive.
    std::shared_ptr<PacketFault> keep = s.fault;
    keep->apply(std::move(packet), [this, stage, deliver, keep, alive = std::weak_ptr<bool>(alive_)](Bytes next) {
        if (alive.lock() && stage + 1 <= stages_.size()) run_from(stage + 1, std::move(next), deliver);
    });
}

}  // namespace rmtfs_hil::sim
