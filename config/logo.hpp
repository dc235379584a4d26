#pragma once
// The organisation's logo (ui.logo): which images the pages may show, told by their bytes, not by
// the file's name. check-config and the gateway judge a file with the same function.
#include <cstddef>
#include <string_view>

namespace sspr::config {

/// The largest ui.logo file: a logo is a few KiB; more is a photo or a mistake.
inline constexpr std::size_t max_logo_bytes = std::size_t{256} * 1024;

/// The Content-Type of an image the pages can show: image/png, image/jpeg, image/webp or
/// image/svg+xml, from the first bytes (an SVG: optional BOM, XML declaration, comments or
/// DOCTYPE, then an <svg element). Empty for anything else.
[[nodiscard]] std::string_view logo_content_type(std::string_view bytes) noexcept;

} // namespace sspr::config
