#include "challenge/questions.hpp"

#include "challenge/detail/text.hpp"

#include <argon2.h>

#include <array>
#include <cstdint>
#include <set>
#include <utility>

namespace sspr::challenge {
namespace {

constexpr std::uint32_t salt_bytes = 16;
constexpr std::uint32_t hash_bytes = 32;
constexpr std::uint32_t max_parallelism = 64;
// A stored hash longer than this is not one hash_answer made; refused before argon2 parses it.
constexpr std::size_t max_encoded_bytes = 256;
constexpr std::string_view argon2id_prefix = "$argon2id$";

bool cost_acceptable(const config::argon2_cost& cost) {
    return cost.iterations >= ARGON2_MIN_TIME && cost.parallelism >= ARGON2_MIN_LANES &&
           cost.parallelism <= max_parallelism &&
           cost.memory_kib >= ARGON2_MIN_MEMORY * cost.parallelism;
}

} // namespace

result<common::secret> normalise_answer(std::string_view answer) {
    auto n = detail::normalise_text(answer, max_answer_bytes);
    if (!n) {
        return n.error();
    }
    return std::move(n->text);
}

result<std::vector<std::string>> draw_questions(std::span<const std::string> registered_ids,
                                                unsigned answer_count, common::random& random,
                                                std::span<const std::string> previous) {
    if (answer_count == 0) {
        return error::invalid_parameters;
    }
    const std::set<std::string_view> distinct(registered_ids.begin(), registered_ids.end());
    if (distinct.size() != registered_ids.size() || distinct.contains(std::string_view{}) ||
        registered_ids.size() < answer_count) {
        return error::not_enough_questions;
    }

    std::vector<std::string> ids(registered_ids.begin(), registered_ids.end());
    const std::size_t n = ids.size();
    const std::size_t k = answer_count;
    for (std::size_t i = 0; i < k; ++i) {
        const auto j = i + static_cast<std::size_t>(random.uniform(n - i));
        std::swap(ids[i], ids[j]);
    }

    // After a failure the same questions must not simply come back (Entra restarts the draw):
    // if chance drew the same set, trade one drawn question for one not drawn, both at random.
    if (!previous.empty() && n > k) {
        const std::set<std::string_view> before(previous.begin(), previous.end());
        const std::set<std::string_view> now(ids.begin(),
                                             ids.begin() + static_cast<std::ptrdiff_t>(k));
        if (before == now) {
            const auto out = static_cast<std::size_t>(random.uniform(k));
            const auto in = k + static_cast<std::size_t>(random.uniform(n - k));
            std::swap(ids[out], ids[in]);
        }
    }
    ids.resize(k);
    return ids;
}

result<std::string> hash_answer(std::string_view answer, unsigned min_length,
                                const config::argon2_cost& cost, common::random& random) {
    if (!cost_acceptable(cost)) {
        return error::invalid_parameters;
    }
    auto n = detail::normalise_text(answer, max_answer_bytes);
    if (!n) {
        return n.error();
    }
    if (n->code_points < min_length) {
        return error::answer_too_short;
    }

    std::array<unsigned char, salt_bytes> salt{};
    random.fill(std::as_writable_bytes(std::span(salt)));
    const std::size_t encoded_len = argon2_encodedlen(
        cost.iterations, cost.memory_kib, cost.parallelism, salt_bytes, hash_bytes, Argon2_id);
    std::string encoded(encoded_len, '\0');
    const auto text = n->text.reveal();
    const int rc = argon2id_hash_encoded(cost.iterations, cost.memory_kib, cost.parallelism,
                                         text.data(), text.size(), salt.data(), salt.size(),
                                         hash_bytes, encoded.data(), encoded.size());
    if (rc == ARGON2_MEMORY_ALLOCATION_ERROR || rc == ARGON2_THREAD_FAIL) {
        return error::hash_failed;
    }
    if (rc != ARGON2_OK) {
        return error::invalid_parameters;
    }
    // argon2_encodedlen counts the terminating NUL and may overestimate the digits of the costs.
    if (const auto end = encoded.find('\0'); end != std::string::npos) {
        encoded.resize(end);
    }
    return encoded;
}

result<bool> verify_answer(std::string_view encoded, std::string_view answer) {
    if (encoded.size() > max_encoded_bytes || !encoded.starts_with(argon2id_prefix) ||
        encoded.find('\0') != std::string_view::npos) {
        return error::malformed_hash;
    }
    auto n = detail::normalise_text(answer, max_answer_bytes);
    if (!n) {
        if (n.error() == make_error_code(error::normalisation_failed)) {
            // Spelled out: an error_code converts to bool, so `return n.error();` would be
            // ambiguous.
            return result<bool>(boost::system::in_place_error, n.error());
        }
        return false; // not text, or longer than any answer: not the answer
    }
    const std::string stored(encoded); // argon2 wants NUL-terminated
    const auto text = n->text.reveal();
    const int rc = argon2id_verify(stored.c_str(), text.data(), text.size());
    switch (rc) {
    case ARGON2_OK:
        return true;
    case ARGON2_VERIFY_MISMATCH:
        return false;
    case ARGON2_MEMORY_ALLOCATION_ERROR:
    case ARGON2_THREAD_FAIL:
        return error::hash_failed;
    default:
        return error::malformed_hash;
    }
}

} // namespace sspr::challenge
