#include "config/validate.hpp"

#include "config/logo.hpp"
#include "config/reader.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/parse.hpp>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <set>

namespace sspr::config::detail {

// ---- spellings ----------------------------------------------------------------------------------

namespace {

bool parse_port(std::string_view s) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), port);
    return !s.empty() && ec == std::errc{} && end == s.data() + s.size() && port >= 1 &&
           port <= 65535 && s.front() != '0';
}

bool is_ipv4(std::string_view s) {
    in_addr a{};
    return s.size() < 16 && inet_pton(AF_INET, std::string(s).c_str(), &a) == 1;
}

bool is_ipv6(std::string_view s) {
    in6_addr a{};
    return s.size() < 46 && inet_pton(AF_INET6, std::string(s).c_str(), &a) == 1;
}

bool is_hostname(std::string_view s) {
    if (s.empty() || s.size() > 253) {
        return false;
    }
    std::size_t label = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '.') {
            if (label == 0 || s[i - 1] == '-') {
                return false;
            }
            label = 0;
            continue;
        }
        if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '-') {
            return false;
        }
        if (c == '-' && label == 0) {
            return false;
        }
        if (++label > 63) {
            return false;
        }
    }
    return label > 0 && s.back() != '-';
}

std::string lower(std::string_view s) {
    std::string out;
    for (const char c : s) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

/// DNs compared the way admins write them: case and the blanks after commas do not matter.
std::string dn_key(std::string_view dn) {
    std::string out;
    bool after_comma = false;
    for (const char c : dn) {
        if (after_comma && c == ' ') {
            continue;
        }
        after_comma = c == ',';
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

bool is_below(std::string_view dn, std::string_view base) {
    const std::string d = dn_key(dn);
    const std::string b = dn_key(base);
    return d == b || (d.size() > b.size() && d.compare(d.size() - b.size(), b.size(), b) == 0 &&
                      d[d.size() - b.size() - 1] == ',');
}

bool is_attribute_name(std::string_view s) {
    if (s.empty() || std::isalpha(static_cast<unsigned char>(s.front())) == 0) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == ';';
    });
}

bool secret_looking(std::string_view name) {
    const std::string l = lower(name);
    for (const char* word : {"key", "token", "secret", "password", "passwd", "pass", "auth",
                             "signature", "sig", "credential"}) {
        if (l.find(word) != std::string::npos) {
            return true;
        }
    }
    return false;
}

struct url_problem {
    std::string message; // empty: fine
};

/// An https:// URL without credentials. `origin_only`: no path, query or fragment either.
url_problem check_https_url(std::string_view text, bool origin_only) {
    const auto parsed = boost::urls::parse_uri(text);
    if (!parsed) {
        return {"not a valid URL"};
    }
    const auto& u = *parsed;
    if (lower(u.scheme()) != "https") {
        return {"must be an https:// URL"};
    }
    if (u.has_userinfo()) {
        // user:password@host would be an inline secret; it is not repeated here.
        return {"must not hold credentials (user:password@); they are secrets"};
    }
    if (u.encoded_host().empty()) {
        return {"has no host"};
    }
    if (u.has_port() && !parse_port(u.port())) {
        return {"has an invalid port"};
    }
    if (origin_only) {
        if (!u.encoded_path().empty() || u.has_query() || u.has_fragment()) {
            return {"an origin is scheme://host[:port] only, without a path, query or /"};
        }
        return {};
    }
    if (u.has_fragment()) {
        return {"must not have a #fragment"};
    }
    return {};
}

/// The delivery layer escapes values for JSON strings and puts them where the placeholders are.
bool is_json_template(std::string_view tmpl) {
    std::string sample(tmpl);
    for (const auto& [placeholder, value] :
         {std::pair<std::string_view, std::string_view>{"{to}", "+10000000000"},
          {"{message}", "a \\\"quoted\\\" line"}}) {
        for (auto at = sample.find(placeholder); at != std::string::npos;
             at = sample.find(placeholder, at + value.size())) {
            sample.replace(at, placeholder.size(), value);
        }
    }
    boost::system::error_code ec;
    const auto parsed = boost::json::parse(sample, ec);
    return !ec && (parsed.is_object() || parsed.is_array());
}

} // namespace

bool is_host_port(std::string_view s) {
    const auto colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
        return false;
    }
    const std::string_view host = s.substr(0, colon);
    if (!parse_port(s.substr(colon + 1))) {
        return false;
    }
    if (host.front() == '[') {
        return host.size() > 2 && host.back() == ']' && is_ipv6(host.substr(1, host.size() - 2));
    }
    return is_ipv4(host) || is_hostname(host);
}

