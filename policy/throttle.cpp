#include "policy/throttle.hpp"

#include "common/hmac.hpp"
#include "common/phone.hpp"
#include "policy/decision.hpp"

#include <boost/throw_exception.hpp>

#include <openssl/evp.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <set>

namespace sspr::policy {
namespace {

// Boost's error_category has a protected non-virtual destructor by design; categories are never
// deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "sspr.policy.throttle"; }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<throttle_error>(ev)) {
        case throttle_error::invalid_name:
            return "bucket name must be made of a-z, 0-9 and _";
        case throttle_error::duplicate_name:
            return "two buckets have the same name";
        case throttle_error::unknown_counter:
            return "bucket name must start with failed_proofs, validations, emails, texts or "
                   "flow_starts";
        case throttle_error::invalid_key:
            return "bucket key must be user, client_ip, client_net, destination or flow";
        case throttle_error::zero_limit:
            return "bucket limit must be at least 1";
        case throttle_error::invalid_window:
            return "bucket window must be positive";
        case throttle_error::negative_block:
            return "bucket block must not be negative";
        case throttle_error::no_failed_proofs_bucket:
            return "a failed_proofs bucket keyed by user is required";
        case throttle_error::missing_subject:
            return "the request lacks what the bucket is keyed by";
        case throttle_error::invalid_user:
            return "the user is not a DN";
        case throttle_error::invalid_ip:
            return "not an IP address";
        case throttle_error::invalid_destination:
            return "not an email address or phone number";
        case throttle_error::weak_key:
            return "throttle HMAC key absent or too short";
        }
        return "unknown sspr.policy.throttle error";
    }
};
#pragma GCC diagnostic pop

struct counter_name {
    std::string_view prefix;
    throttle_event event;
};

constexpr std::array<counter_name, 5> counters{{
    {"failed_proofs", throttle_event::proof_failed},
    {"validations", throttle_event::validation_attempted},
    {"emails", throttle_event::email_sent},
    {"texts", throttle_event::sms_sent},
    {"flow_starts", throttle_event::flow_started},
}};

// Lockout counters stop every part of self-service for the key, not only the event they count.
bool is_lockout(throttle_event e) noexcept {
    return e == throttle_event::proof_failed || e == throttle_event::validation_attempted;
}

bool valid_key(config::throttle_key k) noexcept {
    switch (k) {
    case config::throttle_key::user:
    case config::throttle_key::client_ip:
    case config::throttle_key::client_net:
    case config::throttle_key::destination:
    case config::throttle_key::flow:
        return true;
    case config::throttle_key::invalid:
        return false;
    }
    return false;
}

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_space(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_space(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

std::string ipv4_text(const unsigned char* b) {
    std::string out;
    for (int i = 0; i < 4; ++i) {
        if (i != 0) {
            out.push_back('.');
        }
        out += std::to_string(static_cast<unsigned>(b[i]));
    }
    return out;
}

std::string hex(const unsigned char* data, std::size_t size) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(digits[data[i] >> 4U]);
        out.push_back(digits[data[i] & 0x0fU]);
    }
    return out;
}

throttle_result<std::string> hmac_hex(const common::secret& key, std::string_view message) {
    const auto k = key.reveal();
    if (k.size() < min_key_bytes ||
        k.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
        return throttle_failure(throttle_error::weak_key);
    }
    const auto md = common::hmac_sha256(k, message);
    if (!md) {
        // Only an OpenSSL failure (out of memory) gets here; no key is better than a weak one.
        return throttle_failure(throttle_error::weak_key);
    }
    return hex(md->data(), md->size());
}

std::chrono::seconds round_up(system_time::duration d) {
    return std::max(std::chrono::seconds{1}, std::chrono::ceil<std::chrono::seconds>(d));
}

} // namespace

const boost::system::error_category& throttle_category() noexcept {
    static const category_impl instance;
    return instance;
}

void throw_exception_from_error(const throttle_failure& f, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(f.code), loc);
}

throttle_event counter_of(std::string_view bucket_name) noexcept {
    for (const auto& c : counters) {
        if (bucket_name == c.prefix) {
            return c.event;
        }
        if (bucket_name.size() > c.prefix.size() + 1 && bucket_name.starts_with(c.prefix) &&
            bucket_name[c.prefix.size()] == '_') {
            return c.event;
        }
    }
    return throttle_event::invalid;
}

