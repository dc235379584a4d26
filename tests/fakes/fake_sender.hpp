// A Sender for the unit tests of the layers above delivery/ (flows, gateway): records every
// message, completes them only when the test says so (like the real one, never inside
// async_send), and can refuse, defer (a transient failure, told to on_deferred) or fail on
// purpose.
#pragma once

#include "delivery/sender.hpp"

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sspr::fakes {

class fake_sender final : public delivery::sender {
public:
    /// async_send refuses with this error at once (as the real sender does when overloaded or a
    /// channel is off) until cleared.
    void refuse_with(std::optional<delivery::error> e) {
        const std::lock_guard lock(mutex_);
        refuse_ = e;
    }
    /// Messages completed from now on fail with this error; nothing means success.
    void fail_with(std::optional<delivery::error> e) {
        const std::lock_guard lock(mutex_);
        fail_ = e;
    }

    /// Every message accepted so far, in order (the code included, for assertions).
    [[nodiscard]] std::vector<delivery::message> messages() const {
        const std::lock_guard lock(mutex_);
        return messages_;
    }
    /// The code of the last accepted message; empty when there is none.
    [[nodiscard]] std::string last_code() const {
        const std::lock_guard lock(mutex_);
        return messages_.empty() ? std::string()
                                 : std::string(messages_.back().params.code.reveal());
    }
    /// Accepted messages whose completion has not run yet.
    [[nodiscard]] std::size_t pending() const {
        const std::lock_guard lock(mutex_);
        return pending_.size();
    }

    /// Runs the oldest pending completion on the calling thread; false when none is pending.
    bool complete_next() {
        completion done;
        delivery::result<void> outcome;
        {
            const std::lock_guard lock(mutex_);
            if (pending_.empty()) {
                return false;
            }
            auto [via, handler] = std::move(pending_.front());
            pending_.pop_front();
            pending_deferred_.pop_front();
            done = std::move(handler);
            auto& counters = via == delivery::channel::sms ? stats_.sms : stats_.email;
            if (fail_) {
                outcome = delivery::failure(*fail_, "fake_sender");
                ++counters.failed;
            } else {
                ++counters.sent;
            }
        }
        done(std::move(outcome)); // outside the lock: the handler may send again
        return true;
    }
    /// Tells the oldest pending message's on_deferred (as the real sender does after a transient
    /// failure) that an attempt failed with `e`, on the calling thread; the message stays pending.
    /// False when none is pending or it has no on_deferred.
    bool defer_next(delivery::error e) {
        std::function<void(const delivery::failure&)> tell;
        {
            const std::lock_guard lock(mutex_);
            if (pending_.empty()) {
                return false;
            }
            tell = pending_deferred_.front();
        }
        if (!tell) {
            return false;
        }
        tell(delivery::failure(e, "fake_sender"));
        return true;
    }

    /// Runs every pending completion; returns how many ran.
    std::size_t complete_all() {
        std::size_t n = 0;
        while (complete_next()) {
            ++n;
        }
        return n;
    }

    [[nodiscard]] delivery::result<void> async_send(delivery::message msg,
                                                    completion done) override {
        const std::lock_guard lock(mutex_);
        if (refuse_) {
            if (*refuse_ == delivery::error::overloaded) {
                ++stats_.overloaded;
            }
            return delivery::failure(*refuse_, "fake_sender");
        }
        if (msg.kind == delivery::message_kind::invalid || msg.via == delivery::channel::invalid ||
            !done) {
            return delivery::failure(delivery::error::invalid_message, "fake_sender");
        }
        const auto via = msg.via;
        pending_deferred_.push_back(msg.on_deferred);
        messages_.push_back(std::move(msg));
        pending_.emplace_back(via, std::move(done));
        return {};
    }

    [[nodiscard]] delivery::sender_stats stats() const override {
        const std::lock_guard lock(mutex_);
        return stats_;
    }

private:
    mutable std::mutex mutex_;
    std::optional<delivery::error> refuse_;
    std::optional<delivery::error> fail_;
    std::vector<delivery::message> messages_;
    std::deque<std::pair<delivery::channel, completion>> pending_;
    std::deque<std::function<void(const delivery::failure&)>> pending_deferred_; // beside pending_
    delivery::sender_stats stats_;
};

} // namespace sspr::fakes
