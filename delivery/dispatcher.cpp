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
    if (options.retry.max_attempts == 0) {
        throw std::invalid_argument("delivery: max_attempts must be at least 1");
    }
    if (options.retry.initial_backoff.count() < 0 ||
        options.retry.max_backoff < options.retry.initial_backoff) {
        throw std::invalid_argument("delivery: backoff must satisfy 0 <= initial <= max");
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

dispatcher::dispatcher(dispatch_options options, channels transports,
                       std::shared_ptr<const common::clock> clock,
                       std::shared_ptr<common::random> random)
    : options_(checked(std::move(options))), transports_(std::move(transports)),
      clock_(std::move(clock)), random_(std::move(random)),
      pool_(options_.threads, options_.max_queued) {
    if (!clock_ || !random_) {
        throw std::invalid_argument("delivery: a clock and a random source are required");
    }
}

dispatcher::~dispatcher() {
    {
        const std::lock_guard lock(stop_mutex_);
        stopping_.store(true);
    }
    stop_wake_.notify_all();
    // pool_ is destroyed next: queued jobs run, see stopping_ and complete with error::stopping.
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

    const channel via = msg.via;
    const std::string id = msg.id;
    const std::string masked = mask_destination(via, msg.destination);
    const bool queued = pool_.try_post(
        [this, m = std::move(msg), d = std::move(done)]() mutable { deliver(m, d); });
    if (!queued) {
        overloaded_.fetch_add(1);
        common::log(common::log_level::warning, "delivery queue full; message refused",
                    {{"channel", to_string(via)}, {"to", masked}, {"id", id}});
        return failure(error::overloaded);
    }
    return {};
}

void dispatcher::deliver(message& msg, completion& done) {
    auto& count = counters_for(msg.via);
    const attempt_fn& transport = msg.via == channel::email ? transports_.email : transports_.sms;
    const std::string masked = mask_destination(msg.via, msg.destination);
    result<void> outcome = failure(error::stopping);
    unsigned made = 0; // attempts actually made
    for (unsigned attempt = 1; attempt <= options_.retry.max_attempts; ++attempt) {
        if (attempt > 1) {
            if (!wait_backoff(backoff_before(attempt, options_.retry))) {
                outcome = failure(error::stopping, "stopped while waiting to retry");
                break;
            }
            count.retried.fetch_add(1);
        } else if (stopping_.load()) {
            break;
        }
        ++made;
        try {
            outcome = transport(msg);
        } catch (const std::exception& e) {
            outcome = failure(error::internal, e.what());
        }
        if (outcome || !outcome.error().retryable() || attempt == options_.retry.max_attempts) {
            break;
        }
        const std::string n = std::to_string(attempt);
        const std::string why = outcome.error().code.message();
        common::log(common::log_level::info, "delivery attempt failed; will retry",
                    {{"channel", to_string(msg.via)},
                     {"kind", to_string(msg.kind)},
                     {"to", masked},
                     {"id", msg.id},
                     {"attempt", n},
                     {"error", why},
                     {"diagnostic", outcome.error().diagnostic}});
    }

    const std::string attempts = std::to_string(made);
    if (outcome) {
        count.sent.fetch_add(1);
        common::log(common::log_level::info, "message sent",
                    {{"channel", to_string(msg.via)},
                     {"kind", to_string(msg.kind)},
                     {"to", masked},
                     {"id", msg.id},
                     {"attempts", attempts}});
    } else {
        count.failed.fetch_add(1);
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
    // The code is no longer needed: wipe it before the caller runs.
    msg.params.code = common::secret();
    try {
        done(std::move(outcome));
    } catch (const std::exception& e) {
        common::log(common::log_level::error, "delivery completion handler threw",
                    {{"id", msg.id}, {"what", e.what()}});
    }
}

bool dispatcher::wait_backoff(std::chrono::milliseconds d) {
    std::unique_lock lock(stop_mutex_);
    return !stop_wake_.wait_for(lock, d, [this] { return stopping_.load(); });
}

dispatcher::counters& dispatcher::counters_for(channel via) noexcept {
    return via == channel::sms ? sms_ : email_;
}

sender_stats dispatcher::stats() const {
    sender_stats out;
    out.email = {email_.sent.load(), email_.failed.load(), email_.retried.load()};
    out.sms = {sms_.sent.load(), sms_.failed.load(), sms_.retried.load()};
    out.overloaded = overloaded_.load();
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
