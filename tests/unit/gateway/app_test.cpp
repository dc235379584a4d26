// The HTTP application (gateway/app.hpp) without sockets: requests go straight into app::handle
// and the answer is caught from the responder. Routing (404/405), the JSON content type and body,
// origins and CORS, credentials, language, client address, and the worker pool's refusal.
#include "gateway/app.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

using namespace sspr::gateway;

namespace {

/// What a responder received.
struct answer {
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<response> res;
    std::chrono::steady_clock::time_point not_before{};

    response wait() {
        std::unique_lock lock(mutex);
        REQUIRE(cv.wait_for(lock, std::chrono::seconds(5), [this] { return res.has_value(); }));
        return *res;
    }
};

std::shared_ptr<const i18n> messages() {
    static const auto m = std::make_shared<const i18n>(
        i18n::load(SSPR_MESSAGES_DIR, std::vector<std::string>{"en", "ko"}));
    return m;
}

app_settings settings() {
    app_settings s;
    s.public_url = "https://sspr.example.org";
    s.allowed_origins = {"https://intranet.example.org"};
    s.trusted_proxies = {"10.0.0.0/8"};
    return s;
}

struct fixture {
    app a{messages(), settings()};
    std::shared_ptr<call> last; // the call the echo route saw

    fixture() {
        a.add(http::verb::post, "/api/v1/echo", [this](const std::shared_ptr<call>& c) {
            last = c;
            c->json(http::status::ok, c->body());
        });
        a.add(http::verb::get, "/api/v1/echo", [this](const std::shared_ptr<call>& c) {
            last = c;
            c->json(http::status::ok, boost::json::object{{"ok", true}});
        });
        a.add(http::verb::delete_, "/api/v1/items/{id}", [this](const std::shared_ptr<call>& c) {
            last = c;
            c->respond(response{http::status::no_content, 11});
        });
        a.add(
            http::verb::post, "/api/v1/optional",
            [](const std::shared_ptr<call>& c) { c->json(http::status::ok, c->body()); },
            route_options{true, true});
        a.add(http::verb::post, "/api/v1/forgets", [](const std::shared_ptr<call>&) {});
        a.add(http::verb::post, "/api/v1/throws",
              [](const std::shared_ptr<call>&) { throw std::runtime_error("boom"); });
    }

    response send(request req, const char* peer = "192.0.2.10",
                  transport_problem problem = transport_problem::none) {
        auto out = std::make_shared<answer>();
        exchange ex;
        ex.req = std::move(req);
        ex.req.prepare_payload();
        ex.problem = problem;
        ex.peer = boost::asio::ip::make_address(peer);
        ex.request_id = "test-request-id";
        ex.received = std::chrono::steady_clock::now();
        ex.respond = responder(
            [out](response&& r, std::chrono::steady_clock::time_point at) {
                const std::lock_guard lock(out->mutex);
                out->res = std::move(r);
                out->not_before = at;
                out->cv.notify_all();
            },
            response{http::status::internal_server_error, 11});
        a.handle(std::move(ex));
        return out->wait();
    }
};

request make(http::verb method, std::string_view target, std::string body = {},
             std::string_view content_type = "application/json") {
    request req{method, target, 11};
    if (!content_type.empty()) {
        req.set(http::field::content_type, content_type);
    }
    req.body() = std::move(body);
    return req;
}

std::string code_of(const response& res) {
    REQUIRE(res[http::field::content_type] == "application/problem+json");
    return std::string(boost::json::parse(res.body()).at("code").as_string());
}

} // namespace

TEST_CASE("app: a JSON body reaches the route as an object", "[gateway]") {
    fixture f;
    const response res = f.send(make(http::verb::post, "/api/v1/echo", R"({"a":"b"})"));
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::content_type] == "application/json");
    CHECK(boost::json::parse(res.body()).at("a").as_string() == "b");
    CHECK(res[http::field::vary] == "Origin");
}

TEST_CASE("app: unknown path 404, wrong method 405 with Allow", "[gateway]") {
    fixture f;
    response res = f.send(make(http::verb::get, "/api/v1/nothing"));
    CHECK(res.result_int() == 404);
    CHECK(code_of(res) == "not_found");

    res = f.send(make(http::verb::put, "/api/v1/echo", "{}"));
    CHECK(res.result_int() == 405);
    CHECK(code_of(res) == "method_not_allowed");
    CHECK(res[http::field::allow] == "POST, GET");

    res = f.send(make(http::verb::get, "*"));
    CHECK(res.result_int() == 400);
}

