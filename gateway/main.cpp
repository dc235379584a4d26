// ssprd: the self-service password reset gateway. This file only parses the command line and
// hands over to the libraries; the HTTPS server, flows and config commands arrive with their issues.
#include <boost/program_options.hpp>

#include <cstdlib>
#include <iostream>

namespace po = boost::program_options;

int main(int argc, char** argv) {
    po::options_description options("Usage: ssprd [options]\n\nOptions");
    options.add_options()
        ("help,h", "show this help and exit")
        ("version", "show the version and exit");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "ssprd: " << e.what() << "\n" << options << "\n";
        return 2;
    }
    if (vm.count("help") != 0U) {
        std::cout << "ssprd " SSPR_VERSION " - self-service password reset gateway\n\n" << options << "\n";
        return EXIT_SUCCESS;
    }
    if (vm.count("version") != 0U) {
        std::cout << "ssprd " SSPR_VERSION "\n";
        return EXIT_SUCCESS;
    }
    std::cerr << "ssprd: nothing to do yet; see --help\n";
    return 2;
}
