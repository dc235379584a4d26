// The admin's configuration as plain values: what config/loader.hpp produces from the YAML file
// after strict validation, and what every other folder takes its part from. In-class values are
// the defaults used when a key is absent; security-relevant keys without a safe default are
// required by the loader. Durations are written in YAML as "30s", "10m", "24h", "180d".
#pragma once

#include "common/secret.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::config {

using seconds = std::chrono::seconds;
using milliseconds = std::chrono::milliseconds;

// ---- server -----------------------------------------------------------------------------------

enum class tls_version { invalid = 0, tls1_2, tls1_3 };

struct tls_files {
    std::string certificate_file; // PEM chain; required
    std::string key_file;         // PEM key; required; checked, never read here nor echoed
    tls_version min_version = tls_version::tls1_2; // YAML: TLSv1.2 | TLSv1.3
};

struct server_config {
    std::vector<std::string> listen{"127.0.0.1:8443"}; // host:port, IPv6 as [::1]:8443
    tls_files tls;
    /// The gateway's own URL as users reach it; links are built from it, never from Host.
    std::string public_url; // required, https://
    /// Proxies whose X-Forwarded-For is believed (CIDRs).
    std::vector<std::string> trusted_proxies;
    /// Other origins (intranet pages) allowed to post forms and call the API (CORS).
    std::vector<std::string> allowed_origins;
    seconds request_timeout{30};
    std::size_t max_body_bytes = std::size_t{64} * 1024;
    /// Threads running the connections (TLS, parsing); 0 = one per core.
    unsigned io_threads = 0;
    /// Threads for the blocking work of requests (directory, store, argon2id).
    unsigned workers = 8;
    /// Requests waiting for a worker; one more is answered 503 at once instead of queueing.
    std::size_t max_queued = 256;
    /// Open connections; one more is closed as soon as it is accepted.
    std::size_t max_connections = 1024;
    /// Longest time a client may take to send the request line and headers (slow headers) and
    /// to finish the TLS handshake. At most request_timeout.
    seconds header_timeout{10};
    /// How long a kept-alive connection may wait for its next request.
    seconds idle_timeout{60};
    /// The earliest a reset/unlock start, challenge or verify, a password change or an enrollment
    /// sign-in is answered after it arrived, plus a random jitter up to response_jitter: real and
    /// unknown accounts then take the same time, whatever the directory does.
    milliseconds response_floor{250};
    milliseconds response_jitter{50};
};

// ---- directory --------------------------------------------------------------------------------

enum class dialect { invalid = 0, detect, active_directory, openldap };
enum class openldap_reset { invalid = 0, password_modify, replace_user_password };

struct directory_config {
    std::vector<std::string> uris; // required, failover order
    config::dialect dialect = dialect::detect;
    std::string bind_dn;            // required
    std::string bind_password_file; // required; the secret is read into bind_password
    common::secret bind_password;   // filled by the loader from the file, never from YAML
    std::string base_dn;            // required
    std::string user_base;
    std::string group_base;
    std::string user_filter; // must contain {login}; empty = dialect default
    std::vector<std::string> mail_attributes{"mail"};
    std::vector<std::string> mobile_attributes{"mobile"};
    std::string ca_file;
    bool tls_verify = true;
    bool start_tls = true;
    seconds connect_timeout{5};
    seconds operation_timeout{10};
    std::size_t pool_size = 4;
    std::size_t pipeline_window = 4;
    std::size_t max_waiting = 64;
    /// How long a caller may wait for a free connection before the answer is "overloaded".
    milliseconds acquire_timeout{2000};
    /// Reconnect backoff per URI after a failure: doubles from min to max.
    milliseconds backoff_min{250};
    milliseconds backoff_max{30000};
    /// OpenLDAP nested groups: how deep and how many groups a recursive search may go.
    std::size_t max_group_depth = 8;
    std::size_t max_groups = 1000;
    config::openldap_reset openldap_reset = openldap_reset::password_modify;
    bool must_change_after_reset = false;
};

// ---- store ------------------------------------------------------------------------------------

enum class store_backend { invalid = 0, sqlite, postgres };

struct postgres_config {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5432;
    std::string database = "ssprd";
    std::string user = "ssprd";
    std::string password_file;
    common::secret password;
    std::string sslmode = "verify-full"; // libpq sslmode; anything weaker only by explicit config
    std::size_t pool_size = 4;
};

