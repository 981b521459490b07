// A stand-in harness for the "nothing outlives the harness" tests: it
// supervises one program and then ends the way the test asks.
//
//   supervise_helper MODE PROGRAM [ARGS...]
//
// Prints "program <pid>" once the program runs, then serves its event loop.
// SIGUSR1 makes it end according to MODE:
//   exit    std::exit(0): static destructors only, the SupervisedProcess is never destroyed
//   throw   an exception escapes main: std::terminate, abort
//   return  main returns normally: the SupervisedProcess destructor runs
//   wait    ignore SIGUSR1 (the test SIGKILLs or SIGTERMs it)
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "server/process.hpp"

int main(int argc, char** argv) {
    using namespace rmtfs_hil::server;
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s exit|throw|return|wait PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    std::string mode = argv[1];
    boost::asio::io_context io;
    LaunchSpec spec{{argv + 2, argv + argc}, current_environment(), {}};
    SupervisedProcess program(io, spec);
    auto started = program.start();
    if (!started) {
        std::fprintf(stderr, "supervise_helper: %s\n", started.error().message.c_str());
        return 1;
    }
    std::printf("program %d\n", static_cast<int>(started->pid));
    std::fflush(stdout);

    boost::asio::signal_set trigger(io, SIGUSR1);
    trigger.async_wait([&](const boost::system::error_code& error, int) {
        if (error) return;
        if (mode == "exit") std::exit(0);
        if (mode == "throw") throw std::runtime_error("supervise_helper: thrown on purpose");
        if (mode == "return") io.stop();
    });
    io.run();
    return 0;
}
