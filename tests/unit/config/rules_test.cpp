// The rules that relate values to each other (config/validate.cpp), one test per rule: each shows
// the contradiction reported at the key to change, and the valid neighbour accepted.
#include "config/loader.hpp"

#include "tests/support/config_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace sspr::config;
using namespace sspr::config::testing;
using Catch::Matchers::StartsWith;

namespace {

using lines = std::vector<std::string>;

/// "path: message" of every error.
lines problems(const document& d) {
    lines out;
    const auto r = load(d.text());
    if (!r) {
        for (const auto& e : r.error().errors) {
            out.push_back(e.path + ": " + e.message);
        }
    }
    return out;
}

/// "path: message" of every warning of a document that must load.
lines warnings(const document& d) {
    const auto r = load(d.text());
    INFO(Catch::Detail::stringify(error_lines(r)));
    REQUIRE(r);
    lines out;
    for (const auto& w : r->warnings) {
        out.push_back(w.path + ": " + w.message);
    }
    return out;
}

document with(const std::string& section, const std::string& body) {
    return document::minimal().set(section, body);
}

const std::string server_head = "  public_url: https://sspr.example.org\n"
                                "  tls:\n"
                                "    certificate_file: /etc/ssprd/cert.pem\n"
                                "    key_file: /etc/ssprd/key.pem\n";

const std::string directory_head = "  uris: [ldaps://dc1.example.org]\n"
                                   "  bind_dn: cn=sspr,dc=example,dc=org\n"
                                   "  bind_password_file: /etc/ssprd/ldap.pw\n"
                                   "  base_dn: dc=example,dc=org\n";

const std::string smtp_on = "  smtp:\n    enabled: true\n    host: smtp.example.org\n"
                            "    from: sspr@example.org\n";

const std::string notifications_off = "  on_reset: false\n  on_change: false\n"
                                      "  on_unlock: false\n  on_enrollment_change: false\n";

const std::string sms_on = "  sms:\n    enabled: true\n    url: https://sms.example.org/send\n";

/// Methods with email, sms and totp enabled (needs delivery with smtp and sms).
document all_channels() {
    return document::minimal()
        .set("delivery", smtp_on + sms_on)
        .set("methods", "  email: {enabled: true}\n  sms: {enabled: true}\n"
                        "  totp: {enabled: true}\n");
}

const std::string question_pool = R"(    pool:
      - id: a
        text: {en: "Question A?", ko: "질문 A?"}
      - id: b
        text: {en: "Question B?", ko: "질문 B?"}
      - id: c
        text: {en: "Question C?", ko: "질문 C?"}
)";

} // namespace

// ---- server -----------------------------------------------------------------------------------

TEST_CASE("rules: server addresses, URL, proxies and origins are checked", "[config]") {
    CHECK(problems(with("server", server_head + "  listen: [\"8443\", \"[::]:8443\", "
                                                "\"host:99999\"]\n")) ==
          lines{"server.listen[0]: expected host:port, e.g. 0.0.0.0:8443 or \"[::]:8443\"",
                "server.listen[2]: expected host:port, e.g. 0.0.0.0:8443 or \"[::]:8443\""});
    const auto url = [](const std::string& u) {
        return problems(with("server", "  public_url: \"" + u + "\"\n" +
                                           server_head.substr(server_head.find("  tls:"))));
    };
    CHECK(url("http://sspr.example.org") == lines{"server.public_url: must be an https:// URL"});
    CHECK(url("https://u:p@sspr.example.org") ==
          lines{"server.public_url: must not hold credentials (user:password@); they are secrets"});
    CHECK(url("https://sspr.example.org/#x") ==
          lines{"server.public_url: must not have a #fragment"});
    CHECK(url("not a url") == lines{"server.public_url: not a valid URL"});
    CHECK(url("https://sspr.example.org:443/sspr").empty());

    CHECK(problems(with("server", server_head + "  trusted_proxies: [10.0.0.0/8, "
                                                "\"::1\", proxy.example.org, 10.0.0.0/40]\n")) ==
          lines{"server.trusted_proxies[2]: expected an IP address or CIDR, e.g. 10.0.0.0/8",
                "server.trusted_proxies[3]: expected an IP address or CIDR, e.g. 10.0.0.0/8"});
    CHECK(problems(with("server", server_head + "  allowed_origins: [https://intranet.example.org, "
                                                "https://a.example.org/, http://b.example.org, "
                                                "\"https://c.example.org:8443\"]\n")) ==
          lines{"server.allowed_origins[1]: an origin is scheme://host[:port] only, without a "
                "path, query or /",
                "server.allowed_origins[2]: must be an https:// URL"});
}

