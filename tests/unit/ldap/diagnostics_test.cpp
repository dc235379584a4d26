// Unit tests of ldap/diagnostics.hpp and ldap/error.hpp: what real Active Directory, Samba AD and
// OpenLDAP answer, verbatim, and the ldap::error each answer must become. LDAP result codes are
// written as numbers (RFC 4511 §4.1.9; negative ones are libldap's client-side codes) so the tests
// do not lean on <ldap.h>.
#include "ldap/diagnostics.hpp"
#include "ldap/error.hpp"

#include <catch2/catch.hpp>

#include <boost/system/system_error.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

using sspr::ldap::ad_data_code;
using sspr::ldap::ad_win32_code;
using sspr::ldap::classify;
using sspr::ldap::error;
using sspr::ldap::operation_kind;

namespace {

// RFC 4511 result codes and libldap client codes used below.
constexpr int rc_protocol_error = 2;
constexpr int rc_timelimit_exceeded = 3;
constexpr int rc_strong_auth_required = 8;
constexpr int rc_unavailable_critical_extension = 12;
constexpr int rc_confidentiality_required = 13;
constexpr int rc_constraint_violation = 19;
constexpr int rc_no_such_object = 32;
constexpr int rc_invalid_credentials = 49;
constexpr int rc_insufficient_access = 50;
constexpr int rc_busy = 51;
constexpr int rc_unavailable = 52;
constexpr int rc_unwilling_to_perform = 53;
constexpr int rc_other = 80;
constexpr int rc_server_down = -1;    // LDAP_SERVER_DOWN
constexpr int rc_timeout = -5;        // LDAP_TIMEOUT
constexpr int rc_connect_error = -11; // LDAP_CONNECT_ERROR

// Real AD refusals, verbatim.
constexpr std::string_view ad_svc_52d =
    "0000052D: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0";
constexpr std::string_view ad_svc_1f =
    "0000001F: SvcErr: DSID-031A12D2, problem 5003 (WILL_NOT_PERFORM), data 0";
constexpr std::string_view ad_sec_5 =
    "00000005: SecErr: DSID-031A11F8, problem 4003 (INSUFFICIENT_ACCESS_RIGHTS), data 0";
constexpr std::string_view ad_atr_56 =
    "00000056: AtrErr: DSID-03190F80, #1:\n\t0: 00000056: DSID-03190F80, problem 1005 "
    "(CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n";
constexpr std::string_view ad_atr_52d =
    "0000052D: AtrErr: DSID-03191083, #1:\n\t0: 0000052D: DSID-03191083, problem 1005 "
    "(CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)\n";

// What AD and Samba AD say when a simple bind fails; only the data code varies.
std::string ad_bind_text(std::string_view data) {
    return "80090308: LdapErr: DSID-0C0903A9, comment: AcceptSecurityContext error, data " +
           std::string(data) + ", v1db1";
}

std::string samba_restriction(std::string_view rule) {
    return "0000052D: Constraint violation - check_password_restrictions: " + std::string(rule);
}

std::string name_of(error e) {
    return sspr::ldap::make_error_code(e).message();
}

} // namespace

TEST_CASE("ad_data_code: reads the hex data code of an AD bind failure", "[ldap]") {
    CHECK(ad_data_code(ad_bind_text("52e")) == std::optional<std::uint32_t>(0x52eU));
    CHECK(ad_data_code(ad_bind_text("525")) == std::optional<std::uint32_t>(0x525U));
    CHECK(ad_data_code(ad_bind_text("775")) == std::optional<std::uint32_t>(0x775U));
    CHECK(ad_data_code(ad_bind_text("773")) == std::optional<std::uint32_t>(0x773U));
    CHECK(ad_data_code(ad_bind_text("533")) == std::optional<std::uint32_t>(0x533U));
    CHECK(ad_data_code(ad_bind_text("532")) == std::optional<std::uint32_t>(0x532U));
    CHECK(ad_data_code(ad_bind_text("701")) == std::optional<std::uint32_t>(0x701U));
    CHECK(ad_data_code(ad_bind_text("530")) == std::optional<std::uint32_t>(0x530U));
    CHECK(ad_data_code(ad_bind_text("531")) == std::optional<std::uint32_t>(0x531U));
    CHECK(ad_data_code(ad_svc_52d) == std::optional<std::uint32_t>(0U));
}

TEST_CASE("ad_data_code: nothing when there is no data code", "[ldap]") {
    CHECK_FALSE(ad_data_code("").has_value());
    CHECK_FALSE(ad_data_code("Password fails quality checking policy").has_value());
    CHECK_FALSE(ad_data_code("comment: AcceptSecurityContext error, data , v1db1").has_value());
    CHECK_FALSE(ad_data_code("comment: AcceptSecurityContext error, data").has_value());
}

