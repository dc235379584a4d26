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

/// The E.164 form the SMS provider gets (common::to_e164, the form policy/ counts under):
/// "+82 10-1234.5678", "010-1234-5678" (region "KR") and "0082 10 1234 5678" all become
/// "+821012345678". `region` reads numbers without a country code (delivery.sms.default_region).
/// error::invalid_destination for anything that is not a number to send to.
[[nodiscard]] result<std::string> normalise_phone(std::string_view number, std::string_view region);

/// The normalised destination for the message's channel; `phone_region` as for normalise_phone.
[[nodiscard]] result<std::string> normalise_destination(channel via, std::string_view destination,
                                                        std::string_view phone_region);

/// Whether `id` may be a message id: 1 to 64 of [A-Za-z0-9._-]. Ids end up in the Message-ID
/// header, the MIME boundary and an HTTP header, so nothing else is ever let through.
[[nodiscard]] bool valid_message_id(std::string_view id) noexcept;

/// For log lines: "a***@example.org", "+*********5678". Takes a normalised destination.
[[nodiscard]] std::string mask_destination(channel via, std::string_view destination);

} // namespace sspr::delivery
