// The body of the SMS provider's webhook request, from the admin's template with the placeholders
// {to} and {message}. Values are JSON-escaped (Boost.JSON) for the json format, where the
// placeholders sit inside JSON strings, and form-encoded (Boost.URL) for the form format.
#pragma once

#include "common/secret.hpp"
#include "config/config.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sspr::delivery {

/// The request body: `tmpl` with every {to} and {message} replaced by the escaped values.
[[nodiscard]] common::secret render_sms_body(config::sms_body_format format, std::string_view tmpl,
                                             std::string_view to, std::string_view text);

/// Why `tmpl` cannot work with `format`, or nothing when it can: it must name {message}, and for
/// json it must give a JSON object or array once values with quotes, backslashes and newlines are
/// put in (so a placeholder outside a JSON string is caught at start-up, not at the first send).
[[nodiscard]] std::optional<std::string> sms_body_template_problem(config::sms_body_format format,
                                                                   std::string_view tmpl);

/// The Content-Type that goes with `format`.
[[nodiscard]] std::string_view sms_content_type(config::sms_body_format format) noexcept;

} // namespace sspr::delivery
