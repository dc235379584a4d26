// Unit tests of delivery/dispatcher.hpp with scripted transports: checks before queueing, the
// retry queue (transient failures only, capped jittered backoff on the fake clock, until the
// message's deadline, no worker held while waiting), the bound on held messages, counters,
// shutdown, and log lines without secrets. Hermetic: fake clock and random, no network.
#include "delivery/dispatcher.hpp"

#include "common/random.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_random.hpp"
#include "tests/support/stderr_capture.hpp"

#include <catch2/catch.hpp>

#include <tuple>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using sspr::delivery::channel;
using sspr::delivery::dispatch_options;
using sspr::delivery::dispatcher;
using sspr::delivery::error;
using sspr::delivery::failure;
using sspr::delivery::message;
using sspr::delivery::message_kind;
using sspr::delivery::result;

namespace {

constexpr auto deadline = 10s;

// A transport that answers from a script (the last answer repeats) and remembers what it saw.
class script {
public:
    explicit script(std::vector<result<void>> answers) : answers_(std::move(answers)) {}

    result<void> operator()(const message& m) {
        std::shared_future<void> gate;
        std::size_t call = 0;
        {
            const std::lock_guard lock(mutex_);
            call = seen_.size();
            seen_.push_back(m);
            threads_.push_back(std::this_thread::get_id());
            gate = gate_;
        }
        entered_.fetch_add(1);
        if (gate.valid()) {
            gate.wait();
        }
        const std::lock_guard lock(mutex_);
        return answers_[std::min(call, answers_.size() - 1)];
    }

    /// Attempts block until release() from now on.
    void hold() {
        const std::lock_guard lock(mutex_);
        gate_ = release_.get_future().share();
    }
    void release() { release_.set_value(); }

    [[nodiscard]] int calls() const { return entered_.load(); }
    [[nodiscard]] std::vector<message> seen() const {
        const std::lock_guard lock(mutex_);
        return seen_;
    }
    [[nodiscard]] std::thread::id thread(std::size_t i) const {
        const std::lock_guard lock(mutex_);
        return threads_.at(i);
    }
    [[nodiscard]] bool wait_calls(int n) const {
        const auto until = std::chrono::steady_clock::now() + deadline;
        while (entered_.load() < n) {
            if (std::chrono::steady_clock::now() > until) {
                return false;
            }
            std::this_thread::sleep_for(1ms);
        }
        return true;
    }

private:
    mutable std::mutex mutex_;
    std::vector<result<void>> answers_;
    std::vector<message> seen_;
    std::vector<std::thread::id> threads_;
    std::promise<void> release_;
    std::shared_future<void> gate_;
    std::atomic<int> entered_{0};
};

// Where a completion lands.
struct outcome {
    std::promise<result<void>> promise;
    std::future<result<void>> future = promise.get_future();
    std::thread::id thread;
    std::atomic<int> calls{0};

    sspr::delivery::sender::completion handler() {
        return [this](result<void> r) {
            thread = std::this_thread::get_id();
            calls.fetch_add(1);
            promise.set_value(std::move(r));
        };
    }
    result<void> get() {
        REQUIRE(future.wait_for(deadline) == std::future_status::ready);
        return future.get();
    }
};

dispatch_options fast_options(unsigned attempts = 3) {
    dispatch_options o;
    o.threads = 2;
    o.max_queued = 8;
    o.retry.max_attempts = attempts;
    o.retry.initial_backoff = 1ms;
    o.retry.max_backoff = 2ms;
    o.tick = 1ms; // the retry thread looks at the fake clock every millisecond
    return o;
}

// Moves the fake clock on by `step` every real millisecond until `done` completes: the backoff
// waits are measured on the fake clock.
result<void> pumped(outcome& done, sspr::fakes::fake_clock& clock,
                    std::chrono::milliseconds step = 1ms) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (done.future.wait_for(1ms) != std::future_status::ready) {
        REQUIRE(std::chrono::steady_clock::now() < until);
        clock.advance(step);
    }
    return done.future.get();
}

// Real time for the dispatcher's threads to act on what they were given.
void settle() {
    std::this_thread::sleep_for(50ms);
}

message code_email(std::string to = "alice@example.org") {
    message m;
    m.kind = message_kind::code;
    m.via = channel::email;
    m.destination = std::move(to);
    m.params.code = sspr::common::secret("493817");
    m.params.code_lifetime = 600s;
    m.params.organisation = "Example Corp";
    return m;
}

