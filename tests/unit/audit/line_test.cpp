// Unit tests of audit/line.hpp: UTF-8 repair, escaping, time format and the line check that both
// the trail (continuing after a restart) and verify rely on. Expectations are written by hand.
#include "audit/line.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace sspr::audit::detail;
using namespace std::chrono_literals;

namespace {

const std::string fffd = "\xEF\xBF\xBD";

} // namespace

TEST_CASE("audit line: ill-formed UTF-8 becomes U+FFFD, one per maximal subpart", "[audit]") {
    CHECK(to_valid_utf8("plain ascii") == "plain ascii");
    CHECK(to_valid_utf8("\xC3\xA9\xED\x95\x9C\xF0\x9F\x98\x80") ==
          "\xC3\xA9\xED\x95\x9C\xF0\x9F\x98\x80");                         // é 한 😀 pass
    CHECK(to_valid_utf8("\xEF\xBF\xBF") == "\xEF\xBF\xBF");                // U+FFFF is a character
    CHECK(to_valid_utf8("\xF4\x8F\xBF\xBF") == "\xF4\x8F\xBF\xBF");        // U+10FFFF, the last one
    CHECK(to_valid_utf8("\x80") == fffd);                                  // stray continuation
    CHECK(to_valid_utf8("\xC0\x80") == fffd + fffd);                       // overlong NUL
    CHECK(to_valid_utf8("\xE0\x80\xAF") == fffd + fffd + fffd);            // overlong '/'
    CHECK(to_valid_utf8("\xED\xBF\xBF") == fffd + fffd + fffd);            // surrogate U+DFFF
    CHECK(to_valid_utf8("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd); // above U+10FFFF
    CHECK(to_valid_utf8("\xF5\xFF") == fffd + fffd);
    CHECK(to_valid_utf8("a\xE2\x82") == "a" + fffd);        // truncated at the end
    CHECK(to_valid_utf8("a\xE2\x82z") == "a" + fffd + "z"); // truncated in the middle
    CHECK(to_valid_utf8("\xF0\x9F\x98") == fffd);
    CHECK(to_valid_utf8("\xE2\x82\xE2\x82\xAC") == fffd + "\xE2\x82\xAC"); // then a whole €
}

TEST_CASE("audit line: fields are capped at 1024 bytes on a character boundary", "[audit]") {
    CHECK(field_value(std::string(1024, 'x')) == std::string(1024, 'x'));
    CHECK(field_value(std::string(1025, 'x')) == std::string(1021, 'x') + "\xE2\x80\xA6");
    // 340 three-byte characters are 1020 bytes; the 341st would end at byte 1023 of 1021 allowed.
    std::string han;
    for (int i = 0; i < 400; ++i) {
        han += "\xED\x95\x9C";
    }
    const std::string capped = field_value(han);
    CHECK(capped.size() == 1023);
    CHECK(capped == han.substr(0, 1020) + "\xE2\x80\xA6");
    CHECK(field_value("\xFF") == fffd);
}

TEST_CASE("audit line: times are UTC with milliseconds", "[audit]") {
    const std::chrono::system_clock::time_point t =
        std::chrono::sys_days{std::chrono::year{2026} / 12 / 6} + 21h + 5min + 7s + 9ms + 999us;
    CHECK(format_time(t) == "2026-12-06T21:05:07.009Z");
    CHECK(format_time(std::chrono::system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
    CHECK(format_time(std::chrono::sys_days{std::chrono::year{2024} / 2 / 29}) ==
          "2024-02-29T00:00:00.000Z");
}

TEST_CASE("audit line: serialize_line escapes what JSON allows raw but viewers misread",
          "[audit]") {
    boost::json::object o;
    o["a"] = "\xE2\x80\xA8|\xE2\x80\xA9|\xC2\x85|\x7F|\xC2\x9B|\xE2\x80\xAE|\xE2\x81\xA6|"
             "\xE2\x80\x8F|\x01|\"|\\|\xC2\xA0|\xE2\x80\xA7|\xE2\x80\xAF";
    CHECK(serialize_line(o) == R"({"a":"\u2028|\u2029|\u0085|\u007f|\u009b|\u202e|\u2066|)"
                               R"(\u200f|\u0001|\"|\\|)"
                               "\xC2\xA0|\xE2\x80\xA7|\xE2\x80\xAF\"}");
    // And it reads back as the same characters.
    CHECK(boost::json::parse(serialize_line(o)).as_object() == o);
}

TEST_CASE("audit line: chain_line adds seq and prev as serialize would", "[audit]") {
    sspr::audit::event e;
    e.time = std::chrono::sys_days{std::chrono::year{2026} / 12 / 6};
    e.username = "al\xE2\x80\xA8ice";
    e.step = "reset.start";
    e.outcome = "ok";
    const std::string rendered = render_event(e);
    CHECK(rendered == R"({"time":"2026-12-06T00:00:00.000Z","username":"al\u2028ice",)"
                      R"("step":"reset.start","outcome":"ok"})");
    const std::string line = chain_line(rendered, 7, std::string(64, 'a'));
    auto o = boost::json::parse(rendered).as_object();
    o["seq"] = 7;
    o["prev"] = std::string(64, 'a');
    CHECK(line == serialize_line(o));
    CHECK(check_line(line).ok);
}

TEST_CASE("audit line: check_line says what is wrong with a line", "[audit]") {
    const std::string prev(64, 'b');
    const auto line_with = [&](const std::string& members) {
        return R"({"time":"2026-12-06T00:00:00.000Z",)" + members + R"(,"prev":")" + prev + "\"}";
    };
    const std::string good = line_with(R"("step":"s","outcome":"ok","seq":3)");
    const auto c = check_line(good);
    CHECK(c.ok);
    CHECK(c.seq == 3);
    CHECK(c.prev == prev);

    const auto why = [](const std::string& line) { return check_line(line).why; };
    CHECK(why("{") == "not JSON");
    CHECK(why("{\"time\":\"\xFF\"}") == "not JSON"); // the parser refuses ill-formed UTF-8
    CHECK(why("\"text\"") == "not a JSON object");
    CHECK(why(line_with(R"("outcome":"ok","seq":3)")) == "missing field \"step\"");
    CHECK(why(line_with(R"("step":1,"outcome":"ok","seq":3)")) == "field \"step\" is not a string");
    CHECK(why(line_with(R"("step":"s","outcome":"ok","seq":0)")) ==
          "field \"seq\" is not a positive integer");
    CHECK(why(line_with(R"("step":"s","outcome":"ok","seq":-2)")) ==
          "field \"seq\" is not a positive integer");
    CHECK(why(line_with(R"("step":"s","outcome":"ok","seq":3.5)")) ==
          "field \"seq\" is not a positive integer");
    CHECK(why(line_with(R"("step":"s","outcome":"ok","seq":"3")")) ==
          "field \"seq\" is not a positive integer");
    CHECK(why(line_with(R"("step":"s","outcome":"ok","hint":[],"seq":3)")) ==
          "field \"hint\" is not a string");
    CHECK(why(R"({"time":"yesterday","step":"s","outcome":"ok","seq":3,"prev":")" + prev + "\"}") ==
          "field \"time\" is not a time like 2026-12-06T21:00:00.123Z");
    CHECK(why(line_with(R"("step":"s","outcome":"ok","seq":3)")
                  .replace(good.find(prev), 64, std::string(64, 'B'))) ==
          "field \"prev\" is not 64 lower-case hex digits");
    CHECK(why(line_with(R"("step":"s","outcome":"ok","seq":3)") + " ") ==
          "not in the form ssprd writes (reformatted, or a field given twice)");
    CHECK(why(line_with(R"("step":"\u0073","outcome":"ok","seq":3)")) ==
          "not in the form ssprd writes (reformatted, or a field given twice)");
    CHECK(why(line_with(R"("step":"s","step":"s","outcome":"ok","seq":3)")) ==
          "not in the form ssprd writes (reformatted, or a field given twice)");
    CHECK(why(line_with(R"("step":"s","outcome":"ok","seq":3)").insert(1, " ")) ==
          "not in the form ssprd writes (reformatted, or a field given twice)");
}

TEST_CASE("audit line: SHA-256 in lower-case hex", "[audit]") {
    CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
