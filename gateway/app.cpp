#include "gateway/app.hpp"

#include "common/log.hpp"
#include "gateway/http.hpp"
#include "gateway/json_body.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>

namespace sspr::gateway {

struct call::core {
    std::shared_ptr<const i18n> messages;
    origin_policy origins;
    trusted_proxies proxies;
    std::vector<std::string> languages;
    std::string default_language;
};

namespace {

using steady = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view view(boost::beast::string_view s) {
    return {s.data(), s.size()};
}

/// Every value of a header that may repeat, joined with ", " (RFC 9110 5.3).
std::string joined(const request& req, std::string_view name) {
    std::string out;
    for (auto [it, end] = req.equal_range(name); it != end; ++it) {
        if (!out.empty()) {
            out += ", ";
        }
        out.append(it->value().data(), it->value().size());
    }
    return out;
}

bool changes_state(http::verb m) {
    return m == http::verb::post || m == http::verb::put || m == http::verb::delete_ ||
           m == http::verb::patch;
}

std::shared_ptr<const call::core> make_core(std::shared_ptr<const i18n> messages,
                                            const app_settings& s) {
    if (!messages) {
        throw std::invalid_argument("app: no message catalogue");
    }
    auto c = std::make_shared<call::core>();
    c->messages = std::move(messages);
    c->origins = origin_policy(s.public_url, s.allowed_origins);
    c->proxies = trusted_proxies(s.trusted_proxies);
    c->languages = s.languages;
    c->default_language = s.default_language;
    if (c->languages.empty()) {
        c->languages.push_back(c->default_language);
    }
    return c;
}

/// The path for the access log: no query (it may hold anything), bounded.
std::string log_path(std::string_view target) {
    std::string_view path = target.substr(0, target.find('?'));
    if (path.size() > 200) {
        path = path.substr(0, 200);
    }
    return std::string(path);
}

} // namespace

// ---- call -------------------------------------------------------------------------------------

call::call(std::shared_ptr<const core> c, exchange&& ex, request_info info)
    : core_(std::move(c)), req_(std::move(ex.req)), info_(std::move(info)),
      responder_(std::move(ex.respond)), body_(boost::json::object()),
      origin_(view(req_[http::field::origin])) {}

call::~call() {
    if (!answered_.load()) {
        common::log(common::log_level::error, "request left unanswered by its handler",
                    {{"request_id", info_.request_id}});
        fail(problems::internal_error());
    }
    OPENSSL_cleanse(req_.body().data(), req_.body().size());
}

const boost::json::object& call::body() const noexcept {
    return body_.get_object();
}

bool call::origin_trusted() const {
    return core_->origins.is_trusted(origin_);
}

std::optional<credential> call::session_credential() const {
    const std::string_view auth = trim_blanks(view(req_[http::field::authorization]));
    if (auth.size() > 7 && iequals(auth.substr(0, 7), "Bearer ")) {
        const std::string_view token = trim_blanks(auth.substr(7));
        if (!token.empty()) {
            return credential{common::secret(std::string(token)), false};
        }
    }
    for (auto [it, end] = req_.equal_range(http::field::cookie); it != end; ++it) {
        if (const auto value = cookie_value(view(it->value()), session_cookie_name);
            !value.empty()) {
            return credential{common::secret(std::string(value)), true};
        }
    }
    return std::nullopt;
}

void call::respond(response res, steady_time not_before) {
    if (answered_.exchange(true)) {
        return;
    }
    apply_cors(res, core_->origins, origin_);
    const auto now = steady::now();
    const auto done = std::max(now, not_before);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(done - info_.received).count();
    const std::string method(view(req_.method_string()));
    const std::string path = log_path(view(req_.target()));
    const std::string status = std::to_string(res.result_int());
    const std::string duration = std::to_string(ms);
    // Never the body, the query, the cookies or the Authorization header.
    common::log(common::log_level::info, "request",
                {{"request_id", info_.request_id},
                 {"client", info_.client_ip},
                 {"method", method},
                 {"path", path},
                 {"status", status},
                 {"duration_ms", duration}});
    responder_(std::move(res), not_before);
}

void call::json(http::status status, const boost::json::value& body, steady_time not_before) {
    response res{status, 11};
    res.set(http::field::content_type, "application/json");
    res.body() = boost::json::serialize(body);
    respond(std::move(res), not_before);
}

response call::problem_response(const problem_info& p) const {
    return render_problem(p, *core_->messages, info_.language, info_.request_id);
}

void call::fail(const problem_info& p, steady_time not_before) {
    respond(problem_response(p), not_before);
}

// ---- app --------------------------------------------------------------------------------------

app_settings app_settings_from(const config::config& cfg) {
    app_settings s;
    s.public_url = cfg.server.public_url;
    s.allowed_origins = cfg.server.allowed_origins;
    s.trusted_proxies = cfg.server.trusted_proxies;
    s.languages = cfg.ui.languages;
    s.default_language = cfg.ui.default_language;
    return s;
}

app::app(std::shared_ptr<const i18n> messages, const app_settings& settings)
    : core_(make_core(std::move(messages), settings)) {}

void app::add(http::verb method, std::string_view pattern, route_handler on_request,
              route_options options) {
    const std::size_t id = router_.add(method, pattern);
    routes_.resize(std::max(routes_.size(), id + 1));
    routes_[id] = route{std::move(on_request), options};
}

void app::update(const app_settings& settings) {
    auto next = make_core(current()->messages, settings);
    const std::lock_guard lock(mutex_);
    core_ = std::move(next);
}

std::shared_ptr<const call::core> app::current() const {
    const std::lock_guard lock(mutex_);
    return core_;
}

handler app::as_handler() {
    return [this](exchange ex) { handle(std::move(ex)); };
}

void app::handle(exchange ex) {
    auto core = current();
    request_info info;
    info.request_id = ex.request_id;
    info.received = ex.received;
    info.client_ip =
        core->proxies.client_address(ex.peer, joined(ex.req, "X-Forwarded-For")).to_string();
    info.language = negotiate(view(ex.req[http::field::accept_language]), core->languages,
                              core->default_language);
    const transport_problem problem = ex.problem;
    auto c = std::make_shared<call>(core, std::move(ex), std::move(info));

    if (problem == transport_problem::payload_too_large) {
        return c->fail(problems::payload_too_large());
    }
    if (problem != transport_problem::none) {
        return c->fail(problems::invalid_request());
    }

    const http::verb method = c->req().method();
    const router::match m = router_.find(method, view(c->req().target()));
    switch (m.result) {
    case router::outcome::bad_target:
        return c->fail(problems::invalid_request());
    case router::outcome::not_found:
        return c->fail(problems::not_found());
    case router::outcome::method_not_allowed:
        if (method == http::verb::options) {
            return preflight(c, m);
        } else {
            response res = c->problem_response(problems::method_not_allowed());
            res.set(http::field::allow, method_list(m.allowed));
            return c->respond(std::move(res));
        }
    case router::outcome::found:
    case router::outcome::invalid:
        break;
    }

    // A page on a foreign origin must not make a user's browser act here; requests without an
    // Origin (API clients, old browsers' same-origin GETs) are not browser cross-origin requests.
    if (changes_state(method) && !c->origin().empty() && !c->origin_trusted()) {
        return c->fail(problems::origin_not_allowed());
    }

    const route& r = routes_.at(m.route);
    if (r.options.json_body && (method == http::verb::post || method == http::verb::put)) {
        const std::string& body = c->req().body();
        if (body.empty() && r.options.empty_body_ok) {
            // {} already
        } else if (!is_json_content_type(view(c->req()[http::field::content_type]))) {
            return c->fail(problems::unsupported_media_type());
        } else {
            auto parsed = parse_object(body, make_wiping_storage());
            if (!parsed) {
                return c->fail(problems::invalid_request());
            }
            c->body_ = std::move(*parsed);
        }
    }
    c->params_ = m.params;

    try {
        r.handler(c);
    } catch (const std::exception& e) {
        common::log(common::log_level::error, "route handler failed",
                    {{"request_id", c->info().request_id}, {"error", e.what()}});
        c->fail(problems::internal_error());
    }
}

void app::preflight(const std::shared_ptr<call>& c, const router::match& m) {
    std::vector<http::verb> allowed = m.allowed;
    allowed.push_back(http::verb::options);
    const std::string_view requested = view(c->req()[http::field::access_control_request_method]);
    if (c->origin().empty() || requested.empty()) {
        response res{http::status::no_content, 11};
        res.set(http::field::allow, method_list(allowed));
        return c->respond(std::move(res));
    }
    if (!c->core_->origins.is_cross_allowed(c->origin())) {
        return c->fail(problems::origin_not_allowed());
    }
    return c->respond(preflight_response(c->origin(), m.allowed));
}

void offload(common::blocking_pool& pool, const std::shared_ptr<call>& c,
             std::function<void(call&)> job) {
    const bool queued = pool.try_post([c, job = std::move(job)] {
        try {
            job(*c);
        } catch (const std::exception& e) {
            common::log(common::log_level::error, "request work failed",
                        {{"request_id", c->info().request_id}, {"error", e.what()}});
            c->fail(problems::internal_error());
        }
    });
    if (!queued) {
        c->fail(problems::overloaded());
    }
}

} // namespace sspr::gateway