TEST_CASE("rules: the header deadline fits inside the request deadline", "[config]") {
    CHECK(problems(with("server", server_head + "  request_timeout: 20s\n"
                                                "  header_timeout: 30s\n")) ==
          lines{"server.header_timeout: must not be longer than server.request_timeout"});
    // Only request_timeout written: the default header_timeout (10s) no longer fits, and the
    // error names the key the admin wrote.
    CHECK(problems(with("server", server_head + "  request_timeout: 5s\n")) ==
          lines{"server.request_timeout: must not be shorter than server.header_timeout "
                "(default 10s)"});
    CHECK(problems(with("server", server_head + "  request_timeout: 5s\n"
                                                "  header_timeout: 5s\n"
                                                "  idle_timeout: 1h\n"))
              .empty());
    CHECK(problems(with("server", server_head + "  idle_timeout: 2h\n  workers: 0\n"
                                                "  io_threads: 65\n"))
              .size() == 3);
}

// ---- directory --------------------------------------------------------------------------------

TEST_CASE("rules: directory URIs, plain LDAP and certificate verification", "[config]") {
    CHECK(
        problems(with("directory", "  uris: [ldaps://dc1, ldap://dc2, ldapi:///run/slapd.sock, "
                                   "https://dc3]\n" +
                                       directory_head.substr(directory_head.find("  bind_dn")))) ==
        lines{"directory.uris[3]: expected an ldaps://, ldap:// or ldapi:// URI"});
}

TEST_CASE("rules: plain LDAP and an unverified certificate are warnings", "[config]") {
    const std::string plain = "  uris: [ldap://dc1.example.org]\n  start_tls: false\n" +
                              directory_head.substr(directory_head.find("  bind_dn"));
    CHECK(warnings(with("directory", plain)) ==
          lines{"directory.uris[0]: plain LDAP without StartTLS: passwords would cross the network "
                "in clear, and Active Directory refuses password changes over it"});
    CHECK(warnings(with("directory", directory_head + "  tls_verify: false\n")) ==
          lines{"directory.tls_verify: the directory's certificate is not verified: anyone on the "
                "path can read the service password and every new password"});
    CHECK(warnings(with("directory", "  uris: [ldap://dc1.example.org]\n" +
                                         directory_head.substr(directory_head.find("  bind_dn"))))
              .empty());
}

TEST_CASE("rules: DNs, bases below base_dn and the user filter", "[config]") {
    CHECK(problems(with("directory", "  uris: [ldaps://dc1]\n  bind_dn: sspr-service\n"
                                     "  bind_password_file: /etc/ssprd/ldap.pw\n"
                                     "  base_dn: example.org\n")) ==
          lines{"directory.bind_dn: expected a DN, e.g. cn=sspr,ou=services,dc=example,dc=org",
                "directory.base_dn: expected a DN, e.g. dc=example,dc=org"});
    CHECK(problems(with("directory", directory_head +
                                         "  user_base: \"OU=People, DC=Example, DC=Org\"\n"
                                         "  group_base: ou=groups,dc=other,dc=org\n")) ==
          lines{"directory.group_base: must be base_dn or below it"});
    CHECK(problems(with("directory", directory_head + "  user_base: people\n")) ==
          lines{"directory.user_base: expected a DN"});
    CHECK(problems(with("directory", directory_head + "  user_filter: \"(uid=*)\"\n")) ==
          lines{"directory.user_filter: must contain {login}, where the escaped login goes"});
    CHECK(problems(with("directory", directory_head + "  user_filter: \"uid={login}\"\n")) ==
          lines{"directory.user_filter: expected one LDAP filter in parentheses, e.g. "
                "(&(objectClass=person)(uid={login}))"});
    CHECK(
        problems(with("directory",
                      directory_head + "  user_filter: \"(&(objectClass=person)(uid={login}))\"\n"))
            .empty());
    CHECK(problems(with("directory", directory_head + "  mail_attributes: [mail, \"bad attr\"]\n"
                                                      "  mobile_attributes: [\"1mobile\"]\n")) ==
          lines{"directory.mail_attributes[1]: expected an LDAP attribute name",
                "directory.mobile_attributes[0]: expected an LDAP attribute name"});
}

