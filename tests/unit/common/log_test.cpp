// Unit tests of common/log.hpp: stderr is redirected to a temporary file (dup/dup2) for each test
// and the exact lines are compared with hand-written expectations.
#include "common/log.hpp"
#include "tests/support/stderr_capture.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using namespace std::string_view_literals;
using sspr::common::log;
using sspr::common::log_level;
using sspr::common::set_log_level;
using sspr::testing::stderr_capture;

namespace {

// The level is process-wide: every test leaves it at the default.
struct default_level_after {
    default_level_after() = default;
    default_level_after(const default_level_after&) = delete;
    default_level_after& operator=(const default_level_after&) = delete;
    ~default_level_after() { set_log_level(log_level::info); }
};

std::size_t count_newlines(const std::string& text) {
    return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

} // namespace

TEST_CASE("log: one line with the level, the quoted message and the fields in order", "[common]") {
    stderr_capture capture;
    log(log_level::info, "user found", {{"login", "jdoe"}, {"flow", "reset"}});
    CHECK(capture.text() == "level=info msg=\"user found\" login=\"jdoe\" flow=\"reset\"\n");
}

TEST_CASE("log: without fields only level and message are written", "[common]") {
    stderr_capture capture;
    log(log_level::error, "directory unreachable");
    log(log_level::warning, "", {{"empty", ""}});
    CHECK(capture.text() == "level=error msg=\"directory unreachable\"\n"
                            "level=warning msg=\"\" empty=\"\"\n");
}

TEST_CASE("log: each level has its name", "[common]") {
    const default_level_after guard;
    set_log_level(log_level::debug);
    stderr_capture capture;
    log(log_level::debug, "d");
    log(log_level::info, "i");
    log(log_level::warning, "w");
    log(log_level::error, "e");
    CHECK(capture.text() == "level=debug msg=\"d\"\n"
                            "level=info msg=\"i\"\n"
                            "level=warning msg=\"w\"\n"
                            "level=error msg=\"e\"\n");
}

TEST_CASE("log: control characters are escaped so that an event stays on one line", "[common]") {
    stderr_capture capture;
    // A login that tries to forge a second event.
    log(log_level::warning, "bad\r\nmessage", {{"login", "evil\nlevel=error msg=\"forged\""}});
    const std::string text = capture.text();
    CHECK(count_newlines(text) == 1);
    CHECK(text == "level=warning msg=\"bad\\x0d\\x0amessage\" "
                  "login=\"evil\\x0alevel=error msg=\\\"forged\\\"\"\n");
}

TEST_CASE("log: quotes, backslashes, tabs, escape and NUL bytes are escaped", "[common]") {
    stderr_capture capture;
    log(log_level::info, "m", {{"v", "a\"b\\c\td\x1b[31me\0f"sv}});
    CHECK(capture.text() == "level=info msg=\"m\" v=\"a\\\"b\\\\c\\x09d\\x1b[31me\\x00f\"\n");
}

TEST_CASE("log: non-ASCII UTF-8 is written as is", "[common]") {
    stderr_capture capture;
    log(log_level::info, "user found", {{"name", "J\xC3\xBCrgen"}});
    CHECK(capture.text() == "level=info msg=\"user found\" name=\"J\xC3\xBCrgen\"\n");
}

TEST_CASE("log: C1 controls are escaped as code points", "[common]") {
    stderr_capture capture;
    // U+0085 NEL is a line break to some viewers; U+009B is CSI, a terminal escape on its own.
    log(log_level::info, "m",
        {{"v", "a\xC2\x85"
               "b\xC2\x9B"
               "31mc\xC2\x80\xC2\x9F"}});
    CHECK(capture.text() == "level=info msg=\"m\" v=\"a\\u0085b\\u009b31mc\\u0080\\u009f\"\n");
}

TEST_CASE("log: the line and paragraph separators are escaped", "[common]") {
    stderr_capture capture;
    log(log_level::info, "x\xE2\x80\xA8y", {{"v", "p\xE2\x80\xA9q"}});
    CHECK(capture.text() == "level=info msg=\"x\\u2028y\" v=\"p\\u2029q\"\n");
}

TEST_CASE("log: bytes that are not well-formed UTF-8 are escaped one by one", "[common]") {
    stderr_capture capture;
    log(log_level::info, "m",
        {{"lone", "a\xFF"
                  "b"},                    // never valid
         {"truncated", "c\xE2\x80"},       // sequence cut short at the end
         {"overlong", "\xC0\xAF"},         // '/' in two bytes
         {"surrogate", "\xED\xA0\x80"},    // U+D800
         {"too_big", "\xF4\x90\x80\x80"},  // above U+10FFFF
         {"then_valid", "\x80\xC3\xBC"}}); // a stray continuation byte, then a real 'ü'
    CHECK(capture.text() == "level=info msg=\"m\" lone=\"a\\xffb\" truncated=\"c\\xe2\\x80\" "
                            "overlong=\"\\xc0\\xaf\" surrogate=\"\\xed\\xa0\\x80\" "
                            "too_big=\"\\xf4\\x90\\x80\\x80\" then_valid=\"\\x80\xC3\xBC\"\n");
}

TEST_CASE("log: characters next to the escaped ranges are written as is", "[common]") {
    stderr_capture capture;
    // U+00A0, U+2027, U+202A (bidi controls are left to the reader), 4-byte U+1F600.
    log(log_level::info, "m", {{"v", "\xC2\xA0\xE2\x80\xA7\xE2\x80\xAA\xF0\x9F\x98\x80"}});
    CHECK(capture.text() ==
          "level=info msg=\"m\" v=\"\xC2\xA0\xE2\x80\xA7\xE2\x80\xAA\xF0\x9F\x98\x80\"\n");
}

TEST_CASE("log: the default level is info, so debug is not written", "[common]") {
    stderr_capture capture;
    log(log_level::debug, "hidden");
    log(log_level::info, "shown");
    CHECK(capture.text() == "level=info msg=\"shown\"\n");
}

TEST_CASE("log: set_log_level(warning) suppresses debug and info", "[common]") {
    const default_level_after guard;
    set_log_level(log_level::warning);
    stderr_capture capture;
    log(log_level::debug, "hidden debug");
    log(log_level::info, "hidden info");
    log(log_level::warning, "shown warning");
    log(log_level::error, "shown error");
    CHECK(capture.text() == "level=warning msg=\"shown warning\"\n"
                            "level=error msg=\"shown error\"\n");
}

TEST_CASE("log: set_log_level(error) suppresses warnings too", "[common]") {
    const default_level_after guard;
    set_log_level(log_level::error);
    stderr_capture capture;
    log(log_level::warning, "hidden");
    log(log_level::error, "shown");
    CHECK(capture.text() == "level=error msg=\"shown\"\n");
}

TEST_CASE("log: lines written from several threads never interleave", "[common]") {
    constexpr int threads = 4;
    constexpr int lines_each = 200;
    std::vector<std::string> payloads;
    payloads.reserve(threads);
    std::map<std::string, int> expected;
    for (int t = 0; t < threads; ++t) {
        payloads.emplace_back(2000, static_cast<char>('a' + t));
        expected["level=info msg=\"tick\" payload=\"" + payloads.back() + "\""] = 0;
    }
    stderr_capture capture;
    {
        std::vector<std::jthread> writers;
        writers.reserve(threads);
        for (int t = 0; t < threads; ++t) {
            writers.emplace_back([&payloads, t] {
                for (int i = 0; i < lines_each; ++i) {
                    log(log_level::info, "tick",
                        {{"payload", payloads[static_cast<std::size_t>(t)]}});
                }
            });
        }
    }
    const std::string text = capture.text();
    REQUIRE(count_newlines(text) == static_cast<std::size_t>(threads * lines_each));
    std::size_t start = 0;
    int unexpected = 0;
    while (start < text.size()) {
        const std::size_t end = text.find('\n', start);
        const auto it = expected.find(text.substr(start, end - start));
        if (it == expected.end()) {
            ++unexpected;
        } else {
            ++it->second;
        }
        start = end + 1;
    }
    CHECK(unexpected == 0);
    for (const auto& [line, seen] : expected) {
        INFO(line.substr(0, 40));
        CHECK(seen == lines_each);
    }
}
