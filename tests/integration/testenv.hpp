// Where the real test servers are: scripts/testenv/up writes a KEY=VALUE file and scripts/test
// names it in SSPR_TESTENV_FILE. Integration tests read endpoints and credentials only from here.
#pragma once

#include "ldap/config.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace sspr::testing {

/// The value of `key` in the test environment file; throws std::runtime_error naming the key (or
/// the missing SSPR_TESTENV_FILE) so a misconfigured run fails loudly instead of skipping.
const std::string& testenv(std::string_view key);

/// The contents of the file named by the value of `key` (a password file), without a trailing
/// newline.
std::string testenv_file(std::string_view key);

enum class server { openldap, samba_ad };

struct server_under_test {
    server kind;
    std::string name; // "openldap" / "samba-ad", for test output
    std::string ctl;  // scripts/testenv/slapd.sh or samba.sh
    std::string dir;  // the instance folder the ctl script takes
};

/// Both servers, for GENERATE.
std::vector<server_under_test> servers();

/// A directory config for `s` over LDAPS with the test CA, small timeouts and backoff.
ldap::config config_for(const server_under_test& s);

/// Runs `ctl action dir` and throws if it fails.
void control(const server_under_test& s, std::string_view action);

/// Runs the control script `ctl` of the test environment (slapd.sh, samba.sh, postgres.sh) as
/// `ctl action dir`, without a shell, its output thrown away; throws std::runtime_error unless it
/// exits 0.
void run_ctl(const std::string& ctl, std::string_view action, const std::string& dir);

} // namespace sspr::testing
