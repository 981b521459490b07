// The subcommands of rmtfs-hil, each in its own file.
#pragma once

#include <string_view>

#include "tools/cli.hpp"

namespace rmtfs_hil::commands {

extern const std::string_view sandbox_help;
int sandbox(cli::Arguments& arguments);

extern const std::string_view run_help;
int run(cli::Arguments& arguments);
extern const std::string_view validate_help;
int validate(cli::Arguments& arguments);
extern const std::string_view matrix_help;
int matrix(cli::Arguments& arguments);

extern const std::string_view agent_help;
int agent(cli::Arguments& arguments);

extern const std::string_view hil_help;
int hil(cli::Arguments& arguments);

}  // namespace rmtfs_hil::commands
