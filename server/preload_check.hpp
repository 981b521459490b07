// Whether the world's preload libraries (the shim, umockdev's) will load into
// a program. A program they cannot enter runs outside the world: against the
// machine's real QRTR, /dev/qcom_rmtfs_mem1, remoteproc and partitions — on a
// board, its irreplaceable EFS and its modem. So the harness checks before it
// starts one, and refuses: glibc's loader only warns and goes on when a
// preload library does not fit, and bionic's does the same.
#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>

namespace rmtfs_hil::server {

// ELF machine numbers (e_machine).
inline constexpr int elf_machine_x86_64 = 62;
inline constexpr int elf_machine_aarch64 = 183;

// What the loader needs to know of an ELF file.
struct ElfFacts {
    int elf_class = 0;  // 1: 32-bit, 2: 64-bit
    int machine = 0;    // e_machine
    std::optional<std::string> interpreter;  // PT_INTERP; none: statically linked
};

// The file's ELF facts, or why it is not an ELF file it can read.
std::optional<ElfFacts> read_elf(const std::filesystem::path& file, std::string* why = nullptr);

// "x86_64", "aarch64", or "machine N".
std::string machine_name(int machine);

// Nothing when `program` (a path) will load every library of `preloads`;
// otherwise why not, in words that say what would have happened. A script
// ("#!") is judged by its interpreter, which gets the libraries and passes
// them to what it runs.
std::optional<std::string> why_not_interposable(const std::filesystem::path& program,
                                                std::span<const std::filesystem::path> preloads);

}  // namespace rmtfs_hil::server
