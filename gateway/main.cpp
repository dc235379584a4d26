// ssprd: the self-service password reset gateway. This file only reads the command line and hands
// over to the libraries.
//
//   ssprd serve -c FILE [--messages DIR]    run the HTTPS gateway
//   ssprd check-config FILE                 validate the admin's YAML, print the effective policy
//   ssprd breached import [--min-count N] IN OUT   Pwned Passwords text -> ssprd's lookup file
//   ssprd breached verify FILE              check a lookup file end to end
//   ssprd audit verify FILE                 check the audit trail's hash chain
//   ssprd store rotate-key -c FILE          re-seal enrollments under the active key
//   ssprd doctor -c FILE [--test-user L]    troubleshooter: PASS/WARN/FAIL per check
#include "audit/audit.hpp"
#include "common/process.hpp"
#include "config/check_config.hpp"
#include "doctor/doctor.hpp"
#include "gateway/serve.hpp"
#include "policy/breached.hpp"
#include "policy/preflight.hpp"
#include "store/rotate_command.hpp"

#include <boost/program_options.hpp>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace po = boost::program_options;

namespace {

constexpr std::string_view usage = R"(Usage:
  ssprd serve -c FILE [--messages DIR]
  ssprd check-config FILE
  ssprd breached import [--min-count N] IN OUT    (IN may be - for standard input)
  ssprd breached verify FILE
  ssprd audit verify FILE
  ssprd store rotate-key -c FILE
  ssprd doctor -c FILE [--test-user LOGIN] [--protected-user LOGIN]
  ssprd --help | --version
)";

/// The catalogue of a build run in place, else the installed one.
std::string default_messages_dir() {
    std::error_code ec;
    if (std::filesystem::exists(SSPR_SOURCE_MESSAGES_DIR "/en.json", ec)) {
        return SSPR_SOURCE_MESSAGES_DIR;
    }
    return SSPR_INSTALLED_MESSAGES_DIR;
}

/// `ssprd serve` and `ssprd store rotate-key`: options after the command; argv[0] is the command.
int run_with_config(int argc, char** argv, bool serve) {
    po::options_description options(serve ? "ssprd serve" : "ssprd store rotate-key");
    options.add_options()("config,c", po::value<std::string>()->required(),
                          "the configuration file (YAML)");
    if (serve) {
        options.add_options()("messages",
                              po::value<std::string>()->default_value(default_messages_dir()),
                              "directory of the message catalogue (en.json, ko.json)");
    }
    options.add_options()("help,h", "show this help and exit");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
        if (vm.count("help") != 0U) {
            std::cout << options << "\n";
            return EXIT_SUCCESS;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "ssprd: " << e.what() << "\n" << usage;
        return 2;
    }
    const auto config = vm["config"].as<std::string>();
    if (serve) {
        return sspr::gateway::run_serve(config, vm["messages"].as<std::string>(), std::cerr);
    }
    return sspr::store::run_rotate_key(config, std::cout, std::cerr);
}

int run_options(int argc, char** argv) {
    po::options_description options("Options");
    options.add_options()("help,h", "show this help and exit")("version",
                                                               "show the version and exit");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "ssprd: " << e.what() << "\n" << usage;
        return 2;
    }
    if (vm.count("version") != 0U) {
        std::cout << "ssprd " SSPR_VERSION "\n";
        return EXIT_SUCCESS;
    }
    if (vm.count("help") != 0U) {
        std::cout << "ssprd " SSPR_VERSION " - self-service password reset gateway\n\n"
                  << usage << "\n"
                  << options << "\n";
        return EXIT_SUCCESS;
    }
    std::cerr << usage;
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    // Once, before any library: a directory or mail server that vanishes mid-write must fail one
    // operation, not end the daemon (libldap and libcurl leave SIGPIPE to the process).
    sspr::common::ignore_sigpipe();
    const std::string_view command = argc > 1 ? argv[1] : "";
    if (command == "serve") {
        return run_with_config(argc - 1, argv + 1, true);
    }
    if (command == "audit") {
        if (argc != 4 || std::string_view(argv[2]) != "verify") {
            std::cerr << usage;
            return 2;
        }
        return sspr::audit::run_audit_verify(argv[3], std::cout, std::cerr);
    }
    if (command == "store") {
        if (argc < 3 || std::string_view(argv[2]) != "rotate-key") {
            std::cerr << usage;
            return 2;
        }
        return run_with_config(argc - 2, argv + 2, false);
    }
    if (command == "doctor") {
        return sspr::doctor::run_doctor(std::vector<std::string>(argv + 2, argv + argc), std::cout,
                                        std::cerr);
    }
    if (command == "check-config") {
        if (argc != 3) {
            std::cerr << usage;
            return 2;
        }
        // The same checks the daemon's start-up and reload make (policy::preflight).
        return sspr::config::run_check_config(argv[2], std::cout, std::cerr,
                                              sspr::policy::with_preflight());
    }
    if (command == "breached") {
        const std::string_view sub = argc > 2 ? argv[2] : "";
        // The library's entry points take argv with argv[0] = the sub-command's name.
        if (sub == "import") {
            return sspr::policy::run_breached_import(argc - 2, argv + 2);
        }
        if (sub == "verify") {
            return sspr::policy::run_breached_verify(argc - 2, argv + 2);
        }
        std::cerr << usage;
        return 2;
    }
    return run_options(argc, argv);
}
