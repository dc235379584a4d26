#include "ldap/ldap_directory.hpp"

#include "common/log.hpp"
#include "ldap/connection_pool.hpp"
#include "ldap/diagnostics.hpp"
#include "ldap/escape.hpp"
#include "ldap/unicode_pwd.hpp"

#include <atomic>
#include <charconv>
#include <csignal>
#include <deque>
#include <set>
#include <stdexcept>

namespace sspr::ldap {
namespace {

using detail::connection;
using detail::connection_pool;
using detail::entry;
using detail::modification;
using want = detail::connection_pool::want;

constexpr std::string_view ad_default_filter =
    "(&(objectCategory=person)(objectClass=user)(|(sAMAccountName={login})(userPrincipalName={"
    "login})))";
constexpr std::string_view openldap_default_filter = "(&(objectClass=person)(uid={login}))";

constexpr std::string_view oid_policy_hints = "1.2.840.113556.1.4.2239";
constexpr std::string_view oid_policy_hints_deprecated = "1.2.840.113556.1.4.2066";
constexpr std::string_view oid_password_modify = "1.3.6.1.4.1.4203.1.11.1";
constexpr std::string_view oid_ppolicy_request = "1.3.6.1.4.1.42.2.27.8.5.1";
// LDAP_SERVER_POLICY_HINTS value: SEQUENCE { INTEGER 1 } — enforce password history on a reset.
constexpr std::string_view policy_hints_value{"\x30\x03\x02\x01\x01", 5};

// AD userAccountControl and msDS-User-Account-Control-Computed bits.
constexpr std::uint64_t uac_accountdisable = 0x2;
constexpr std::uint64_t uac_lockout = 0x10;
constexpr std::uint64_t uac_password_expired = 0x800000;
// OpenLDAP ppolicy's "locked by an administrator until unlocked" value.
constexpr std::string_view openldap_admin_lock = "000001010000Z";

const std::vector<std::string> ad_state_attributes{
    "userAccountControl", "msDS-User-Account-Control-Computed",
    "lockoutTime",        "pwdLastSet",
    "accountExpires",     "adminCount"};
const std::vector<std::string> openldap_state_attributes{"pwdAccountLockedTime", "pwdReset"};

std::uint64_t to_u64(std::string_view text) {
    std::uint64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

std::int64_t to_i64(std::string_view text) {
    std::int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

// Windows FILETIME: 100 ns ticks since 1601-01-01.
std::int64_t filetime_of(common::clock::system_time t) {
    constexpr std::int64_t epoch_offset_s = 11644473600;
    const auto since_unix =
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch());
    return (since_unix.count() + epoch_offset_s * 1'000'000) * 10;
}

class ldap_directory final : public directory {
public:
    ldap_directory(config cfg, std::shared_ptr<const common::clock> clock)
        : cfg_(std::move(cfg)), clock_(std::move(clock)),
          selector_(std::make_shared<uri_selector>(cfg_.uris.size(), clock_, cfg_.backoff_min,
                                                   cfg_.backoff_max)),
          service_(cfg_, cfg_.pool_size, cfg_.pipeline_window, selector_,
                   [this](connection& c) { return prepare_service(c); }),
          // A bind changes who the connection is: one caller at a time.
          users_(cfg_, cfg_.pool_size, 1, selector_, nullptr) {
        if (cfg_.dialect == dialect_choice::active_directory) {
            dialect_.store(ldap::dialect::active_directory);
        } else if (cfg_.dialect == dialect_choice::openldap) {
            dialect_.store(ldap::dialect::openldap);
        }
    }

    [[nodiscard]] ldap::dialect dialect() const override { return dialect_.load(); }

    result<std::optional<user_entry>> find_user(std::string_view login) override {
        // A login that cannot be anyone's never reaches the directory.
        if (login.empty() || login.size() > 256 || !is_valid_utf8(login)) {
            return std::optional<user_entry>{};
        }
        return with_service([&](connection& c) -> result<std::optional<user_entry>> {
            const bool ad = is_ad(c);
            std::string tmpl = cfg_.user_filter;
            if (tmpl.empty()) {
                tmpl = ad ? ad_default_filter : openldap_default_filter;
            }
            auto found = c.search(operation_kind::search, user_base(), LDAP_SCOPE_SUBTREE,
                                  expand_filter(tmpl, login), user_attributes(ad), 2);
            if (!found) {
                return found.error();
            }
            if (found->empty()) {
                return std::optional<user_entry>{};
            }
            if (found->size() > 1) {
                return failure(error::ambiguous_user, "more than one entry matches the login");
            }
            return std::optional<user_entry>(user_from(found->front(), ad));
        });
    }

    result<std::optional<user_entry>> read_user(std::string_view dn) override {
        if (dn.empty() || !is_valid_utf8(dn)) {
            return std::optional<user_entry>{};
        }
        return with_service([&](connection& c) -> result<std::optional<user_entry>> {
            const bool ad = is_ad(c);
            auto found = c.search(operation_kind::search, std::string(dn), LDAP_SCOPE_BASE,
                                  "(objectClass=*)", user_attributes(ad), 1);
            if (!found) {
                if (found.error().is(error::no_such_object)) {
                    return std::optional<user_entry>{};
                }
                return found.error();
            }
            if (found->empty()) {
                return std::optional<user_entry>{};
            }
            return std::optional<user_entry>(user_from(found->front(), ad));
        });
    }

    result<bool> matches(std::string_view dn, std::string_view filter) override {
        if (dn.empty() || filter.empty()) {
            return false;
        }
        return with_service([&](connection& c) -> result<bool> {
            auto found = c.search(operation_kind::search, std::string(dn), LDAP_SCOPE_BASE,
                                  std::string(filter), {"1.1"}, 1);
            if (!found) {
                if (found.error().is(error::no_such_object)) {
                    return false;
                }
                return found.error();
            }
            return !found->empty();
        });
    }

    result<account_state> state_of(std::string_view dn) override {
        return with_service([&](connection& c) { return read_state(c, dn); });
    }

    result<std::vector<group_entry>> groups_of(std::string_view dn) override {
        return with_service([&](connection& c) -> result<std::vector<group_entry>> {
            return is_ad(c) ? ad_groups(c, dn) : openldap_groups(c, dn);
        });
    }

    result<void> verify_password(std::string_view dn, std::string_view password) override {
        return with_users([&](connection& c) {
            return c.bind(operation_kind::user_bind, dn, password, !is_ad_known());
        });
    }

    result<void> reset_password(std::string_view dn, std::string_view new_password,
                                const reset_options& options) override {
        if (auto valid = check_new_password(new_password); !valid) {
            return valid;
        }
        return write_verified(
            dn, new_password,
            [&](connection& c) -> result<void> {
                // A disabled account stays disabled: OpenLDAP's reset would lift an administrative
                // lock, and neither directory should be handed a password for an account nobody
                // uses.
                auto state = read_state(c, dn);
                if (!state) {
                    return state.error();
                }
                if (state->disabled) {
                    return failure(error::account_disabled, "reset refused: account is disabled");
                }
                return is_ad(c) ? ad_reset(c, dn, new_password, options)
                                : openldap_reset(c, dn, new_password, options);
            },
            /*as_user=*/false);
    }

    result<void> change_password(std::string_view dn, std::string_view old_password,
                                 std::string_view new_password) override {
        if (old_password.empty()) {
            return failure(error::wrong_current_password, "empty current password");
        }
        if (auto valid = check_new_password(new_password); !valid) {
            return valid;
        }
        return write_verified(
            dn, new_password,
            [&](connection& c) -> result<void> {
                const bool ad = is_ad_known();
                auto bound = c.bind(operation_kind::change, dn, old_password, !ad);
                if (!bound && !(bound.error().is(error::must_change_password) ||
                                (ad && bound.error().is(error::password_expired)))) {
                    return bound.error();
                }
                if (!ad) {
                    // OpenLDAP: the bind succeeded (a pending must-change still allows the exop).
                    return c.password_modify(operation_kind::change, "", old_password,
                                             new_password);
                }
                if (bound) {
                    return ad_change(c, dn, old_password, new_password);
                }
                // AD refuses LDAP binds of a user whose password must change or has expired (773,
                // 532) although the old password was right. The delete/add change is still checked
                // against the old password by AD, so it can run on the service connection.
                return with_service(
                    [&](connection& s) { return ad_change(s, dn, old_password, new_password); });
            },
            /*as_user=*/true);
    }

    result<void> unlock(std::string_view dn) override {
        return with_service([&](connection& c) -> result<void> {
            if (is_ad(c)) {
                return c.modify(operation_kind::unlock, std::string(dn),
                                {{LDAP_MOD_REPLACE, "lockoutTime", {"0"}}}, {});
            }
            auto state = read_state(c, dn);
            if (!state) {
                return state.error();
            }
            if (state->disabled) {
                return failure(error::account_disabled, "unlock refused: account is disabled");
            }
            if (!state->locked) {
                return {};
            }
            auto done = c.modify(operation_kind::unlock, std::string(dn),
                                 {{LDAP_MOD_DELETE, "pwdAccountLockedTime", {}}}, {});
            if (!done && done.error().ldap_result == LDAP_NO_SUCH_ATTRIBUTE) {
                return {}; // unlocked meanwhile (noSuchAttribute)
            }
            return done;
        });
    }

private:
    // --- connection handling -------------------------------------------------------------------

    result<void> prepare_service(connection& c) {
        if (auto bound = c.bind(operation_kind::service_bind, cfg_.bind_dn,
                                cfg_.bind_password.reveal(), false);
            !bound) {
            return bound;
        }
        if (auto root = c.read_root_dse(); !root) {
            return root;
        }
        if (cfg_.dialect == dialect_choice::detect) {
            dialect_.store(c.info().is_active_directory() ? ldap::dialect::active_directory
                                                          : ldap::dialect::openldap);
        }
        return {};
    }

    // Runs `op` on a service connection. A connection that dies under it is replaced once: reads
    // are safe to repeat (see with_pool).
    template <class Op> auto with_service(Op&& op) -> decltype(op(std::declval<connection&>())) {
        return with_pool(service_, op);
    }

    template <class Op> auto with_users(Op&& op) -> decltype(op(std::declval<connection&>())) {
        // The dialect decides how a user bind is read; learn it first if nobody has asked yet.
        if (dialect_.load() == ldap::dialect::invalid) {
            auto lease = service_.acquire();
            if (!lease) {
                return lease.error();
            }
        }
        return with_pool(users_, op);
    }

    template <class Op>
    static auto with_pool(connection_pool& pool, Op&& op)
        -> decltype(op(std::declval<connection&>())) {
        for (int attempt = 0;; ++attempt) {
            auto lease = pool.acquire(attempt == 0 ? want::any : want::new_connection);
            if (!lease) {
                return lease.error();
            }
            auto outcome = op(**lease);
            // A connection that died under the operation is worth a second try on a new one
            // (not another idle one, which may be dying with it), whether it went stale while idle
            // (the server restarted since) or was opened just now and its server went away
            // meanwhile: the pool opens the new one on the next URI when that server is gone for
            // good. A timeout is not: the server is slow or hung, and asking again would double
            // the wait.
            if (outcome || attempt > 0 || !outcome.error().is(error::server_down)) {
                return outcome;
            }
        }
    }

    // Runs a password write, then proves the directory holds the new password by binding with it.
    // A write that failed in transit is checked the same way: if the new password holds, it
    // landed; if not and the connection died under it (stale, or its server went away), it is
    // sent once more on a new connection, on the next URI when the first server is gone.
    template <class Write>
    result<void> write_verified(std::string_view dn, std::string_view new_password, Write&& write,
                                bool as_user) {
        auto& pool = as_user ? users_ : service_;
        if (as_user && dialect_.load() == ldap::dialect::invalid) {
            if (auto lease = service_.acquire(); !lease) {
                return lease.error();
            }
        }
        for (int attempt = 0;; ++attempt) {
            result<void> written = [&]() -> result<void> {
                auto lease = pool.acquire(attempt == 0 ? want::any : want::new_connection);
                if (!lease) {
                    return lease.error();
                }
                return write(**lease);
            }();
            if (written) {
                return verify_holds(dn, new_password);
            }
            const bool in_transit =
                written.error().is(error::server_down) || written.error().is(error::timeout);
            if (!in_transit) {
                return written;
            }
            if (verify_holds(dn, new_password)) {
                return {};
            }
            if (attempt > 0 || !written.error().is(error::server_down)) {
                return written;
            }
        }
    }

    result<void> verify_holds(std::string_view dn, std::string_view new_password) {
        auto bound = with_pool(users_, [&](connection& c) {
            return c.bind(operation_kind::user_bind, dn, new_password, !is_ad_known());
        });
        // A must-change or expired answer comes only after the password itself was accepted.
        if (bound || bound.error().is(error::must_change_password) ||
            bound.error().is(error::password_expired)) {
            return {};
        }
        return failure(error::not_verified,
                       "bind with the new password failed: " + bound.error().diagnostic);
    }

    // --- dialect helpers -----------------------------------------------------------------------

    bool is_ad(const connection& c) const {
        switch (cfg_.dialect) {
        case dialect_choice::active_directory:
            return true;
        case dialect_choice::openldap:
            return false;
        default:
            return c.info().is_active_directory();
        }
    }

    bool is_ad_known() const { return dialect_.load() == ldap::dialect::active_directory; }

    const std::string& user_base() const {
        return cfg_.user_base.empty() ? cfg_.base_dn : cfg_.user_base;
    }
    const std::string& group_base() const {
        return cfg_.group_base.empty() ? cfg_.base_dn : cfg_.group_base;
    }

    static result<void> check_new_password(std::string_view password) {
        if (password.empty()) {
            return failure(error::password_too_short, "empty new password");
        }
        if (password.find('\0') != std::string_view::npos || !is_valid_utf8(password)) {
            return failure(error::invalid_password_encoding, "new password is not valid UTF-8");
        }
        return {};
    }

    // --- user entries ----------------------------------------------------------------------------

    std::vector<std::string> user_attributes(bool ad) const {
        std::vector<std::string> attrs = ad ? ad_state_attributes : openldap_state_attributes;
        attrs.insert(attrs.end(), {ad ? "sAMAccountName" : "uid", "displayName", "cn"});
        attrs.insert(attrs.end(), cfg_.mail_attributes.begin(), cfg_.mail_attributes.end());
        attrs.insert(attrs.end(), cfg_.mobile_attributes.begin(), cfg_.mobile_attributes.end());
        return attrs;
    }

    user_entry user_from(const entry& e, bool ad) const {
        user_entry user;
        user.dn = e.dn;
        user.login = e.first(ad ? "sAMAccountName" : "uid");
        user.display_name = e.first("displayName");
        if (user.display_name.empty()) {
            user.display_name = e.first("cn");
        }
        for (const auto& a : cfg_.mail_attributes) {
            if (const auto* v = e.values(a)) {
                user.mail.insert(user.mail.end(), v->begin(), v->end());
            }
        }
        for (const auto& a : cfg_.mobile_attributes) {
            if (const auto* v = e.values(a)) {
                user.mobile.insert(user.mobile.end(), v->begin(), v->end());
            }
        }
        user.state = ad ? ad_state(e) : openldap_state(e);
        user.admin_count = ad && e.first("adminCount") == "1";
        return user;
    }

    // --- account state ---------------------------------------------------------------------------

    result<account_state> read_state(connection& c, std::string_view dn) const {
        const bool ad = is_ad(c);
        auto found =
            c.search(operation_kind::search, std::string(dn), LDAP_SCOPE_BASE, "(objectClass=*)",
                     ad ? ad_state_attributes : openldap_state_attributes, 1);
        if (!found) {
            return found.error();
        }
        if (found->empty()) {
            return failure(error::no_such_object, "entry not found");
        }
        return ad ? ad_state(found->front()) : openldap_state(found->front());
    }

    account_state ad_state(const entry& e) const {
        account_state s;
        const std::uint64_t uac = to_u64(e.first("userAccountControl"));
        s.disabled = (uac & uac_accountdisable) != 0;
        if (const auto computed = e.first("msDS-User-Account-Control-Computed");
            !computed.empty()) {
            const std::uint64_t bits = to_u64(computed);
            s.locked = (bits & uac_lockout) != 0;
            s.password_expired = (bits & uac_password_expired) != 0;
        } else {
            s.locked = to_i64(e.first("lockoutTime")) != 0;
        }
        const auto pwd_last_set = e.first("pwdLastSet");
        s.must_change = !pwd_last_set.empty() && to_i64(pwd_last_set) == 0;
        const std::int64_t expires = to_i64(e.first("accountExpires"));
        constexpr std::int64_t never = 0x7fffffffffffffff;
        s.account_expired =
            expires != 0 && expires != never && expires < filetime_of(clock_->system_now());
        return s;
    }

    static account_state openldap_state(const entry& e) {
        account_state s;
        const std::string locked_time = e.first("pwdAccountLockedTime");
        s.disabled = locked_time == openldap_admin_lock;
        s.locked = !locked_time.empty() && !s.disabled;
        s.must_change = e.first("pwdReset") == "TRUE";
        return s;
    }

    // --- groups
    // ------------------------------------------------------------------------------------

    result<std::vector<group_entry>> ad_groups(connection& c, std::string_view dn) const {
        // LDAP_MATCHING_RULE_IN_CHAIN walks nested membership on the server.
        const std::string filter =
            "(&(objectClass=group)(member:1.2.840.113556.1.4.1941:=" + escape_filter_value(dn) +
            "))";
        auto found = c.search(operation_kind::search, group_base(), LDAP_SCOPE_SUBTREE, filter,
                              {"cn"}, static_cast<int>(cfg_.max_groups));
        if (!found) {
            return found.error();
        }
        std::vector<group_entry> groups;
        for (const auto& e : *found) {
            groups.push_back({e.dn, e.first("cn")});
        }
        return groups;
    }

    result<std::vector<group_entry>> openldap_groups(connection& c, std::string_view dn) const {
        // Breadth-first over member/uniqueMember, bounded in depth and count, cycles ignored.
        std::vector<group_entry> groups;
        std::set<std::string> seen;
        std::vector<std::string> frontier{std::string(dn)};
        for (std::size_t depth = 0; depth < cfg_.max_group_depth && !frontier.empty(); ++depth) {
            std::string filter = "(|";
            for (const auto& member : frontier) {
                const std::string v = escape_filter_value(member);
                filter += "(member=";
                filter += v;
                filter += ")(uniqueMember=";
                filter += v;
                filter += ')';
            }
            filter += ")";
            auto found = c.search(operation_kind::search, group_base(), LDAP_SCOPE_SUBTREE, filter,
                                  {"cn"}, static_cast<int>(cfg_.max_groups));
            if (!found) {
                return found.error();
            }
            frontier.clear();
            for (auto& e : *found) {
                if (groups.size() >= cfg_.max_groups) {
                    return groups;
                }
                if (seen.insert(e.dn).second) {
                    frontier.push_back(e.dn);
                    groups.push_back({e.dn, e.first("cn")});
                }
            }
        }
        return groups;
    }

    // --- writes ----------------------------------------------------------------------------------

    result<void> ad_reset(connection& c, std::string_view dn, std::string_view password,
                          const reset_options& options) const {
        // A secret, wiped when it goes; the modification only views it.
        const auto encoded = ad_unicode_pwd(password);
        if (!encoded) {
            return failure(error::invalid_password_encoding, "new password is not valid UTF-8");
        }
        std::vector<modification> mods{{LDAP_MOD_REPLACE, "unicodePwd", {encoded->reveal()}}};
        // AD's reset leaves lockoutTime alone; clearing it in the same modify makes it one step.
        if (options.unlock) {
            mods.push_back({LDAP_MOD_REPLACE, "lockoutTime", {"0"}});
        }
        if (options.must_change || cfg_.must_change_after_reset) {
            mods.push_back({LDAP_MOD_REPLACE, "pwdLastSet", {"0"}});
        }
        std::vector<detail::control> controls;
        // Policy hints make AD apply history to a reset; sent only where the rootDSE offers them
        // (Samba refuses them when critical and ignores them otherwise).
        if (c.info().supports_control(oid_policy_hints)) {
            controls.push_back(
                {std::string(oid_policy_hints), std::string(policy_hints_value), false});
        } else if (c.info().supports_control(oid_policy_hints_deprecated)) {
            controls.push_back(
                {std::string(oid_policy_hints_deprecated), std::string(policy_hints_value), false});
        }
        return c.modify(operation_kind::reset, std::string(dn), mods, controls);
    }

    static result<void> ad_change(connection& c, std::string_view dn, std::string_view old_password,
                                  std::string_view new_password) {
        const auto old_value = ad_unicode_pwd(old_password);
        const auto new_value = ad_unicode_pwd(new_password);
        if (!old_value) {
            return failure(error::wrong_current_password, "current password is not valid UTF-8");
        }
        if (!new_value) {
            return failure(error::invalid_password_encoding, "new password is not valid UTF-8");
        }
        const std::vector<modification> mods{{LDAP_MOD_DELETE, "unicodePwd", {old_value->reveal()}},
                                             {LDAP_MOD_ADD, "unicodePwd", {new_value->reveal()}}};
        return c.modify(operation_kind::change, std::string(dn), mods, {});
    }

    result<void> openldap_reset(connection& c, std::string_view dn, std::string_view password,
                                const reset_options& options) const {
        result<void> done;
        if (cfg_.openldap_reset == openldap_reset_mode::replace_user_password) {
            // The caller's buffer itself: no std::string copy of the password is made.
            const std::vector<modification> mods{{LDAP_MOD_REPLACE, "userPassword", {password}}};
            done = c.modify(operation_kind::reset, std::string(dn), mods,
                            {{std::string(oid_ppolicy_request), {}, false}});
        } else {
            if (!c.info().supports_extension(oid_password_modify)) {
                return failure(error::unsupported,
                               "server does not offer the Password Modify exop");
            }
            done = c.password_modify(operation_kind::reset, dn, "", password);
        }
        if (!done) {
            return done;
        }
        // OpenLDAP lifts a lockout on an administrative reset by itself (options.unlock is moot).
        if (options.must_change || cfg_.must_change_after_reset) {
            return c.modify(operation_kind::reset, std::string(dn),
                            {{LDAP_MOD_REPLACE, "pwdReset", {"TRUE"}}}, {});
        }
        return {};
    }

    config cfg_;
    std::shared_ptr<const common::clock> clock_;
    std::shared_ptr<uri_selector> selector_;
    connection_pool service_;
    connection_pool users_; // unbound connections for binds as users; rebound on each use
    std::atomic<ldap::dialect> dialect_{ldap::dialect::invalid};
};

} // namespace

std::unique_ptr<directory> make_directory(config cfg, std::shared_ptr<const common::clock> clock) {
    if (cfg.uris.empty()) {
        throw std::invalid_argument("directory: at least one URI is required");
    }
    for (const auto& uri : cfg.uris) {
        const bool ldaps = uri.starts_with("ldaps://");
        const bool ldap = uri.starts_with("ldap://");
        const bool ldapi = uri.starts_with("ldapi://");
        if (!ldaps && !ldap && !ldapi) {
            throw std::invalid_argument("directory: URI must be ldaps://, ldap:// or ldapi://: " +
                                        uri);
        }
        if (ldap && !cfg.start_tls) {
            common::log(
                common::log_level::warning,
                "directory: plain LDAP without StartTLS; passwords cross the network in clear",
                {{"uri", uri}});
        }
    }
    if (!cfg.tls_verify) {
        common::log(common::log_level::warning,
                    "directory: TLS certificate verification is OFF; anyone on the path can "
                    "impersonate the directory");
    }
    if (cfg.base_dn.empty()) {
        throw std::invalid_argument("directory: base DN is required");
    }
    if (!cfg.user_filter.empty() && !is_valid_filter_template(cfg.user_filter)) {
        throw std::invalid_argument(
            "directory: user filter must be a parenthesised filter containing {login}");
    }
    if (cfg.bind_dn.empty() || cfg.bind_password.empty()) {
        throw std::invalid_argument("directory: service account DN and password are required");
    }
    if (cfg.dialect == dialect_choice::invalid) {
        throw std::invalid_argument(
            "directory: dialect must be detect, active_directory or openldap");
    }
    if (cfg.pool_size == 0 || cfg.pipeline_window == 0 || cfg.connect_timeout.count() <= 0 ||
        cfg.operation_timeout.count() <= 0 || cfg.acquire_timeout.count() <= 0 ||
        cfg.backoff_min.count() <= 0 || cfg.backoff_max < cfg.backoff_min) {
        throw std::invalid_argument("directory: pool size, pipeline window, timeouts and backoff "
                                    "must be positive (backoff max >= min)");
    }
    if (cfg.openldap_reset == openldap_reset_mode::invalid) {
        throw std::invalid_argument("directory: OpenLDAP reset mode must be set");
    }
    return std::make_unique<ldap_directory>(std::move(cfg), std::move(clock));
}

} // namespace sspr::ldap
