// The JSON API (gateway/api.hpp) over the real flows engine on the fakes of its seams, without
// sockets: requests go into app::handle and answers are caught from the responder. The shapes of
// the bodies, the statuses, the problems (with figures), the enrollment session (bearer and cookie,
// the cookie's Origin rule) and the health endpoints; and every problem code has its texts.
#include "gateway/api.hpp"

#include "common/random.hpp"
#include "config/holder.hpp"
#include "flows/engine.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_directory.hpp"
#include "tests/fakes/fake_sender.hpp"
#include "tests/fakes/fake_state_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

using namespace sspr;
using namespace sspr::gateway;

namespace {

constexpr std::string_view alice_dn = "uid=alice,ou=people,dc=example,dc=org";
constexpr std::string_view old_password = "Start-Pass-1!";
constexpr std::string_view new_password = "correct horse battery staple 42";

config::config test_config() {
    config::config c;
    // No response floor here: these tests are about behaviour, not timing.
    c.server.response_floor = std::chrono::milliseconds(0);
    c.server.response_jitter = std::chrono::milliseconds(0);
    c.server.public_url = "https://sspr.example.org";
    c.ui.organisation = "Example Corp";
    c.delivery.smtp.enabled = true;
    c.delivery.smtp.from = "sspr@example.org";
    c.methods.email.enabled = true;
    c.methods.totp.enabled = true;
    c.policy.scope = config::scope_mode::all;
    c.password.min_length = 10;
    return c;
}

std::shared_ptr<const i18n> messages() {
    static const auto m = std::make_shared<const i18n>(
        i18n::load(SSPR_MESSAGES_DIR, std::vector<std::string>{"en", "ko"}));
    return m;
}

struct reply {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<response> res;
};

struct harness {
    std::shared_ptr<fakes::fake_directory> directory = std::make_shared<fakes::fake_directory>();
    std::shared_ptr<fakes::fake_state_store> store = std::make_shared<fakes::fake_state_store>();
    std::shared_ptr<fakes::fake_sender> sender = std::make_shared<fakes::fake_sender>();
    std::shared_ptr<fakes::fake_clock> clock = std::make_shared<fakes::fake_clock>();
    std::unique_ptr<config::holder> holder;
    std::unique_ptr<flows::engine> engine;
    std::unique_ptr<app> application;
    // Last: its workers are joined first, while the engine and the app still exist.
    std::unique_ptr<common::blocking_pool> pool;

    harness() {
        ldap::user_entry alice;
        alice.dn = std::string(alice_dn);
        alice.login = "alice";
        alice.display_name = "Alice Example";
        directory->add_user(alice, std::string(old_password));
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
        d.random = common::make_system_random();
        d.hmac_key = common::secret(std::string(32, 'k'));
        engine = std::make_unique<flows::engine>(std::move(d));
        pool = std::make_unique<common::blocking_pool>(2, 16);
        application = std::make_unique<app>(messages(), app_settings_from(cfg));
        add_api_routes(*application, *engine, *pool);
    }

    ~harness() { pool.reset(); }
    harness(const harness&) = delete;
    harness& operator=(const harness&) = delete;

    void enrol_email(std::string address) {
        store::enrollment e;
        e.user_dn = std::string(alice_dn);
        e.emails.push_back({std::move(address), store::to_timestamp(clock->system_now())});
        REQUIRE(store->put_enrollment(e, store::to_timestamp(clock->system_now())));
    }

    response send(request req) {
        auto out = std::make_shared<reply>();
        exchange ex;
        req.prepare_payload();
        ex.req = std::move(req);
        ex.peer = boost::asio::ip::make_address("192.0.2.10");
        ex.request_id = "req-api";
        ex.received = std::chrono::steady_clock::now();
        ex.respond = responder(
            [out](response&& r, std::chrono::steady_clock::time_point) {
                const std::lock_guard lock(out->mutex);
                out->res = std::move(r);
                out->cv.notify_all();
            },
            response{http::status::internal_server_error, 11});
        application->handle(std::move(ex));
        std::unique_lock lock(out->mutex);
        REQUIRE(
            out->cv.wait_for(lock, std::chrono::seconds(10), [&] { return out->res.has_value(); }));
        return *out->res;
    }