struct harness {
    std::shared_ptr<sspr::fakes::fake_clock> clock = std::make_shared<sspr::fakes::fake_clock>();
    std::shared_ptr<sspr::fakes::fake_random> random = std::make_shared<sspr::fakes::fake_random>();
    std::shared_ptr<script> email;
    std::shared_ptr<script> sms;
    std::unique_ptr<dispatcher> sender;

    explicit harness(const std::vector<result<void>>& answers,
                     dispatch_options options = fast_options(), bool with_sms = true)
        : email(std::make_shared<script>(answers)), sms(std::make_shared<script>(answers)) {
        dispatcher::channels ch;
        ch.email = [t = email](const message& m) { return (*t)(m); };
        if (with_sms) {
            ch.sms = [t = sms](const message& m) { return (*t)(m); };
        }
        sender = std::make_unique<dispatcher>(std::move(options), std::move(ch), clock, random);
    }
};

error error_of(const result<void>& r) {
    REQUIRE_FALSE(r);
    return static_cast<error>(r.error().code.value());
}

} // namespace

TEST_CASE("dispatcher: a national number is sent in E.164 form, read in the configured region",
          "[delivery]") {
    for (const auto& [region, number, expected] :
         {std::tuple{"KR", "010-1234-5678", "+821012345678"},
          std::tuple{"KR", "0082 10 1234 5678", "+821012345678"},
          std::tuple{"US", "(415) 555-2671", "+14155552671"},
          std::tuple{"US", "011 82 10 1234 5678", "+821012345678"}}) {
        INFO(region << " " << number);
        auto options = fast_options();
        options.phone_region = region;
        harness h({result<void>{}}, options);
        message m = code_email();
        m.via = channel::sms;
        m.destination = number;
        outcome done;
        // Not inside REQUIRE: Catch2 repeats its expression (unevaluated), a use after move.
        const auto queued = h.sender->async_send(std::move(m), done.handler());
        REQUIRE(queued);
        CHECK(done.get());
        REQUIRE(h.sms->calls() == 1);
        CHECK(h.sms->seen().at(0).destination == expected);
    }
    // The default region is the configuration's default.
    CHECK(dispatch_options{}.phone_region == sspr::config::sms_config{}.default_region);
    CHECK(dispatch_options{}.phone_region == "KR");
}

TEST_CASE("dispatcher: a message is checked, normalised and sent on a worker thread",
          "[delivery]") {
    harness h({result<void>{}});
    message m = code_email();
    m.via = channel::sms;
    m.destination = "+82 10-1234-5678";
    outcome done;
    const auto queued = h.sender->async_send(std::move(m), done.handler());
    REQUIRE(queued);
    CHECK(done.get());
    CHECK(done.thread != std::this_thread::get_id());
    CHECK(done.calls.load() == 1);

    REQUIRE(h.sms->calls() == 1);
    CHECK(h.email->calls() == 0);
    const auto seen = h.sms->seen().at(0);
    CHECK(seen.destination == "+821012345678");
    CHECK(seen.id == "000102030405060708090a0b0c0d0e0f"); // from the fake random's bytes
    CHECK(seen.params.when == h.clock->system_now());
    CHECK(seen.params.code.reveal() == "493817");
    CHECK(h.sms->thread(0) != std::this_thread::get_id());

    const auto stats = h.sender->stats();
    CHECK(stats.sms.sent == 1);
    CHECK(stats.sms.failed == 0);
    CHECK(stats.sms.retried == 0);
    CHECK(stats.email.sent == 0);
}

TEST_CASE("dispatcher: transient failures are retried until one attempt succeeds, which "
          "delivers exactly once",
          "[delivery]") {
    harness h({failure(error::temporary_failure, "SMTP 451"), failure(error::connect_failed),
               failure(error::timeout), result<void>{}},
              fast_options(0));
    outcome done;
    REQUIRE(h.sender->async_send(code_email(), done.handler()));
    CHECK(pumped(done, *h.clock));
    CHECK(h.email->calls() == 4);
    // Nothing more happens, however long one waits.
    for (int i = 0; i < 20; ++i) {
        h.clock->advance(1min);
        std::this_thread::sleep_for(2ms);
    }
    CHECK(h.email->calls() == 4);
    CHECK(done.calls.load() == 1);
    // Every attempt carries the same id (Message-ID, Idempotency-Key).
    const auto seen = h.email->seen();
    CHECK(seen.at(0).id == seen.at(3).id);
    const auto stats = h.sender->stats();
    CHECK(stats.email.sent == 1);
    CHECK(stats.email.failed == 0);
    CHECK(stats.email.expired == 0);
    CHECK(stats.email.retried == 3);
    CHECK(stats.waiting == 0);
}

