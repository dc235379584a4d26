// Secrets come from files named by *_file keys, never from the YAML, and never appear in a
// message. These tests cover the formats, the permission checks, the refusal of inline secrets,
// and (in a private temp dir) the real file access behind load_options' defaults.
#include "config/check_config.hpp"
#include "config/loader.hpp"

#include "tests/unit/config/support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace sspr::config;
using namespace sspr::config::testing;
using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

std::string with(const std::string& section, const std::string& body) {
    return document::minimal().set(section, body).text();
}

const std::string directory_with_password_file = R"(  uris: [ldaps://dc1.example.org]
  bind_dn: cn=sspr,dc=example,dc=org
  bind_password_file: /etc/ssprd/ldap.pw
  base_dn: dc=example,dc=org
)";

/// Every message of a load (errors and warnings) in one string, for "never printed" checks.
std::string all_messages(const load_result& r) {
    std::string s;
    for (const auto& l : error_lines(r)) {
        s += l + "\n";
    }
    for (const auto& l : warning_lines(r)) {
        s += l + "\n";
    }
    return s;
}

/// A private directory removed at the end of the test.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sspr-config-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::string write(const std::string& name, const std::string& content, unsigned mode) const {
        const auto p = path / name;
        std::ofstream(p, std::ios::binary) << content;
        REQUIRE(::chmod(p.c_str(), static_cast<mode_t>(mode)) == 0);
        return p.string();
    }
    /// A symbolic link `name` to `target`.
    std::string link(const std::string& name, const std::string& target) const {
        const auto p = path / name;
        std::filesystem::create_symlink(target, p);
        return p.string();
    }
};

} // namespace

TEST_CASE("secrets: the loader reads each secret file into the configuration", "[config]") {
    auto files = fake_system::with_standard_files();
    files.file("/etc/ssprd/smtp.pw", "smtp-secret\n")
        .file("/etc/ssprd/sms.token", "sms-token\r\n")
        .file("/etc/ssprd/pg.pw", "pg-secret")
        .file("/etc/ssprd/api.key", "api-key\n");
    const auto r = load(document::minimal()
                            .set("delivery", R"(  smtp:
    enabled: true
    host: smtp.example.org
    from: sspr@example.org
    username: sspr
    password_file: /etc/ssprd/smtp.pw
  sms:
    enabled: true
    url: https://sms.example.org/send
    bearer_token_file: /etc/ssprd/sms.token
    secret_header_files:
      X-Api-Key: /etc/ssprd/api.key
)")
                            .set("store", R"(  backend: postgres
  postgres:
    password_file: /etc/ssprd/pg.pw
  encryption_key_file: /etc/ssprd/store.key
  hmac_key_file: /etc/ssprd/hmac.key
)")
                            .text(),
                        files);
    INFO(Catch::Detail::stringify(error_lines(r)));
    REQUIRE(r);
    const config& c = r->value;
    CHECK(c.directory.bind_password.reveal() == "ldap-service-password"); // final \n dropped
    CHECK(c.delivery.smtp.password.reveal() == "smtp-secret");
    CHECK(c.delivery.sms.bearer_token.reveal() == "sms-token"); // \r\n dropped
    CHECK(c.delivery.sms.secret_headers.at("X-Api-Key").reveal() == "api-key");
    CHECK(c.delivery.sms.secret_header_files.at("X-Api-Key") == "/etc/ssprd/api.key");
    CHECK(c.store.postgres.password.reveal() == "pg-secret");
    CHECK(c.directory.bind_password_file == "/etc/ssprd/ldap.pw");

    // The key files are checked but stay out of the configuration: their owners read them.
    const auto read = files.secrets_read();
    for (const char* p :
         {"/etc/ssprd/ldap.pw", "/etc/ssprd/store.key", "/etc/ssprd/hmac.key", "/etc/ssprd/smtp.pw",
          "/etc/ssprd/sms.token", "/etc/ssprd/pg.pw", "/etc/ssprd/api.key"}) {
        CHECK(std::find(read.begin(), read.end(), p) != read.end());
    }
}

