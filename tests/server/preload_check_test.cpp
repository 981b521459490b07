// Reading what the loader needs of an ELF file, and judging whether the
// world's preload libraries can enter a program: crafted files for each kind
// of program a board may hold (static, bionic, another machine, 32-bit,
// scripts), and the machine's own programs and libraries.
#include "server/preload_check.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/scratch_directory.hpp"

namespace rmtfs_hil::server {
namespace {

namespace fs = std::filesystem;

void put(std::vector<unsigned char>& bytes, std::size_t at, std::uint64_t value, std::size_t width) {
    if (bytes.size() < at + width) bytes.resize(at + width);
    for (std::size_t i = 0; i < width; ++i) bytes[at + i] = static_cast<unsigned char>(value >> (8 * i));
}

// A little-endian ELF file with one program header: PT_INTERP naming
// `interpreter` when there is one, PT_LOAD otherwise.
std::vector<unsigned char> elf(int machine, const std::string& interpreter, bool wide = true) {
    std::vector<unsigned char> bytes(wide ? 64 : 52, 0);
    bytes[0] = 0x7f, bytes[1] = 'E', bytes[2] = 'L', bytes[3] = 'F';
    bytes[4] = wide ? 2 : 1;
    bytes[5] = 1;  // little endian
    bytes[6] = 1;
    put(bytes, 16, 3, 2);  // ET_DYN
    put(bytes, 18, static_cast<std::uint64_t>(machine), 2);
    const std::size_t phoff = bytes.size();
    const std::size_t phentsize = wide ? 56 : 32;
    const std::size_t string_at = phoff + phentsize;
    if (wide) {
        put(bytes, 32, phoff, 8);
        put(bytes, 54, phentsize, 2);
        put(bytes, 56, 1, 2);
    } else {
        put(bytes, 28, phoff, 4);
        put(bytes, 42, phentsize, 2);
        put(bytes, 44, 1, 2);
    }
    bytes.resize(string_at, 0);
    put(bytes, phoff, interpreter.empty() ? 1 : 3, 4);  // PT_LOAD or PT_INTERP
    if (!interpreter.empty()) {
        if (wide) {
            put(bytes, phoff + 8, string_at, 8);
            put(bytes, phoff + 32, interpreter.size() + 1, 8);
        } else {
            put(bytes, phoff + 4, string_at, 4);
            put(bytes, phoff + 16, interpreter.size() + 1, 4);
        }
        bytes.insert(bytes.end(), interpreter.begin(), interpreter.end());
        bytes.push_back(0);
    }
    return bytes;
}

class PreloadCheck : public ::testing::Test {
protected:
    fs::path write(const std::string& name, const std::vector<unsigned char>& bytes) {
        fs::path path = scratch_.path / name;
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                   static_cast<std::streamsize>(bytes.size()));
        return path;
    }
    fs::path write_text(const std::string& name, const std::string& text) {
        fs::path path = scratch_.path / name;
        std::ofstream(path) << text;
        return path;
    }
    std::optional<std::string> judge(const fs::path& program) {
        std::vector<fs::path> preloads{shim_};
        return why_not_interposable(program, preloads);
    }

