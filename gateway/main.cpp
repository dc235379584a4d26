// ssprd: the self-service password reset gateway. This file only hands the command line to
// gateway/commands.hpp, which lists the sub-commands.
#include "common/process.hpp"
#include "gateway/commands.hpp"

#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

namespace {

/// The catalogue of a build run in place, else the installed one.
std::string default_messages_dir() {
    std::error_code ec;
    if (std::filesystem::exists(SSPR_SOURCE_MESSAGES_DIR "/en.json", ec)) {
        return SSPR_SOURCE_MESSAGES_DIR;
    }
    return SSPR_INSTALLED_MESSAGES_DIR;
}

} // namespace

int main(int argc, char** argv) {
    // Once, before any library: a directory or mail server that vanishes mid-write must fail one
    // operation, not end the daemon (libldap and libcurl leave SIGPIPE to the process).
    sspr::common::ignore_sigpipe();
    const std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
    return sspr::gateway::run_command(args, std::cin, std::cout, std::cerr,
                                      {.messages_dir = default_messages_dir()});
}
