// Unit tests of store/rotate_command.hpp: a real configuration file in a private temporary
// directory (every path in it pointing there, key files mode 0600) naming an SQLite store there.
// Enrollments are written under key A, the command runs with key B active and A older, and the
// rows must then read with key B alone.
#include "store/rotate_command.hpp"

#include "common/random.hpp"
#include "store/crypto.hpp"
#include "store/state_store.hpp"
#include "tests/support/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

using namespace sspr::testing::store_support;
namespace crypto = sspr::store::crypto;
namespace fs = std::filesystem;

namespace {

/// A private directory removed at the end of the test.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "sspr-rotate-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    std::string write(const std::string& name, const std::string& content,
                      unsigned mode = 0600) const {
        const auto p = path / name;
        std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
        REQUIRE(::chmod(p.c_str(), static_cast<mode_t>(mode)) == 0);
        return p.string();
    }
};

/// 64 hex digits of the byte `b`, and the key they make.
std::string key_hex(char b) {
    static constexpr char digits[] = "0123456789abcdef";
    const auto u = static_cast<unsigned char>(b);
    std::string one{digits[u >> 4U], digits[u & 0xFU]};
    std::string s;
    for (int i = 0; i < 32; ++i) {
        s += one;
    }
    return s;
}

crypto::key key_of(char b) {
    std::vector<std::byte> bytes(32, static_cast<std::byte>(b));
    return crypto::key(bytes);
}

