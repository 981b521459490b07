#include "engine/report_format.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>

#include "sim/coupling.hpp"

namespace rmtfs_hil::engine {

namespace {

// Appends code point cp (valid, not a surrogate) as UTF-8.
void append_utf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

constexpr char32_t replacement_character = 0xFFFD;

// Decodes one code point at text[i]; advances i. Invalid sequences (overlong,
// surrogates, out of range, truncated) yield U+FFFD and skip one byte.
char32_t next_code_point(std::string_view text, std::size_t& i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char b0 = byte(i);
    if (b0 < 0x80) {
        ++i;
        return b0;
    }
    std::size_t length = 0;
    char32_t cp = 0;
    char32_t minimum = 0;
    if ((b0 & 0xE0) == 0xC0) {
        length = 2, cp = b0 & 0x1Fu, minimum = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
        length = 3, cp = b0 & 0x0Fu, minimum = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
        length = 4, cp = b0 & 0x07u, minimum = 0x10000;
    } else {
        ++i;
        return replacement_character;
    }
    if (i + length > text.size()) {
        ++i;
        return replacement_character;
    }
    for (std::size_t k = 1; k < length; ++k) {
        const unsigned char b = byte(i + k);
        if ((b & 0xC0) != 0x80) {
            ++i;
            return replacement_character;
        }
        cp = (cp << 6) | (b & 0x3Fu);
    }
    if (cp < minimum || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        ++i;
        return replacement_character;
    }
    i += length;
    return cp;
}

// Control Pictures: U+2400 + c for C0, U+2421 for DEL.
char32_t control_picture(char32_t c) { return c == 0x7F ? char32_t{0x2421} : char32_t{0x2400} + c; }

template <typename Visit>
void for_each_code_point(std::string_view text, Visit visit) {
    std::size_t i = 0;
    while (i < text.size()) visit(next_code_point(text, i));
}

}  // namespace

std::string sanitize_text(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for_each_code_point(text, [&](char32_t cp) {
        if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F)
            append_utf8(out, control_picture(cp));
        else if (cp == 0xFFFE || cp == 0xFFFF)
            append_utf8(out, replacement_character);
        else
            append_utf8(out, cp);
    });
    return out;
}

namespace {

std::string escape_impl(std::string_view text, bool attribute) {
    const std::string clean = sanitize_text(text);
    std::string out;
    out.reserve(clean.size() + clean.size() / 8);
    for (char c : clean) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            case '\t': out += attribute ? "&#9;" : "\t"; break;
            case '\n': out += attribute ? "&#10;" : "\n"; break;
            case '\r': out += "&#13;"; break;  // a raw CR would be normalised away
            default: out += c;
        }
    }
    return out;
}

}  // namespace

std::string escape_xml(std::string_view text) { return escape_impl(text, false); }
std::string escape_xml_attribute(std::string_view text) { return escape_impl(text, true); }

std::string sanitize_line(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for_each_code_point(text, [&](char32_t cp) {
        if (cp == '\t')
            out += ' ';
        else if (cp == '\n')
            append_utf8(out, 0x2424);  // ␤
        else if (cp < 0x20 || cp == 0x7F)
            append_utf8(out, control_picture(cp));
        else if (cp >= 0x80 && cp < 0xA0)  // C1 controls: terminals act on them too
            append_utf8(out, replacement_character);
        else if (cp == 0xFFFE || cp == 0xFFFF)
            append_utf8(out, replacement_character);
        else
            append_utf8(out, cp);
    });
    return out;
}

namespace report_detail {

std::string fixed(double value, int decimals) {
    if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value < 0 ? "-inf" : "inf");
    std::array<char, 64> buffer{};
    auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value, std::chars_format::fixed,
                                      decimals);
    if (error != std::errc{}) return "?";
    return std::string(buffer.data(), end);
}

std::string format_ms(double ms) {
    if (!std::isfinite(ms)) return fixed(ms, 0);
    const double magnitude = std::fabs(ms);
    if (magnitude < 10) return fixed(ms, 1) + " ms";
    if (magnitude < 1000) return fixed(ms, 0) + " ms";
    if (magnitude < 600000) return fixed(ms / 1000, 2) + " s";
    return fixed(ms / 60000, 1) + " min";
}

std::string seconds(double ms) { return fixed(std::isfinite(ms) ? ms / 1000 : 0.0, 3); }

std::string truncate(std::string_view text, std::size_t max_chars) {
    std::size_t i = 0;
    std::size_t count = 0;
    while (i < text.size()) {
        if (count == max_chars) {
            if (max_chars == 0) return "";
            // Cut one earlier to make room for the ellipsis.
            std::string out;
            std::size_t j = 0;
            for (std::size_t k = 0; k + 1 < max_chars; ++k) next_code_point(text, j);
            out.assign(text.substr(0, j));
            out += "\u2026";
            return out;
        }
        next_code_point(text, i);
        ++count;
    }
    return std::string(text);
}

