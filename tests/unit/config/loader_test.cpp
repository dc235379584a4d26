// The loader's key checks (config/loader.hpp): required keys, unknown keys, types, ranges, YAML
// syntax, positions (1-based line:column) and environment references in paths. The rules that
// relate values to each other are in rules_test.cpp, secret files in secrets_test.cpp.
#include "config/loader.hpp"

#include "tests/support/config_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace sspr::config;
using namespace sspr::config::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;

namespace {

/// The single error a document produces (the test fails when there are more or none).
diagnostic only_error(const std::string& yaml) {
    const auto r = load(yaml);
    INFO(yaml);
    INFO(Catch::Detail::stringify(error_lines(r)));
    REQUIRE_FALSE(r);
    REQUIRE(r.error().errors.size() == 1);
    return r.error().errors.front();
}

/// The 1-based line of the first occurrence of `needle`.
std::size_t line_of(const std::string& text, const std::string& needle) {
    const auto at = text.find(needle);
    REQUIRE(at != std::string::npos);
    return static_cast<std::size_t>(
               std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(at), '\n')) +
           1;
}

/// The minimal document with `body` as its `section`.
std::string with(const std::string& section, const std::string& body) {
    return document::minimal().set(section, body).text();
}

const char* minimal_directory = R"(  uris: [ldaps://dc1.example.org]
  bind_dn: cn=sspr,dc=example,dc=org
  bind_password_file: /etc/ssprd/ldap.pw
  base_dn: dc=example,dc=org
)";

} // namespace

TEST_CASE("loader: the minimal document loads, and absent keys keep their defaults", "[config]") {
    const auto r = load(document::minimal().text());
    INFO(Catch::Detail::stringify(error_lines(r)));
    REQUIRE(r);
    CHECK(r->warnings.empty());
    const config& c = r->value;
    CHECK(c.server.listen == std::vector<std::string>{"127.0.0.1:8443"});
    CHECK(c.server.tls.min_version == tls_version::tls1_2);
    CHECK(c.directory.dialect == dialect::detect);
    CHECK(c.directory.start_tls);
    CHECK(c.directory.tls_verify);
    CHECK(c.directory.pool_size == 4);
    CHECK(c.store.backend == store_backend::sqlite);
    CHECK(c.store.postgres.sslmode == "verify-full");
    CHECK(c.methods.email.lifetime == seconds{600});
    CHECK(c.policy.scope == scope_mode::all);
    CHECK(c.policy.default_gates == 1);
    CHECK_FALSE(c.policy.allow_protected_accounts);
    CHECK(c.throttles.buckets.size() == 7);
    CHECK(c.delivery.sms.default_region == "KR");
    CHECK(c.enrollment.reconfirm_after == seconds{180 * 24 * 3600});
    CHECK(c.ui.default_language == "en");
}

TEST_CASE("loader: values given are stored in the struct", "[config]") {
    const auto r =
        load(document::minimal()
                 .set("directory", std::string(minimal_directory) + R"(  dialect: openldap
  pool_size: 8
  connect_timeout: 2m
  backoff_min: 100ms
  mail_attributes: [mail, otherMailbox]
  openldap_reset: replace_user_password
)")
                 .set("throttles", R"(  failed_proofs:
    limit: 3
    block: 2d
  flow_starts_per_ip: {key: client_ip, limit: 500, window: 1h, block: 0s}
)")
                 .text());
    INFO(Catch::Detail::stringify(error_lines(r)));
    REQUIRE(r);
    const config& c = r->value;
    CHECK(c.directory.dialect == dialect::openldap);
    CHECK(c.directory.pool_size == 8);
    CHECK(c.directory.connect_timeout == seconds{120});
    CHECK(c.directory.backoff_min == milliseconds{100});
    CHECK(c.directory.mail_attributes == std::vector<std::string>{"mail", "otherMailbox"});
    CHECK(c.directory.openldap_reset == openldap_reset::replace_user_password);

    // A partly given bucket keeps the defaults of the keys not given.
    const auto& failed = c.throttles.buckets.at(0);
    CHECK(failed.name == "failed_proofs");
    CHECK(failed.limit == 3);
    CHECK(failed.window == seconds{24 * 3600});
    CHECK(failed.block == seconds{2 * 24 * 3600});
    const auto& per_ip = c.throttles.buckets.at(4);
    CHECK(per_ip.name == "flow_starts_per_ip");
    CHECK(per_ip.limit == 500);
    CHECK(per_ip.block == seconds{0});
}