/// The files a configuration names, all in one temporary directory, and configurations that
/// use them.
class installation {
public:
    installation() {
        cert_ = dir_.write("cert.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
        tls_key_ = dir_.write("key.pem", "-----BEGIN PRIVATE KEY-----\n");
        ldap_pw_ = dir_.write("ldap.pw", "not-a-real-password\n");
        hmac_ = dir_.write("hmac.key", std::string(32, 'h'));
        key_a_ = dir_.write("a.key", key_hex(0x11) + "\n");
        key_b_ = dir_.write("b.key", key_hex(0x22) + "\n");
        db_ = (dir_.path / "state.db").string();
    }

    [[nodiscard]] const std::string& key_a() const { return key_a_; }
    [[nodiscard]] const std::string& key_b() const { return key_b_; }
    [[nodiscard]] const std::string& db() const { return db_; }
    [[nodiscard]] const fs::path& dir() const { return dir_.path; }

    /// Writes ssprd.yaml with this store section and returns its path.
    std::string config(const std::string& active, const std::vector<std::string>& older,
                       const std::string& sqlite_path) const {
        std::string older_list;
        for (const auto& o : older) {
            older_list += older_list.empty() ? "" : ", ";
            older_list += o;
        }
        // The shape of config/ssprd.example.yaml, cut to what is required; every file is ours.
        std::string yaml = R"(server:
  public_url: https://sspr.example.org
  tls:
    certificate_file: @CERT@
    key_file: @TLS_KEY@
directory:
  uris: [ldaps://dc1.example.org]
  bind_dn: cn=sspr,dc=example,dc=org
  bind_password_file: @LDAP_PW@
  base_dn: dc=example,dc=org
store:
  backend: sqlite
  sqlite_path: @DB@
  encryption_key_file: @ACTIVE@
  older_encryption_key_files: [@OLDER@]
  hmac_key_file: @HMAC@
delivery:
  smtp:
    enabled: true
    host: smtp.example.org
    from: sspr@example.org
methods:
  email:
    enabled: true
  totp:
    enabled: true
policy:
  scope: all
audit:
  path: @AUDIT@
ui:
  organisation: Example
)";
        const std::vector<std::pair<std::string, std::string>> values{
            {"@CERT@", cert_},       {"@TLS_KEY@", tls_key_},
            {"@LDAP_PW@", ldap_pw_}, {"@DB@", sqlite_path},
            {"@ACTIVE@", active},    {"@OLDER@", older_list},
            {"@HMAC@", hmac_},       {"@AUDIT@", (dir_.path / "audit.jsonl").string()}};
        for (const auto& [placeholder, value] : values) {
            yaml.replace(yaml.find(placeholder), placeholder.size(), value);
        }
        return dir_.write("ssprd.yaml", yaml, 0640);
    }
    std::string config(const std::string& active, const std::vector<std::string>& older) const {
        return config(active, older, db_);
    }

    /// The store as the gateway would open it, with exactly these keys.
    std::unique_ptr<sspr::store::state_store> open(std::vector<crypto::key> keys) const {
        sspr::config::store_config cfg;
        cfg.backend = sspr::config::store_backend::sqlite;
        cfg.sqlite_path = db_;
        crypto::key active = keys.front();
        keys.erase(keys.begin());
        auto store = sspr::store::make_state_store(
            cfg, std::make_shared<const crypto::keyring>(std::move(active), std::move(keys)),
            sspr::common::secret(std::string(32, 'h')), sspr::common::make_system_random());
        if (!store) {
            FAIL("cannot open the test store: " << store.error().message());
        }
        return std::move(*store);
    }

private:
    temp_dir dir_;
    std::string cert_;
    std::string tls_key_;
    std::string ldap_pw_;
    std::string hmac_;
    std::string key_a_;
    std::string key_b_;
    std::string db_;
};

struct run_result {
    int status = -1;
    std::string out;
    std::string err;
};

run_result rotate_with(const std::string& config_path) {
    std::ostringstream out;
    std::ostringstream err;
    run_result r;
    r.status = sspr::store::run_rotate_key(config_path, out, err);
    r.out = out.str();
    r.err = err.str();
    return r;
}

const std::vector<std::string> users{"uid=alice,ou=people,dc=example,dc=org",
                                     "uid=bob,ou=people,dc=example,dc=org",
                                     "uid=carol,ou=people,dc=example,dc=org"};

void enrol_under(const installation& site, const crypto::key& k,
                 const std::vector<std::string>& dns) {
    auto store = site.open({k});
    for (const auto& dn : dns) {
        ok(store->put_enrollment(sample_enrollment(dn), t0));
    }
}

void check_no_secret_in(const run_result& r) {
    for (const std::string& secret :
         {key_hex(0x11), key_hex(0x22), key_hex(0x33), std::string("alice@example.org"),
          std::string("12345678901234567890")}) {
        CHECK(r.out.find(secret) == std::string::npos);
        CHECK(r.err.find(secret) == std::string::npos);
    }
}

} // namespace

TEST_CASE("rotate-key: every enrollment is re-sealed under the new key and reads with it alone",
          "[store]") {
    installation site;
    const auto a = key_of(0x11);
    const auto b = key_of(0x22);
    enrol_under(site, a, users);
    // Before: key B alone cannot read what key A sealed.
    CHECK(err(site.open({b})->get_enrollment(users[0])) == sspr::store::error::unknown_key);

    const auto first = rotate_with(site.config(site.key_b(), {site.key_a()}));
    CHECK(first.status == 0);
    const std::string id_a = crypto::format_key_id(a.id());
    const std::string id_b = crypto::format_key_id(b.id());
    CHECK(first.out == "active key " + id_b + "; older keys: " + id_a +
                           "\n"
                           "re-sealed 3 enrollments under key " +
                           id_b +
                           " (0 of 3 examined were under it already)\n"
                           "no enrollment needs the older keys any more: remove them from "
                           "store.older_encryption_key_files\n");
    CHECK(first.err.empty());
    check_no_secret_in(first);

    auto store = site.open({b});
    for (const auto& dn : users) {
        const auto e = ok(store->get_enrollment(dn));
        const auto expected = sample_enrollment(dn);
        CHECK(e.key_id == b.id());
        CHECK(e.emails == expected.emails);
        CHECK(e.phones == expected.phones);
        CHECK(e.questions == expected.questions);
        REQUIRE(e.totp.has_value());
        CHECK(e.totp->secret.reveal() == expected.totp->secret.reveal());
        CHECK(e.updated_at == t0);
    }

    SECTION("running it again re-seals nothing") {
        const auto again = rotate_with(site.config(site.key_b(), {site.key_a()}));
        CHECK(again.status == 0);
        CHECK(again.out.find("re-sealed 0 enrollments under key " + id_b +
                             " (3 of 3 examined were under it already)\n") != std::string::npos);
    }
    SECTION("with key A gone from the configuration it succeeds as well") {
        const auto without_a = rotate_with(site.config(site.key_b(), {}));
        CHECK(without_a.status == 0);
        CHECK(without_a.out == "active key " + id_b +
                                   "; older keys: none\nre-sealed 0 "
                                   "enrollments under key " +
                                   id_b + " (3 of 3 examined were under it already)\n");
    }
}

