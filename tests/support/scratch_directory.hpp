// A directory a test owns, removed when the test ends.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace rmtfs_hil::testing {

struct ScratchDirectory {
    std::filesystem::path path;
    ScratchDirectory() {
        std::string pattern = (std::filesystem::temp_directory_path() / "rmtfs-hil-test-XXXXXX").string();
        path = ::mkdtemp(pattern.data());
    }
    ~ScratchDirectory() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
    ScratchDirectory(const ScratchDirectory&) = delete;
    ScratchDirectory& operator=(const ScratchDirectory&) = delete;
};

}  // namespace rmtfs_hil::testing