struct store_config {
    store_backend backend = store_backend::sqlite;
    std::string sqlite_path = "/var/lib/ssprd/state.db";
    postgres_config postgres;
    /// AES-256-GCM key for secrets and contact data at rest; required. 32 bytes or 64 hex digits,
    /// mode 0600/0400. The loader checks the file; store/ reads it (store::load_keyring).
    std::string encryption_key_file;
    /// Keys being rotated out: still accepted for reading, never used for new values.
    std::vector<std::string> older_encryption_key_files;
    /// HMAC key for one-time codes and the masked hints of unknown users; required. 32..4096
    /// bytes as stored, mode 0600/0400. The loader checks the file; challenge/ reads it.
    std::string hmac_key_file;
};

// ---- delivery ---------------------------------------------------------------------------------

enum class smtp_tls { invalid = 0, starttls, implicit, none };

struct smtp_config {
    bool enabled = false;
    std::string host;
    std::uint16_t port = 587;
    config::smtp_tls tls = smtp_tls::starttls;
    std::string ca_file;
    std::string username;
    std::string password_file;
    common::secret password;
    std::string from; // required when enabled
    seconds timeout{15};
};

enum class sms_body_format { invalid = 0, json, form };

/// The region national phone numbers are read in when delivery.sms.default_region is absent.
inline constexpr std::string_view default_phone_region = "KR";

struct sms_config {
    bool enabled = false;
    /// Where a number without a country code is dialled from (ISO 3166-1 alpha-2, one of
    /// common::phone_regions()): "010-1234-5678" is +82 10 1234 5678 for KR. Shared by policy/
    /// (throttle keys) and delivery/ (the number sent to), so both see the same E.164 number.
    std::string default_region{default_phone_region};
    std::string url;             // https:// required when enabled
    std::string method = "POST"; // POST | PUT | PATCH
    /// PEM CA bundle for the provider's certificate; empty: the system's store.
    std::string ca_file;
    /// Extra request headers that carry no secret (the loader refuses secret-looking names).
    std::map<std::string, std::string> headers;
    /// Headers whose value is a secret (an API key): header name -> file; read into
    /// secret_headers by the loader.
    std::map<std::string, std::string> secret_header_files;
    std::map<std::string, common::secret> secret_headers;
    std::string bearer_token_file;
    std::string basic_user;
    std::string basic_password_file;
    common::secret bearer_token;
    common::secret basic_password;
    sms_body_format format = sms_body_format::json;
    /// Placeholders: {to}, {message}.
    std::string body_template = R"({"to":"{to}","text":"{message}"})";
    seconds timeout{10};
};

struct delivery_config {
    smtp_config smtp;
    sms_config sms;
    /// Messages held at once (waiting to be sent, being sent, or waiting to be retried after a
    /// transient failure); one more is refused at once (an audit event, a metric).
    std::size_t max_queued = 1000;
    /// Longest wait between two attempts of one message: the backoff starts at 500 ms and doubles
    /// up to this, with jitter; a code is retried until it expires, a notice for an hour.
    milliseconds retry_backoff_max{30000};
};

// ---- methods ----------------------------------------------------------------------------------

enum class method { invalid = 0, email, sms, totp, questions };

struct code_method_config {
    bool enabled = false;
    unsigned code_length = 6; // 6..8 digits
    seconds lifetime{600};    // NIST: at most 10 min by SMS, 24 h by email
    unsigned max_tries = 5;
};

struct totp_config {
    bool enabled = false;
    unsigned digits = 6;
    seconds period{30};
    unsigned skew_steps = 1;
    std::string issuer = "ssprd";
};

struct question {
    std::string id;                          // stable key of the stored answers; never reuse one
    std::map<std::string, std::string> text; // language -> text, one for every ui language
};

struct argon2_cost {
    std::uint32_t memory_kib = 65536;
    std::uint32_t iterations = 3;
    std::uint32_t parallelism = 1;
};

struct questions_config {
    bool enabled = false;
    std::vector<question> pool;
    unsigned register_count = 3; // how many a user registers
    unsigned answer_count = 2;   // how many are asked at reset
    unsigned min_answer_length = 3;
    argon2_cost argon2;
};

struct methods_config {
    code_method_config email;
    code_method_config sms;
    totp_config totp;
    questions_config questions;
};

// ---- policy -----------------------------------------------------------------------------------

enum class scope_mode { invalid = 0, none, selected, all };
enum class rule_effect { invalid = 0, allow, deny };

/// One rule of the scope; the first rule that matches a user decides. A rule matches when every
/// condition it names holds (groups: member of any; ous: DN below any; filter: the named filter
/// matched when the user was looked up).
struct policy_rule {
    std::string name;
    rule_effect effect = rule_effect::allow;
    std::vector<std::string> groups; // group DNs or names (cn), compared case-insensitively
    std::vector<std::string> ous;    // DN suffixes
    std::string filter;              // LDAP filter the flows evaluate; empty = none
    std::optional<unsigned> gates;   // 1 or 2; absent = policy default
    std::vector<method> methods;     // empty = policy default (default_methods)
    std::optional<bool> unlock;
    std::optional<bool> change;
};

