// The write ledger: what the modem asked the daemon to store and what it was
// told, and the check of storage against it after recovery. Per sector it
// keeps the set of contents a correct server may have left there:
//   * an acknowledged write (ok) replaces the set with its data;
//   * a write whose fate is unknown (no answer: the daemon died) or that was
//     refused (it may have written part of it) adds its data to the set;
//   * a successful read must have returned a member of the set.
// A sector on storage that is in no set is a violation: a lost acknowledged
// write, a torn sector, or data nobody wrote. A partition is as long as its
// initial image: past its end a read must return zeros (what a block device
// gives, padded), and a write the daemon acknowledges there is a violation of
// its own (a board's partition cannot hold it, whatever a file would do).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/bytes.hpp"
#include "proto/names.hpp"
#include "proto/rmtfs.hpp"

namespace rmtfs_hil::sim {

using WriteId = std::uint64_t;

enum class WriteOutcome { pending, ok, failed, unknown };

// What storage or a read showed that the ledger does not allow. The names
// appear in failure reasons (and known issues match them).
enum class ViolationKind {
    acknowledged_write_lost,  // storage lacks a write the daemon acknowledged
    torn_sector,              // some bytes from one allowed content, some from another
    unexpected_data,          // storage holds what was never allowed there
    read_mismatch,            // a read returned what storage never held
    write_past_end,           // an acknowledged write reaches past the partition's end
};
}  // namespace rmtfs_hil::sim

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::sim::ViolationKind> {
    using V = rmtfs_hil::sim::ViolationKind;
    static constexpr std::array entries{Named{V::acknowledged_write_lost, "acknowledged write lost"},
                                        Named{V::torn_sector, "torn sector"},
                                        Named{V::unexpected_data, "unexpected data"},
                                        Named{V::read_mismatch, "read mismatch"},
                                        Named{V::write_past_end, "acknowledged write past the partition's end"}};
};

template <>
struct rmtfs_hil::NameTable<rmtfs_hil::sim::WriteOutcome> {
    using O = rmtfs_hil::sim::WriteOutcome;
    static constexpr std::array entries{Named{O::pending, "pending"}, Named{O::ok, "ok"}, Named{O::failed, "failed"},
                                        Named{O::unknown, "unknown"}};
};

namespace rmtfs_hil::sim {
inline std::string_view to_string(WriteOutcome outcome) { return name_of(outcome); }

struct LedgerViolation {
    std::string partition;
    std::uint32_t first_sector = 0;
    std::uint32_t sector_count = 0;
    ViolationKind kind = ViolationKind::unexpected_data;
    std::string expected;     // what was allowed, shortly ("write #3 (bytes 77 77 ...) or the image (00 00 ...)")
    std::string actual;       // the bytes found, shortly
    std::string describe() const;
};
// The first `shown` described, "; "-separated, then "and N more".
std::string describe(const std::vector<LedgerViolation>& violations, std::size_t shown = 5);

class WriteLedger {
public:
    // The contents a partition starts with (its image before the run).
    void set_initial(const std::string& partition, const Bytes& image);

    // A write the modem sent: whole sectors from `first_sector`.
    WriteId invoked(const std::string& partition, std::uint32_t first_sector, const Bytes& data);
    // Its answer: ok, failed (refused or malformed answer), or unknown.
    void resolved(WriteId write, WriteOutcome outcome);
    // Every write still pending becomes unknown (the daemon died with them).
    void resolve_pending_as_unknown();

    // A read the daemon acknowledged; checked against what may be there.
    std::optional<LedgerViolation> read_returned(const std::string& partition, std::uint32_t first_sector,
                                                 const Bytes& data) const;

    // Storage after recovery against the ledger: one violation per run of
    // sectors of the same kind.
    std::vector<LedgerViolation> check(const std::string& partition, const Bytes& storage) const;

    std::size_t writes() const { return writes_.size(); }
    WriteOutcome outcome(WriteId write) const { return writes_.at(write).outcome; }
    std::size_t count(WriteOutcome outcome) const;

private:
    struct Write {
        std::string partition;
        std::uint32_t first_sector;
        Bytes data;
        WriteOutcome outcome = WriteOutcome::pending;
    };
    // The contents a sector may hold: indices into writes_, or the initial image (no_write).
    struct SectorState {
        std::vector<std::optional<WriteId>> allowed;
    };
    static constexpr std::size_t sector_bytes = rmtfs::sector_size_bytes;

    void apply(WriteId id);
    ByteView content(const std::string& partition, std::uint32_t sector, const std::optional<WriteId>& source) const;
    std::string name_of(const std::optional<WriteId>& source) const;
    bool beyond_image(const std::string& partition, std::uint32_t sector) const;

    std::map<std::string, Bytes> initial_;
    std::vector<Write> writes_;
    std::vector<LedgerViolation> past_end_;  // acknowledged writes past a partition's end
    std::map<std::string, std::map<std::uint32_t, SectorState>> sectors_;
};

}  // namespace rmtfs_hil::sim