bool is_ip_or_cidr(std::string_view s) {
    const auto slash = s.find('/');
    const std::string_view address = s.substr(0, slash);
    const bool v4 = is_ipv4(address);
    const bool v6 = !v4 && is_ipv6(address);
    if (!v4 && !v6) {
        return false;
    }
    if (slash == std::string_view::npos) {
        return true;
    }
    const std::string_view prefix = s.substr(slash + 1);
    unsigned bits = 0;
    const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
    return !prefix.empty() && ec == std::errc{} && end == prefix.data() + prefix.size() &&
           bits <= (v4 ? 32U : 128U);
}

bool looks_like_dn(std::string_view s) {
    // attr=value(,attr=value)*: enough to catch a name or a URL where a DN belongs.
    const auto eq = s.find('=');
    return eq != std::string_view::npos && eq > 0 && is_attribute_name(s.substr(0, eq)) &&
           eq + 1 < s.size();
}

bool looks_like_email(std::string_view s) {
    const auto at = s.find('@');
    if (at == std::string_view::npos || at == 0 || at != s.rfind('@') || s.size() > 254) {
        return false;
    }
    const std::string_view domain = s.substr(at + 1);
    return domain.find('.') != std::string_view::npos && is_hostname(domain) &&
           std::none_of(s.begin(), s.end(), [](char c) {
               return c == ' ' || c == '<' || c == '>' || c == ',' || c == ';';
           });
}

bool looks_like_mailbox(std::string_view s) {
    const auto open = s.rfind('<');
    if (open == std::string_view::npos) {
        return looks_like_email(s);
    }
    // "Display Name <address>": the display name may hold anything but the angle brackets.
    return s.back() == '>' && s.find('<') == open && s.find('>') == s.size() - 1 &&
           looks_like_email(s.substr(open + 1, s.size() - open - 2));
}

bool is_balanced_filter(std::string_view s) {
    if (s.size() < 3 || s.front() != '(' || s.back() != ')') {
        return false;
    }
    int depth = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '(') {
            ++depth;
        } else if (s[i] == ')') {
            if (--depth < 0) {
                return false;
            }
            // The outermost pair closes only at the end: "(a=1)(b=2)" is two filters, not one.
            if (depth == 0 && i + 1 != s.size()) {
                return false;
            }
        }
    }
    return depth == 0;
}

std::string_view to_string(method m) noexcept {
    switch (m) {
    case method::email:
        return "email";
    case method::sms:
        return "sms";
    case method::totp:
        return "totp";
    case method::questions:
        return "questions";
    case method::invalid:
        break;
    }
    return "invalid";
}

std::vector<method> enabled_methods(const config& c) {
    std::vector<method> m;
    if (c.methods.email.enabled) {
        m.push_back(method::email);
    }
    if (c.methods.sms.enabled) {
        m.push_back(method::sms);
    }
    if (c.methods.totp.enabled) {
        m.push_back(method::totp);
    }
    if (c.methods.questions.enabled) {
        m.push_back(method::questions);
    }
    return m;
}

std::vector<method> offered_methods(const config& c, const policy_rule* rule) {
    const std::vector<method> enabled = enabled_methods(c);
    const std::vector<method>& listed = rule != nullptr && !rule->methods.empty() ? rule->methods
                                        : !c.policy.default_methods.empty()
                                            ? c.policy.default_methods
                                            : enabled;
    std::vector<method> out;
    for (const method m : listed) {
        if (std::find(enabled.begin(), enabled.end(), m) != enabled.end()) {
            out.push_back(m);
        }
    }
    return out;
}

// ---- the checks -------------------------------------------------------------------------------

namespace {

std::string list_methods(const std::vector<method>& methods) {
    if (methods.empty()) {
        return "none";
    }
    std::string s;
    for (const method m : methods) {
        s += s.empty() ? "" : ", ";
        s += to_string(m);
    }
    return s;
}

const std::vector<method> all_methods{method::email, method::sms, method::totp, method::questions};

std::vector<method> without_questions(std::vector<method> methods) {
    methods.erase(std::remove(methods.begin(), methods.end(), method::questions), methods.end());
    return methods;
}

class checker {
public:
    checker(const config& c, context& ctx) : c_(c), ctx_(ctx), enabled_(enabled_methods(c)) {}

    void run() {
        server();
        directory();
        store();
        delivery();
        methods();
        policy();
        password();
        throttles();
        notifications();
        enrollment();
        audit();
        ui();
    }

private:
    /// Reports at `at` unless `at` or one of `related` already has an error: what follows from
    /// a wrong value is noise.
    void error(const std::string& at, const std::string& message,
               std::initializer_list<std::string_view> related = {}) {
        if (quiet(at, related)) {
            return;
        }
        // Another check's finding does not silence this one: both are worth fixing.
        ctx_.error(ctx_.position_of(at), at, message, false);
        reported_.insert(at);
    }

