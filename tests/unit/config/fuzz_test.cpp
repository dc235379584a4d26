// Garbled input (random bytes, mutated copies of the example, random trees of known keys, deep
// nesting, alias fan-out): the loader never crashes or throws, and always answers with either a
// configuration or a list of errors that each have a place, a key path and a message. The seed is
// fixed and the counts bounded, so a failure reproduces.
#include "config/key_table.hpp"
#include "config/loader.hpp"

#include "tests/support/config_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

using namespace sspr::config;
using namespace sspr::config::testing;

namespace {

const std::string secret_marker = "FUZZ-SECRET-9f2c";

fake_system fuzz_files() {
    auto files = fake_system::with_standard_files();
    // Every secret the example names holds the marker, so a leak into a message shows.
    files.file("/run/credentials/ssprd.service/ldap.pw", secret_marker + "\n", 0400)
        .file("/etc/ssprd/smtp.pw", secret_marker + "\n")
        .file("/etc/ssprd/sms-api.key", secret_marker + "\n")
        .file("/etc/ssprd/ldap.pw", secret_marker + "\n");
    return files;
}

/// Checks the invariants of one load and returns whether it produced a configuration.
bool check_one(const std::string& text, const load_options& options) {
    load_result r = loaded_config{};
    REQUIRE_NOTHROW(r = load_string(text, "fuzz.yaml", options));
    const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    const auto check_list = [&](const std::vector<diagnostic>& list) {
        for (const auto& d : list) {
            REQUIRE(d.file == "fuzz.yaml");
            REQUIRE_FALSE(d.path.empty());
            REQUIRE_FALSE(d.message.empty());
            REQUIRE(d.line <= lines + 2);
            REQUIRE(to_string(d).find(secret_marker) == std::string::npos);
        }
    };
    if (r) {
        check_list(r->warnings);
        return true;
    }
    REQUIRE_FALSE(r.error().errors.empty());
    check_list(r.error().errors);
    check_list(r.error().warnings);
    return false;
}

std::vector<std::string> all_key_names() {
    std::vector<std::string> names;
    std::function<void(const key_spec&)> walk = [&](const key_spec& k) {
        for (const auto& c : k.children) {
            names.push_back(c.name);
            walk(c);
        }
        for (const auto& i : k.item) {
            walk(i);
        }
    };
    walk(key_table());
    return names;
}

} // namespace

TEST_CASE("fuzz: random bytes never crash the loader", "[config][fuzz]") {
    std::mt19937 rng(20240601); // NOLINT(cert-msc32-c,cert-msc51-cpp): a reproducible test
    const auto options = fuzz_files().options();
    const std::string alphabet = "abcz019:-[]{},&*!|>'\"#%@`?\t\n \\\x01\xc3\xa9\xff";
    for (int i = 0; i < 1500; ++i) {
        std::string text;
        const auto size = std::uniform_int_distribution<std::size_t>(0, 200)(rng);
        for (std::size_t k = 0; k < size; ++k) {
            text +=
                alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
        }
        INFO(i);
        check_one(text, options);
    }
}

TEST_CASE("fuzz: mutations of the example never crash the loader", "[config][fuzz]") {
    std::mt19937 rng(7); // NOLINT(cert-msc32-c,cert-msc51-cpp): a reproducible test
    const auto options = fuzz_files().options();
    const std::string example = read_source_file("config/ssprd.example.yaml");
    const std::vector<std::string> inserts{"[",
                                           "]",
                                           "{",
                                           "}",
                                           ":",
                                           ": ",
                                           "- ",
                                           "&a ",
                                           "*a",
                                           "!!str ",
                                           "!!int ",
                                           "\t",
                                           "\n",
                                           "'",
                                           "\"",
                                           "---\n",
                                           "<<: *a\n",
                                           "~",
                                           "? ",
                                           "|\n",
                                           "  ",
                                           "#",
                                           "%YAML 1.2\n",
                                           "\xef\xbb\xbf",
                                           std::string(1, '\0')};
    int valid = 0;
    for (int i = 0; i < 1500; ++i) {
        std::string text = example;
        const int edits = std::uniform_int_distribution<int>(1, 6)(rng);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = std::uniform_int_distribution<std::size_t>(0, text.size())(rng);
            switch (std::uniform_int_distribution<int>(0, 4)(rng)) {
            case 0: // delete a run
                text.erase(at, std::uniform_int_distribution<std::size_t>(1, 20)(rng));
                break;
            case 1: // insert YAML punctuation
                text.insert(at, inserts[std::uniform_int_distribution<std::size_t>(
                                    0, inserts.size() - 1)(rng)]);
                break;
            case 2: // duplicate a run elsewhere
            {
                const std::string run = text.substr(at, 40);
                text.insert(std::uniform_int_distribution<std::size_t>(0, text.size())(rng), run);
                break;
            }
            case 3: // truncate
                text.resize(at);
                break;
            default: // flip a byte
                if (at < text.size()) {
                    text[at] = static_cast<char>(text[at] ^ 0x20);
                }
                break;
            }
        }
        INFO(i);
        valid += check_one(text, options) ? 1 : 0;
    }
    // Most mutations break something; a few land in comments and stay valid.
    CHECK(valid < 1500);
}

