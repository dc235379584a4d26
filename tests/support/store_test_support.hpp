// Small helpers the store tests share: fixed times, sample records, and unwrapping results with
// the error's message in the failure.
#pragma once

#include "store/state_store.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <utility>

namespace sspr::testing::store_support {

using namespace std::chrono_literals;

/// A fixed "now": 2023-11-14T22:13:20Z.
inline constexpr sspr::store::timestamp t0{std::chrono::milliseconds(1'700'000'000'000)};

template <class T> T ok(sspr::store::result<T> r) {
    if (!r) {
        FAIL("store error: " << r.error().message());
    }
    return std::move(*r);
}

inline void ok(sspr::store::result<void> r) {
    if (!r) {
        FAIL("store error: " << r.error().message());
    }
}

/// The error a failed result holds (fails the test when it succeeded).
template <class T> boost::system::error_code err(const sspr::store::result<T>& r) {
    if (r) {
        FAIL("expected an error, the store succeeded");
    }
    return r.error();
}

inline sspr::store::flow_record
sample_flow(std::string id, std::string user = "uid=alice,ou=people,dc=example,dc=org") {
    sspr::store::flow_record f;
    f.id = std::move(id);
    f.user_dn = std::move(user);
    f.kind = sspr::store::flow_kind::reset;
    f.state = sspr::store::flow_state::started;
    f.gates_passed = 0;
    f.created_at = t0;
    f.expires_at = t0 + 15min;
    return f;
}

inline sspr::store::code_record sample_code(std::string flow_id,
                                            config::method m = config::method::email) {
    sspr::store::code_record c;
    c.flow_id = std::move(flow_id);
    c.method = m;
    c.binding_hash = std::string("\x01\x02\x00\x03", 4); // binary, with a NUL inside
    c.code_hash = std::string("\xff\x00hash", 6);
    c.expires_at = t0 + 10min;
    c.tries_left = 5;
    return c;
}

inline sspr::store::enrollment sample_enrollment(std::string user) {
    sspr::store::enrollment e;
    e.user_dn = std::move(user);
    e.emails = {{"alice@example.org", t0 - 24h}, {"älice@例え.jp", std::nullopt}};
    e.phones = {{"+82 10 1234 5678", t0 - 48h}};
    sspr::store::totp_enrollment totp;
    totp.secret = common::secret(std::string("12345678901234567890\0\x01", 22));
    totp.last_used_step = 56666666;
    totp.confirmed = true;
    e.totp = std::move(totp);
    e.questions = {{"first-pet", "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"},
                   {"birth-city", "$argon2id$v=19$m=65536,t=3,p=1$c2FsdDI$aGFzaDI"}};
    return e;
}

} // namespace sspr::testing::store_support
