// flows/adapters.hpp: codes between challenge/ and store/, and what the policy reads of a user.
#include "flows/adapters.hpp"

#include <catch2/catch.hpp>

using namespace sspr;

TEST_CASE("flows adapters: a code record survives the store and a foreign row is refused",
          "[flows]") {
    challenge::code_record c;
    for (std::size_t i = 0; i < c.binding_hash.size(); ++i) {
        c.binding_hash[i] = static_cast<unsigned char>(i * 7);
        c.code_hash[i] = static_cast<unsigned char>(255 - i);
    }
    c.expires_at =
        std::chrono::system_clock::time_point(std::chrono::milliseconds(1'700'000'000'123));
    c.tries_left = 4;
    const auto row = flows::to_store("flow-1", config::method::sms, c);
    CHECK(row.flow_id == "flow-1");
    CHECK(row.method == config::method::sms);
    CHECK(row.binding_hash.size() == 64);
    CHECK(row.tries_left == 4);
    const auto back = flows::from_store(row);
    REQUIRE(back);
    CHECK(back->binding_hash == c.binding_hash);
    CHECK(back->code_hash == c.code_hash);
    CHECK(back->expires_at == c.expires_at);
    CHECK(back->tries_left == 4);
    CHECK_FALSE(back->used);

    auto bad = row;
    bad.code_hash[10] = 'Z';
    CHECK_FALSE(flows::from_store(bad));
    bad = row;
    bad.binding_hash.pop_back();
    CHECK_FALSE(flows::from_store(bad));

    c.used = true;
    CHECK(flows::to_store("f", config::method::email, c).tries_left == 0);
}

TEST_CASE("flows adapters: only confirmed methods count, each kind once, latest confirmation",
          "[flows]") {
    using std::chrono::hours;
    const store::timestamp t0{std::chrono::milliseconds(1'000'000)};
    store::enrollment e;
    e.user_dn = "uid=a,dc=x";
    e.emails = {{"a@x.org", t0}, {"b@x.org", t0 + hours(5)}, {"c@x.org", std::nullopt}};
    e.phones = {{"+8210", std::nullopt}};
    e.totp = store::totp_enrollment{common::secret(std::string("k")), -1, false};
    e.questions = {{"q1", "h"}};
    e.updated_at = t0 + hours(9);
    auto m = flows::enrolled_methods(e, 2);
    REQUIRE(m.size() == 1); // one question of two asked, an unconfirmed TOTP and phone: none count
    CHECK(m[0].kind == config::method::email);
    CHECK(m[0].last_confirmed == t0 + hours(5));

    e.totp->confirmed = true;
    e.questions.push_back({"q2", "h"});
    m = flows::enrolled_methods(e, 2);
    REQUIRE(m.size() == 3);
    CHECK(m[1].kind == config::method::totp);
    CHECK(m[1].last_confirmed == e.updated_at); // no time of its own: the row's last change
    CHECK(m[2].kind == config::method::questions);
    CHECK(m[2].last_confirmed == e.updated_at);
    e.totp->confirmed_at = t0 + hours(2);
    e.questions_confirmed_at = t0 + hours(3);
    m = flows::enrolled_methods(e, 2);
    CHECK(m[1].last_confirmed == t0 + hours(2));
    CHECK(m[2].last_confirmed == t0 + hours(3));

    ldap::user_entry u;
    u.dn = e.user_dn;
    u.admin_count = true;
    u.state.locked = true;
    const auto f = flows::facts_of(u, {{"cn=g,dc=x", "g"}}, e, 2);
    CHECK(f.dn == u.dn);
    CHECK(f.group_dns == std::vector<std::string>{"cn=g,dc=x"});
    CHECK(f.group_names == std::vector<std::string>{"g"});
    CHECK(f.admin_count);
    CHECK(f.locked);
    CHECK(f.enrolled.size() == 3);

    const auto ch = flows::to_challenge({common::secret(std::string("k")), 41, true});
    CHECK(ch.state == challenge::totp_state::active);
    REQUIRE(ch.last_used_step);
    CHECK(*ch.last_used_step == 41);
    CHECK_FALSE(flows::to_challenge({common::secret(std::string("k")), -1, false}).last_used_step);
}
