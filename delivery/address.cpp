#include "delivery/address.hpp"

#include "common/phone.hpp"

#include <algorithm>

namespace sspr::delivery {
namespace {

bool is_alpha_digit(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// RFC 5322 atext, without the characters that need care on a command line or in a header anyway.
bool is_atext(char c) {
    if (is_alpha_digit(c)) {
        return true;
    }
    constexpr std::string_view specials = "!#$%&'*+/=?^_`{|}~-";
    return specials.find(c) != std::string_view::npos;
}

bool valid_dot_atom(std::string_view s, bool (*allowed)(char)) {
    if (s.empty() || s.front() == '.' || s.back() == '.') {
        return false;
    }
    char previous = '\0';
    for (const char c : s) {
        if (c == '.') {
            if (previous == '.') {
                return false;
            }
        } else if (!allowed(c)) {
            return false;
        }
        previous = c;
    }
    return true;
}

bool valid_domain(std::string_view domain) {
    if (domain.size() > 253 || domain.find('.') == std::string_view::npos) {
        return false;
    }
    std::size_t start = 0;
    while (start <= domain.size()) {
        const auto dot = std::min(domain.find('.', start), domain.size());
        const auto label = domain.substr(start, dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
            return false;
        }
        for (const char c : label) {
            if (!is_alpha_digit(c) && c != '-') {
                return false;
            }
        }
        start = dot + 1;
    }
    return true;
}

} // namespace

result<std::string> normalise_email(std::string_view address) {
    const auto at = address.rfind('@');
    if (address.size() > 254 || at == std::string_view::npos) {
        return failure(error::invalid_destination, "not an email address");
    }
    const auto local = address.substr(0, at);
    const auto domain = address.substr(at + 1);
    if (local.size() > 64 || !valid_dot_atom(local, is_atext) || !valid_domain(domain)) {
        return failure(error::invalid_destination, "not a plain ASCII email address");
    }
    return std::string(address);
}

result<std::string> normalise_phone(std::string_view number, std::string_view region) {
    auto e164 = common::to_e164(number, region);
    if (!e164) {
        return failure(error::invalid_destination,
                       "not a phone number (international form, or national in the default "
                       "region)");
    }
    return std::move(*e164);
}

result<std::string> normalise_destination(channel via, std::string_view destination,
                                          std::string_view phone_region) {
    switch (via) {
    case channel::email:
        return normalise_email(destination);
    case channel::sms:
        return normalise_phone(destination, phone_region);
    case channel::invalid:
        break;
    }
    return failure(error::invalid_message, "no channel");
}

bool valid_message_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 64) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) {
        return is_alpha_digit(c) || c == '.' || c == '_' || c == '-';
    });
}

std::string mask_destination(channel via, std::string_view destination) {
    if (via == channel::email) {
        const auto at = destination.rfind('@');
        if (at == std::string_view::npos || at == 0) {
            return "***";
        }
        return std::string(1, destination.front()) + "***" + std::string(destination.substr(at));
    }
    // Keep a leading '+' and the last four characters: enough to tell numbers apart in a log.
    std::string out(destination);
    const std::size_t keep = 4;
    for (std::size_t i = 0; i + keep < out.size(); ++i) {
        if (!(i == 0 && out[i] == '+')) {
            out[i] = '*';
        }
    }
    if (out.size() <= keep) {
        out.assign(out.size(), '*');
    }
    return out;
}

} // namespace sspr::delivery
