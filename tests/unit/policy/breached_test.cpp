// Unit tests of policy/breached.hpp: SHA-1, the Pwned Passwords import, the binary file format,
// the mmap lookup and every refusal (the `ssprd breached` commands:
// tests/unit/gateway/commands_test.cpp). Files live in a fresh temporary directory per test. Hashes
// are the well-known SHA-1 values of the passwords (checked with coreutils sha1sum), written out by
// hand.
#include "policy/breached.hpp"

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using sspr::policy::breached_error;
using sspr::policy::breached_list;
using sspr::policy::breached_writer;
using sspr::policy::import_pwned;
using sspr::policy::parse_sha1_hex;
using sspr::policy::sha1;
using sspr::policy::sha1_digest;
using sspr::policy::to_hex;

namespace fs = std::filesystem;

namespace {

constexpr std::string_view sha1_password = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
constexpr std::string_view sha1_123456 = "7C4A8D09CA3762AF61E59520943DC26494F8941B";
constexpr std::string_view sha1_abc = "A9993E364706816ABA3E25717850C26C9CD0D89D";
constexpr std::string_view sha1_qwerty = "B1B3773A05C0ED0176787A4F1574FF0075F7521E";
constexpr std::string_view sha1_empty = "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709";

// Layout constants of the documented format (breached.hpp), restated by hand.
constexpr std::size_t index_offset = 32;
constexpr std::size_t entries_offset = 32 + 65537 * 8;

constexpr std::size_t index_at(std::size_t prefix) {
    return index_offset + prefix * 8;
}

struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "sspr-breached-test-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp failed");
        }
        path = pattern;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    [[nodiscard]] std::string file(const std::string& name) const { return (path / name).string(); }
    [[nodiscard]] std::size_t entries() const {
        return static_cast<std::size_t>(
            std::distance(fs::directory_iterator(path), fs::directory_iterator{}));
    }
};

sha1_digest digest(std::string_view hex) {
    const auto parsed = parse_sha1_hex(hex);
    REQUIRE(parsed.has_value());
    return *parsed;
}

std::string sorted_sample() {
    return std::string(sha1_password) + ":9545824\n" + std::string(sha1_123456) + ":37359195\n" +
           std::string(sha1_abc) + ":1\n";
}

std::string import_text(const std::string& input, const std::string& out_path,
                        std::uint64_t min_count = 0) {
    std::istringstream in(input);
    sspr::policy::import_options options;
    options.min_count = min_count;
    const auto result = import_pwned(in, out_path, options);
    REQUIRE(result.has_value());
    return out_path;
}

std::vector<char> read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::uint64_t read_u64le(const std::vector<char>& bytes, std::size_t at) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        v |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
    }
    return v;
}

breached_error open_error(const std::string& path) {
    const auto list = breached_list::open(path);
    REQUIRE_FALSE(list.has_value());
    return static_cast<breached_error>(list.error().code.value());
}

struct import_failure {
    breached_error error;
    std::uint64_t line;
    std::string detail;
};

import_failure import_error(const std::string& input, const std::string& out_path,
                            std::uint64_t min_count = 0) {
    std::istringstream in(input);
    sspr::policy::import_options options;
    options.min_count = min_count;
    const auto result = import_pwned(in, out_path, options);
    REQUIRE_FALSE(result.has_value());
    REQUIRE(&result.error().code.category() == &sspr::policy::breached_category());
    return {static_cast<breached_error>(result.error().code.value()), result.error().line,
            result.error().detail};
}

} // namespace

// ---- hashing and hex --------------------------------------------------------------------------

TEST_CASE("breached: sha1 gives the standard digests", "[policy]") {
    CHECK(to_hex(sha1("password")) == sha1_password);
    CHECK(to_hex(sha1("abc")) == sha1_abc); // FIPS 180 test vector
    CHECK(to_hex(sha1("")) == sha1_empty);
    CHECK(to_hex(sha1("qwerty")) == sha1_qwerty);
}

