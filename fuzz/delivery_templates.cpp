// Fuzzes what turns outside values into a message: the e-mail and SMS templates
// (delivery/templates.hpp), the MIME builder and header encoding (delivery/mime.hpp) and the SMS
// webhook body (delivery/sms_body.hpp). The input's first byte picks the message kind, the
// language and the channel; the rest is split at 0x1f bytes into display name, organisation,
// account, contact, helpdesk and the From line.
//
// Invariants, for any values:
//   - clean_text gives UTF-8 without control characters; html_escape leaves no < > " ' and
//     every & starts an entity;
//   - a value cannot change a message's structure: the subject is one line, and the text's line
//     count and the HTML's count of '<' and '>' equal those of the same message with neutral
//     values ("x"), and a code message holds its code in text, HTML and SMS but never the subject;
//   - encode_header_text gives printable ASCII lines of at most 76 characters folded with CRLF SP;
//   - build_mime (when it accepts the From line) gives CRLF line ends only and header lines of at
//     most 998 characters;
//   - the JSON webhook body parses, and its message is the SMS text.
#include "delivery/mime.hpp"
#include "delivery/sms_body.hpp"
#include "delivery/templates.hpp"
#include "fuzz/fields.hpp"
#include "ldap/escape.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace sspr;

namespace {

constexpr std::string_view the_code = "482913";

[[noreturn]] void broken(const char* what) {
    (void)std::fprintf(stderr, "delivery_templates: invariant broken: %s\n", what);
    std::abort();
}

delivery::message make(delivery::message_kind kind, std::string_view language,
                       const std::vector<std::string>& v) {
    delivery::message m;
    m.kind = kind;
    m.via = delivery::channel::email;
    m.language = std::string(language);
    m.destination = "alice@example.org";
    m.params.code = common::secret(std::string(the_code));
    m.params.code_lifetime = std::chrono::minutes(10);
    m.params.display_name = v[0];
    m.params.organisation = v[1];
    m.params.account = v[2];
    m.params.contact = v[3];
    m.params.helpdesk = v[4];
    m.params.when = std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 56));
    return m;
}

std::size_t count(std::string_view s, char c) {
    return static_cast<std::size_t>(std::count(s.begin(), s.end(), c));
}

void check_clean(std::string_view value) {
    const std::string c = delivery::clean_text(value);
    if (!ldap::is_valid_utf8(c)) {
        broken("clean_text gave invalid UTF-8");
    }
    for (const char ch : c) {
        const auto b = static_cast<unsigned char>(ch);
        if (b < 0x20 || b == 0x7f) {
            broken("clean_text left a control character");
        }
    }
    const std::string h = delivery::html_escape(value);
    if (h.find_first_of("<>\"'") != std::string::npos) {
        broken("html_escape left a special character");
    }
    for (std::size_t at = h.find('&'); at != std::string::npos; at = h.find('&', at + 1)) {
        const auto semi = h.find(';', at);
        if (semi == std::string::npos || semi - at > 5) {
            broken("html_escape left a bare '&'");
        }
    }
}

void check_header_text(std::string_view value) {
    const std::string e = delivery::encode_header_text(value);
    std::size_t line = 0;
    for (std::size_t i = 0; i < e.size(); ++i) {
        const auto b = static_cast<unsigned char>(e[i]);
        if (b == '\r') {
            if (i + 2 >= e.size() || e[i + 1] != '\n' || e[i + 2] != ' ') {
                broken("encode_header_text has a CR that is not a fold (CRLF SP)");
            }
            line = 0;
            i += 1;
            continue;
        }
        if (b < 0x20 || b > 0x7e) {
            broken("encode_header_text left a byte that is not printable ASCII");
        }
        // A plain value is kept whole (its length is the caller's); encoded words are folded.
        if (++line > 76 && e.find("=?") != std::string::npos) {
            broken("encode_header_text gave a line of encoded words over 76 characters");
        }
    }
}