TEST_CASE("loader: a missing required key is named with the place of its parent", "[config]") {
    SECTION("a required key inside a section") {
        const auto d = only_error(with("directory", R"(  uris: [ldaps://dc1.example.org]
  bind_password_file: /etc/ssprd/ldap.pw
  base_dn: dc=example,dc=org
)"));
        CHECK(d.path == "directory.bind_dn");
        CHECK(d.message == "missing required key");
        CHECK(d.line == 6); // the line of `directory:`
        CHECK(d.column == 1);
    }
    SECTION("a required section") {
        const auto d = only_error(document::minimal().remove("ui").text());
        CHECK(d.path == "ui");
        CHECK(d.message == "missing required key");
        CHECK(d.line == 1);
    }
    SECTION("every required key of the table is reported at once") {
        const auto r = load("server:\n  listen: [\"0.0.0.0:8443\"]\n");
        REQUIRE_FALSE(r);
        std::vector<std::string> paths;
        for (const auto& e : r.error().errors) {
            paths.push_back(e.path);
        }
        // All at 1:1 (the keys of `server` and of the file); in the order found.
        CHECK(paths == std::vector<std::string>{"server.public_url", "server.tls", "directory",
                                                "store", "policy", "ui"});
    }
    SECTION("a required key of a list item") {
        const auto d = only_error(document::minimal()
                                      .set("policy", R"(  scope: all
  rules:
    - effect: deny
      groups: [guests]
)")
                                      .text());
        CHECK(d.path == "policy.rules[0].name");
        CHECK(d.message == "missing required key");
    }
}

TEST_CASE("loader: an unknown key is an error with a hint", "[config]") {
    SECTION("a misspelt key suggests the right one") {
        const std::string text = with("ui", "  organisation: Example\n  helpdesk_emial: a@b.org\n");
        const auto d = only_error(text);
        CHECK(d.path == "ui.helpdesk_emial");
        CHECK(d.message == "unknown key 'helpdesk_emial'; did you mean helpdesk_email?");
        CHECK(d.line == line_of(text, "helpdesk_emial"));
        CHECK(d.column == 3);
    }
    SECTION("a key with a dash where the table has an underscore") {
        const auto d = only_error(with("ui", "  organisation: Example\n  default-language: en\n"));
        CHECK_THAT(d.message, Contains("did you mean default_language?"));
    }
    SECTION("a key far from every known one lists the keys of that mapping") {
        const auto d = only_error(with("audit", "  destination: syslog\n"));
        CHECK(d.message == "unknown key 'destination'; expected one of: path, metrics_listen");
    }
    SECTION("an unknown section") {
        const auto d = only_error(document::minimal().text() + "logging:\n  level: debug\n");
        CHECK(d.path == "logging");
        CHECK_THAT(d.message, StartsWith("unknown key 'logging'; expected one of: server,"));
    }
    SECTION("an unknown throttle bucket") {
        const auto d = only_error(with("throttles", "  logins: {limit: 5}\n"));
        CHECK(d.path == "throttles.logins");
        CHECK_THAT(d.message, StartsWith("unknown key 'logins'"));
    }
    SECTION("YAML merge keys are not supported, so they are unknown keys") {
        const auto d = only_error(with("ui", "  <<: {organisation: Example}\n  organisation: X\n"));
        CHECK(d.path == "ui.<<");
    }
}

TEST_CASE("loader: further throttle buckets are named after the counter they count", "[config]") {
    SECTION("a full bucket is added after the defaults") {
        const auto r = load(with("throttles", "  emails_per_ip: {key: client_ip, limit: 50, "
                                              "window: 1h, block: 2h}\n"
                                              "  failed_proofs_per_ip: {key: client_ip, limit: "
                                              "30, window: 1d}\n"));
        INFO(Catch::Detail::stringify(error_lines(r)));
        REQUIRE(r);
        const auto& b = r->value.throttles.buckets;
        REQUIRE(b.size() == 9);
        CHECK(b[7].name == "emails_per_ip");
        CHECK(b[7].key == throttle_key::client_ip);
        CHECK(b[7].limit == 50);
        CHECK(b[7].window == seconds{3600});
        CHECK(b[7].block == seconds{7200});
        CHECK(b[8].name == "failed_proofs_per_ip");
        CHECK(b[8].block == seconds{0});
    }
    SECTION("the per-network bucket is there by default and takes client_net keys") {
        const auto defaults = load(document::minimal().text());
        REQUIRE(defaults);
        const auto& d = defaults->value.throttles.buckets;
        const auto net = std::find_if(
            d.begin(), d.end(), [](const auto& b) { return b.name == "flow_starts_per_net"; });
        REQUIRE(net != d.end());
        CHECK(net->key == throttle_key::client_net);
        CHECK(net->limit == 200);
        CHECK(net->window == seconds{600});
        CHECK(net->block == seconds{1800});
        const auto r = load(with("throttles", "  flow_starts_per_net: {limit: 1000}\n"
                                              "  emails_per_net: {key: client_net, limit: 80, "
                                              "window: 1h}\n"));
        INFO(Catch::Detail::stringify(error_lines(r)));
        REQUIRE(r);
        CHECK(r->value.throttles.buckets[6].limit == 1000);
        CHECK(r->value.throttles.buckets[7].key == throttle_key::client_net);
    }
    SECTION("a further bucket gives key, limit and window") {
        const auto d =
            only_error(with("throttles", "  texts_per_ip: {key: client_ip, limit: 5}\n"));
        CHECK(d.path == "throttles.texts_per_ip.window");
        CHECK(d.message == "missing required key");
    }
    SECTION("a name that starts with no counter is unknown") {
        const auto d = only_error(with("throttles", "  logins_per_ip: {key: client_ip, limit: 5, "
                                                    "window: 1m}\n"));
        CHECK(d.path == "throttles.logins_per_ip");
        CHECK_THAT(d.message, Contains("or a further bucket named <counter>_<suffix>"));
    }
}

TEST_CASE("loader: delivery.sms.default_region names a known dialling plan", "[config]") {
    const auto sms = [](const std::string& region) {
        return with("delivery", "  smtp: {enabled: true, host: smtp.example.org, from: "
                                "a@example.org}\n  sms:\n    default_region: " +
                                    region + "\n");
    };
    const auto us = load(sms("US"));
    INFO(Catch::Detail::stringify(error_lines(us)));
    REQUIRE(us);
    CHECK(us->value.delivery.sms.default_region == "US");
    for (const char* bad : {"XX", "kr", "KOR", "\"\""}) {
        INFO(bad);
        const auto d = only_error(sms(bad));
        CHECK(d.path == "delivery.sms.default_region");
        CHECK_THAT(d.message, Contains("KR"));
    }
}

TEST_CASE("loader: a duplicate key is an error instead of a silent choice", "[config]") {
    const std::string text = with("ui", "  organisation: Example\n  organisation: Other\n");
    const auto d = only_error(text);
    CHECK(d.path == "ui.organisation");
    CHECK_THAT(d.message, StartsWith("duplicate key"));
    CHECK(d.line == line_of(text, "Other"));
    CHECK(d.column == 3);
}

TEST_CASE("loader: wrong types are errors", "[config]") {
    struct wrong {
        const char* section;
        const char* body;
        const char* path;
        const char* message;
    };
    const std::string dir = minimal_directory;
    const std::vector<wrong> cases{
        {"ui", "  organisation: 2024\n", "ui.organisation",
         "expected text, not a whole number (put it in quotes if you mean the text)"},
        {"ui", "  organisation: [Example]\n", "ui.organisation", "expected text, not a list"},
        {"ui", "  organisation:\n", "ui.organisation", "expected text, not an empty value"},
        {"ui", "  organisation: no\n", "ui.organisation",
         "expected text, not a true/false value (put it in quotes if you mean the text)"},
        {"ui", "  organisation: 1.5\n", "ui.organisation",
         "expected text, not a decimal number (put it in quotes if you mean the text)"},
        {"ui", "  organisation: 2024-01-01\n", "ui.organisation",
         "expected text, not a date (put it in quotes if you mean the text)"},
        {"ui", "  organisation: !secret x\n", "ui.organisation",
         "expected text, not a value with an unsupported tag"},
        {"directory", "  tls_verify: yes\n", "directory.tls_verify",
         "write true or false; 'yes' means different things to different YAML readers"},
        {"directory", "  tls_verify: \"true\"\n", "directory.tls_verify",
         "expected true or false, not text"},
        {"directory", "  tls_verify: 1\n", "directory.tls_verify",
         "expected true or false, not a whole number"},
        {"directory", "  pool_size: \"4\"\n", "directory.pool_size",
         "expected a whole number between 1 and 64, not text"},
        {"directory", "  pool_size: 4.0\n", "directory.pool_size",
         "expected a whole number between 1 and 64, not a decimal number"},
        {"directory", "  pool_size: 0x10\n", "directory.pool_size",
         "write the number in plain decimal digits"},
        {"directory", "  pool_size: 1_0\n", "directory.pool_size",
         "write the number in plain decimal digits"},
        {"directory", "  connect_timeout: 30\n", "directory.connect_timeout",
         "expected a duration such as 30s, 10m, 24h or 180d, not a whole number"},
        {"directory", "  connect_timeout: 30 s\n", "directory.connect_timeout",
         "expected a duration such as 30s, 10m, 24h or 180d, not '30 s'"},
        {"directory", "  connect_timeout: 1w\n", "directory.connect_timeout",
         "expected a duration such as 30s, 10m, 24h or 180d, not '1w'"},
        {"directory", "  connect_timeout: 1500ms\n", "directory.connect_timeout",
         "write whole seconds here (s, m, h, d)"},
        {"directory", "  dialect: AD\n", "directory.dialect",
         "unknown value 'AD'; expected one of auto, ad, openldap"},
        {"directory", "  dialect: [ad]\n", "directory.dialect",
         "expected one of auto, ad, openldap, not a list"},
        {"directory", "  uris: ldaps://dc1.example.org\n", "directory.uris",
         "expected a list, not text"},
        {"directory", "  mail_attributes: {mail: true}\n", "directory.mail_attributes",
         "expected a list, not a mapping"},
        {"server", "  tls: /etc/ssprd/cert.pem\n", "server.tls",
         "expected a mapping (key: value lines), not text"},
    };
    for (const auto& c : cases) {
        // Each wrong value replaces or joins the section's valid keys.
        std::string body = c.body;
        if (std::string(c.section) == "directory") {
            std::string d = dir;
            const std::string key = body.substr(2, body.find(':') - 2);
            if (d.find("  " + key + ":") != std::string::npos) {
                const auto at = d.find("  " + key + ":");
                d.erase(at, d.find('\n', at) - at + 1);
            }
            body.insert(0, d);
        } else if (std::string(c.section) == "server") {
            body.insert(0, "  public_url: https://sspr.example.org\n");
        }
        const auto d = only_error(with(c.section, body));
        CHECK(d.path == c.path);
        CHECK(d.message == c.message);
    }
}

TEST_CASE("loader: values out of range are errors that state the range", "[config]") {
    const std::string dir = minimal_directory;
    SECTION("integer below and above") {
        CHECK(only_error(with("directory", dir + "  pool_size: 0\n")).message ==
              "is '0'; must be between 1 and 64");
        CHECK(only_error(with("directory", dir + "  pool_size: 65\n")).message ==
              "is '65'; must be between 1 and 64");
        CHECK(only_error(with("directory", dir + "  pool_size: -1\n")).message ==
              "is '-1'; must be between 1 and 64");
        CHECK(only_error(with("directory", dir + "  pool_size: 99999999999999999999\n")).message ==
              "is '99999999999999999999'; must be between 1 and 64");
    }
    SECTION("duration below and above") {
        CHECK(only_error(with("directory", dir + "  connect_timeout: 0s\n")).message ==
              "is 0s; must be between 1s and 2m");
        CHECK(only_error(with("directory", dir + "  connect_timeout: 3m\n")).message ==
              "is 3m; must be between 1s and 2m");
        CHECK(only_error(with("methods", "  totp:\n    enabled: true\n  sms:\n    lifetime: 11m\n"))
                  .message == "is 11m; must be between 1m and 10m");
        CHECK(only_error(with("methods", "  email:\n    enabled: true\n    lifetime: 2d\n"))
                  .message == "is 2d; must be between 1m and 1d");
    }
    SECTION("list length and duplicates") {
        CHECK(only_error(with("directory", "  uris: []\n  bind_dn: cn=a,dc=b\n"
                                           "  bind_password_file: /etc/ssprd/ldap.pw\n"
                                           "  base_dn: dc=b\n"))
                  .message == "must not be empty");
        const auto d = only_error(with("ui", "  organisation: X\n  languages: [en, ko, en]\n"));
        CHECK(d.path == "ui.languages[2]");
        CHECK(d.message == "duplicate entry");
        CHECK(d.column == 23);
    }
    SECTION("text length and emptiness") {
        CHECK(only_error(with("ui", "  organisation: \"\"\n")).message == "must not be empty");
        CHECK(only_error(with("ui", "  organisation: " + std::string(101, 'x') + "\n")).message ==
              "longer than 100 bytes");
    }
}

TEST_CASE("loader: limits on lists, maps, keys and paths", "[config]") {
    std::string many;
    for (int i = 0; i < 17; ++i) {
        many.append(i == 0 ? "" : ", ")
            .append("\"10.0.0.")
            .append(std::to_string(i))
            .append(":80\"");
    }
    CHECK(only_error(with("server", "  public_url: https://sspr.example.org\n  listen: [" + many +
                                        "]\n  tls: {certificate_file: /etc/ssprd/cert.pem, "
                                        "key_file: /etc/ssprd/key.pem}\n"))
              .message == "at most 16 entries");

    const std::string sms_head = "  smtp: {enabled: true, host: smtp.example.org, from: a@b.org}\n"
                                 "  sms:\n    url: https://sms.example.org/x\n    headers:\n";
    std::string headers;
    for (int i = 0; i < 17; ++i) {
        headers.append("      X-H").append(std::to_string(i)).append(": v\n");
    }
    const auto too_many = only_error(with("delivery", sms_head + headers));
    CHECK(too_many.path == "delivery.sms.headers");
    CHECK(too_many.message == "at most 16 entries");

    const auto number_key = only_error(with("delivery", sms_head + "      1: v\n"));
    CHECK(number_key.path == "delivery.sms.headers");
    CHECK(number_key.message == "keys here must be plain text");

    const auto complex_key = only_error(with("ui", "  organisation: X\n  ? [a, b]\n  : c\n"));
    CHECK(complex_key.path == "ui");
    CHECK(complex_key.message == "keys must be plain names");

    const auto long_path = only_error(with("audit", "  path: /" + std::string(4100, 'a') + "\n"));
    CHECK(long_path.message == "path longer than 4096 bytes");
}

TEST_CASE("loader: text must be clean UTF-8 without control characters", "[config]") {
    CHECK(only_error(with("ui", "  organisation: \"Ex\\tample\"\n")).message ==
          "control characters (tab, newline, ...) are not allowed");
    CHECK(only_error(with("ui", "  organisation: \"Ex\\x01ample\"\n")).message ==
          "control characters (tab, newline, ...) are not allowed");
    // yaml-cpp passes bytes through; the loader refuses what is not UTF-8.
    CHECK(only_error(with("ui", "  organisation: \"Ex\xff\"\n")).message == "not valid UTF-8");
}

TEST_CASE("loader: YAML syntax errors are reported with their line and column", "[config]") {
    SECTION("an unclosed flow sequence") {
        const auto d = only_error("server:\n  listen: [0.0.0.0:8443\nui:\n  organisation: X\n");
        CHECK(d.path == "yaml");
        CHECK(d.line == 3);
        CHECK(d.column == 3);
        CHECK(to_string(d) == "test.yaml:3:3: yaml: end of sequence flow not found");
    }
    SECTION("a mapping value where none may start") {
        const auto d = only_error("ui:\n  organisation: a: b\n");
        CHECK(d.path == "yaml");
        CHECK(d.line == 2);
        CHECK(d.column == 18); // the second ':'
        CHECK(d.message == "illegal map value");
    }
    SECTION("bad indentation") {
        const auto d = only_error("ui:\n  organisation: X\n default_language: en\n");
        CHECK(d.path == "yaml");
        CHECK(d.line == 3);
    }
    SECTION("a token no value can start with (yaml-cpp 0.7's LoadAll would loop forever)") {
        for (const char* text : {",", " ,a", ",\nui: {}\n"}) {
            const auto d = only_error(text);
            INFO(text);
            CHECK(d.path == "yaml");
            CHECK(d.message == "no YAML value can start here");
            CHECK(d.line == 1);
        }
    }
    SECTION("a tab used for indentation") {
        const auto d = only_error("ui:\n\torganisation: X\n");
        CHECK(d.path == "yaml");
        CHECK(d.line == 2);
    }
}

TEST_CASE("loader: the document as a whole must be one mapping", "[config]") {
    CHECK(only_error("").message ==
          "the file holds no settings; expected the sections server, directory, store, policy "
          "and ui at least");
    CHECK(only_error("# only a comment\n").path == "(top level)");
    CHECK(only_error("---\n...\n").path == "(top level)");
    const auto list = only_error("- server\n- ui\n");
    CHECK(list.message == "expected a mapping (key: value lines), not a list");
    CHECK(list.line == 1);
    const auto scalar = only_error("just text\n");
    CHECK(scalar.message == "expected a mapping (key: value lines), not text");

    const std::string two = document::minimal().text() + "---\nui:\n  organisation: X\n";
    const auto r = load(two);
    REQUIRE_FALSE(r);
    REQUIRE(r.error().errors.size() == 1);
    CHECK(r.error().errors[0].message == "only one YAML document (---) is allowed");
    CHECK(r.error().errors[0].line == line_of(two, "---"));
}

TEST_CASE("loader: every error of a file is reported, in file order", "[config]") {
    const std::string text = document::minimal()
                                 .set("ui", R"(  organisation: 5
  languages: [en, fr]
  default_language: en
  helpdesk_url: 7
)")
                                 .set("audit", "  path: relative/audit.jsonl\n  metrics: 1\n")
                                 .text();
    const auto r = load(text);
    REQUIRE_FALSE(r);
    const auto at = [&](const char* needle) { return std::to_string(line_of(text, needle)); };
    CHECK(error_lines(r) ==
          std::vector<std::string>{
              "test.yaml:" + at("organisation: 5") +
                  ":17: ui.organisation: expected text, not a whole number (put it in quotes if "
                  "you mean the text)",
              "test.yaml:" + at("languages:") +
                  ":19: ui.languages[1]: unknown value 'fr'; expected one of en, ko",
              "test.yaml:" + at("helpdesk_url") +
                  ":17: ui.helpdesk_url: expected text, not a whole number (put it in quotes if "
                  "you mean the text)",
              "test.yaml:" + at("path: relative") +
                  ":9: audit.path: must be an absolute path (starting with /)",
              "test.yaml:" + at("metrics: 1") +
                  ":3: audit.metrics: unknown key 'metrics'; expected one of: path, "
                  "metrics_listen",
          });
}

TEST_CASE("loader: positions are 1-based and point at the value or the key", "[config]") {
    // Line 1 column 1 is the first character of the file, as editors count.
    const auto r = load("ui: 5\n");
    REQUIRE_FALSE(r);
    const auto ui = errors_at(r, "ui");
    REQUIRE(ui.size() == 1);
    CHECK(ui[0].line == 1);
    CHECK(ui[0].column == 5);
    CHECK(to_string(ui[0]) ==
          "test.yaml:1:5: ui: expected a mapping (key: value lines), not a whole number");
    // An empty value is reported at its key: the mark yaml-cpp gives it points past the line.
    const std::string text = with("ui", "  organisation:\n");
    const auto empty = only_error(text);
    CHECK(empty.line == line_of(text, "organisation:"));
    CHECK(empty.column == 3);
}

TEST_CASE("loader: ${NAME} in a path is taken from the environment", "[config]") {
    auto files = fake_system::with_standard_files();
    files.env("SSPR_KEYS", "/etc/ssprd");
    const std::string store = "  encryption_key_file: ${SSPR_KEYS}/store.key\n"
                              "  hmac_key_file: /etc/ssprd/hmac.key\n";
    SECTION("set: expanded") {
        const auto r = load(with("store", store), files);
        INFO(Catch::Detail::stringify(error_lines(r)));
        REQUIRE(r);
        CHECK(r->value.store.encryption_key_file == "/etc/ssprd/store.key");
    }
    SECTION("unset: an error naming the variable") {
        const auto r = load(with("store", store));
        const auto e = errors_at(r, "store.encryption_key_file");
        REQUIRE(e.size() == 1);
        CHECK(e[0].message == "environment variable SSPR_KEYS is not set");
    }
    SECTION("set but empty") {
        files.env("SSPR_KEYS", "");
        const auto e = errors_at(load(with("store", store), files), "store.encryption_key_file");
        REQUIRE(e.size() == 1);
        CHECK(e[0].message == "environment variable SSPR_KEYS is empty");
    }
    SECTION("malformed references") {
        for (const char* bad : {"${}/x", "${1X}/x", "${A-B}/x", "${OPEN/x"}) {
            const auto e = errors_at(load(with("audit", std::string("  path: \"") + bad + "\"\n")),
                                     "audit.path");
            INFO(bad);
            REQUIRE(e.size() == 1);
            CHECK_THAT(e[0].message, StartsWith("malformed environment reference"));
        }
    }
    SECTION("a lone $ is a character, not a reference") {
        const auto r = load(with("audit", "  path: /var/log/$ssprd/audit.jsonl\n"));
        REQUIRE(r);
        CHECK(r->value.audit.path == "/var/log/$ssprd/audit.jsonl");
    }
    SECTION("outside paths, references are refused instead of kept literally") {
        const auto d = only_error(with("ui", "  organisation: ${ORG}\n"));
        CHECK(d.message == "environment references (${...}) are expanded only in file paths");
    }
}

TEST_CASE("loader: file paths must be absolute", "[config]") {
    const auto d = only_error(with("store", "  encryption_key_file: keys/store.key\n"
                                            "  hmac_key_file: /etc/ssprd/hmac.key\n"));
    CHECK(d.path == "store.encryption_key_file");
    CHECK(d.message == "must be an absolute path (starting with /)");
}

TEST_CASE("loader: files that must exist are checked, and missing ones named", "[config]") {
    const auto d = only_error(with("server", R"(  public_url: https://sspr.example.org
  tls:
    certificate_file: /etc/ssprd/missing.pem
    key_file: /etc/ssprd/key.pem
)"));
    CHECK(d.path == "server.tls.certificate_file");
    CHECK(d.message == "cannot use '/etc/ssprd/missing.pem': No such file or directory");
    CHECK(d.line == 4);
    CHECK(d.column == 23);
}

TEST_CASE("loader: load_file reads the file and reports when it cannot", "[config]") {
    SECTION("missing") {
        const auto r = load_file("/nonexistent/ssprd.yaml");
        REQUIRE_FALSE(r);
        REQUIRE(r.error().errors.size() == 1);
        CHECK(to_string(r.error().errors[0]) ==
              "/nonexistent/ssprd.yaml: (file): cannot read the configuration file: No such file "
              "or directory");
    }
    SECTION("a directory") {
        const auto r = load_file("/");
        REQUIRE_FALSE(r);
        CHECK(r.error().errors[0].message ==
              "cannot read the configuration file: not a regular file");
    }
}

TEST_CASE("loader: value() on a failed load throws, naming the first error", "[config]") {
    const auto r = load("ui: 5\n");
    REQUIRE_FALSE(r);
    CHECK_THROWS_WITH(r.value(), StartsWith("test.yaml:"));
}
