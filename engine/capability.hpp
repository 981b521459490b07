// What a target (a world a scenario runs in) can do. Every step and fault
// says what it needs; before a scenario starts, the runner compares that
// with the target's capabilities, and a scenario that needs something the
// target lacks is skipped with the capability named: never half-run.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/names.hpp"

namespace rmtfs_hil::engine {

enum class Capability : std::uint8_t {
    daemon_control,          // start, stop, kill and restart the daemon; its exit, log and service
    daemon_upgrade,          // start another binary in the daemon's place
    simulated_modem,         // a simulated modem: boot, reads, writes, requests of any type
    hand_built_requests,     // raw QMI bytes from the modem's port
    modem_power,             // power a simulated modem's processor on and off by hand
    several_modems,          // more than one simulated remote processor
    coupling_policies,       // who starts the modem is the scenario's choice (rmtfs-sysfs, mem-open, service-watch)
    exact_faults,            // faults at the k-th request, after the k-th sector write, at a time, on an event
    storage_io_faults,       // the daemon's storage calls fail, stall or come up short
    memory_io_faults,        // the daemon's rmtfs_mem calls fail
    power_loss,              // power cut: storage loses what was not made durable
    link_faults,             // the modem's QRTR link: down, up, drop, delay, duplicate, reorder
    network_reset,           // ENETRESET on every bound socket
    userspace_name_service,  // no kernel name service; qrtr-ns started by a step
    remoteproc_control,      // writes to the remoteproc's state file, injected crashes
    storage_contents,        // the storage files the daemon writes, read back and judged
    storage_images,          // storage copied from a folder of board images
    board_efs,               // the board's own EFS partitions, read once per run (storage.board_efs)
    raw_partitions,          // the daemon on the EFS partitions as block devices (rmtfs -P)
    daemon_drives_modem,     // the daemon stops and starts the modem's remoteproc (rmtfs -s)
};

}  // namespace rmtfs_hil::engine

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::engine::Capability> {
    using C = rmtfs_hil::engine::Capability;
    static constexpr std::array entries{
        Named{C::daemon_control, "daemon_control"},
        Named{C::daemon_upgrade, "daemon_upgrade"},
        Named{C::simulated_modem, "simulated_modem"},
        Named{C::hand_built_requests, "hand_built_requests"},
        Named{C::modem_power, "modem_power"},
        Named{C::several_modems, "several_modems"},
        Named{C::coupling_policies, "coupling_policies"},
        Named{C::exact_faults, "exact_faults"},
        Named{C::storage_io_faults, "storage_io_faults"},
        Named{C::memory_io_faults, "memory_io_faults"},
        Named{C::power_loss, "power_loss"},
        Named{C::link_faults, "link_faults"},
        Named{C::network_reset, "network_reset"},
        Named{C::userspace_name_service, "userspace_name_service"},
        Named{C::remoteproc_control, "remoteproc_control"},
        Named{C::storage_contents, "storage_contents"},
        Named{C::storage_images, "storage_images"},
        Named{C::board_efs, "board_efs"},
        Named{C::raw_partitions, "raw_partitions"},
        Named{C::daemon_drives_modem, "daemon_drives_modem"},
    };
};

namespace rmtfs_hil::engine {

// A set of capabilities (small: one bit each).
class Capabilities {
public:
    Capabilities() = default;
    Capabilities(std::initializer_list<Capability> capabilities) {
        for (Capability c : capabilities) add(c);
    }
    static Capabilities all() {
        Capabilities set;
        for (Capability c : values_of<Capability>()) set.add(c);
        return set;
    }

    void add(Capability c) { bits_ |= bit(c); }
    void add(const Capabilities& other) { bits_ |= other.bits_; }
    void remove(Capability c) { bits_ &= ~bit(c); }
    bool contains(Capability c) const { return (bits_ & bit(c)) != 0; }
    bool empty() const { return bits_ == 0; }
    // What of `needed` this set lacks, in the table's order.
    std::vector<Capability> missing(const Capabilities& needed) const {
        std::vector<Capability> lacking;
        for (Capability c : values_of<Capability>())
            if (needed.contains(c) && !contains(c)) lacking.push_back(c);
        return lacking;
    }
    bool operator==(const Capabilities&) const = default;

private:
    static std::uint32_t bit(Capability c) { return std::uint32_t{1} << static_cast<unsigned>(c); }
    std::uint32_t bits_ = 0;
};

}  // namespace rmtfs_hil::engine