TEST_CASE("breached: parse_sha1_hex takes 40 hex digits of either case and nothing else",
          "[policy]") {
    const auto upper = parse_sha1_hex(sha1_password);
    REQUIRE(upper.has_value());
    CHECK((*upper)[0] == 0x5B);
    CHECK((*upper)[1] == 0xAA);
    CHECK((*upper)[19] == 0xD8);
    CHECK(parse_sha1_hex("5baa61e4c9b93f3f0682250b6cf8331b7ee68fd8") == upper);
    CHECK_FALSE(parse_sha1_hex("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD").has_value());   // 39
    CHECK_FALSE(parse_sha1_hex("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD80").has_value()); // 41
    CHECK_FALSE(parse_sha1_hex("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FDG").has_value());
    CHECK_FALSE(parse_sha1_hex("").has_value());
}

// ---- import and lookup ------------------------------------------------------------------------

TEST_CASE("breached: an imported list finds listed passwords and misses others", "[policy]") {
    const temp_dir dir;
    std::istringstream in(sorted_sample());
    const auto stats = import_pwned(in, dir.file("pwned.bin"));
    REQUIRE(stats.has_value());
    CHECK(stats->lines == 3);
    CHECK(stats->entries == 3);

    const auto list = breached_list::open(dir.file("pwned.bin"));
    REQUIRE(list.has_value());
    CHECK(list->size() == 3);
    CHECK(list->contains_password("password"));
    CHECK(list->contains_password("123456"));
    CHECK(list->contains_password("abc"));
    CHECK(list->contains(digest(sha1_abc)));
    CHECK_FALSE(list->contains_password("qwerty"));
    CHECK_FALSE(list->contains_password("Password"));
    CHECK_FALSE(list->contains_password(""));
    CHECK(list->verify().has_value());
    CHECK(dir.entries() == 1); // no temporary file left behind
}

TEST_CASE("breached: lookups agree with a plain binary search, uniform or skewed", "[policy]") {
    const temp_dir dir;
    std::mt19937_64 rng(7); // NOLINT(cert-msc32-c,cert-msc51-cpp): a reproducible test
    const auto random_digest = [&] {
        sha1_digest d{};
        for (auto& b : d) {
            b = static_cast<std::uint8_t>(rng());
        }
        return d;
    };
    std::vector<sha1_digest> listed;
    SECTION("uniform, as SHA-1 is") {
        for (int i = 0; i < 20000; ++i) {
            listed.push_back(random_digest());
        }
    }
    SECTION("skewed: one crowded bucket with runs and gaps") {
        for (int i = 0; i < 5000; ++i) {
            sha1_digest d{};
            d[0] = 0x5B;
            d[1] = 0xAA;
            d[2] = static_cast<std::uint8_t>(i < 4000 ? 0 : 0xFF);
            d[9] = static_cast<std::uint8_t>(i);
            d[8] = static_cast<std::uint8_t>(i >> 8);
            listed.push_back(d);
        }
        sha1_digest low{};
        low[0] = 0x5B;
        low[1] = 0xAA;
        listed.push_back(low);
        sha1_digest high{};
        high.fill(0xFF);
        listed.push_back(high);
    }
    std::sort(listed.begin(), listed.end());
    listed.erase(std::unique(listed.begin(), listed.end()), listed.end());
    {
        auto writer = breached_writer::create(dir.file("many.bin"));
        REQUIRE(writer.has_value());
        std::size_t refused = 0;
        for (const auto& d : listed) {
            refused += writer->add(d).has_value() ? 0U : 1U;
        }
        REQUIRE(refused == 0);
        REQUIRE(writer->commit().has_value());
    }
    const auto list = breached_list::open(dir.file("many.bin"));
    REQUIRE(list.has_value());
    REQUIRE(list->size() == listed.size());
    CHECK(list->verify().has_value());
    std::size_t missed = 0;
    for (const auto& d : listed) {
        missed += list->contains(d) ? 0U : 1U;
    }
    CHECK(missed == 0);
    // Neighbours of listed digests and random ones: found exactly when listed.
    std::size_t disagreements = 0;
    for (std::size_t i = 0; i < listed.size(); ++i) {
        for (sha1_digest probe : {listed[i], random_digest()}) {
            probe[19] = static_cast<std::uint8_t>(probe[19] ^ (i % 3 == 0 ? 1U : 0x80U));
            const bool expected = std::binary_search(listed.begin(), listed.end(), probe);
            disagreements += list->contains(probe) == expected ? 0U : 1U;
        }
    }
    CHECK(disagreements == 0);
    sha1_digest zero{};
    CHECK(list->contains(zero) == std::binary_search(listed.begin(), listed.end(), zero));
}

