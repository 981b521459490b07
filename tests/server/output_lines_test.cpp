// Splitting a program's output into lines: chunk boundaries, the cap, the
// unterminated last line.
#include <gtest/gtest.h>

#include <string>

#include "server/output_lines.hpp"

namespace rmtfs_hil::server {
namespace {

const auto now = std::chrono::steady_clock::time_point{};

std::vector<std::string> texts(const std::vector<OutputLine>& lines) {
    std::vector<std::string> result;
    for (const auto& line : lines) result.push_back(line.text);
    return result;
}

TEST(LineSplitter, JoinsLinesAcrossChunks) {
    LineSplitter splitter(OutputStream::standard_output);
    EXPECT_TRUE(splitter.feed("hel", now).empty());
    auto lines = splitter.feed("lo\nwor", now);
    EXPECT_EQ(texts(lines), std::vector<std::string>{"hello"});
    lines = splitter.feed("ld\n\nlast", now);
    EXPECT_EQ(texts(lines), (std::vector<std::string>{"world", ""}));
    lines = splitter.finish(now);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].text, "last");
    EXPECT_TRUE(lines[0].unterminated);
    EXPECT_FALSE(lines[0].continues);
    EXPECT_TRUE(splitter.finish(now).empty()) << "finish empties the splitter";
}

TEST(LineSplitter, MarksTheStream) {
    LineSplitter splitter(OutputStream::standard_error);
    auto lines = splitter.feed("oops\n", now);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].stream, OutputStream::standard_error);
    EXPECT_EQ(to_string(lines[0].stream), "stderr");
}

TEST(LineSplitter, DeliversALongLineInPiecesOfTheCapLosingNothing) {
    LineSplitter splitter(OutputStream::standard_output, 4);
    auto lines = splitter.feed("abcdefg", now);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].text, "abcd");
    EXPECT_TRUE(lines[0].continues);
    lines = splitter.feed("hij", now);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].text, "efgh");
    EXPECT_TRUE(lines[0].continues);
    lines = splitter.feed("k\nnext\n", now);
    EXPECT_EQ(texts(lines), (std::vector<std::string>{"ijk", "next"}));
    EXPECT_FALSE(lines[0].continues) << "the last piece ends the line";
    EXPECT_FALSE(lines[1].continues);
}

TEST(LineSplitter, ALineOfExactlyTheCapIsNotTruncated) {
    LineSplitter splitter(OutputStream::standard_output, 4);
    EXPECT_TRUE(splitter.feed("abcd", now).empty()) << "the newline may still come";
    auto lines = splitter.feed("\n", now);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].text, "abcd");
    EXPECT_FALSE(lines[0].continues);
}

TEST(LineSplitter, AFullUnterminatedLineAtEofIsNotTruncated) {
    LineSplitter splitter(OutputStream::standard_output, 4);
    EXPECT_TRUE(splitter.feed("abcd", now).empty());
    auto lines = splitter.finish(now);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_FALSE(lines[0].continues);
    EXPECT_TRUE(lines[0].unterminated);
}

TEST(LineSplitter, DefaultCapIs64KiB) {
    LineSplitter splitter(OutputStream::standard_output);
    auto lines = splitter.feed(std::string(output_line_max_bytes + 10, 'x') + "\nok\n", now);
    ASSERT_EQ(lines.size(), 3u);
    EXPECT_EQ(lines[0].text.size(), output_line_max_bytes);
    EXPECT_TRUE(lines[0].continues);
    EXPECT_EQ(lines[1].text, std::string(10, 'x'));
    EXPECT_EQ(lines[2].text, "ok");
}

}  // namespace
}  // namespace rmtfs_hil::server
