// policy::preflight through the loader: check-config and the daemon refuse the same files.
#include "policy/preflight.hpp"

#include "tests/support/config_test_support.hpp"

#include <catch2/catch.hpp>

using namespace sspr;
using config::testing::document;
using config::testing::fake_system;

namespace {

config::load_result load_checked(const std::string& yaml) {
    return config::load_string(
        yaml, "test.yaml", policy::with_preflight(fake_system::with_standard_files().options()));
}

} // namespace

TEST_CASE("preflight: a Korean banned term of three code points is refused where it is written",
          "[policy]") {
    // 9 bytes but 3 characters: config/ alone once let it through and the daemon then threw.
    const auto r = load_checked(
        document::minimal().set("password", "  banned_terms: [acme, 가나다]\n").text());
    REQUIRE_FALSE(r.has_value());
    const auto errors = config::testing::errors_at(r, "password.banned_terms[1]");
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].line > 0);
    CHECK(errors[0].message.find("shorter than 4 characters") != std::string::npos);
    // The same file without the hook (config/ alone) loads: the rule lives in one place only.
    CHECK(config::testing::load(
              document::minimal().set("password", "  banned_terms: [acme, 가나다]\n").text())
              .has_value());
}

TEST_CASE("preflight: a valid configuration passes and four-character terms are fine", "[policy]") {
    const auto r = load_checked(
        document::minimal().set("password", "  banned_terms: [acme, 가나다라]\n").text());
    INFO(config::testing::error_lines(r).size());
    CHECK(r.has_value());
}
