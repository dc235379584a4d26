// Which directory server to try: the configured URIs in order, skipping those that failed recently
// (exponential backoff per URI), and telling the pool when an earlier, preferred URI may be back so
// connections to a fallback are replaced. Pure logic over a Clock, unit-tested with a fake one.
#pragma once

#include "common/clock.hpp"

#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

namespace sspr::ldap {

class uri_selector {
public:
    uri_selector(std::size_t uri_count, std::shared_ptr<const common::clock> clock,
                 std::chrono::milliseconds backoff_min, std::chrono::milliseconds backoff_max);

    /// Indexes of the URIs to try now, preferred first; those still backing off are left out.
    /// Empty when every URI is backing off: the caller fails fast instead of hammering.
    [[nodiscard]] std::vector<std::size_t> candidates() const;

    /// A connection attempt to `index` failed: back off, twice as long as last time (up to max).
    void record_failure(std::size_t index);

    /// A connection to `index` succeeded: its backoff starts again from the minimum.
    void record_success(std::size_t index);

    /// True when a connection to `index` should be retired because a URI listed before it is no
    /// longer backing off (so it may have recovered and should take the work back).
    [[nodiscard]] bool should_fail_back(std::size_t index) const;

private:
    struct state {
        common::clock::steady_time retry_at{};
        std::chrono::milliseconds backoff{0};
    };

    std::shared_ptr<const common::clock> clock_;
    const std::chrono::milliseconds backoff_min_;
    const std::chrono::milliseconds backoff_max_;
    mutable std::mutex mutex_;
    std::vector<state> states_; // guarded by mutex_
};

} // namespace sspr::ldap
