#include "tools/find_server.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <vector>

#include "server/preload_check.hpp"
#include "server/sandbox.hpp"
#include "server/world.hpp"
#include "tools/cli.hpp"

namespace rmtfs_hil::cli {

namespace fs = std::filesystem;

std::string find_server(const std::string& given) {
    if (!given.empty()) {
        if (!fs::exists(given)) throw cli::EnvironmentError("--server " + given + ": no such file");
        if (!fs::is_regular_file(given)) throw cli::EnvironmentError("--server " + given + ": not a file");
        if (::access(given.c_str(), X_OK) != 0) throw cli::EnvironmentError("--server " + given + ": not executable");
        return fs::absolute(given).string();
    }
    if (const char* path = std::getenv("PATH")) {
        std::string dirs = path;
        for (std::size_t start = 0; start <= dirs.size();) {
            std::size_t end = dirs.find(':', start);
            if (end == std::string::npos) end = dirs.size();
            fs::path dir = dirs.substr(start, end - start);
            fs::path candidate = fs::absolute(dir.empty() ? fs::path(".") : dir) / "rmtfs";
            std::error_code error;
            if (fs::is_regular_file(candidate, error) && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
            start = end + 1;
        }
    }
    if (::access("/usr/bin/rmtfs", X_OK) == 0) return "/usr/bin/rmtfs";
    throw cli::EnvironmentError("no rmtfs daemon found: install Debian's rmtfs (ci/setup.sh does) or give --server PATH");
}

std::optional<std::string> server_outside_world(const std::string& server) {
    std::vector<fs::path> preloads{server::find_shim_library(), server::find_umockdev_preload()};
    for (const fs::path& library : preloads)
        if (library.empty()) return std::nullopt;
    return server::why_not_interposable(server, preloads);
}

void require_server_in_world(const std::string& server) {
    if (auto why = server_outside_world(server))
        throw cli::EnvironmentError("the daemon cannot run inside the emulated world, so no scenario is started: " + *why);
}

}  // namespace rmtfs_hil::cli
