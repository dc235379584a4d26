// QR codes as SVG (libqrencode), for the otpauth:// URI on the TOTP enrollment page. The output is
// only numbers and fixed markup, so it can be inlined into a page without escaping.
#pragma once

#include "challenge/error.hpp"
#include "common/secret.hpp"

#include <string_view>

namespace sspr::challenge {

struct qr_image {
    int version = 0; // QR version 1..40
    int modules = 0; // modules per side: 17 + 4 * version
    /// <svg …> with a 4-module quiet zone (viewBox is modules + 8 on each side); a secret because
    /// the text it encodes usually is.
    common::secret svg;
};

/// Encodes `text` at error-correction level M (readable from a screen with some glare), in the
/// smallest version that holds it. qr_failed when the text is empty, holds NUL, or is too long.
result<qr_image> qr_svg(std::string_view text);

} // namespace sspr::challenge
