#include "gateway/api.hpp"

#include "gateway/json_body.hpp"
#include "gateway/pages.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <ctime>
#include <utility>

namespace sspr::gateway {

namespace {

using flows::flow_type;
using steady_time = std::chrono::steady_clock::time_point;

// Sizes beyond anything legitimate: a flow or session token is 22 characters, a code 8 digits.
constexpr std::size_t max_login = 256;
constexpr std::size_t max_token = 256;
constexpr std::size_t max_method_id = 64;
constexpr std::size_t max_code = 64;
constexpr std::size_t max_password = 1024;
constexpr std::size_t max_answer = 1024;
constexpr std::size_t max_answers = 16;
constexpr std::size_t max_address = 320;

flows::request_context context_of(const call& c) {
    const request_info& i = c.info();
    return flows::request_context{i.request_id, i.client_ip, i.language, i.received};
}

boost::json::object empty_object() {
    return {};
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm utc{};
    gmtime_r(&secs, &utc);
    char buf[32];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return std::string(buf, n);
}

/// Reads [{"id","answer"}, ...] into the engine's answers; false (with the reader's problem
/// recorded) when any element is not exactly that.
bool read_answers(field_reader& r, std::vector<flows::answer>& out) {
    const boost::json::array* list = r.array("answers", max_answers);
    if (list == nullptr) {
        return false;
    }
    for (const auto& element : *list) {
        const auto* o = element.if_object();
        if (o == nullptr) {
            r.reject("answers");
            return false;
        }
        field_reader item(*o);
        flows::answer a;
        a.id = item.text("id", max_method_id);
        a.text = item.secret("answer", max_answer);
        item.only({"id", "answer"});
        if (!item.ok()) {
            r.reject("answers");
            return false;
        }
        out.push_back(std::move(a));
    }
    return true;
}

/// Checks the fields read; answers invalid_request naming the first wrong one.
bool fields_ok(const std::shared_ptr<call>& c, const field_reader& r) {
    if (!r.ok()) {
        c->fail(r.problem());
        return false;
    }
    return true;
}

/// The enrollment session of a request, or the refusal already answered: none (401), or a cookie
/// without a trusted Origin on a state change (403; the cookie is what a forged cross-site
/// request would carry, a bearer token it cannot).
std::optional<common::secret> session_of(const std::shared_ptr<call>& c) {
    auto cred = c->session_credential();
    if (!cred) {
        c->fail(problem_from(flows::failure(flows::problem::session_invalid)));
        return std::nullopt;
    }
    const http::verb m = c->req().method();
    const bool changes = m != http::verb::get && m != http::verb::head;
    if (cred->from_cookie && changes && !c->origin_trusted()) {
        c->fail(problems::origin_not_allowed());
        return std::nullopt;
    }
    return std::move(cred->token);
}

/// Answers a result<void>-shaped outcome: `status` with {} on success, the problem otherwise.
void answer_void(call& work, const flows::result<void>& r, http::status status,
                 steady_time not_before = {}) {
    if (!r) {
        return work.fail(problem_from(r.error()), not_before);
    }
    if (status == http::status::no_content) {
        return work.respond(response{http::status::no_content, 11}, not_before);
    }
    work.json(status, empty_object(), not_before);
}

boost::json::array questions_json(const std::vector<flows::question_prompt>& questions) {
    boost::json::array out;
    for (const auto& q : questions) {
        out.push_back(boost::json::object{{"id", q.id}, {"text", q.text}});
    }
    return out;
}

// ---- reset and unlock -------------------------------------------------------------------------

void add_gate_routes(app& a, flows::engine& e, common::blocking_pool& pool, flow_type type,
                     const std::string& base) {
    a.add(http::verb::post, base + "/start", [&e, &pool, type](const std::shared_ptr<call>& c) {
        field_reader r(c->body());
        std::string username = r.text("username", max_login);
        r.only({"username"});
        if (!fields_ok(c, r)) {
            return;
        }
        // A blocked address is refused here on the I/O thread, from memory: a flood from it
        // never reaches the worker pool, the store or the directory.
        if (auto blocked = e.address_blocked(context_of(*c))) {
            return c->fail(problem_from(*blocked));
        }
        offload(pool, c, [&e, type, username = std::move(username)](call& work) {
            const auto ctx = context_of(work);
            auto started = e.start(type, ctx, username);
            const steady_time floor = e.respond_not_before(ctx);
            if (!started) {
                return work.fail(problem_from(started.error()), floor);
            }
            boost::json::array methods;
            for (const auto& m : started->methods) {
                methods.push_back(
                    boost::json::object{{"id", m.id}, {"kind", m.kind}, {"hint", m.hint}});
            }
            const boost::json::object body{{"flow", started->flow.reveal()},
                                           {"gates_required", started->gates_required},
                                           {"methods", std::move(methods)}};
            work.json(http::status::ok, body, std::max(floor, started->respond_not_before));
        });
    });

    a.add(http::verb::post, base + "/challenge", [&e, &pool, type](const std::shared_ptr<call>& c) {
        field_reader r(c->body());
        common::secret flow = r.secret("flow", max_token);
        std::string method = r.text("method", max_method_id);
        r.only({"flow", "method"});
        if (!fields_ok(c, r)) {
            return;
        }
        offload(pool, c, [&e, type, flow, method](call& work) {
            const auto ctx = context_of(work);
            const auto result = e.challenge(type, ctx, flow.reveal(), method);
            const steady_time floor = e.respond_not_before(ctx);
            if (!result) {
                return work.fail(problem_from(result.error()), floor);
            }
            if (result->code_sent) {
                return work.json(http::status::accepted, empty_object(), floor);
            }
            if (!result->questions.empty()) {
                return work.json(
                    http::status::ok,
                    boost::json::object{{"questions", questions_json(result->questions)}}, floor);
            }
            work.json(http::status::ok, empty_object(), floor); // totp: nothing to send
        });
    });

    a.add(http::verb::post, base + "/verify", [&e, &pool, type](const std::shared_ptr<call>& c) {
        field_reader r(c->body());
        common::secret flow = r.secret("flow", max_token);
        std::string method = r.text("method", max_method_id);
        flows::proof proof;
        const bool has_code = r.has("code");
        const bool has_answers = r.has("answers");
        if (has_code == has_answers) {
            r.reject("code"); // exactly one of code and answers
        } else if (has_code) {
            proof.code = r.secret("code", max_code);
        } else {
            read_answers(r, proof.answers);
        }
        r.only({"flow", "method", "code", "answers"});
        if (!fields_ok(c, r)) {
            return;
        }
        offload(pool, c, [&e, type, flow, method, proof](call& work) {
            const auto ctx = context_of(work);
            const auto result = e.verify(type, ctx, flow.reveal(), method, proof);
            const steady_time floor = e.respond_not_before(ctx);
            if (!result) {
                return work.fail(problem_from(result.error()), floor);
            }
            work.json(http::status::ok,
                      boost::json::object{{"gates_passed", result->gates_passed},
                                          {"gates_required", result->gates_required}},
                      floor);
        });
    });
}

// ---- enrollment --------------------------------------------------------------------------------

void add_enroll_routes(app& a, flows::engine& e, common::blocking_pool& pool) {
    a.add(http::verb::post, "/api/v1/enroll/session", [&e, &pool](const std::shared_ptr<call>& c) {
        field_reader r(c->body());
        std::string username = r.text("username", max_login);
        common::secret password = r.secret("password", max_password);
        r.only({"username", "password"});
        if (!fields_ok(c, r)) {
            return;
        }
        offload(pool, c, [&e, username, password](call& work) {
            const auto ctx = context_of(work);
            const auto session = e.enroll_session(ctx, username, password);
            const steady_time floor = e.respond_not_before(ctx);
            if (!session) {
                return work.fail(problem_from(session.error()), floor);
            }
            const auto seconds = session->expires_in.count();
            response res{http::status::ok, 11};
            res.set(http::field::content_type, "application/json");
            res.body() = boost::json::serialize(
                boost::json::object{{"token", session->token.reveal()}, {"expires_in", seconds}});
            // For the gateway's own pages; pages on other origins use the token as a bearer.
            res.set(http::field::set_cookie, std::string(session_cookie_name) + "=" +
                                                 std::string(session->token.reveal()) +
                                                 "; Path=/; Secure; HttpOnly; SameSite=Strict; "
                                                 "Max-Age=" +
                                                 std::to_string(seconds));
            work.respond(std::move(res), floor);
        });
    });

    a.add(http::verb::get, "/api/v1/enroll/methods", [&e, &pool](const std::shared_ptr<call>& c) {
        auto token = session_of(c);
        if (!token) {
            return;
        }
        offload(pool, c, [&e, token = std::move(*token)](call& work) {
            const auto view = e.enroll_methods(context_of(work), token.reveal());
            if (!view) {
                return work.fail(problem_from(view.error()));
            }
            boost::json::array methods;
            for (const auto& m : view->methods) {
                boost::json::object o{{"id", m.id},
                                      {"kind", m.kind},
                                      {"hint", m.hint},
                                      {"confirmed", m.confirmed},
                                      {"reconfirm_due", m.reconfirm_due}};
                if (m.confirmed_at) {
                    o["confirmed_at"] = rfc3339(*m.confirmed_at);
                } else {
                    o["confirmed_at"] = nullptr;
                }
                methods.push_back(std::move(o));
            }
            boost::json::array allowed;
            for (const auto& k : view->allowed) {
                allowed.push_back(boost::json::string(k));
            }
            work.json(http::status::ok, boost::json::object{{"methods", std::move(methods)},
                                                            {"allowed", std::move(allowed)},
                                                            {"required", view->required},
                                                            {"complete", view->complete}});
        });
    });

    // E-mail and text messages: the same two steps with the destination's own field name.
    for (const auto& [kind, field] : {std::pair<std::string, std::string>{"email", "address"},
                                      std::pair<std::string, std::string>{"sms", "number"}}) {
        a.add(http::verb::post, "/api/v1/enroll/" + kind,
              [&e, &pool, kind = kind, field = field](const std::shared_ptr<call>& c) {
                  auto token = session_of(c);
                  if (!token) {
                      return;
                  }
                  field_reader r(c->body());
                  std::string destination = r.text(field, max_address);
                  r.only({field});
                  if (!fields_ok(c, r)) {
                      return;
                  }
                  offload(pool, c, [&e, kind, token = std::move(*token), destination](call& work) {
                      answer_void(
                          work,
                          e.enroll_contact(context_of(work), token.reveal(), kind, destination),
                          http::status::accepted);
                  });
              });
        a.add(http::verb::post, "/api/v1/enroll/" + kind + "/verify",
              [&e, &pool, kind = kind, field = field](const std::shared_ptr<call>& c) {
                  auto token = session_of(c);
                  if (!token) {
                      return;
                  }
                  field_reader r(c->body());
                  std::string destination = r.text(field, max_address);
                  common::secret code = r.secret("code", max_code);
                  r.only({field, "code"});
                  if (!fields_ok(c, r)) {
                      return;
                  }
                  offload(pool, c,
                          [&e, kind, token = std::move(*token), destination, code](call& work) {
                              answer_void(work,
                                          e.enroll_contact_verify(context_of(work), token.reveal(),
                                                                  kind, destination, code),
                                          http::status::ok);
                          });
              });
    }

    a.add(
        http::verb::post, "/api/v1/enroll/totp",
        [&e, &pool](const std::shared_ptr<call>& c) {
            auto token = session_of(c);
            if (!token) {
                return;
            }
            field_reader r(c->body());
            r.only({});
            if (!fields_ok(c, r)) {
                return;
            }
            offload(pool, c, [&e, token = std::move(*token)](call& work) {
                const auto offer = e.enroll_totp(context_of(work), token.reveal());
                if (!offer) {
                    return work.fail(problem_from(offer.error()));
                }
                work.json(http::status::ok,
                          boost::json::object{{"otpauth_uri", offer->otpauth_uri.reveal()},
                                              {"qr_svg", offer->qr_svg.reveal()}});
            });
        },
        route_options{true, true});

    a.add(http::verb::post, "/api/v1/enroll/totp/verify",
          [&e, &pool](const std::shared_ptr<call>& c) {
              auto token = session_of(c);
              if (!token) {
                  return;
              }
              field_reader r(c->body());
              common::secret code = r.secret("code", max_code);
              r.only({"code"});
              if (!fields_ok(c, r)) {
                  return;
              }
              offload(pool, c, [&e, token = std::move(*token), code](call& work) {
                  answer_void(work, e.enroll_totp_verify(context_of(work), token.reveal(), code),
                              http::status::ok);
              });
          });

    a.add(http::verb::get, "/api/v1/enroll/questions", [&e, &pool](const std::shared_ptr<call>& c) {
        auto token = session_of(c);
        if (!token) {
            return;
        }
        offload(pool, c, [&e, token = std::move(*token)](call& work) {
            const auto questions = e.enroll_questions(context_of(work), token.reveal());
            if (!questions) {
                return work.fail(problem_from(questions.error()));
            }
            work.json(http::status::ok,
                      boost::json::object{{"questions", questions_json(*questions)}});
        });
    });

    a.add(http::verb::put, "/api/v1/enroll/questions", [&e, &pool](const std::shared_ptr<call>& c) {
        auto token = session_of(c);
        if (!token) {
            return;
        }
        field_reader r(c->body());
        std::vector<flows::answer> answers;
        read_answers(r, answers);
        r.only({"answers"});
        if (!fields_ok(c, r)) {
            return;
        }
        offload(pool, c, [&e, token = std::move(*token), answers](call& work) {
            answer_void(work, e.enroll_put_questions(context_of(work), token.reveal(), answers),
                        http::status::ok);
        });
    });

    a.add(http::verb::delete_, "/api/v1/enroll/methods/{id}",
          [&e, &pool](const std::shared_ptr<call>& c) {
              auto token = session_of(c);
              if (!token) {
                  return;
              }
              const std::string id = c->params().at(0);
              if (id.size() > max_method_id) {
                  return c->fail(problems::invalid_request("id"));
              }
              offload(pool, c, [&e, token = std::move(*token), id](call& work) {
                  answer_void(work, e.enroll_delete_method(context_of(work), token.reveal(), id),
                              http::status::no_content);
              });
          });
}

} // namespace

problem_info problem_from(const flows::failure& f) {
    problem_info p;
    if (f.problem == flows::problem::invalid) {
        // A refusal without a problem is a bug in the flows; the user is told the truth: 500.
        return problems::internal_error();
    }
    p.code = std::string(flows::to_string(f.problem));
    p.status = flows::http_status(f.problem);
    p.retry_after = f.retry_after;
    p.params = f.params;
    return p;
}

void add_api_routes(app& a, flows::engine& e, common::blocking_pool& pool) {
    add_gate_routes(a, e, pool, flow_type::reset, "/api/v1/reset");
    add_gate_routes(a, e, pool, flow_type::unlock, "/api/v1/unlock");

    a.add(http::verb::post, "/api/v1/reset/complete", [&e, &pool](const std::shared_ptr<call>& c) {
        field_reader r(c->body());
        common::secret flow = r.secret("flow", max_token);
        common::secret password = r.secret("new_password", max_password);
        r.only({"flow", "new_password"});
        if (!fields_ok(c, r)) {
            return;
        }
        offload(pool, c, [&e, flow, password](call& work) {
            const auto done = e.complete_reset(context_of(work), flow.reveal(), password);
            if (!done) {
                return work.fail(problem_from(done.error()));
            }
            work.json(http::status::ok, boost::json::object{{"result", "changed"}});
        });
    });

    a.add(http::verb::post, "/api/v1/unlock/complete", [&e, &pool](const std::shared_ptr<call>& c) {
        field_reader r(c->body());
        common::secret flow = r.secret("flow", max_token);
        r.only({"flow"});
        if (!fields_ok(c, r)) {
            return;
        }
        offload(pool, c, [&e, flow](call& work) {
            const auto done = e.complete_unlock(context_of(work), flow.reveal());
            if (!done) {
                return work.fail(problem_from(done.error()));
            }
            work.json(http::status::ok, boost::json::object{{"result", "unlocked"}});
        });
    });

    a.add(http::verb::post, "/api/v1/password/change", [&e, &pool](const std::shared_ptr<call>& c) {
        field_reader r(c->body());
        std::string username = r.text("username", max_login);
        common::secret current = r.secret("current_password", max_password);
        common::secret next = r.secret("new_password", max_password);
        r.only({"username", "current_password", "new_password"});
        if (!fields_ok(c, r)) {
            return;
        }
        offload(pool, c, [&e, username, current, next](call& work) {
            const auto ctx = context_of(work);
            const auto done = e.change_password(ctx, username, current, next);
            const steady_time floor = e.respond_not_before(ctx);
            if (!done) {
                return work.fail(problem_from(done.error()), floor);
            }
            work.json(http::status::ok, boost::json::object{{"result", "changed"}}, floor);
        });
    });

    add_enroll_routes(a, e, pool);

    // Liveness: the process answers; nothing behind it is asked.
    a.add(http::verb::get, "/healthz", [](const std::shared_ptr<call>& c) {
        c->json(http::status::ok, boost::json::object{{"status", "ok"}});
    });
    // Readiness: the directory and the store answer.
    a.add(http::verb::get, "/readyz", [&e, &pool](const std::shared_ptr<call>& c) {
        offload(pool, c, [&e](call& work) {
            const flows::health h = e.check_health();
            const bool ready = h.directory_ok && h.store_ok;
            const char* store = h.store_ok ? "ok" : (h.store_full ? "full" : "unavailable");
            response res{ready ? http::status::ok : http::status::service_unavailable, 11};
            res.set(http::field::content_type, "application/json");
            res.body() = boost::json::serialize(boost::json::object{
                {"directory", h.directory_ok ? "ok" : "unavailable"}, {"store", store}});
            if (!ready) {
                res.set(http::field::retry_after, "5");
            }
            work.respond(std::move(res));
        });
    });
}

// ---- pages ------------------------------------------------------------------------------------

void add_page_routes(app& a, pages& p, common::blocking_pool& pool) {
    a.add(http::verb::get, "/static/ssprd.css", [&p](const std::shared_ptr<call>& c) {
        response res{http::status::ok, 11};
        res.set(http::field::content_type, "text/css; charset=utf-8");
        res.body() = p.stylesheet();
        c->respond(std::move(res));
    });
    a.add(http::verb::get, "/static/logo", [&p](const std::shared_ptr<call>& c) {
        const auto logo = p.logo();
        if (!logo) {
            c->fail(problems::not_found());
            return;
        }
        response res{http::status::ok, 11};
        res.set(http::field::content_type, logo->content_type);
        res.body() = logo->bytes;
        c->respond(std::move(res));
    });
    for (const auto& [method, path] : pages::routes()) {
        const http::verb verb = method == "GET" ? http::verb::get : http::verb::post;
        a.add(
            verb, path,
            [&p, &pool](const std::shared_ptr<call>& c) {
                const request& req = c->req();
                page_request pr;
                pr.method = std::string(req.method_string());
                const std::string_view target(req.target().data(), req.target().size());
                const auto q = target.find('?');
                pr.path = std::string(target.substr(0, q));
                pr.query =
                    q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
                for (auto [it, end] = req.equal_range(http::field::cookie); it != end; ++it) {
                    if (!pr.cookie.empty()) {
                        pr.cookie += "; ";
                    }
                    pr.cookie.append(it->value().data(), it->value().size());
                }
                pr.accept_language = std::string(req[http::field::accept_language]);
                pr.content_type = std::string(req[http::field::content_type]);
                pr.origin = std::string(c->origin());
                pr.origin_trusted = c->origin_trusted();
                pr.body = common::secret(std::string(req.body()));
                pr.request_id = c->info().request_id;
                pr.client_ip = c->info().client_ip;
                pr.received = c->info().received;
                offload(pool, c, [&p, pr = std::move(pr)](call& work) {
                    page_response out = p.handle(pr);
                    response res{static_cast<http::status>(out.status), 11};
                    res.set(http::field::content_type, out.content_type);
                    for (const auto& cookie : out.set_cookies) {
                        res.insert(http::field::set_cookie, cookie);
                    }
                    if (!out.location.empty()) {
                        res.set(http::field::location, out.location);
                    }
                    res.body() = std::string(out.body.reveal());
                    work.respond(std::move(res), out.not_before);
                });
            },
            route_options{false, false});
    }
}

} // namespace sspr::gateway
