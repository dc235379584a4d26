// Unit tests of helpdesk/helpdesk.hpp over the fake store and directory, with a real audit trail
// in a temporary directory: what status shows (masked, never a secret), what clear and unblock
// change and write to the audit, the CSV export's quoting and formula guard, and the command
// lines' usage errors. Expected hints are written out here by hand from the seeded addresses.
#include "helpdesk/helpdesk.hpp"

#include "audit/audit.hpp"
#include "policy/throttle.hpp"
#include "tests/fakes/fake_directory.hpp"
#include "tests/fakes/fake_state_store.hpp"
#include "tests/support/stderr_capture.hpp"
#include "tests/support/temp_dir.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

namespace helpdesk = sspr::helpdesk;
namespace store = sspr::store;
namespace config = sspr::config;
namespace policy = sspr::policy;
using namespace std::chrono_literals;

namespace {

// Strings seeded into the store that no output may contain.
const std::string email_address = "alice.secret@example.org";
const std::string phone_number = "+82 10 9876 5432";
const std::string totp_seed = "TOTPSEEDnevershowTOTPSEED";
const std::string answer_hash = "$argon2id$v=19$m=65536,t=3,p=1$SALTSALT$HASHnevershowHASH";
const std::string alice_dn = "uid=alice,ou=people,dc=example,dc=org";

const auto now =
    std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'000'000));