struct policy_config {
    scope_mode scope = scope_mode::none; // required: nobody is in scope until the admin says so
    std::vector<policy_rule> rules;
    unsigned default_gates = 1;
    /// Methods a rule without its own list offers; empty = every enabled method.
    std::vector<method> default_methods;
    /// Members (direct or nested) always need two gates and may not use security questions.
    std::vector<std::string> admin_groups;
    /// AD adminCount=1 / protected accounts are refused unless this is true.
    bool allow_protected_accounts = false;
    bool allow_unlock = true;
    bool allow_change = true;
};

// ---- password rules ---------------------------------------------------------------------------

struct password_config {
    unsigned min_length = 8; // code points after NFKC
    unsigned max_length = 256;
    bool ad_complexity = false; // 3 of 4 classes, no account/display-name parts of >= 3 chars
    std::vector<std::string> banned_terms;
    std::string banned_terms_file;
    unsigned min_score = 5;    // Entra-style: each banned term 1 point, each other character 1
    std::string breached_file; // made by `ssprd breached import`; empty = no breached check
};

// ---- throttles --------------------------------------------------------------------------------

/// client_ip: the address itself (IPv6: its /64, one host's usual share); client_net: the network
/// around it (IPv6 /48, IPv4 /24), so a client that rotates through the /64s of its /48 or the
/// addresses of its /24 still meets one limit.
enum class throttle_key { invalid = 0, user, client_ip, destination, flow, client_net };

struct throttle_bucket {
    std::string name;
    throttle_key key = throttle_key::invalid;
    unsigned limit = 0;
    seconds window{0};
    seconds block{0};
};

/// Defaults no weaker than Entra's. The set of buckets is fixed (the flows count into them by
/// name); YAML `throttles.<name>.{key,limit,window,block}` changes a bucket's values.
struct throttles_config {
    std::vector<throttle_bucket> buckets{
        {"failed_proofs", throttle_key::user, 5, seconds{24 * 3600}, seconds{24 * 3600}},
        {"validations", throttle_key::user, 5, seconds{3600}, seconds{24 * 3600}},
        {"emails", throttle_key::destination, 10, seconds{600}, seconds{24 * 3600}},
        // Texts cost money and are the target of SMS-pumping fraud: fewer, per destination.
        {"texts", throttle_key::destination, 5, seconds{3600}, seconds{24 * 3600}},
        {"flow_starts_per_ip", throttle_key::client_ip, 20, seconds{600}, seconds{1800}},
        {"flow_starts_per_user", throttle_key::user, 5, seconds{600}, seconds{1800}},
        // The aggregate over a /48 (IPv6) or /24 (IPv4): one attacker owns a /48 as easily as a
        // /64, while a site's many legitimate users rarely start 200 resets in ten minutes.
        {"flow_starts_per_net", throttle_key::client_net, 200, seconds{600}, seconds{1800}},
    };
};

// ---- the rest ---------------------------------------------------------------------------------

struct notifications_config {
    bool on_reset = true;
    bool on_change = true;
    bool on_unlock = true;
    bool on_enrollment_change = true;
    /// Addresses told whenever an admin account is reset.
    std::vector<std::string> admin_recipients;
};

struct enrollment_config {
    /// Registered methods must be confirmed again after this long (0 = never).
    seconds reconfirm_after{180 * 24 * 3600};
    /// How many methods a user must have registered before a reset is possible.
    unsigned required_methods = 1;
};

struct audit_config {
    std::string path = "/var/log/ssprd/audit.jsonl";
    std::string metrics_listen; // host:port for Prometheus; empty = off
};

/// Languages the gateway's pages are translated into; ui.languages must be a subset.
inline constexpr std::array<std::string_view, 2> supported_languages{"en", "ko"};

struct ui_config {
    std::string organisation; // required: shown on every page and in every message
    std::string helpdesk_url;
    std::string helpdesk_email;
    /// PNG, JPEG, WebP or SVG file shown on every page (served at /static/logo); empty: none.
    std::string logo;
    std::vector<std::string> languages{"en", "ko"};
    std::string default_language = "en";
};

struct config {
    server_config server;
    directory_config directory;
    store_config store;
    delivery_config delivery;
    methods_config methods;
    policy_config policy;
    password_config password;
    throttles_config throttles;
    notifications_config notifications;
    enrollment_config enrollment;
    audit_config audit;
    ui_config ui;
};

} // namespace sspr::config
