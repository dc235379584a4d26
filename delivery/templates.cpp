#include "delivery/templates.hpp"

#include <array>
#include <ctime>
#include <span>
#include <stdexcept>
#include <utility>

namespace sspr::delivery {
namespace {

enum class block_style { paragraph, code, footer };

struct block {
    block_style style;
    std::string_view text;
};

struct message_template {
    std::string_view subject;
    std::span<const block> blocks;
    std::string_view sms;
};

using enum block_style;

// ---- English ----------------------------------------------------------------------------------

constexpr std::string_view en_footer =
    "This message was sent automatically by the {organisation} password self-service. "
    "Please do not reply to it.";

constexpr std::array en_code_blocks{
    block{paragraph, "{greeting}"},
    block{paragraph, "Your {organisation} verification code is:"},
    block{code, "{code}"},
    block{paragraph, "It expires in {lifetime} and works only once."},
    block{paragraph, "{organisation} staff will never ask you for this code, by phone, email or "
                     "chat. Do not share it with anyone."},
    block{paragraph, "If you did not ask for a code, ignore this message: nothing changes "
                     "without it."},
    block{footer, en_footer},
};

constexpr std::array en_changed_blocks{
    block{paragraph, "{greeting}"},
    block{paragraph, "The password of your {organisation} account was changed on {time}."},
    block{paragraph, "If you did this, there is nothing more to do."},
    block{paragraph, "If you did not, contact {helpdesk} at once: someone else may have access "
                     "to your account."},
    block{footer, en_footer},
};

constexpr std::array en_unlocked_blocks{
    block{paragraph, "{greeting}"},
    block{paragraph, "Your {organisation} account was unlocked on {time}."},
    block{paragraph, "If you did this, there is nothing more to do."},
    block{paragraph, "If you did not, contact {helpdesk} at once: someone else may be trying to "
                     "use your account."},
    block{footer, en_footer},
};

constexpr std::array en_contact_blocks{
    block{paragraph, "{greeting}"},
    block{paragraph, "A new contact method was added to your {organisation} account on {time}: "
                     "{contact}"},
    block{paragraph, "Codes to reset your password can now be sent there."},
    block{paragraph, "If you did not add it, contact {helpdesk} at once: someone else may have "
                     "access to your account."},
    block{footer, en_footer},
};

constexpr std::array en_admin_blocks{
    block{paragraph, "Hello,"},
    block{paragraph, "The password of the administrator account {account} was reset through the "
                     "{organisation} password self-service on {time}."},
    block{paragraph, "If this was not expected, check the audit log and contact the account's "
                     "owner."},
    block{footer, en_footer},
};

constexpr std::array en_templates{
    message_template{"{organisation}: your verification code", en_code_blocks,
                     "{organisation}: your verification code is {code}. It expires in "
                     "{lifetime}. Staff will never ask for it; do not share it."},
    message_template{"{organisation}: your password was changed", en_changed_blocks,
                     "{organisation}: your password was changed on {time}. Not you? Contact "
                     "{helpdesk} at once."},
    message_template{"{organisation}: your account was unlocked", en_unlocked_blocks,
                     "{organisation}: your account was unlocked on {time}. Not you? Contact "
                     "{helpdesk} at once."},
    message_template{"{organisation}: a new contact method was added", en_contact_blocks,
                     "{organisation}: a new contact method was added to your account on {time}: "
                     "{contact}. Not you? Contact {helpdesk} at once."},
    message_template{"{organisation}: an administrator's password was reset", en_admin_blocks,
                     "{organisation}: the password of administrator account {account} was reset "
                     "on {time}."},
};

// ---- Korean -----------------------------------------------------------------------------------

constexpr std::string_view ko_footer =
    "이 메시지는 {organisation} 비밀번호 셀프서비스에서 자동으로 발송되었습니다. "
    "회신하지 마세요.";

constexpr std::array ko_code_blocks{
    block{paragraph, "{greeting}"},
    block{paragraph, "{organisation} 인증 코드는 다음과 같습니다."},
    block{code, "{code}"},
    block{paragraph, "이 코드는 {lifetime} 후에 만료되며 한 번만 사용할 수 있습니다."},
    block{paragraph, "{organisation} 직원은 전화, 이메일, 채팅 등 어떤 방법으로도 이 코드를 묻지 "
                     "않습니다. 누구에게도 알려 주지 마세요."},
    block{paragraph, "코드를 요청하지 않으셨다면 이 메시지를 무시하세요. 코드 없이는 아무것도 "
                     "변경되지 않습니다."},
    block{footer, ko_footer},
};

constexpr std::array ko_changed_blocks{
    block{paragraph, "{greeting}"},
    block{paragraph, "{organisation} 계정의 비밀번호가 {time}에 변경되었습니다."},
    block{paragraph, "본인이 변경하셨다면 더 하실 일은 없습니다."},
    block{paragraph, "본인이 변경하지 않으셨다면 즉시 연락하세요: {helpdesk}. 다른 사람이 계정을 "
                     "사용하고 있을 수 있습니다."},
    block{footer, ko_footer},
};

constexpr std::array ko_unlocked_blocks{
    block{paragraph, "{greeting}"},
    block{paragraph, "{organisation} 계정의 잠금이 {time}에 해제되었습니다."},
    block{paragraph, "본인이 해제하셨다면 더 하실 일은 없습니다."},
    block{paragraph, "본인이 해제하지 않으셨다면 즉시 연락하세요: {helpdesk}. 다른 사람이 계정을 "
                     "사용하려 하고 있을 수 있습니다."},
    block{footer, ko_footer},
};

constexpr std::array ko_contact_blocks{
    block{paragraph, "{greeting}"},
    block{paragraph, "{time}에 {organisation} 계정에 새 연락처가 등록되었습니다: {contact}"},
    block{paragraph, "이제 비밀번호 재설정 코드를 이 연락처로 받을 수 있습니다."},
    block{paragraph, "본인이 등록하지 않으셨다면 즉시 연락하세요: {helpdesk}. 다른 사람이 계정을 "
                     "사용하고 있을 수 있습니다."},
    block{footer, ko_footer},
};

constexpr std::array ko_admin_blocks{
    block{paragraph, "안녕하세요."},
    block{paragraph, "관리자 계정 {account}의 비밀번호가 {time}에 {organisation} 비밀번호 "
                     "셀프서비스로 재설정되었습니다."},
    block{paragraph, "예상하지 못한 일이라면 감사 로그를 확인하고 계정 소유자에게 연락하세요."},
    block{footer, ko_footer},
};

constexpr std::array ko_templates{
    message_template{"[{organisation}] 인증 코드 안내", ko_code_blocks,
                     "[{organisation}] 인증 코드 {code} ({lifetime} 후 만료). 직원은 이 코드를 "
                     "절대 묻지 않습니다. 누구에게도 알려 주지 마세요."},
    message_template{"[{organisation}] 비밀번호가 변경되었습니다", ko_changed_blocks,
                     "[{organisation}] {time}에 비밀번호가 변경되었습니다. 본인이 아니라면 즉시 "
                     "연락하세요: {helpdesk}"},
    message_template{"[{organisation}] 계정 잠금이 해제되었습니다", ko_unlocked_blocks,
                     "[{organisation}] {time}에 계정 잠금이 해제되었습니다. 본인이 아니라면 즉시 "
                     "연락하세요: {helpdesk}"},
    message_template{"[{organisation}] 새 연락처가 등록되었습니다", ko_contact_blocks,
                     "[{organisation}] {time}에 새 연락처가 등록되었습니다: {contact}. 본인이 "
                     "아니라면 즉시 연락하세요: {helpdesk}"},
    message_template{"[{organisation}] 관리자 계정의 비밀번호가 재설정되었습니다", ko_admin_blocks,
                     "[{organisation}] 관리자 계정 {account}의 비밀번호가 {time}에 "
                     "재설정되었습니다."},
};

const message_template& template_for(message_kind kind, std::string_view language) {
    const auto& table = language == "ko" ? ko_templates : en_templates;
    switch (kind) {
    case message_kind::code:
        return table[0];
    case message_kind::password_changed:
        return table[1];
    case message_kind::account_unlocked:
        return table[2];
    case message_kind::contact_added:
        return table[3];
    case message_kind::admin_password_reset:
        return table[4];
    case message_kind::invalid:
        break;
    }
    // The dispatcher refuses kind::invalid before anything is rendered.
    throw std::logic_error("render: message kind not set");
}

// ---- rendering --------------------------------------------------------------------------------

using values = std::array<std::pair<std::string_view, std::string_view>, 8>;

// Replaces each {name} that `vals` knows; anything else in braces stays as written.
std::string substitute(std::string_view text, const values& vals) {
    std::string out;
    out.reserve(text.size() + 32);
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto open = text.find('{', pos);
        if (open == std::string_view::npos) {
            break;
        }
        const auto close = text.find('}', open);
        if (close == std::string_view::npos) {
            break;
        }
        const auto name = text.substr(open + 1, close - open - 1);
        out.append(text.substr(pos, open - pos));
        bool known = false;
        for (const auto& [key, value] : vals) {
            if (!key.empty() && key == name) {
                out.append(value);
                known = true;
                break;
            }
        }
        if (!known) {
            out.append(text.substr(open, close - open + 1));
        }
        pos = close + 1;
    }
    out.append(text.substr(pos));
    return out;
}

// The placeholder values of one message, cleaned, in the message's language. Holds the code while
// a message is rendered; wipes it afterwards.
class placeholders {
public:
    placeholders(const message& msg, std::string_view language)
        : organisation_(clean_text(msg.params.organisation)),
          name_(clean_text(msg.params.display_name)), account_(clean_text(msg.params.account)),
          contact_(clean_text(msg.params.contact)), helpdesk_(clean_text(msg.params.helpdesk)),
          code_(clean_text(msg.params.code.reveal())),
          lifetime_(format_lifetime(msg.params.code_lifetime, language)),
          time_(format_time_utc(msg.params.when)) {
        const bool ko = language == "ko";
        if (helpdesk_.empty()) {
            helpdesk_ = ko ? "IT 헬프데스크" : "your IT helpdesk";
        }
        if (ko) {
            greeting_ = name_.empty() ? "안녕하세요." : name_ + "님, 안녕하세요.";
        } else {
            greeting_ = name_.empty() ? "Hello," : "Hello " + name_ + ",";
        }
    }

