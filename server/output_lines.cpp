#include "server/output_lines.hpp"

#include <utility>

#include "proto/contract.hpp"

namespace rmtfs_hil::server {

std::string_view to_string(OutputStream stream) {
    switch (stream) {
        case OutputStream::standard_output: return "stdout";
        case OutputStream::standard_error: return "stderr";
    }
    return "unknown stream";
}

LineSplitter::LineSplitter(OutputStream stream, std::size_t line_max_bytes)
    : stream_(stream), line_max_bytes_(line_max_bytes) {
    RMTFS_HIL_ASSERT(line_max_bytes_ > 0, "a line cap of zero bytes would never deliver text");
}

std::vector<OutputLine> LineSplitter::feed(std::string_view bytes,
                                           std::chrono::steady_clock::time_point now) {
    std::vector<OutputLine> lines;
    while (!bytes.empty()) {
        std::size_t newline = bytes.find('\n');
        std::string_view piece = bytes.substr(0, newline);
        bytes = newline == std::string_view::npos ? std::string_view{} : bytes.substr(newline + 1);
        bool ends_line = newline != std::string_view::npos;

        // A line longer than the cap: deliver it a cap's worth at a time.
        while (piece.size() > line_max_bytes_ - pending_.size()) {
            std::size_t room = line_max_bytes_ - pending_.size();
            pending_.append(piece.substr(0, room));
            piece.remove_prefix(room);
            lines.push_back(OutputLine{stream_, std::exchange(pending_, {}), true, false, now});
        }
        pending_.append(piece);
        if (ends_line) lines.push_back(OutputLine{stream_, std::exchange(pending_, {}), false, false, now});
    }
    return lines;
}

std::vector<OutputLine> LineSplitter::finish(std::chrono::steady_clock::time_point now) {
    std::vector<OutputLine> lines;
    if (!pending_.empty()) lines.push_back(OutputLine{stream_, std::exchange(pending_, {}), false, true, now});
    return lines;
}

}  // namespace rmtfs_hil::server
