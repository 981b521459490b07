// The daemon under test, as --server names it or found on PATH.
#pragma once

#include <optional>
#include <string>

namespace rmtfs_hil::cli {

// `given` checked (an EnvironmentError says what is wrong with it), else
// rmtfs from PATH, else /usr/bin/rmtfs; an EnvironmentError when none is.
std::string find_server(const std::string& given);

// Why the world's preload libraries (the shim, umockdev's) cannot enter
// `server` (server/preload_check.hpp), when they are found and cannot;
// nothing otherwise (a missing library is reported where the world is made).
std::optional<std::string> server_outside_world(const std::string& server);

// An EnvironmentError naming the daemon and why, when server_outside_world says so.
void require_server_in_world(const std::string& server);

}  // namespace rmtfs_hil::cli
