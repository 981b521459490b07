// Each packet fault on its own and in a chain: what reaches the far end.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "proto/qrtr_control.hpp"
#include "proto/qrtr_packet.hpp"
#include "sim/link_faults.hpp"

namespace rmtfs_hil::sim {
namespace {

Bytes data_packet(std::uint8_t tag) {
    qrtr::Packet p;
    p.type = qrtr::PacketType::data;
    p.dst_node = 1;
    p.dst_port = 14;
    p.payload = {tag, tag, tag, tag};
    return qrtr::encode_v1(p);
}

Bytes hello_packet() {
    qrtr::Packet p;
    p.type = qrtr::PacketType::hello;
    p.src_port = qrtr::port_control;
    p.dst_port = qrtr::port_control;
    p.payload = qrtr::encode_control(qrtr::ControlMessage::bare(qrtr::PacketType::hello));
    return qrtr::encode_v1(p);
}

struct Sink {
    std::vector<Bytes> got;
    PacketForward forward() {
        return [this](Bytes b) { got.push_back(std::move(b)); };
    }
};

TEST(LinkFaults, DropEverythingButControlPackets) {
    FaultPipeline pipeline;
    pipeline.add(drop_fault(1.0, 1), true);
    Sink sink;
    pipeline.run(data_packet(1), sink.forward());
    pipeline.run(hello_packet(), sink.forward());
    ASSERT_EQ(sink.got.size(), 1u);
    EXPECT_EQ(sink.got[0], hello_packet()) << "data_only leaves control packets alone";
}

TEST(LinkFaults, DropWithProbabilityIsSeededAndRepeatable) {
    auto survivors = [](std::uint64_t seed) {
        FaultPipeline pipeline;
        pipeline.add(drop_fault(0.5, seed), true);
        Sink sink;
        for (int i = 0; i < 200; ++i) pipeline.run(data_packet(static_cast<std::uint8_t>(i)), sink.forward());
        return sink.got;
    };
    auto first = survivors(42);
    EXPECT_EQ(first, survivors(42)) << "same seed, same packets lost";
    EXPECT_GT(first.size(), 50u);
    EXPECT_LT(first.size(), 150u);
}

TEST(LinkFaults, DuplicateAndReorder) {
    FaultPipeline pipeline;
    pipeline.add(duplicate_fault(1.0, 1), true);
    pipeline.add(reorder_fault(), true);
    Sink sink;
    pipeline.run(data_packet(1), sink.forward());
    ASSERT_EQ(sink.got.size(), 2u) << "the copy overtakes nothing: it was held, then released swapped";
    pipeline.run(data_packet(2), sink.forward());
    ASSERT_EQ(sink.got.size(), 4u);
    EXPECT_EQ(sink.got[2], data_packet(2));
    EXPECT_EQ(sink.got[3], data_packet(2));
}

TEST(LinkFaults, DelayHandsThePacketOnLaterAndNothingAfterThePipelineIsGone) {
    boost::asio::io_context io;
    Sink sink;
    {
        FaultPipeline pipeline;
        pipeline.add(delay_fault(io, std::chrono::milliseconds(5)), true);
        pipeline.run(data_packet(7), sink.forward());
        EXPECT_TRUE(sink.got.empty()) << "not yet";
        io.run_one();
        ASSERT_EQ(sink.got.size(), 1u);
        pipeline.run(data_packet(8), sink.forward());
    }
    io.run();
    EXPECT_EQ(sink.got.size(), 1u) << "a packet held by a destroyed pipeline is dropped";
}

}  // namespace
}  // namespace rmtfs_hil::sim
