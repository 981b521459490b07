#include "server/preload_check.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

namespace rmtfs_hil::server {

namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t pt_interp = 3;
// A "#!" line names an interpreter; one that is itself a script is followed this far.
constexpr int max_script_depth = 4;

std::uint64_t read_word(const unsigned char* at, std::size_t bytes, bool little) {
    std::uint64_t value = 0;
    for (std::size_t i = 0; i < bytes; ++i) value |= std::uint64_t{at[little ? i : bytes - 1 - i]} << (8 * i);
    return value;
}

bool is_bionic(const std::string& interpreter) { return interpreter.find("/system/bin/linker") != std::string::npos; }

std::optional<std::string> judge(const fs::path& program, std::span<const fs::path> preloads, int depth) {
    std::ifstream in(program, std::ios::binary);
    if (!in) return program.string() + " cannot be read";
    char start[2] = {};
    in.read(start, 2);
    if (in.gcount() == 2 && start[0] == '#' && start[1] == '!') {
        std::string line;
        std::getline(in, line);
        std::size_t begin = line.find_first_not_of(" \t");
        if (begin == std::string::npos) return program.string() + " is a script that names no interpreter";
        std::string interpreter = line.substr(begin, line.find_first_of(" \t\r", begin) - begin);
        if (depth >= max_script_depth) return program.string() + ": scripts run scripts too deep to judge";
        if (auto why = judge(interpreter, preloads, depth + 1)) return program.string() + ", a script: " + *why;
        return std::nullopt;
    }
    std::string why;
    auto facts = read_elf(program, &why);
    if (!facts) return program.string() + ": " + why;
    if (!facts->interpreter)
        return program.string() +
               " is statically linked: no preload library can enter it, so it would act on this machine's real "
               "devices (QRTR, /dev/qcom_rmtfs_mem1, remoteproc, partitions) instead of the world's";
    if (is_bionic(*facts->interpreter))
        return program.string() + " is linked against Android's bionic (its loader is " + *facts->interpreter +
               "): the world's preload libraries are glibc's and cannot enter it, so it would act on this machine's "
               "real devices instead of the world's";
    for (const fs::path& library : preloads) {
        std::string library_why;
        auto lib = read_elf(library, &library_why);
        if (!lib) return "the preload library " + library.string() + ": " + library_why;
        if (lib->machine != facts->machine || lib->elf_class != facts->elf_class)
            return "the preload library " + library.string() + " is built for " + machine_name(lib->machine) +
                   " and " + program.string() + " for " + machine_name(facts->machine) +
                   ": the loader would skip it and the program would act on this machine's real devices";
    }
    return std::nullopt;
}

}  // namespace

std::string machine_name(int machine) {
    if (machine == elf_machine_x86_64) return "x86_64";
    if (machine == elf_machine_aarch64) return "aarch64";
    return "machine " + std::to_string(machine);
}

std::optional<ElfFacts> read_elf(const fs::path& file, std::string* why) {
    auto fail = [&](std::string text) -> std::optional<ElfFacts> {
        if (why != nullptr) *why = std::move(text);
        return std::nullopt;
    };
    std::ifstream in(file, std::ios::binary);
    if (!in) return fail("cannot be read");
    std::array<unsigned char, 64> header{};
    in.read(reinterpret_cast<char*>(header.data()), header.size());
    if (in.gcount() < 52 || std::memcmp(header.data(), "\x7f" "ELF", 4) != 0) return fail("not an ELF file");
    ElfFacts facts;
    facts.elf_class = header[4];
    if (facts.elf_class != 1 && facts.elf_class != 2) return fail("an ELF file of unknown class");
    const bool little = header[5] == 1;
    const bool wide = facts.elf_class == 2;
    facts.machine = static_cast<int>(read_word(&header[18], 2, little));
    const std::uint64_t phoff = wide ? read_word(&header[32], 8, little) : read_word(&header[28], 4, little);
    const std::uint64_t phentsize = read_word(&header[wide ? 54 : 42], 2, little);
    const std::uint64_t phnum = read_word(&header[wide ? 56 : 44], 2, little);
    if (phentsize < (wide ? 56u : 32u) || phnum > 4096) return fail("an ELF file with a malformed program header table");
    std::vector<unsigned char> entry(phentsize);
    for (std::uint64_t i = 0; i < phnum; ++i) {
        in.clear();
        in.seekg(static_cast<std::streamoff>(phoff + i * phentsize));
        in.read(reinterpret_cast<char*>(entry.data()), static_cast<std::streamsize>(phentsize));
        if (static_cast<std::uint64_t>(in.gcount()) != phentsize) return fail("an ELF file cut short in its program headers");
        if (read_word(entry.data(), 4, little) != pt_interp) continue;
        const std::uint64_t offset = wide ? read_word(&entry[8], 8, little) : read_word(&entry[4], 4, little);
        const std::uint64_t size = wide ? read_word(&entry[32], 8, little) : read_word(&entry[16], 4, little);
        if (size == 0 || size > 4096) return fail("an ELF file with a malformed interpreter entry");
        std::string interpreter(size, '\0');
        in.clear();
        in.seekg(static_cast<std::streamoff>(offset));
        in.read(interpreter.data(), static_cast<std::streamsize>(size));
        if (static_cast<std::uint64_t>(in.gcount()) != size) return fail("an ELF file cut short in its interpreter");
        interpreter.resize(std::strlen(interpreter.c_str()));
        facts.interpreter = interpreter;
    }
    return facts;
}

std::optional<std::string> why_not_interposable(const fs::path& program, std::span<const fs::path> preloads) {
    return judge(program, preloads, 0);
}

}  // namespace rmtfs_hil::server