TEST_CASE("breached: the file has the documented layout", "[policy]") {
    const temp_dir dir;
    const auto bytes = read_bytes(import_text(sorted_sample(), dir.file("pwned.bin")));
    REQUIRE(bytes.size() == entries_offset + std::size_t{3} * 20);
    CHECK(std::string(bytes.data(), 8) == "SSPRBRCH");
    CHECK(bytes[8] == 1);   // version 1, little-endian
    CHECK(bytes[12] == 20); // digest size
    CHECK(read_u64le(bytes, 16) == 3);
    CHECK(bytes[24] == 16); // prefix bits
    // index[p] counts the entries below prefix p: 5BAA, 7C4A and A999 are the three prefixes.
    CHECK(read_u64le(bytes, index_at(0x5BAA)) == 0);
    CHECK(read_u64le(bytes, index_at(0x5BAB)) == 1);
    CHECK(read_u64le(bytes, index_at(0x7C4A)) == 1);
    CHECK(read_u64le(bytes, index_at(0x7C4B)) == 2);
    CHECK(read_u64le(bytes, index_at(0xA999)) == 2);
    CHECK(read_u64le(bytes, index_at(0xA99A)) == 3);
    CHECK(read_u64le(bytes, index_at(65536)) == 3);
    // Entries are the raw digests, ascending.
    CHECK(static_cast<unsigned char>(bytes[entries_offset]) == 0x5B);
    CHECK(static_cast<unsigned char>(bytes[entries_offset + 19]) == 0xD8);
    CHECK(static_cast<unsigned char>(bytes[entries_offset + 20]) == 0x7C);
    CHECK(static_cast<unsigned char>(bytes[entries_offset + 40]) == 0xA9);
}

TEST_CASE("breached: import accepts CRLF, lower-case hex, lines without a count and a BOM",
          "[policy]") {
    const temp_dir dir;
    const std::string input = "\xEF\xBB\xBF" + std::string(sha1_password) + ":3\r\n" +
                              "7c4a8d09ca3762af61e59520943dc26494f8941b\r\n" +
                              std::string(sha1_abc) + ":1"; // no final newline
    std::istringstream in(input);
    const auto stats = import_pwned(in, dir.file("pwned.bin"));
    REQUIRE(stats.has_value());
    CHECK(stats->entries == 3);
    const auto list = breached_list::open(dir.file("pwned.bin"));
    REQUIRE(list.has_value());
    CHECK(list->contains_password("password"));
    CHECK(list->contains_password("123456"));
    CHECK(list->contains_password("abc"));
}

TEST_CASE("breached: --min-count keeps only hashes seen often enough", "[policy]") {
    const temp_dir dir;
    std::istringstream in(sorted_sample());
    sspr::policy::import_options options;
    options.min_count = 2;
    const auto stats = import_pwned(in, dir.file("pwned.bin"), options);
    REQUIRE(stats.has_value());
    CHECK(stats->lines == 3);
    CHECK(stats->entries == 2);
    CHECK(stats->below_min_count == 1);
    const auto list = breached_list::open(dir.file("pwned.bin"));
    REQUIRE(list.has_value());
    CHECK(list->contains_password("password"));
    CHECK_FALSE(list->contains_password("abc")); // count 1
}

TEST_CASE("breached: empty input gives a valid empty list", "[policy]") {
    const temp_dir dir;
    import_text("", dir.file("empty.bin"));
    const auto list = breached_list::open(dir.file("empty.bin"));
    REQUIRE(list.has_value());
    CHECK(list->size() == 0);
    CHECK_FALSE(list->contains_password("password"));
    CHECK(list->verify().has_value());
}

