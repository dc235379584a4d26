// `check-config` (config/check_config.hpp): exit status, the error list of a bad file compared
// with a golden file (every line and column checked by hand once), and the one-screen summary of
// the example compared with another. Set SSPR_UPDATE_GOLDEN=1 to rewrite the golden files after
// an intended change, then review the diff.
#include "config/check_config.hpp"

#include "tests/support/config_test_support.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace sspr::config;
using namespace sspr::config::testing;
using Catch::Matchers::Contains;

namespace {

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
        text.replace(at, from.size(), to);
    }
    return text;
}

/// Compares `actual` with the golden file (where @FILE@ stands for the checked file's path).
void check_golden(const std::string& golden, const std::string& actual, const std::string& path) {
    const std::string normalised = replace_all(actual, path, "@FILE@");
    const char* update = std::getenv("SSPR_UPDATE_GOLDEN"); // NOLINT(concurrency-mt-unsafe)
    if (update != nullptr && std::string(update) == "1") {
        std::ofstream(std::string(SSPR_SOURCE_DIR) + "/" + golden, std::ios::binary) << normalised;
        WARN("rewrote " + golden);
        return;
    }
    CHECK(normalised == read_source_file(golden));
}

} // namespace

TEST_CASE("check-config: a bad file gives every error with its place, and exit 2", "[config]") {
    const std::string path = std::string(SSPR_SOURCE_DIR) + "/tests/unit/config/golden/bad.yaml";
    std::ostringstream out;
    std::ostringstream err;
    const int status =
        run_check_config(path, out, err, fake_system::with_standard_files().options());
    CHECK(status == 2);
    CHECK(out.str().empty());
    check_golden("tests/unit/config/golden/bad.expected", err.str(), path);
    // The inline password in the bad file is named, never repeated.
    CHECK_THAT(err.str(), !Contains("hunter2"));
}

TEST_CASE("check-config: the summary of the example", "[config]") {
    const std::string path = std::string(SSPR_SOURCE_DIR) + "/config/ssprd.example.yaml";
    std::ostringstream out;
    std::ostringstream err;
    REQUIRE(run_check_config(path, out, err, fake_system::with_standard_files().options()) == 0);
    CHECK(err.str().empty());
    check_golden("tests/unit/config/golden/example.summary", out.str(), path);

    // One screen: a terminal of 40 lines shows all of it.
    const std::string text = out.str();
    CHECK(std::count(text.begin(), text.end(), '\n') <= 40);
    // Paths of secret files are not part of the summary either.
    CHECK_THAT(text, !Contains("ldap.pw"));
    CHECK_THAT(text, !Contains("store.key"));
}

TEST_CASE("check-config: warnings go to the error stream, the verdict stays valid", "[config]") {
    auto files = fake_system::with_standard_files();
    files.file("/etc/ssprd/ldap.pw", "pw\n", 0644);
    const std::string path = std::string(SSPR_SOURCE_DIR) + "/config/ssprd.example.yaml";
    files.file("/run/credentials/ssprd.service/ldap.pw", "pw\n", 0644);
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_check_config(path, out, err, files.options()) == 0);
    CHECK_THAT(out.str(), Contains(": valid (1 warning)\n"));
    CHECK_THAT(err.str(), Contains("directory.bind_password_file: warning: the secret file is "
                                   "readable by every local user"));
}

TEST_CASE("check-config: a file that cannot be read is an error", "[config]") {
    std::ostringstream out;
    std::ostringstream err;
    CHECK(run_check_config("/nonexistent/ssprd.yaml", out, err) == 2);
    CHECK(err.str() == "/nonexistent/ssprd.yaml: (file): cannot read the configuration file: No "
                       "such file or directory\n/nonexistent/ssprd.yaml: 1 error; the "
                       "configuration is not valid\n");
}

TEST_CASE("check-config: the summary states scope, gates and methods per rule", "[config]") {
    const auto r = load(document::minimal()
                            .set("policy", R"(  scope: all
  default_gates: 1
  admin_groups: [Domain Admins]
  allow_protected_accounts: true
  rules:
    - {name: guests, effect: deny, groups: [Guests]}
    - {name: it, groups: [IT], gates: 2, unlock: false}
)")
                            .text());
    INFO(Catch::Detail::stringify(error_lines(r)));
    REQUIRE(r);
    const std::string s = summarize(r->value);
    CHECK_THAT(s, Contains("scope          all: every user but those a deny rule matches"));
    CHECK_THAT(s, Contains("rules          1. guests (deny): groups Guests\n"));
    CHECK_THAT(s, Contains("2. it (allow): groups IT\n"));
    CHECK_THAT(s, Contains("gates 2, methods email, totp; unlock no, change yes\n"));
    CHECK_THAT(s,
               Contains("no rule matches: gates 1, methods email, totp; unlock yes, change yes"));
    CHECK_THAT(s, Contains("admins         Domain Admins\n"));
    CHECK_THAT(s, Contains("always 2 gates, from email, totp (never security questions)"));
    CHECK_THAT(s, Contains("protected accounts (adminCount=1): allowed"));
    CHECK_THAT(s, Contains("failed_proofs: 5 per user in 1d, then 1d blocked"));
}

TEST_CASE("check-config: the summary hides the query of the SMS URL", "[config]") {
    const auto r = load(
        document::minimal()
            .set("delivery", R"(  smtp: {enabled: true, host: smtp.example.org, from: a@example.org}
  sms:
    enabled: true
    url: "https://sms.example.org:8443/send?sender=acme"
)")
            .text());
    INFO(Catch::Detail::stringify(error_lines(r)));
    REQUIRE(r);
    const std::string s = summarize(r->value);
    CHECK_THAT(s, Contains("texts via https://sms.example.org:8443/send?... (national numbers "
                           "read as KR)\n"));
    CHECK_THAT(s, !Contains("acme"));
}

TEST_CASE("check-config: with scope none the summary says nobody is in scope", "[config]") {
    const auto r = load(document::minimal().set("policy", "  scope: none\n").text());
    REQUIRE(r);
    const std::string s = summarize(r->value);
    CHECK_THAT(s, Catch::Matchers::StartsWith("scope          none: nobody may use self-service\n"
                                              "admins "));
}
