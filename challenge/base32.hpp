// RFC 4648 base32 (the standard alphabet A-Z 2-7), the form authenticator apps take TOTP secrets
// in.
#pragma once

#include "challenge/error.hpp"

#include <string>
#include <string_view>

namespace sspr::challenge {

/// Encodes bytes; with `pad` the output is '='-padded to a multiple of 8 as RFC 4648 writes it,
/// without it (what otpauth:// URIs use) the padding is left off.
std::string base32_encode(std::string_view bytes, bool pad = true);

/// Decodes base32 as people and apps write it: either case, with or without '=' padding, spaces
/// and hyphens between groups ignored. invalid_base32 for any other character, padding in the
/// middle, or a length no encoding produces.
result<std::string> base32_decode(std::string_view text);

} // namespace sspr::challenge
