// Security questions: which of a user's registered questions to ask, and answers stored as
// argon2id hashes (libargon2) of their normalised form, each with its own salt. Normalisation
// (NFKC, case fold, whitespace collapsed and trimmed, via ICU) makes "  Seoul ", "seoul" and the
// fullwidth "Ｓｅｏｕｌ" one answer. The normaliser is challenge/detail/text.hpp rather than
// policy/text.hpp (same ICU steps) because an answer is a secret: its buffers are wiped here,
// while policy's helpers hand back plain std::strings.
//
// Hashing and verifying are deliberately slow (64 MiB, t=3 by default): callers run them on the
// blocking pool, never on an I/O strand.
#pragma once

#include "challenge/error.hpp"
#include "common/random.hpp"
#include "common/secret.hpp"
#include "config/config.hpp"

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::challenge {

/// Input longer than this is refused before any work (Entra allows answers of up to 40 characters).
inline constexpr std::size_t max_answer_bytes = 1024;

/// The normalised answer: NFKC_Casefold (NFKC, full case folding, default-ignorables such as
/// zero-width spaces removed), runs of Unicode white space made one U+0020, ends trimmed.
/// invalid_text for ill-formed UTF-8 or NUL, answer_too_long beyond max_answer_bytes.
/// Also what the flows compare to refuse the same answer to two questions.
result<common::secret> normalise_answer(std::string_view answer);

/// Draws `answer_count` distinct ids from `registered_ids`, uniformly (partial Fisher-Yates over
/// random::uniform). With `previous` (the questions asked before a failure), the draw is a
/// different set whenever more questions are registered than asked; when the counts are equal
/// there is nothing else to ask and the same set comes back in a new order.
/// invalid_parameters for answer_count 0; not_enough_questions when fewer ids are registered than
/// asked or an id repeats or is empty.
result<std::vector<std::string>> draw_questions(std::span<const std::string> registered_ids,
                                                unsigned answer_count, common::random& random,
                                                std::span<const std::string> previous = {});

/// The encoded argon2id string ($argon2id$v=19$m=…,t=…,p=…$salt$hash; 16-byte salt, 32-byte hash)
/// of the normalised answer. answer_too_short when the normalised answer has fewer than
/// `min_length` code points; invalid_parameters for a cost argon2 refuses; hash_failed when
/// argon2 fails (typically cannot allocate the memory).
result<std::string> hash_answer(std::string_view answer, unsigned min_length,
                                const config::argon2_cost& cost, common::random& random);

/// Whether `answer`, normalised, matches the stored hash. An answer that cannot be normalised is
/// simply wrong (false). malformed_hash when `encoded` is not an argon2id string; hash_failed
/// when argon2 cannot run. The cost is the one recorded in `encoded`, so old hashes stay valid
/// after the admin changes the cost.
result<bool> verify_answer(std::string_view encoded, std::string_view answer);

} // namespace sspr::challenge
