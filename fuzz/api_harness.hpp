// The API behind the fuzz harnesses that send requests (http_request.cpp, json_endpoint.cpp): every
// API route of the app over the real flows engine on the fakes of its seams (directory with alice,
// store with her e-mail address enrolled, a sender that keeps the codes, a clock that stands still,
// a random that repeats 0x00 0x01 ...), made afresh for each input, so tokens and codes are the
// same on every run and a seed can carry a whole reset (start, challenge, verify, complete).
//
// check() holds the invariants of every answer:
//   - exactly one response comes (within 10 s), with a status of 200..599;
//   - a request the parser read whole never gets a 5xx other than 503 (the pool is never full
//     here, so in fact none); one it could not read gets 400 or 413;
//   - every error (4xx, 5xx) is application/problem+json whose body is a JSON object with a
//     string "code" and the numeric "status" of the response;
//   - a password from the request (new_password, current_password, password) is never echoed.
// A broken invariant prints what broke and aborts (the fuzzer's crash).
#pragma once

#include "common/blocking_pool.hpp"
#include "common/log.hpp"
#include "config/holder.hpp"
#include "flows/engine.hpp"
#include "gateway/api.hpp"
#include "gateway/app.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_directory.hpp"
#include "tests/fakes/fake_random.hpp"
#include "tests/fakes/fake_sender.hpp"
#include "tests/fakes/fake_state_store.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/json/parse.hpp>
#include <openssl/crypto.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::fuzz {

using namespace sspr::gateway;

inline constexpr std::string_view alice_dn = "uid=alice,ou=people,dc=example,dc=org";

[[noreturn]] inline void broken(const char* what, int status) {
    (void)std::fprintf(stderr, "fuzz: invariant broken: %s (status %d)\n", what, status);
    std::abort();
}

inline config::config test_config() {
    config::config c;
    c.server.response_floor = std::chrono::milliseconds(0);
    c.server.response_jitter = std::chrono::milliseconds(0);
    c.server.public_url = "https://sspr.example.org";
    c.server.allowed_origins = {"https://intranet.example.org"};
    c.ui.organisation = "Example Corp";
    c.delivery.smtp.enabled = true;
    c.delivery.smtp.from = "sspr@example.org";
    c.methods.email.enabled = true;
    c.methods.totp.enabled = true;
    c.policy.scope = config::scope_mode::all;
    c.password.min_length = 10;
    return c;
}

inline std::shared_ptr<const i18n> messages() {
    static const auto m = std::make_shared<const i18n>(
        i18n::load(SSPR_MESSAGES_DIR, std::vector<std::string>{"en", "ko"}));
    return m;
}

/// One worker for every input: starting and joining a thread per input would cost more than the
/// input itself.
inline common::blocking_pool& shared_pool() {
    static common::blocking_pool p(1, 16);
    return p;
}

struct reply {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<response> res;
    int count = 0;
};

struct harness {
    std::shared_ptr<fakes::fake_directory> directory = std::make_shared<fakes::fake_directory>();
    std::shared_ptr<fakes::fake_state_store> store = std::make_shared<fakes::fake_state_store>();
    std::shared_ptr<fakes::fake_sender> sender = std::make_shared<fakes::fake_sender>();
    std::shared_ptr<fakes::fake_clock> clock = std::make_shared<fakes::fake_clock>();
    std::unique_ptr<config::holder> holder;
    std::unique_ptr<flows::engine> engine;
    std::unique_ptr<app> application;
    common::blocking_pool& pool = shared_pool();