TEST_CASE("rules: directory timing and dialect-specific settings", "[config]") {
    CHECK(problems(with("directory", directory_head + "  backoff_min: 10s\n  backoff_max: 5s\n")) ==
          lines{"directory.backoff_min: must not be longer than backoff_max (5s)"});
    CHECK(problems(with("directory",
                        directory_head + "  dialect: ad\n  openldap_reset: password_modify\n")) ==
          lines{"directory.openldap_reset: applies to OpenLDAP only, but dialect is ad"});
    CHECK(problems(with("directory", directory_head + "  dialect: auto\n"
                                                      "  openldap_reset: password_modify\n"))
              .empty());
    CHECK(
        problems(with("directory",
                      directory_head + "  dialect: openldap\n  must_change_after_reset: true\n")) ==
        lines{"directory.must_change_after_reset: applies to Active Directory only, but dialect "
              "is openldap"});
}

// ---- store ------------------------------------------------------------------------------------

TEST_CASE("rules: store settings the backend does not use, and weak PostgreSQL TLS", "[config]") {
    const std::string keys = "  encryption_key_file: /etc/ssprd/store.key\n"
                             "  hmac_key_file: /etc/ssprd/hmac.key\n";
    CHECK(warnings(with("store", keys + "  postgres: {host: db.example.org}\n")) ==
          lines{"store.postgres: ignored: store.backend is sqlite"});
    CHECK(warnings(with("store", keys + "  backend: postgres\n  sqlite_path: /var/lib/x.db\n")) ==
          lines{"store.sqlite_path: ignored: store.backend is postgres"});
    CHECK(warnings(with("store", keys + "  backend: postgres\n  postgres: {sslmode: require}\n")) ==
          lines{"store.postgres.sslmode: the database server's certificate and name are not both "
                "verified (verify-full)"});
    CHECK(warnings(with("store", keys + "  backend: postgres\n")).empty());
}

// ---- delivery ---------------------------------------------------------------------------------

TEST_CASE("rules: an enabled SMTP relay needs a host and a sender", "[config]") {
    CHECK(problems(with("delivery", "  smtp:\n    enabled: true\n")) ==
          lines{"delivery.smtp.host: required when smtp is enabled",
                "delivery.smtp.from: required when smtp is enabled"});
    CHECK(problems(with("delivery", "  smtp:\n    enabled: true\n    host: smtp_relay\n"
                                    "    from: nobody\n")) ==
          lines{"delivery.smtp.host: expected a host name or IPv4 address",
                "delivery.smtp.from: expected an e-mail address, optionally as \"Name "
                "<address>\""});
    CHECK(problems(with("delivery", smtp_on + "    port: 465\n    tls: implicit\n")).empty());
}

TEST_CASE("rules: SMTP without TLS: a warning, and an error with AUTH", "[config]") {
    CHECK(warnings(with("delivery", smtp_on + "    tls: none\n")) ==
          lines{"delivery.smtp.tls: codes are sent to the relay unencrypted; use starttls or "
                "implicit"});
    auto files = fake_system::with_standard_files();
    CHECK(problems(with("delivery", smtp_on + "    tls: none\n    username: sspr\n"
                                              "    password_file: /etc/ssprd/smtp.pw\n")) ==
          lines{"delivery.smtp.tls: SMTP AUTH over an unencrypted connection would send the "
                "password in clear; use starttls or implicit"});
    CHECK(problems(with("delivery", smtp_on + "    username: sspr\n")) ==
          lines{"delivery.smtp.username: username and password_file go together"});
    CHECK(problems(with("delivery", smtp_on + "    password_file: /etc/ssprd/smtp.pw\n")) ==
          lines{"delivery.smtp.password_file: username and password_file go together"});
}

TEST_CASE("rules: an enabled SMS webhook needs an https URL and a usable body", "[config]") {
    const auto sms = [](const std::string& extra) {
        return problems(with("delivery", smtp_on + "  sms:\n    enabled: true\n" + extra));
    };
    CHECK(sms("") == lines{"delivery.sms.url: required when sms is enabled"});
    CHECK(sms("    url: http://sms.example.org/send\n") ==
          lines{"delivery.sms.url: must be an https:// URL"});
    const std::string url = "    url: https://sms.example.org/send\n";
    CHECK(sms(url + "    body_template: '{\"text\":\"{message}\"}'\n") ==
          lines{"delivery.sms.body_template: must contain {to}"});
    CHECK(sms(url + "    body_template: '{\"to\":{to},\"text\":\"{message}\"}'\n") ==
          lines{"delivery.sms.body_template: not a JSON object once {to} and {message} are filled "
                "in (put them inside JSON strings)"});
    CHECK(sms(url + "    format: form\n    body_template: 'to={to}&text={message}'\n").empty());
    CHECK(sms(url + "    method: PATCH\n").empty());
}