    response post(std::string_view target, const boost::json::value& body,
                  std::string_view bearer = {}) {
        request req{http::verb::post, target, 11};
        req.set(http::field::content_type, "application/json");
        req.body() = boost::json::serialize(body);
        if (!bearer.empty()) {
            req.set(http::field::authorization, "Bearer " + std::string(bearer));
        }
        return send(std::move(req));
    }
};

boost::json::value json_of(const response& res) {
    return boost::json::parse(res.body());
}

std::string code_of(const response& res) {
    CHECK(res[http::field::content_type] == "application/problem+json");
    return std::string(json_of(res).at("code").as_string());
}

} // namespace

TEST_CASE("api: a reset by e-mail code, step by step over the JSON API", "[gateway]") {
    harness h;
    h.enrol_email("alice@example.org");

    response res = h.post("/api/v1/reset/start", {{"username", "alice"}});
    REQUIRE(res.result_int() == 200);
    auto body = json_of(res);
    const std::string flow(body.at("flow").as_string());
    CHECK(flow.size() == 22);
    CHECK(body.at("gates_required").as_int64() == 1);
    const auto& methods = body.at("methods").as_array();
    REQUIRE(methods.size() == 1);
    CHECK(methods[0].at("id").as_string() == "email-0");
    CHECK(methods[0].at("kind").as_string() == "email");
    CHECK(methods[0].at("hint").as_string().find("alice@") == boost::json::string::npos);

    res = h.post("/api/v1/reset/challenge", {{"flow", flow}, {"method", "email-0"}});
    CHECK(res.result_int() == 202);
    CHECK(res.body() == "{}");
    const std::string code = h.sender->last_code();
    REQUIRE(code.size() == 6);

    // Completing before the gate is passed is refused with its problem.
    res = h.post("/api/v1/reset/complete", {{"flow", flow}, {"new_password", new_password}});
    CHECK(res.result_int() == 403);
    CHECK(code_of(res) == "gates_missing");

    res = h.post("/api/v1/reset/verify", {{"flow", flow}, {"method", "email-0"}, {"code", code}});
    REQUIRE(res.result_int() == 200);
    CHECK(json_of(res).at("gates_passed").as_int64() == 1);
    CHECK(json_of(res).at("gates_required").as_int64() == 1);

    // The password rules' refusal carries its figure into the text and the params.
    res = h.post("/api/v1/reset/complete", {{"flow", flow}, {"new_password", "Zq7-tiny"}});
    CHECK(res.result_int() == 422);
    CHECK(code_of(res) == "password_too_short");
    CHECK(json_of(res).at("params").at("min").as_string() == "10");
    CHECK(std::string(json_of(res).at("detail").as_string()).find("10") != std::string::npos);
    CHECK(res.body().find("Zq7-tiny") == std::string::npos); // the password is never echoed

    res = h.post("/api/v1/reset/complete", {{"flow", flow}, {"new_password", new_password}});
    REQUIRE(res.result_int() == 200);
    CHECK(json_of(res).at("result").as_string() == "changed");
    CHECK(h.directory->password_of(std::string(alice_dn)) == new_password);

    // Single use.
    res =
        h.post("/api/v1/reset/complete", {{"flow", flow}, {"new_password", "another one 123456"}});
    CHECK(res.result_int() == 404);
    CHECK(code_of(res) == "flow_not_found");
}

TEST_CASE("api: bodies that are not what an endpoint takes are 400 naming the field", "[gateway]") {
    harness h;
    auto check = [&](std::string_view target, const boost::json::value& body, const char* field) {
        INFO(target << " " << boost::json::serialize(body));
        const response res = h.post(target, body);
        CHECK(res.result_int() == 400);
        CHECK(code_of(res) == "invalid_request");
        CHECK(json_of(res).at("params").at("field").as_string() == field);
    };
    check("/api/v1/reset/start", {{"username", 5}}, "username");
    check("/api/v1/reset/start", boost::json::object{}, "username");
    check("/api/v1/unlock/start", {{"username", "alice"}, {"user", "x"}}, "(unknown member)");
    check("/api/v1/reset/challenge", {{"flow", "f"}}, "method");
    // Exactly one of code and answers.
    check("/api/v1/reset/verify", {{"flow", "f"}, {"method", "email-0"}}, "code");
    check(
        "/api/v1/reset/verify",
        {{"flow", "f"}, {"method", "questions"}, {"code", "1"}, {"answers", boost::json::array{}}},
        "code");
    check("/api/v1/reset/verify",
          {{"flow", "f"}, {"method", "questions"}, {"answers", boost::json::array{{{"id", "a"}}}}},
          "answers");
    check("/api/v1/password/change", {{"username", "alice"}, {"current_password", "x"}},
          "new_password");
}