    void warning(const std::string& at, const std::string& message,
                 std::initializer_list<std::string_view> related = {}) {
        if (quiet(at, related)) {
            return;
        }
        ctx_.warning(ctx_.position_of(at), at, message);
    }

    bool quiet(const std::string& at, std::initializer_list<std::string_view> related) const {
        if (ctx_.failed(at)) {
            return true;
        }
        return std::any_of(related.begin(), related.end(),
                           [this](std::string_view r) { return ctx_.failed(r); });
    }

    bool enabled(method m) const {
        return std::find(enabled_.begin(), enabled_.end(), m) != enabled_.end();
    }

    static std::string at(std::string_view base, std::size_t index) {
        return index_path(std::string(base), index);
    }

    // ---- server ---------------------------------------------------------------------------------

    void server() {
        const auto& s = c_.server;
        for (std::size_t i = 0; i < s.listen.size(); ++i) {
            if (!is_host_port(s.listen[i])) {
                error(at("server.listen", i),
                      "expected host:port, e.g. 0.0.0.0:8443 or \"[::]:8443\"");
            }
        }
        if (!s.public_url.empty()) {
            if (auto p = check_https_url(s.public_url, false); !p.message.empty()) {
                error("server.public_url", p.message);
            }
        }
        for (std::size_t i = 0; i < s.trusted_proxies.size(); ++i) {
            if (!is_ip_or_cidr(s.trusted_proxies[i])) {
                error(at("server.trusted_proxies", i),
                      "expected an IP address or CIDR, e.g. 10.0.0.0/8");
            }
        }
        for (std::size_t i = 0; i < s.allowed_origins.size(); ++i) {
            if (auto p = check_https_url(s.allowed_origins[i], true); !p.message.empty()) {
                error(at("server.allowed_origins", i), p.message);
            }
        }
        // The header deadline is a part of the whole request's; a longer one would never apply.
        if (s.header_timeout > s.request_timeout) {
            // Named where the admin wrote a value: a short request_timeout alone lowers it too.
            if (ctx_.present("server.header_timeout")) {
                error("server.header_timeout", "must not be longer than server.request_timeout",
                      {"server.request_timeout"});
            } else {
                error("server.request_timeout",
                      "must not be shorter than server.header_timeout (default 10s)",
                      {"server.header_timeout"});
            }
        }
    }

    // ---- directory ------------------------------------------------------------------------------

    void directory() {
        const auto& d = c_.directory;
        for (std::size_t i = 0; i < d.uris.size(); ++i) {
            const std::string& uri = d.uris[i];
            const std::string l = lower(uri);
            const std::string path = at("directory.uris", i);
            if (l.rfind("ldaps://", 0) == 0 || l.rfind("ldapi://", 0) == 0) {
                continue;
            }
            if (l.rfind("ldap://", 0) != 0) {
                error(path, "expected an ldaps://, ldap:// or ldapi:// URI");
                continue;
            }
            if (!d.start_tls) {
                warning(path,
                        "plain LDAP without StartTLS: passwords would cross the network in clear, "
                        "and Active Directory refuses password changes over it",
                        {"directory.start_tls"});
            }
        }
        if (!d.bind_dn.empty() && !looks_like_dn(d.bind_dn)) {
            error("directory.bind_dn", "expected a DN, e.g. cn=sspr,ou=services,dc=example,dc=org");
        }
        if (!d.base_dn.empty() && !looks_like_dn(d.base_dn)) {
            error("directory.base_dn", "expected a DN, e.g. dc=example,dc=org");
        }
        for (const auto& [key, value] :
             {std::pair<const char*, const std::string&>{"directory.user_base", d.user_base},
              {"directory.group_base", d.group_base}}) {
            if (value.empty()) {
                continue;
            }
            if (!looks_like_dn(value)) {
                error(key, "expected a DN");
            } else if (!d.base_dn.empty() && looks_like_dn(d.base_dn) &&
                       !is_below(value, d.base_dn)) {
                error(key, "must be base_dn or below it", {"directory.base_dn"});
            }
        }
        if (!d.user_filter.empty()) {
            if (d.user_filter.find("{login}") == std::string::npos) {
                error("directory.user_filter",
                      "must contain {login}, where the escaped login goes");
            } else if (!is_balanced_filter(d.user_filter)) {
                error("directory.user_filter",
                      "expected one LDAP filter in parentheses, e.g. (&(objectClass=person)"
                      "(uid={login}))");
            }
        }
        for (const auto& [key, list] : {std::pair<const char*, const std::vector<std::string>&>{
                                            "directory.mail_attributes", d.mail_attributes},
                                        {"directory.mobile_attributes", d.mobile_attributes}}) {
            for (std::size_t i = 0; i < list.size(); ++i) {
                if (!is_attribute_name(list[i])) {
                    error(at(key, i), "expected an LDAP attribute name");
                }
            }
        }
        if (!d.tls_verify) {
            warning("directory.tls_verify",
                    "the directory's certificate is not verified: anyone on the path can read the "
                    "service password and every new password");
        }
        if (d.backoff_min > d.backoff_max) {
            error("directory.backoff_min",
                  "must not be longer than backoff_max (" + format_duration(d.backoff_max) + ")",
                  {"directory.backoff_max"});
        }
        if (d.dialect == dialect::active_directory && ctx_.present("directory.openldap_reset")) {
            error("directory.openldap_reset", "applies to OpenLDAP only, but dialect is ad",
                  {"directory.dialect"});
        }
        if (d.dialect == dialect::openldap && d.must_change_after_reset) {
            error("directory.must_change_after_reset",
                  "applies to Active Directory only, but dialect is openldap",
                  {"directory.dialect"});
        }
    }

