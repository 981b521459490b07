#include "engine/wording.hpp"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace rmtfs_hil::engine::wording {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

bool contains(const Names& names, std::string_view name) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

// Optimal string alignment distance: insertions, deletions, substitutions and
// swaps of neighbours each cost 1.
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i)
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    return d[a.size()][b.size()];
}

// The closest candidate when it is close (case does not count): "sever" -> "server".
std::optional<std::string> suggestion(std::string_view given, const Names& candidates) {
    if (given.size() > 64) return std::nullopt;  // nobody misspells at that length; keeps the cost bounded
    std::string wanted = lower(given);
    std::optional<std::string> best;
    std::size_t best_distance = std::numeric_limits<std::size_t>::max();
    for (const std::string& candidate : candidates) {
        std::size_t distance = edit_distance(wanted, lower(candidate));
        std::size_t limit = std::clamp<std::size_t>(std::max(wanted.size(), candidate.size()) / 3, 1, 3);
        if (distance <= limit && distance < best_distance && !(distance == 0 && candidate == given)) {
            best = candidate;
            best_distance = distance;
        }
    }
    return best;
}

// A name from a file, for a message: single quotes, control characters
// escaped, long ones cut (at a UTF-8 character boundary).
std::string shell_quote(std::string_view argument) {
    auto safe = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("_-./:=@%+,").find(c) != std::string_view::npos;
    };
    if (!argument.empty() && std::all_of(argument.begin(), argument.end(), safe)) return std::string(argument);
    std::string out = "'";
    for (char c : argument) {
        if (c == '\'') out += "'\\''";
        else out.push_back(c);
    }
    return out + "'";
}

std::string in_quotes(std::string_view text) {
    constexpr std::size_t max_bytes = 60;
    std::string out = "'";
    std::size_t i = 0;
    for (; i < text.size() && i < max_bytes; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c < 0x20 || c == 0x7F) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out.push_back(static_cast<char>(c));
        }
    }
    if (i < text.size()) {
        while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
        if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
        out += "...";
    }
    return out + "'";
}

// "'a', 'b' or 'c'"
std::string alternatives(const Names& names, std::string_view conjunction) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) out += i + 1 == names.size() ? " " + std::string(conjunction) + " " : ", ";
        out += "'" + names[i] + "'";
    }
    return out;
}

std::string unknown_name(std::string_view noun, std::string_view given, const Names& allowed) {
    std::string message = "unknown " + std::string(noun) + " " + in_quotes(given);
    if (auto close = suggestion(given, allowed)) return message + "; did you mean '" + *close + "'?";
    if (allowed.size() <= 12) return message + " (expected " + alternatives(allowed) + ")";
    return message;
}

}  // namespace rmtfs_hil::engine::wording
