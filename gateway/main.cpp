// ssprd: the self-service password reset gateway. This file only reads the command line and hands
// over to the libraries; the HTTPS server and the flows arrive with their issues.
//
//   ssprd check-config FILE                 validate the admin's YAML, print the effective policy
//   ssprd breached import [--min-count N] IN OUT   Pwned Passwords text -> ssprd's lookup file
//   ssprd breached verify FILE              check a lookup file end to end
#include "config/check_config.hpp"
#include "policy/breached.hpp"
#include "policy/preflight.hpp"

#include <boost/program_options.hpp>

#include <cstdlib>
#include <iostream>
#include <string_view>

namespace po = boost::program_options;

namespace {

constexpr std::string_view usage = R"(Usage:
  ssprd check-config FILE
  ssprd breached import [--min-count N] IN OUT    (IN may be - for standard input)
  ssprd breached verify FILE
  ssprd --help | --version
)";

int run_options(int argc, char** argv) {
    po::options_description options("Options");
    options.add_options()("help,h", "show this help and exit")("version", "show the version and exit");
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
    std::cerr << "ssprd: the gateway itself is not built yet; see --help for the commands\n";
    return 2;
}

} // namespace

int main(int argc, char** argv) {
    const std::string_view command = argc > 1 ? argv[1] : "";
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
