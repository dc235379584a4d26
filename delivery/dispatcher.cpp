#include "delivery/dispatcher.hpp"

#include "common/log.hpp"
#include "delivery/address.hpp"
#include "delivery/smtp_client.hpp"
#include "delivery/webhook_client.hpp"

#include <algorithm>
#include <array>
#include <csignal>
#include <exception>
#include <stdexcept>
#include <string>

namespace sspr::delivery {
namespace {

dispatch_options checked(dispatch_options options) {
    if (options.threads == 0 || options.max_queued == 0) {
        throw std::invalid_argument("delivery: needs at least one worker thread and queue slot");
    }
    if (options.retry.initial_backoff.count() <= 0 ||
        options.retry.max_backoff < options.retry.initial_backoff) {
        throw std::invalid_argument("delivery: backoff must satisfy 0 < initial <= max");
    }
    if (options.tick.count() <= 0 || options.notice_lifetime.count() <= 0) {
        throw std::invalid_argument("delivery: tick and notice_lifetime must be positive");
    }
    return options;
}

// What the message's kind needs, or nothing when it is all there.
const char* missing_parameter(const message& msg) {
    const auto& p = msg.params;
    if (p.organisation.empty()) {
        return "organisation missing";
    }
    switch (msg.kind) {
    case message_kind::code:
        if (p.code.empty() || p.code_lifetime.count() <= 0) {
            return "code message needs the code and its lifetime";
        }
        return nullptr;
    case message_kind::contact_added:
        return p.contact.empty() ? "contact_added needs the (masked) contact" : nullptr;
    case message_kind::admin_password_reset:
        return p.account.empty() ? "admin_password_reset needs the account" : nullptr;
    case message_kind::password_changed:
    case message_kind::account_unlocked:
        return nullptr;
    case message_kind::invalid:
        break;
    }
    return "message kind not set";
}

std::string new_id(common::random& random) {
    std::array<std::byte, 16> bytes{};
    random.fill(bytes);
    constexpr std::string_view hex = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const auto b : bytes) {
        const auto v = static_cast<unsigned>(b);
        out += hex[v >> 4U];
        out += hex[v & 0x0FU];
    }
    return out;
}

} // namespace

std::chrono::milliseconds backoff_before(unsigned attempt, const retry_policy& policy) {
    if (attempt <= 1) {
        return std::chrono::milliseconds{0};
    }
    auto wait = policy.initial_backoff;
    for (unsigned i = 2; i < attempt && wait < policy.max_backoff; ++i) {
        wait *= 2;
    }
    return std::min(wait, policy.max_backoff);
}

std::chrono::milliseconds jittered_backoff(unsigned attempt, const retry_policy& policy,
                                           common::random& random) {
    const auto ceiling = backoff_before(attempt, policy);
    const auto half = ceiling / 2;
    const auto spread = static_cast<std::uint64_t>((ceiling - half).count());
    if (spread == 0) {
        return ceiling;
    }
    return half + std::chrono::milliseconds(static_cast<std::int64_t>(random.uniform(spread + 1)));
}

dispatch_options options_from(const config::delivery_config& cfg) {
    dispatch_options o;
    o.max_queued = cfg.max_queued;
    o.retry.max_backoff = std::max(cfg.retry_backoff_max, o.retry.initial_backoff);
    return o;
}

dispatcher::dispatcher(dispatch_options options, channels transports,
                       std::shared_ptr<const common::clock> clock,
                       std::shared_ptr<common::random> random)
    : options_(checked(std::move(options))), transports_(std::move(transports)),
      clock_(std::move(clock)), random_(std::move(random)),
      pool_(options_.threads, options_.max_queued) {
    if (!clock_ || !random_) {
        throw std::invalid_argument("delivery: a clock and a random source are required");
    }
    retry_thread_ = std::thread([this] { run_retries(); });
}

dispatcher::~dispatcher() {
    retry_queue given_up;
    {
        const std::lock_guard lock(mutex_);
        stopping_.store(true);
        given_up.swap(retries_);
    }
    wake_.notify_all();
    retry_thread_.join();
    if (!given_up.empty()) {
        common::log(common::log_level::warning, "delivery stopping; waiting retries given up",
                    {{"messages", std::to_string(given_up.size())}});
    }
    for (auto& entry : given_up) {
        finish(std::move(entry.second), failure(error::stopping, "stopped while waiting to retry"));
    }
    // pool_ is destroyed next: queued jobs run, see stopping_ and complete with error::stopping;
    // a running attempt that fails transiently finds stopping_ and completes the same way.
}

