#include "config/schema.hpp"

#include "common/phone.hpp"
#include "config/key_table.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <stdexcept>

namespace sspr::config::detail {
namespace {

using namespace std::chrono_literals;

// Short names for the readers, so the table below reads like the YAML it describes.
using d_s = duration_reader<seconds>;
using d_ms = duration_reader<milliseconds>;
using u_int = integer_reader<unsigned>;
using u16 = integer_reader<std::uint16_t>;
using u32 = integer_reader<std::uint32_t>;
using size = integer_reader<std::size_t>;

text_reader text(std::size_t max_length = 1024) {
    return text_reader{false, max_length};
}
text_reader name(std::size_t max_length = 1024) {
    return text_reader{true, max_length};
}
path_reader any_path() {
    return path_reader{file_check::none};
}
path_reader readable_file() {
    return path_reader{file_check::readable};
}
path_reader private_key_file() {
    return path_reader{file_check::sensitive};
}

list_reader<text_reader> names(std::size_t max_items, std::size_t min_items = 0) {
    return list_reader<text_reader>{name(), min_items, max_items, true};
}

enum_reader<method> method_names() {
    return {{{"email", method::email},
             {"sms", method::sms},
             {"totp", method::totp},
             {"questions", method::questions}}};
}

bool is_token_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
    std::string out;
    for (const char c : s) {
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::optional<std::string> header_name_problem(const std::string& header) {
    if (header.empty() || header.size() > 64 ||
        !std::all_of(header.begin(), header.end(), is_token_char)) {
        return "not a valid HTTP header name";
    }
    const std::string l = lower(header);
    for (const char* managed : {"host", "content-length", "transfer-encoding", "expect",
                                "idempotency-key", "connection"}) {
        if (l == managed) {
            return "this header is set by ssprd itself";
        }
    }
    return std::nullopt;
}

/// Plain headers go into logs and the summary: one that carries a credential belongs in
/// secret_header_files, where its value comes from a file.
std::optional<std::string> plain_header_problem(const std::string& header) {
    if (auto p = header_name_problem(header)) {
        return p;
    }
    const std::string l = lower(header);
    for (const char* word : {"auth", "key", "token", "secret", "password", "cookie", "signature"}) {
        if (l.find(word) != std::string::npos) {
            return "this header looks like it carries a secret; secrets are not accepted in the "
                   "configuration file: name a file for it in secret_header_files";
        }
    }
    return std::nullopt;
}

std::optional<std::string> language_problem(const std::string& language) {
    if (std::find(supported_languages.begin(), supported_languages.end(), language) ==
        supported_languages.end()) {
        std::string list;
        for (const auto l : supported_languages) {
            list += list.empty() ? "" : ", ";
            list += l;
        }
        return "no translation for this language; expected one of " + list;
    }
    return std::nullopt;
}

enum_reader<std::string> language_names() {
    enum_reader<std::string> r;
    for (const auto l : supported_languages) {
        r.values.emplace_back(std::string(l), std::string(l));
    }
    return r;
}

/// delivery.sms.default_region: the regions whose dialling plan common/phone.hpp knows.
enum_reader<std::string> phone_region_reader() {
    enum_reader<std::string> r;
    for (const auto region : common::phone_regions()) {
        r.values.emplace_back(std::string(region), std::string(region));
    }
    return r;
}

/// secret_header_files: header -> file; each file is read into secret_headers.
struct secret_headers_reader {
    [[nodiscard]] key_spec describe() const {
        key_spec k;
        k.kind = value_kind::map;
        key_spec item = any_path().describe();
        item.secret_file = true;
        k.item.push_back(std::move(item));
        return k;
    }
    bool read(const YAML::Node& node, const place& where, const std::string& path, sms_config& out,
              context& ctx) const {
        std::map<std::string, std::string> files;
        const map_reader<path_reader> reader{any_path(), header_name_problem, 16};
        bool ok = reader.read(node, where, path, files, ctx);
        for (const auto& [header, file] : files) {
            const std::string entry = join_path(path, header);
            const YAML::Mark mark = ctx.position_of(entry);
            common::secret value;
            if (read_secret_file(file, secret_format::line, place{mark, mark}, entry, value, ctx)) {
                out.secret_headers[header] = std::move(value);
            } else {
                ok = false;
            }
        }
        out.secret_header_files = std::move(files);
        return ok;
    }
};

/// older_encryption_key_files: each entry is a key file, checked like encryption_key_file.
struct older_keys_reader {
    static constexpr std::size_t max_keys = 8;

    [[nodiscard]] key_spec describe() const {
        key_spec k;
        k.kind = value_kind::list;
        k.max_items = max_keys;
        k.unique_items = true;
        key_spec item = any_path().describe();
        item.secret_file = true;
        k.item.push_back(std::move(item));
        return k;
    }
    bool read(const YAML::Node& node, const place& where, const std::string& path,
              std::vector<std::string>& out, context& ctx) const {
        if (!expect_list(node, where, path, ctx, 0, max_keys)) {
            return false;
        }
        bool ok = true;
        std::vector<std::string> files;
        std::size_t index = 0;
        for (const auto& element : node) {
            const std::string entry = index_path(path, index++);
            const place entry_place = item_place(element, where);
            ctx.note(entry, entry_place.value);
            std::string file;
            common::secret bytes;
            if (!any_path().read(element, entry_place, entry, file, ctx) ||
                !read_secret_file(file, secret_format::aes_key, entry_place, entry, bytes, ctx)) {
                ok = false;
                continue;
            }
            if (std::find(files.begin(), files.end(), file) != files.end()) {
                ctx.error(entry_place.value, entry, "duplicate entry");
                ok = false;
                continue;
            }
            ctx.keep_key(entry, std::move(bytes));
            files.push_back(std::move(file));
        }
        out = std::move(files);
        return ok;
    }
};

auto self = [](auto& x) -> auto& {
    return x;
};

// ---- sections ---------------------------------------------------------------------------------

object_schema<server_config> server_schema() {
    object_schema<tls_files> tls;
    tls.required("certificate_file", &tls_files::certificate_file, readable_file(),
                 "PEM certificate chain the gateway presents, leaf first.")
        .required("key_file", &tls_files::key_file, private_key_file(),
                  "PEM private key of the certificate; mode 0600 or 0400 (no access for group or "
                  "others).")
        .key("min_version", &tls_files::min_version,
             enum_reader<tls_version>{
                 {{"TLSv1.2", tls_version::tls1_2}, {"TLSv1.3", tls_version::tls1_3}}},
             "Oldest TLS version accepted from clients.");

    object_schema<server_config> s;
    s.key("listen", &server_config::listen, list_reader<text_reader>{name(), 1, 16, true},
          "Addresses to listen on, host:port; IPv6 as \"[::1]:8443\".")
        .required("public_url", &server_config::public_url, name(2048),
                  "The gateway's https:// URL as users reach it; every link in a message is built "
                  "from it, never from the Host header.")
        .required("tls", &server_config::tls, object_of(std::move(tls)), "The server certificate.")
        .key("trusted_proxies", &server_config::trusted_proxies, names(64),
             "Reverse proxies (IP or CIDR) whose X-Forwarded-For is believed.")
        .key("allowed_origins", &server_config::allowed_origins, names(64),
             "Other https:// origins (intranet pages) allowed to post the forms and call the "
             "JSON API.")
        .key("request_timeout", &server_config::request_timeout, d_s{1s, 5min},
             "Longest time a client may take to send a request.")
        .key("max_body_bytes", &server_config::max_body_bytes,
             size{1024, std::int64_t{16} * 1024 * 1024}, "Largest request body accepted.")
        .key("io_threads", &server_config::io_threads, u_int{0, 64},
             "Threads that run the connections (TLS, HTTP parsing); 0: one per core.")
        .key("workers", &server_config::workers, u_int{1, 256},
             "Threads for the blocking work of requests (directory, store, security answers).")
        .key("max_queued", &server_config::max_queued, size{1, 65536},
             "Requests waiting for a worker; one more is answered 503 at once.")
        .key("max_connections", &server_config::max_connections, size{1, 100000},
             "Open client connections; one more is closed as soon as it is accepted.")
        .key("header_timeout", &server_config::header_timeout, d_s{1s, 5min},
             "Longest time a client may take for the TLS handshake and for the request line and "
             "headers; at most request_timeout.")
        .key("idle_timeout", &server_config::idle_timeout, d_s{1s, 1h},
             "How long a kept-alive connection may wait for its next request.")
        .key(
            "response_floor", &server_config::response_floor, d_ms{0ms, 5s},
            "Earliest answer to the steps that could tell real accounts from unknown ones "
            "(start, challenge, verify, change, enrollment sign-in); hides the directory's timing.")
        .key("response_jitter", &server_config::response_jitter, d_ms{0ms, 1s},
             "Random extra delay, up to this, on top of response_floor.");
    return s;
}

object_schema<directory_config> directory_schema() {
    object_schema<directory_config> d;
    d.required("uris", &directory_config::uris, list_reader<text_reader>{name(), 1, 16, true},
               "Directory servers in failover order: ldaps://, ldap:// (StartTLS) or ldapi://.")
        .key("dialect", &directory_config::dialect,
             enum_reader<dialect>{{{"auto", dialect::detect},
                                   {"ad", dialect::active_directory},
                                   {"openldap", dialect::openldap}}},
             "auto reads the rootDSE; ad = Active Directory or Samba AD; openldap.")
        .required("bind_dn", &directory_config::bind_dn, name(),
                  "DN of the service account that searches and resets.")
        .secret_file("bind_password_file", &directory_config::bind_password_file,
                     &directory_config::bind_password, secret_format::line,
                     "File holding the service account's password on one line.", true)
        .required("base_dn", &directory_config::base_dn, name(), "The naming context.")
        .key("user_base", &directory_config::user_base, text(),
             "Where users are searched (below base_dn); empty: base_dn.")
        .key("group_base", &directory_config::group_base, text(),
             "Where groups are searched (below base_dn); empty: base_dn.")
        .key("user_filter", &directory_config::user_filter, text(),
             "LDAP filter that finds a user; {login} is replaced by the escaped login. Empty: "
             "the dialect's default.")
        .key("mail_attributes", &directory_config::mail_attributes, names(8),
             "Attributes holding e-mail addresses for codes and notices.")
        .key("mobile_attributes", &directory_config::mobile_attributes, names(8),
             "Attributes holding mobile numbers for text messages.")
        .key("ca_file", &directory_config::ca_file, readable_file(),
             "PEM CA bundle that signs the directory's certificates; empty: the system's.")
        .key("tls_verify", &directory_config::tls_verify, bool_reader{},
             "Verify the directory's certificate. Switching it off is a warning.")
        .key("start_tls", &directory_config::start_tls, bool_reader{},
             "Upgrade ldap:// connections with StartTLS.")
        .key("connect_timeout", &directory_config::connect_timeout, d_s{1s, 2min},
             "Time allowed to connect and finish the TLS handshake.")
        .key("operation_timeout", &directory_config::operation_timeout, d_s{1s, 10min},
             "Time allowed for one directory operation.")
        .key("pool_size", &directory_config::pool_size, size{1, 64},
             "Service connections kept open, and as many for binds as users.")
        .key("pipeline_window", &directory_config::pipeline_window, size{1, 8},
             "Searches and writes one service connection carries at once (pipelined).")
        .key("max_waiting", &directory_config::max_waiting, size{0, 10000},
             "Callers allowed to wait for a connection; more are refused at once.")
        .key("acquire_timeout", &directory_config::acquire_timeout, d_ms{10ms, 60s},
             "Longest wait for a free connection.")
        .key("backoff_min", &directory_config::backoff_min, d_ms{10ms, 60s},
             "First reconnect delay after a server failed; doubles up to backoff_max.")
        .key("backoff_max", &directory_config::backoff_max, d_ms{100ms, 10min},
             "Longest reconnect delay.")
        .key("max_group_depth", &directory_config::max_group_depth, size{1, 32},
             "OpenLDAP: how deep nested group membership is followed.")
        .key("max_groups", &directory_config::max_groups, size{1, 100000},
             "OpenLDAP: most groups a nested membership search may visit.")
        .key("openldap_reset", &directory_config::openldap_reset,
             enum_reader<openldap_reset>{
                 {{"password_modify", openldap_reset::password_modify},
                  {"replace_user_password", openldap_reset::replace_user_password}}},
             "OpenLDAP: RFC 3062 Password Modify (the server hashes and applies ppolicy) or a "
             "userPassword replace.")
        .key("must_change_after_reset", &directory_config::must_change_after_reset, bool_reader{},
             "AD: the user must change the password at next logon after a reset.");
    return d;
}

object_schema<store_config> store_schema() {
    object_schema<postgres_config> pg;
    pg.key("host", &postgres_config::host, name(), "PostgreSQL host name or address.")
        .key("port", &postgres_config::port, u16{1, 65535}, "PostgreSQL port.")
        .key("database", &postgres_config::database, name(), "Database name.")
        .key("user", &postgres_config::user, name(), "Role to connect as.")
        .secret_file("password_file", &postgres_config::password_file, &postgres_config::password,
                     secret_format::line,
                     "File holding the role's password; absent: peer or certificate "
                     "authentication.",
                     false)
        .key("sslmode", &postgres_config::sslmode,
             enum_reader<std::string>{{{"disable", "disable"},
                                       {"allow", "allow"},
                                       {"prefer", "prefer"},
                                       {"require", "require"},
                                       {"verify-ca", "verify-ca"},
                                       {"verify-full", "verify-full"}}},
             "libpq sslmode; anything below verify-full is a warning.")
        .key("pool_size", &postgres_config::pool_size, size{1, 64}, "Connections kept open.");

    object_schema<store_config> s;
    s.key("backend", &store_config::backend,
          enum_reader<store_backend>{
              {{"sqlite", store_backend::sqlite}, {"postgres", store_backend::postgres}}},
          "sqlite for one gateway; postgres when several gateways share their state.")
        .key("sqlite_path", &store_config::sqlite_path, any_path(),
             "SQLite database file (created when missing).")
        .key("postgres", &store_config::postgres, object_of(std::move(pg)),
             "PostgreSQL connection, used with backend: postgres.")
        .key_file("encryption_key_file", &store_config::encryption_key_file, secret_format::aes_key,
                  "File holding the AES-256 key that encrypts contact data and secrets at rest: "
                  "32 bytes or 64 hex digits (openssl rand -hex 32), mode 0600.",
                  true)
        .key("older_encryption_key_files", &store_config::older_encryption_key_files,
             older_keys_reader{},
             "Keys being rotated out: values sealed under them can still be read.")
        .key_file("hmac_key_file", &store_config::hmac_key_file, secret_format::hmac_key,
                  "File holding the key that hashes one-time codes and derives the hints shown "
                  "for unknown users: 32 to 4096 bytes (head -c 32 /dev/urandom), mode 0600. "
                  "Not the encryption key.",
                  true);
    return s;
}

object_schema<delivery_config> delivery_schema() {
    object_schema<smtp_config> smtp;
    smtp.key("enabled", &smtp_config::enabled, bool_reader{}, "Send e-mail.")
        .key("host", &smtp_config::host, text(), "SMTP relay host; required when enabled.")
        .key("port", &smtp_config::port, u16{1, 65535}, "SMTP port (587 submission, 465 TLS).")
        .key("tls", &smtp_config::tls,
             enum_reader<smtp_tls>{{{"starttls", smtp_tls::starttls},
                                    {"implicit", smtp_tls::implicit},
                                    {"none", smtp_tls::none}}},
             "starttls, implicit (port 465) or none (a warning).")
        .key("ca_file", &smtp_config::ca_file, readable_file(),
             "PEM CA bundle for the relay's certificate; empty: the system's.")
        .key("username", &smtp_config::username, text(), "SMTP AUTH user; empty: no AUTH.")
        .secret_file("password_file", &smtp_config::password_file, &smtp_config::password,
                     secret_format::line, "File holding the SMTP AUTH password.", false)
        .key("from", &smtp_config::from, text(), "Sender address; required when enabled.")
        .key("timeout", &smtp_config::timeout, d_s{1s, 2min}, "Time allowed for one message.");

    object_schema<sms_config> sms;
    sms.key("enabled", &sms_config::enabled, bool_reader{}, "Send text messages.")
        .key("default_region", &sms_config::default_region, phone_region_reader(),
             "Region (ISO 3166-1 alpha-2) a number without country code is read in, for "
             "sending and for the per-destination limits alike; default KR.")
        .key("url", &sms_config::url, text(2048),
             "https:// endpoint of the SMS provider; required when enabled.")
        .key("method", &sms_config::method,
             enum_reader<std::string>{{{"POST", "POST"}, {"PUT", "PUT"}, {"PATCH", "PATCH"}}},
             "HTTP method.")
        .key("ca_file", &sms_config::ca_file, readable_file(),
             "PEM CA bundle for the provider's certificate; empty: the system's.")
        .key("headers", &sms_config::headers,
             map_reader<text_reader>{text(), plain_header_problem, 16},
             "Extra request headers that carry no secret.")
        .key("secret_header_files", self, secret_headers_reader{},
             "Headers whose value is a secret (an API key): header name -> file holding it.")
        .secret_file("bearer_token_file", &sms_config::bearer_token_file, &sms_config::bearer_token,
                     secret_format::line,
                     "File holding a bearer token sent as Authorization: Bearer.", false)
        .key("basic_user", &sms_config::basic_user, text(), "User for HTTP basic authentication.")
        .secret_file("basic_password_file", &sms_config::basic_password_file,
                     &sms_config::basic_password, secret_format::line,
                     "File holding the password for HTTP basic authentication.", false)
        .key("format", &sms_config::format,
             enum_reader<sms_body_format>{
                 {{"json", sms_body_format::json}, {"form", sms_body_format::form}}},
             "Body encoding: json or form (application/x-www-form-urlencoded).")
        .key("body_template", &sms_config::body_template, name(4096),
             "Request body; {to} and {message} are replaced (escaped for the format).")
        .key("timeout", &sms_config::timeout, d_s{1s, 1min}, "Time allowed for one request.");

    object_schema<delivery_config> d;
    d.key("smtp", &delivery_config::smtp, object_of(std::move(smtp)), "E-mail delivery.")
        .key("sms", &delivery_config::sms, object_of(std::move(sms)),
             "Text messages through an HTTP webhook of an SMS provider.")
        .key("max_queued", &delivery_config::max_queued, size{1, 100000},
             "Messages held at once (waiting, being sent or waiting to be retried); one more is "
             "refused.")
        .key("retry_backoff_max", &delivery_config::retry_backoff_max, d_ms{1s, 10min},
             "Longest wait between two attempts of a message after a transient failure.");
    return d;
}

object_schema<code_method_config> code_schema(seconds max_lifetime, const char* what) {
    object_schema<code_method_config> c;
    c.key("enabled", &code_method_config::enabled, bool_reader{},
          std::string("Offer a code sent by ") + what + ".")
        .key("code_length", &code_method_config::code_length, u_int{6, 8}, "Digits per code.")
        .key("lifetime", &code_method_config::lifetime, d_s{1min, max_lifetime},
             "How long a code is valid.")
        .key("max_tries", &code_method_config::max_tries, u_int{1, 10},
             "Wrong entries before the code is void.");
    return c;
}

object_schema<methods_config> methods_schema() {
    object_schema<totp_config> totp;
    totp.key("enabled", &totp_config::enabled, bool_reader{}, "Offer an authenticator app code.")
        .key("digits", &totp_config::digits, u_int{6, 8}, "Digits per code.")
        .key("period", &totp_config::period, d_s{10s, 2min}, "Time step (RFC 6238 X).")
        .key("skew_steps", &totp_config::skew_steps, u_int{0, 2},
             "Steps of clock drift accepted either side.")
        .key("issuer", &totp_config::issuer, name(64), "Issuer shown in the app.");

    object_schema<argon2_cost> argon2;
    argon2.key("memory_kib", &argon2_cost::memory_kib, u32{8192, 4194304}, "Memory per hash.")
        .key("iterations", &argon2_cost::iterations, u32{1, 16}, "Passes over the memory.")
        .key("parallelism", &argon2_cost::parallelism, u32{1, 16}, "Lanes.");

    object_schema<question> q;
    q.required("id", &question::id, name(64),
               "Stable identifier of the question; stored answers refer to it.")
        .required("text", &question::text, map_reader<text_reader>{name(200), language_problem, 8},
                  "The question per language; one for every language in ui.languages.");

    object_schema<questions_config> questions;
    questions
        .key("enabled", &questions_config::enabled, bool_reader{},
             "Offer security questions (never for admins, never alone).")
        .key("pool", &questions_config::pool,
             list_reader<object_reader<question>>{object_of(std::move(q)), 0, 100, false},
             "The questions users choose from.")
        .key("register_count", &questions_config::register_count, u_int{1, 20},
             "How many questions a user answers when registering.")
        .key("answer_count", &questions_config::answer_count, u_int{1, 20},
             "How many of them are asked at a reset.")
        .key("min_answer_length", &questions_config::min_answer_length, u_int{1, 40},
             "Shortest answer accepted at registration, in characters.")
        .key("argon2", &questions_config::argon2, object_of(std::move(argon2)),
             "Cost of the Argon2id hash of each answer.");

    object_schema<methods_config> m;
    m.key("email", &methods_config::email, object_of(code_schema(24h, "e-mail")),
          "A code sent by e-mail (needs delivery.smtp).")
        .key("sms", &methods_config::sms, object_of(code_schema(10min, "text message")),
             "A code sent by text message (needs delivery.sms).")
        .key("totp", &methods_config::totp, object_of(std::move(totp)),
             "A code from an authenticator app (RFC 6238).")
        .key("questions", &methods_config::questions, object_of(std::move(questions)),
             "Security questions.");
    return m;
}

object_schema<policy_config> policy_schema() {
    object_schema<policy_rule> r;
    r.required("name", &policy_rule::name, name(64), "Name shown in check-config and the audit.")
        .key("effect", &policy_rule::effect,
             enum_reader<rule_effect>{{{"allow", rule_effect::allow}, {"deny", rule_effect::deny}}},
             "allow: the matching users are in scope; deny: they are not.")
        .key("groups", &policy_rule::groups, names(64),
             "Matches members (direct or nested) of any of these groups (DN or cn).")
        .key("ous", &policy_rule::ous, names(64), "Matches users whose DN is below any of these.")
        .key("filter", &policy_rule::filter, text(),
             "Matches users the LDAP filter matches when they are looked up.")
        .key("gates", &policy_rule::gates, optional_reader<u_int>{u_int{1, 2}},
             "Methods the user must pass: 1 or 2; default: policy.default_gates.")
        .key("methods", &policy_rule::methods,
             list_reader<enum_reader<method>>{method_names(), 1, 4, true},
             "Methods offered; default: policy.default_methods.")
        .key("unlock", &policy_rule::unlock, optional_reader<bool_reader>{},
             "May unlock the account; default: policy.allow_unlock.")
        .key("change", &policy_rule::change, optional_reader<bool_reader>{},
             "May change a known password; default: policy.allow_change.");

    object_schema<policy_config> p;
    p.required("scope", &policy_config::scope,
               enum_reader<scope_mode>{{{"none", scope_mode::none},
                                        {"selected", scope_mode::selected},
                                        {"all", scope_mode::all}}},
               "none: nobody may reset; selected: only users an allow rule matches; all: "
               "everybody but the users a deny rule matches.")
        .key("rules", &policy_config::rules,
             list_reader<object_reader<policy_rule>>{object_of(std::move(r)), 0, 100, false},
             "Checked in order; the first rule that matches a user decides.")
        .key("default_gates", &policy_config::default_gates, u_int{1, 2},
             "Gates for users whose rule does not say.")
        .key("default_methods", &policy_config::default_methods,
             list_reader<enum_reader<method>>{method_names(), 1, 4, true},
             "Methods for users whose rule does not say; default: every enabled method.")
        .key("admin_groups", &policy_config::admin_groups, names(64),
             "Members (direct or nested) always need two gates, never security questions.")
        .key("allow_protected_accounts", &policy_config::allow_protected_accounts, bool_reader{},
             "AD protected accounts (adminCount=1) may reset; refused by default.")
        .key("allow_unlock", &policy_config::allow_unlock, bool_reader{},
             "Users in scope may unlock their account.")
        .key("allow_change", &policy_config::allow_change, bool_reader{},
             "Users in scope may change a known password.");
    return p;
}

object_schema<password_config> password_schema() {
    object_schema<password_config> p;
    p.key("min_length", &password_config::min_length, u_int{8, 256},
          "Shortest password, in characters after NFKC normalisation.")
        .key("max_length", &password_config::max_length, u_int{64, 1024},
             "Longest password; at least 64 (NIST SP 800-63B).")
        .key("ad_complexity", &password_config::ad_complexity, bool_reader{},
             "Check AD's complexity rule (3 of 4 classes, no parts of the name) before sending.")
        .key("banned_terms", &password_config::banned_terms,
             list_reader<text_reader>{name(64), 0, 1000, false},
             "Organisation-specific words that count for little in a password.")
        .key("banned_terms_file", &password_config::banned_terms_file, readable_file(),
             "File with more banned terms, one per line.")
        .key("min_score", &password_config::min_score, u_int{0, 64},
             "Entra-style score a password must reach: 1 per banned term, 1 per other "
             "character.")
        .key("breached_file", &password_config::breached_file, readable_file(),
             "Breached-password list made by `ssprd breached import`; empty: no check.");
    return p;
}

struct bucket_default {
    const char* name;
    const char* description;
    std::int64_t max_limit;
};

constexpr bucket_default bucket_defaults[] = {
    {"failed_proofs", "Failed identity proofs per user (Entra: 5 in 24h, then 24h blocked).", 100},
    {"validations", "Code, app and question validations per user.", 100},
    {"emails", "E-mails sent per destination address.", 100},
    {"texts", "Text messages sent per destination number.", 100},
    {"flow_starts_per_ip", "Resets started per client address.", 100000},
    {"flow_starts_per_user", "Resets started per user.", 100},
    {"flow_starts_per_net", "Resets started per client network (IPv6 /48, IPv4 /24).", 100000},
};

enum_reader<throttle_key> throttle_keys() {
    return {{{"user", throttle_key::user},
             {"client_ip", throttle_key::client_ip},
             {"client_net", throttle_key::client_net},
             {"destination", throttle_key::destination},
             {"flow", throttle_key::flow}}};
}

/// The counters a bucket name may start with (policy/throttle.hpp, counter_of).
constexpr const char* counters[] = {"failed_proofs", "validations", "emails", "texts",
                                    "flow_starts"};

/// Names of further buckets: "<counter>_<suffix>", except the fixed names above.
std::string extra_bucket_pattern() {
    std::string fixed;
    std::string prefixes;
    for (const auto& b : bucket_defaults) {
        fixed += fixed.empty() ? "" : "|";
        fixed += b.name;
    }
    for (const char* c : counters) {
        prefixes += prefixes.empty() ? "" : "|";
        prefixes += c;
    }
    return "^(?!(?:" + fixed + ")$)(?:" + prefixes + ")_[a-z0-9_]+$";
}

object_schema<throttles_config> throttles_schema() {
    object_schema<throttles_config> t;
    for (const auto& b : bucket_defaults) {
        object_schema<throttle_bucket> bucket;
        bucket
            .key("key", &throttle_bucket::key, throttle_keys(),
                 "What is counted: per user, client_ip, client_net, destination or flow.")
            .key("limit", &throttle_bucket::limit, u_int{1, b.max_limit},
                 "Events allowed within the window.")
            .key("window", &throttle_bucket::window, d_s{1s, 30 * 24h},
                 "The window the events are counted in.")
            .key("block", &throttle_bucket::block, d_s{0s, 30 * 24h},
                 "How long further attempts are refused once the limit is passed.");
        const std::string bucket_name = b.name;
        t.key(
            bucket_name,
            [bucket_name](throttles_config& c) -> throttle_bucket& {
                for (auto& existing : c.buckets) {
                    if (existing.name == bucket_name) {
                        return existing;
                    }
                }
                // The defaults in config.hpp name every bucket listed here.
                throw std::logic_error("throttle bucket without a default: " + bucket_name);
            },
            object_of(std::move(bucket)), b.description);
    }

    // More buckets, e.g. emails_per_ip: the name says what they count; all values are given.
    object_schema<throttle_bucket> extra;
    extra
        .required("key", &throttle_bucket::key, throttle_keys(),
                  "What is counted: per user, client_ip, client_net, destination or flow.")
        .required("limit", &throttle_bucket::limit, u_int{1, 100000},
                  "Events allowed within the window.")
        .required("window", &throttle_bucket::window, d_s{1s, 30 * 24h},
                  "The window the events are counted in.")
        .key("block", &throttle_bucket::block, d_s{0s, 30 * 24h},
             "How long further attempts are refused once the limit is passed; default 0s.");
    t.pattern_key<throttle_bucket>(
        extra_bucket_pattern(),
        "a further bucket named <counter>_<suffix>, counter one of failed_proofs, validations, "
        "emails, texts, flow_starts",
        object_of(std::move(extra)),
        [](throttles_config& c, const std::string& name, throttle_bucket b) {
            b.name = name;
            c.buckets.push_back(std::move(b));
        },
        "A further bucket: the name starts with the counter it counts (failed_proofs, "
        "validations, emails, texts, flow_starts) and a suffix, e.g. emails_per_ip.");
    return t;
}

object_schema<config> build_root() {
    object_schema<notifications_config> n;
    n.key("on_reset", &notifications_config::on_reset, bool_reader{},
          "Tell the user on every registered address after a reset.")
        .key("on_change", &notifications_config::on_change, bool_reader{},
             "Tell the user after a change.")
        .key("on_unlock", &notifications_config::on_unlock, bool_reader{},
             "Tell the user after an unlock.")
        .key("on_enrollment_change", &notifications_config::on_enrollment_change, bool_reader{},
             "Tell the user when registered methods change.")
        .key("admin_recipients", &notifications_config::admin_recipients, names(32),
             "E-mail addresses told whenever an admin account is reset.");

    object_schema<enrollment_config> e;
    e.key("reconfirm_after", &enrollment_config::reconfirm_after, d_s{0s, 730 * 24h},
          "Users confirm their registered methods again after this long; 0s: never.")
        .key("required_methods", &enrollment_config::required_methods, u_int{1, 4},
             "Methods a user must register before a reset is possible.");

    object_schema<audit_config> a;
    a.key("path", &audit_config::path, any_path(), "Audit log file (JSON lines, appended).")
        .key("metrics_listen", &audit_config::metrics_listen, text(),
             "host:port for the Prometheus metrics endpoint; empty: off.");

    object_schema<ui_config> u;
    u.required("organisation", &ui_config::organisation, name(100),
               "Organisation name shown on every page and in every message.")
        .key("helpdesk_url", &ui_config::helpdesk_url, text(2048),
             "https:// link to the helpdesk, shown when self-service cannot help.")
        .key("helpdesk_email", &ui_config::helpdesk_email, text(254), "Helpdesk e-mail address.")
        .key("logo", &ui_config::logo, readable_file(),
             "PNG, JPEG, WebP or SVG file (at most 256 KiB) shown at the top of every page.")
        .key("languages", &ui_config::languages,
             list_reader<enum_reader<std::string>>{language_names(), 1, 8, true},
             "Languages of the pages and messages.")
        .key("default_language", &ui_config::default_language, language_names(),
             "Language when the browser asks for none of ui.languages.");

    object_schema<config> root;
    root.required("server", &config::server, object_of(server_schema()), "The HTTPS listener.")
        .required("directory", &config::directory, object_of(directory_schema()),
                  "The directory (Active Directory, Samba AD or OpenLDAP).")
        .required("store", &config::store, object_of(store_schema()),
                  "Where flows, throttle counters and registrations are kept.")
        .key("delivery", &config::delivery, object_of(delivery_schema()),
             "How codes and notices reach users.")
        .key("methods", &config::methods, object_of(methods_schema()),
             "The ways a user proves who they are.")
        .required("policy", &config::policy, object_of(policy_schema()),
                  "Who may reset, unlock and change, with which methods.")
        .key("password", &config::password, object_of(password_schema()),
             "Rules a new password must meet before it is sent to the directory.")
        .key("throttles", &config::throttles, object_of(throttles_schema()),
             "Rate limits; each bucket's values can be changed, none removed.")
        .key("notifications", &config::notifications, object_of(std::move(n)),
             "Messages sent after changes.")
        .key("enrollment", &config::enrollment, object_of(std::move(e)), "Registration of methods.")
        .key("audit", &config::audit, object_of(std::move(a)), "Audit log and metrics.")
        .required("ui", &config::ui, object_of(std::move(u)), "What the pages show.");
    return root;
}

} // namespace

const object_schema<config>& root_schema() {
    static const object_schema<config> root = build_root();
    return root;
}

const std::vector<std::string>& throttle_bucket_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> n;
        for (const auto& b : bucket_defaults) {
            n.emplace_back(b.name);
        }
        return n;
    }();
    return names;
}

} // namespace sspr::config::detail

namespace sspr::config {

const key_spec& key_table() {
    static const key_spec table = [] {
        key_spec k = detail::root_schema().describe();
        k.name = "ssprd";
        k.description = "ssprd configuration";
        return k;
    }();
    return table;
}

const char* to_string(value_kind kind) noexcept {
    switch (kind) {
    case value_kind::object:
        return "object";
    case value_kind::list:
        return "list";
    case value_kind::map:
        return "map";
    case value_kind::string:
        return "string";
    case value_kind::path:
        return "path";
    case value_kind::boolean:
        return "boolean";
    case value_kind::integer:
        return "integer";
    case value_kind::duration:
        return "duration";
    case value_kind::enumeration:
        return "enumeration";
    case value_kind::invalid:
        break;
    }
    return "invalid";
}

} // namespace sspr::config
