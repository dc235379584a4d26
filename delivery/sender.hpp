// The Sender seam: how flows/ sends one-time codes and security notices to a user's email address
// or phone. dispatcher.hpp implements it (SMTP and an SMS webhook, on a bounded worker pool with a
// bounded retry queue); tests/fakes/fake_sender.hpp records messages for the tests of the layers
// above.
#pragma once

#include "common/secret.hpp"
#include "common/unique_function.hpp"
#include "delivery/error.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace sspr::delivery {

enum class channel {
    invalid = 0,
    /// `destination` is an email address (addr-spec, ASCII).
    email,
    /// `destination` is a phone number; spaces, dashes, dots and parentheses are dropped and the
    /// rest must be an optional `+` and 6 to 15 digits.
    sms,
};

enum class message_kind {
    invalid = 0,
    /// A one-time code (reset, unlock, confirming a new contact). Needs params.code and
    /// params.code_lifetime; says how long the code lives and that staff never ask for it.
    code,
    /// "Your password was changed" (reset or change). Uses params.when.
    password_changed,
    /// "Your account was unlocked". Uses params.when.
    account_unlocked,
    /// "A new contact method was added". Needs params.contact (masked), uses params.when.
    contact_added,
    /// To an administrator: an admin account's password was reset. Needs params.account.
    admin_password_reset,
};

/// "email", "sms", "invalid": for log lines and metrics labels.
[[nodiscard]] constexpr std::string_view to_string(channel via) noexcept {
    switch (via) {
    case channel::email:
        return "email";
    case channel::sms:
        return "sms";
    case channel::invalid:
        break;
    }
    return "invalid";
}

/// "code", "password_changed", …: for log lines and metrics labels.
[[nodiscard]] constexpr std::string_view to_string(message_kind kind) noexcept {
    switch (kind) {
    case message_kind::code:
        return "code";
    case message_kind::password_changed:
        return "password_changed";
    case message_kind::account_unlocked:
        return "account_unlocked";
    case message_kind::contact_added:
        return "contact_added";
    case message_kind::admin_password_reset:
        return "admin_password_reset";
    case message_kind::invalid:
        break;
    }
    return "invalid";
}

/// What a template may show. Strings are plain text (they are escaped for HTML and JSON and
/// stripped of control characters); none of them may be a secret except `code`.
struct message_params {
    /// kind::code: the code itself. Never logged; wiped when the message dies.
    common::secret code;
    /// kind::code: how long the code is accepted, stated in the message.
    std::chrono::seconds code_lifetime{0};
    /// Who is writing ("Example Corp"); required for every kind.
    std::string organisation;
    /// The user's display name for the greeting; empty: a greeting without a name.
    std::string display_name;
    /// admin_password_reset: the login of the account that was reset.
    std::string account;
    /// contact_added: the new contact as the user may see it, already masked ("+82 •••• 5678").
    std::string contact;
    /// Notices: when it happened; shown in UTC. The epoch means "now".
    std::chrono::system_clock::time_point when{};
    /// Notices: whom to tell when it was not the user (an address or URL); empty: "your IT
    /// helpdesk".
    std::string helpdesk;
};

struct message {
    message_kind kind = message_kind::invalid;
    channel via = channel::invalid;
    /// "en" or "ko" (a region suffix such as "ko-KR" is ignored); anything else gets English.
    std::string language = "en";
    /// The address or phone number, as the directory holds it.
    std::string destination;
    message_params params;
    /// Identifies the message across retries (the email's Message-ID, the webhook's
    /// Idempotency-Key) and in log lines. The dispatcher fills it when empty.
    std::string id;
    /// The last moment (the Clock's steady time) an attempt is worth making: a code's expiry. The
    /// epoch means "the sender decides": for a code, its arrival plus params.code_lifetime; for a
    /// notice, the sender's own limit.
    std::chrono::steady_clock::time_point deadline{};
    /// Optional: called at most once, on a delivery thread, when an attempt failed transiently and
    /// the message waits to be tried again (the completion runs later, with the final outcome).
    /// Lets the caller record the failure now instead of when the code expires.
    std::function<void(const failure&)> on_deferred;
};

/// Counters since start, for metrics. A message counts once in sent, failed or expired whatever
/// the number of attempts; every extra attempt counts in retried.
struct channel_stats {
    std::uint64_t sent = 0;
    /// Not sent: a permanent failure, an unknown outcome, the attempts used up, or shutdown.
    std::uint64_t failed = 0;
    std::uint64_t retried = 0;
    /// Dropped because the deadline passed while transient failures went on.
    std::uint64_t expired = 0;
};

struct sender_stats {
    channel_stats email;
    channel_stats sms;
    /// Messages refused at once because the queue was full (not in failed).
    std::uint64_t overloaded = 0;
    /// Messages held now: waiting for a first attempt, being sent, or waiting to be retried.
    std::uint64_t waiting = 0;
};

class sender {
public:
    /// Move-only: a completion may own what it answers (a connection's state, a pending response).
    using completion = common::unique_function<void(result<void>)>;

    virtual ~sender() = default;

    /// Queues `msg` for delivery and returns at once. Returns a failure, and never calls `done`,
    /// when the message cannot be queued: error::overloaded (queue full), channel_disabled,
    /// invalid_destination, invalid_message, stopping. Otherwise calls `done` exactly once, later,
    /// on a delivery thread (post back to your own strand), with the outcome after any retries
    /// (error::expired when msg.deadline passed first). Thread-safe.
    [[nodiscard]] virtual result<void> async_send(message msg, completion done) = 0;

    /// A snapshot of the counters. Thread-safe.
    [[nodiscard]] virtual sender_stats stats() const = 0;
};

} // namespace sspr::delivery
