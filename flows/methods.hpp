// A user's registered methods as everyone outside the store names and shows them: the ids the
// API uses ("email-0", "sms-1", "totp", "questions"), masked hints (challenge/hints.hpp), when each
// was last confirmed and whether it is due for confirmation again. One place for the enrollment
// pages and API (engine::enroll_methods, enroll_delete_method) and the helpdesk commands, so that a
// method id means the same everywhere and nothing but a masked hint leaves it.
#pragma once

#include "flows/engine.hpp"
#include "store/state_store.hpp"

#include <chrono>
#include <string_view>
#include <vector>

namespace sspr::flows {

/// Every method registered in `e`, in the order email-N, sms-N, totp, questions. Holds no secret:
/// masked hints only (an address that does not mask gets ""), no TOTP seed, no answer hash.
/// reconfirm_due: confirmed longer than `reconfirm_after` before `now` (0: never due).
[[nodiscard]] std::vector<enrolled_method_view>
describe_methods(const store::enrollment& e, std::chrono::seconds reconfirm_after,
                 std::chrono::system_clock::time_point now);

/// Removes the method `id` names ("email-0".."email-99", "sms-N", "totp", "questions") from `e`.
/// false when no such method is registered (nothing changed).
[[nodiscard]] bool remove_method(store::enrollment& e, std::string_view id);

} // namespace sspr::flows
