// Unit tests of challenge/totp.hpp: the RFC 6238 Appendix B and RFC 4226 Appendix D vectors, the
// drift window, replay refusal, the otpauth:// URI and the enrollment that counts only once
// confirmed. Every expected code is copied from the RFCs.
#include "challenge/totp.hpp"

#include "tests/fakes/fake_random.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>

namespace {

namespace challenge = sspr::challenge;
using challenge::totp_status;

const sspr::common::secret sha1_key{"12345678901234567890"};
const sspr::common::secret sha256_key{"12345678901234567890123456789012"};
const sspr::common::secret sha512_key{
    "1234567890123456789012345678901234567890123456789012345678901234"};

challenge::system_time at(std::int64_t unix_seconds) {
    return challenge::system_time(std::chrono::seconds(unix_seconds));
}

challenge::totp_params params(challenge::totp_algorithm a, unsigned digits = 8) {
    challenge::totp_params p;
    p.algorithm = a;
    p.digits = digits;
    p.period = std::chrono::seconds{30};
    p.skew_steps = 1;
    return p;
}

struct vector_row {
    std::int64_t time;
    std::uint64_t step; // the RFC's "Value of T"
    const char* sha1;
    const char* sha256;
    const char* sha512;
};

// RFC 6238 Appendix B (T0 = 0, X = 30, 8 digits).
constexpr std::array<vector_row, 6> rfc6238{{
    {59, 0x1, "94287082", "46119246", "90693936"},
    {1111111109, 0x23523EC, "07081804", "68084774", "25091201"},
    {1111111111, 0x23523ED, "14050471", "67062674", "99943326"},
    {1234567890, 0x273EF07, "89005924", "91819424", "93441116"},
    {2000000000, 0x3F940AA, "69279037", "90698825", "38618901"},
    {20000000000, 0x27BC86AA, "65353130", "77737706", "47863826"},
}};

} // namespace

TEST_CASE("totp: RFC 6238 Appendix B vectors for SHA-1, SHA-256 and SHA-512", "[challenge]") {
    const auto sha1 = params(challenge::totp_algorithm::sha1);
    const auto sha256 = params(challenge::totp_algorithm::sha256);
    const auto sha512 = params(challenge::totp_algorithm::sha512);
    for (const auto& row : rfc6238) {
        INFO("time " << row.time);
        CHECK(challenge::totp_at(sha1_key, row.step, sha1).reveal() == row.sha1);
        CHECK(challenge::totp_at(sha256_key, row.step, sha256).reveal() == row.sha256);
        CHECK(challenge::totp_at(sha512_key, row.step, sha512).reveal() == row.sha512);

        // system_clock counts nanoseconds in 64 bits here, so it ends in 2262: the last row (year
        // 2603) is checked through its step only.
        if (row.time > 9'000'000'000) {
            continue;
        }
        CHECK(challenge::totp_step(at(row.time), std::chrono::seconds{30}) == row.step);
        const auto v1 = challenge::verify_totp(sha1_key, row.sha1, at(row.time), {}, sha1);
        CHECK(v1.status == totp_status::ok);
        CHECK(v1.step == row.step);
        CHECK(challenge::verify_totp(sha256_key, row.sha256, at(row.time), {}, sha256).status ==
              totp_status::ok);
        CHECK(challenge::verify_totp(sha512_key, row.sha512, at(row.time), {}, sha512).status ==
              totp_status::ok);
    }
}

TEST_CASE("totp: time steps are floor(unix time / period), and 0 before 1970", "[challenge]") {
    const std::chrono::seconds period{30};
    CHECK(challenge::totp_step(at(0), period) == 0);
    CHECK(challenge::totp_step(at(29), period) == 0);
    CHECK(challenge::totp_step(at(30), period) == 1);
    CHECK(challenge::totp_step(at(-45), period) == 0);
    CHECK(challenge::totp_step(at(119), std::chrono::seconds{60}) == 1);
}

TEST_CASE("totp: six-digit codes follow RFC 4226 Appendix D", "[challenge]") {
    // HOTP with the same secret, counters 0..9; TOTP is HOTP of the time step.
    constexpr std::array<const char*, 10> hotp{"755224", "287082", "359152", "969429", "338314",
                                               "254676", "287922", "162583", "399871", "520489"};
    const auto p = params(challenge::totp_algorithm::sha1, 6);
    for (std::uint64_t counter = 0; counter < hotp.size(); ++counter) {
        CHECK(challenge::totp_at(sha1_key, counter, p).reveal() == hotp[counter]);
    }
}

