// The ssprd command line: every sub-command's options (Boost.program_options) and what it prints,
// in one place, over the libraries' entry points. gateway/main.cpp only hands argv over.
//
//   ssprd serve -c FILE [--messages DIR]    run the HTTPS gateway
//   ssprd check-config FILE                 validate the admin's YAML, print the effective policy
//   ssprd breached import [--min-count N] IN OUT   Pwned Passwords text -> ssprd's lookup file
//   ssprd breached verify FILE              check a lookup file end to end
//   ssprd audit verify FILE                 check the audit trail's hash chain
//   ssprd store rotate-key -c FILE          re-seal enrollments under the active key
//   ssprd doctor -c FILE                    troubleshooter: PASS/WARN/FAIL per check (doctor/)
//   ssprd helpdesk status|clear|unblock USER ...   a user's methods and throttles (helpdesk/)
//   ssprd enrollments export -c FILE        CSV of who registered which methods, masked
//
// Exit status: 0 done, 1 failed, 2 usage error (doctor: 0/1/2 = worst PASS/WARN/FAIL, 64 usage;
// helpdesk, enrollments: 0 done, 1 not found, 2 failure, 64 usage) (a clear message on `err` and
// the usage).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sspr::gateway {

/// Where `ssprd serve` finds its message catalogue when --messages is not given.
struct command_defaults {
    std::string messages_dir;
};

/// Runs the command in `args` (argv without the program name: args[0] is the sub-command).
int run_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err, const command_defaults& defaults = {});

/// `ssprd breached import ...`: `args` are the words after "import". IN may be "-" (`in`).
int run_breached_import(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                        std::ostream& err);

/// `ssprd breached verify FILE`: `args` are the words after "verify".
int run_breached_verify(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace sspr::gateway