    // ---- store ----------------------------------------------------------------------------------

    void store() {
        const auto& s = c_.store;
        if (s.backend == store_backend::sqlite && ctx_.present("store.postgres")) {
            warning("store.postgres", "ignored: store.backend is sqlite", {"store.backend"});
        }
        if (s.backend == store_backend::postgres) {
            if (ctx_.present("store.sqlite_path")) {
                warning("store.sqlite_path", "ignored: store.backend is postgres",
                        {"store.backend"});
            }
            if (s.postgres.sslmode != "verify-full") {
                warning("store.postgres.sslmode",
                        "the database server's certificate and name are not both verified "
                        "(verify-full)");
            }
        }
        // One key must not serve two purposes, and a retired key is not the active one.
        std::vector<std::string> key_paths{"store.encryption_key_file", "store.hmac_key_file"};
        for (std::size_t i = 0; i < s.older_encryption_key_files.size(); ++i) {
            key_paths.push_back(at("store.older_encryption_key_files", i));
        }
        for (std::size_t i = 0; i < key_paths.size(); ++i) {
            const common::secret* a = ctx_.key(key_paths[i]);
            for (std::size_t k = i + 1; k < key_paths.size() && a != nullptr; ++k) {
                const common::secret* b = ctx_.key(key_paths[k]);
                if (b != nullptr && a->reveal() == b->reveal()) {
                    error(key_paths[k], "holds the same key as " + key_paths[i] +
                                            "; every key must be a different one");
                }
            }
        }
    }

    // ---- delivery -------------------------------------------------------------------------------

    void delivery() {
        const auto& m = c_.delivery.smtp;
        if (m.enabled) {
            if (m.host.empty()) {
                error("delivery.smtp.host", "required when smtp is enabled",
                      {"delivery.smtp.enabled"});
            } else if (!is_hostname(m.host) && !is_ipv4(m.host)) {
                error("delivery.smtp.host", "expected a host name or IPv4 address");
            }
            if (m.from.empty()) {
                error("delivery.smtp.from", "required when smtp is enabled",
                      {"delivery.smtp.enabled"});
            } else if (!looks_like_mailbox(m.from)) {
                error("delivery.smtp.from",
                      "expected an e-mail address, optionally as \"Name <address>\"");
            }
            if (m.tls == smtp_tls::none) {
                if (!m.username.empty()) {
                    error("delivery.smtp.tls",
                          "SMTP AUTH over an unencrypted connection would send the password in "
                          "clear; use starttls or implicit",
                          {"delivery.smtp.username"});
                } else {
                    warning("delivery.smtp.tls",
                            "codes are sent to the relay unencrypted; use starttls or implicit");
                }
            }
        }
        if (m.username.empty() != m.password_file.empty()) {
            error(m.username.empty() ? "delivery.smtp.password_file" : "delivery.smtp.username",
                  "username and password_file go together",
                  {"delivery.smtp.username", "delivery.smtp.password_file"});
        }

        const auto& s = c_.delivery.sms;
        if (s.enabled) {
            if (s.url.empty()) {
                error("delivery.sms.url", "required when sms is enabled", {"delivery.sms.enabled"});
            } else if (auto p = check_https_url(s.url, false); !p.message.empty()) {
                error("delivery.sms.url", p.message);
            } else if (const auto u = boost::urls::parse_uri(s.url); u && u->has_query()) {
                for (const auto& param : u->params()) {
                    if (secret_looking(param.key)) {
                        error("delivery.sms.url",
                              "the query parameter " + quote_for_message(param.key) +
                                  " looks like a credential; secrets are not accepted in the "
                                  "configuration file: use secret_header_files, "
                                  "bearer_token_file or basic_password_file");
                        break;
                    }
                }
            }
            bool placeholders = true;
            for (const char* placeholder : {"{to}", "{message}"}) {
                if (s.body_template.find(placeholder) == std::string::npos) {
                    error("delivery.sms.body_template", std::string("must contain ") + placeholder);
                    placeholders = false;
                }
            }
            if (placeholders && s.format == sms_body_format::json &&
                !is_json_template(s.body_template)) {
                error("delivery.sms.body_template",
                      "not a JSON object once {to} and {message} are filled in (put them inside "
                      "JSON strings)",
                      {"delivery.sms.format"});
            }
        }
        if (!s.bearer_token_file.empty() && !s.basic_password_file.empty()) {
            error("delivery.sms.basic_password_file",
                  "choose one authentication: bearer_token_file or basic_user with "
                  "basic_password_file",
                  {"delivery.sms.bearer_token_file"});
        }
        if (s.basic_user.empty() != s.basic_password_file.empty()) {
            error(s.basic_user.empty() ? "delivery.sms.basic_password_file"
                                       : "delivery.sms.basic_user",
                  "basic_user and basic_password_file go together",
                  {"delivery.sms.basic_user", "delivery.sms.basic_password_file"});
        }
        for (const auto& [header, file] : s.secret_header_files) {
            for (const auto& [plain, value] : s.headers) {
                if (lower(plain) == lower(header)) {
                    error("delivery.sms.headers." + plain,
                          "also named in secret_header_files; give it once");
                }
            }
            if (lower(header) == "authorization" &&
                (!s.bearer_token_file.empty() || !s.basic_password_file.empty())) {
                error("delivery.sms.secret_header_files." + header,
                      "Authorization is already set by bearer_token_file or basic_password_file");
            }
        }
    }