TEST_CASE("rotate-key: rows it cannot read are named and the status is 1", "[store]") {
    installation site;
    const auto a = key_of(0x11);
    const auto b = key_of(0x22);
    const auto c = key_of(0x33); // in no configuration
    enrol_under(site, a, {users[0], users[1]});
    enrol_under(site, c, {users[2]});

    const auto r = rotate_with(site.config(site.key_b(), {site.key_a()}));
    CHECK(r.status == 1);
    CHECK(r.out.find("re-sealed 2 enrollments under key " + crypto::format_key_id(b.id()) +
                     " (0 of 3 examined were under it already)\n") != std::string::npos);
    CHECK(r.out.find("remove them") == std::string::npos); // key A must stay
    CHECK(r.err == "ssprd store rotate-key: 1 enrollment cannot be read (damaged, or under a key "
                   "that is not configured) and was left as it is; keep the older keys until "
                   "they are dealt with:\n  " +
                       users[2] + "\n");
    check_no_secret_in(r);
    // The readable ones were rotated all the same.
    auto store = site.open({b});
    CHECK(ok(store->get_enrollment(users[0])).key_id == b.id());
    CHECK(ok(store->get_enrollment(users[1])).key_id == b.id());
}

TEST_CASE("rotate-key: an invalid configuration is reported as check-config does, status 2",
          "[store]") {
    installation site;
    const auto path = site.config(site.key_b(), {site.key_a()});
    std::string yaml;
    {
        std::ifstream in(path);
        std::ostringstream s;
        s << in.rdbuf();
        yaml = s.str();
    }
    yaml += "unknown_section: true\n";
    std::ofstream(path, std::ios::trunc) << yaml;

    const auto r = rotate_with(path);
    CHECK(r.status == 2);
    CHECK(r.out.empty());
    CHECK(r.err.find(path + ":") == 0); // file:line:column first
    CHECK(r.err.find("unknown_section") != std::string::npos);
    CHECK(r.err.find(path + ": 1 error; the configuration is not valid\n") != std::string::npos);
    CHECK_FALSE(fs::exists(site.db())); // nothing was opened
}

TEST_CASE("rotate-key: a store that is missing or cannot be opened is status 1 with a message",
          "[store]") {
    installation site;
    SECTION("no database file at the path: a wrong path, nothing is created") {
        const auto missing = (site.dir() / "typo.db").string();
        const auto r = rotate_with(site.config(site.key_b(), {site.key_a()}, missing));
        CHECK(r.status == 1);
        CHECK(r.err == "ssprd store rotate-key: there is no state store at " + missing +
                           " (store.sqlite_path)\n");
        CHECK_FALSE(fs::exists(missing));
    }
    SECTION("a file that is not a database") {
        std::ofstream(site.db()) << "not a database, just text that is long enough to be read\n";
        const auto r = rotate_with(site.config(site.key_b(), {site.key_a()}));
        CHECK(r.status == 1);
        CHECK(r.err.find("ssprd store rotate-key: cannot open the state store: ") == 0);
    }
}
