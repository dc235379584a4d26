// Unit tests of delivery/templates.hpp: the words of each message in English and Korean, values
// escaped for HTML and cleaned of control characters, the code never in a subject.
#include "delivery/templates.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using sspr::delivery::channel;
using sspr::delivery::message;
using sspr::delivery::message_kind;

namespace {

// 2024-05-01 09:30:05 UTC
const auto fixed_time = std::chrono::system_clock::time_point(1714555805s);

message code_message(std::string language, std::string organisation, std::string name) {
    message m;
    m.kind = message_kind::code;
    m.via = channel::email;
    m.language = std::move(language);
    m.destination = "alice@example.org";
    m.params.code = sspr::common::secret("493817");
    m.params.code_lifetime = 600s;
    m.params.organisation = std::move(organisation);
    m.params.display_name = std::move(name);
    m.params.when = fixed_time;
    return m;
}

message notice(message_kind kind, std::string language) {
    message m;
    m.kind = kind;
    m.via = channel::email;
    m.language = std::move(language);
    m.destination = "alice@example.org";
    m.params.organisation = "Example Corp";
    m.params.display_name = "Alice Example";
    m.params.account = "padmin";
    m.params.contact = "+82 ** **** 5678";
    m.params.when = fixed_time;
    return m;
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

} // namespace

TEST_CASE("templates: English code email, plain text, word for word", "[delivery]") {
    const auto out = render_email(code_message("en", "Example Corp", "Alice Example"));
    CHECK(out.subject == "Example Corp: your verification code");
    CHECK(out.text.reveal() ==
          "Hello Alice Example,\n"
          "\n"
          "Your Example Corp verification code is:\n"
          "\n"
          "    493817\n"
          "\n"
          "It expires in 10 minutes and works only once.\n"
          "\n"
          "Example Corp staff will never ask you for this code, by phone, email or chat. Do not "
          "share it with anyone.\n"
          "\n"
          "If you did not ask for a code, ignore this message: nothing changes without it.\n"
          "\n"
          "-- \n"
          "This message was sent automatically by the Example Corp password self-service. Please "
          "do not reply to it.\n");
}

TEST_CASE("templates: Korean code email, plain text, word for word", "[delivery]") {
    const auto out = render_email(code_message("ko-KR", "예시 주식회사", "김민지"));
    CHECK(out.subject == "[예시 주식회사] 인증 코드 안내");
    CHECK(out.text.reveal() ==
          "김민지님, 안녕하세요.\n"
          "\n"
          "예시 주식회사 인증 코드는 다음과 같습니다.\n"
          "\n"
          "    493817\n"
          "\n"
          "이 코드는 10분 후에 만료되며 한 번만 사용할 수 있습니다.\n"
          "\n"
          "예시 주식회사 직원은 전화, 이메일, 채팅 등 어떤 방법으로도 이 코드를 묻지 않습니다. "
          "누구에게도 알려 주지 마세요.\n"
          "\n"
          "코드를 요청하지 않으셨다면 이 메시지를 무시하세요. 코드 없이는 아무것도 변경되지 "
          "않습니다.\n"
          "\n"
          "-- \n"
          "이 메시지는 예시 주식회사 비밀번호 셀프서비스에서 자동으로 발송되었습니다. 회신하지 "
          "마세요.\n");
    CHECK(contains(out.html.reveal(), "<html lang=\"ko\">"));
    CHECK(contains(out.html.reveal(), "<p>김민지님, 안녕하세요.</p>"));
}

TEST_CASE("templates: the HTML body escapes every value and shows the code", "[delivery]") {
    const auto out =
        render_email(code_message("en", "A&B <Tools> \"Q\" 'S'", "<script>alert(1)</script>"));
    const auto html = out.html.reveal();
    CHECK(contains(html, "<p>Your A&amp;B &lt;Tools&gt; &quot;Q&quot; &#39;S&#39; verification "
                         "code is:</p>"));
    CHECK(contains(html, "<p>Hello &lt;script&gt;alert(1)&lt;/script&gt;,</p>"));
    CHECK_FALSE(contains(html, "<script>"));
    CHECK_FALSE(contains(html, "<Tools>"));
    CHECK(contains(html, "letter-spacing: 4px;\">493817</p>"));
    CHECK(contains(html, "<title>A&amp;B &lt;Tools&gt; &quot;Q&quot; &#39;S&#39;: your "
                         "verification code</title>"));
    CHECK(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n"));
    CHECK(html.ends_with("</body>\n</html>\n"));
    // The plain text keeps the value as written.
    CHECK(contains(out.text.reveal(), "Your A&B <Tools> \"Q\" 'S' verification code is:"));
}

TEST_CASE("templates: a value cannot add a line or a header", "[delivery]") {
    auto m = code_message("en", "Example\r\nBcc: evil@example.org", "Eve\nX-Injected: 1");
    const auto out = render_email(m);
    CHECK(out.subject == "Example  Bcc: evil@example.org: your verification code");
    CHECK(out.text.reveal().starts_with("Hello Eve X-Injected: 1,\n\n"));
    CHECK_FALSE(contains(out.subject, "\n"));
    CHECK_FALSE(contains(out.subject, "\r"));
}

TEST_CASE("templates: no kind and language shows the code in its subject or leaves a "
          "placeholder",
          "[delivery]") {
    for (const auto kind :
         {message_kind::code, message_kind::password_changed, message_kind::account_unlocked,
          message_kind::contact_added, message_kind::admin_password_reset}) {
        for (const char* language : {"en", "ko"}) {
            auto m = notice(kind, language);
            m.params.code = sspr::common::secret("493817");
            m.params.code_lifetime = 600s;
            const auto out = render_email(m);
            const auto sms = sspr::delivery::render_sms_text(m);
            INFO(std::string(to_string(kind)) + " " + language);
            CHECK_FALSE(out.subject.empty());
            CHECK_FALSE(contains(out.subject, "493817"));
            CHECK_FALSE(contains(out.subject, "{"));
            CHECK_FALSE(contains(out.text.reveal(), "{"));
            CHECK_FALSE(contains(out.html.reveal(), "{"));
            CHECK_FALSE(contains(sms.reveal(), "{"));
            CHECK(contains(out.subject, "Example Corp"));
            CHECK(contains(out.text.reveal(), "Example Corp"));
            CHECK(contains(out.html.reveal(), "Example Corp"));
            if (kind == message_kind::code) {
                CHECK(contains(out.text.reveal(), "493817"));
                CHECK(contains(sms.reveal(), "493817"));
            } else {
                // Notices never carry a code, even when one is (wrongly) given.
                CHECK_FALSE(contains(out.text.reveal(), "493817"));
                CHECK_FALSE(contains(sms.reveal(), "493817"));
                CHECK(contains(out.text.reveal(), "2024-05-01 09:30 UTC"));
                CHECK(contains(sms.reveal(), "2024-05-01 09:30 UTC"));
            }
        }
    }
}

TEST_CASE("templates: notices name the helpdesk, or a generic one", "[delivery]") {
    auto m = notice(message_kind::password_changed, "en");
    CHECK(contains(render_email(m).text.reveal(),
                   "If you did not, contact your IT helpdesk at once: someone else may have access "
                   "to your account."));
    m.params.helpdesk = "help@example.org";
    CHECK(contains(render_email(m).text.reveal(),
                   "If you did not, contact help@example.org at once"));
    CHECK(
        contains(render_email(m).text.reveal(),
                 "The password of your Example Corp account was changed on 2024-05-01 09:30 UTC."));

    auto ko = notice(message_kind::password_changed, "ko");
    CHECK(render_email(ko).subject == "[Example Corp] 비밀번호가 변경되었습니다");
    CHECK(contains(render_email(ko).text.reveal(),
                   "Example Corp 계정의 비밀번호가 2024-05-01 09:30 UTC에 변경되었습니다."));
    CHECK(contains(render_email(ko).text.reveal(), "즉시 연락하세요: IT 헬프데스크."));

    auto contact = notice(message_kind::contact_added, "en");
    CHECK(contains(render_email(contact).text.reveal(),
                   "A new contact method was added to your Example Corp account on 2024-05-01 "
                   "09:30 UTC: +82 ** **** 5678"));
    auto admin = notice(message_kind::admin_password_reset, "en");
    CHECK(render_email(admin).subject == "Example Corp: an administrator's password was reset");
    CHECK(contains(render_email(admin).text.reveal(),
                   "The password of the administrator account padmin was reset"));
}

TEST_CASE("templates: SMS texts, word for word", "[delivery]") {
    CHECK(render_sms_text(code_message("en", "Example Corp", "")).reveal() ==
          "Example Corp: your verification code is 493817. It expires in 10 minutes. Staff will "
          "never ask for it; do not share it.");
    CHECK(render_sms_text(code_message("ko", "예시", "")).reveal() ==
          "[예시] 인증 코드 493817 (10분 후 만료). 직원은 이 코드를 절대 묻지 않습니다. "
          "누구에게도 알려 주지 마세요.");
    CHECK(render_sms_text(notice(message_kind::password_changed, "en")).reveal() ==
          "Example Corp: your password was changed on 2024-05-01 09:30 UTC. Not you? Contact "
          "your IT helpdesk at once.");
}

TEST_CASE("templates: greeting without a name", "[delivery]") {
    CHECK(render_email(code_message("en", "X Corp", "")).text.reveal().starts_with("Hello,\n\n"));
    CHECK(render_email(code_message("ko", "X Corp", ""))
              .text.reveal()
              .starts_with("안녕하세요.\n\n"));
}

TEST_CASE("templates: languages", "[delivery]") {
    using sspr::delivery::pick_language;
    CHECK(pick_language("ko") == "ko");
    CHECK(pick_language("ko-KR") == "ko");
    CHECK(pick_language("KO_kr") == "ko");
    CHECK(pick_language("en-GB") == "en");
    CHECK(pick_language("kok") == "en");
    CHECK(pick_language("fr") == "en");
    CHECK(pick_language("") == "en");
}

TEST_CASE("templates: lifetimes in words", "[delivery]") {
    using sspr::delivery::format_lifetime;
    CHECK(format_lifetime(600s, "en") == "10 minutes");
    CHECK(format_lifetime(60s, "en") == "1 minute");
    CHECK(format_lifetime(3600s, "en") == "1 hour");
    CHECK(format_lifetime(86400s, "en") == "24 hours");
    CHECK(format_lifetime(90s, "en") == "90 seconds");
    CHECK(format_lifetime(1s, "en") == "1 second");
    CHECK(format_lifetime(600s, "ko") == "10분");
    CHECK(format_lifetime(7200s, "ko") == "2시간");
    CHECK(format_lifetime(90s, "ko") == "90초");
}

TEST_CASE("templates: times are shown in UTC to the minute", "[delivery]") {
    CHECK(sspr::delivery::format_time_utc(fixed_time) == "2024-05-01 09:30 UTC");
    CHECK(sspr::delivery::format_time_utc(std::chrono::system_clock::time_point{}) ==
          "1970-01-01 00:00 UTC");
}

TEST_CASE("templates: clean_text drops control characters and repairs UTF-8", "[delivery]") {
    using sspr::delivery::clean_text;
    CHECK(clean_text("a\x01"
                     "b\x7f"
                     "c") == "abc");
    CHECK(clean_text("line\r\nbreak\ttab") == "line  break tab");
    CHECK(clean_text("\xC2\x85next") == "next"); // U+0085, a C1 control
    CHECK(clean_text("a\xE2\x80\xA8"
                     "b\xE2\x80\xA9"
                     "c") == "abc");                                             // U+2028, U+2029
    CHECK(clean_text("\xFF") == "\xEF\xBF\xBD");                                 // not UTF-8
    CHECK(clean_text("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                 // overlong '/'
    CHECK(clean_text("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"); // surrogate
    CHECK(clean_text("\xE4\xB8") == "\xEF\xBF\xBD\xEF\xBF\xBD");                 // truncated
    CHECK(clean_text("김민지 Jürgen 😀") == "김민지 Jürgen 😀");
}