TEST_CASE("secrets: a password file must hold one non-empty line", "[config]") {
    struct bad {
        std::string content;
        std::string message;
    };
    for (const auto& b : std::vector<bad>{
             {"", "the secret file is empty"},
             {"\n", "the secret file is empty"},
             {"first\nsecond\n", "the secret file must hold the secret on one line"},
             {"pw\n\n", "the secret file must hold the secret on one line"},
             {std::string("p\0w", 3), "the secret file must hold the secret on one line"},
         }) {
        auto files = fake_system::with_standard_files();
        files.file("/etc/ssprd/ldap.pw", b.content);
        const auto e =
            errors_at(load(document::minimal().text(), files), "directory.bind_password_file");
        REQUIRE(e.size() == 1);
        CHECK(e[0].message == b.message);
    }
}

TEST_CASE("secrets: a missing secret file is an error that does not echo the path", "[config]") {
    auto files = fake_system::with_standard_files();
    files.remove("/etc/ssprd/ldap.pw");
    const auto r = load(document::minimal().text(), files);
    const auto e = errors_at(r, "directory.bind_password_file");
    REQUIRE(e.size() == 1);
    CHECK(e[0].message == "cannot read the secret file: No such file or directory");
    CHECK(e[0].line == 4 + 5);
    CHECK(e[0].column == 23);
}

