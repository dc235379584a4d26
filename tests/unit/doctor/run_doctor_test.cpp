// Unit tests of doctor/doctor.hpp's command line: -c is required, --help, unknown options (exit
// 64, apart from the results' 0/1/2), and a configuration that cannot be read is a FAIL (exit 2)
// with no further checks. Nothing here reaches a server.
#include "doctor/doctor.hpp"

#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

using sspr::doctor::run_doctor;
using sspr::test::temp_dir;

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("doctor command: without -c it is a usage error", "[doctor]") {
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_doctor({}, out, err) == 64);
    CHECK(contains(err.str(), "ssprd doctor:"));
    CHECK(contains(err.str(), "--config"));
    CHECK(out.str().empty());
}

TEST_CASE("doctor command: an unknown option is a usage error", "[doctor]") {
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_doctor({"-c", "x.yaml", "--frobnicate"}, out, err) == 64);
    CHECK(contains(err.str(), "frobnicate"));
    CHECK(out.str().empty());
}

TEST_CASE("doctor command: --help shows the options and exits 0", "[doctor]") {
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_doctor({"--help"}, out, err) == 0);
    CHECK(contains(out.str(), "--test-user"));
    CHECK(contains(out.str(), "--protected-user"));
    CHECK(contains(out.str(), "--canary-user"));
    CHECK(contains(out.str(), "REALLY resets"));
    CHECK(err.str().empty());
}

TEST_CASE("doctor command: a missing configuration file is a FAIL and stops there", "[doctor]") {
    const temp_dir dir("sspr-doctor");
    const std::string path = dir.file("absent.yaml");
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_doctor({"-c", path}, out, err) == 2);
    CHECK(contains(out.str(), "FAIL  config: "));
    CHECK(contains(out.str(), "FAIL  doctor: no further checks"));
    CHECK_FALSE(contains(out.str(), "directory "));
    CHECK(contains(out.str(), "doctor: 0 PASS, 0 WARN, 2 FAIL\n"));
}

TEST_CASE("doctor command: a configuration with errors names them", "[doctor]") {
    const temp_dir dir("sspr-doctor");
    const std::string path = dir.write("bad.yaml", "server: [1, 2\n");
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_doctor({"--config", path}, out, err) == 2);
    CHECK(contains(out.str(), "FAIL  config: "));
    CHECK(contains(out.str(), "fix: correct the file"));
}