TEST_CASE("rules: SMS authentication is one of bearer, basic or secret headers", "[config]") {
    auto files = fake_system::with_standard_files();
    files.file("/etc/ssprd/sms.token", "token\n").file("/etc/ssprd/sms.pw", "pw\n");
    const auto sms = [&](const std::string& extra) {
        lines out;
        const auto r = load(with("delivery", smtp_on +
                                                 "  sms:\n    enabled: true\n"
                                                 "    url: https://sms.example.org/send\n" +
                                                 extra)
                                .text(),
                            files);
        for (const auto& e : r ? std::vector<diagnostic>{} : r.error().errors) {
            out.push_back(e.path + ": " + e.message);
        }
        return out;
    };
    CHECK(sms("    bearer_token_file: /etc/ssprd/sms.token\n    basic_user: u\n"
              "    basic_password_file: /etc/ssprd/sms.pw\n") ==
          lines{"delivery.sms.basic_password_file: choose one authentication: bearer_token_file or "
                "basic_user with basic_password_file"});
    CHECK(sms("    basic_user: u\n") ==
          lines{"delivery.sms.basic_user: basic_user and basic_password_file go together"});
    CHECK(sms("    basic_password_file: /etc/ssprd/sms.pw\n") ==
          lines{"delivery.sms.basic_password_file: basic_user and basic_password_file go "
                "together"});
    CHECK(sms("    headers: {X-Api-Key-Id: 7}\n").size() == 1); // secret-looking name
    CHECK(sms("    headers: {X-Sender: a}\n    secret_header_files: "
              "{x-sender: /etc/ssprd/sms.token}\n") ==
          lines{"delivery.sms.headers.X-Sender: also named in secret_header_files; give it once"});
    CHECK(sms("    bearer_token_file: /etc/ssprd/sms.token\n"
              "    secret_header_files: {Authorization: /etc/ssprd/sms.pw}\n") ==
          lines{"delivery.sms.secret_header_files.Authorization: Authorization is already set by "
                "bearer_token_file or basic_password_file"});
    CHECK(sms("    headers: {Host: x}\n") ==
          lines{"delivery.sms.headers.Host: this header is set by ssprd itself"});
    CHECK(sms("    headers: {\"Bad Header\": x}\n") ==
          lines{"delivery.sms.headers.Bad Header: not a valid HTTP header name"});
    CHECK(sms("    headers: {Content-Type: application/json}\n").empty());
}

// ---- methods ----------------------------------------------------------------------------------

TEST_CASE("rules: code methods need their delivery channel and contact attributes", "[config]") {
    CHECK(problems(with("delivery", "  smtp: {enabled: false}\n")
                       .set("notifications", notifications_off)) ==
          lines{"methods.email.enabled: e-mail codes need delivery.smtp.enabled: true"});
    CHECK(problems(with("methods", "  sms: {enabled: true}\n  totp: {enabled: true}\n")) ==
          lines{"methods.sms.enabled: text message codes need delivery.sms.enabled: true"});
    CHECK(problems(with("directory", directory_head + "  mail_attributes: []\n")) ==
          lines{"methods.email.enabled: e-mail codes need directory.mail_attributes"});
    CHECK(problems(all_channels().set("directory", directory_head + "  mobile_attributes: []\n")) ==
          lines{"methods.sms.enabled: text message codes need directory.mobile_attributes"});
}

TEST_CASE("rules: no enabled method while users are in scope", "[config]") {
    CHECK(problems(with("methods", "  email: {enabled: false}\n")) ==
          lines{"methods: no method is enabled, so nobody in scope could prove who they are"});
    CHECK(problems(document::minimal()
                       .set("methods", "  email: {enabled: false}\n")
                       .set("policy", "  scope: none\n"))
              .empty());
}