TEST_CASE("secrets: permissions of secret files", "[config]") {
    auto files = fake_system::with_standard_files();
    SECTION("a password file every local user can read is a warning") {
        files.file("/etc/ssprd/ldap.pw", "pw\n", 0644);
        const auto r = load(document::minimal().text(), files);
        REQUIRE(r);
        REQUIRE(r->warnings.size() == 1);
        CHECK(r->warnings[0].path == "directory.bind_password_file");
        CHECK(r->warnings[0].message ==
              "the secret file is readable by every local user; chmod o-rwx (e.g. 0600)");
        CHECK_THAT(to_string(r->warnings[0]), Contains(": warning: "));
    }
    SECTION("a group-readable password file is fine (root:ssprd 0640)") {
        files.file("/etc/ssprd/ldap.pw", "pw\n", 0640);
        const auto r = load(document::minimal().text(), files);
        REQUIRE(r);
        CHECK(r->warnings.empty());
    }
    SECTION("a key file group or others may access is an error") {
        for (const unsigned mode : {0640U, 0604U, 0660U, 0601U}) {
            files.file("/etc/ssprd/hmac.key", std::string(32, 'h'), mode);
            const auto e =
                errors_at(load(document::minimal().text(), files), "store.hmac_key_file");
            INFO(mode);
            REQUIRE(e.size() == 1);
            CHECK_THAT(e[0].message, StartsWith("group or others may access the key file"));
        }
        files.file("/etc/ssprd/hmac.key", std::string(32, 'h'), 0400);
        CHECK(load(document::minimal().text(), files));
    }
    SECTION("a TLS private key group or others may access is an error") {
        files.file("/etc/ssprd/cert.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
        for (const unsigned mode : {0644U, 0640U, 0604U, 0660U, 0602U, 0610U}) {
            INFO(mode);
            files.file("/etc/ssprd/key.pem", "-----BEGIN PRIVATE KEY-----\n", mode);
            const auto r = load(document::minimal().text(), files);
            REQUIRE_FALSE(r);
            const auto e = errors_at(r, "server.tls.key_file");
            REQUIRE(e.size() == 1);
            CHECK(e[0].message == "group or others may access the key file; make it readable by "
                                  "ssprd only (chmod 600)");
            CHECK(r.error().errors.size() == 1); // the certificate is public: no complaint
        }
        for (const unsigned mode : {0600U, 0400U}) {
            files.file("/etc/ssprd/key.pem", "-----BEGIN PRIVATE KEY-----\n", mode);
            CHECK(load(document::minimal().text(), files));
        }
    }
    SECTION("a missing TLS key is an error that does not echo the path") {
        files.remove("/etc/ssprd/key.pem");
        const auto e = errors_at(load(document::minimal().text(), files), "server.tls.key_file");
        REQUIRE(e.size() == 1);
        CHECK(e[0].message == "cannot use the key file: No such file or directory");
    }
}

TEST_CASE("secrets: the formats of the store's and the HMAC key files", "[config]") {
    auto files = fake_system::with_standard_files();
    const auto key_error = [&](const char* path, const std::string& content) -> std::string {
        files.file(path, content);
        const auto r = load(document::minimal().text(), files);
        const auto e = errors_at(r, std::string("store.") +
                                        (std::string(path).find("hmac") != std::string::npos
                                             ? "hmac_key_file"
                                             : "encryption_key_file"));
        return e.empty() ? std::string("ok") : e[0].message;
    };
    const std::string hex64 = "0123456789abcdefABCDEF0123456789abcdef0123456789abcdef0123456789";
    REQUIRE(hex64.size() == 64);
    const std::string aes_message =
        "the key file must hold exactly 32 bytes or 64 hex digits (e.g. openssl rand -hex 32)";
    CHECK(key_error("/etc/ssprd/store.key", std::string(32, '\x01')) == "ok"); // raw bytes
    CHECK(key_error("/etc/ssprd/store.key", hex64) == "ok");
    CHECK(key_error("/etc/ssprd/store.key", hex64 + "\n") == "ok");
    CHECK(key_error("/etc/ssprd/store.key", hex64 + "\r\n") == "ok");
    CHECK(key_error("/etc/ssprd/store.key", hex64.substr(1) + "\n") == aes_message);
    CHECK(key_error("/etc/ssprd/store.key", hex64 + "00") == aes_message);
    CHECK(key_error("/etc/ssprd/store.key", hex64.substr(2) + "zz") == aes_message);
    CHECK(key_error("/etc/ssprd/store.key", hex64 + "\n\n") == aes_message);
    CHECK(key_error("/etc/ssprd/store.key", "") == "the secret file is empty");

    const std::string hmac_message =
        "the key file must hold 32 to 4096 bytes (e.g. head -c 32 /dev/urandom)";
    CHECK(key_error("/etc/ssprd/hmac.key", std::string(32, '\n')) == "ok"); // bytes as stored
    CHECK(key_error("/etc/ssprd/hmac.key", std::string(4096, 'x')) == "ok");
    CHECK(key_error("/etc/ssprd/hmac.key", std::string(31, 'x')) == hmac_message);
    CHECK(key_error("/etc/ssprd/hmac.key", std::string(4097, 'x')) == hmac_message);
}

TEST_CASE("secrets: one key must not serve two purposes", "[config]") {
    auto files = fake_system::with_standard_files();
    SECTION("the same file twice") {
        files.file("/etc/ssprd/both.key", std::string(64, 'c'));
        const auto r = load(with("store", "  encryption_key_file: /etc/ssprd/both.key\n"
                                          "  hmac_key_file: /etc/ssprd/both.key\n"),
                            files);
        const auto e = errors_at(r, "store.hmac_key_file");
        REQUIRE(e.size() == 1);
        CHECK(e[0].message == "holds the same key as store.encryption_key_file; every key must "
                              "be a different one");
    }
    SECTION("two files with the same bytes") {
        files.file("/etc/ssprd/copy.key", std::string(64, 'a') + "\n");
        const auto e = errors_at(load(with("store", "  encryption_key_file: /etc/ssprd/store.key\n"
                                                    "  hmac_key_file: /etc/ssprd/copy.key\n"),
                                      files),
                                 "store.hmac_key_file");
        REQUIRE(e.size() == 1);
    }
    SECTION("a retired key that is the active one") {
        const auto r = load(with("store", R"(  encryption_key_file: /etc/ssprd/store.key
  older_encryption_key_files: [/etc/ssprd/store.key]
  hmac_key_file: /etc/ssprd/hmac.key
)"),
                            files);
        const auto e = errors_at(r, "store.older_encryption_key_files[0]");
        REQUIRE(e.size() == 1);
        CHECK_THAT(e[0].message, StartsWith("holds the same key as store.encryption_key_file"));
    }
    SECTION("retired keys are checked like the active one") {
        files.file("/etc/ssprd/old.key", std::string(64, 'b') + "\n", 0644);
        const auto r = load(with("store", R"(  encryption_key_file: /etc/ssprd/store.key
  older_encryption_key_files: [/etc/ssprd/old.key, /etc/ssprd/gone.key]
  hmac_key_file: /etc/ssprd/hmac.key
)"),
                            files);
        CHECK(error_lines(r) ==
              std::vector<std::string>{
                  "test.yaml:13:32: store.older_encryption_key_files[0]: group or others may "
                  "access the key file; make it readable by ssprd only (chmod 600)",
                  "test.yaml:13:52: store.older_encryption_key_files[1]: cannot read the secret "
                  "file: No such file or directory"});
    }
}

TEST_CASE("secrets: an inline secret is refused and never repeated", "[config]") {
    const std::string secret = "Tr0ub4dor&3-inline";
    const auto r = load(document::minimal()
                            .set("directory", directory_with_password_file + "  bind_password: \"" +
                                                  secret + "\"\n")
                            .set("delivery", R"(  smtp:
    enabled: true
    host: smtp.example.org
    from: sspr@example.org
    password: )" + secret + R"(
  sms:
    enabled: true
    url: https://user:)" + secret + R"(@sms.example.org/send?api_key=)" +
                                                 secret + R"(
    bearer_token: )" + secret + R"(
    headers:
      X-Api-Key: )" + secret + R"(
      Authorization: "Bearer )" + secret + R"("
)")
                            .set("store", R"(  encryption_key_file: /etc/ssprd/store.key
  hmac_key_file: /etc/ssprd/hmac.key
  hmac_key: )" + secret + "\n")
                            .text());
    REQUIRE_FALSE(r);
    const std::string messages = all_messages(r);
    INFO(messages);
    CHECK_THAT(messages, !Contains(secret));
    CHECK_THAT(messages, !Contains("Tr0ub4dor"));
    const auto inline_error = errors_at(r, "directory.bind_password");
    REQUIRE(inline_error.size() == 1);
    CHECK(inline_error[0].message ==
          "secrets are not accepted in the configuration file: put the value in a file only "
          "ssprd can read and name that file in bind_password_file");
    CHECK(errors_at(r, "delivery.smtp.password").size() == 1);
    CHECK(errors_at(r, "delivery.sms.bearer_token").size() == 1);
    CHECK(errors_at(r, "store.hmac_key").size() == 1);
    const auto api = errors_at(r, "delivery.sms.headers.X-Api-Key");
    REQUIRE(api.size() == 1);
    CHECK_THAT(api[0].message, Contains("name a file for it in secret_header_files"));
    CHECK(errors_at(r, "delivery.sms.headers.Authorization").size() == 1);
}

TEST_CASE("secrets: credentials in the SMS URL are refused without repeating them", "[config]") {
    const auto sms = [](const std::string& url) {
        return document::minimal()
            .set("delivery", R"(  smtp:
    enabled: true
    host: smtp.example.org
    from: sspr@example.org
  sms:
    enabled: true
    url: )" + url + "\n")
            .text();
    };
    const auto user_info =
        errors_at(load(sms("https://u:SeCrEt@sms.example.org/x")), "delivery.sms.url");
    REQUIRE(user_info.size() == 1);
    CHECK(user_info[0].message == "must not hold credentials (user:password@); they are secrets");

    const auto query = errors_at(load(sms("https://sms.example.org/x?from=sspr&apiKey=SeCrEt")),
                                 "delivery.sms.url");
    REQUIRE(query.size() == 1);
    CHECK_THAT(query[0].message,
               StartsWith("the query parameter 'apiKey' looks like a credential"));
    CHECK_THAT(query[0].message, !Contains("SeCrEt"));

    CHECK(errors_at(load(sms("https://sms.example.org/x?from=sspr")), "delivery.sms.url").empty());
}

TEST_CASE("secrets: check-config output never holds a secret", "[config]") {
    temp_dir dir;
    const std::string yaml = dir.write("ssprd.yaml", document::minimal().text(), 0644);
    auto files = fake_system::with_standard_files();
    std::ostringstream out;
    std::ostringstream err;
    REQUIRE(run_check_config(yaml, out, err, files.options()) == 0);
    for (const char* secret : {"ldap-service-password", "aaaaaaaaaaaaaaaa", "hhhhhhhhhhhhhhhh"}) {
        CHECK_THAT(out.str() + err.str(), !Contains(secret));
    }
}

TEST_CASE("secrets: the real file access reads files and checks their permissions", "[config]") {
    temp_dir dir;
    const std::string pw = dir.write("ldap.pw", "real-password\n", 0600);
    const std::string aes = dir.write("store.key", std::string(64, 'e') + "\n", 0600);
    const std::string hmac = dir.write("hmac.key", std::string(40, 'm'), 0400);
    const std::string cert = dir.write("cert.pem", "cert", 0644);
    const std::string key = dir.write("key.pem", "key", 0600);
    const auto yaml_with = [&](const std::string& password_file) {
        return document::minimal()
            .set("server",
                 "  public_url: https://sspr.example.org\n  tls:\n    certificate_file: " + cert +
                     "\n    key_file: " + key + "\n")
            .set("directory", "  uris: [ldaps://dc1.example.org]\n"
                              "  bind_dn: cn=sspr,dc=example,dc=org\n"
                              "  bind_password_file: " +
                                  password_file + "\n  base_dn: dc=example,dc=org\n")
            .set("store", "  encryption_key_file: " + aes + "\n  hmac_key_file: " + hmac + "\n")
            .text();
    };

    SECTION("valid files load") {
        const auto r = load_file(dir.write("ssprd.yaml", yaml_with(pw), 0640));
        INFO(Catch::Detail::stringify(error_lines(r)));
        REQUIRE(r);
        CHECK(r->value.directory.bind_password.reveal() == "real-password");
        CHECK(r->warnings.empty());
    }
    SECTION("a world-readable password file is a warning, a group-readable key an error") {
        REQUIRE(::chmod(pw.c_str(), 0644) == 0);
        REQUIRE(::chmod(hmac.c_str(), 0440) == 0);
        const auto r = load_file(dir.write("ssprd.yaml", yaml_with(pw), 0640));
        REQUIRE_FALSE(r);
        REQUIRE(r.error().errors.size() == 1);
        CHECK(r.error().errors[0].path == "store.hmac_key_file");
        REQUIRE(r.error().warnings.size() == 1);
        CHECK(r.error().warnings[0].path == "directory.bind_password_file");
    }
    SECTION("a missing file, a directory and an oversized file are errors") {
        for (const auto& [file, reason] : std::vector<std::pair<std::string, std::string>>{
                 {(dir.path / "absent.pw").string(), "No such file or directory"},
                 {dir.path.string(), "not a regular file"},
                 {dir.write("big.pw", std::string(70000, 'x'), 0600),
                  "larger than any secret or key ssprd reads, so not the right file"},
                 {dir.link("link.pw", dir.write("target.pw", "pw", 0600)),
                  "is a symbolic link; name the file itself"}}) {
            const auto r = load_file(dir.write("ssprd.yaml", yaml_with(file), 0640));
            const auto e = errors_at(r, "directory.bind_password_file");
            INFO(file);
            REQUIRE(e.size() == 1);
            CHECK(e[0].message == "cannot read the secret file: " + reason);
        }
    }
    // Root reads every file whatever its mode, so this case only exists for other users (CI runs
    // as root and does not count it).
    if (::geteuid() != 0) {
        SECTION("an unreadable file is an error") {
            REQUIRE(::chmod(pw.c_str(), 0000) == 0);
            const auto e = errors_at(load_file(dir.write("ssprd.yaml", yaml_with(pw), 0640)),
                                     "directory.bind_password_file");
            REQUIRE(e.size() == 1);
            CHECK(e[0].message == "cannot read the secret file: Permission denied");
        }
    }
    SECTION("a configuration file every user may write is a warning") {
        const auto r = load_file(dir.write("ssprd.yaml", yaml_with(pw), 0666));
        REQUIRE(r);
        REQUIRE(r->warnings.size() == 1);
        CHECK_THAT(to_string(r->warnings[0]),
                   EndsWith("chmod o-w") &&
                       StartsWith(dir.path.string() + "/ssprd.yaml: (file): warning: "));
    }
    SECTION("a configuration file over 1 MiB is refused") {
        const auto r = load_file(dir.write("big.yaml", std::string(1024 * 1024 + 1, '#'), 0640));
        REQUIRE_FALSE(r);
        CHECK(r.error().errors[0].message ==
              "cannot read the configuration file: larger than 1024 KiB");
    }
}
