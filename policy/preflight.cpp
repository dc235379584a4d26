#include "policy/preflight.hpp"

#include "policy/decision.hpp"
#include "policy/password_rules.hpp"
#include "policy/throttle.hpp"

#include <string>
#include <string_view>

namespace sspr::policy {

namespace {

/// The key a password_checker error is about: its messages start with the key path
/// ("password.banned_terms[2]: …") or with the banned-terms file's own "path:line".
std::string password_key(std::string_view message, const config::password_config& p) {
    if (!p.banned_terms_file.empty() && message.starts_with(p.banned_terms_file)) {
        return "password.banned_terms_file";
    }
    if (message.starts_with("password.")) {
        const auto end = message.find_first_of(": ");
        return std::string(message.substr(0, end));
    }
    return "password";
}

} // namespace

std::vector<config::semantic_problem> preflight(const config::config& c) {
    std::vector<config::semantic_problem> out;
    try {
        const password_checker checker(c.password);
        (void)checker;
    } catch (const password_config_error& e) {
        std::string key = password_key(e.what(), c.password);
        std::string_view message = e.what();
        if (message.starts_with(key + ": ")) {
            message.remove_prefix(key.size() + 2); // the diagnostic names the key itself
        }
        out.push_back({std::move(key), std::string(message)});
    }
    if (auto buckets = make_bucket_set(c.throttles); !buckets) {
        const auto& f = buckets.error();
        out.push_back({f.bucket.empty() ? "throttles" : "throttles." + f.bucket, f.code.message()});
    }
    for (const auto& p : check_policy(c.policy)) {
        out.push_back({"policy", p.where + ": " + p.what});
    }
    return out;
}

config::load_options with_preflight(config::load_options options) {
    options.semantic_checks = [](const config::config& c) { return preflight(c); };
    return options;
}

} // namespace sspr::policy
