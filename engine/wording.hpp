// How the scenario loader words what it finds wrong: names quoted safely,
// lists of alternatives, and "did you mean" suggestions for near misses.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rmtfs_hil::engine::wording {

using Names = std::vector<std::string>;

bool contains(const Names& names, std::string_view name);
// Optimal string alignment distance (insertions, deletions, substitutions,
// swaps of neighbours).
std::size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate when it is close (case does not count): "sever" -> "server".
std::optional<std::string> suggestion(std::string_view given, const Names& candidates);
// A name from a file, for a message: single quotes, control characters
// escaped, long ones cut at a UTF-8 character boundary.
std::string in_quotes(std::string_view text);
// One argument for a POSIX shell: as it is when it is only safe characters,
// otherwise in single quotes ('it'\''s').
std::string shell_quote(std::string_view argument);
// "'a', 'b' or 'c'"
std::string alternatives(const Names& names, std::string_view conjunction = "or");
// "unknown NOUN 'x'; did you mean 'y'?" or "... (expected 'a', 'b' or 'c')".
std::string unknown_name(std::string_view noun, std::string_view given, const Names& allowed);

}  // namespace rmtfs_hil::engine::wording
