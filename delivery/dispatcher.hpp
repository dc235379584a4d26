// The Sender that ssprd runs: checks a message, queues it on its own bounded worker pool (SMTP and
// webhooks block for seconds and must not hold the pools of the directory or the store), tries
// each channel, and keeps a message that failed transiently in a bounded retry queue until its
// deadline (a code's expiry): the retry thread sleeps until the next one is due and hands it back
// to the pool, so no worker sleeps. Counts, logs with masked destinations, and reports the outcome
// to the caller as a value.
//
// Sent twice, never: a message the server accepted is done, and one whose outcome is unknown (the
// connection was lost after the whole message was handed over, error::outcome_unknown) is not
// retried either. Losing that one code is the lesser harm: the user asks for another, while two
// codes in a row teach users that unexpected codes are normal.
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
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace sspr::delivery {

struct retry_policy {
    /// Attempts per message, the first included; 0: no limit but the message's deadline.
    unsigned max_attempts = 0;
    /// The ceiling of the wait before the second attempt; doubles for each further one, up to
    /// max_backoff.
    std::chrono::milliseconds initial_backoff{500};
    std::chrono::milliseconds max_backoff{30000};
};

/// The ceiling of the wait before attempt number `attempt` (2 for the first retry):
/// initial_backoff doubled (attempt - 2) times, capped at max_backoff. Zero for attempt 1.
[[nodiscard]] std::chrono::milliseconds backoff_before(unsigned attempt,
                                                       const retry_policy& policy);

/// The wait actually used before attempt `attempt`: uniform in [ceiling / 2, ceiling] ("equal
/// jitter", so that messages that failed together do not all come back together), hence never
/// more than max_backoff.
[[nodiscard]] std::chrono::milliseconds
jittered_backoff(unsigned attempt, const retry_policy& policy, common::random& random);

struct dispatch_options {
    /// The region numbers without a country code are read in; make_sender takes it from
    /// delivery.sms.default_region, as policy/ must for its per-destination counters.
    std::string phone_region{config::default_phone_region};
    /// Messages sent at the same time.
    std::size_t threads = 2;
    /// Messages held at once: waiting for a worker, being sent, or waiting to be retried
    /// (delivery.max_queued). One more is refused at once with error::overloaded.
    std::size_t max_queued = config::delivery_config{}.max_queued;
    retry_policy retry;
    /// The deadline of a message without a code that brings none (notices).
    std::chrono::seconds notice_lifetime{3600};
    /// Longest sleep of the retry thread between two looks at the clock (it wakes earlier for a
    /// retry that is due): how far a fake clock's tests may jump ahead of it.
    std::chrono::milliseconds tick{1000};
};

/// The dispatch options of the configuration: delivery.max_queued, delivery.retry_backoff_max
/// (phone_region is set by make_sender).
[[nodiscard]] dispatch_options options_from(const config::delivery_config& cfg);

class dispatcher final : public sender {
public:
    /// One attempt to deliver over a channel, blocking. Empty: the channel is not configured.
    using attempt_fn = std::function<result<void>(const message&)>;

    struct channels {
        attempt_fn email;
        attempt_fn sms;
    };

    /// Throws std::invalid_argument for zero threads, queue slots or tick, a bad backoff, or a
    /// missing clock or random source.
    dispatcher(dispatch_options options, channels transports,
               std::shared_ptr<const common::clock> clock, std::shared_ptr<common::random> random);
    dispatcher(const dispatcher&) = delete;
    dispatcher& operator=(const dispatcher&) = delete;
    /// Stops taking messages and gives up every message waiting to be retried or for a worker:
    /// each completes with error::stopping (a running attempt with its own outcome), each logged.
    /// Waits only for running attempts (bounded by the transports' timeouts), then joins.
    ~dispatcher() override;

    /// Checks the message (kind, channel configured, destination, the kind's parameters), fills
    /// id, params.when and deadline when empty, and queues it. See sender::async_send.
    [[nodiscard]] result<void> async_send(message msg, completion done) override;

    [[nodiscard]] sender_stats stats() const override;

private:
    struct counters {
        std::atomic<std::uint64_t> sent{0};
        std::atomic<std::uint64_t> failed{0};
        std::atomic<std::uint64_t> retried{0};
        std::atomic<std::uint64_t> expired{0};
    };

    /// A message the dispatcher holds, with what its attempts so far left behind.
    struct pending {
        message msg;
        completion done;
        unsigned attempts = 0;
        bool deferred_told = false;
    };
    using pending_ptr = std::unique_ptr<pending>;
    using retry_queue = std::multimap<common::clock::steady_time, pending_ptr>;

    /// On a pool worker: one attempt, then finish or back into the retry queue.
    void attempt(pending_ptr p);
    /// Counts, logs, wipes the code, frees the slot, then calls the completion.
    void finish(pending_ptr p, result<void> outcome);
    /// The retry thread: hands each message back to the pool when it is due.
    void run_retries();
    counters& counters_for(channel via) noexcept;

    const dispatch_options options_;
    const channels transports_;
    const std::shared_ptr<const common::clock> clock_;
    const std::shared_ptr<common::random> random_;

    counters email_;
    counters sms_;
    std::atomic<std::uint64_t> overloaded_{0};
    /// Messages accepted and not finished; at most options_.max_queued, which is also the pool's
    /// queue bound, so that handing a due retry to the pool always finds room.
    std::atomic<std::size_t> held_{0};

    std::mutex mutex_;
    std::condition_variable wake_;
    retry_queue retries_;               // guarded by mutex_, ordered by due time
    std::atomic<bool> stopping_{false}; // set under mutex_

    // Destroyed (drained and joined) before everything above, which its jobs use; the retry
    // thread is joined by the destructor's body, before either.
    common::blocking_pool pool_;
    std::thread retry_thread_;
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
