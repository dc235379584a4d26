#include "ldap/uri_selector.hpp"

#include <algorithm>

namespace sspr::ldap {

uri_selector::uri_selector(std::size_t uri_count, std::shared_ptr<const common::clock> clock,
                           std::chrono::milliseconds backoff_min,
                           std::chrono::milliseconds backoff_max)
    : clock_(std::move(clock)), backoff_min_(backoff_min),
      backoff_max_(std::max(backoff_min, backoff_max)), states_(uri_count) {}

std::vector<std::size_t> uri_selector::candidates() const {
    const auto now = clock_->steady_now();
    const std::lock_guard lock(mutex_);
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < states_.size(); ++i) {
        if (states_[i].retry_at <= now) {
            out.push_back(i);
        }
    }
    return out;
}

void uri_selector::record_failure(std::size_t index) {
    const auto now = clock_->steady_now();
    const std::lock_guard lock(mutex_);
    state& s = states_.at(index);
    s.backoff = s.backoff.count() == 0 ? backoff_min_ : std::min(s.backoff * 2, backoff_max_);
    s.retry_at = now + s.backoff;
}

void uri_selector::record_success(std::size_t index) {
    const std::lock_guard lock(mutex_);
    states_.at(index) = state{};
}

bool uri_selector::should_fail_back(std::size_t index) const {
    const auto now = clock_->steady_now();
    const std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < index && i < states_.size(); ++i) {
        if (states_[i].retry_at <= now) {
            return true;
        }
    }
    return false;
}

} // namespace sspr::ldap
