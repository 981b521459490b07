// errno values by name and back ("EIO" <-> 5), for fault descriptions,
// scenario files and reports: the C library's own names (strerrorname_np).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rmtfs_hil {

// "EIO"; "errno 1234" for a number the C library has no name for.
std::string errno_name(int error_number);
// 5 for "EIO"; nullopt for a name the C library does not know.
std::optional<int> errno_named(std::string_view name);
// "Input/output error (EIO)"
std::string errno_text(int error_number);
// Every name the C library has, in errno order ("EPERM", "ENOENT", ...).
const std::vector<std::string>& errno_names();

}  // namespace rmtfs_hil
