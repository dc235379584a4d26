// A Clock that moves only when a test says so.
#pragma once

#include "common/clock.hpp"

#include <atomic>
#include <chrono>

namespace sspr::fakes {

class fake_clock final : public common::clock {
public:
    [[nodiscard]] steady_time steady_now() const override { return steady_time(steady_.load()); }
    [[nodiscard]] system_time system_now() const override { return system_time(system_.load()); }

    /// Called by the test thread only; other threads may read concurrently.
    void advance(std::chrono::nanoseconds d) {
        steady_.store(steady_.load() + d);
        system_.store(system_.load() + std::chrono::duration_cast<system_time::duration>(d));
    }
    void set_system(system_time t) { system_ = t.time_since_epoch(); }

private:
    // Start well away from zero so "never failed" (time_point{}) is clearly in the past.
    std::atomic<steady_time::duration> steady_{std::chrono::hours(1000)};
    std::atomic<system_time::duration> system_{std::chrono::hours(24 * 365 * 56)};
};

} // namespace sspr::fakes
