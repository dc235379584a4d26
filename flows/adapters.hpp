// The translations between the libraries' own types that only flows/ needs: a code as challenge/
// makes it and as store/ keeps it, and what the directory and the store know about a user as the
// policy engine reads it. Pure functions, tested on their own (tests/unit/flows/adapters_test.cpp).
#pragma once

#include "challenge/code.hpp"
#include "challenge/totp.hpp"
#include "ldap/directory.hpp"
#include "policy/decision.hpp"
#include "store/state_store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace sspr::flows {

/// The store's row for a code challenge/ issued: the digests as lower-case hex.
[[nodiscard]] store::code_record to_store(std::string flow_id, config::method method,
                                          const challenge::code_record& code);

/// The code record challenge/ compares against; nothing when a digest is not 64 hex digits (a row
/// that was not written by to_store is never trusted).
[[nodiscard]] std::optional<challenge::code_record> from_store(const store::code_record& row);

/// The methods a user registered, as the policy counts them: each kind once, with its most recent
/// confirmation. Contacts count once confirmed; the authenticator once confirmed; the questions
/// when at least `answer_count` are registered, each with its own confirmation time (the row's
/// last change for rows written before those times were kept).
[[nodiscard]] std::vector<policy::enrolled_method> enrolled_methods(const store::enrollment& e,
                                                                    unsigned answer_count);

/// What the policy needs to know about a user, from the directory's entry and groups and the
/// store's enrollment.
[[nodiscard]] policy::user_facts facts_of(const ldap::user_entry& user,
                                          const std::vector<ldap::group_entry>& groups,
                                          const store::enrollment& enrollment,
                                          unsigned answer_count);

/// The authenticator as challenge/ verifies it.
[[nodiscard]] challenge::totp_enrollment to_challenge(const store::totp_enrollment& totp);

} // namespace sspr::flows
