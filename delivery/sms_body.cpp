#include "delivery/sms_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <stdexcept>

namespace sspr::delivery {
namespace {

constexpr std::string_view to_placeholder = "{to}";
constexpr std::string_view message_placeholder = "{message}";

// The contents of a JSON string (without the quotes) that decodes to `value`.
std::string json_escape(std::string_view value) {
    std::string quoted = boost::json::serialize(boost::json::string(value));
    return quoted.substr(1, quoted.size() - 2);
}

// application/x-www-form-urlencoded: unreserved characters as they are, space as '+', the rest
// (including '+', '&' and '=') percent-encoded.
std::string form_escape(std::string_view value) {
    boost::urls::encoding_opts opts;
    opts.space_as_plus = true;
    return boost::urls::encode(value, boost::urls::unreserved_chars, opts);
}

std::string substitute(std::string_view tmpl, std::string_view to, std::string_view text) {
    std::string out;
    out.reserve(tmpl.size() + to.size() + text.size() + 16);
    std::size_t pos = 0;
    while (pos < tmpl.size()) {
        if (tmpl.substr(pos).starts_with(to_placeholder)) {
            out += to;
            pos += to_placeholder.size();
        } else if (tmpl.substr(pos).starts_with(message_placeholder)) {
            out += text;
            pos += message_placeholder.size();
        } else {
            out += tmpl[pos];
            ++pos;
        }
    }
    return out;
}

} // namespace

common::secret render_sms_body(config::sms_body_format format, std::string_view tmpl,
                               std::string_view to, std::string_view text) {
    switch (format) {
    case config::sms_body_format::json: {
        const common::secret escaped(json_escape(text));
        return common::secret(substitute(tmpl, json_escape(to), escaped.reveal()));
    }
    case config::sms_body_format::form: {
        const common::secret escaped(form_escape(text));
        return common::secret(substitute(tmpl, form_escape(to), escaped.reveal()));
    }
    case config::sms_body_format::invalid:
        break;
    }
    throw std::logic_error("render_sms_body: format not set");
}

std::optional<std::string> sms_body_template_problem(config::sms_body_format format,
                                                     std::string_view tmpl) {
    if (format != config::sms_body_format::json && format != config::sms_body_format::form) {
        return "body format must be json or form";
    }
    if (tmpl.find(message_placeholder) == std::string_view::npos) {
        return "body template must contain {message}";
    }
    if (format == config::sms_body_format::json) {
        const auto sample = render_sms_body(format, tmpl, "+10000000000", "a \"quoted\"\\ line\n2");
        boost::system::error_code ec;
        const auto value = boost::json::parse(sample.reveal(), ec);
        if (ec) {
            return "body template is not JSON once values are filled in (put {to} and {message} "
                   "inside JSON strings): " +
                   ec.message();
        }
        if (!value.is_object() && !value.is_array()) {
            return "body template must be a JSON object or array";
        }
    }
    return std::nullopt;
}

std::string_view sms_content_type(config::sms_body_format format) noexcept {
    return format == config::sms_body_format::form ? "application/x-www-form-urlencoded"
                                                   : "application/json; charset=utf-8";
}

} // namespace sspr::delivery
