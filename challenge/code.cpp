#include "challenge/code.hpp"

#include "challenge/detail/mac.hpp"
#include "challenge/key_file.hpp"

#include <openssl/crypto.h>

#include <stdexcept>
#include <utility>

namespace sspr::challenge {
namespace {

constexpr unsigned min_code_length = 6;
constexpr unsigned max_code_length = 8;
// Longer input than any code plus the separators a person might type is refused without work.
constexpr std::size_t max_candidate_bytes = 64;

std::string_view method_name(config::method m) {
    switch (m) {
    case config::method::email:
        return "email";
    case config::method::sms:
        return "sms";
    case config::method::totp:
    case config::method::questions:
    case config::method::invalid:
        break;
    }
    return {};
}

std::string_view as_chars(const digest& d) {
    return {reinterpret_cast<const char*>(d.data()), d.size()};
}

/// Wipes a std::string's buffer when it goes out of scope; for the few plaintext copies of a code
/// that exist while it is hashed.
class wiped_string {
public:
    wiped_string() = default;
    ~wiped_string() { OPENSSL_cleanse(value_.data(), value_.size()); }
    wiped_string(const wiped_string&) = delete;
    wiped_string& operator=(const wiped_string&) = delete;
    std::string& get() noexcept { return value_; }

private:
    std::string value_;
};

} // namespace

code_issuer::code_issuer(common::secret key, std::shared_ptr<common::random> random)
    : key_(std::move(key)), random_(std::move(random)) {
    if (key_.reveal().size() < min_key_bytes) {
        throw std::invalid_argument("code_issuer: HMAC key shorter than 32 bytes");
    }
    if (!random_) {
        throw std::invalid_argument("code_issuer: no random source");
    }
}

digest code_issuer::binding_hash(const code_binding& binding) const {
    return detail::hmac_sha256_fields(
        key_.reveal(), "sspr.code.binding.v1",
        {binding.user, binding.flow, method_name(binding.method), binding.destination});
}

digest code_issuer::code_hash(const digest& binding, std::string_view code) const {
    return detail::hmac_sha256_fields(key_.reveal(), "sspr.code.value.v1",
                                      {as_chars(binding), code});
}

result<issued_code> code_issuer::issue(const code_binding& binding,
                                       const config::code_method_config& cfg,
                                       system_time now) const {
    if (cfg.code_length < min_code_length || cfg.code_length > max_code_length ||
        cfg.lifetime <= config::seconds::zero() || cfg.max_tries == 0 ||
        method_name(binding.method).empty() || binding.user.empty() || binding.flow.empty() ||
        binding.destination.empty()) {
        return error::invalid_parameters;
    }

    // One draw below 10^n (rejection sampling in random::uniform) gives every code the same
    // chance; digit-by-digit modulo of random bytes would favour low digits.
    std::uint64_t bound = 1;
    for (unsigned i = 0; i < cfg.code_length; ++i) {
        bound *= 10;
    }
    auto value = random_->uniform(bound);

    wiped_string code;
    code.get().assign(cfg.code_length, '0');
    for (auto it = code.get().rbegin(); it != code.get().rend(); ++it) {
        *it = static_cast<char>('0' + static_cast<char>(value % 10));
        value /= 10;
    }

    issued_code out;
    out.record.binding_hash = binding_hash(binding);
    out.record.code_hash = code_hash(out.record.binding_hash, code.get());
    out.record.expires_at = now + cfg.lifetime;
    out.record.tries_left = cfg.max_tries;
    out.record.used = false;
    out.code = common::secret(code.get());
    return out;
}

code_verification code_issuer::verify(const code_record& record, const code_binding& binding,
                                      std::string_view candidate, system_time now) const {
    code_verification out{code_status::invalid, record};
    if (record.used) {
        out.status = code_status::used;
        return out;
    }
    if (record.tries_left == 0) {
        out.status = code_status::exhausted;
        return out;
    }
    if (now >= record.expires_at) {
        out.status = code_status::expired;
        return out;
    }

    // From here every outcome but ok spends a try, whatever was typed.
    out.status = compare(record, binding, candidate);
    if (out.status == code_status::ok) {
        out.record.used = true; // success spends no try
    } else {
        out.record.tries_left = record.tries_left - 1;
    }
    return out;
}

code_status code_issuer::compare(const code_record& record, const code_binding& binding,
                                 std::string_view candidate) const {
    wiped_string typed;
    const bool short_enough = candidate.size() <= max_candidate_bytes;
    if (short_enough) {
        for (const char c : candidate) {
            if (c != ' ' && c != '-') {
                typed.get().push_back(c);
            }
        }
    }

    // Both hashes are computed and compared whatever the other says, so the time taken depends on
    // neither the code nor the binding.
    const digest expected_binding = binding_hash(binding);
    const digest typed_code = code_hash(expected_binding, typed.get());
    const bool binding_ok = CRYPTO_memcmp(expected_binding.data(), record.binding_hash.data(),
                                          expected_binding.size()) == 0;
    const bool code_ok =
        CRYPTO_memcmp(typed_code.data(), record.code_hash.data(), typed_code.size()) == 0;

    if (!binding_ok) {
        return code_status::wrong_binding;
    }
    if (!code_ok || !short_enough || typed.get().empty()) {
        return code_status::wrong;
    }
    return code_status::ok;
}

} // namespace sspr::challenge
