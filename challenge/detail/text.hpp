// The text normalisation challenge/ needs (answers, and logins for the fake hints): NFKC_Casefold,
// white space collapsed, ends trimmed, via ICU. policy::text::nfkc_casefold followed by
// collapse_whitespace gives the same text; this one exists because answers are secrets and every
// buffer it uses is wiped, which policy's std::string results are not.
#pragma once

#include "challenge/error.hpp"
#include "common/secret.hpp"

#include <cstddef>
#include <string_view>

namespace sspr::challenge::detail {

struct normalised_text {
    common::secret text; // UTF-8
    std::size_t code_points = 0;
};

/// invalid_text for ill-formed UTF-8 or NUL; answer_too_long for input over max_bytes;
/// normalisation_failed if ICU fails. Every intermediate buffer is wiped.
result<normalised_text> normalise_text(std::string_view input, std::size_t max_bytes);

} // namespace sspr::challenge::detail
