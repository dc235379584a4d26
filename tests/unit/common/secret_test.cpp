// Unit tests of common/secret.hpp and common/wipe.hpp: no byte of a secret may stay behind in a
// buffer the secret passed through. The tests keep a pointer to a buffer before the move or the
// assignment and look at its bytes afterwards; short values are the interesting case, since they
// sit in the string's inline (SSO) buffer and a move copies them instead of handing over a pointer.
#include "common/secret.hpp"
#include "common/wipe.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>

using sspr::common::secret;
using sspr::common::wipe_string;
using sspr::common::wiping_string;

namespace {

/// True when none of the `n` bytes at `p` is non-zero.
bool all_zero(const char* p, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        if (p[i] != '\0') {
            return false;
        }
    }
    return true;
}

constexpr std::string_view short_value = "pin1234"; // fits the inline buffer of any std::string

} // namespace

TEST_CASE("secret: moving a short secret wipes the inline buffer it leaves behind", "[common]") {
    secret source{std::string(short_value)};
    const char* inline_buffer = source.reveal().data();
    const secret target(std::move(source));
    // The value was copied out of source's own buffer, not handed over as a pointer.
    REQUIRE(target.reveal().data() != inline_buffer);
    CHECK(target.reveal() == short_value);
    CHECK(all_zero(inline_buffer, short_value.size()));
}

TEST_CASE("secret: move-assigning a short secret wipes the source's inline buffer", "[common]") {
    secret source{std::string(short_value)};
    const char* inline_buffer = source.reveal().data();
    secret target{std::string("other")};
    target = std::move(source);
    REQUIRE(target.reveal().data() != inline_buffer);
    CHECK(target.reveal() == short_value);
    CHECK(all_zero(inline_buffer, short_value.size()));
}

TEST_CASE("secret: a std::string moved into a secret is wiped, inline buffer included",
          "[common]") {
    std::string plain(short_value);
    const char* inline_buffer = plain.data();
    const secret s(std::move(plain));
    REQUIRE(s.reveal().data() != inline_buffer);
    CHECK(s.reveal() == short_value);
    CHECK(all_zero(inline_buffer, short_value.size()));

    std::string long_plain(100, 'L');
    const secret from_heap(std::move(long_plain));
    CHECK(from_heap.reveal() == std::string(100, 'L'));
    CHECK(long_plain.empty()); // NOLINT(bugprone-use-after-move): checks the moved-from string
}

TEST_CASE("secret: assigning a shorter value wipes the tail of the longer one", "[common]") {
    const std::string long_value(40, 'x');
    SECTION("copy assignment") {
        secret target{std::string(long_value)};
        const char* buffer = target.reveal().data();
        const secret shorter{std::string(short_value)};
        target = shorter;
        // Same allocation, reused for the shorter value: the old tail must be gone.
        REQUIRE(target.reveal().data() == buffer);
        CHECK(target.reveal() == short_value);
        CHECK(all_zero(buffer + short_value.size(), long_value.size() - short_value.size()));
    }
    SECTION("move assignment of an inline value") {
        secret target{std::string(long_value)};
        const char* buffer = target.reveal().data();
        target = secret{std::string(short_value)};
        REQUIRE(target.reveal().data() == buffer);
        CHECK(target.reveal() == short_value);
        CHECK(all_zero(buffer + short_value.size(), long_value.size() - short_value.size()));
    }
    SECTION("move assignment of a heap value hands this buffer back wiped") {
        secret target{std::string(long_value)};
        const char* old_buffer = target.reveal().data();
        secret source{std::string(50, 'y')};
        target = std::move(source);
        CHECK(target.reveal() == std::string(50, 'y'));
        // libstdc++ gives the old buffer to the source instead of freeing it; whichever string
        // owns it now, its bytes are gone.
        // NOLINTNEXTLINE(bugprone-use-after-move): tests what the move leaves behind
        if (source.reveal().data() == old_buffer) {
            CHECK(all_zero(old_buffer, long_value.size()));
        }
        CHECK(source.empty());
    }
}

TEST_CASE("wipe: wipe_string clears the whole capacity, past the size too", "[common]") {
    std::string s(64, 'k');
    const char* buffer = s.data();
    s.resize(3); // the 61 bytes after the size still hold 'k'
    wipe_string(s);
    CHECK(s.empty());
    REQUIRE(s.data() == buffer);
    CHECK(all_zero(buffer, 64));
}

TEST_CASE("wipe: a wiping_string wipes what a move leaves behind and never copies", "[common]") {
    std::string plain(short_value);
    const char* inline_buffer = plain.data();
    wiping_string w(std::move(plain));
    CHECK(w.view() == short_value);
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.InnerPointer): plain's inline buffer, still alive
    CHECK(all_zero(inline_buffer, short_value.size()));

    const char* w_buffer = w.get().data();
    wiping_string moved(std::move(w));
    REQUIRE(moved.get().data() != w_buffer);
    CHECK(moved.view() == short_value);
    CHECK(all_zero(w_buffer, short_value.size()));
    static_assert(!std::is_copy_constructible_v<wiping_string>);
}
