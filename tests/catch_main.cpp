// The one Catch2 main of every test binary: the process settings ssprd's own main makes first.
#define CATCH_CONFIG_RUNNER
#include "common/process.hpp"

#include <catch2/catch.hpp>

int main(int argc, char* argv[]) {
    sspr::common::ignore_sigpipe();
    return Catch::Session().run(argc, argv);
}