std::size_t display_width(std::string_view text) {
    std::size_t count = 0;
    for_each_code_point(text, [&](char32_t) { ++count; });
    return count;
}

std::string_view verdict_class(const ScenarioResult& s) { return name_of(s.verdict); }

bool is_failure(const ScenarioResult& s) { return s.verdict == Verdict::fail || s.verdict == Verdict::error; }

bool is_unexpected(const ScenarioResult& s) { return is_failure(s) && s.known_status != KnownStatus::known; }

std::string verdict_label(const ScenarioResult& s) {
    std::string label;
    switch (s.verdict) {
        case Verdict::pass: label = "pass"; break;
        case Verdict::fail: label = "FAIL"; break;
        case Verdict::skip: label = "skip"; break;
        case Verdict::error: label = "ERROR"; break;
    }
    if (s.known_status != KnownStatus::none) label += " (" + std::string(name_of(s.known_status)) + ")";
    return label;
}

// ---- the matrix ------------------------------------------------------------------------

bool Matrix::sparse() const {
    const std::size_t grid = couplings.size() * fault_keys.size();
    if (fault_keys.size() > 6) return true;
    return grid > 4 && filled * 2 < grid;
}

std::string fault_key(const ScenarioResult& s) {
    std::set<std::string> kinds;
    for (const auto& f : s.faults)
        if (!f.empty()) kinds.insert(f);
    if (kinds.empty()) return "none";
    std::string key;
    for (const auto& k : kinds) {
        if (!key.empty()) key += '+';
        key += k;
    }
    return key;
}

namespace {

// Known policies in their table's (documented) order, others after them alphabetically.
int coupling_rank(const std::string& c) {
    constexpr auto known = values_of<sim::CouplingPolicy>();
    for (std::size_t i = 0; i < known.size(); ++i)
        if (c == name_of(known[i])) return static_cast<int>(i);
    return static_cast<int>(known.size());
}

}  // namespace

Matrix build_matrix(const RunReport& report) {
    Matrix m;
    std::set<std::string> couplings, keys;
    for (const auto& s : report.scenarios) {
        if (s.verdict == Verdict::skip) continue;
        couplings.insert(s.coupling.empty() ? "-" : s.coupling);
        keys.insert(fault_key(s));
    }
    m.couplings.assign(couplings.begin(), couplings.end());
    std::stable_sort(m.couplings.begin(), m.couplings.end(),
                     [](const std::string& a, const std::string& b) { return coupling_rank(a) < coupling_rank(b); });
    m.fault_keys.assign(keys.begin(), keys.end());
    std::stable_partition(m.fault_keys.begin(), m.fault_keys.end(), [](const std::string& k) { return k == "none"; });
    m.cells.assign(m.couplings.size(), std::vector<MatrixCell>(m.fault_keys.size()));
    for (const auto& s : report.scenarios) {
        if (s.verdict == Verdict::skip) continue;
        const std::string coupling = s.coupling.empty() ? "-" : s.coupling;
        const auto row = static_cast<std::size_t>(
            std::find(m.couplings.begin(), m.couplings.end(), coupling) - m.couplings.begin());
        const auto column = static_cast<std::size_t>(
            std::find(m.fault_keys.begin(), m.fault_keys.end(), fault_key(s)) - m.fault_keys.begin());
        MatrixCell& cell = m.cells[row][column];
        if (cell.scenarios.empty()) ++m.filled;
        cell.scenarios.push_back(&s);
        if (s.modem_up_at_end) ++cell.up;
        else ++cell.never_recovered;
        if (s.data_lost) ++cell.lost;
        if (s.recovery_ms && (!cell.worst_recovery_ms || *s.recovery_ms > *cell.worst_recovery_ms))
            cell.worst_recovery_ms = s.recovery_ms;
    }
    return m;
}

std::string describe_cell(const MatrixCell& cell) {
    const std::size_t n = cell.scenarios.size();
    if (n == 0) return "";
    std::string recovery;
    if (cell.worst_recovery_ms) recovery = format_ms(*cell.worst_recovery_ms);
    else recovery = cell.up == n ? "-" : "never";
    if (n == 1) {
        return std::string(cell.up ? "up" : "DOWN") + ", " + (cell.lost ? "LOST" : "kept") + ", " + recovery;
    }
    const std::string of = "/" + std::to_string(n);
    return "up " + std::to_string(cell.up) + of + ", " + (cell.lost ? "LOST " : "lost ") + std::to_string(cell.lost) +
           of + ", " + (cell.worst_recovery_ms ? "\u2264" + recovery : recovery);
}

}  // namespace report_detail
}  // namespace rmtfs_hil::engine