result<void> dispatcher::async_send(message msg, completion done) {
    if (stopping_.load()) {
        return failure(error::stopping);
    }
    if (msg.via != channel::email && msg.via != channel::sms) {
        return failure(error::invalid_message, "channel not set");
    }
    if (!done) {
        return failure(error::invalid_message, "no completion handler");
    }
    const attempt_fn& transport = msg.via == channel::email ? transports_.email : transports_.sms;
    if (!transport) {
        return failure(error::channel_disabled,
                       std::string(to_string(msg.via)) + " not configured");
    }
    if (const char* missing = missing_parameter(msg)) {
        return failure(error::invalid_message, missing);
    }
    auto destination = normalise_destination(msg.via, msg.destination, options_.phone_region);
    if (!destination) {
        return destination.error();
    }
    msg.destination = std::move(*destination);
    if (msg.id.empty()) {
        msg.id = new_id(*random_);
    } else if (!valid_message_id(msg.id)) {
        return failure(error::invalid_message, "message id must be 1-64 of [A-Za-z0-9._-]");
    }
    if (msg.params.when == std::chrono::system_clock::time_point{}) {
        msg.params.when = clock_->system_now();
    }
    if (msg.deadline == common::clock::steady_time{}) {
        // A code is sent right after it was issued: its expiry is (at most a few milliseconds
        // after) now plus its lifetime.
        msg.deadline =
            clock_->steady_now() +
            (msg.kind == message_kind::code ? msg.params.code_lifetime : options_.notice_lifetime);
    }

    const channel via = msg.via;
    const std::string id = msg.id;
    const std::string masked = mask_destination(via, msg.destination);
    const auto refuse = [&](error e) {
        held_.fetch_sub(1);
        overloaded_.fetch_add(1);
        common::log(common::log_level::warning, "delivery queue full; message refused",
                    {{"channel", to_string(via)}, {"to", masked}, {"id", id}});
        return failure(e);
    };
    if (held_.fetch_add(1) >= options_.max_queued) {
        return refuse(error::overloaded);
    }
    auto p = std::make_unique<pending>();
    p->msg = std::move(msg);
    p->done = std::move(done);
    if (!pool_.try_post([this, p = std::move(p)]() mutable { attempt(std::move(p)); })) {
        // Only while stopping (held_ <= max_queued is the pool's own bound); never completed.
        held_.fetch_sub(1);
        return failure(error::stopping);
    }
    return {};
}

void dispatcher::attempt(pending_ptr p) {
    if (stopping_.load()) {
        return finish(std::move(p), failure(error::stopping));
    }
    message& msg = p->msg;
    if (clock_->steady_now() >= msg.deadline) {
        failure late(error::expired, p->attempts == 0 ? "waited for a worker" : "");
        return finish(std::move(p), std::move(late));
    }
    auto& count = counters_for(msg.via);
    const attempt_fn& transport = msg.via == channel::email ? transports_.email : transports_.sms;
    if (p->attempts > 0) {
        count.retried.fetch_add(1);
    }
    ++p->attempts;
    result<void> outcome = failure(error::internal);
    try {
        outcome = transport(msg);
    } catch (const std::exception& e) {
        outcome = failure(error::internal, e.what());
    }
    if (outcome || !outcome.error().retryable() ||
        (options_.retry.max_attempts != 0 && p->attempts >= options_.retry.max_attempts)) {
        return finish(std::move(p), std::move(outcome));
    }
    const failure& why = outcome.error();
    const auto wait = jittered_backoff(p->attempts + 1, options_.retry, *random_);
    const auto due = clock_->steady_now() + wait;
    if (due >= msg.deadline) {
        std::string last = "last attempt: " + why.code.message();
        if (!why.diagnostic.empty()) {
            last += " (" + why.diagnostic + ")";
        }
        return finish(std::move(p), failure(error::expired, std::move(last)));
    }
    common::log(common::log_level::info, "delivery attempt failed; will retry",
                {{"channel", to_string(msg.via)},
                 {"kind", to_string(msg.kind)},
                 {"to", mask_destination(msg.via, msg.destination)},
                 {"id", msg.id},
                 {"attempt", std::to_string(p->attempts)},
                 {"retry_in_ms", std::to_string(wait.count())},
                 {"error", why.code.message()},
                 {"diagnostic", why.diagnostic}});
    if (!p->deferred_told && msg.on_deferred) {
        p->deferred_told = true;
        try {
            msg.on_deferred(why);
        } catch (const std::exception& e) {
            common::log(common::log_level::error, "delivery deferral handler threw",
                        {{"id", msg.id}, {"what", e.what()}});
        }
    }
    std::unique_lock lock(mutex_);
    if (stopping_.load()) {
        lock.unlock();
        return finish(std::move(p), failure(error::stopping, "stopped while waiting to retry"));
    }
    retries_.emplace(due, std::move(p));
    lock.unlock();
    wake_.notify_one();
}

