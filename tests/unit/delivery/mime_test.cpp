// Unit tests of delivery/mime.hpp: the message is built, then read back with an independent
// reader (mime_reader.hpp) and compared with what went in.
#include "delivery/mime.hpp"

#include "tests/support/mime_reader.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace std::chrono_literals;
using sspr::delivery::build_mime;
using sspr::delivery::encode_header_text;
using sspr::delivery::mail_headers;
using sspr::delivery::mailbox;
using sspr::delivery::parse_mailbox;
using sspr::testing::decode_words;
using sspr::testing::parse_entity;
using sspr::testing::parse_parts;

namespace {

mail_headers sample_headers(std::string subject) {
    return mail_headers{
        mailbox{"예시 IT", "noreply@example.org"},
        "alice@example.org",
        std::move(subject),
        "0123456789abcdef@example.org",
        std::chrono::system_clock::time_point(1714555805s),
        "ko",
    };
}

} // namespace

TEST_CASE("mime: a message reads back as multipart/alternative with both bodies", "[delivery]") {
    const std::string text = "안녕하세요.\n\n    493817\n.\n.leading dot\n";
    const std::string html = "<!DOCTYPE html>\n<p>493817</p>\n";
    const auto raw = build_mime(sample_headers("[예시] 인증 코드 안내"), text, html, "=_sspr_b1");
    REQUIRE(raw.has_value());
    const auto msg = parse_entity(raw->reveal());

    CHECK(msg.header("Date") == "Wed, 01 May 2024 09:30:05 +0000");
    CHECK(decode_words(*msg.header("From")) == "예시 IT <noreply@example.org>");
    CHECK(msg.header("To") == "alice@example.org");
    CHECK(decode_words(*msg.header("Subject")) == "[예시] 인증 코드 안내");
    CHECK(msg.header("Message-ID") == "<0123456789abcdef@example.org>");
    CHECK(msg.header("MIME-Version") == "1.0");
    CHECK(msg.header("Content-Language") == "ko");
    CHECK(msg.header("Auto-Submitted") == "auto-generated");
    const auto content_type = *msg.header("Content-Type");
    CHECK(content_type.starts_with("multipart/alternative;"));
    CHECK(sspr::testing::header_parameter(content_type, "boundary") == "=_sspr_b1");
    for (const char* once : {"Date", "From", "To", "Subject", "Message-ID", "Content-Type"}) {
        CHECK(msg.count(once) == 1);
    }

    const auto parts = parse_parts(msg.body, "=_sspr_b1");
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].header("Content-Type") == "text/plain; charset=UTF-8");
    CHECK(parts[0].header("Content-Transfer-Encoding") == "base64");
    CHECK(parts[1].header("Content-Type") == "text/html; charset=UTF-8");
    CHECK(parts[1].header("Content-Transfer-Encoding") == "base64");
    // Text is sent in canonical form: CRLF line ends.
    CHECK(sspr::testing::base64_decode(parts[0].body) ==
          "안녕하세요.\r\n\r\n    493817\r\n.\r\n.leading dot\r\n");
    CHECK(sspr::testing::base64_decode(parts[1].body) == "<!DOCTYPE html>\r\n<p>493817</p>\r\n");
}

TEST_CASE("mime: every line ends in CRLF and stays within 78 characters", "[delivery]") {
    std::string long_text(5000, 'x');
    const auto raw = build_mime(sample_headers(std::string(300, 'S')), long_text, long_text,
                                "=_sspr_0123456789abcdef0123456789abcdef");
    REQUIRE(raw.has_value());
    const auto s = raw->reveal();
    std::size_t start = 0;
    std::size_t longest = 0;
    while (start < s.size()) {
        const auto eol = s.find("\r\n", start);
        REQUIRE(eol != std::string_view::npos); // the message ends with CRLF
        const auto line = s.substr(start, eol - start);
        CHECK(line.find('\n') == std::string_view::npos);
        CHECK(line.find('\r') == std::string_view::npos);
        if (!line.starts_with("Subject:")) { // a 300-character ASCII subject stays one line
            longest = std::max(longest, line.size());
        }
        start = eol + 2;
    }
    CHECK(longest <= 78);
    CHECK(parse_entity(s).header("Subject") == std::string(300, 'S'));
}

TEST_CASE("mime: header text is plain ASCII or encoded words on character boundaries",
          "[delivery]") {
    CHECK(encode_header_text("Example Corp: your verification code") ==
          "Example Corp: your verification code");
    // "인증" is EC 9D B8 EC A6 9D in UTF-8.
    CHECK(encode_header_text("인증") == "=?UTF-8?B?7J247Kad?=");
    // Something that looks like an encoded word is encoded, so it reads back as written.
    CHECK(encode_header_text("=?x?=").starts_with("=?UTF-8?B?"));
    CHECK(decode_words(encode_header_text("=?x?=")) == "=?x?=");
    CHECK(encode_header_text("tab\there").starts_with("=?UTF-8?B?"));

    const std::string korean = "[예시 주식회사] 관리자 계정의 비밀번호가 재설정되었습니다";
    const auto encoded = encode_header_text(korean);
    CHECK(decode_words(encoded) == korean);
    std::size_t words = 0;
    std::size_t start = 0;
    while (start <= encoded.size()) {
        const auto end = std::min(encoded.find("\r\n ", start), encoded.size());
        const auto word = std::string_view(encoded).substr(start, end - start);
        CHECK(word.size() <= 60);
        CHECK(word.starts_with("=?UTF-8?B?"));
        CHECK(word.ends_with("?="));
        // Each word decodes to whole characters: valid UTF-8 on its own.
        const auto bytes = sspr::testing::base64_decode(word.substr(10, word.size() - 12));
        CHECK((static_cast<unsigned char>(bytes.front()) & 0xC0U) != 0x80U);
        ++words;
        start = end + 3;
    }
    CHECK(words >= 2);
}

