// Destinations: checking and normalising an email address or a phone number before anything is
// queued, and masking them for log lines (a log never holds a full address or number).
#pragma once

#include "delivery/error.hpp"
#include "delivery/sender.hpp"

#include <string>
#include <string_view>

namespace sspr::delivery {

/// The address itself when `address` is a plain ASCII addr-spec that is safe on an SMTP command
/// line and in a header: dot-atom local part of at most 64 octets, a domain of LDH labels with at
/// least one dot, 254 octets in all. Quoted local parts, address literals, comments, display names
/// and non-ASCII are refused with error::invalid_destination.
[[nodiscard]] result<std::string> normalise_email(std::string_view address);

/// "+82 10-1234.5678" → "+821012345678": spaces, dashes, dots and parentheses dropped; the rest
/// must be an optional leading `+` and 6 to 15 digits (E.164 is at most 15), else
/// error::invalid_destination.
[[nodiscard]] result<std::string> normalise_phone(std::string_view number);

/// The normalised destination for the message's channel.
[[nodiscard]] result<std::string> normalise_destination(channel via, std::string_view destination);

/// For log lines: "a***@example.org", "+*********5678". Takes a normalised destination.
[[nodiscard]] std::string mask_destination(channel via, std::string_view destination);

} // namespace sspr::delivery
