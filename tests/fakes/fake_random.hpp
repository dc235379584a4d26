// A Random that repeats a byte pattern a test chose, so codes and secrets are predictable.
#pragma once

#include "common/random.hpp"

#include <mutex>
#include <vector>

namespace sspr::fakes {

class fake_random final : public common::random {
public:
    /// Bytes handed out in order, cycling; default 0x00, 0x01, 0x02, …
    explicit fake_random(std::vector<std::byte> pattern = {}) : pattern_(std::move(pattern)) {
        if (pattern_.empty()) {
            for (int i = 0; i < 256; ++i) {
                pattern_.push_back(static_cast<std::byte>(i));
            }
        }
    }

    void fill(std::span<std::byte> out) override {
        const std::lock_guard lock(mutex_);
        for (auto& b : out) {
            b = pattern_[next_++ % pattern_.size()];
        }
    }

private:
    std::mutex mutex_;
    std::vector<std::byte> pattern_;
    std::size_t next_ = 0;
};

} // namespace sspr::fakes