TEST_CASE("api: password change refusals are the flows' problems", "[gateway]") {
    harness h;
    response res = h.post("/api/v1/password/change", {{"username", "alice"},
                                                      {"current_password", "wrong-password"},
                                                      {"new_password", new_password}});
    CHECK(res.result_int() == 401);
    CHECK(code_of(res) == "credentials_invalid");
    CHECK(res.body().find("wrong-password") == std::string::npos);

    res = h.post("/api/v1/password/change", {{"username", "alice"},
                                             {"current_password", old_password},
                                             {"new_password", new_password}});
    CHECK(res.result_int() == 200);
    CHECK(json_of(res).at("result").as_string() == "changed");
}

TEST_CASE("api: the enrollment session by bearer token or cookie", "[gateway]") {
    harness h;
    response res =
        h.post("/api/v1/enroll/session", {{"username", "alice"}, {"password", old_password}});
    REQUIRE(res.result_int() == 200);
    const std::string token(json_of(res).at("token").as_string());
    REQUIRE_FALSE(token.empty());
    const auto expires = json_of(res).at("expires_in").as_int64();
    CHECK(expires > 0);
    CHECK(res[http::field::set_cookie] ==
          "ssprd_enroll=" + token +
              "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(expires));

    request list{http::verb::get, "/api/v1/enroll/methods", 11};
    list.set(http::field::authorization, "Bearer " + token);
    res = h.send(list);
    REQUIRE(res.result_int() == 200);
    auto view = json_of(res);
    CHECK(view.at("methods").as_array().empty());
    CHECK(view.at("required").as_int64() == 1);
    CHECK(view.at("complete").as_bool() == false);
    CHECK(view.at("allowed").as_array().size() == 2);

    // The same read with the cookie.
    request by_cookie{http::verb::get, "/api/v1/enroll/methods", 11};
    by_cookie.set(http::field::cookie, "ssprd_enroll=" + token);
    CHECK(h.send(by_cookie).result_int() == 200);

    // A state change with the cookie needs the gateway's own (or an allowed) Origin.
    request add{http::verb::post, "/api/v1/enroll/email", 11};
    add.set(http::field::content_type, "application/json");
    add.set(http::field::cookie, "ssprd_enroll=" + token);
    add.body() = R"({"address":"alice@example.org"})";
    res = h.send(add);
    CHECK(res.result_int() == 403);
    CHECK(code_of(res) == "origin_not_allowed");
    add.set(http::field::origin, "https://sspr.example.org");
    res = h.send(add);
    CHECK(res.result_int() == 202);
    const std::string code = h.sender->last_code();
    REQUIRE(code.size() == 6);

    res = h.post("/api/v1/enroll/email/verify", {{"address", "alice@example.org"}, {"code", code}},
                 token);
    CHECK(res.result_int() == 200);
    res = h.send(list);
    REQUIRE(res.result_int() == 200);
    view = json_of(res);
    REQUIRE(view.at("methods").as_array().size() == 1);
    const auto& m = view.at("methods").as_array()[0];
    CHECK(m.at("kind").as_string() == "email");
    CHECK(m.at("confirmed").as_bool());
    CHECK(m.at("confirmed_at").is_string());
    CHECK(view.at("complete").as_bool());

    // TOTP set-up with no body at all.
    request totp{http::verb::post, "/api/v1/enroll/totp", 11};
    totp.set(http::field::authorization, "Bearer " + token);
    res = h.send(totp);
    REQUIRE(res.result_int() == 200);
    CHECK(std::string(json_of(res).at("otpauth_uri").as_string()).rfind("otpauth://totp/", 0) == 0);
    CHECK(std::string(json_of(res).at("qr_svg").as_string()).find("<svg") != std::string::npos);

    request remove{http::verb::delete_, "/api/v1/enroll/methods/no-such-method", 11};
    remove.set(http::field::authorization, "Bearer " + token);
    res = h.send(remove);
    CHECK(res.result_int() == 404);
    CHECK(code_of(res) == "method_not_found");
    remove.target("/api/v1/enroll/methods/" + std::string(m.at("id").as_string()));
    res = h.send(remove);
    CHECK(res.result_int() == 204);
    CHECK(res.body().empty());

    // No session at all, or an unknown token.
    request none{http::verb::get, "/api/v1/enroll/methods", 11};
    res = h.send(none);
    CHECK(res.result_int() == 401);
    CHECK(code_of(res) == "session_invalid");
    none.set(http::field::authorization, "Bearer AAAAAAAAAAAAAAAAAAAAAA");
    CHECK(h.send(none).result_int() == 401);
}

TEST_CASE("api: health and readiness", "[gateway]") {
    harness h;
    response res = h.send(request{http::verb::get, "/healthz", 11});
    CHECK(res.result_int() == 200);
    CHECK(res.body() == R"({"status":"ok"})");
    res = h.send(request{http::verb::get, "/readyz", 11});
    CHECK(res.result_int() == 200);
    CHECK(json_of(res).at("directory").as_string() == "ok");
    CHECK(json_of(res).at("store").as_string() == "ok");

    h.directory->fail_with(ldap::error::server_down);
    res = h.send(request{http::verb::get, "/readyz", 11});
    CHECK(res.result_int() == 503);
    CHECK(json_of(res).at("directory").as_string() == "unavailable");
    CHECK(json_of(res).at("store").as_string() == "ok");
    CHECK(res[http::field::retry_after] == "5");
    h.directory->fail_with(std::nullopt);

    // The store is asked with a write: a full disk is told apart from an outage.
    h.store->fail_with(store::error::disk_full);
    res = h.send(request{http::verb::get, "/readyz", 11});
    CHECK(res.result_int() == 503);
    CHECK(json_of(res).at("directory").as_string() == "ok");
    CHECK(json_of(res).at("store").as_string() == "full");
    h.store->fail_with(store::error::unavailable);
    res = h.send(request{http::verb::get, "/readyz", 11});
    CHECK(res.result_int() == 503);
    CHECK(json_of(res).at("store").as_string() == "unavailable");
    h.store->fail_with(std::nullopt);
    res = h.send(request{http::verb::get, "/readyz", 11});
    CHECK(res.result_int() == 200);
    CHECK(json_of(res).at("store").as_string() == "ok");
}

TEST_CASE("api: flows failures map to code, status, Retry-After and figures", "[gateway]") {
    flows::failure f(flows::problem::throttled, std::chrono::seconds(900));
    problem_info p = problem_from(f);
    CHECK(p.code == "throttled");
    CHECK(p.status == 429);
    CHECK(p.retry_after == std::chrono::seconds(900));
    f = flows::failure(flows::problem::password_too_long);
    f.params = {{"max", "64"}};
    p = problem_from(f);
    CHECK(p.status == 422);
    CHECK(p.params.at("max") == "64");
    // A failure without a problem is a bug: 500, not an empty code.
    p = problem_from(flows::failure{});
    CHECK(p.status == 500);
    CHECK(p.code == "internal_error");
}

TEST_CASE("api: every flows problem and gateway code has a title and a detail", "[gateway]") {
    const auto m = messages();
    for (int i = static_cast<int>(flows::problem::invalid_request);
         i <= static_cast<int>(flows::problem::internal_error); ++i) {
        const std::string code(flows::to_string(static_cast<flows::problem>(i)));
        INFO(code);
        REQUIRE(code != "invalid");
        CHECK(m->has("problem." + code));
        CHECK(m->has("problem_title." + code));
    }
    for (const auto code : gateway_problem_codes) {
        INFO(code);
        CHECK(m->has("problem." + std::string(code)));
        CHECK(m->has("problem_title." + std::string(code)));
    }
}
