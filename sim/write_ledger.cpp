#include "sim/write_ledger.hpp"

#include <algorithm>

#include "proto/contract.hpp"

namespace rmtfs_hil::sim {

namespace {

constexpr std::size_t excerpt_bytes = 8;

// Where `got` first differs from `want`, for when their excerpts look alike.
std::string first_difference(ByteView got, ByteView want, const std::string& whose) {
    std::size_t at = 0;
    while (at < got.size() && at < want.size() && got[at] == want[at]) ++at;
    if (at < excerpt_bytes || at >= got.size() || at >= want.size()) return "";
    return ", first different at byte " + std::to_string(at) + " (" + hex_dump(got.subspan(at, 1)) + " where " + whose +
           " has " + hex_dump(want.subspan(at, 1)) + ")";
}

std::string excerpt(ByteView bytes) {
    std::string text = hex_dump(bytes.first(std::min(bytes.size(), excerpt_bytes)));
    if (bytes.size() > excerpt_bytes) text += " ...";
    return text;
}

}  // namespace

std::string LedgerViolation::describe() const {
    std::string sectors = sector_count == 1 ? "sector " + std::to_string(first_sector)
                                            : "sectors " + std::to_string(first_sector) + "-" +
                                                  std::to_string(first_sector + sector_count - 1);
    return partition + " " + sectors + ": " + std::string(name_of(kind)) + ": expected " + expected + ", found " + actual;
}

std::string describe(const std::vector<LedgerViolation>& violations, std::size_t shown) {
    std::string text;
    for (std::size_t i = 0; i < violations.size() && i < shown; ++i) text += (i ? "; " : "") + violations[i].describe();
    if (violations.size() > shown) text += "; and " + std::to_string(violations.size() - shown) + " more";
    return text;
}

void WriteLedger::set_initial(const std::string& partition, const Bytes& image) { initial_[partition] = image; }

WriteId WriteLedger::invoked(const std::string& partition, std::uint32_t first_sector, const Bytes& data) {
    RMTFS_HIL_ASSERT(!data.empty() && data.size() % sector_bytes == 0, "writes are whole sectors");
    writes_.push_back(Write{partition, first_sector, data, WriteOutcome::pending});
    return writes_.size() - 1;
}

void WriteLedger::resolved(WriteId id, WriteOutcome outcome) {
    RMTFS_HIL_ASSERT(id < writes_.size(), "resolving a write the ledger never saw");
    RMTFS_HIL_ASSERT(outcome != WriteOutcome::pending, "a write resolves to ok, failed or unknown");
    RMTFS_HIL_ASSERT(writes_[id].outcome == WriteOutcome::pending, "a write resolves once");
    writes_[id].outcome = outcome;
    apply(id);
    const Write& w = writes_[id];
    auto image = initial_.find(w.partition);
    if (outcome != WriteOutcome::ok || image == initial_.end()) return;
    auto end_sector = static_cast<std::uint64_t>(image->second.size() / sector_bytes);
    std::uint64_t sectors = w.data.size() / sector_bytes;
    if (w.first_sector + sectors <= end_sector) return;
    auto first_past = static_cast<std::uint32_t>(std::max<std::uint64_t>(w.first_sector, end_sector));
    past_end_.push_back(LedgerViolation{w.partition, first_past,
                                        static_cast<std::uint32_t>(w.first_sector + sectors - first_past),
                                        ViolationKind::write_past_end,
                                        "a refusal: the partition ends at sector " + std::to_string(end_sector),
                                        "write #" + std::to_string(id) + " acknowledged"});
}

void WriteLedger::resolve_pending_as_unknown() {
    for (WriteId id = 0; id < writes_.size(); ++id)
        if (writes_[id].outcome == WriteOutcome::pending) resolved(id, WriteOutcome::unknown);
}

std::size_t WriteLedger::count(WriteOutcome outcome) const {
    return static_cast<std::size_t>(
        std::count_if(writes_.begin(), writes_.end(), [&](const Write& w) { return w.outcome == outcome; }));
}

void WriteLedger::apply(WriteId id) {
    const Write& write = writes_[id];
    auto& sectors = sectors_[write.partition];
    const auto count = static_cast<std::uint32_t>(write.data.size() / sector_bytes);
    for (std::uint32_t i = 0; i < count; ++i) {
        auto [it, fresh] = sectors.try_emplace(write.first_sector + i);
        if (fresh) it->second.allowed.push_back(std::nullopt);  // the image, until written
        if (write.outcome == WriteOutcome::ok) it->second.allowed.assign(1, id);
        else it->second.allowed.push_back(id);
    }
}

ByteView WriteLedger::content(const std::string& partition, std::uint32_t sector,
                              const std::optional<WriteId>& source) const {
    if (source) {
        const Write& w = writes_[*source];
        return ByteView(w.data).subspan(static_cast<std::size_t>(sector - w.first_sector) * sector_bytes, sector_bytes);
    }
    static const Bytes zeros(sector_bytes, 0);
    auto it = initial_.find(partition);
    std::size_t offset = static_cast<std::size_t>(sector) * sector_bytes;
    if (it == initial_.end() || offset + sector_bytes > it->second.size()) return zeros;  // unwritten: zeros
    return ByteView(it->second).subspan(offset, sector_bytes);
}

bool WriteLedger::beyond_image(const std::string& partition, std::uint32_t sector) const {
    auto it = initial_.find(partition);
    return it != initial_.end() && static_cast<std::size_t>(sector) * sector_bytes >= it->second.size();
}

std::string WriteLedger::name_of(const std::optional<WriteId>& source) const {
    if (!source) return "the initial image";
    return "write #" + std::to_string(*source) + " (" + std::string(to_string(writes_[*source].outcome)) + ")";
}

std::optional<LedgerViolation> WriteLedger::read_returned(const std::string& partition, std::uint32_t first_sector,
                                                          const Bytes& data) const {
    const auto count = static_cast<std::uint32_t>(data.size() / sector_bytes);
    auto partition_sectors = sectors_.find(partition);
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint32_t sector = first_sector + i;
        ByteView got = ByteView(data).subspan(static_cast<std::size_t>(i) * sector_bytes, sector_bytes);
        std::vector<std::optional<WriteId>> allowed{std::nullopt};
        if (partition_sectors != sectors_.end())
            if (auto s = partition_sectors->second.find(sector); s != partition_sectors->second.end()) allowed = s->second.allowed;
        bool fine = std::any_of(allowed.begin(), allowed.end(), [&](const auto& source) {
            ByteView want = content(partition, sector, source);
            return std::equal(want.begin(), want.end(), got.begin(), got.end());
        });
        if (!fine)
            return LedgerViolation{partition, sector, 1, ViolationKind::read_mismatch,
                                   name_of(allowed.back()) + " (" + excerpt(content(partition, sector, allowed.back())) + ")",
                                   excerpt(got) + first_difference(got, content(partition, sector, allowed.back()),
                                                                   name_of(allowed.back()))};
    }
    return std::nullopt;
}