TEST_CASE("breached: import reports progress every N lines", "[policy]") {
    const temp_dir dir;
    std::istringstream in(sorted_sample());
    std::vector<std::uint64_t> seen;
    sspr::policy::import_options options;
    options.progress_every = 2;
    options.progress = [&](std::uint64_t lines) { seen.push_back(lines); };
    REQUIRE(import_pwned(in, dir.file("pwned.bin"), options).has_value());
    CHECK(seen == std::vector<std::uint64_t>{2});
}

// ---- import refusals --------------------------------------------------------------------------

TEST_CASE("breached: unsorted input is refused with its line number", "[policy]") {
    const temp_dir dir;
    const std::string input = std::string(sha1_password) + ":1\n" + std::string(sha1_abc) + ":1\n" +
                              std::string(sha1_123456) + ":1\n";
    const auto failure = import_error(input, dir.file("pwned.bin"));
    CHECK(failure.error == breached_error::unsorted_input);
    CHECK(failure.line == 3);
    CHECK_FALSE(fs::exists(dir.file("pwned.bin")));
    CHECK(dir.entries() == 0); // the temporary file is gone too
}

TEST_CASE("breached: a repeated hash is refused as unsorted", "[policy]") {
    const temp_dir dir;
    const std::string input =
        std::string(sha1_password) + ":1\n" + std::string(sha1_password) + ":2\n";
    const auto failure = import_error(input, dir.file("pwned.bin"));
    CHECK(failure.error == breached_error::unsorted_input);
    CHECK(failure.line == 2);
}

TEST_CASE("breached: malformed lines are refused with their line number", "[policy]") {
    const temp_dir dir;
    const std::string good = std::string(sha1_password) + ":1\n";
    const std::string hash = std::string(sha1_qwerty);
    for (const std::string& bad : std::vector<std::string>{
             "not a hash", "", hash + ":", hash + ":12x", hash + " :1", hash + ":-1", hash + ":1:2",
             hash.substr(0, 39) + ":1", hash + "0:1", hash + ":99999999999999999999999"}) {
        CAPTURE(bad);
        const auto failure = import_error(good + bad + "\n", dir.file("pwned.bin"));
        CHECK(failure.error == breached_error::malformed_line);
        CHECK(failure.line == 2);
    }
    CHECK(dir.entries() == 0);
}

TEST_CASE("breached: an NTLM download is refused with a hint", "[policy]") {
    const temp_dir dir;
    const auto failure =
        import_error("8846F7EAEE8FB117AD06BDD830B7586C:1\n", dir.file("pwned.bin"));
    CHECK(failure.error == breached_error::malformed_line);
    CHECK(failure.line == 1);
    CHECK(failure.detail.find("NTLM") != std::string::npos);
}

TEST_CASE("breached: --min-count needs a count on every line", "[policy]") {
    const temp_dir dir;
    const std::string input = std::string(sha1_password) + ":5\n" + std::string(sha1_abc) + "\n";
    const auto failure = import_error(input, dir.file("pwned.bin"), 2);
    CHECK(failure.error == breached_error::missing_count);
    CHECK(failure.line == 2);
}

TEST_CASE("breached: a failed import leaves the existing file untouched", "[policy]") {
    const temp_dir dir;
    const std::string path = import_text(sorted_sample(), dir.file("pwned.bin"));
    const auto before = read_bytes(path);
    import_error(std::string(sha1_qwerty) + ":1\n" + std::string(sha1_abc) + ":1\n", path);
    CHECK(read_bytes(path) == before);
    CHECK(dir.entries() == 1);
}

TEST_CASE("breached: import into a missing directory fails as a write error", "[policy]") {
    const temp_dir dir;
    const auto failure = import_error(sorted_sample(), dir.file("no/such/dir/pwned.bin"));
    CHECK(failure.error == breached_error::write_failed);
}