TEST_CASE("dispatcher: a retry waits for its backoff on the clock, and no worker waits with it",
          "[delivery]") {
    dispatch_options o = fast_options(0);
    o.threads = 1;
    o.retry.initial_backoff = 10s;
    o.retry.max_backoff = 10s;
    auto clock = std::make_shared<sspr::fakes::fake_clock>();
    auto random = std::make_shared<sspr::fakes::fake_random>();
    std::atomic<int> to_alice{0};
    std::atomic<int> to_bob{0};
    dispatcher::channels ch;
    ch.email = [&](const message& m) -> result<void> {
        if (m.destination == "alice@example.org") {
            return to_alice.fetch_add(1) == 0 ? result<void>(failure(error::connect_failed))
                                              : result<void>{};
        }
        to_bob.fetch_add(1);
        return {};
    };
    dispatcher d(o, std::move(ch), clock, random);
    outcome alice;
    outcome bob;
    REQUIRE(d.async_send(code_email("alice@example.org"), alice.handler()));
    settle();
    CHECK(to_alice.load() == 1);
    CHECK(d.stats().waiting == 1);
    // The only worker is free: bob's message goes out while alice's waits for its retry.
    REQUIRE(d.async_send(code_email("bob@example.org"), bob.handler()));
    CHECK(bob.get());
    CHECK(to_bob.load() == 1);
    // The jittered wait is at least half the 10 s ceiling: not yet after 4.9 s.
    clock->advance(4900ms);
    settle();
    CHECK(to_alice.load() == 1);
    clock->advance(5200ms); // past the ceiling
    CHECK(alice.get());
    CHECK(to_alice.load() == 2);
    CHECK(d.stats().email.sent == 2);
    CHECK(d.stats().email.retried == 1);
}

TEST_CASE("dispatcher: the first transient failure is told to on_deferred, once, before the "
          "outcome",
          "[delivery]") {
    harness h({failure(error::temporary_failure, "SMTP 451"), failure(error::connect_failed),
               result<void>{}},
              fast_options(0));
    auto told = std::make_shared<std::vector<error>>();
    auto told_mutex = std::make_shared<std::mutex>();
    message m = code_email();
    m.on_deferred = [told, told_mutex](const sspr::delivery::failure& f) {
        const std::lock_guard lock(*told_mutex);
        told->push_back(static_cast<error>(f.code.value()));
    };
    outcome done;
    const auto queued = h.sender->async_send(std::move(m), done.handler());
    REQUIRE(queued);
    CHECK(pumped(done, *h.clock));
    const std::lock_guard lock(*told_mutex);
    CHECK(*told == std::vector<error>{error::temporary_failure});
}

TEST_CASE("dispatcher: a code is retried until it expires, then dropped as expired", "[delivery]") {
    dispatch_options o = fast_options(0);
    o.retry.initial_backoff = 1s;
    o.retry.max_backoff = 8s;
    harness h({failure(error::connect_failed, "connection refused")}, o);
    message m = code_email();
    m.params.code_lifetime = 60s;
    std::atomic<int> deferred{0};
    m.on_deferred = [&deferred](const sspr::delivery::failure&) { deferred.fetch_add(1); };
    const auto sent_at = h.clock->steady_now();
    outcome done;
    const auto queued = h.sender->async_send(std::move(m), done.handler());
    REQUIRE(queued);
    const auto r = pumped(done, *h.clock, 100ms);
    CHECK(error_of(r) == error::expired);
    CHECK(r.error().diagnostic.find("connection refused") != std::string::npos);
    // Waits of 0.5-1, 1-2, 2-4, 4-8 s and then 4-8 s each: between 9 and 17 attempts in 60 s.
    CHECK(h.email->calls() >= 9);
    CHECK(h.email->calls() <= 17);
    CHECK(h.clock->steady_now() - sent_at >= 52s); // gave up only when the next wait passed 60 s
    CHECK(h.clock->steady_now() - sent_at < 62s);
    CHECK(deferred.load() == 1);
    const auto stats = h.sender->stats();
    CHECK(stats.email.expired == 1);
    CHECK(stats.email.failed == 0);
    CHECK(stats.email.sent == 0);
    CHECK(stats.email.retried == static_cast<std::uint64_t>(h.email->calls() - 1));
    CHECK(stats.waiting == 0);
}