std::string read_file(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

std::vector<boost::json::object> audit_lines(const std::string& p) {
    std::vector<boost::json::object> out;
    std::istringstream in(read_file(p));
    for (std::string line; std::getline(in, line);) {
        out.push_back(boost::json::parse(line).as_object());
    }
    return out;
}

std::string field(const boost::json::object& o, const char* name) {
    const auto* v = o.if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

struct fixture {
    sspr::test::temp_dir dir{"sspr-helpdesk"};
    config::config cfg;
    sspr::fakes::fake_state_store fake;
    sspr::fakes::fake_directory directory;
    std::unique_ptr<sspr::audit::trail> trail;
    sspr::common::secret key{std::string(32, 'k')};
    std::string audit_path = dir.file("audit.jsonl");

    fixture() {
        cfg.enrollment.reconfirm_after = std::chrono::seconds(180 * 24 * 3600);
        auto t = sspr::audit::trail::open(audit_path);
        REQUIRE(t.has_value());
        trail = std::move(*t);
        sspr::ldap::user_entry alice;
        alice.dn = alice_dn;
        alice.login = "alice";
        directory.add_user(alice, "Password1!");
        store::enrollment e;
        e.user_dn = alice_dn;
        e.emails.push_back({email_address, store::to_timestamp(now - 10 * 24h)});
        e.phones.push_back({phone_number, store::to_timestamp(now - 200 * 24h)});
        store::totp_enrollment totp;
        totp.secret = sspr::common::secret(totp_seed);
        totp.confirmed = true;
        totp.confirmed_at = store::to_timestamp(now - 24h);
        e.totp = std::move(totp);
        e.questions = {{"q1", answer_hash}, {"q2", answer_hash + "2"}};
        e.questions_confirmed_at = store::to_timestamp(now - 5 * 24h);
        REQUIRE(fake.put_enrollment(e, store::to_timestamp(now - 24h)).has_value());
    }

    [[nodiscard]] helpdesk::services services() {
        helpdesk::services s;
        s.cfg = &cfg;
        s.store = &fake;
        s.directory = &directory;
        s.audit = trail.get();
        s.hmac_key = &key;
        s.now = now;
        return s;
    }

    [[nodiscard]] std::string key_of(const char* bucket,
                                     const policy::throttle_subject& who) const {
        const auto b =
            std::find_if(cfg.throttles.buckets.begin(), cfg.throttles.buckets.end(),
                         [&](const config::throttle_bucket& x) { return x.name == bucket; });
        REQUIRE(b != cfg.throttles.buckets.end());
        auto k = policy::derive_key(*b, who, key);
        REQUIRE(k.has_value());
        return *k;
    }
};

void check_no_secret(const std::string& text) {
    CHECK(text.find("alice.secret") == std::string::npos);
    CHECK(text.find("9876") == std::string::npos);
    CHECK(text.find("TOTPSEED") == std::string::npos);
    CHECK(text.find("nevershow") == std::string::npos);
    CHECK(text.find("argon2") == std::string::npos);
    CHECK(text.find("bucket:") == std::string::npos); // throttle keys are not shown either
}

} // namespace

TEST_CASE("helpdesk: status lists methods masked, confirmation, re-confirmation and no secret",
          "[helpdesk]") {
    fixture f;
    std::ostringstream out;
    std::ostringstream err;
    REQUIRE(helpdesk::status(f.services(), "alice", "kim", out, err) == helpdesk::exit_ok);
    const std::string text = out.str();
    INFO(text);
    CHECK(text.find("user: " + alice_dn) != std::string::npos);
    CHECK(text.find("email-0  ***@e***.org  confirmed ") != std::string::npos);
    CHECK(text.find("sms-0  ** **** 5432  confirmed ") != std::string::npos);
    // The phone was confirmed 200 days ago, over the 180 of the policy; the others are current.
    CHECK(text.find("5432  confirmed 2026-06-29T08:00:00Z (re-confirmation due)") !=
          std::string::npos);
    CHECK(text.find("totp  confirmed 2027-01-14T08:00:00Z\n") != std::string::npos);
    CHECK(text.find("questions  confirmed") != std::string::npos);
    CHECK(text.find("current methods: 3") != std::string::npos);
    CHECK(text.find("failed_proofs (user): not blocked") != std::string::npos);
    CHECK(text.find("emails (email-0 ***@e***.org): not blocked") != std::string::npos);
    CHECK(text.find("texts (sms-0 ** **** 5432): not blocked") != std::string::npos);
    check_no_secret(text + err.str() + read_file(f.audit_path));

    const auto lines = audit_lines(f.audit_path);
    REQUIRE(lines.size() == 1);
    CHECK(field(lines[0], "step") == "helpdesk.status");
    CHECK(field(lines[0], "actor") == "kim");
    CHECK(field(lines[0], "user_dn") == alice_dn);
}

TEST_CASE("helpdesk: status shows the blocks in force on the user's keys", "[helpdesk]") {
    fixture f;
    const auto until = store::to_timestamp(now + 3h + 30min);
    REQUIRE(f.fake.block(f.key_of("failed_proofs", {alice_dn, "", "", ""}), until));
    policy::throttle_subject dest;
    dest.destination = email_address;
    REQUIRE(f.fake.block(f.key_of("emails", dest), until));
    // Another user's block is not alice's.
    REQUIRE(
        f.fake.block(f.key_of("validations", {"uid=bob,dc=example,dc=org", "", "", ""}), until));
    std::ostringstream out;
    std::ostringstream err;
    REQUIRE(helpdesk::status(f.services(), alice_dn, "kim", out, err) == helpdesk::exit_ok);
    const std::string text = out.str();
    INFO(text);
    CHECK(text.find("failed_proofs (user): BLOCKED until 2027-01-15T11:30:00Z (3h 30m left)") !=
          std::string::npos);
    CHECK(text.find("emails (email-0 ***@e***.org): BLOCKED until") != std::string::npos);
    CHECK(text.find("validations (user): not blocked") != std::string::npos);
    CHECK(text.find("unblock") != std::string::npos);
    check_no_secret(text);
}

TEST_CASE("helpdesk: unknown users and DNs without an enrollment are not found", "[helpdesk]") {
    fixture f;
    std::ostringstream out;
    std::ostringstream err;
    CHECK(helpdesk::status(f.services(), "nobody", "kim", out, err) == helpdesk::exit_not_found);
    CHECK(err.str().find("no user 'nobody'") != std::string::npos);
    CHECK(helpdesk::status(f.services(), "uid=typo,dc=example,dc=org", "kim", out, err) ==
          helpdesk::exit_not_found);
    CHECK(helpdesk::clear(f.services(), "nobody", "totp", "kim", out, err) ==
          helpdesk::exit_not_found);
    CHECK(out.str().empty());
}

TEST_CASE("helpdesk: clear removes one method, audited with the operator and a masked hint",
          "[helpdesk]") {
    fixture f;
    std::ostringstream out;
    std::ostringstream err;
    REQUIRE(helpdesk::clear(f.services(), "alice", "sms-0", "kim", out, err) == helpdesk::exit_ok);
    CHECK(out.str().find("removed sms-0 ** **** 5432 from " + alice_dn) != std::string::npos);
    auto e = f.fake.get_enrollment(alice_dn);
    REQUIRE(e.has_value());
    CHECK(e->phones.empty());
    CHECK(e->emails.size() == 1);
    CHECK(e->totp.has_value());
    CHECK(e->questions.size() == 2);
    const auto lines = audit_lines(f.audit_path);
    REQUIRE(lines.size() == 1);
    CHECK(field(lines[0], "step") == "helpdesk.clear");
    CHECK(field(lines[0], "actor") == "kim");
    CHECK(field(lines[0], "method") == "sms");
    CHECK(field(lines[0], "hint") == "** **** 5432");
    CHECK(field(lines[0], "outcome") == "ok");
    check_no_secret(out.str() + err.str() + read_file(f.audit_path));

    SECTION("totp and questions go the same way") {
        REQUIRE(helpdesk::clear(f.services(), "alice", "totp", "kim", out, err) == 0);
        REQUIRE(helpdesk::clear(f.services(), "alice", "questions", "kim", out, err) == 0);
        e = f.fake.get_enrollment(alice_dn);
        REQUIRE(e.has_value());
        CHECK_FALSE(e->totp.has_value());
        CHECK(e->questions.empty());
        CHECK(e->emails.size() == 1);
    }
    SECTION("a method that is not there changes nothing, and says what is") {
        const auto version = e->version;
        std::ostringstream err2;
        CHECK(helpdesk::clear(f.services(), "alice", "sms-0", "kim", out, err2) ==
              helpdesk::exit_not_found);
        CHECK(helpdesk::clear(f.services(), "alice", "email-7", "kim", out, err2) ==
              helpdesk::exit_not_found);
        CHECK(helpdesk::clear(f.services(), "alice", "phone", "kim", out, err2) ==
              helpdesk::exit_not_found);
        CHECK(err2.str().find("registered: email-0, totp, questions") != std::string::npos);
        CHECK(f.fake.get_enrollment(alice_dn)->version == version);
        const auto after = audit_lines(f.audit_path);
        REQUIRE(after.size() == 4);
        CHECK(field(after[1], "outcome") == "refused");
        CHECK(field(after[1], "reason") == "method.not_found");
    }
    std::istringstream chain(read_file(f.audit_path));
    CHECK(sspr::audit::verify(chain).ok);
}

TEST_CASE("helpdesk: the operator name is required and checked", "[helpdesk]") {
    fixture f;
    std::ostringstream out;
    std::ostringstream err;
    CHECK(helpdesk::clear(f.services(), "alice", "totp", "", out, err) == helpdesk::exit_usage);
    CHECK(helpdesk::unblock(f.services(), "alice", "kim\nforged", out, err) ==
          helpdesk::exit_usage);
    CHECK(f.fake.get_enrollment(alice_dn)->totp.has_value());
    CHECK(read_file(f.audit_path).empty());
}

TEST_CASE("helpdesk: unblock clears the keys a successful reset clears, not the address's",
          "[helpdesk]") {
    fixture f;
    const auto until = store::to_timestamp(now + 24h);
    auto buckets = policy::make_bucket_set(f.cfg.throttles);
    REQUIRE(buckets.has_value());
    const std::vector<std::string> destinations{email_address, phone_number};
    auto expected = policy::keys_to_clear_on_success(*buckets, alice_dn, destinations, "", f.key,
                                                     f.cfg.delivery.sms.default_region);
    REQUIRE(expected.has_value());
    REQUIRE(expected->size() >= 5);
    for (const auto& k : *expected) {
        REQUIRE(f.fake.increment(k, 1h, store::to_timestamp(now)).has_value());
    }
    const auto proofs = f.key_of("failed_proofs", {alice_dn, "", "", ""});
    REQUIRE(f.fake.block(proofs, until));
    const auto ip = f.key_of("flow_starts_per_ip", {"", "192.0.2.9", "", ""});
    REQUIRE(f.fake.block(ip, until));

    std::ostringstream out;
    std::ostringstream err;
    REQUIRE(helpdesk::unblock(f.services(), "alice", "kim", out, err) == helpdesk::exit_ok);
    INFO(out.str() << err.str());
    CHECK(out.str().find("failed_proofs (user): block until 2027-01-16T08:00:00Z lifted\n") !=
          std::string::npos);
    CHECK(out.str().find("lifted: failed_proofs for " + alice_dn) != std::string::npos);
    {
        const std::lock_guard lock(f.fake.shared_tables()->mutex);
        for (const auto& k : *expected) {
            CHECK(f.fake.shared_tables()->counters.count(k) == 0);
        }
    }
    CHECK_FALSE(*f.fake.blocked_until(proofs, store::to_timestamp(now)));
    CHECK(f.fake.blocked_until(ip, store::to_timestamp(now))->has_value());
    check_no_secret(out.str());
    const auto lines = audit_lines(f.audit_path);
    REQUIRE(lines.size() == 1);
    CHECK(field(lines[0], "step") == "helpdesk.unblock");
    CHECK(field(lines[0], "actor") == "kim");
    CHECK(field(lines[0], "reason") == "throttle.cleared");
    CHECK(field(lines[0], "diagnostic") == "lifted: failed_proofs");
}

TEST_CASE("helpdesk: CSV fields are quoted per RFC 4180 and formulas are defused", "[helpdesk]") {
    CHECK(helpdesk::csv_field("plain") == "plain");
    CHECK(helpdesk::csv_field("") == "");
    CHECK(helpdesk::csv_field("a,b") == "\"a,b\"");
    CHECK(helpdesk::csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
    CHECK(helpdesk::csv_field("two\r\nlines") == "\"two\r\nlines\"");
    CHECK(helpdesk::csv_field("=1+1") == "'=1+1");
    CHECK(helpdesk::csv_field("+1") == "'+1");
    CHECK(helpdesk::csv_field("-1") == "'-1");
    CHECK(helpdesk::csv_field("@SUM(A1)") == "'@SUM(A1)");
    CHECK(helpdesk::csv_field("\tx") == "'\tx");
    CHECK(helpdesk::csv_field("=HYPERLINK(\"x\",\"y\")") == "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"");
    CHECK(helpdesk::csv_field("a=b") == "a=b");
    CHECK(helpdesk::csv_field("** **** 1234") == "** **** 1234");
}

TEST_CASE("helpdesk: the export has one masked row per enrolled user", "[helpdesk]") {
    fixture f;
    store::enrollment evil;
    evil.user_dn = "=cmd|' /C calc'!A0,ou=people";
    evil.emails.push_back({"bob@example.com", std::nullopt});
    REQUIRE(f.fake.put_enrollment(evil, store::to_timestamp(now)).has_value());
    std::ostringstream out;
    std::ostringstream err;
    REQUIRE(helpdesk::export_enrollments(f.services(), "kim", out, err) == helpdesk::exit_ok);
    const std::string csv = out.str();
    INFO(csv);
    std::vector<std::string> rows;
    for (std::size_t at = 0; at < csv.size();) {
        const auto end = csv.find("\r\n", at);
        REQUIRE(end != std::string::npos);
        rows.push_back(csv.substr(at, end - at));
        at = end + 2;
    }
    REQUIRE(rows.size() == 3);
    CHECK(rows[0] ==
          "user_dn,methods,email_hints,sms_hints,totp,questions,last_confirmed,reconfirm_due");
    // The fake lists DNs in byte order: "=" before "u".
    CHECK(rows[1] == "\"'=cmd|' /C calc'!A0,ou=people\",email,***@e***.com (not confirmed),,,,,");
    CHECK(rows[2] == "\"" + alice_dn +
                         "\",email;sms;totp;questions,***@e***.org,** **** 5432,confirmed,2,"
                         "2027-01-14T08:00:00Z,sms-0");
    check_no_secret(csv + err.str());
    CHECK(csv.find("bob@") == std::string::npos);
    const auto lines = audit_lines(f.audit_path);
    REQUIRE(lines.size() == 1);
    CHECK(field(lines[0], "step") == "enrollments.export");
    CHECK(field(lines[0], "actor") == "kim");
}

TEST_CASE("helpdesk: a store failure is exit 2 and changes nothing", "[helpdesk]") {
    fixture f;
    f.fake.fail_with(store::error::unavailable);
    std::ostringstream out;
    std::ostringstream err;
    CHECK(helpdesk::status(f.services(), "alice", "kim", out, err) == helpdesk::exit_failure);
    CHECK(helpdesk::clear(f.services(), "alice", "totp", "kim", out, err) ==
          helpdesk::exit_failure);
    CHECK(helpdesk::export_enrollments(f.services(), "kim", out, err) == helpdesk::exit_failure);
    f.fake.fail_with(std::nullopt);
    CHECK(f.fake.get_enrollment(alice_dn)->totp.has_value());
}

TEST_CASE("helpdesk: command lines", "[helpdesk]") {
    std::ostringstream out;
    std::ostringstream err;
    CHECK(helpdesk::run_helpdesk({}, out, err) == helpdesk::exit_usage);
    CHECK(helpdesk::run_helpdesk({"frobnicate"}, out, err) == helpdesk::exit_usage);
    CHECK(err.str().find("unknown command 'frobnicate'") != std::string::npos);
    CHECK(helpdesk::run_helpdesk({"clear", "alice", "totp", "-c", "x.yaml"}, out, err) ==
          helpdesk::exit_usage); // no --operator
    CHECK(err.str().find("operator") != std::string::npos);
    CHECK(helpdesk::run_helpdesk({"unblock", "-c", "x.yaml", "--operator", "kim"}, out, err) ==
          helpdesk::exit_usage); // no USER
    CHECK(helpdesk::run_helpdesk({"status", "alice"}, out, err) == helpdesk::exit_usage);
    CHECK(helpdesk::run_enrollments({"export", "--bogus"}, out, err) == helpdesk::exit_usage);
    CHECK(helpdesk::run_enrollments({"import"}, out, err) == helpdesk::exit_usage);
    std::ostringstream help;
    CHECK(helpdesk::run_helpdesk({"status", "--help"}, help, err) == helpdesk::exit_ok);
    CHECK(help.str().find("ssprd helpdesk clear") != std::string::npos);
    sspr::test::temp_dir dir;
    std::ostringstream err2;
    CHECK(helpdesk::run_helpdesk(
              {"status", "alice", "-c", dir.file("missing.yaml"), "--operator", "kim"}, out,
              err2) == helpdesk::exit_failure);
    CHECK(err2.str().find("missing.yaml") != std::string::npos);
}