TEST_CASE("breached: the writer refuses digests out of order and cleans up without commit",
          "[policy]") {
    const temp_dir dir;
    {
        auto writer = breached_writer::create(dir.file("w.bin"));
        REQUIRE(writer.has_value());
        REQUIRE(writer->add(digest(sha1_abc)).has_value());
        const auto added = writer->add(digest(sha1_password));
        REQUIRE_FALSE(added.has_value());
        CHECK(added.error().is(breached_error::not_ascending));
        CHECK(dir.entries() == 1); // the temporary file
    }
    CHECK(dir.entries() == 0);
    CHECK_FALSE(fs::exists(dir.file("w.bin")));
}

// ---- open refusals ----------------------------------------------------------------------------

TEST_CASE("breached: open refuses missing, empty, foreign, truncated and corrupt files",
          "[policy]") {
    const temp_dir dir;
    const std::string good = import_text(sorted_sample(), dir.file("good.bin"));
    const auto bytes = read_bytes(good);

    SECTION("missing") {
        CHECK(open_error(dir.file("missing.bin")) == breached_error::open_failed);
    }
    SECTION("a directory") {
        CHECK(open_error(dir.path.string()) == breached_error::open_failed);
    }
    SECTION("empty") {
        write_bytes(dir.file("x.bin"), {});
        CHECK(open_error(dir.file("x.bin")) == breached_error::truncated);
    }
    SECTION("the text file given by mistake") {
        const std::string text = sorted_sample();
        write_bytes(dir.file("x.bin"), {text.begin(), text.end()});
        CHECK(open_error(dir.file("x.bin")) == breached_error::truncated);
    }
    SECTION("wrong magic") {
        auto copy = bytes;
        copy[0] = 'X';
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::not_a_breached_file);
    }
    SECTION("a newer version") {
        auto copy = bytes;
        copy[8] = 2;
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::unsupported_version);
    }
    SECTION("another digest size") {
        auto copy = bytes;
        copy[12] = 16;
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::unsupported_version);
    }
    SECTION("cut in the last entry") {
        auto copy = bytes;
        copy.resize(copy.size() - 7);
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::truncated);
    }
    SECTION("cut in the index") {
        auto copy = bytes;
        copy.resize(1000);
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::truncated);
    }
    SECTION("bytes after the last entry") {
        auto copy = bytes;
        copy.push_back('\n');
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::corrupt);
    }
    SECTION("a count larger than the file") {
        auto copy = bytes;
        copy[16] = 4;
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::truncated);
    }
    SECTION("an absurd count") {
        auto copy = bytes;
        copy[23] = '\x7F';
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::corrupt);
    }
    SECTION("an index entry pointing past the end") {
        auto copy = bytes;
        copy[index_at(0x1000)] = 9; // index[0x1000] = 9 > count 3
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::corrupt);
    }
    SECTION("an index going backwards") {
        auto copy = bytes;
        copy[index_at(0x5BAB)] = 2; // index[0x5BAB] = 2 > index[0x5BAC] = 1
        write_bytes(dir.file("x.bin"), copy);
        CHECK(open_error(dir.file("x.bin")) == breached_error::corrupt);
    }
}

TEST_CASE("breached: verify finds entries out of order that open cannot see", "[policy]") {
    const temp_dir dir;
    // Two entries in the same bucket (prefix 5BAA), then swapped on disk.
    const std::string low = "5BAA000000000000000000000000000000000000";
    const std::string high = "5BAAFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF";
    auto bytes = read_bytes(import_text(low + ":1\n" + high + ":1\n", dir.file("pwned.bin")));
    std::swap_ranges(bytes.begin() + entries_offset, bytes.begin() + entries_offset + 20,
                     bytes.begin() + entries_offset + 20);
    write_bytes(dir.file("swapped.bin"), bytes);
    const auto list = breached_list::open(dir.file("swapped.bin"));
    REQUIRE(list.has_value());
    const auto verified = list->verify();
    REQUIRE_FALSE(verified.has_value());
    CHECK(verified.error().is(breached_error::corrupt));
}

TEST_CASE("breached: a failure describes itself with line and category text", "[policy]") {
    const sspr::policy::breached_failure failure{breached_error::unsorted_input, "x", 12};
    CHECK(failure.describe() == "line 12: input is not sorted by hash (or repeats a hash) (x)");
    CHECK(failure.code.category().name() == std::string("sspr.breached"));
}
