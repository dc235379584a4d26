// Read-only questions to one directory server, for `ssprd doctor`: bind as the service account,
// read the rootDSE, and find out whether the service account may reset a given entry's password
// and write its lock attribute, without changing anything (see probe_reset_rights).
#pragma once

#include "ldap/config.hpp"
#include "ldap/directory.hpp"
#include "ldap/error.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::ldap {

namespace detail {
class connection;
}

struct root_dse_info {
    std::vector<std::string> supported_controls;
    std::vector<std::string> supported_extensions;
    std::vector<std::string> supported_capabilities;
    /// Capability 1.2.840.113556.1.4.800 (or the ADAM one): Active Directory or Samba AD.
    bool active_directory = false;
};

/// What the rights probe found.
enum class rights_verdict {
    invalid = 0,
    /// The directory checked the access rights and refused only the probe's impossible part.
    granted,
    /// LDAP 50 insufficientAccessRights: the service account may not do it.
    denied,
    /// Another answer: neither proves nor disproves the right (the finding says which).
    inconclusive,
};

struct rights_result {
    rights_verdict verdict = rights_verdict::invalid;
    int ldap_result = 0;
    std::string diagnostic; // the directory's own words (no secret: the probe value is random)
};

class server_probe {
public:
    server_probe(server_probe&&) noexcept;
    server_probe& operator=(server_probe&&) noexcept;
    ~server_probe();

    /// Connects to `uri` as make_directory would (TLS, verification, timeouts from `cfg`).
    [[nodiscard]] static result<server_probe> open(const config& cfg, const std::string& uri);

    /// Simple bind with cfg.bind_dn and cfg.bind_password.
    [[nodiscard]] result<void> bind_service();

    [[nodiscard]] result<root_dse_info> read_root_dse();

    /// One modify, atomic as every LDAP modify is: replace the password attribute (unicodePwd on
    /// AD, userPassword on OpenLDAP) with a random 40-character value AND delete a value of the
    /// lock attribute (lockoutTime "1" / pwdAccountLockedTime 19700101000000Z) that the entry
    /// cannot hold. The directory checks access to both first (50 when either is missing); when
    /// both are allowed the impossible delete fails (16 noSuchAttribute, or Samba's 53 "can't be
    /// deleted") and the whole modify is rolled back. If it ever succeeded (0) the password
    /// WOULD have changed: that is reported as an error, never as granted.
    [[nodiscard]] result<rights_result> probe_reset_rights(std::string_view dn,
                                                           ldap::dialect dialect);

private:
    server_probe(std::unique_ptr<detail::connection> conn, config cfg);
    std::unique_ptr<detail::connection> conn_;
    config cfg_;
};

} // namespace sspr::ldap