    // ---- methods --------------------------------------------------------------------------------

    void methods() {
        const auto& m = c_.methods;
        if (m.email.enabled && !c_.delivery.smtp.enabled) {
            error("methods.email.enabled", "e-mail codes need delivery.smtp.enabled: true",
                  {"delivery.smtp.enabled"});
        }
        if (m.email.enabled && c_.directory.mail_attributes.empty()) {
            error("methods.email.enabled", "e-mail codes need directory.mail_attributes",
                  {"directory.mail_attributes"});
        }
        if (m.sms.enabled && !c_.delivery.sms.enabled) {
            error("methods.sms.enabled", "text message codes need delivery.sms.enabled: true",
                  {"delivery.sms.enabled"});
        }
        if (m.sms.enabled && c_.directory.mobile_attributes.empty()) {
            error("methods.sms.enabled", "text message codes need directory.mobile_attributes",
                  {"directory.mobile_attributes"});
        }

        const auto& q = m.questions;
        std::set<std::string> ids;
        for (std::size_t i = 0; i < q.pool.size(); ++i) {
            if (!ids.insert(q.pool[i].id).second) {
                error(at("methods.questions.pool", i) + ".id", "duplicate question id");
            }
        }
        if (q.enabled) {
            if (q.register_count < q.answer_count) {
                error("methods.questions.register_count",
                      "users would register " + std::to_string(q.register_count) +
                          " question(s) but be asked " + std::to_string(q.answer_count) +
                          " (answer_count)",
                      {"methods.questions.answer_count"});
            }
            if (q.register_count > q.pool.size()) {
                error("methods.questions.register_count",
                      "users cannot register " + std::to_string(q.register_count) +
                          " questions from a pool of " + std::to_string(q.pool.size()),
                      {"methods.questions.pool"});
            }
            if (q.answer_count > q.pool.size()) {
                error("methods.questions.answer_count",
                      "more questions asked (" + std::to_string(q.answer_count) +
                          ") than the pool holds (" + std::to_string(q.pool.size()) + ")",
                      {"methods.questions.pool"});
            }
            for (std::size_t i = 0; i < q.pool.size(); ++i) {
                for (const auto& language : c_.ui.languages) {
                    if (q.pool[i].text.count(language) == 0) {
                        error(at("methods.questions.pool", i) + ".text",
                              "no text for language " + language + " (ui.languages)",
                              {"ui.languages"});
                    }
                }
            }
        }
        if (enabled_.empty() && c_.policy.scope != scope_mode::none &&
            !unknown_state(all_methods)) {
            error("methods", "no method is enabled, so nobody in scope could prove who they are",
                  {"policy.scope"});
        }
    }

    // ---- policy ---------------------------------------------------------------------------------

    /// Each listed method must be enabled; false when one is not (reported).
    bool check_enabled(const std::vector<method>& list, const std::string& path) {
        bool ok = true;
        for (std::size_t i = 0; i < list.size(); ++i) {
            if (!enabled(list[i])) {
                error(at(path, i), "method " + std::string(to_string(list[i])) +
                                       " is not enabled (methods." +
                                       std::string(to_string(list[i])) + ".enabled)");
                ok = false;
            }
        }
        return ok;
    }

