#include "challenge/totp.hpp"

#include "challenge/base32.hpp"
#include "challenge/detail/mac.hpp"
#include "challenge/qr.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <openssl/crypto.h>

#include <array>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace sspr::challenge {
namespace {

constexpr unsigned min_digits = 6;
constexpr unsigned max_digits = 8;
constexpr std::chrono::seconds min_period{10};
constexpr std::chrono::seconds max_period{120};
constexpr unsigned max_skew_steps = 2;
constexpr std::size_t max_candidate_bytes = 32;

detail::mac_digest mac_for(totp_algorithm a) {
    switch (a) {
    case totp_algorithm::sha1:
        return detail::mac_digest::sha1;
    case totp_algorithm::sha256:
        return detail::mac_digest::sha256;
    case totp_algorithm::sha512:
        return detail::mac_digest::sha512;
    case totp_algorithm::invalid:
        break;
    }
    throw std::invalid_argument("totp: invalid algorithm");
}

std::string_view uri_name(totp_algorithm a) {
    switch (a) {
    case totp_algorithm::sha1:
        return "SHA1";
    case totp_algorithm::sha256:
        return "SHA256";
    case totp_algorithm::sha512:
        return "SHA512";
    case totp_algorithm::invalid:
        break;
    }
    return {};
}

std::uint32_t power_of_ten(unsigned digits) {
    std::uint32_t p = 1;
    for (unsigned i = 0; i < digits; ++i) {
        p *= 10;
    }
    return p;
}

void require_valid(const totp_params& params) {
    if (!check_totp_params(params)) {
        throw std::invalid_argument("totp: parameters out of range");
    }
}

/// RFC 4226 section 5.3: HMAC over the big-endian counter, dynamic truncation, modulo 10^digits.
/// Written into `out` (digits characters) so the caller controls where the code lives.
void hotp_into(const common::secret& key, std::uint64_t counter, const totp_params& params,
               std::span<char> out) {
    std::array<unsigned char, 8> message{};
    for (auto it = message.rbegin(); it != message.rend(); ++it) {
        *it = static_cast<unsigned char>(counter & 0xffU);
        counter >>= 8U;
    }
    detail::hmac mac(mac_for(params.algorithm), key.reveal());
    mac.update(message);
    const auto h = mac.final();
    const std::size_t offset = h[h.size() - 1] & 0x0fU;
    std::uint32_t binary = (static_cast<std::uint32_t>(h[offset] & 0x7fU) << 24U) |
                           (static_cast<std::uint32_t>(h[offset + 1]) << 16U) |
                           (static_cast<std::uint32_t>(h[offset + 2]) << 8U) |
                           static_cast<std::uint32_t>(h[offset + 3]);
    binary %= power_of_ten(params.digits);
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
        *it = static_cast<char>('0' + static_cast<char>(binary % 10));
        binary /= 10;
    }
}

} // namespace

result<void> check_totp_params(const totp_params& params) {
    if (params.algorithm == totp_algorithm::invalid || params.digits < min_digits ||
        params.digits > max_digits || params.period < min_period || params.period > max_period ||
        params.skew_steps > max_skew_steps) {
        return error::invalid_parameters;
    }
    return {};
}

result<totp_params> make_totp_params(const config::totp_config& cfg) {
    totp_params params;
    params.algorithm = totp_algorithm::sha1;
    params.digits = cfg.digits;
    params.period = cfg.period;
    params.skew_steps = cfg.skew_steps;
    if (auto ok = check_totp_params(params); !ok) {
        return ok.error();
    }
    return params;
}

std::size_t totp_secret_bytes(totp_algorithm algorithm) {
    switch (algorithm) {
    case totp_algorithm::sha1:
        return 20;
    case totp_algorithm::sha256:
        return 32;
    case totp_algorithm::sha512:
        return 64;
    case totp_algorithm::invalid:
        break;
    }
    throw std::invalid_argument("totp: invalid algorithm");
}

common::secret make_totp_secret(common::random& random, totp_algorithm algorithm) {
    std::string bytes(totp_secret_bytes(algorithm), '\0');
    random.fill(std::as_writable_bytes(std::span(bytes.data(), bytes.size())));
    common::secret out(bytes);
    OPENSSL_cleanse(bytes.data(), bytes.size());
    return out;
}

std::uint64_t totp_step(system_time now, std::chrono::seconds period) {
    const auto since_epoch =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    if (since_epoch < 0 || period.count() <= 0) {
        return 0;
    }
    return static_cast<std::uint64_t>(since_epoch) / static_cast<std::uint64_t>(period.count());
}

common::secret totp_at(const common::secret& key, std::uint64_t step, const totp_params& params) {
    require_valid(params);
    if (key.empty()) {
        throw std::invalid_argument("totp_at: empty secret");
    }
    std::array<char, max_digits> buffer{};
    hotp_into(key, step, params, std::span(buffer.data(), params.digits));
    common::secret out(std::string(buffer.data(), params.digits));
    OPENSSL_cleanse(buffer.data(), buffer.size());
    return out;
}