std::vector<LedgerViolation> WriteLedger::check(const std::string& partition, const Bytes& storage) const {
    std::vector<LedgerViolation> violations;
    for (const LedgerViolation& v : past_end_)
        if (v.partition == partition) violations.push_back(v);
    auto partition_sectors = sectors_.find(partition);
    if (partition_sectors == sectors_.end()) return violations;
    for (const auto& [sector, state] : partition_sectors->second) {
        std::size_t offset = static_cast<std::size_t>(sector) * sector_bytes;
        static const Bytes missing;
        ByteView got = offset + sector_bytes <= storage.size() ? ByteView(storage).subspan(offset, sector_bytes)
                                                                : ByteView(missing);
        // Past the file's end: fine while nothing there had to be stored
        // (the partition never held it, or a refused write was not).
        bool beyond = got.empty() && std::find(state.allowed.begin(), state.allowed.end(), std::nullopt) != state.allowed.end() &&
                      beyond_image(partition, sector);
        bool fine = beyond || std::any_of(state.allowed.begin(), state.allowed.end(), [&, sector = sector](const auto& source) {
            ByteView want = content(partition, sector, source);
            return std::equal(want.begin(), want.end(), got.begin(), got.end());
        });
        if (fine) continue;
        const std::optional<WriteId>& latest = state.allowed.back();
        ViolationKind kind;
        if (state.allowed.size() == 1 && latest && writes_[*latest].outcome == WriteOutcome::ok) {
            kind = ViolationKind::acknowledged_write_lost;
        } else {
            // Torn: some bytes from one allowed content, some from another.
            bool torn = false;
            for (const auto& a : state.allowed)
                for (const auto& b : state.allowed) {
                    if (a == b || got.size() != sector_bytes) continue;
                    ByteView x = content(partition, sector, a), y = content(partition, sector, b);
                    bool mix = true;
                    for (std::size_t i = 0; i < sector_bytes && mix; ++i) mix = got[i] == x[i] || got[i] == y[i];
                    torn |= mix;
                }
            kind = torn ? ViolationKind::torn_sector : ViolationKind::unexpected_data;
        }
        std::string expected;
        for (const auto& source : state.allowed)
            expected += (expected.empty() ? "" : " or ") + name_of(source) + " (" + excerpt(content(partition, sector, source)) + ")";
        std::string actual = got.empty() ? "nothing (the file is shorter)" : excerpt(got);
        if (kind != ViolationKind::torn_sector && !got.empty())
            actual += first_difference(got, content(partition, sector, latest), name_of(latest));
        if (kind == ViolationKind::torn_sector) {
            // Where the newest allowed content stops matching: the tear.
            ByteView newest = content(partition, sector, latest);
            std::size_t tear = 0;
            while (tear < sector_bytes && got[tear] == newest[tear]) ++tear;
            actual += ", " + (tear == 0 ? std::string("unlike ") + name_of(latest) + " from its first byte"
                                        : "like " + name_of(latest) + " for " + std::to_string(tear) + " bytes, then not");
        }
        if (!violations.empty()) {
            LedgerViolation& last = violations.back();
            if (last.kind == kind && last.first_sector + last.sector_count == sector) {  // one run; the first sector speaks for it
                ++last.sector_count;
                continue;
            }
        }
        violations.push_back(LedgerViolation{partition, sector, 1, kind, expected, actual});
    }
    return violations;
}

}  // namespace rmtfs_hil::sim