    /// Gates against the methods that are really offered. `where` names the rule (or policy) and
    /// `gates_path` / `methods_path` the keys the admin would change.
    void check_gates(unsigned gates, const std::vector<method>& offered, const std::string& who,
                     const std::string& gates_path, const std::string& methods_path) {
        if (enabled_.empty() || unknown_state(listed(rule_of(methods_path)))) {
            return; // "no method is enabled" says it once; an unreadable switch says it itself
        }
        if (offered.size() == 1 && offered.front() == method::questions) {
            error(methods_path,
                  who + " offers only security questions; they are never enough alone (OWASP)",
                  {gates_path});
        } else if (offered.size() < gates) {
            error(gates_path,
                  who + " needs " + std::to_string(gates) + " gates but offers " +
                      std::to_string(offered.size()) + " enabled method" +
                      (offered.size() == 1 ? "" : "s") + " (" + list_methods(offered) + ")",
                  {methods_path});
        }
    }

    /// A DN the policy names must lie in the directory's tree. This also catches the YAML trap
    /// `ous: [OU=Staff,DC=example,DC=org]`, which is a list of four one-part "DNs".
    void check_below_base(const std::string& dn, const std::string& path) {
        const std::string& base = c_.directory.base_dn;
        if (!base.empty() && looks_like_dn(base) && !is_below(dn, base)) {
            error(path,
                  "not below directory.base_dn" +
                      std::string(dn.find(',') == std::string::npos
                                      ? " (in a [flow, list] a comma separates entries: quote "
                                        "DNs or write one per line)"
                                      : ""),
                  {"directory.base_dn"});
        }
    }

    /// Groups are named by DN or by cn; a DN must lie in the directory's tree.
    void check_group(const std::string& group, const std::string& path) {
        if (group.find('=') != std::string::npos) {
            check_below_base(group, path);
        }
    }

    /// The rule a `policy.rules[i].methods` path belongs to; nullptr for the policy's default.
    const policy_rule* rule_of(const std::string& methods_path) const {
        static constexpr std::string_view prefix = "policy.rules[";
        if (methods_path.rfind(prefix, 0) != 0) {
            return nullptr;
        }
        const std::size_t i = std::stoul(methods_path.substr(prefix.size()));
        return i < c_.policy.rules.size() ? &c_.policy.rules[i] : nullptr;
    }

    /// The methods a rule lists, before the enabled ones are picked: its own, the default list,
    /// or all four.
    std::vector<method> listed(const policy_rule* rule) const {
        if (rule != nullptr && !rule->methods.empty()) {
            return rule->methods;
        }
        if (!c_.policy.default_methods.empty()) {
            return c_.policy.default_methods;
        }
        return all_methods;
    }

    /// True when the `enabled` switch of one of these methods could not be read: what the rule
    /// offers is then unknown, and counting it would report a consequence.
    bool unknown_state(const std::vector<method>& methods) const {
        return std::any_of(methods.begin(), methods.end(), [this](method m) {
            return ctx_.failed("methods." + std::string(to_string(m)) + ".enabled");
        });
    }

    static bool names_group(const policy_rule& r, const std::string& group) {
        const std::string g = dn_key(group);
        return std::any_of(r.groups.begin(), r.groups.end(),
                           [&](const std::string& x) { return dn_key(x) == g; });
    }