const config::throttle_bucket* bucket_set::find(std::string_view name) const noexcept {
    for (const auto& b : buckets_) {
        if (b.name == name) {
            return &b;
        }
    }
    return nullptr;
}

std::vector<const config::throttle_bucket*> bucket_set::counted_by(throttle_event e) const {
    std::vector<const config::throttle_bucket*> out;
    for (const auto& b : buckets_) {
        if (e != throttle_event::invalid && counter_of(b.name) == e) {
            out.push_back(&b);
        }
    }
    return out;
}

std::vector<const config::throttle_bucket*> bucket_set::checked_before(throttle_event e) const {
    std::vector<const config::throttle_bucket*> out;
    if (e == throttle_event::invalid) {
        return out;
    }
    for (const auto& b : buckets_) {
        const auto counted = counter_of(b.name);
        if (counted == e || is_lockout(counted)) {
            out.push_back(&b);
        }
    }
    return out;
}

throttle_result<bucket_set> make_bucket_set(const config::throttles_config& config) {
    std::set<std::string_view> names;
    bool has_failed_proofs_per_user = false;
    for (const auto& b : config.buckets) {
        const bool name_ok =
            !b.name.empty() && std::all_of(b.name.begin(), b.name.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
            });
        if (!name_ok) {
            return throttle_failure(throttle_error::invalid_name, b.name);
        }
        if (!names.insert(b.name).second) {
            return throttle_failure(throttle_error::duplicate_name, b.name);
        }
        const auto counted = counter_of(b.name);
        if (counted == throttle_event::invalid) {
            return throttle_failure(throttle_error::unknown_counter, b.name);
        }
        if (!valid_key(b.key)) {
            return throttle_failure(throttle_error::invalid_key, b.name);
        }
        if (b.limit == 0) {
            return throttle_failure(throttle_error::zero_limit, b.name);
        }
        if (b.window <= config::seconds{0}) {
            return throttle_failure(throttle_error::invalid_window, b.name);
        }
        if (b.block < config::seconds{0}) {
            return throttle_failure(throttle_error::negative_block, b.name);
        }
        if (counted == throttle_event::proof_failed && b.key == config::throttle_key::user) {
            has_failed_proofs_per_user = true;
        }
    }
    if (!has_failed_proofs_per_user) {
        return throttle_failure(throttle_error::no_failed_proofs_bucket);
    }
    return bucket_set(config.buckets);
}

namespace {

/// The 16 bytes of `ip` (IPv4 as IPv4-mapped IPv6) and whether it is IPv4; nothing when it is not
/// an address. Brackets and an IPv6 zone ("%eth0": the interface, not another host) are dropped.
std::optional<std::pair<std::array<unsigned char, 16>, bool>> parse_ip(std::string_view ip) {
    std::string text(trim(ip));
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
    }
    if (const auto pct = text.find('%');
        pct != std::string::npos && text.find(':') != std::string::npos) {
        text.resize(pct);
    }
    std::array<unsigned char, 16> bytes{};
    if (inet_pton(AF_INET, text.c_str(), bytes.data() + 12) == 1) {
        bytes[10] = 0xff;
        bytes[11] = 0xff;
        return std::pair{bytes, true};
    }
    if (inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) {
        return std::nullopt;
    }
    // ::ffff:a.b.c.d is an IPv4 client seen through a dual-stack socket: the same host as a.b.c.d.
    const bool mapped =
        std::all_of(bytes.begin(), bytes.begin() + 10, [](unsigned char b) { return b == 0; }) &&
        bytes[10] == 0xff && bytes[11] == 0xff;
    return std::pair{bytes, mapped};
}