TEST_CASE("app: POST without application/json is 415, malformed JSON 400", "[gateway]") {
    fixture f;
    response res = f.send(make(http::verb::post, "/api/v1/echo", R"({"a":1})", ""));
    CHECK(res.result_int() == 415);
    CHECK(code_of(res) == "unsupported_media_type");
    res = f.send(
        make(http::verb::post, "/api/v1/echo", "username=a", "application/x-www-form-urlencoded"));
    CHECK(res.result_int() == 415);
    res = f.send(make(http::verb::post, "/api/v1/echo", R"({"a":)"));
    CHECK(res.result_int() == 400);
    CHECK(code_of(res) == "invalid_request");
    res = f.send(make(http::verb::post, "/api/v1/echo", R"([1])"));
    CHECK(res.result_int() == 400);
    res = f.send(make(http::verb::post, "/api/v1/echo", ""));
    CHECK(res.result_int() == 400);
    // A route whose fields are all optional takes an empty body without a type.
    res = f.send(make(http::verb::post, "/api/v1/optional", "", ""));
    CHECK(res.result_int() == 200);
    CHECK(res.body() == "{}");
    // GET ignores the body and its type.
    res = f.send(make(http::verb::get, "/api/v1/echo", "junk", "text/plain"));
    CHECK(res.result_int() == 200);
}

TEST_CASE("app: transport problems become 413 and 400 problems", "[gateway]") {
    fixture f;
    response res = f.send(make(http::verb::post, "/api/v1/echo"), "192.0.2.10",
                          transport_problem::payload_too_large);
    CHECK(res.result_int() == 413);
    CHECK(code_of(res) == "payload_too_large");
    res = f.send(request{}, "192.0.2.10", transport_problem::bad_request);
    CHECK(res.result_int() == 400);
    CHECK(code_of(res) == "invalid_request");
}

TEST_CASE("app: a state change from a foreign origin is refused", "[gateway]") {
    fixture f;
    request req = make(http::verb::post, "/api/v1/echo", "{}");
    req.set(http::field::origin, "https://evil.example.com");
    response res = f.send(req);
    CHECK(res.result_int() == 403);
    CHECK(code_of(res) == "origin_not_allowed");
    CHECK(res.count(http::field::access_control_allow_origin) == 0);

    req.set(http::field::origin, "null");
    CHECK(f.send(req).result_int() == 403);

    // The own origin and an allowed one pass; only the allowed one gets a CORS grant.
    req.set(http::field::origin, "https://sspr.example.org");
    res = f.send(req);
    CHECK(res.result_int() == 200);
    CHECK(res.count(http::field::access_control_allow_origin) == 0);
    req.set(http::field::origin, "https://intranet.example.org");
    res = f.send(req);
    CHECK(res.result_int() == 200);
    CHECK(res[http::field::access_control_allow_origin] == "https://intranet.example.org");

    // A GET from elsewhere is answered, without a grant: the browser keeps it from the page.
    request get = make(http::verb::get, "/api/v1/echo");
    get.set(http::field::origin, "https://evil.example.com");
    res = f.send(get);
    CHECK(res.result_int() == 200);
    CHECK(res.count(http::field::access_control_allow_origin) == 0);
}

TEST_CASE("app: preflights are answered for allowed origins only", "[gateway]") {
    fixture f;
    request pre = make(http::verb::options, "/api/v1/echo", "", "");
    pre.set(http::field::origin, "https://intranet.example.org");
    pre.set(http::field::access_control_request_method, "POST");
    pre.set(http::field::access_control_request_headers, "content-type");
    response res = f.send(pre);
    CHECK(res.result_int() == 204);
    CHECK(res[http::field::access_control_allow_origin] == "https://intranet.example.org");
    CHECK(res[http::field::access_control_allow_methods] == "POST, GET");
    CHECK(std::string(res[http::field::access_control_allow_headers]).find("Content-Type") !=
          std::string::npos);

    pre.set(http::field::origin, "https://evil.example.com");
    res = f.send(pre);
    CHECK(res.result_int() == 403);
    CHECK(res.count(http::field::access_control_allow_origin) == 0);

    request unknown = pre;
    unknown.target("/api/v1/nothing");
    CHECK(f.send(unknown).result_int() == 404);

    // A plain OPTIONS says what the path takes.
    res = f.send(make(http::verb::options, "/api/v1/items/7", "", ""));
    CHECK(res.result_int() == 204);
    CHECK(res[http::field::allow] == "DELETE, OPTIONS");
}