    void policy() {
        const auto& p = c_.policy;
        const bool defaults_ok = check_enabled(p.default_methods, "policy.default_methods");
        for (std::size_t g = 0; g < p.admin_groups.size(); ++g) {
            check_group(p.admin_groups[g], at("policy.admin_groups", g));
        }

        if (p.scope == scope_mode::none) {
            if (!p.rules.empty()) {
                warning("policy.rules", "no rule has an effect: policy.scope is none",
                        {"policy.scope"});
            }
        }
        if (p.scope == scope_mode::all && defaults_ok) {
            check_gates(p.default_gates, offered_methods(c_, nullptr),
                        "the default (users no rule matches)", "policy.default_gates",
                        "policy.default_methods");
        }

        std::set<std::string> rule_names;
        bool any_allow = false;
        for (std::size_t i = 0; i < p.rules.size(); ++i) {
            const policy_rule& r = p.rules[i];
            const std::string base = at("policy.rules", i);
            if (!r.name.empty() && !rule_names.insert(r.name).second) {
                error(base + ".name", "duplicate rule name");
            }
            for (std::size_t k = 0; k < r.ous.size(); ++k) {
                if (!looks_like_dn(r.ous[k])) {
                    error(at(base + ".ous", k), "expected a DN, e.g. ou=staff,dc=example,dc=org");
                } else {
                    check_below_base(r.ous[k], at(base + ".ous", k));
                }
            }
            for (std::size_t k = 0; k < r.groups.size(); ++k) {
                check_group(r.groups[k], at(base + ".groups", k));
            }
            if (!r.filter.empty() && !is_balanced_filter(r.filter)) {
                error(base + ".filter", "expected one LDAP filter in parentheses");
            }
            const bool unconditional = r.groups.empty() && r.ous.empty() && r.filter.empty();
            if (unconditional && i + 1 < p.rules.size()) {
                error(at("policy.rules", i + 1),
                      "never reached: rule " + quote_for_message(r.name) +
                          " above has no groups, ous or filter, so it matches every user");
            }
            if (r.effect == rule_effect::deny) {
                for (const char* key : {"gates", "methods", "unlock", "change"}) {
                    if (ctx_.present(base + "." + key)) {
                        error(base + "." + key,
                              "a deny rule keeps users out of scope; it takes no " +
                                  std::string(key));
                    }
                }
                continue;
            }
            any_allow = true;
            if (!check_enabled(r.methods, base + ".methods") || !defaults_ok) {
                continue;
            }
            // A rule for an admin group is held to the admins' stricter check below, which
            // covers this one: two non-question methods are at least the rule's gates.
            if (std::any_of(p.admin_groups.begin(), p.admin_groups.end(),
                            [&](const std::string& g) { return names_group(r, g); })) {
                continue;
            }
            check_gates(r.gates.value_or(p.default_gates), offered_methods(c_, &r),
                        "rule " + quote_for_message(r.name),
                        r.gates ? base + ".gates" : std::string("policy.default_gates"),
                        r.methods.empty() ? std::string("policy.default_methods")
                                          : base + ".methods");
        }
        if (p.scope == scope_mode::selected && !any_allow) {
            error("policy.scope", "scope is selected but no allow rule selects anybody",
                  {"policy.rules"});
        }
        if (p.scope != scope_mode::none) {
            admins(defaults_ok);
        }
    }

    /// Admins always need two gates and never use questions. Every allow rule that names an
    /// admin group must give them that; where no rule names the group, enough such methods must
    /// be enabled. (A rule that matches admins by OU or filter only cannot be told apart here;
    /// the flows refuse such an admin at run time with the helpdesk message.)
    void admins(bool defaults_ok) {
        const auto& p = c_.policy;
        const std::vector<method> usable = without_questions(enabled_);
        std::set<std::size_t> checked;
        for (std::size_t g = 0; g < p.admin_groups.size(); ++g) {
            const std::string& group = p.admin_groups[g];
            bool named = false;
            for (std::size_t i = 0; i < p.rules.size(); ++i) {
                if (!names_group(p.rules[i], group)) {
                    continue;
                }
                named = true;
                // A deny rule keeps the group's admins out of self-service on purpose.
                if (p.rules[i].effect == rule_effect::allow && checked.insert(i).second) {
                    admin_rule(i, group, defaults_ok);
                }
            }
            if (!named && usable.size() < 2 &&
                !unknown_state({method::email, method::sms, method::totp})) {
                error(at("policy.admin_groups", g),
                      "members need two gates from methods other than security questions, "
                      "but only " +
                          std::to_string(usable.size()) + " such method" +
                          (usable.size() == 1 ? " is" : "s are") + " enabled (" +
                          list_methods(usable) + ")");
            }
        }
    }

    void admin_rule(std::size_t i, const std::string& group, bool defaults_ok) {
        const policy_rule& rule = c_.policy.rules[i];
        const std::string base = at("policy.rules", i);
        if (rule.gates && *rule.gates < 2) {
            error(base + ".gates", "names admin group " + quote_for_message(group) +
                                       ", whose members always need two gates");
        }
        // A list with a method that is not enabled was reported already.
        if (!defaults_ok || ctx_.failed(base + ".methods") ||
            reported_.count(base + ".methods") != 0 || enabled_.empty() ||
            unknown_state(listed(&rule))) {
            return;
        }
        const std::vector<method> offered = offered_methods(c_, &rule);
        const std::vector<method> for_admins = without_questions(offered);
        if (for_admins.size() >= 2) {
            return;
        }
        const std::string where = rule.methods.empty() ? base : base + ".methods";
        if (!offered.empty() && for_admins.empty()) {
            error(where, "a questions-only rule for admin group " + quote_for_message(group) +
                             "; admins may not use security questions and need two gates");
            return;
        }
        error(where,
              "names admin group " + quote_for_message(group) +
                  ", whose members need two gates from methods other than security questions; "
                  "this rule leaves " +
                  std::to_string(for_admins.size()) + " (" + list_methods(for_admins) + ")");
    }

    // ---- the rest -------------------------------------------------------------------------------