void check_mime(const delivery::email_content& mail, std::string_view from) {
    const auto box = delivery::parse_mailbox(from);
    if (!box) {
        return;
    }
    delivery::mail_headers h;
    h.from = *box;
    h.to = "alice@example.org";
    h.subject = mail.subject;
    h.message_id = "m1.fuzz@example.org";
    h.date = std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 56));
    h.language = "en";
    const auto built = delivery::build_mime(h, mail.text.reveal(), mail.html.reveal(), "=_fuzz");
    if (!built) {
        return;
    }
    const std::string_view m = built->reveal();
    for (std::size_t i = 0; i < m.size(); ++i) {
        if (m[i] == '\n' && (i == 0 || m[i - 1] != '\r')) {
            broken("a bare LF in the MIME message");
        }
        if (m[i] == '\r' && (i + 1 >= m.size() || m[i + 1] != '\n')) {
            broken("a bare CR in the MIME message");
        }
    }
    const auto end = m.find("\r\n\r\n");
    if (end == std::string_view::npos) {
        broken("no end of the MIME headers");
    }
    std::string_view headers = m.substr(0, end + 2);
    while (!headers.empty()) {
        const auto eol = headers.find("\r\n");
        if (eol > 998) {
            broken("a MIME header line over 998 characters");
        }
        headers.remove_prefix(eol + 2);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    constexpr std::array kinds{
        delivery::message_kind::code, delivery::message_kind::password_changed,
        delivery::message_kind::account_unlocked, delivery::message_kind::contact_added,
        delivery::message_kind::admin_password_reset};
    const auto kind = kinds.at((data[0] & 0x0fU) % kinds.size());
    const std::string_view language = (data[0] & 0x10U) != 0 ? "ko" : "en";
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto values = sspr::fuzz::split_fields(rest, 6);

    std::vector<std::string> neutral;
    for (std::size_t i = 0; i < 5; ++i) {
        check_clean(values[i]);
        check_header_text(values[i]);
        neutral.emplace_back(delivery::clean_text(values[i]).empty() ? "" : "x");
    }
    const auto msg = make(kind, language, values);
    const auto mail = delivery::render_email(msg);
    const auto plain = delivery::render_email(make(kind, language, neutral));
    if (mail.subject.find_first_of("\r\n") != std::string::npos) {
        broken("the subject is more than one line");
    }
    if (count(mail.text.reveal(), '\n') != count(plain.text.reveal(), '\n')) {
        broken("a value changed the text's line count");
    }
    if (count(mail.html.reveal(), '<') != count(plain.html.reveal(), '<') ||
        count(mail.html.reveal(), '>') != count(plain.html.reveal(), '>')) {
        broken("a value changed the HTML's markup");
    }
    const auto sms = delivery::render_sms_text(msg);
    if (kind == delivery::message_kind::code) {
        if (mail.text.reveal().find(the_code) == std::string_view::npos ||
            mail.html.reveal().find(the_code) == std::string_view::npos ||
            sms.reveal().find(the_code) == std::string_view::npos) {
            broken("a code message without its code");
        }
        // A value may carry the code's digits itself, also split by control characters that
        // clean_text drops ("48\x0e2913"): only a subject whose code comes from no value is wrong.
        const bool a_value_has_it = std::any_of(values.begin(), values.begin() + 5, [](auto& v) {
            return delivery::clean_text(v).find(the_code) != std::string::npos;
        });
        if (mail.subject.find(the_code) != std::string::npos && !a_value_has_it) {
            broken("the code is in the subject");
        }
    }
    check_mime(mail, values[5]);

    const std::string tmpl = R"({"to":"{to}","text":"{message}"})";
    const auto body = delivery::render_sms_body(config::sms_body_format::json, tmpl,
                                                "+821012345678", sms.reveal());
    boost::system::error_code ec;
    const auto v = boost::json::parse(body.reveal(), ec);
    if (ec || !v.is_object() || !v.as_object().contains("text") ||
        !v.as_object().at("text").is_string() ||
        v.as_object().at("text").as_string() != sms.reveal()) {
        broken("the JSON webhook body does not carry the SMS text");
    }
    return 0;
}
