// The Clock seam: every piece of ssprd that reasons about time (backoff, expiry, lockout windows)
// asks a clock, so unit tests can drive time with tests/fakes/fake_clock.hpp.
#pragma once

#include <chrono>
#include <memory>

namespace sspr::common {

class clock {
public:
    using steady_time = std::chrono::steady_clock::time_point;
    using system_time = std::chrono::system_clock::time_point;

    virtual ~clock() = default;
    /// Monotonic time for timeouts and backoff.
    [[nodiscard]] virtual steady_time steady_now() const = 0;
    /// Wall-clock time for comparisons with timestamps that come from outside (directory, store).
    [[nodiscard]] virtual system_time system_now() const = 0;
};

/// The real clocks of the machine. Thread-safe; shared by everything in one process.
std::shared_ptr<clock> make_system_clock();

} // namespace sspr::common
