// Faults on a link's packets in one direction: small named objects chained
// into a pipeline, each deciding what becomes of a packet — passed on, lost,
// late, twice, or after the next one.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "proto/bytes.hpp"

namespace rmtfs_hil::sim {

using PacketForward = std::function<void(Bytes)>;

class PacketFault {
public:
    virtual ~PacketFault() = default;
    virtual std::string name() const = 0;
    // Hands `packet` to `forward` zero, one or more times, now or later.
    virtual void apply(Bytes packet, const PacketForward& forward) = 0;
    // Packets it holds to pass on later.
    virtual std::size_t held() const { return 0; }
};

std::unique_ptr<PacketFault> drop_fault(double probability, std::uint64_t seed);
std::unique_ptr<PacketFault> duplicate_fault(double probability, std::uint64_t seed);
std::unique_ptr<PacketFault> delay_fault(boost::asio::io_context& io, std::chrono::milliseconds delay);
// Holds each packet until the next arrives and passes the two swapped.
std::unique_ptr<PacketFault> reorder_fault();

// An ordered chain of faults; a packet leaves through `deliver` at the end.
class FaultPipeline {
public:
    void add(std::unique_ptr<PacketFault> fault, bool data_only);
    bool empty() const { return stages_.empty(); }
    void clear() { stages_.clear(); }
    void run(Bytes packet, const PacketForward& deliver);
    // Packets its faults hold.
    std::size_t held() const;

private:
    struct Stage {
        std::shared_ptr<PacketFault> fault;
        bool data_only;
    };
    void run_from(std::size_t stage, Bytes packet, const PacketForward& deliver);
    std::vector<Stage> stages_;
    // A packet a fault holds (delay) outlives nothing: once the pipeline is
    // gone, what it held is dropped.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace rmtfs_hil::sim