TEST_CASE("mime: dates are RFC 5322 in UTC", "[delivery]") {
    using sspr::delivery::format_rfc5322_date;
    CHECK(format_rfc5322_date(std::chrono::system_clock::time_point(1714555805s)) ==
          "Wed, 01 May 2024 09:30:05 +0000");
    CHECK(format_rfc5322_date(std::chrono::system_clock::time_point{}) ==
          "Thu, 01 Jan 1970 00:00:00 +0000");
    CHECK(format_rfc5322_date(std::chrono::system_clock::time_point(951782400s)) ==
          "Tue, 29 Feb 2000 00:00:00 +0000");
}

TEST_CASE("mime: base64 lines", "[delivery]") {
    using sspr::delivery::base64_lines;
    CHECK(base64_lines("") == "");
    CHECK(base64_lines("f") == "Zg==\r\n");
    CHECK(base64_lines("foobar") == "Zm9vYmFy\r\n");
    const auto long_line = base64_lines(std::string(58, 'a')); // 80 base64 characters
    CHECK(long_line == std::string("YWFh")
                           .append("YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh"
                                   "YWFh")
                           .append("\r\nYQ==\r\n"));
}

TEST_CASE("mime: sender addresses as configured", "[delivery]") {
    auto plain = parse_mailbox("noreply@example.org");
    REQUIRE(plain.has_value());
    CHECK(plain->display_name.empty());
    CHECK(plain->address == "noreply@example.org");

    auto named = parse_mailbox("  Example IT <it@example.org> ");
    REQUIRE(named.has_value());
    CHECK(named->display_name == "Example IT");
    CHECK(named->address == "it@example.org");

    auto quoted = parse_mailbox(R"("IT, \"Help\" Desk" <it@example.org>)");
    REQUIRE(quoted.has_value());
    CHECK(quoted->display_name == R"(IT, "Help" Desk)");

    CHECK_FALSE(parse_mailbox("Example IT it@example.org>").has_value());
    CHECK_FALSE(parse_mailbox("Example <it@example.org").has_value());
    CHECK_FALSE(parse_mailbox("").has_value());
    CHECK_FALSE(parse_mailbox("<it@example.org\r\nBcc: x@y.org>").has_value());
}

TEST_CASE("mime: an ASCII display name is quoted, a Korean one encoded", "[delivery]") {
    auto h = sample_headers("s");
    h.from = mailbox{R"(IT "Help" Desk)", "it@example.org"};
    auto msg = parse_entity(build_mime(h, "t", "h", "=_b").value().reveal());
    CHECK(msg.header("From") == R"("IT \"Help\" Desk" <it@example.org>)");
    h.from = mailbox{"", "it@example.org"};
    msg = parse_entity(build_mime(h, "t", "h", "=_b").value().reveal());
    CHECK(msg.header("From") == "it@example.org");
    h.from = mailbox{"예시 IT", "it@example.org"};
    msg = parse_entity(build_mime(h, "t", "h", "=_b").value().reveal());
    CHECK(msg.header("From")->starts_with("=?UTF-8?B?"));
}

TEST_CASE("mime: an address that is not one plain addr-spec never reaches a header", "[delivery]") {
    for (const char* bad :
         {"alice@example.org\r\nBcc: eve@evil.example", "alice@example.org\nBcc: eve@evil.example",
          "alice@example.org, eve@evil.example", "alice@example.org,eve@evil.example",
          "Alice <alice@example.org>", "alice@example.org ", "", "alice"}) {
        INFO(bad);
        auto h = sample_headers("s");
        h.to = bad;
        const auto r = build_mime(h, "t", "h", "=_b");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().is(sspr::delivery::error::invalid_destination));
        h = sample_headers("s");
        h.from.address = bad;
        CHECK_FALSE(build_mime(h, "t", "h", "=_b").has_value());
    }
}

TEST_CASE("mime: a message id or boundary with unsafe characters is refused", "[delivery]") {
    for (const char* bad : {"", "abc", "abc@", "@example.org", "a b@example.org",
                            "abc@example.org\r\nBcc: eve@evil.example", "abc>@example.org",
                            "a,b@example.org", "abc@exa mple.org"}) {
        INFO(bad);
        auto h = sample_headers("s");
        h.message_id = bad;
        const auto r = build_mime(h, "t", "h", "=_b");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().is(sspr::delivery::error::invalid_message));
    }
    // RFC 2046 allows 70 characters: 71 are refused, 70 pass (below).
    const std::string too_long = "=_" + std::string(69, '7');
    for (const char* bad : {"", "b1", "=_b\r\nX-Injected: 1", "=_b\"", too_long.c_str()}) {
        INFO(bad);
        const auto r = build_mime(sample_headers("s"), "t", "h", bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().is(sspr::delivery::error::invalid_message));
    }
    // What the SMTP client builds passes, and so does the longest boundary allowed.
    CHECK(build_mime(sample_headers("s"), "t", "h", "=_sspr_0123456789abcdef0123456789abcdef")
              .has_value());
    CHECK(build_mime(sample_headers("s"), "t", "h", "=_" + std::string(68, '7')).has_value());
}