    testing::ScratchDirectory scratch_;
    fs::path shim_ = write("libshim.so", elf(elf_machine_x86_64, "/lib64/ld-linux-x86-64.so.2"));
};

TEST_F(PreloadCheck, ReadsTheClassMachineAndInterpreter) {
    auto facts = read_elf(write("prog", elf(elf_machine_aarch64, "/lib/ld-linux-aarch64.so.1")));
    ASSERT_TRUE(facts);
    EXPECT_EQ(facts->elf_class, 2);
    EXPECT_EQ(facts->machine, elf_machine_aarch64);
    EXPECT_EQ(facts->interpreter, "/lib/ld-linux-aarch64.so.1");
    auto narrow = read_elf(write("prog32", elf(40, "/lib/ld-linux-armhf.so.3", false)));
    ASSERT_TRUE(narrow);
    EXPECT_EQ(narrow->elf_class, 1);
    EXPECT_EQ(narrow->interpreter, "/lib/ld-linux-armhf.so.3");
    EXPECT_FALSE(read_elf(write("static", elf(elf_machine_x86_64, "")))->interpreter);
}

TEST_F(PreloadCheck, RefusesWhatIsNotAReadableElfFile) {
    std::string why;
    EXPECT_FALSE(read_elf(write_text("text", "hello, world\n"), &why));
    EXPECT_EQ(why, "not an ELF file");
    auto cut = elf(elf_machine_x86_64, "/lib64/ld-linux-x86-64.so.2");
    cut.resize(70);
    EXPECT_FALSE(read_elf(write("cut", cut), &why));
    EXPECT_EQ(why, "an ELF file cut short in its program headers");
    EXPECT_FALSE(read_elf(scratch_.path / "missing", &why));
    EXPECT_EQ(why, "cannot be read");
}

TEST_F(PreloadCheck, AGlibcProgramOfTheLibrariesMachineIsEntered) {
    EXPECT_EQ(judge(write("rmtfs", elf(elf_machine_x86_64, "/lib64/ld-linux-x86-64.so.2"))), std::nullopt);
}

TEST_F(PreloadCheck, AStaticProgramIsRefused) {
    auto why = judge(write("rmtfs", elf(elf_machine_x86_64, "")));
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("is statically linked"), std::string::npos) << *why;
}

TEST_F(PreloadCheck, ABionicProgramIsRefused) {
    auto why = judge(write("rmtfs", elf(elf_machine_x86_64, "/system/bin/linker64")));
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("Android's bionic (its loader is /system/bin/linker64)"), std::string::npos) << *why;
}

TEST_F(PreloadCheck, AProgramOfAnotherMachineIsRefusedNamingBoth) {
    auto why = judge(write("rmtfs", elf(elf_machine_aarch64, "/lib/ld-linux-aarch64.so.1")));
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("is built for x86_64 and " + (scratch_.path / "rmtfs").string() + " for aarch64"),
              std::string::npos)
        << *why;
    auto narrow = judge(write("rmtfs32", elf(elf_machine_x86_64, "/lib/ld-linux.so.2", false)));
    ASSERT_TRUE(narrow) << "a 32-bit program cannot load a 64-bit library";
}

TEST_F(PreloadCheck, AScriptIsJudgedByItsInterpreter) {
    fs::path good = write("good-loader", elf(elf_machine_x86_64, "/lib64/ld-linux-x86-64.so.2"));
    fs::path bad = write("static-loader", elf(elf_machine_x86_64, ""));
    EXPECT_EQ(judge(write_text("ok.sh", "#!" + good.string() + " -e\necho\n")), std::nullopt);
    auto why = judge(write_text("bad.sh", "#! " + bad.string() + "\n"));
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("a script: "), std::string::npos) << *why;
    EXPECT_TRUE(judge(write_text("empty.sh", "#!\n")));
    fs::path loop = write_text("loop.sh", "#!" + (scratch_.path / "loop.sh").string() + "\n");
    auto deep = judge(loop);
    ASSERT_TRUE(deep);
    EXPECT_NE(deep->find("too deep"), std::string::npos) << *deep;
}

TEST_F(PreloadCheck, TheMachinesOwnProgramsAndLibrariesAgree) {
    // /bin/sh and the C library this test runs on: one machine, glibc.
    auto shell = read_elf("/bin/sh");
    ASSERT_TRUE(shell);
    ASSERT_TRUE(shell->interpreter);
    std::vector<fs::path> preloads;
    for (const char* libc : {"/lib/x86_64-linux-gnu/libc.so.6", "/lib/aarch64-linux-gnu/libc.so.6"})
        if (fs::exists(libc) && read_elf(libc)->machine == shell->machine) preloads.emplace_back(libc);
    ASSERT_FALSE(preloads.empty());
    EXPECT_EQ(why_not_interposable("/bin/sh", preloads), std::nullopt);
}

}  // namespace
}  // namespace rmtfs_hil::server