TEST_CASE("dispatcher: a notice without a deadline is retried for notice_lifetime; a caller's "
          "deadline is kept",
          "[delivery]") {
    dispatch_options o = fast_options(0);
    o.retry.initial_backoff = 1s;
    o.retry.max_backoff = 1s;
    o.notice_lifetime = 10s;
    harness h({failure(error::temporary_failure)}, o);
    message notice = code_email();
    notice.kind = message_kind::password_changed;
    notice.params.code = {};
    notice.params.code_lifetime = 0s;
    outcome done;
    const auto start = h.clock->steady_now();
    const auto queued = h.sender->async_send(std::move(notice), done.handler());
    REQUIRE(queued);
    CHECK(error_of(pumped(done, *h.clock, 10ms)) == error::expired);
    CHECK(h.clock->steady_now() - start < 11s);
    CHECK(h.clock->steady_now() - start >= 9s);

    message code = code_email();
    code.deadline = h.clock->steady_now() + 3s; // tighter than its 600 s lifetime
    outcome second;
    const auto start2 = h.clock->steady_now();
    const auto queued2 = h.sender->async_send(std::move(code), second.handler());
    REQUIRE(queued2);
    CHECK(error_of(pumped(second, *h.clock, 10ms)) == error::expired);
    CHECK(h.clock->steady_now() - start2 < 4s);
}

TEST_CASE("dispatcher: a message whose deadline passed while it waited for a worker is not sent",
          "[delivery]") {
    dispatch_options o = fast_options();
    o.threads = 1;
    harness h({result<void>{}}, o);
    h.email->hold();
    outcome running;
    outcome late;
    REQUIRE(h.sender->async_send(code_email("alice@example.org"), running.handler()));
    REQUIRE(h.email->wait_calls(1)); // the only worker is busy
    message m = code_email("bob@example.org");
    m.params.code_lifetime = 60s;
    const auto queued = h.sender->async_send(std::move(m), late.handler());
    REQUIRE(queued);
    h.clock->advance(61s);
    h.email->release();
    CHECK(running.get());
    CHECK(error_of(late.get()) == error::expired);
    CHECK(h.email->calls() == 1);
    CHECK(h.sender->stats().email.expired == 1);
}

TEST_CASE("dispatcher: max_attempts bounds the attempts and the last failure is reported",
          "[delivery]") {
    harness h({failure(error::temporary_failure, "HTTP 503")}, fast_options(4));
    outcome done;
    REQUIRE(h.sender->async_send(code_email(), done.handler()));
    const auto r = pumped(done, *h.clock);
    CHECK(error_of(r) == error::temporary_failure);
    CHECK(r.error().diagnostic == "HTTP 503");
    CHECK(h.email->calls() == 4);
    const auto stats = h.sender->stats();
    CHECK(stats.email.sent == 0);
    CHECK(stats.email.failed == 1);
    CHECK(stats.email.retried == 3);
}

TEST_CASE("dispatcher: permanent failures and unknown outcomes are reported after one attempt",
          "[delivery]") {
    const auto e = GENERATE(error::rejected, error::auth_failed, error::tls_failure,
                            error::protocol_error, error::internal, error::outcome_unknown);
    harness h({failure(e, "diag"), result<void>{}}, fast_options(0));
    outcome done;
    REQUIRE(h.sender->async_send(code_email(), done.handler()));
    CHECK(error_of(done.get()) == e);
    // Not retried later either (an unknown outcome may have been delivered: never twice).
    for (int i = 0; i < 10; ++i) {
        h.clock->advance(1min);
        std::this_thread::sleep_for(2ms);
    }
    CHECK(h.email->calls() == 1);
    CHECK(h.sender->stats().email.retried == 0);
    CHECK(h.sender->stats().email.failed == 1);
}