TEST_CASE("app: the bearer token wins over the cookie; the cookie is found among others",
          "[gateway]") {
    fixture f;
    request req = make(http::verb::get, "/api/v1/echo");
    req.set(http::field::cookie, "theme=dark; ssprd_enroll=cookie-token; other=1");
    f.send(req);
    auto cred = f.last->session_credential();
    REQUIRE(cred);
    CHECK(cred->token.reveal() == "cookie-token");
    CHECK(cred->from_cookie);

    req.set(http::field::authorization, "bearer header-token");
    f.send(req);
    cred = f.last->session_credential();
    REQUIRE(cred);
    CHECK(cred->token.reveal() == "header-token");
    CHECK_FALSE(cred->from_cookie);

    f.send(make(http::verb::get, "/api/v1/echo"));
    CHECK_FALSE(f.last->session_credential());
    request basic = make(http::verb::get, "/api/v1/echo");
    basic.set(http::field::authorization, "Basic YTpi");
    basic.set(http::field::cookie, "ssprd_enroll_x=1; xssprd_enroll=2");
    f.send(basic);
    CHECK_FALSE(f.last->session_credential());
}

TEST_CASE("app: language, client address and request id reach the route", "[gateway]") {
    fixture f;
    request req = make(http::verb::get, "/api/v1/echo");
    req.set(http::field::accept_language, "ko-KR,ko;q=0.9,en;q=0.5");
    req.set("X-Forwarded-For", "1.1.1.1, 198.51.100.7");
    f.send(req, "10.1.2.3");
    CHECK(f.last->info().language == "ko");
    CHECK(f.last->info().client_ip == "198.51.100.7");
    CHECK(f.last->info().request_id == "test-request-id");

    // From an untrusted peer the header is ignored.
    f.send(req, "192.0.2.99");
    CHECK(f.last->info().client_ip == "192.0.2.99");

    // Problems come in the negotiated language.
    request missing = make(http::verb::get, "/nope");
    missing.set(http::field::accept_language, "ko");
    const response res = f.send(missing);
    CHECK(res[http::field::content_language] == "ko");
    CHECK(boost::json::parse(res.body()).at("detail").as_string() ==
          messages()->text("ko", "problem.not_found"));
}

TEST_CASE("app: path captures are decoded", "[gateway]") {
    fixture f;
    const response res = f.send(make(http::verb::delete_, "/api/v1/items/email%2D0", "", ""));
    CHECK(res.result_int() == 204);
    CHECK(f.last->params() == std::vector<std::string>{"email-0"});
}

TEST_CASE("app: a route that throws or forgets to answer gives 500", "[gateway]") {
    fixture f;
    response res = f.send(make(http::verb::post, "/api/v1/throws", "{}"));
    CHECK(res.result_int() == 500);
    CHECK(code_of(res) == "internal_error");
    res = f.send(make(http::verb::post, "/api/v1/forgets", "{}"));
    CHECK(res.result_int() == 500);
    CHECK(code_of(res) == "internal_error");
}

TEST_CASE("app: offload answers 503 at once when the pool is full", "[gateway]") {
    std::mutex gate_mutex;
    std::condition_variable gate_cv;
    bool open = false;
    std::atomic<int> ran{0};
    fixture f;
    // Declared last: destroyed (its workers joined) before what its jobs use.
    sspr::common::blocking_pool pool(1, 1);
    f.a.add(http::verb::post, "/api/v1/slow", [&](const std::shared_ptr<call>& c) {
        offload(pool, c, [&](call& work) {
            std::unique_lock lock(gate_mutex);
            gate_cv.wait(lock, [&] { return open; });
            ++ran;
            work.json(http::status::ok, boost::json::object{});
        });
    });

    // One job runs (blocked), one waits in the queue; the third finds the pool full.
    std::vector<std::shared_ptr<answer>> outs;
    for (int i = 0; i < 3; ++i) {
        auto out = std::make_shared<answer>();
        exchange ex;
        ex.req = make(http::verb::post, "/api/v1/slow", "{}");
        ex.peer = boost::asio::ip::make_address("192.0.2.1");
        ex.request_id = "r" + std::to_string(i);
        ex.respond = responder(
            [out](response&& r, std::chrono::steady_clock::time_point) {
                const std::lock_guard lock(out->mutex);
                out->res = std::move(r);
                out->cv.notify_all();
            },
            response{http::status::internal_server_error, 11});
        f.a.handle(std::move(ex));
        outs.push_back(out);
        if (i == 0) {
            // Let the worker take the first job, so the queue holds exactly the second.
            for (int k = 0; k < 200 && pool.queued() != 0; ++k) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
        }
    }
    const response refused = outs[2]->wait();
    CHECK(refused.result_int() == 503);
    CHECK(refused[http::field::retry_after] == "1");
    CHECK(code_of(refused) == "overloaded");
    CHECK(ran.load() == 0);

    {
        const std::lock_guard lock(gate_mutex);
        open = true;
    }
    gate_cv.notify_all();
    CHECK(outs[0]->wait().result_int() == 200);
    CHECK(outs[1]->wait().result_int() == 200);
}