/// `bytes` with all but the first `prefix_bits` bits cleared, as text with "/<prefix_bits>".
throttle_result<std::string> ipv6_prefix(std::array<unsigned char, 16> bytes,
                                         std::size_t prefix_bits) {
    std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(prefix_bits / 8), bytes.end(),
              static_cast<unsigned char>(0));
    std::array<char, INET6_ADDRSTRLEN> out{};
    if (inet_ntop(AF_INET6, bytes.data(), out.data(), static_cast<socklen_t>(out.size())) ==
        nullptr) {
        return throttle_failure(throttle_error::invalid_ip);
    }
    return std::string(out.data()) + "/" + std::to_string(prefix_bits);
}

bool is_gmail(std::string_view domain) {
    return domain == "gmail.com" || domain == "googlemail.com";
}

} // namespace

throttle_result<std::string> normalize_ip(std::string_view ip) {
    const auto parsed = parse_ip(ip);
    if (!parsed) {
        return throttle_failure(throttle_error::invalid_ip);
    }
    const auto& [bytes, v4] = *parsed;
    if (v4) {
        return ipv4_text(bytes.data() + 12);
    }
    return ipv6_prefix(bytes, 64);
}

throttle_result<std::string> normalize_net(std::string_view ip) {
    const auto parsed = parse_ip(ip);
    if (!parsed) {
        return throttle_failure(throttle_error::invalid_ip);
    }
    auto [bytes, v4] = *parsed;
    if (v4) {
        bytes[15] = 0;
        return ipv4_text(bytes.data() + 12) + "/24";
    }
    return ipv6_prefix(bytes, 48);
}

throttle_result<std::string> normalize_destination(std::string_view destination,
                                                   std::string_view phone_region) {
    const std::string_view d = trim(destination);
    if (d.empty()) {
        return throttle_failure(throttle_error::invalid_destination);
    }
    if (d.find('@') == std::string_view::npos) {
        auto number = common::to_e164(d, phone_region);
        if (!number) {
            return throttle_failure(throttle_error::invalid_destination);
        }
        return std::move(*number);
    }
    const auto at = d.find('@');
    if (at == 0 || at + 1 == d.size() || d.find('@', at + 1) != std::string_view::npos) {
        return throttle_failure(throttle_error::invalid_destination);
    }
    std::string lowered;
    lowered.reserve(d.size());
    for (char c : d) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte <= 0x20 || byte == 0x7f) {
            return throttle_failure(throttle_error::invalid_destination);
        }
        // Lower-casing the local part too: two spellings of one mailbox must share a counter,
        // and merging two genuinely different mailboxes only makes the limit stricter.
        lowered.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
    }
    std::string local = lowered.substr(0, at);
    std::string domain = lowered.substr(at + 1);
    // a+1@x.org and a+2@x.org reach one mailbox at nearly every provider: one counter, or a
    // flood of codes needs nothing but a fresh tag per message.
    if (const auto plus = local.find('+'); plus != std::string::npos && plus > 0) {
        local.resize(plus);
    }
    if (is_gmail(domain)) {
        // Gmail ignores dots in the local part and answers to both of its domains.
        std::erase(local, '.');
        domain = "gmail.com";
        if (local.empty()) {
            return throttle_failure(throttle_error::invalid_destination);
        }
    }
    return local + "@" + domain;
}

throttle_result<std::string> derive_key(const config::throttle_bucket& bucket,
                                        const throttle_subject& subject,
                                        const common::secret& hmac_key) {
    std::string_view kind;
    throttle_result<std::string> part =
        throttle_failure(throttle_error::missing_subject, bucket.name);
    switch (bucket.key) {
    case config::throttle_key::user: {
        kind = "user";
        if (trim(subject.user).empty()) {
            break;
        }
        if (auto dn = normalize_dn(subject.user)) {
            part = std::move(*dn);
        } else {
            part = throttle_failure(throttle_error::invalid_user, bucket.name);
        }
        break;
    }
    case config::throttle_key::client_ip:
        kind = "ip";
        if (!trim(subject.client_ip).empty()) {
            part = normalize_ip(subject.client_ip);
        }
        break;
    case config::throttle_key::client_net:
        kind = "net";
        if (!trim(subject.client_ip).empty()) {
            part = normalize_net(subject.client_ip);
        }
        break;
    case config::throttle_key::destination:
        kind = "dest";
        if (!trim(subject.destination).empty()) {
            part = normalize_destination(subject.destination, subject.phone_region);
        }
        break;
    case config::throttle_key::flow:
        kind = "flow";
        if (!subject.flow_id.empty()) {
            part = subject.flow_id;
        }
        break;
    case config::throttle_key::invalid:
        return throttle_failure(throttle_error::invalid_key, bucket.name);
    }
    if (kind.empty()) {
        return throttle_failure(throttle_error::invalid_key, bucket.name);
    }
    if (!part) {
        auto failure = part.error();
        failure.bucket = bucket.name;
        return failure;
    }
    std::string message(kind);
    message.push_back(':');
    message += *part;
    auto mac = hmac_hex(hmac_key, message);
    if (!mac) {
        return throttle_failure(throttle_error::weak_key, bucket.name);
    }
    std::string key = "bucket:";
    key += bucket.name;
    key.push_back('|');
    key += kind;
    key.push_back(':');
    key += *mac;
    return key;
}