TEST_CASE("dispatcher: a transport that throws gives error::internal, the worker lives on",
          "[delivery]") {
    auto clock = std::make_shared<sspr::fakes::fake_clock>();
    auto random = std::make_shared<sspr::fakes::fake_random>();
    dispatcher::channels ch;
    std::atomic<int> calls{0};
    ch.email = [&calls](const message&) -> result<void> {
        if (calls.fetch_add(1) == 0) {
            throw std::runtime_error("boom");
        }
        return {};
    };
    dispatch_options one = fast_options();
    one.threads = 1;
    dispatcher d(one, std::move(ch), clock, random);
    outcome first;
    outcome second;
    REQUIRE(d.async_send(code_email(), first.handler()));
    CHECK(error_of(first.get()) == error::internal);
    REQUIRE(d.async_send(code_email(), second.handler()));
    CHECK(second.get());
}

TEST_CASE("dispatcher: messages that cannot be sent are refused before anything is queued",
          "[delivery]") {
    harness h({result<void>{}}, fast_options(), /*with_sms=*/false);
    struct refusal {
        const char* what;
        message msg;
        error expected;
    };
    std::vector<refusal> cases;
    auto add = [&](const char* what, error e, auto&& change) {
        message m = code_email();
        change(m);
        cases.push_back({what, std::move(m), e});
    };
    add("no kind", error::invalid_message, [](message& m) { m.kind = message_kind::invalid; });
    add("no channel", error::invalid_message, [](message& m) { m.via = channel::invalid; });
    add("sms not configured", error::channel_disabled, [](message& m) {
        m.via = channel::sms;
        m.destination = "+821012345678";
    });
    add("bad address", error::invalid_destination,
        [](message& m) { m.destination = "alice@example.org\r\nRCPT TO:<x@y.org>"; });
    add("no code", error::invalid_message, [](message& m) { m.params.code = {}; });
    add("no lifetime", error::invalid_message, [](message& m) { m.params.code_lifetime = 0s; });
    add("no organisation", error::invalid_message, [](message& m) { m.params.organisation = ""; });
    add("contact_added without contact", error::invalid_message,
        [](message& m) { m.kind = message_kind::contact_added; });
    add("admin notice without account", error::invalid_message,
        [](message& m) { m.kind = message_kind::admin_password_reset; });
    add("id with a space", error::invalid_message, [](message& m) { m.id = "a b"; });
    add("id with CRLF", error::invalid_message, [](message& m) { m.id = "a\r\nX: y"; });

    for (auto& c : cases) {
        INFO(c.what);
        bool called = false;
        const auto r = h.sender->async_send(std::move(c.msg),
                                            [&called](const result<void>&) { called = true; });
        CHECK(error_of(r) == c.expected);
        CHECK_FALSE(called);
    }
    CHECK(error_of(h.sender->async_send(code_email(), nullptr)) == error::invalid_message);
    CHECK(h.email->calls() == 0);
    const auto stats = h.sender->stats();
    CHECK(stats.email.failed == 0);
    CHECK(stats.overloaded == 0);
}

TEST_CASE("dispatcher: notices need no code; a caller's id is kept", "[delivery]") {
    harness h({result<void>{}});
    message m = code_email();
    m.kind = message_kind::password_changed;
    m.params.code = {};
    m.params.code_lifetime = 0s;
    m.id = "reset-42.a_b";
    m.params.when = std::chrono::system_clock::time_point(1714555805s);
    outcome done;
    const auto queued = h.sender->async_send(std::move(m), done.handler());
    REQUIRE(queued);
    CHECK(done.get());
    CHECK(h.email->seen().at(0).id == "reset-42.a_b");
    CHECK(h.email->seen().at(0).params.when == std::chrono::system_clock::time_point(1714555805s));
}

TEST_CASE("dispatcher: a full queue refuses at once, counts, and loses nothing queued",
          "[delivery]") {
    dispatch_options o = fast_options();
    o.threads = 1;
    o.max_queued = 2; // the running message and one waiting
    harness h({result<void>{}}, o);
    h.email->hold();

    outcome running;
    outcome queued;
    REQUIRE(h.sender->async_send(code_email(), running.handler()));
    REQUIRE(h.email->wait_calls(1)); // the only worker is busy
    REQUIRE(h.sender->async_send(code_email(), queued.handler()));

    bool called = false;
    const auto start = std::chrono::steady_clock::now();
    const auto refused =
        h.sender->async_send(code_email(), [&called](const result<void>&) { called = true; });
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    CHECK(error_of(refused) == error::overloaded);
    CHECK(h.sender->stats().overloaded == 1);

    CHECK(h.sender->stats().waiting == 2);

    h.email->release();
    CHECK(running.get());
    CHECK(queued.get());
    CHECK_FALSE(called);
    CHECK(h.sender->stats().email.sent == 2);
    CHECK(h.sender->stats().waiting == 0);
    // Room again.
    outcome after;
    REQUIRE(h.sender->async_send(code_email(), after.handler()));
    CHECK(after.get());
}

