# Writes OUTPUT, a C++ source defining builtin_board_files() (server/builtin_boards.hpp)
# from the board files in FILES (a ;-list). Run by the build whenever one changes.
set(entries "")
foreach(file IN LISTS FILES)
  file(READ "${file}" text)
  string(FIND "${text}" ")board\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${file} holds the sequence )board\" that ends the embedded text")
  endif()
  get_filename_component(name "${file}" NAME)
  string(APPEND entries "    {\"boards/${name}\", R\"board(${text})board\"},\n")
endforeach()
file(WRITE "${OUTPUT}.new" "// Generated from server/boards/*.json by server/boards/embed.cmake: edit those.
#include \"server/builtin_boards.hpp\"

namespace rmtfs_hil::server {

namespace {
const BuiltinBoardFile files[] = {
${entries}};
}  // namespace

std::span<const BuiltinBoardFile> builtin_board_files() { return files; }

}  // namespace rmtfs_hil::server
")
file(COPY_FILE "${OUTPUT}.new" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.new")
