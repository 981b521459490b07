// Writes the sample report (tests/engine/sample_report.hpp) to a directory:
// index.html, report.json, junit.xml, summary.txt and matrix.txt. Prints the
// HTML page's path. tests/python/test_html_report.py renders the page in a
// headless browser.
//   report_sample DIR
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>

#include "engine/report.hpp"
#include "tests/engine/sample_report.hpp"

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: report_sample DIR\n";
        return 2;
    }
    try {
        namespace engine = rmtfs_hil::engine;
        const std::filesystem::path dir = argv[1];
        const engine::RunReport report = rmtfs_hil::testing::sample_report();
        const std::string page = engine::write_html(report, dir);
        auto write = [&](const char* name, void (*writer)(const engine::RunReport&, std::ostream&)) {
            std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
            writer(report, out);
            out.flush();
            if (!out) throw std::runtime_error(std::string("cannot write ") + (dir / name).string());
        };
        write("report.json", engine::write_json);
        write("junit.xml", engine::write_junit);
        write("summary.txt", engine::write_summary_table);
        write("matrix.txt", engine::write_matrix_table);
        std::cout << page << "\n";
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "report_sample: " << e.what() << "\n";
        return 1;
    }
}