TEST_CASE("totp: one step of drift either way is accepted, two are not", "[challenge]") {
    // 14050471 is the code of step 0x23523ED (time 1111111111).
    const auto p = params(challenge::totp_algorithm::sha1);
    const std::uint64_t step = 0x23523ED;
    for (const std::int64_t drift : {-30, 0, 30}) {
        const auto v = challenge::verify_totp(sha1_key, "14050471", at(1111111111 + drift), {}, p);
        CHECK(v.status == totp_status::ok);
        CHECK(v.step == step);
    }
    for (const std::int64_t drift : {-60, 60}) {
        CHECK(challenge::verify_totp(sha1_key, "14050471", at(1111111111 + drift), {}, p).status ==
              totp_status::wrong);
    }

    auto no_skew = p;
    no_skew.skew_steps = 0;
    CHECK(challenge::verify_totp(sha1_key, "14050471", at(1111111111 + 30), {}, no_skew).status ==
          totp_status::wrong);
}

TEST_CASE("totp: a step once used is never accepted again, nor any older one", "[challenge]") {
    // Steps 0x23523EC and 0x23523ED are consecutive: codes 07081804 and 14050471.
    const auto p = params(challenge::totp_algorithm::sha1);
    const auto first = challenge::verify_totp(sha1_key, "14050471", at(1111111111), {}, p);
    REQUIRE(first.status == totp_status::ok);

    CHECK(challenge::verify_totp(sha1_key, "14050471", at(1111111111), first.step, p).status ==
          totp_status::replay);
    CHECK(challenge::verify_totp(sha1_key, "14050471", at(1111111111 + 25), first.step, p).status ==
          totp_status::replay);
    // The previous step is still inside the window, but older than the one accepted.
    CHECK(challenge::verify_totp(sha1_key, "07081804", at(1111111111), first.step, p).status ==
          totp_status::replay);
    // A different wrong code is wrong, not a replay.
    CHECK(challenge::verify_totp(sha1_key, "14050472", at(1111111111), first.step, p).status ==
          totp_status::wrong);
}

TEST_CASE("totp: spaces are ignored, other malformed input is wrong", "[challenge]") {
    const auto p = params(challenge::totp_algorithm::sha1);
    CHECK(
        challenge::verify_totp(sspr::common::secret{}, "14050471", at(1111111111), {}, p).status ==
        totp_status::wrong);
    CHECK(challenge::verify_totp(sha1_key, "1405 0471", at(1111111111), {}, p).status ==
          totp_status::ok);
    for (const char* typed : {"", "1405047", "140504711", "1405047a", "14050471\n",
                              "0000000000000000000000000000000000000014050471"}) {
        CHECK(challenge::verify_totp(sha1_key, typed, at(1111111111), {}, p).status ==
              totp_status::wrong);
    }
}

TEST_CASE("totp: parameters come from the config and are range-checked", "[challenge]") {
    const sspr::config::totp_config defaults;
    const auto p = challenge::make_totp_params(defaults);
    REQUIRE(p.has_value());
    CHECK(p->algorithm == challenge::totp_algorithm::sha1);
    CHECK(p->digits == 6);
    CHECK(p->period == std::chrono::seconds{30});
    CHECK(p->skew_steps == 1);

    auto bad = defaults;
    bad.digits = 5;
    CHECK(challenge::make_totp_params(bad).error() == challenge::error::invalid_parameters);
    bad = defaults;
    bad.digits = 9;
    CHECK_FALSE(challenge::make_totp_params(bad).has_value());
    bad = defaults;
    bad.period = std::chrono::seconds{0};
    CHECK_FALSE(challenge::make_totp_params(bad).has_value());
    bad = defaults;
    bad.period = std::chrono::seconds{121};
    CHECK_FALSE(challenge::make_totp_params(bad).has_value());
    bad = defaults;
    bad.skew_steps = 3;
    CHECK_FALSE(challenge::make_totp_params(bad).has_value());
}

