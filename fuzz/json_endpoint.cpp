// Fuzzes the JSON body of each endpoint. The input's first byte picks the endpoint (modulo the
// list below), the rest is the body. The harness first makes what the endpoint needs with real
// requests (a flow at the right step; an enrollment session), then substitutes in the body "$flow"
// with that flow's token, "$code" with the last code sent and "$token" with the session token,
// and sends it as application/json. Tokens and codes are the same on every run (api_harness.hpp),
// so the fuzzer keeps what it finds with them.
//
// Invariants: the answer's (api_harness.hpp, check()); and for the body alone: parse_object gives
// only objects that Boost.JSON's own parser also accepts, and field_reader's getters give values
// within their limits (1..max bytes, no NUL), or a problem that is a 400 invalid_request.
#include "fuzz/api_harness.hpp"

#include "gateway/json_body.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace sspr;
using namespace sspr::gateway;
using sspr::fuzz::broken;
using sspr::fuzz::harness;

namespace {

enum class needs { nothing, flow, challenged, verified, session, email_code };

struct endpoint {
    http::verb method;
    std::string_view target;
    needs setup;
};

constexpr std::array endpoints{
    endpoint{http::verb::post, "/api/v1/reset/start", needs::nothing},
    endpoint{http::verb::post, "/api/v1/reset/challenge", needs::flow},
    endpoint{http::verb::post, "/api/v1/reset/verify", needs::challenged},
    endpoint{http::verb::post, "/api/v1/reset/complete", needs::verified},
    endpoint{http::verb::post, "/api/v1/unlock/start", needs::nothing},
    endpoint{http::verb::post, "/api/v1/unlock/challenge", needs::flow},
    endpoint{http::verb::post, "/api/v1/unlock/verify", needs::challenged},
    endpoint{http::verb::post, "/api/v1/unlock/complete", needs::verified},
    endpoint{http::verb::post, "/api/v1/password/change", needs::nothing},
    endpoint{http::verb::post, "/api/v1/enroll/session", needs::nothing},
    endpoint{http::verb::post, "/api/v1/enroll/email", needs::session},
    endpoint{http::verb::post, "/api/v1/enroll/email/verify", needs::email_code},
    endpoint{http::verb::post, "/api/v1/enroll/sms", needs::session},
    endpoint{http::verb::post, "/api/v1/enroll/sms/verify", needs::session},
    endpoint{http::verb::post, "/api/v1/enroll/totp", needs::session},
    endpoint{http::verb::post, "/api/v1/enroll/totp/verify", needs::session},
    endpoint{http::verb::put, "/api/v1/enroll/questions", needs::session},
};

request json_request(http::verb method, std::string_view target, std::string body,
                     std::string_view bearer) {
    request req{method, target, 11};
    req.set(http::field::content_type, "application/json");
    if (!bearer.empty()) {
        req.set(http::field::authorization, "Bearer " + std::string(bearer));
    }
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
}

/// A setup step that must work: its answer's JSON.
boost::json::value must(harness& h, http::verb method, std::string_view target,
                        const boost::json::object& body, std::string_view bearer = {}) {
    const response res = h.send(json_request(method, target, boost::json::serialize(body), bearer),
                                transport_problem::none);
    if (res.result_int() >= 300) {
        broken("a setup step failed", static_cast<int>(res.result_int()));
    }
    return res.body().empty() ? boost::json::value(boost::json::object())
                              : boost::json::parse(res.body());
}

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (std::size_t at = s.find(from); at != std::string::npos;
         at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
}

void check_fields(std::string_view body) {
    const auto parsed = parse_object(body, make_wiping_storage());
    if (!parsed) {
        return;
    }
    if (!parsed->is_object()) {
        broken("parse_object gave a value that is not an object", 0);
    }
    boost::system::error_code ec;
    const boost::json::value plain = boost::json::parse(body, ec);
    if (ec || plain != *parsed) {
        broken("parse_object accepted what Boost.JSON parses otherwise", 0);
    }
    field_reader r(parsed->as_object());
    const std::string text = r.text("username", 64);
    if (r.ok() && (text.empty() || text.size() > 64 || text.find('\0') != std::string::npos)) {
        broken("text() gave a value outside its limits", 0);
    }
    const common::secret secret = r.secret("new_password", 128);
    if (r.ok() && (secret.reveal().empty() || secret.reveal().size() > 128 ||
                   secret.reveal().find('\0') != std::string_view::npos)) {
        broken("secret() gave a value outside its limits", 0);
    }
    const auto optional = r.optional_text("method", 16);
    if (r.ok() && optional && (optional->empty() || optional->size() > 16)) {
        broken("optional_text() gave a value outside its limits", 0);
    }
    const auto* array = r.array("answers", 8);
    if (r.ok() && (array == nullptr || array->empty() || array->size() > 8)) {
        broken("array() gave a value outside its limits", 0);
    }
    r.only({"username", "new_password", "method", "answers"});
    if (!r.ok()) {
        const problem_info p = r.problem();
        if (p.status != 400 || p.code != "invalid_request") {
            broken("field_reader's problem is not a 400 invalid_request",
                   static_cast<int>(p.status));
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const endpoint& ep = endpoints.at(data[0] % endpoints.size());
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
    check_fields(body);

    harness h;
    std::string flow;
    std::string token;
    switch (ep.setup) {
    case needs::nothing:
        break;
    case needs::flow:
    case needs::challenged:
    case needs::verified: {
        const std::string kind = std::string(ep.target).find("/unlock/") != std::string::npos
                                     ? "/api/v1/unlock"
                                     : "/api/v1/reset";
        flow = std::string(must(h, http::verb::post, kind + "/start", {{"username", "alice"}})
                               .at("flow")
                               .as_string());
        if (ep.setup != needs::flow) {
            must(h, http::verb::post, kind + "/challenge", {{"flow", flow}, {"method", "email-0"}});
        }
        if (ep.setup == needs::verified) {
            must(h, http::verb::post, kind + "/verify",
                 {{"flow", flow}, {"method", "email-0"}, {"code", h.sender->last_code()}});
        }
        break;
    }
    case needs::session:
    case needs::email_code:
        token = std::string(must(h, http::verb::post, "/api/v1/enroll/session",
                                 {{"username", "alice"}, {"password", "Start-Pass-1!"}})
                                .at("token")
                                .as_string());
        if (ep.setup == needs::email_code) {
            must(h, http::verb::post, "/api/v1/enroll/email", {{"address", "alice2@example.org"}},
                 token);
        }
        break;
    }
    replace_all(body, "$flow", flow);
    replace_all(body, "$code", h.sender->last_code());
    replace_all(body, "$token", token);
    const request req = json_request(ep.method, ep.target, std::move(body), token);
    const response res = h.send(req, transport_problem::none);
    fuzz::check(req, res, transport_problem::none);
    return 0;
}