    [[nodiscard]] values get() const {
        return {{{"organisation", organisation_},
                 {"greeting", greeting_},
                 {"account", account_},
                 {"contact", contact_},
                 {"helpdesk", helpdesk_},
                 {"code", code_.reveal()},
                 {"lifetime", lifetime_},
                 {"time", time_}}};
    }

private:
    std::string organisation_;
    std::string name_;
    std::string account_;
    std::string contact_;
    std::string helpdesk_;
    common::secret code_;
    std::string lifetime_;
    std::string time_;
    std::string greeting_;
};

void append_utf8(std::string& out, char32_t cp) {
    // Only used for U+FFFD here.
    out += static_cast<char>(0xE0U | (cp >> 12U));
    out += static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU));
    out += static_cast<char>(0x80U | (cp & 0x3FU));
}

} // namespace

std::string_view pick_language(std::string_view requested) noexcept {
    const auto primary = requested.substr(0, requested.find_first_of("-_"));
    if (primary.size() == 2 && (primary[0] == 'k' || primary[0] == 'K') &&
        (primary[1] == 'o' || primary[1] == 'O')) {
        return "ko";
    }
    return "en";
}

email_content render_email(const message& msg) {
    const auto language = pick_language(msg.language);
    const auto& tmpl = template_for(msg.kind, language);
    const placeholders ph(msg, language);
    const auto vals = ph.get();

    email_content out;
    out.subject = substitute(tmpl.subject, vals);

    std::string text;
    std::string html = "<!DOCTYPE html>\n<html lang=\"" + std::string(language) +
                       "\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                       "<title>" +
                       html_escape(out.subject) +
                       "</title>\n</head>\n"
                       "<body style=\"font-family: Arial, 'Malgun Gothic', sans-serif; "
                       "color: #222222; line-height: 1.5;\">\n";
    for (const auto& b : tmpl.blocks) {
        std::string line = substitute(b.text, vals);
        if (!text.empty()) {
            text += "\n\n";
        }
        switch (b.style) {
        case paragraph:
            html += "<p>" + html_escape(line) + "</p>\n";
            text += line;
            break;
        case code:
            html += "<p style=\"font-family: monospace; font-size: 28px; font-weight: bold; "
                    "letter-spacing: 4px;\">" +
                    html_escape(line) + "</p>\n";
            text += "    " + line;
            break;
        case footer:
            html += "<p style=\"font-size: 12px; color: #666666;\">" + html_escape(line) + "</p>\n";
            text += "-- \n" + line;
            break;
        }
    }
    text += "\n";
    html += "</body>\n</html>\n";
    out.text = common::secret(std::move(text));
    out.html = common::secret(std::move(html));
    return out;
}