void dispatcher::run_retries() {
    std::unique_lock lock(mutex_);
    while (!stopping_.load()) {
        if (retries_.empty()) {
            wake_.wait(lock, [this] { return stopping_.load() || !retries_.empty(); });
            continue;
        }
        const auto first = retries_.begin();
        const auto now = clock_->steady_now();
        if (first->first > now) {
            const std::chrono::nanoseconds left = first->first - now;
            wake_.wait_for(lock, std::min<std::chrono::nanoseconds>(left, options_.tick));
            continue;
        }
        // The pool owns the job once try_post accepts it and runs every job it accepted; a
        // refusal (possible only while stopping) hands the message back to us.
        pending* due = first->second.release();
        retries_.erase(first);
        if (!pool_.try_post([this, due] { attempt(pending_ptr(due)); })) {
            lock.unlock();
            finish(pending_ptr(due), failure(error::stopping, "stopped while waiting to retry"));
            lock.lock();
        }
    }
}

void dispatcher::finish(pending_ptr p, result<void> outcome) {
    message& msg = p->msg;
    auto& count = counters_for(msg.via);
    const std::string masked = mask_destination(msg.via, msg.destination);
    const std::string attempts = std::to_string(p->attempts);
    if (outcome) {
        count.sent.fetch_add(1);
        common::log(common::log_level::info, "message sent",
                    {{"channel", to_string(msg.via)},
                     {"kind", to_string(msg.kind)},
                     {"to", masked},
                     {"id", msg.id},
                     {"attempts", attempts}});
    } else {
        if (outcome.error().is(error::expired)) {
            count.expired.fetch_add(1);
        } else {
            count.failed.fetch_add(1);
        }
        const std::string why = outcome.error().code.message();
        common::log(common::log_level::warning, "message not sent",
                    {{"channel", to_string(msg.via)},
                     {"kind", to_string(msg.kind)},
                     {"to", masked},
                     {"id", msg.id},
                     {"attempts", attempts},
                     {"error", why},
                     {"diagnostic", outcome.error().diagnostic}});
    }
    completion done = std::move(p->done);
    const std::string id = msg.id;
    // The code is no longer needed: wiped (with the rest of the message) before the caller runs.
    p.reset();
    held_.fetch_sub(1);
    try {
        done(std::move(outcome));
    } catch (const std::exception& e) {
        common::log(common::log_level::error, "delivery completion handler threw",
                    {{"id", id}, {"what", e.what()}});
    }
}

dispatcher::counters& dispatcher::counters_for(channel via) noexcept {
    return via == channel::sms ? sms_ : email_;
}

sender_stats dispatcher::stats() const {
    sender_stats out;
    out.email = {email_.sent.load(), email_.failed.load(), email_.retried.load(),
                 email_.expired.load()};
    out.sms = {sms_.sent.load(), sms_.failed.load(), sms_.retried.load(), sms_.expired.load()};
    out.overloaded = overloaded_.load();
    out.waiting = held_.load();
    return out;
}

std::unique_ptr<sender> make_sender(const config::delivery_config& cfg, dispatch_options options,
                                    std::shared_ptr<const common::clock> clock,
                                    std::shared_ptr<common::random> random) {
    if (!clock || !random) {
        throw std::invalid_argument("delivery: a clock and a random source are required");
    }
    options.phone_region = cfg.sms.default_region;
    dispatcher::channels transports;
    if (cfg.smtp.enabled) {
        auto client = std::make_shared<const smtp_client>(cfg.smtp, clock);
        transports.email = [client](const message& m) { return client->send(m); };
    }
    if (cfg.sms.enabled) {
        auto client = std::make_shared<const webhook_client>(cfg.sms);
        transports.sms = [client](const message& m) { return client->send(m); };
    }
    return std::make_unique<dispatcher>(options, std::move(transports), std::move(clock),
                                        std::move(random));
}

} // namespace sspr::delivery
