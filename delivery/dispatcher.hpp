// The Sender that ssprd runs: checks a message, queues it on its own bounded worker pool (SMTP and
// webhooks block for seconds and must not hold the pools of the directory or the store), tries
// each channel with retries and exponential backoff for transient failures, counts, logs with
// masked destinations, and reports the outcome to the caller as a value.
#pragma once

#include "common/blocking_pool.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "config/config.hpp"
#include "delivery/sender.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

namespace sspr::delivery {

struct retry_policy {
    /// Attempts per message, the first included; at least 1.
    unsigned max_attempts = 3;
    /// Wait before the second attempt; doubles for each further one, up to max_backoff.
    std::chrono::milliseconds initial_backoff{500};
    std::chrono::milliseconds max_backoff{4000};
};

/// How long to wait before attempt number `attempt` (2 for the first retry): initial_backoff
/// doubled (attempt - 2) times, capped at max_backoff. Zero for attempt 1.
[[nodiscard]] std::chrono::milliseconds backoff_before(unsigned attempt,
                                                       const retry_policy& policy);

struct dispatch_options {
    /// The region numbers without a country code are read in; make_sender takes it from
    /// delivery.sms.default_region, as policy/ must for its per-destination counters.
    std::string phone_region{config::default_phone_region};
    /// Messages sent at the same time.
    std::size_t threads = 2;
    /// Messages waiting for a worker; one more is refused with error::overloaded.
    std::size_t max_queued = 64;
    retry_policy retry;
};

class dispatcher final : public sender {
public:
    /// One attempt to deliver over a channel, blocking. Empty: the channel is not configured.
    using attempt_fn = std::function<result<void>(const message&)>;

    struct channels {
        attempt_fn email;
        attempt_fn sms;
    };

    /// Throws std::invalid_argument for zero threads, queue slots or attempts, or a missing
    /// clock or random source.
    dispatcher(dispatch_options options, channels transports,
               std::shared_ptr<const common::clock> clock, std::shared_ptr<common::random> random);
    dispatcher(const dispatcher&) = delete;
    dispatcher& operator=(const dispatcher&) = delete;
    /// Stops taking messages, ends pending backoff waits, completes every queued message with
    /// error::stopping (and a running attempt with its own outcome), then joins the workers.
    ~dispatcher() override;

    /// Checks the message (kind, channel configured, destination, the kind's parameters), fills
    /// id and params.when when empty, and queues it. See sender::async_send.
    [[nodiscard]] result<void> async_send(message msg, completion done) override;

    [[nodiscard]] sender_stats stats() const override;

private:
    struct counters {
        std::atomic<std::uint64_t> sent{0};
        std::atomic<std::uint64_t> failed{0};
        std::atomic<std::uint64_t> retried{0};
    };

    void deliver(message& msg, completion& done);
    /// Sleeps for `d` unless stopping; false when woken by stopping.
    bool wait_backoff(std::chrono::milliseconds d);
    counters& counters_for(channel via) noexcept;

    const dispatch_options options_;
    const channels transports_;
    const std::shared_ptr<const common::clock> clock_;
    const std::shared_ptr<common::random> random_;

    counters email_;
    counters sms_;
    std::atomic<std::uint64_t> overloaded_{0};

    std::mutex stop_mutex_;
    std::condition_variable stop_wake_;
    std::atomic<bool> stopping_{false};

    // Last: destroyed (drained and joined) first, while everything its jobs use still exists.
    common::blocking_pool pool_;
};

/// The production sender: an SMTP client when cfg.smtp.enabled, a webhook client when
/// cfg.sms.enabled, on a dispatcher; options.phone_region is set to cfg.sms.default_region. Throws
/// std::invalid_argument naming the bad key when a configured channel cannot work (at start-up,
/// before listening). The process must ignore SIGPIPE
/// (common::ignore_sigpipe, which main() calls).
[[nodiscard]] std::unique_ptr<sender> make_sender(const config::delivery_config& cfg,
                                                  dispatch_options options,
                                                  std::shared_ptr<const common::clock> clock,
                                                  std::shared_ptr<common::random> random);

} // namespace sspr::delivery
