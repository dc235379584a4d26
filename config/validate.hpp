// Internal to config/: the checks that relate values to each other (a method the policy names but
// that is not enabled, two gates with one method, ...). They run after every key was read and
// report at the place of the key they name; a check whose inputs already had an error stays quiet.
#pragma once

#include "config/config.hpp"
#include "config/reader.hpp"

#include <string_view>
#include <vector>

namespace sspr::config::detail {

void check_relations(const config& c, context& ctx);

/// Methods whose `enabled` is true, in the order email, sms, totp, questions.
std::vector<method> enabled_methods(const config& c);

/// The methods a rule really offers: its own list, else the policy's default list, else every
/// enabled method; only the enabled ones.
std::vector<method> offered_methods(const config& c, const policy_rule* rule);

std::string_view to_string(method m) noexcept;

// Spelling checks, shared with the tests.
bool is_host_port(std::string_view s);
bool is_ip_or_cidr(std::string_view s);
bool looks_like_dn(std::string_view s);
bool looks_like_email(std::string_view s);
bool looks_like_mailbox(std::string_view s);
bool is_balanced_filter(std::string_view s);

} // namespace sspr::config::detail
