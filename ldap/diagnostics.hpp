// Turns what a directory says (LDAP result code, diagnostic text, ppolicy response control) into
// one ldap::error. Pure functions over values so that every mapping is unit-tested against the
// exact texts real Active Directory, Samba AD and OpenLDAP return.
#pragma once

#include "ldap/error.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace sspr::ldap {

/// What the operation was; the same LDAP answer means different things (49 on a change is a wrong
/// current password, on a bind it is bad credentials).
enum class operation_kind {
    invalid = 0,
    connect,
    service_bind,
    user_bind,
    search,
    reset,
    change,
    unlock,
};

/// The `data XXX` code of an AD bind failure ("... AcceptSecurityContext error, data 775, v1db1").
[[nodiscard]] std::optional<std::uint32_t> ad_data_code(std::string_view diagnostic) noexcept;

/// The leading Win32 code of an AD diagnostic ("0000052D: Constraint violation - ...").
[[nodiscard]] std::optional<std::uint32_t> ad_win32_code(std::string_view diagnostic) noexcept;

/// What went wrong, given the LDAP result code (non-zero; negative for client-side libldap errors),
/// the diagnostic message and the ppolicy response error (0..9) when the server sent one.
[[nodiscard]] error classify(operation_kind op, int ldap_rc, std::string_view diagnostic,
                             std::optional<int> ppolicy_error) noexcept;

} // namespace sspr::ldap
