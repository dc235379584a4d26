// HMAC-SHA-256 with the keyed OpenSSL context kept per thread. OpenSSL 3's one-shot HMAC()
// fetches the algorithm and the digest by name and builds a context on every call (about 2.9 us
// here); re-initialising a keyed context costs about 0.45 us. The gateway computes one on almost
// every request (throttle keys, the CSRF token, the flow-id MAC), so this is the one place that
// does it.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace sspr::common {

using sha256_mac = std::array<unsigned char, 32>;

/// HMAC-SHA-256 of `data` under `key`; the same bytes as HMAC(EVP_sha256(), ...). Each thread
/// keeps the contexts of the last few keys it used (their key schedules are wiped when a key is
/// evicted and when the thread ends). nullopt only if OpenSSL fails (out of memory).
[[nodiscard]] std::optional<sha256_mac> hmac_sha256(std::string_view key, std::string_view data);

} // namespace sspr::common
