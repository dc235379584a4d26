// `ssprd doctor`'s results: one line per check, "PASS|WARN|FAIL|SKIP  <check>: <finding>", and for
// a WARN or FAIL a second line "      fix: <what to do>" (for a SKIP "      to run it: ..."). Pure
// values, so the formatting, the exit code and the TLS verdicts are unit-tested without servers.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace sspr::doctor {

/// `skip`: an optional check the admin did not ask for (e.g. the canary reset); it never counts
/// towards the exit code.
enum class status { pass = 0, warn = 1, fail = 2, skip = 3 };

struct check_result {
    status level = status::pass;
    std::string name;    // "directory ldaps://127.0.0.1:636 TLS"
    std::string finding; // what was seen; never a secret
    std::string fix;     // one line; empty for PASS
};

class report {
public:
    void add(check_result r);
    void pass(std::string name, std::string finding);
    void warn(std::string name, std::string finding, std::string fix);
    void fail(std::string name, std::string finding, std::string fix);
    void skip(std::string name, std::string finding, std::string how);

    [[nodiscard]] const std::vector<check_result>& results() const noexcept { return results_; }
    /// The worst level seen among pass, warn and fail (pass when empty; skips do not count).
    [[nodiscard]] status worst() const noexcept;
    /// 0 all PASS, 1 worst WARN, 2 worst FAIL.
    [[nodiscard]] int exit_code() const noexcept { return static_cast<int>(worst()); }

private:
    std::vector<check_result> results_;
};

[[nodiscard]] const char* to_string(status s) noexcept;

/// "PASS  name: finding" (+ "\n      fix: ..." for WARN/FAIL with a fix, "\n      to run it: ..."
/// for a SKIP), no trailing newline.
[[nodiscard]] std::string format(const check_result& r);

/// Every result, then a summary line "doctor: N PASS, N WARN, N FAIL" (+ ", N SKIP" when any).
void print(const report& r, std::ostream& out);

/// The verdict on one certificate verification error (an X509_V_ERR_* value): which of unknown
/// CA, name mismatch, expired, not yet valid or another failure it is, with its fix. `names` is
/// the certificate's subjectAltName list ("DNS:x", "IP:1.2.3.4"), `not_after` its expiry.
[[nodiscard]] check_result judge_verify_error(int x509_error, const std::string& check_name,
                                              const std::string& host,
                                              const std::vector<std::string>& names,
                                              const std::string& not_after,
                                              const std::string& ca_file);

} // namespace sspr::doctor