TEST_CASE("fuzz: random trees of known keys never crash the loader", "[config][fuzz]") {
    std::mt19937 rng(99); // NOLINT(cert-msc32-c,cert-msc51-cpp): a reproducible test
    const auto options = fuzz_files().options();
    const std::vector<std::string> keys = all_key_names();
    const std::vector<std::string> scalars{"true",
                                           "false",
                                           "0",
                                           "1",
                                           "-1",
                                           "65536",
                                           "30s",
                                           "0s",
                                           "250ms",
                                           "10m",
                                           "730d",
                                           "\"\"",
                                           "x",
                                           "en",
                                           "ko",
                                           "email",
                                           "questions",
                                           "all",
                                           "selected",
                                           "deny",
                                           "/etc/ssprd/ldap.pw",
                                           "${CREDENTIALS_DIRECTORY}/ldap.pw",
                                           "https://a.example.org",
                                           "~",
                                           "[]",
                                           "{}",
                                           "dc=example,dc=org",
                                           "\"(uid={login})\""};
    std::function<std::string(int)> value = [&](int depth) -> std::string {
        const int kind = std::uniform_int_distribution<int>(0, depth > 3 ? 0 : 2)(rng);
        if (kind == 0) {
            return scalars[std::uniform_int_distribution<std::size_t>(0, scalars.size() - 1)(rng)];
        }
        const int n = std::uniform_int_distribution<int>(0, 4)(rng);
        std::string s = kind == 1 ? "[" : "{";
        for (int i = 0; i < n; ++i) {
            s += i == 0 ? "" : ", ";
            if (kind == 2) {
                s += keys[std::uniform_int_distribution<std::size_t>(0, keys.size() - 1)(rng)] +
                     ": ";
            }
            s += value(depth + 1);
        }
        return s + (kind == 1 ? "]" : "}");
    };
    for (int i = 0; i < 1000; ++i) {
        std::string text;
        const std::vector<std::string> sections{
            "server",   "directory", "store",         "delivery",   "methods", "policy",
            "password", "throttles", "notifications", "enrollment", "audit",   "ui"};
        for (const auto& s : sections) {
            if (std::uniform_int_distribution<int>(0, 1)(rng) == 1) {
                text += s + ": " + value(1) + "\n";
            }
        }
        INFO(i << ": " << text);
        check_one(text, options);
    }
}

TEST_CASE("fuzz: deep nesting and alias fan-out are refused, not followed", "[config][fuzz]") {
    const auto options = fuzz_files().options();
    CHECK_FALSE(check_one(std::string(20000, '['), options));
    CHECK_FALSE(
        check_one("ui: " + std::string(5000, '[') + std::string(5000, ']') + "\n", options));
    std::string deep_map = "ui:\n";
    for (int i = 0; i < 3000; ++i) {
        deep_map += std::string(static_cast<std::size_t>(2 * i + 2), ' ') + "k:\n";
    }
    CHECK_FALSE(check_one(deep_map, options));

    // Each level refers to the one below nine times (a "billion laughs" shape). yaml-cpp shares
    // aliased nodes; the loader only walks as deep as the key table, so this stays cheap.
    std::string laughs = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
    for (int i = 1; i < 10; ++i) {
        const std::string prev = "*a" + std::to_string(i - 1);
        laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [" + prev;
        for (int k = 0; k < 8; ++k) {
            laughs += ", " + prev;
        }
        laughs += "]\n";
    }
    laughs += "policy: {scope: all, admin_groups: *a9, rules: *a9}\n";
    CHECK_FALSE(check_one(laughs, options));
}