TEST_CASE("rules: question counts against each other and the pool", "[config]") {
    const auto questions = [](const std::string& counts, const std::string& pool) {
        return problems(with("methods", "  email: {enabled: true}\n  totp: {enabled: true}\n"
                                        "  questions:\n    enabled: true\n" +
                                            counts + pool));
    };
    CHECK(questions("    register_count: 3\n    answer_count: 2\n", question_pool).empty());
    CHECK(questions("    register_count: 1\n    answer_count: 2\n", question_pool) ==
          lines{"methods.questions.register_count: users would register 1 question(s) but be "
                "asked 2 (answer_count)"});
    CHECK(questions("    register_count: 4\n    answer_count: 3\n", question_pool) ==
          lines{"methods.questions.register_count: users cannot register 4 questions from a pool "
                "of 3"});
    CHECK(
        questions("    register_count: 4\n    answer_count: 4\n", question_pool) ==
        lines{"methods.questions.register_count: users cannot register 4 questions from a pool "
              "of 3",
              "methods.questions.answer_count: more questions asked (4) than the pool holds (3)"});
    CHECK(
        questions("    register_count: 1\n    answer_count: 1\n", "") ==
        lines{"methods.questions.register_count: users cannot register 1 questions from a pool "
              "of 0",
              "methods.questions.answer_count: more questions asked (1) than the pool holds (0)"});
    // A count that is itself wrong is reported once, not again as a contradiction.
    CHECK(questions("    register_count: one\n    answer_count: 2\n", question_pool).size() == 1);
}

TEST_CASE("rules: questions need a unique id and a text in every page language", "[config]") {
    const std::string head = "  email: {enabled: true}\n  totp: {enabled: true}\n  questions:\n"
                             "    enabled: true\n    register_count: 2\n    answer_count: 1\n";
    CHECK(problems(with("methods", head + R"(    pool:
      - {id: a, text: {en: "Question A?", ko: "질문 A?"}}
      - {id: a, text: {en: "Question B?"}}
)")) == lines{"methods.questions.pool[1].id: duplicate question id",
              "methods.questions.pool[1].text: no text for language ko (ui.languages)"});
    CHECK(problems(document::minimal()
                       .set("methods", head + R"(    pool:
      - {id: a, text: {en: "Question A?"}}
      - {id: b, text: {en: "Question B?"}}
)")
                       .set("ui", "  organisation: X\n  languages: [en]\n"))
              .empty());
    CHECK(problems(with("methods", head + R"(    pool:
      - {id: a, text: {en: "Question A?", fr: "Question A ?"}}
)")) == lines{"methods.questions.pool[0].text.fr: no translation for this language; expected "
              "one of en, ko"});
}

// ---- policy -----------------------------------------------------------------------------------

TEST_CASE("rules: methods the policy names must be enabled", "[config]") {
    CHECK(problems(with("policy", "  scope: all\n  default_methods: [email, sms]\n")) ==
          lines{"policy.default_methods[1]: method sms is not enabled (methods.sms.enabled)"});
    CHECK(problems(with("policy", "  scope: all\n  rules:\n    - name: staff\n"
                                  "      groups: [staff]\n      methods: [questions, email]\n")) ==
          lines{"policy.rules[0].methods[0]: method questions is not enabled "
                "(methods.questions.enabled)"});
}

TEST_CASE("rules: two gates need two enabled methods", "[config]") {
    CHECK(problems(document::minimal()
                       .set("methods", "  email: {enabled: true}\n")
                       .set("policy", "  scope: all\n  default_gates: 2\n")
                       .set("enrollment", "  required_methods: 1\n")) ==
          lines{"policy.default_gates: the default (users no rule matches) needs 2 gates but "
                "offers 1 enabled method (email)",
                "enrollment.required_methods: policy.default_gates is 2, so users must register "
                "at least that many methods"});
    CHECK(problems(with("policy", "  scope: selected\n  rules:\n    - name: staff\n"
                                  "      groups: [staff]\n      gates: 2\n"
                                  "      methods: [totp]\n")) ==
          lines{"policy.rules[0].gates: rule 'staff' needs 2 gates but offers 1 enabled method "
                "(totp)"});
    CHECK(problems(with("policy", "  scope: selected\n  rules:\n    - name: staff\n"
                                  "      groups: [staff]\n      gates: 2\n"))
              .empty());
}

TEST_CASE("rules: security questions are never the only method", "[config]") {
    const std::string questions = "  email: {enabled: true}\n  questions:\n    enabled: true\n"
                                  "    register_count: 2\n    answer_count: 2\n" +
                                  question_pool;
    CHECK(problems(document::minimal()
                       .set("methods", questions)
                       .set("policy", "  scope: all\n  default_methods: [questions]\n")) ==
          lines{"policy.default_methods: the default (users no rule matches) offers only security "
                "questions; they are never enough alone (OWASP)"});
    CHECK(problems(document::minimal()
                       .set("methods", questions)
                       .set("policy", "  scope: all\n  rules:\n    - name: kiosk\n"
                                      "      ous: [\"ou=kiosk,dc=example,dc=org\"]\n"
                                      "      methods: [questions]\n")) ==
          lines{"policy.rules[0].methods: rule 'kiosk' offers only security questions; they are "
                "never enough alone (OWASP)"});
    CHECK(problems(document::minimal()
                       .set("methods", questions)
                       .set("policy", "  scope: all\n  default_methods: [questions, email]\n"))
              .empty());
}

