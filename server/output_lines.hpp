// What a supervised program writes on stdout and stderr, as lines: each line
// is one trace event, so the splitting rules (newline, a cap on length, the
// unterminated last line at EOF) live here, apart from any I/O.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace rmtfs_hil::server {

enum class OutputStream { standard_output, standard_error };
std::string_view to_string(OutputStream stream);  // "stdout" / "stderr"

// A daemon that writes without newlines (a hex dump, a progress bar) must not
// grow one trace event without bound: past this, the line is delivered in
// pieces of this size, each but the last marked as continuing. Nothing is dropped.
inline constexpr std::size_t output_line_max_bytes = 64 * 1024;

struct OutputLine {
    OutputStream stream = OutputStream::standard_output;
    std::string text;          // without the newline
    bool continues = false;    // a piece of a longer line: the next OutputLine of the stream goes on with it
    bool unterminated = false; // the stream ended before a newline came
    std::chrono::steady_clock::time_point at;  // when the harness read the bytes that ended it
};

// Splits one stream's bytes into lines. Bytes arrive in arbitrary chunks;
// a line is delivered when its newline arrives, when it reaches the cap, or
// (partial) at end of stream.
class LineSplitter {
public:
    explicit LineSplitter(OutputStream stream, std::size_t line_max_bytes = output_line_max_bytes);

    // Lines completed by `bytes`, each stamped `now`.
    std::vector<OutputLine> feed(std::string_view bytes, std::chrono::steady_clock::time_point now);
    // The unterminated rest, if any; the splitter is then empty.
    std::vector<OutputLine> finish(std::chrono::steady_clock::time_point now);

private:
    OutputStream stream_;
    std::size_t line_max_bytes_;
    std::string pending_;
};

}  // namespace rmtfs_hil::server