TEST_CASE("dispatcher: messages waiting to be retried count against the bound", "[delivery]") {
    dispatch_options o = fast_options(0);
    o.max_queued = 1;
    o.retry.initial_backoff = 10s;
    o.retry.max_backoff = 10s;
    harness h({failure(error::connect_failed), result<void>{}}, o);
    outcome waiting;
    REQUIRE(h.sender->async_send(code_email(), waiting.handler()));
    REQUIRE(h.email->wait_calls(1));
    settle();
    CHECK(h.sender->stats().waiting == 1);
    CHECK(error_of(h.sender->async_send(code_email(), [](const result<void>&) {})) ==
          error::overloaded);
    CHECK(h.sender->stats().overloaded == 1);
    // The one held is not lost for the refusal: it goes out when due.
    CHECK(pumped(waiting, *h.clock, 100ms));
    CHECK(h.email->calls() == 2);
}

TEST_CASE("dispatcher: destruction ends a backoff wait and completes queued messages with "
          "error::stopping",
          "[delivery]") {
    dispatch_options o = fast_options();
    o.threads = 1;
    o.retry.initial_backoff = 60s;
    o.retry.max_backoff = 60s;
    auto h = std::make_unique<harness>(
        std::vector<result<void>>{failure(error::temporary_failure, "SMTP 451")}, o);
    outcome waiting;
    outcome queued;
    REQUIRE(h->sender->async_send(code_email(), waiting.handler()));
    REQUIRE(h->email->wait_calls(1));
    h->email->hold();
    REQUIRE(h->sender->async_send(code_email(), queued.handler())); // the worker is free
    REQUIRE(h->email->wait_calls(2));
    h->email->release(); // its 451 finds the dispatcher stopping, or sends it to wait as well

    sspr::testing::stderr_capture capture;
    const auto start = std::chrono::steady_clock::now();
    h->sender.reset();
    CHECK(std::chrono::steady_clock::now() - start < 5s);
    CHECK(error_of(waiting.get()) == error::stopping);
    CHECK(error_of(queued.get()) == error::stopping);
    CHECK(h->email->calls() == 2);
    const auto text = capture.text();
    CHECK(text.find("message not sent") != std::string::npos);
    CHECK(text.find("493817") == std::string::npos);
}

TEST_CASE("dispatcher: log lines hold neither the code nor the full destination", "[delivery]") {
    harness h({failure(error::temporary_failure, "SMTP 451: RCPT failed: 451"),
               failure(error::rejected, "SMTP 550: RCPT failed: 550")});
    sspr::testing::stderr_capture capture;
    outcome done;
    REQUIRE(h.sender->async_send(code_email("alice.secret@example.org"), done.handler()));
    CHECK(error_of(pumped(done, *h.clock)) == error::rejected);
    const auto text = capture.text();
    CHECK(text.find("delivery attempt failed; will retry") != std::string::npos);
    CHECK(text.find("message not sent") != std::string::npos);
    CHECK(text.find("a***@example.org") != std::string::npos);
    CHECK(text.find("SMTP 550") != std::string::npos);
    CHECK(text.find("493817") == std::string::npos);
    CHECK(text.find("alice.secret") == std::string::npos);
}

TEST_CASE("dispatcher: backoff doubles up to its cap", "[delivery]") {
    using sspr::delivery::backoff_before;
    sspr::delivery::retry_policy p;
    p.initial_backoff = 500ms;
    p.max_backoff = 4000ms;
    CHECK(backoff_before(1, p) == 0ms);
    CHECK(backoff_before(2, p) == 500ms);
    CHECK(backoff_before(3, p) == 1000ms);
    CHECK(backoff_before(4, p) == 2000ms);
    CHECK(backoff_before(5, p) == 4000ms);
    CHECK(backoff_before(6, p) == 4000ms);
    CHECK(backoff_before(4000000000U, p) == 4000ms);
}