totp_verification verify_totp(const common::secret& key, std::string_view candidate,
                              system_time now, std::optional<std::uint64_t> last_used_step,
                              const totp_params& params) {
    require_valid(params);
    if (key.empty()) {
        return {totp_status::wrong, 0}; // a lost secret proves nothing
    }

    std::array<char, max_candidate_bytes> typed{};
    std::size_t typed_size = 0;
    bool well_formed = candidate.size() <= max_candidate_bytes;
    if (well_formed) {
        for (const char c : candidate) {
            if (c == ' ') {
                continue;
            }
            if (c < '0' || c > '9') {
                well_formed = false;
            }
            typed[typed_size++] = c;
        }
    }
    well_formed = well_formed && typed_size == params.digits;

    const std::uint64_t now_step = totp_step(now, params.period);
    const std::uint64_t first = now_step >= params.skew_steps ? now_step - params.skew_steps : 0;
    const std::uint64_t last = now_step + params.skew_steps;

    // Every step of the window is computed and compared; which one matched only decides the
    // outcome after the loop, so the time taken says nothing about it.
    std::optional<std::uint64_t> fresh_match;
    bool stale_match = false;
    std::array<char, max_digits> expected{};
    for (std::uint64_t step = first; step <= last; ++step) {
        hotp_into(key, step, params, std::span(expected.data(), params.digits));
        const bool match =
            well_formed && CRYPTO_memcmp(expected.data(), typed.data(), params.digits) == 0;
        const bool spent = last_used_step.has_value() && step <= *last_used_step;
        if (match && spent) {
            stale_match = true;
        } else if (match) {
            fresh_match = step; // the latest fresh step wins, so last_used_step only moves forward
        }
    }
    OPENSSL_cleanse(expected.data(), expected.size());
    OPENSSL_cleanse(typed.data(), typed.size());

    if (fresh_match) {
        return {totp_status::ok, *fresh_match};
    }
    if (stale_match) {
        return {totp_status::replay, 0};
    }
    return {totp_status::wrong, 0};
}

result<common::secret> otpauth_uri(std::string_view issuer, std::string_view account,
                                   const common::secret& key, const totp_params& params) {
    if (issuer.empty() || account.empty() || !check_totp_params(params) || key.empty()) {
        return error::invalid_parameters;
    }
    // Unreserved characters only: ':' separates issuer from account in the label, and '&', '=',
    // '+', '#' would end or change a query value, so all of them (and spaces, as %20 rather than
    // '+', which some apps show literally) are escaped.
    const std::string enc_issuer = boost::urls::encode(issuer, boost::urls::unreserved_chars);
    const std::string enc_account = boost::urls::encode(account, boost::urls::unreserved_chars);
    std::string secret_b32 = base32_encode(key.reveal(), false);

    std::string uri;
    uri.reserve(64 + 2 * enc_issuer.size() + enc_account.size() + secret_b32.size());
    uri += "otpauth://totp/";
    uri += enc_issuer;
    uri += ':';
    uri += enc_account;
    uri += "?secret=";
    uri += secret_b32;
    uri += "&issuer=";
    uri += enc_issuer;
    uri += "&algorithm=";
    uri += uri_name(params.algorithm);
    uri += "&digits=" + std::to_string(params.digits);
    uri += "&period=" + std::to_string(params.period.count());

    common::secret out(uri);
    OPENSSL_cleanse(uri.data(), uri.size());
    OPENSSL_cleanse(secret_b32.data(), secret_b32.size());
    return out;
}

result<totp_offer> begin_totp_enrollment(std::string_view issuer, std::string_view account,
                                         const totp_params& params, common::random& random) {
    if (!check_totp_params(params)) {
        return error::invalid_parameters;
    }
    totp_offer offer;
    offer.enrollment.secret = make_totp_secret(random, params.algorithm);
    offer.enrollment.state = totp_state::pending;
    offer.enrollment.last_used_step.reset();

    auto uri = otpauth_uri(issuer, account, offer.enrollment.secret, params);
    if (!uri) {
        return uri.error();
    }
    auto qr = qr_svg(uri->reveal());
    if (!qr) {
        return qr.error();
    }
    offer.uri = std::move(*uri);
    offer.qr_svg = std::move(qr->svg);
    return offer;
}

namespace {

totp_status verify_and_advance(totp_enrollment& enrollment, std::string_view candidate,
                               system_time now, const totp_params& params) {
    if (!check_totp_params(params) || enrollment.secret.empty()) {
        return totp_status::wrong_state;
    }
    const auto v =
        verify_totp(enrollment.secret, candidate, now, enrollment.last_used_step, params);
    if (v.status == totp_status::ok) {
        enrollment.last_used_step = v.step;
    }
    return v.status;
}

} // namespace

totp_status confirm_totp_enrollment(totp_enrollment& enrollment, std::string_view candidate,
                                    system_time now, const totp_params& params) {
    if (enrollment.state != totp_state::pending) {
        return totp_status::wrong_state;
    }
    const auto status = verify_and_advance(enrollment, candidate, now, params);
    if (status == totp_status::ok) {
        enrollment.state = totp_state::active;
    }
    return status;
}

totp_status verify_enrolled_totp(totp_enrollment& enrollment, std::string_view candidate,
                                 system_time now, const totp_params& params) {
    if (enrollment.state != totp_state::active) {
        return totp_status::wrong_state;
    }
    return verify_and_advance(enrollment, candidate, now, params);
}

} // namespace sspr::challenge