TEST_CASE("ad_win32_code: reads the leading eight hex digits before the colon", "[ldap]") {
    CHECK(ad_win32_code(samba_restriction("the password is too short!")) ==
          std::optional<std::uint32_t>(0x52dU));
    CHECK(ad_win32_code("00000056: Constraint violation - check_password_restrictions: The old "
                        "password specified doesn't match!") ==
          std::optional<std::uint32_t>(0x56U));
    CHECK(ad_win32_code(ad_svc_1f) == std::optional<std::uint32_t>(0x1fU));
    CHECK(ad_win32_code(ad_sec_5) == std::optional<std::uint32_t>(0x5U));
    CHECK(ad_win32_code(ad_bind_text("52e")) == std::optional<std::uint32_t>(0x80090308U));
}

TEST_CASE("ad_win32_code: nothing for texts that do not start with a code", "[ldap]") {
    CHECK_FALSE(ad_win32_code("").has_value());
    CHECK_FALSE(ad_win32_code("0000052D").has_value());
    CHECK_FALSE(ad_win32_code("Password is in history of old passwords").has_value());
    CHECK_FALSE(ad_win32_code("0000052G: Constraint violation").has_value());
    CHECK_FALSE(ad_win32_code("000052D: Constraint violation").has_value());
    CHECK_FALSE(ad_win32_code(" 0000052D: Constraint violation").has_value());
}

TEST_CASE("classify: AD bind data codes on a user bind", "[ldap]") {
    const auto bind = [](std::string_view data) {
        return classify(operation_kind::user_bind, rc_invalid_credentials, ad_bind_text(data),
                        std::nullopt);
    };
    CHECK(bind("52e") == error::invalid_credentials);
    CHECK(bind("525") == error::invalid_credentials);
    CHECK(bind("775") == error::account_locked);
    CHECK(bind("773") == error::must_change_password);
    CHECK(bind("533") == error::account_disabled);
    CHECK(bind("532") == error::password_expired);
    CHECK(bind("701") == error::account_expired);
    CHECK(bind("530") == error::access_denied);
    CHECK(bind("531") == error::access_denied);
}

TEST_CASE("classify: a bad password on a change is the wrong current password, on a bind bad "
          "credentials",
          "[ldap]") {
    CHECK(classify(operation_kind::change, rc_invalid_credentials, ad_bind_text("52e"),
                   std::nullopt) == error::wrong_current_password);
    CHECK(classify(operation_kind::user_bind, rc_invalid_credentials, ad_bind_text("52e"),
                   std::nullopt) == error::invalid_credentials);
    // OpenLDAP says nothing beyond the code.
    CHECK(classify(operation_kind::change, rc_invalid_credentials, "", std::nullopt) ==
          error::wrong_current_password);
    CHECK(classify(operation_kind::user_bind, rc_invalid_credentials, "", std::nullopt) ==
          error::invalid_credentials);
    CHECK(classify(operation_kind::service_bind, rc_invalid_credentials, "", std::nullopt) ==
          error::invalid_credentials);
    // A locked account stays locked whatever the operation.
    CHECK(classify(operation_kind::change, rc_invalid_credentials, ad_bind_text("775"),
                   std::nullopt) == error::account_locked);
}

TEST_CASE("classify: Samba's 0000052D texts name the rule that refused", "[ldap]") {
    const auto change = [](const std::string& text) {
        return classify(operation_kind::change, rc_constraint_violation, text, std::nullopt);
    };
    CHECK(change(samba_restriction("the password was already used (in history)!")) ==
          error::password_in_history);
    CHECK(change(samba_restriction("the password does not meet the complexity criteria!")) ==
          error::password_not_complex);
    CHECK(change(samba_restriction(
              "the password is too short. It should be equal or longer than 8 characters!")) ==
          error::password_too_short);
    CHECK(change(samba_restriction("password is too young to change!")) ==
          error::password_too_young);
    // The same texts on a reset.
    CHECK(classify(operation_kind::reset, rc_constraint_violation,
                   samba_restriction("the password does not meet the complexity criteria!"),
                   std::nullopt) == error::password_not_complex);
}

TEST_CASE("classify: 00000056 is a wrong current password", "[ldap]") {
    CHECK(classify(operation_kind::change, rc_constraint_violation,
                   "00000056: Constraint violation - check_password_restrictions: The old password "
                   "specified doesn't match!",
                   std::nullopt) == error::wrong_current_password);
    // Real AD's form of the same refusal.
    CHECK(classify(operation_kind::change, rc_constraint_violation, ad_atr_56, std::nullopt) ==
          error::wrong_current_password);
}

