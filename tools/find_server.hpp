// The daemon under test, as --server names it or found on PATH.
#pragma once

#include <string>

namespace rmtfs_hil::cli {

// `given` checked (an EnvironmentError says what is wrong with it), else
// rmtfs from PATH, else /usr/bin/rmtfs; an EnvironmentError when none is.
std::string find_server(const std::string& given);

}  // namespace rmtfs_hil::cli