TEST_CASE("rules: rule structure: names, deny rules, reachability, scope", "[config]") {
    CHECK(problems(with("policy", R"(  scope: all
  rules:
    - {name: a, groups: [x]}
    - {name: a, groups: [y]}
)")) == lines{"policy.rules[1].name: duplicate rule name"});
    CHECK(problems(with("policy", R"(  scope: all
  rules:
    - {name: guests, effect: deny, groups: [guests], gates: 2, methods: [email], unlock: true}
)")) == lines{"policy.rules[0].gates: a deny rule keeps users out of scope; it takes no gates",
              "policy.rules[0].methods: a deny rule keeps users out of scope; it takes no methods",
              "policy.rules[0].unlock: a deny rule keeps users out of scope; it takes no unlock"});
    CHECK(problems(with("policy", R"(  scope: all
  rules:
    - {name: everyone}
    - {name: staff, groups: [staff]}
)")) == lines{"policy.rules[1]: never reached: rule 'everyone' above has no groups, ous or "
              "filter, so it matches every user"});
    CHECK(problems(with("policy", "  scope: selected\n")) ==
          lines{"policy.scope: scope is selected but no allow rule selects anybody"});
    CHECK(problems(with("policy", "  scope: selected\n  rules:\n"
                                  "    - {name: guests, effect: deny, groups: [guests]}\n")) ==
          lines{"policy.scope: scope is selected but no allow rule selects anybody"});
    CHECK(warnings(with("policy", "  scope: none\n  rules:\n    - {name: staff, groups: [s]}\n")) ==
          lines{"policy.rules: no rule has an effect: policy.scope is none"});
}

TEST_CASE("rules: rule conditions: OUs and group DNs below base_dn, filters", "[config]") {
    CHECK(problems(with("policy", R"(  scope: all
  rules:
    - name: split
      ous: [OU=Staff,DC=example,DC=org]
)")) == lines{"policy.rules[0].ous[0]: not below directory.base_dn (in a [flow, list] a comma "
              "separates entries: quote DNs or write one per line)",
              "policy.rules[0].ous[1]: not below directory.base_dn (in a [flow, list] a comma "
              "separates entries: quote DNs or write one per line)",
              "policy.rules[0].ous[2]: not below directory.base_dn (in a [flow, list] a comma "
              "separates entries: quote DNs or write one per line)"});
    CHECK(problems(with("policy", R"y(  scope: all
  rules:
    - name: quoted
      ous: ["OU=Staff,DC=example,DC=org"]
      groups: ["cn=staff,ou=groups,dc=example,dc=org", Staff]
      filter: "(department=IT)"
)y"))
              .empty());
    CHECK(problems(with("policy", R"y(  scope: all
  rules:
    - name: elsewhere
      ous: [staff]
      groups: ["cn=staff,dc=other,dc=org"]
      filter: "department=IT"
)y")) == lines{"policy.rules[0].ous[0]: expected a DN, e.g. ou=staff,dc=example,dc=org",
               "policy.rules[0].groups[0]: not below directory.base_dn",
               "policy.rules[0].filter: expected one LDAP filter in parentheses"});
}

TEST_CASE("rules: admins need two gates from methods other than questions", "[config]") {
    const std::string questions = "  questions:\n    enabled: true\n    register_count: 2\n"
                                  "    answer_count: 2\n" +
                                  question_pool;
    SECTION("no rule names the group: enough non-question methods must be enabled") {
        CHECK(problems(document::minimal()
                           .set("methods", "  email: {enabled: true}\n" + questions)
                           .set("policy", "  scope: all\n  admin_groups: [Domain Admins]\n")) ==
              lines{"policy.admin_groups[0]: members need two gates from methods other than "
                    "security questions, but only 1 such method is enabled (email)"});
        CHECK(problems(with("policy", "  scope: all\n  admin_groups: [Domain Admins]\n")).empty());
    }
    SECTION("a questions-only rule for an admin group") {
        CHECK(problems(document::minimal()
                           .set("methods",
                                "  email: {enabled: true}\n  totp: {enabled: true}\n" + questions)
                           .set("policy", R"(  scope: all
  admin_groups: [Domain Admins]
  rules:
    - name: admins
      groups: [domain admins]
      gates: 2
      methods: [questions, email]
)")) == lines{"policy.rules[0].methods: names admin group 'Domain Admins', whose members need two "
              "gates from methods other than security questions; this rule leaves 1 (email)"});
        CHECK(problems(document::minimal()
                           .set("methods",
                                "  email: {enabled: true}\n  totp: {enabled: true}\n" + questions)
                           .set("policy", R"(  scope: all
  admin_groups: [Domain Admins]
  rules:
    - {name: admins, groups: [Domain Admins], gates: 1, methods: [questions]}
)")) == lines{"policy.rules[0].gates: names admin group 'Domain Admins', whose members always need "
              "two gates",
              "policy.rules[0].methods: a questions-only rule for admin group 'Domain Admins'; "
              "admins may not use security questions and need two gates"});
        CHECK(problems(document::minimal()
                           .set("methods",
                                "  email: {enabled: true}\n  totp: {enabled: true}\n" + questions)
                           .set("policy", R"(  scope: all
  admin_groups: [Domain Admins]
  default_methods: [questions, totp]
  rules:
    - {name: admins, groups: [Domain Admins], gates: 2}
)")) == lines{"policy.rules[0]: names admin group 'Domain Admins', whose members need two gates "
              "from methods other than security questions; this rule leaves 1 (totp)"});
    }
    SECTION("every allow rule naming an admin group is checked, once") {
        CHECK(problems(document::minimal()
                           .set("methods",
                                "  email: {enabled: true}\n  totp: {enabled: true}\n" + questions)
                           .set("policy", R"(  scope: all
  admin_groups: [Domain Admins, Server Admins]
  rules:
    - {name: domain, groups: [Domain Admins], ous: ["ou=a,dc=example,dc=org"]}
    - {name: both, groups: [Domain Admins, Server Admins], methods: [email, questions]}
)")) == lines{"policy.rules[1].methods: names admin group 'Domain Admins', whose members need two "
              "gates from methods other than security questions; this rule leaves 1 (email)"});
    }
    SECTION("a deny rule for the admin group keeps admins out on purpose") {
        CHECK(problems(document::minimal()
                           .set("methods", "  email: {enabled: true}\n")
                           .set("policy", R"(  scope: all
  admin_groups: [Domain Admins]
  rules:
    - {name: no-admins, effect: deny, groups: [Domain Admins]}
)"))
                  .empty());
    }
    SECTION("an admin group given as a DN must lie below base_dn") {
        CHECK(problems(with("policy", "  scope: all\n  admin_groups: [CN=Domain Admins]\n")) ==
              lines{"policy.admin_groups[0]: not below directory.base_dn (in a [flow, list] a "
                    "comma separates entries: quote DNs or write one per line)"});
    }
}

TEST_CASE("rules: one failed_proofs bucket counts per user", "[config]") {
    CHECK(problems(with("throttles", "  failed_proofs: {key: client_ip}\n")) ==
          lines{"throttles.failed_proofs.key: one failed_proofs bucket must count per user: it is "
                "what locks an account after failed proofs"});
    CHECK(problems(with("throttles", "  failed_proofs: {key: client_ip}\n"
                                     "  failed_proofs_per_user: {key: user, limit: 5, window: 1d, "
                                     "block: 1d}\n"))
              .empty());
}

// ---- the rest ---------------------------------------------------------------------------------

TEST_CASE("rules: password lengths", "[config]") {
    CHECK(problems(with("password", "  min_length: 100\n  max_length: 64\n")) ==
          lines{"password.max_length: shorter than min_length (100)"});
    // Banned terms are the password checker's to judge (tests/unit/policy/preflight_test.cpp).
    CHECK(problems(with("password", "  banned_terms: [acme, abc]\n")).empty());
}

TEST_CASE("rules: notifications need a channel that can reach people", "[config]") {
    CHECK(problems(all_channels()
                       .set("delivery", sms_on)
                       .set("methods", "  sms: {enabled: true}\n  totp: {enabled: true}\n")
                       .set("notifications", "  admin_recipients: [security@example.org]\n")) ==
          lines{"notifications.admin_recipients: needs delivery.smtp.enabled: true"});
    CHECK(problems(with("notifications", "  admin_recipients: [security]\n")) ==
          lines{"notifications.admin_recipients[0]: expected an e-mail address"});
    CHECK(problems(document::minimal()
                       .set("delivery", "  smtp: {enabled: false}\n")
                       .set("methods", "  totp: {enabled: true}\n")) ==
          lines{"notifications: users are to be told (on_reset, on_change, on_unlock, "
                "on_enrollment_change) but neither delivery.smtp nor delivery.sms is enabled; "
                "enable one or set these to false"});
    CHECK(problems(document::minimal()
                       .set("delivery", "  smtp: {enabled: false}\n")
                       .set("methods", "  totp: {enabled: true}\n")
                       .set("notifications", "  on_reset: false\n  on_change: false\n"
                                             "  on_unlock: false\n  on_enrollment_change: false\n"))
              .empty());
}

TEST_CASE("rules: enrollment requires no more methods than are enabled", "[config]") {
    CHECK(problems(with("enrollment", "  required_methods: 3\n")) ==
          lines{"enrollment.required_methods: users cannot register 3 methods: only 2 enabled "
                "(email, totp)"});
    CHECK(problems(with("enrollment", "  required_methods: 2\n  reconfirm_after: 0s\n")).empty());
}

TEST_CASE("rules: the metrics listener is host:port", "[config]") {
    CHECK(problems(with("audit", "  metrics_listen: \"9464\"\n")) ==
          lines{"audit.metrics_listen: expected host:port, e.g. 127.0.0.1:9464"});
    CHECK(problems(with("audit", "  metrics_listen: 127.0.0.1:9464\n")).empty());
    CHECK(problems(with("audit", "  metrics_listen: \"[::1]:9464\"\n")).empty());
    CHECK(problems(with("audit", "  metrics_listen: localhost:9464\n")) ==
          lines{"audit.metrics_listen: expected an IP address and port, not a host name, e.g. "
                "127.0.0.1:9464 or [::1]:9464"});
}

TEST_CASE("rules: the default language is one of the languages; helpdesk contacts", "[config]") {
    CHECK(problems(with("ui", "  organisation: X\n  languages: [ko]\n")) ==
          lines{"ui.default_language: must be one of ui.languages"});
    CHECK(problems(with("ui", "  organisation: X\n  languages: [ko]\n  default_language: ko\n"))
              .empty());
    CHECK(problems(with("ui", "  organisation: X\n  helpdesk_url: http://help\n"
                              "  helpdesk_email: help\n")) ==
          lines{"ui.helpdesk_url: must be an https:// URL",
                "ui.helpdesk_email: expected an e-mail address"});
}

TEST_CASE("rules: ui.logo is an image of at most 256 KiB, judged by its bytes", "[config]") {
    const auto logo = [](const std::string& content) {
        auto files = fake_system::with_standard_files();
        files.file("/etc/ssprd/logo.png", content, 0644);
        return error_lines(
            load(with("ui", "  organisation: X\n  logo: /etc/ssprd/logo.png\n").text(), files));
    };
    const std::string png("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16);
    CHECK(logo(png).empty());
    CHECK(
        logo("<?xml version=\"1.0\"?>\n<!-- ours -->\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>")
            .empty());
    const auto not_image = logo("<html><body>not a logo</body></html>");
    REQUIRE(not_image.size() == 1);
    CHECK_THAT(not_image[0], Catch::Matchers::Contains("ui.logo: not a PNG, JPEG, WebP or SVG"));
    const auto big = logo(png + std::string(std::size_t{256} * 1024, 'x'));
    REQUIRE(big.size() == 1);
    CHECK_THAT(big[0], Catch::Matchers::Contains("ui.logo: cannot use the logo file: larger than "
                                                 "256 KiB"));
    const auto missing =
        error_lines(load(with("ui", "  organisation: X\n  logo: /etc/ssprd/none.png\n").text()));
    REQUIRE(missing.size() == 1);
    CHECK_THAT(missing[0], Catch::Matchers::Contains("ui.logo"));
}

TEST_CASE("rules: a rule error is placed at the key to change", "[config]") {
    const std::string text = with("ui", "  organisation: X\n  languages: [ko]\n").text();
    const auto r = load(text);
    const auto e = errors_at(r, "ui.default_language");
    REQUIRE(e.size() == 1);
    // default_language is not in the file: the place is its section's.
    CHECK(e[0].line ==
          static_cast<std::size_t>(std::count(
              text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find("ui:")), '\n')) +
              2);
    CHECK_THAT(to_string(e[0]), StartsWith("test.yaml:"));
}