common::secret render_sms_text(const message& msg) {
    const auto language = pick_language(msg.language);
    const placeholders ph(msg, language);
    return common::secret(substitute(template_for(msg.kind, language).sms, ph.get()));
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 16);
    for (const char c : text) {
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&#39;";
            break;
        default:
            out += c;
            break;
        }
    }
    return out;
}

std::string clean_text(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(value[i]); };
    const auto continuation = [&](std::size_t i, unsigned lo, unsigned hi) {
        return i < value.size() && byte(i) >= lo && byte(i) <= hi;
    };
    std::size_t i = 0;
    while (i < value.size()) {
        const unsigned b = byte(i);
        std::size_t len = 0;
        if (b < 0x80U) {
            if (b == '\t' || b == '\n' || b == '\r') {
                out += ' ';
            } else if (b >= 0x20U && b != 0x7FU) {
                out += static_cast<char>(b);
            }
            ++i;
            continue;
        }
        if (b >= 0xC2U && b <= 0xDFU && continuation(i + 1, 0x80, 0xBF)) {
            len = 2;
        } else if (b >= 0xE0U && b <= 0xEFU &&
                   continuation(i + 1, b == 0xE0U ? 0xA0U : 0x80U, b == 0xEDU ? 0x9FU : 0xBFU) &&
                   continuation(i + 2, 0x80, 0xBF)) {
            len = 3;
        } else if (b >= 0xF0U && b <= 0xF4U &&
                   continuation(i + 1, b == 0xF0U ? 0x90U : 0x80U, b == 0xF4U ? 0x8FU : 0xBFU) &&
                   continuation(i + 2, 0x80, 0xBF) && continuation(i + 3, 0x80, 0xBF)) {
            len = 4;
        }
        if (len == 0) {
            append_utf8(out, U'\uFFFD');
            ++i;
            continue;
        }
        const bool c1_control = len == 2 && b == 0xC2U && byte(i + 1) <= 0x9FU;
        // U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR break lines in some readers.
        const bool separator = len == 3 && b == 0xE2U && byte(i + 1) == 0x80U &&
                               (byte(i + 2) == 0xA8U || byte(i + 2) == 0xA9U);
        if (!c1_control && !separator) {
            out.append(value.substr(i, len));
        }
        i += len;
    }
    return out;
}

std::string format_lifetime(std::chrono::seconds lifetime, std::string_view language) {
    const auto total = lifetime.count();
    const bool ko = pick_language(language) == "ko";
    long long n = total;
    std::string_view en_unit = "second";
    std::string_view ko_unit = "초";
    if (total > 0 && total % 3600 == 0) {
        n = total / 3600;
        en_unit = "hour";
        ko_unit = "시간";
    } else if (total > 0 && total % 60 == 0) {
        n = total / 60;
        en_unit = "minute";
        ko_unit = "분";
    }
    if (ko) {
        return std::to_string(n) + std::string(ko_unit);
    }
    return std::to_string(n) + " " + std::string(en_unit) + (n == 1 ? "" : "s");
}

std::string format_time_utc(std::chrono::system_clock::time_point when) {
    const std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    std::array<char, 32> buffer{};
    const auto n = std::strftime(buffer.data(), buffer.size(), "%Y-%m-%d %H:%M UTC", &tm);
    return std::string(buffer.data(), n);
}

} // namespace sspr::delivery