    harness() {
        // The access log line of every request would be most of the run's time and output.
        common::set_log_level(common::log_level::warning);
        ldap::user_entry alice;
        alice.dn = std::string(alice_dn);
        alice.login = "alice";
        alice.display_name = "Alice Example";
        alice.mail = {"alice@example.org"};
        directory->add_user(alice, "Start-Pass-1!");
        store::enrollment e;
        e.user_dn = std::string(alice_dn);
        e.emails.push_back({"alice@example.org", store::to_timestamp(clock->system_now())});
        if (!store->put_enrollment(e, store::to_timestamp(clock->system_now()))) {
            broken("enrollment not stored", 0);
        }
        const config::config cfg = test_config();
        holder = std::make_unique<config::holder>(cfg, [cfg] {
            return config::load_result(config::loaded_config{cfg, {}});
        });
        flows::dependencies d;
        d.config = holder.get();
        d.directory = directory;
        d.store = store;
        d.sender = sender;
        d.clock = clock;
        d.random = std::make_shared<fakes::fake_random>();
        d.hmac_key = common::secret(std::string(32, 'k'));
        engine = std::make_unique<flows::engine>(std::move(d));
        application = std::make_unique<app>(messages(), app_settings_from(cfg));
        add_api_routes(*application, *engine, pool);
    }
    /// Waits until the pool's worker has finished every job of this input (one worker, jobs in
    /// order: the last job that has run comes after them all) before the engine goes. That job
    /// also frees the worker's OpenSSL thread state, which OpenSSL frees only when a thread ends:
    /// the worker outlives every input, and LeakSanitizer would report it at exit.
    ~harness() {
        auto done = std::make_shared<reply>();
        const bool posted = pool.try_post([done] {
            OPENSSL_thread_stop();
            const std::lock_guard lock(done->mutex);
            ++done->count;
            done->cv.notify_all();
        });
        if (!posted) {
            std::abort();
        }
        std::unique_lock lock(done->mutex);
        done->cv.wait(lock, [&] { return done->count == 1; });
    }
    harness(const harness&) = delete;
    harness& operator=(const harness&) = delete;

    response send(request req, transport_problem problem) {
        auto out = std::make_shared<reply>();
        exchange ex;
        ex.req = std::move(req);
        ex.problem = problem;
        ex.peer = boost::asio::ip::make_address("192.0.2.10");
        ex.request_id = "req-fuzz";
        ex.received = std::chrono::steady_clock::now();
        ex.respond = responder(
            [out](response&& r, std::chrono::steady_clock::time_point) {
                const std::lock_guard lock(out->mutex);
                ++out->count;
                out->res = std::move(r);
                out->cv.notify_all();
            },
            response{http::status::internal_server_error, 11});
        application->handle(std::move(ex));
        std::unique_lock lock(out->mutex);
        if (!out->cv.wait_for(lock, std::chrono::seconds(10),
                              [&] { return out->res.has_value(); })) {
            broken("no response within 10 s", 0);
        }
        if (out->count != 1) {
            broken("more than one response delivered", static_cast<int>(out->res->result_int()));
        }
        if (std::getenv("SSPR_FUZZ_TRACE") != nullptr) { // for writing seeds: what came back
            (void)std::fprintf(stderr, "trace: %d %s\n", out->res->result_int(),
                               out->res->body().c_str());
        }
        return std::move(*out->res);
    }
};

/// The passwords the request carries (top-level string members of a JSON object body).
inline std::vector<std::string> passwords_in(const request& req) {
    std::vector<std::string> out;
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(req.body(), ec);
    if (ec || !v.is_object()) {
        return out;
    }
    for (const char* name : {"new_password", "current_password", "password"}) {
        const auto* s = v.as_object().if_contains(name);
        // Short ones could be any word of a response ("en", "flow"); 8 bytes and more cannot
        // occur in one by chance unless the fuzzer copies a response's text into the request.
        if (s != nullptr && s->is_string() && s->as_string().size() >= 12) {
            out.emplace_back(s->as_string());
        }
    }
    return out;
}

inline void check(const request& req, const response& res, transport_problem problem) {
    const int status = static_cast<int>(res.result_int());
    if (status < 200 || status > 599) {
        broken("status out of range", status);
    }
    if (problem == transport_problem::payload_too_large && status != 413) {
        broken("body over the limit not answered 413", status);
    }
    if (problem == transport_problem::bad_request && status != 400) {
        broken("unreadable request not answered 400", status);
    }
    if (problem == transport_problem::none && status >= 500 && status != 503) {
        broken("5xx other than 503 for a request that parsed", status);
    }
    if (res[http::field::content_type] == "application/problem+json") {
        boost::system::error_code ec;
        const boost::json::value v = boost::json::parse(res.body(), ec);
        if (ec || !v.is_object()) {
            broken("problem body is not a JSON object", status);
        }
        const auto* code = v.as_object().if_contains("code");
        const auto* st = v.as_object().if_contains("status");
        if (code == nullptr || !code->is_string() || code->as_string().empty()) {
            broken("problem body without a code", status);
        }
        if (st == nullptr || !st->is_number() || st->to_number<std::int64_t>() != status) {
            broken("problem body's status differs from the response's", status);
        }
    } else if (status >= 400) {
        broken("error answered without a problem body", status);
    }
    for (const auto& pw : passwords_in(req)) {
        if (res.body().find(pw) != std::string::npos) {
            broken("a password from the request is in the response", status);
        }
    }
}

} // namespace sspr::fuzz
