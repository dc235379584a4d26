// Phone numbers in the one form every part of ssprd counts and sends to: E.164, "+821012345678".
// policy/ (throttle keys per destination) and delivery/ (the number handed to the SMS provider)
// both normalise through to_e164 with the same default region (delivery.sms.default_region), so
// "010-1234-5678", "+82 10 1234 5678", "0082 10 1234 5678" and "+82 (0)10-1234-5678" are one
// destination to the throttles and the one number a text goes to.
//
// A small dialling-plan table, not a full numbering database: for each supported region its
// country calling code, national (trunk) prefix, international call prefixes and the length of
// its national significant numbers. Numbers of other countries are accepted in international form
// ("+", "00" or the default region's own prefix) when their country code is an assigned one.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace sspr::common {

/// The regions (ISO 3166-1 alpha-2, upper case) whose national numbers to_e164 can read, in
/// alphabetical order.
[[nodiscard]] std::span<const std::string_view> phone_regions() noexcept;

/// Whether `region` is one of phone_regions().
[[nodiscard]] bool is_phone_region(std::string_view region) noexcept;

/// The E.164 form ("+" and at most 15 digits) of `number`, or nothing when it is not a phone number
/// ssprd can send to. Separators (space, '-', '.', '/', '(' and ')') are ignored; an optional
/// "(0)" after the country code is dropped.
///
/// - "+CC…": international.
/// - "00CC…" or the default region's own international prefix ("011" in the US, "001" in Korea):
///   international; when a prefix could be read two ways, the reading whose country code is
///   assigned and whose national number has a valid length wins.
/// - anything else: a national number of `default_region`, its national prefix ("0", "1" in
///   North America, "8" in Russia) dropped.
///
/// After the country code a national prefix written by mistake ("+82 010 …") is dropped too, for
/// the countries of the table whose national numbers never start with it. Nothing for an unknown
/// or unassigned country code, a national number of a wrong length for a country in the table, or
/// a national number when `default_region` is not one of phone_regions().
[[nodiscard]] std::optional<std::string> to_e164(std::string_view number,
                                                 std::string_view default_region);

} // namespace sspr::common