throttle_decision evaluate(const config::throttle_bucket& bucket, const counter_reading& reading,
                           system_time now) {
    throttle_decision d;
    d.bucket = bucket.name;
    if (reading.blocked_until && now < *reading.blocked_until) {
        d.verdict = throttle_verdict::blocked;
        d.retry_after = round_up(*reading.blocked_until - now);
        return d;
    }
    if (reading.count < bucket.limit) {
        d.verdict = throttle_verdict::allowed;
        return d;
    }
    // The limit is reached: block, so that the check before the next attempt sees it without
    // counting. A bucket without a block duration blocks for the rest of its window.
    if (bucket.block > config::seconds{0}) {
        d.block_until = now + bucket.block;
    } else if (now < reading.window_end) {
        d.block_until = reading.window_end;
    }
    if (reading.count == bucket.limit) {
        d.verdict = throttle_verdict::allowed;
        return d;
    }
    d.verdict = throttle_verdict::blocked;
    // A window that already ended with the count over the limit is a reading out of step with
    // itself; refusing for a second is the cautious answer.
    d.retry_after = d.block_until ? round_up(*d.block_until - now) : std::chrono::seconds{1};
    return d;
}

throttle_decision most_restrictive(std::span<const throttle_decision> decisions) {
    throttle_decision worst;
    worst.verdict = throttle_verdict::allowed;
    for (const auto& d : decisions) {
        if (d.verdict == throttle_verdict::allowed) {
            continue;
        }
        // Anything that is not an explicit "allowed" refuses, an unset verdict included.
        if (worst.verdict == throttle_verdict::allowed || d.retry_after > worst.retry_after) {
            worst = d;
            worst.verdict = throttle_verdict::blocked;
        }
    }
    return worst;
}

throttle_result<std::vector<std::string>>
keys_to_clear_on_success(const bucket_set& buckets, std::string_view user_dn,
                         std::span<const std::string> destinations, std::string_view flow_id,
                         const common::secret& hmac_key, std::string_view phone_region) {
    std::vector<std::string> keys;
    for (const auto& b : buckets.buckets()) {
        switch (b.key) {
        case config::throttle_key::user: {
            throttle_subject s;
            s.user = std::string(user_dn);
            auto key = derive_key(b, s, hmac_key);
            if (!key) {
                return key.error();
            }
            keys.push_back(std::move(*key));
            break;
        }
        case config::throttle_key::destination:
            for (const auto& dest : destinations) {
                throttle_subject s;
                s.destination = dest;
                s.phone_region = std::string(phone_region);
                auto key = derive_key(b, s, hmac_key);
                if (key) {
                    keys.push_back(std::move(*key));
                } else if (key.error().is(throttle_error::weak_key)) {
                    return key.error();
                }
            }
            break;
        case config::throttle_key::flow:
            if (!flow_id.empty()) {
                throttle_subject s;
                s.flow_id = std::string(flow_id);
                auto key = derive_key(b, s, hmac_key);
                if (!key) {
                    return key.error();
                }
                keys.push_back(std::move(*key));
            }
            break;
        case config::throttle_key::client_ip:
        case config::throttle_key::client_net:
        case config::throttle_key::invalid:
            break;
        }
    }
    // Two spellings of one address give one key; the store need not delete it twice.
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    return keys;
}

} // namespace sspr::policy