TEST_CASE("classify: real AD's bare 0000052D is a generic password restriction", "[ldap]") {
    // Real AD answers it with unwillingToPerform (53) or constraintViolation (19).
    CHECK(classify(operation_kind::reset, rc_unwilling_to_perform, ad_svc_52d, std::nullopt) ==
          error::password_restriction);
    CHECK(classify(operation_kind::change, rc_constraint_violation, ad_svc_52d, std::nullopt) ==
          error::password_restriction);
    CHECK(classify(operation_kind::change, rc_constraint_violation, ad_atr_52d, std::nullopt) ==
          error::password_restriction);
}

TEST_CASE("classify: insufficient access and transport encryption refusals", "[ldap]") {
    CHECK(classify(operation_kind::reset, rc_insufficient_access, ad_sec_5, std::nullopt) ==
          error::access_denied);
    CHECK(classify(operation_kind::reset, rc_unwilling_to_perform, ad_svc_1f, std::nullopt) ==
          error::tls_required);
    CHECK(classify(operation_kind::service_bind, rc_strong_auth_required,
                   "BindSimple: Transport encryption required.",
                   std::nullopt) == error::tls_required);
    CHECK(classify(operation_kind::reset, rc_confidentiality_required, "", std::nullopt) ==
          error::tls_required);
}

TEST_CASE("classify: OpenLDAP ppolicy texts without the response control", "[ldap]") {
    const auto change = [](std::string_view text) {
        return classify(operation_kind::change, rc_constraint_violation, text, std::nullopt);
    };
    CHECK(change("Password fails quality checking policy") == error::password_not_complex);
    CHECK(change("Password is in history of old passwords") == error::password_in_history);
    CHECK(change("Password is not being changed from existing value") ==
          error::password_in_history);
    CHECK(change("Password is too young to change") == error::password_too_young);
    CHECK(change("some constraint nobody anticipated") == error::password_restriction);
}

TEST_CASE("classify: OpenLDAP's refusal to verify the old password is a wrong current password",
          "[ldap]") {
    CHECK(classify(operation_kind::change, rc_unwilling_to_perform,
                   "unwilling to verify old password",
                   std::nullopt) == error::wrong_current_password);
    CHECK(classify(operation_kind::reset, rc_unwilling_to_perform, "operation not permitted",
                   std::nullopt) == error::directory_refused);
}

TEST_CASE("classify: the ppolicy response error takes precedence over code and text", "[ldap]") {
    // The text says "quality" and the code says constraint violation; the control is more precise.
    const std::string text = "Password fails quality checking policy";
    const auto with = [&](int pp) {
        return classify(operation_kind::change, rc_constraint_violation, text, pp);
    };
    CHECK(with(0) == error::password_expired);     // passwordExpired
    CHECK(with(1) == error::account_locked);       // accountLocked
    CHECK(with(2) == error::must_change_password); // changeAfterReset
    CHECK(with(3) == error::access_denied);        // passwordModNotAllowed
    CHECK(with(4) == error::directory_refused);    // mustSupplyOldPassword
    CHECK(with(5) == error::password_not_complex); // insufficientPasswordQuality
    CHECK(with(6) == error::password_too_short);   // passwordTooShort
    CHECK(with(7) == error::password_too_young);   // passwordTooYoung
    CHECK(with(8) == error::password_in_history);  // passwordInHistory
    CHECK(with(9) == error::password_too_long);    // passwordTooLong
    // On a bind: a locked account answers 49, the control says why.
    CHECK(classify(operation_kind::user_bind, rc_invalid_credentials, "", 1) ==
          error::account_locked);
}

TEST_CASE("classify: a ppolicy value outside 0..9 is ignored", "[ldap]") {
    CHECK(classify(operation_kind::user_bind, rc_invalid_credentials, "", 65535) == // noError
          error::invalid_credentials);
    CHECK(classify(operation_kind::user_bind, rc_invalid_credentials, "", -1) ==
          error::invalid_credentials);
    CHECK(classify(operation_kind::change, rc_constraint_violation,
                   "Password is in history of old passwords", 10) == error::password_in_history);
}

