// The board files of server/boards/, built into the program (the build
// generates their definition from the files: they stay the one place a
// board is described).
#pragma once

#include <span>
#include <string_view>

namespace rmtfs_hil::server {

struct BuiltinBoardFile {
    std::string_view name;  // "boards/sdm845.json"
    std::string_view text;
};

std::span<const BuiltinBoardFile> builtin_board_files();

}  // namespace rmtfs_hil::server
