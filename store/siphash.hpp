// SipHash-2-4 (Aumasson and Bernstein, 2012): a keyed hash for the throttle cache's table, so that
// whoever picks the throttle keys (user names, addresses) cannot aim them at one slot or make two
// keys share an entry without knowing the process's random key. Internal to store/.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace sspr::store::detail {

/// SipHash-2-4 with a 64-bit tag. key[0] holds key bytes 0..7 and key[1] bytes 8..15, each read
/// little-endian, as in the reference implementation.
[[nodiscard]] std::uint64_t siphash24(const std::array<std::uint64_t, 2>& key,
                                      std::string_view in) noexcept;

} // namespace sspr::store::detail