TEST_CASE("classify: transport failures, TLS failures and timeouts", "[ldap]") {
    CHECK(classify(operation_kind::connect, rc_server_down, "Can't contact LDAP server",
                   std::nullopt) == error::server_down);
    CHECK(classify(operation_kind::search, rc_server_down, "", std::nullopt) == error::server_down);
    CHECK(classify(operation_kind::connect, rc_connect_error, "", std::nullopt) ==
          error::server_down);
    CHECK(classify(operation_kind::search, rc_busy, "", std::nullopt) == error::server_down);
    CHECK(classify(operation_kind::search, rc_unavailable, "", std::nullopt) == error::server_down);
    CHECK(classify(operation_kind::connect, rc_server_down,
                   "TLS: hostname does not match CN in peer certificate",
                   std::nullopt) == error::tls_failure);
    CHECK(classify(operation_kind::connect, rc_connect_error,
                   "(unknown error code) error:0A000086:SSL routines::certificate verify failed",
                   std::nullopt) == error::tls_failure);
    CHECK(classify(operation_kind::search, rc_timeout, "", std::nullopt) == error::timeout);
    CHECK(classify(operation_kind::search, rc_timelimit_exceeded, "", std::nullopt) ==
          error::timeout);
}

TEST_CASE("classify: unsupported, missing entries and unknown codes", "[ldap]") {
    CHECK(classify(operation_kind::reset, rc_unavailable_critical_extension, "", std::nullopt) ==
          error::unsupported);
    CHECK(classify(operation_kind::search, rc_no_such_object, "", std::nullopt) ==
          error::no_such_object);
    CHECK(classify(operation_kind::reset, rc_other, "internal error", std::nullopt) ==
          error::directory_refused);
    CHECK(classify(operation_kind::reset, rc_protocol_error, "decoding error", std::nullopt) ==
          error::directory_refused);
    // An AD access refusal under an unexpected code is still an access refusal.
    CHECK(classify(operation_kind::reset, rc_other, ad_sec_5, std::nullopt) ==
          error::access_denied);
}

TEST_CASE("classify: an extended operation the server does not know is unsupported", "[ldap]") {
    // Samba AD.
    CHECK(classify(operation_kind::reset, rc_protocol_error,
                   "Extended Operation(1.3.6.1.4.1.4203.1.11.1) not supported",
                   std::nullopt) == error::unsupported);
    // OpenLDAP slapd (servers/slapd/extended.c).
    CHECK(classify(operation_kind::change, rc_protocol_error, "unsupported extended operation",
                   std::nullopt) == error::unsupported);
}

TEST_CASE("ldap error category: every value has its own non-empty message", "[ldap]") {
    const auto& category = sspr::ldap::ldap_category();
    CHECK(std::string_view(category.name()) == "sspr.ldap");
    const std::string unknown = category.message(0);
    std::set<std::string> seen;
    int count = 0;
    for (int v = static_cast<int>(error::invalid_credentials);
         v <= static_cast<int>(error::directory_refused); ++v) {
        CAPTURE(v);
        const std::string message = category.message(v);
        CHECK_FALSE(message.empty());
        CHECK(message != unknown);
        CHECK(seen.insert(message).second);
        ++count;
    }
    CHECK(count == 25);
    CHECK(category.message(999) == unknown);
    CHECK(name_of(error::wrong_current_password) != name_of(error::invalid_credentials));
}

TEST_CASE("ldap error: codes compare by enum value and category", "[ldap]") {
    const boost::system::error_code ec = error::timeout;
    CHECK(ec == error::timeout);
    CHECK(ec != error::server_down);
    CHECK(ec.category() == sspr::ldap::ldap_category());
    CHECK(static_cast<bool>(ec));
    // Same number, other category: not equal.
    const boost::system::error_code generic(static_cast<int>(error::timeout),
                                            boost::system::generic_category());
    CHECK(generic != error::timeout);
}

TEST_CASE("failure::is: true only for its own error", "[ldap]") {
    const sspr::ldap::failure f(error::account_locked, "data 775");
    CHECK(f.is(error::account_locked));
    CHECK_FALSE(f.is(error::invalid_credentials));
    CHECK(f.diagnostic == "data 775");
    const sspr::ldap::failure none;
    CHECK_FALSE(none.is(error::invalid_credentials));
    CHECK_FALSE(static_cast<bool>(none.code));
}

TEST_CASE("ldap result: value() of a failure throws a system_error with the code", "[ldap]") {
    const sspr::ldap::result<int> r = sspr::ldap::failure(error::overloaded, "queue full");
    REQUIRE(r.has_error());
    CHECK(r.error().is(error::overloaded));
    try {
        (void)r.value();
        FAIL("value() of a failure did not throw");
    } catch (const boost::system::system_error& e) {
        CHECK(e.code() == error::overloaded);
    }
}