TEST_CASE("totp: secrets are 160 bits for SHA-1 and come from the random seam", "[challenge]") {
    sspr::fakes::fake_random random;
    const auto secret = challenge::make_totp_secret(random, challenge::totp_algorithm::sha1);
    REQUIRE(secret.reveal().size() == 20);
    for (std::size_t i = 0; i < 20; ++i) {
        CHECK(static_cast<unsigned char>(secret.reveal()[i]) == i);
    }
    CHECK(challenge::totp_secret_bytes(challenge::totp_algorithm::sha256) == 32);
    CHECK(challenge::totp_secret_bytes(challenge::totp_algorithm::sha512) == 64);
}

TEST_CASE("totp: otpauth URI escapes spaces, colons and other reserved characters", "[challenge]") {
    const auto p = params(challenge::totp_algorithm::sha1, 6);
    const auto uri = challenge::otpauth_uri("ACME Corp", "alice:admin@example.org", sha1_key, p);
    REQUIRE(uri.has_value());
    CHECK(uri->reveal() ==
          "otpauth://totp/ACME%20Corp:alice%3Aadmin%40example.org"
          "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME%20Corp&algorithm=SHA1&digits=6"
          "&period=30");

    const auto tricky = challenge::otpauth_uri("R&D=1+1#x", "김철수", sha1_key,
                                               params(challenge::totp_algorithm::sha256, 8));
    REQUIRE(tricky.has_value());
    CHECK(tricky->reveal() ==
          "otpauth://totp/R%26D%3D1%2B1%23x:%EA%B9%80%EC%B2%A0%EC%88%98"
          "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=R%26D%3D1%2B1%23x&algorithm=SHA256"
          "&digits=8&period=30");

    CHECK(challenge::otpauth_uri("", "alice", sha1_key, p).error() ==
          challenge::error::invalid_parameters);
    CHECK(challenge::otpauth_uri("ACME", "", sha1_key, p).error() ==
          challenge::error::invalid_parameters);
}

TEST_CASE("totp: enrollment offers a fresh secret as URI and QR code, pending", "[challenge]") {
    sspr::fakes::fake_random random; // secret = bytes 00 01 … 13
    const auto offer = challenge::begin_totp_enrollment(
        "ssprd", "alice", params(challenge::totp_algorithm::sha1, 6), random);
    REQUIRE(offer.has_value());
    CHECK(offer->enrollment.state == challenge::totp_state::pending);
    CHECK_FALSE(offer->enrollment.last_used_step.has_value());
    CHECK(offer->enrollment.secret.reveal().size() == 20);
    // base32 of 00 01 02 … 13, worked out by hand in 5-bit groups.
    CHECK(offer->uri.reveal() ==
          "otpauth://totp/ssprd:alice?secret=AAAQEAYEAUDAOCAJBIFQYDIOB4IBCEQT&issuer=ssprd"
          "&algorithm=SHA1&digits=6&period=30");
    CHECK(offer->qr_svg.reveal().starts_with("<svg"));
}

TEST_CASE("totp: an enrollment counts only after a first valid code", "[challenge]") {
    challenge::totp_enrollment e;
    e.secret = sha1_key;
    const auto p = params(challenge::totp_algorithm::sha1);
    e.state = challenge::totp_state::pending;

    // Pending: not yet a proof at reset.
    CHECK(challenge::verify_enrolled_totp(e, "94287082", at(59), p) == totp_status::wrong_state);

    CHECK(challenge::confirm_totp_enrollment(e, "94287083", at(59), p) == totp_status::wrong);
    CHECK(e.state == challenge::totp_state::pending);
    CHECK_FALSE(e.last_used_step.has_value());

    CHECK(challenge::confirm_totp_enrollment(e, "94287082", at(59), p) == totp_status::ok);
    CHECK(e.state == challenge::totp_state::active);
    REQUIRE(e.last_used_step.has_value());
    CHECK(*e.last_used_step == 1);

    // The confirming code is spent; the next one (step 0x23523ED, much later) works at reset.
    CHECK(challenge::verify_enrolled_totp(e, "94287082", at(59), p) == totp_status::replay);
    CHECK(challenge::verify_enrolled_totp(e, "14050471", at(1111111111), p) == totp_status::ok);
    CHECK(*e.last_used_step == 0x23523ED);
    CHECK(challenge::confirm_totp_enrollment(e, "14050471", at(1111111111), p) ==
          totp_status::wrong_state);
}
