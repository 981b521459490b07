# Cross-building the board agent for aarch64 boards (Dragonboard 845c and
# others) with Debian's g++-aarch64-linux-gnu. Used by the "aarch64" preset.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# GCC 12 for aarch64 warns about std::string's own memcpy inlined into
# operator+ (-Wrestrict, GCC bug 105329): a false positive in the library's
# code, not ours.
set(CMAKE_CXX_FLAGS_INIT "-Wno-restrict")
