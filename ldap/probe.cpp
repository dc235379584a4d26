#include "ldap/probe.hpp"

#include "common/random.hpp"
#include "common/secret.hpp"
#include "ldap/connection.hpp"
#include "ldap/unicode_pwd.hpp"

#include <optional>

namespace sspr::ldap {

server_probe::server_probe(std::unique_ptr<detail::connection> conn, config cfg)
    : conn_(std::move(conn)), cfg_(std::move(cfg)) {}
server_probe::server_probe(server_probe&&) noexcept = default;
server_probe& server_probe::operator=(server_probe&&) noexcept = default;
server_probe::~server_probe() = default;

result<server_probe> server_probe::open(const config& cfg, const std::string& uri) {
    auto conn = detail::connection::open(uri, 0, cfg);
    if (!conn) {
        return conn.error();
    }
    return server_probe(std::make_unique<detail::connection>(std::move(*conn)), cfg);
}

result<void> server_probe::bind_service() {
    return conn_->bind(operation_kind::service_bind, cfg_.bind_dn, cfg_.bind_password.reveal(),
                       false);
}

result<root_dse_info> server_probe::read_root_dse() {
    if (auto r = conn_->read_root_dse(); !r) {
        return r.error();
    }
    const auto& info = conn_->info();
    return root_dse_info{info.supported_controls, info.supported_extensions,
                         info.supported_capabilities, info.is_active_directory()};
}

result<rights_result> server_probe::probe_reset_rights(std::string_view dn, ldap::dialect dialect) {
    // A random password of every character class, long enough for any length rule, so that a
    // password-quality check (which some servers run before the access check) is not what
    // answers.
    static constexpr std::string_view alphabet =
        "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    const auto random = common::make_system_random();
    std::string text;
    text.reserve(40); // no reallocation leaves a copy behind
    text = "Dr-7!";
    for (int i = 0; i < 35; ++i) {
        text.push_back(alphabet[random->uniform(alphabet.size())]);
    }
    common::secret password(std::move(text));
    const bool ad = dialect == ldap::dialect::active_directory;
    std::optional<common::secret> value;
    if (ad) {
        value = ad_unicode_pwd(password.reveal());
        if (!value) {
            return failure(error::invalid_password_encoding, "probe value");
        }
    } else {
        value = std::move(password);
    }
    const std::vector<detail::modification> mods{
        {LDAP_MOD_REPLACE, ad ? "unicodePwd" : "userPassword", {value->reveal()}},
        {LDAP_MOD_DELETE,
         ad ? "lockoutTime" : "pwdAccountLockedTime",
         {ad ? std::string_view("1") : std::string_view("19700101000000Z")}},
    };
    auto done = conn_->modify(operation_kind::reset, std::string(dn), mods, {});
    if (done) {
        return failure(error::directory_refused, "the rights probe was APPLIED: the password of " +
                                                     std::string(dn) +
                                                     " was changed to a random value; reset it");
    }
    const failure& f = done.error();
    rights_result out;
    out.ldap_result = f.ldap_result;
    out.diagnostic = f.diagnostic;
    if (f.ldap_result == LDAP_INSUFFICIENT_ACCESS) {
        out.verdict = rights_verdict::denied;
    } else if (f.ldap_result == LDAP_NO_SUCH_ATTRIBUTE ||
               (f.ldap_result == LDAP_UNWILLING_TO_PERFORM && ad)) {
        out.verdict = rights_verdict::granted;
    } else if (f.ldap_result <= 0 || f.is(error::server_down) || f.is(error::timeout)) {
        return f;
    } else {
        out.verdict = rights_verdict::inconclusive;
    }
    return out;
}

} // namespace sspr::ldap
