// The JSON API (/api/v1/...) and the health endpoints, as routes of the app over flows::engine.
// Every engine call blocks, so each runs on the blocking pool and answers from there; a full pool
// answers 503 at once. Steps whose timing could tell a real account from a stand-in answer no
// earlier than the engine says (engine::respond_not_before), on a timer of the connection.
//
//   POST   /api/v1/{reset,unlock}/start        {"username"}
//   POST   /api/v1/{reset,unlock}/challenge    {"flow","method"}
//   POST   /api/v1/{reset,unlock}/verify       {"flow","method","code"} | {...,"answers":[...]}
//   POST   /api/v1/reset/complete              {"flow","new_password"}
//   POST   /api/v1/unlock/complete             {"flow"}
//   POST   /api/v1/password/change             {"username","current_password","new_password"}
//   POST   /api/v1/enroll/session              {"username","password"}  (sets ssprd_enroll)
//   GET    /api/v1/enroll/methods              (Bearer token or the cookie, as below)
//   POST   /api/v1/enroll/{email,sms}          {"address"} | {"number"}
//   POST   /api/v1/enroll/{email,sms}/verify   {..., "code"}
//   POST   /api/v1/enroll/totp, /totp/verify   {} | {"code"}
//   GET    /api/v1/enroll/questions,  PUT {"answers":[{"id","answer"}]}
//   DELETE /api/v1/enroll/methods/{id}
//   GET    /healthz, /readyz
#pragma once

#include "common/blocking_pool.hpp"
#include "flows/engine.hpp"
#include "gateway/app.hpp"
#include "gateway/problem.hpp"

namespace sspr::gateway {
class pages;
}

namespace sspr::gateway {

/// A flows refusal as the gateway answers it: code, status, Retry-After, figures.
[[nodiscard]] problem_info problem_from(const flows::failure& f);

/// Registers every route above on `a`. `engine` and `pool` must outlive the server's shutdown
/// and the pool's last job.
void add_api_routes(app& a, flows::engine& engine, common::blocking_pool& pool);

/// Registers the server-rendered pages (pages.hpp) and their stylesheet at /static/ssprd.css:
/// form bodies, not JSON; each page is rendered on the blocking pool. `p` and `pool` must outlive
/// the server's shutdown and the pool's last job.
void add_page_routes(app& a, pages& p, common::blocking_pool& pool);

} // namespace sspr::gateway
