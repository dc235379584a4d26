#include "gateway/problem.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

namespace sspr::gateway {

namespace problems {
namespace {
problem_info make(std::string_view code, unsigned status) {
    problem_info p;
    p.code = std::string(code);
    p.status = status;
    return p;
}
} // namespace

problem_info invalid_request(std::string_view field) {
    problem_info p = make("invalid_request", 400);
    if (!field.empty()) {
        p.params.emplace("field", std::string(field));
    }
    return p;
}
problem_info not_found() {
    return make("not_found", 404);
}
problem_info method_not_allowed() {
    return make("method_not_allowed", 405);
}
problem_info unsupported_media_type() {
    return make("unsupported_media_type", 415);
}
problem_info payload_too_large() {
    return make("payload_too_large", 413);
}
problem_info origin_not_allowed() {
    return make("origin_not_allowed", 403);
}
problem_info csrf_invalid() {
    return make("csrf_invalid", 403);
}
problem_info overloaded() {
    problem_info p = make("overloaded", 503);
    p.retry_after = std::chrono::seconds(1);
    return p;
}
problem_info internal_error() {
    return make("internal_error", 500);
}
} // namespace problems

std::string problem_type(std::string_view code) {
    return "https://ssprd.dev/problems/" + std::string(code);
}

response render_problem(const problem_info& p, const i18n& messages, std::string_view language,
                        std::string_view request_id) {
    const unsigned status = p.status >= 400 && p.status <= 599 ? p.status : 500;
    response res{static_cast<http::status>(status), 11};

    const std::string detail_key = "problem." + p.code;
    const std::string title_key = "problem_title." + p.code;
    const bool known = messages.has(detail_key) && messages.has(title_key);
    text_params params(p.params.begin(), p.params.end());

    boost::json::object body;
    body["type"] = known ? problem_type(p.code) : std::string("about:blank");
    if (known) {
        body["title"] = messages.text(language, title_key);
    } else {
        const auto reason = http::obsolete_reason(static_cast<http::status>(status));
        body["title"] = std::string(reason.data(), reason.size());
    }
    body["status"] = status;
    if (known) {
        body["detail"] = messages.text(language, detail_key, params);
    }
    body["code"] = p.code;
    body["request_id"] = request_id;

    std::chrono::seconds retry = p.retry_after;
    if ((status == 429 || status == 503) && retry < std::chrono::seconds(1)) {
        retry = std::chrono::seconds(1);
    }
    if (retry.count() > 0) {
        body["retry_after"] = retry.count();
        res.set(http::field::retry_after, std::to_string(retry.count()));
    }
    if (!p.params.empty()) {
        boost::json::object figures;
        for (const auto& [name, value] : p.params) {
            figures[name] = value;
        }
        body["params"] = std::move(figures);
    }

    res.set(http::field::content_type, "application/problem+json");
    res.set(http::field::content_language, language);
    res.body() = boost::json::serialize(body);
    return res;
}

} // namespace sspr::gateway