    void throttles() {
        // policy/ locks an account out through a failed_proofs bucket keyed by user; without one
        // guessing codes would only be limited per address.
        const auto& buckets = c_.throttles.buckets;
        const bool lockout = std::any_of(buckets.begin(), buckets.end(), [](const auto& b) {
            return (b.name == "failed_proofs" || b.name.rfind("failed_proofs_", 0) == 0) &&
                   b.key == throttle_key::user;
        });
        if (!lockout) {
            error("throttles.failed_proofs.key",
                  "one failed_proofs bucket must count per user: it is what locks an account "
                  "after failed proofs");
        }
    }

    void password() {
        const auto& p = c_.password;
        if (p.max_length < p.min_length) {
            error("password.max_length",
                  "shorter than min_length (" + std::to_string(p.min_length) + ")",
                  {"password.min_length"});
        }
        // Banned terms are checked by the password checker itself (policy::preflight, run by
        // the loader through load_options::semantic_checks): in code points after NFKC, as the
        // daemon counts them, not in bytes.
    }

    void notifications() {
        const auto& n = c_.notifications;
        if (!n.admin_recipients.empty() && !c_.delivery.smtp.enabled) {
            error("notifications.admin_recipients", "needs delivery.smtp.enabled: true",
                  {"delivery.smtp.enabled"});
        }
        for (std::size_t i = 0; i < n.admin_recipients.size(); ++i) {
            if (!looks_like_email(n.admin_recipients[i])) {
                error(at("notifications.admin_recipients", i), "expected an e-mail address");
            }
        }
        const bool any_channel = c_.delivery.smtp.enabled || c_.delivery.sms.enabled;
        std::string on;
        for (const auto& [key, value] : {std::pair<const char*, bool>{"on_reset", n.on_reset},
                                         {"on_change", n.on_change},
                                         {"on_unlock", n.on_unlock},
                                         {"on_enrollment_change", n.on_enrollment_change}}) {
            if (value) {
                on += on.empty() ? "" : ", ";
                on += key;
            }
        }
        if (!on.empty() && !any_channel && c_.policy.scope != scope_mode::none) {
            error("notifications",
                  "users are to be told (" + on +
                      ") but neither delivery.smtp nor delivery.sms is enabled; enable one or "
                      "set these to false",
                  {"delivery"});
        }
    }

    void enrollment() {
        const auto& e = c_.enrollment;
        if (!enabled_.empty() && e.required_methods > enabled_.size() &&
            !unknown_state(all_methods)) {
            error("enrollment.required_methods",
                  "users cannot register " + std::to_string(e.required_methods) +
                      " methods: only " + std::to_string(enabled_.size()) + " enabled (" +
                      list_methods(enabled_) + ")");
        }
        if (e.required_methods < c_.policy.default_gates) {
            error("enrollment.required_methods",
                  "policy.default_gates is " + std::to_string(c_.policy.default_gates) +
                      ", so users must register at least that many methods",
                  {"policy.default_gates"});
        }
    }

    void audit() {
        const std::string& listen = c_.audit.metrics_listen;
        if (listen.empty()) {
            return;
        }
        if (!is_host_port(listen)) {
            error("audit.metrics_listen", "expected host:port, e.g. 127.0.0.1:9464");
        } else if (const auto host = std::string_view(listen).substr(0, listen.rfind(':'));
                   host.front() != '[' && !is_ipv4(host)) {
            // The metrics endpoint binds an address; it does not resolve names.
            error("audit.metrics_listen",
                  "expected an IP address and port, not a host name, e.g. 127.0.0.1:9464 or "
                  "[::1]:9464");
        }
    }

    void ui() {
        const auto& u = c_.ui;
        if (std::find(u.languages.begin(), u.languages.end(), u.default_language) ==
            u.languages.end()) {
            error("ui.default_language", "must be one of ui.languages", {"ui.languages"});
        }
        if (!u.helpdesk_url.empty()) {
            if (auto p = check_https_url(u.helpdesk_url, false); !p.message.empty()) {
                error("ui.helpdesk_url", p.message);
            }
        }
        if (!u.helpdesk_email.empty() && !looks_like_email(u.helpdesk_email)) {
            error("ui.helpdesk_email", "expected an e-mail address");
        }
        if (!u.logo.empty()) {
            logo(u.logo);
        }
    }

    // The file exists and is readable (the key's reader checked); here: its size and kind.
    void logo(const std::string& path) {
        const auto file = ctx_.options().read_file(path, max_logo_bytes);
        if (!file.status.error.empty()) {
            error("ui.logo", "cannot use the logo file: " + file.status.error);
        } else if (logo_content_type(file.content.reveal()).empty()) {
            error("ui.logo", "not a PNG, JPEG, WebP or SVG image (judged by its content, not its "
                             "name)");
        }
    }

    const config& c_;
    context& ctx_;
    std::vector<method> enabled_;
    std::set<std::string> reported_; // paths this checker has reported an error at
};

} // namespace

void check_relations(const config& c, context& ctx) {
    checker(c, ctx).run();
}

} // namespace sspr::config::detail