TEST_CASE("dispatcher: the jittered wait lies in the upper half of its ceiling, never above the "
          "cap",
          "[delivery]") {
    using sspr::delivery::backoff_before;
    using sspr::delivery::jittered_backoff;
    sspr::delivery::retry_policy p;
    p.initial_backoff = 500ms;
    p.max_backoff = 30s;
    auto random = sspr::common::make_system_random();
    sspr::fakes::fake_random fake;
    std::set<std::int64_t> seen;
    for (unsigned attempt = 2; attempt < 40; ++attempt) {
        const auto ceiling = backoff_before(attempt, p);
        for (int i = 0; i < 50; ++i) {
            const auto w = jittered_backoff(attempt, p, i % 2 == 0 ? *random : fake);
            CHECK(w >= ceiling / 2);
            CHECK(w <= ceiling);
            CHECK(w <= p.max_backoff);
            if (attempt == 30) {
                seen.insert(w.count());
            }
        }
    }
    CHECK(seen.size() > 10); // it does spread
    CHECK(jittered_backoff(1, p, *random) == 0ms);
}

TEST_CASE("dispatcher: settings that cannot work are refused at construction", "[delivery]") {
    auto clock = std::make_shared<sspr::fakes::fake_clock>();
    auto random = std::make_shared<sspr::fakes::fake_random>();
    auto with = [](auto change) {
        dispatch_options o;
        change(o);
        return o;
    };
    CHECK_THROWS_AS(dispatcher(with([](auto& o) { o.threads = 0; }), {}, clock, random),
                    std::invalid_argument);
    CHECK_THROWS_AS(dispatcher(with([](auto& o) { o.max_queued = 0; }), {}, clock, random),
                    std::invalid_argument);
    CHECK_THROWS_AS(
        dispatcher(with([](auto& o) { o.retry.initial_backoff = 0ms; }), {}, clock, random),
        std::invalid_argument);
    CHECK_THROWS_AS(dispatcher(with([](auto& o) { o.tick = 0ms; }), {}, clock, random),
                    std::invalid_argument);
    CHECK_THROWS_AS(dispatcher(with([](auto& o) { o.retry.max_backoff = 1ms; }), {}, clock, random),
                    std::invalid_argument);
    CHECK_THROWS_AS(dispatcher(dispatch_options{}, {}, nullptr, random), std::invalid_argument);
    CHECK_NOTHROW(dispatcher(dispatch_options{}, {}, clock, random));
}

TEST_CASE("dispatcher: options_from takes the queue bound and the backoff cap from the config",
          "[delivery]") {
    sspr::config::delivery_config cfg;
    CHECK(sspr::delivery::options_from(cfg).max_queued == 1000);
    CHECK(sspr::delivery::options_from(cfg).retry.max_backoff == 30s);
    CHECK(sspr::delivery::options_from(cfg).retry.max_attempts == 0);
    cfg.max_queued = 7;
    cfg.retry_backoff_max = 2s;
    const auto o = sspr::delivery::options_from(cfg);
    CHECK(o.max_queued == 7);
    CHECK(o.retry.max_backoff == 2s);
    CHECK(o.retry.initial_backoff == 500ms);
}

TEST_CASE("make_sender: a channel that is not enabled answers channel_disabled", "[delivery]") {
    sspr::config::delivery_config cfg; // both channels off
    auto sender = sspr::delivery::make_sender(cfg, fast_options(),
                                              std::make_shared<sspr::fakes::fake_clock>(),
                                              std::make_shared<sspr::fakes::fake_random>());
    bool called = false;
    CHECK(error_of(sender->async_send(code_email(), [&called](const result<void>&) {
              called = true;
          })) == error::channel_disabled);
    CHECK_FALSE(called);
}

TEST_CASE("make_sender: an enabled channel with a bad configuration stops start-up", "[delivery]") {
    sspr::config::delivery_config cfg;
    cfg.sms.enabled = true;
    cfg.sms.url = "http://sms.example.org/";
    CHECK_THROWS_WITH(sspr::delivery::make_sender(cfg, fast_options(),
                                                  std::make_shared<sspr::fakes::fake_clock>(),
                                                  std::make_shared<sspr::fakes::fake_random>()),
                      "sms: url must be an https:// URL");
    sspr::config::delivery_config smtp;
    smtp.smtp.enabled = true;
    smtp.smtp.host = "mail.example.org";
    CHECK_THROWS_WITH(sspr::delivery::make_sender(smtp, fast_options(),
                                                  std::make_shared<sspr::fakes::fake_clock>(),
                                                  std::make_shared<sspr::fakes::fake_random>()),
                      "smtp: from must be an address or \"Name <address>\"");
}
