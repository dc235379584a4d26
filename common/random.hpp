// The Random seam: every secret ssprd makes (codes, TOTP secrets, salts, tokens, keys) comes from
// here, so unit tests can make them predictable with tests/fakes/fake_random.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace sspr::common {

class random {
public:
    virtual ~random() = default;
    /// Fills `out` with cryptographically strong random bytes. Thread-safe. Throws only if the
    /// system's generator fails (a fault no request can recover from).
    virtual void fill(std::span<std::byte> out) = 0;

    /// A uniformly distributed value in [0, bound), without modulo bias. bound > 0.
    std::uint64_t uniform(std::uint64_t bound);
};

/// OpenSSL's CSPRNG (RAND_bytes).
std::shared_ptr<random> make_system_random();

} // namespace sspr::common
