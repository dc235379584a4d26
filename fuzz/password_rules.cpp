// Fuzzes the gateway's password rules (policy/password_rules.hpp) with the built-in banned terms
// plus two configured ones, AD complexity on (the first byte's low bit picks it off), and the
// context alice / "Alice Example".
//
// Invariants, for any candidate:
//   - check() never throws, names each rule at most once and in the order of password_rule, with
//     the message key of its rule, and params that never hold the candidate;
//   - invalid UTF-8 fails invalid_utf8 alone, and banned_score is nullopt exactly then;
//   - too_short and too_long never come together;
//   - a candidate that passes scores at least min_score.
#include "policy/password_rules.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

using namespace sspr;

namespace {

[[noreturn]] void broken(const char* what) {
    (void)std::fprintf(stderr, "password_rules: invariant broken: %s\n", what);
    std::abort();
}

config::password_config settings(bool ad_complexity) {
    config::password_config c;
    c.min_length = 10;
    c.max_length = 64;
    c.ad_complexity = ad_complexity;
    c.banned_terms = {"examplecorp", "Sommer"};
    c.min_score = 5;
    return c;
}

const policy::password_checker& checker(bool ad_complexity) {
    static const policy::password_checker with(settings(true));
    static const policy::password_checker without(settings(false));
    return ad_complexity ? with : without;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const bool ad = (data[0] & 1U) == 0;
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    const std::string_view candidate(reinterpret_cast<const char*>(data) + 1, size - 1);
    const policy::password_context context{"alice", "Alice Example"};
    const auto& c = checker(ad);

    const auto failures = c.check(candidate, context);
    const auto score = c.banned_score(candidate, context);
    int last = -1;
    bool short_seen = false;
    bool long_seen = false;
    for (const auto& f : failures) {
        const int rule = static_cast<int>(f.rule);
        if (rule <= last) {
            broken("rules out of order or named twice");
        }
        last = rule;
        if (f.message_key != policy::message_key(f.rule) || f.message_key.empty()) {
            broken("a failure with another rule's message key");
        }
        for (const auto& [name, value] : f.params) {
            if (candidate.size() >= 3 && value.find(candidate) != std::string::npos) {
                broken("a parameter holds the candidate");
            }
        }
        short_seen = short_seen || f.rule == policy::password_rule::too_short;
        long_seen = long_seen || f.rule == policy::password_rule::too_long;
    }
    if (short_seen && long_seen) {
        broken("too short and too long at once");
    }
    const bool invalid_utf8 =
        !failures.empty() && failures.front().rule == policy::password_rule::invalid_utf8;
    if (invalid_utf8 && failures.size() != 1) {
        broken("invalid UTF-8 with further rules");
    }
    if (score.has_value() == invalid_utf8) {
        broken("banned_score and invalid_utf8 disagree");
    }
    if (failures.empty() && *score < 5) {
        broken("a password that passes scores below min_score");
    }
    return 0;
}
