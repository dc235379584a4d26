// Unit tests of doctor/report.hpp: one line per check (and a fix line for WARN / FAIL), the
// summary's counts, the exit code as the worst result, and which of unknown CA, name mismatch,
// expired, not yet valid or another failure each X509 verification error is reported as.
#include "doctor/report.hpp"

#include <openssl/x509_vfy.h>

#include <catch2/catch.hpp>

#include <sstream>
#include <string>
#include <vector>

using sspr::doctor::check_result;
using sspr::doctor::judge_verify_error;
using sspr::doctor::report;
using sspr::doctor::status;

namespace {

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

} // namespace

TEST_CASE("doctor report: the exit code is the worst result", "[doctor]") {
    report r;
    CHECK(r.worst() == status::pass);
    CHECK(r.exit_code() == 0);
    r.pass("config", "valid");
    CHECK(r.exit_code() == 0);
    r.warn("store", "empty", "start ssprd serve");
    CHECK(r.worst() == status::warn);
    CHECK(r.exit_code() == 1);
    r.pass("smtp", "connected");
    CHECK(r.exit_code() == 1);
    r.fail("directory TLS", "unknown CA", "set ca_file");
    CHECK(r.worst() == status::fail);
    CHECK(r.exit_code() == 2);
    // A later PASS or WARN does not lower it.
    r.warn("sms", "slow", "check it");
    r.pass("key file", "private");
    CHECK(r.exit_code() == 2);
    CHECK(r.results().size() == 6);
}

TEST_CASE("doctor report: a FAIL alone is exit code 2, a WARN alone 1", "[doctor]") {
    report f;
    f.fail("a", "b", "c");
    CHECK(f.exit_code() == 2);
    report w;
    w.warn("a", "b", "c");
    CHECK(w.exit_code() == 1);
}

TEST_CASE("doctor report: PASS is one line, WARN and FAIL carry their fix", "[doctor]") {
    CHECK(format(check_result{status::pass, "config", "valid", "ignored"}) ==
          "PASS  config: valid");
    CHECK(format(check_result{status::warn, "store", "no file yet", "run serve"}) ==
          "WARN  store: no file yet\n      fix: run serve");
    CHECK(format(check_result{status::fail, "smtp h:25", "connection refused", "start it"}) ==
          "FAIL  smtp h:25: connection refused\n      fix: start it");
    CHECK(format(check_result{status::fail, "x", "y", ""}) == "FAIL  x: y");
}

TEST_CASE("doctor report: print lists every result and counts them", "[doctor]") {
    report r;
    r.pass("one", "fine");
    r.fail("two", "broken", "mend it");
    r.pass("three", "fine");
    r.warn("four", "odd", "look");
    std::ostringstream out;
    print(r, out);
    CHECK(out.str() == "PASS  one: fine\n"
                       "FAIL  two: broken\n"
                       "      fix: mend it\n"
                       "PASS  three: fine\n"
                       "WARN  four: odd\n"
                       "      fix: look\n"
                       "doctor: 2 PASS, 1 WARN, 1 FAIL\n");
}

TEST_CASE("doctor report: a skipped check is listed and counted but never sets the exit code",
          "[doctor]") {
    report r;
    r.pass("one", "fine");
    r.skip("canary", "not asked for", "add --canary-user");
    CHECK(r.worst() == status::pass);
    CHECK(r.exit_code() == 0);
    std::ostringstream out;
    print(r, out);
    CHECK(out.str() == "PASS  one: fine\n"
                       "SKIP  canary: not asked for\n"
                       "      to run it: add --canary-user\n"
                       "doctor: 1 PASS, 0 WARN, 0 FAIL, 1 SKIP\n");
    r.warn("two", "odd", "look");
    CHECK(r.exit_code() == 1); // a skip does not hide a warning either
}

TEST_CASE("doctor TLS verdicts: unknown CA names the trust source", "[doctor]") {
    for (const int e :
         {X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
          X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE}) {
        const auto r = judge_verify_error(e, "directory ldaps://h TLS", "h", {}, "", "/etc/ca.pem");
        CHECK(r.level == status::fail);
        CHECK(r.name == "directory ldaps://h TLS");
        CHECK(contains(r.finding, "unknown CA"));
        CHECK(contains(r.finding, "/etc/ca.pem"));
        CHECK(contains(r.fix, "directory.ca_file"));
    }
    const auto system =
        judge_verify_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, "n", "h", {}, "", "");
    CHECK(contains(system.finding, "the system trust store"));
}

TEST_CASE("doctor TLS verdicts: a name mismatch says what the certificate covers", "[doctor]") {
    const std::vector<std::string> names{"DNS:localhost", "DNS:vm"};
    for (const int e : {X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH}) {
        const auto r = judge_verify_error(e, "n", "127.0.0.1", names, "", "ca.pem");
        CHECK(r.level == status::fail);
        CHECK(contains(r.finding, "name mismatch"));
        CHECK(contains(r.finding, "\"127.0.0.1\""));
        CHECK(contains(r.finding, "DNS:localhost, DNS:vm"));
        CHECK(contains(r.fix, "127.0.0.1"));
    }
    const auto none = judge_verify_error(X509_V_ERR_HOSTNAME_MISMATCH, "n", "h", {}, "", "");
    CHECK(contains(none.finding, "no subjectAltName"));
}

TEST_CASE("doctor TLS verdicts: expired, not yet valid, anything else", "[doctor]") {
    const auto expired = judge_verify_error(X509_V_ERR_CERT_HAS_EXPIRED, "n", "h", {},
                                            "Jan  1 00:00:00 2020 GMT", "");
    CHECK(expired.level == status::fail);
    CHECK(contains(expired.finding, "expired"));
    CHECK(contains(expired.finding, "Jan  1 00:00:00 2020 GMT"));
    CHECK(contains(expired.fix, "renew"));

    const auto early = judge_verify_error(X509_V_ERR_CERT_NOT_YET_VALID, "n", "h", {}, "", "");
    CHECK(contains(early.finding, "not valid yet"));
    CHECK(contains(early.fix, "clocks"));
    CHECK_FALSE(contains(early.finding, "expired"));

    const auto other = judge_verify_error(X509_V_ERR_CERT_REVOKED, "n", "h", {}, "", "");
    CHECK(other.level == status::fail);
    CHECK(contains(other.finding, "certificate verification failed"));
    CHECK(contains(other.finding, X509_verify_cert_error_string(X509_V_ERR_CERT_REVOKED)));
    CHECK_FALSE(contains(other.finding, "unknown CA"));
    CHECK_FALSE(contains(other.finding, "name mismatch"));
}
