// Unit tests of challenge/hints.hpp: masks of real addresses and numbers, and the fake hints of
// unknown logins, which must be stable, case-blind and impossible to tell from real ones. Expected
// fake digits and domains were computed with an independent HMAC-SHA-256 (Python's hmac module)
// over the length-prefixed label and login, as the header describes.
//
// The indistinguishability cases build 1,000 realistic real contacts (people with Korean and
// other names, logins made from them, a mix of corporate and public mailboxes with local parts in
// the usual patterns, mobile numbers of several countries in several spellings) and 1,000 fakes
// for other logins, and look at every visible feature: the whole hint, each revealed character,
// and whether a revealed character repeats the login's initial. A frequency classifier trained on
// one half must not beat chance (accuracy <= 0.55) on the other, and a chi-square two-sample test
// must not find a difference (p >= 0.01). Everything is seeded, so the figures are the same on
// every run.
#include "challenge/hints.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace challenge = sspr::challenge;

const sspr::common::secret key{std::string(32, 'k')};
const std::vector<std::string> domains{"corp.example", "mail.example", "example.org"};

std::string masked_email(std::string_view address) {
    const auto m = challenge::mask_email(address);
    REQUIRE(m.has_value());
    return *m;
}

std::string masked_phone(std::string_view number) {
    const auto m = challenge::mask_phone(number);
    REQUIRE(m.has_value());
    return *m;
}

// ---- statistics ---------------------------------------------------------------------------------

/// Regularised upper incomplete gamma Q(a, x) (series below a + 1, continued fraction above), as
/// in Numerical Recipes' gammq: the chi-square survival function is Q(df / 2, chi2 / 2).
double gamma_q(double a, double x) {
    if (x <= 0.0) {
        return 1.0;
    }
    const double log_prefix = -x + a * std::log(x) - std::lgamma(a);
    if (x < a + 1.0) {
        double term = 1.0 / a;
        double sum = term;
        for (int n = 1; n < 1000; ++n) {
            term *= x / (a + n);
            sum += term;
            if (std::fabs(term) < std::fabs(sum) * 1e-15) {
                break;
            }
        }
        return 1.0 - sum * std::exp(log_prefix);
    }
    constexpr double tiny = 1e-300;
    double b = x + 1.0 - a;
    double c = 1.0 / tiny;
    double d = 1.0 / b;
    double h = d;
    for (int i = 1; i < 1000; ++i) {
        const double an = -i * (i - a);
        b += 2.0;
        d = an * d + b;
        d = std::fabs(d) < tiny ? tiny : d;
        c = b + an / c;
        c = std::fabs(c) < tiny ? tiny : c;
        d = 1.0 / d;
        const double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1.0) < 1e-15) {
            break;
        }
    }
    return std::exp(log_prefix) * h;
}

using counts = std::map<std::string, int>;

counts count_of(const std::vector<std::string>& values) {
    counts out;
    for (const auto& v : values) {
        ++out[v];
    }
    return out;
}

/// p-value of the chi-square test that two samples of a categorical feature come from one
/// distribution. Categories with fewer than 10 observations in both samples together are pooled,
/// so that no expected count is tiny.
double chi_square_p(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    const auto ca = count_of(a);
    const auto cb = count_of(b);
    std::map<std::string, std::pair<double, double>> table;
    for (const auto& [k, n] : ca) {
        table[k].first += n;
    }
    for (const auto& [k, n] : cb) {
        table[k].second += n;
    }
    std::vector<std::pair<double, double>> cells;
    std::pair<double, double> pooled{0, 0};
    for (const auto& [k, cell] : table) {
        if (cell.first + cell.second < 10) {
            pooled.first += cell.first;
            pooled.second += cell.second;
        } else {
            cells.push_back(cell);
        }
    }
    if (pooled.first + pooled.second > 0) {
        cells.push_back(pooled);
    }
    if (cells.size() < 2) {
        return 1.0; // one category only: nothing to tell apart
    }
    const auto na = static_cast<double>(a.size());
    const auto nb = static_cast<double>(b.size());
    double chi2 = 0;
    for (const auto& [x, y] : cells) {
        const double row = x + y;
        const double ea = row * na / (na + nb);
        const double eb = row * nb / (na + nb);
        chi2 += (x - ea) * (x - ea) / ea + (y - eb) * (y - eb) / eb;
    }
    const double df = static_cast<double>(cells.size() - 1);
    return gamma_q(df / 2.0, chi2 / 2.0);
}

/// Accuracy, on the second halves, of the classifier that says "real" for a value seen more often
/// among the first half of the real sample than among the first half of the fakes (a tie scores
/// half a point): the best an attacker can do with this feature alone.
double classifier_accuracy(const std::vector<std::string>& real,
                           const std::vector<std::string>& fake) {
    const auto half = [](const std::vector<std::string>& v, bool second) {
        const auto mid = v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2);
        return second ? std::vector<std::string>(mid, v.end())
                      : std::vector<std::string>(v.begin(), mid);
    };
    const auto train_real = count_of(half(real, false));
    const auto train_fake = count_of(half(fake, false));
    const auto score = [&](const std::string& v, bool is_real) {
        const auto r = train_real.count(v) != 0 ? train_real.at(v) : 0;
        const auto f = train_fake.count(v) != 0 ? train_fake.at(v) : 0;
        if (r == f) {
            return 0.5;
        }
        return (r > f) == is_real ? 1.0 : 0.0;
    };
    double right = 0;
    std::size_t total = 0;
    for (const auto& v : half(real, true)) {
        right += score(v, true);
        ++total;
    }
    for (const auto& v : half(fake, true)) {
        right += score(v, false);
        ++total;
    }
    return right / static_cast<double>(total);
}

struct sample {
    std::string login;
    std::string hint;
};

/// Every feature an attacker sees: the whole hint, each character, and whether a character
/// repeats the login's first letter.
std::map<std::string, std::vector<std::string>> features(const std::vector<sample>& samples) {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& s : samples) {
        out["hint"].push_back(s.hint);
        out["length"].push_back(std::to_string(s.hint.size()));
        for (std::size_t i = 0; i < s.hint.size(); ++i) {
            out["char " + std::to_string(i)].push_back(std::string(1, s.hint[i]));
        }
        const char initial = s.login.empty() ? '\0' : s.login[0];
        out["repeats initial"].push_back(s.hint.find(initial) != std::string::npos ? "yes" : "no");
    }
    // A feature missing from some hints (a shorter one) counts as "none" there.
    for (auto& [name, values] : out) {
        values.resize(samples.size(), "none");
    }
    return out;
}

void check_indistinguishable(const std::vector<sample>& real, const std::vector<sample>& fake) {
    REQUIRE(real.size() == 1000);
    REQUIRE(fake.size() == 1000);
    const auto fr = features(real);
    auto ff = features(fake);
    for (const auto& [name, values] : fr) {
        auto& other = ff[name];
        other.resize(fake.size(), "none");
        INFO("feature: " << name);
        const double accuracy = classifier_accuracy(values, other);
        const double p = chi_square_p(values, other);
        INFO("classifier accuracy " << accuracy << ", chi-square p " << p);
        CHECK(accuracy <= 0.55);
        CHECK(p >= 0.01);
    }
}

// ---- a realistic population ---------------------------------------------------------------------

const std::vector<std::string> given_names{
    "minjun", "seoyeon", "jiho",    "hayoon", "doyoon",  "seojun", "jiwoo",    "eunwoo",
    "yuna",   "sumin",   "hyunwoo", "jiwon",  "taeyang", "sora",   "kyungmin", "daniel",
    "sarah",  "james",   "olivia",  "wei",    "hiroshi", "priya",  "anna",     "mohammed",
    "lucas",  "emma",    "nguyen",  "carlos", "ivan",    "fatima"};
const std::vector<std::string> family_names{
    "kim",   "lee",  "park",   "choi",   "jung",    "kang",   "cho",  "yoon",   "jang",  "lim",
    "han",   "oh",   "seo",    "shin",   "kwon",    "hwang",  "ahn",  "song",   "yoo",   "hong",
    "smith", "wang", "tanaka", "sharma", "mueller", "garcia", "tran", "ivanov", "rossi", "ali"};

struct person {
    std::string given;
    std::string family;
    std::string login;
};

person make_person(std::mt19937_64& rng) {
    std::uniform_int_distribution<std::size_t> g(0, given_names.size() - 1);
    std::uniform_int_distribution<std::size_t> f(0, family_names.size() - 1);
    std::uniform_int_distribution<int> style(0, 3);
    std::uniform_int_distribution<int> number(1, 999);
    person p{given_names[g(rng)], family_names[f(rng)], {}};
    switch (style(rng)) {
    case 0:
        p.login = p.given.substr(0, 1) + p.family; // jkim
        break;
    case 1:
        p.login = p.given + "." + p.family; // jiho.kim
        break;
    case 2:
        p.login = p.family + p.given; // kimjiho
        break;
    default:
        p.login = p.family + std::to_string(number(rng)); // kim123
        break;
    }
    return p;
}

/// A local part as people choose it for a personal mailbox.
std::string personal_local(const person& p, std::mt19937_64& rng) {
    static const std::vector<std::string> words{"happy", "blue",  "star", "moon",  "coffee",
                                                "sky",   "tiger", "cool", "sunny", "dream"};
    std::uniform_int_distribution<int> style(0, 4);
    std::uniform_int_distribution<std::size_t> w(0, words.size() - 1);
    std::uniform_int_distribution<int> number(1, 9999);
    switch (style(rng)) {
    case 0:
        return p.given + p.family;
    case 1:
        return p.given + "." + p.family + std::to_string(number(rng) % 100);
    case 2:
        return words[w(rng)] + p.given;
    case 3:
        return p.login;
    default:
        return words[w(rng)] + std::to_string(number(rng));
    }
}

/// A mailbox as users register it: the corporate one (in its usual spellings) for the share the
/// header gives, otherwise a public provider drawn by its share of registrations.
std::string real_address(const person& p, std::mt19937_64& rng) {
    std::uniform_int_distribution<unsigned> percent(0, 99);
    if (percent(rng) < challenge::fake_own_domain_percent) {
        std::uniform_int_distribution<std::size_t> d(0, domains.size() - 1);
        const std::string local = percent(rng) < 50 ? p.login : p.given + "." + p.family;
        return local + "@" + domains[d(rng)];
    }
    auto pick = percent(rng);
    for (const auto& provider : challenge::public_mail_providers()) {
        if (pick < provider.weight) {
            std::string address = personal_local(p, rng) + "@" + std::string(provider.domain);
            // Some directories hold addresses as users typed them.
            if (percent(rng) < 10) {
                for (auto& c : address) {
                    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                }
            }
            return address;
        }
        pick -= provider.weight;
    }
    FAIL("provider weights do not add up to 100");
    return {};
}

/// A mobile number of one of several countries, in one of the spellings directories hold.
std::string real_number(std::mt19937_64& rng) {
    std::uniform_int_distribution<int> country(0, 9);
    std::uniform_int_distribution<int> digit(0, 9);
    const auto digits = [&](int n) {
        std::string out;
        for (int i = 0; i < n; ++i) {
            out += static_cast<char>('0' + digit(rng));
        }
        return out;
    };
    switch (country(rng)) {
    case 0:
        return "010-" + digits(4) + "-" + digits(4); // Korea, national
    case 1:
        return "+82 10 " + digits(4) + " " + digits(4);
    case 2:
        return "+821" + digits(1) + digits(8); // stored compact
    case 3:
        return "0082 10 " + digits(4) + " " + digits(4);
    case 4:
        return "+1 (" + std::to_string(200 + digit(rng) * 10 + digit(rng)) + ") " + digits(3) +
               "-" + digits(4); // USA
    case 5:
        return "+81 90-" + digits(4) + "-" + digits(4); // Japan
    case 6:
        return "+86 13" + digits(1) + " " + digits(4) + " " + digits(4); // China
    case 7:
        return "+44 7" + digits(3) + " " + digits(6); // UK
    case 8:
        return "+84 9" + digits(8); // Vietnam
    default:
        return "+49 15" + digits(1) + " " + digits(8); // Germany
    }
}

std::vector<std::string> fake_logins(std::size_t n) {
    std::mt19937_64 rng(20240229); // NOLINT(cert-msc32-c,cert-msc51-cpp): a reproducible test
    std::vector<std::string> out;
    while (out.size() < n) {
        out.push_back(make_person(rng).login + "x" + std::to_string(out.size()));
    }
    return out;
}

} // namespace

TEST_CASE("hints: email masks show only the domain's first character and last label",
          "[challenge]") {
    CHECK(masked_email("alice@example.org") == "***@e***.org");
    CHECK(masked_email("Bob.Smith@Example.ORG") == "***@e***.org");
    CHECK(masked_email("x@y.example") == "***@y***.example"); // three stars whatever the length
    CHECK(masked_email("someone@mail.corp.example.co.kr") == "***@m***.kr");
    CHECK(masked_email("example.org.@naver.com.") == "***@n***.com"); // the root's dot ignored
    CHECK(masked_email("김철수@한국.kr") == "***@한***.kr");
    CHECK(masked_email("\"odd@local\"@example.org") == "***@e***.org");
    CHECK(masked_email("root@localhost") == "***@l***"); // no dot, no label
    // The local part never shows, so two addresses at one provider give one hint.
    CHECK(masked_email("jsmith@gmail.com") == masked_email("zz.top99@gmail.com"));
}

TEST_CASE("hints: what is not an address is refused", "[challenge]") {
    for (const char* bad : {"", "alice", "@example.org", "alice@", "al ice@example.org",
                            "alice@exa\tmple.org", "alice@\xff.org", "alice@\xea\xb9.org"}) {
        INFO(bad);
        const auto m = challenge::mask_email(bad);
        REQUIRE_FALSE(m.has_value());
        CHECK(m.error() == challenge::error::invalid_email);
    }
}

TEST_CASE("hints: phone masks show the last four digits only", "[challenge]") {
    CHECK(masked_phone("+82 10-1234-5678") == "** **** 5678");
    CHECK(masked_phone("+821012341234") == "** **** 1234");
    CHECK(masked_phone("+1 (415) 555-2671") == "** **** 2671");
    CHECK(masked_phone("+7 912 345 67 89") == "** **** 6789");
    CHECK(masked_phone("+353 87 123 4567") == "** **** 4567");
    CHECK(masked_phone("+44 20 7946 0958") == "** **** 0958");
    CHECK(masked_phone("0082 10 1234 5678") == "** **** 5678");
    CHECK(masked_phone("010-1234-5678") == "** **** 5678");
}

TEST_CASE("hints: what is not a phone number is refused", "[challenge]") {
    for (const char* bad : {"", "+", "+82 12345", "+82 10 1234 567x", "+1234567890123456", "12345",
                            "+82 10_1234_5678"}) {
        INFO(bad);
        const auto m = challenge::mask_phone(bad);
        REQUIRE_FALSE(m.has_value());
        CHECK(m.error() == challenge::error::invalid_phone);
    }
}

TEST_CASE("hints: fake email hints are stable, case-blind and shaped like real ones",
          "[challenge]") {
    const auto jsmith = challenge::fake_email_hint(key, "jsmith", domains);
    REQUIRE(jsmith.has_value());
    // HMAC-SHA-256 over "sspr.hint.email.v2" and "jsmith": bytes 0-7 mod 100 are 85, not below
    // 30, so a public provider; bytes 8-15 mod 100 are 0, naver.com.
    CHECK(*jsmith == "***@n***.com");
    // Same hint for the same login however it is typed.
    CHECK(*challenge::fake_email_hint(key, "JSmith", domains) == *jsmith);
    CHECK(*challenge::fake_email_hint(key, "  jsmith ", domains) == *jsmith);
    // "alice": 15, one of the organisation's domains, index 0; "bob": 24, index 1.
    CHECK(*challenge::fake_email_hint(key, "alice", domains) == "***@c***.example");
    CHECK(*challenge::fake_email_hint(key, "bob", domains) == "***@m***.example");
    // "erin": 68, a provider: 98 of 100 falls on the last one, yahoo.com.
    CHECK(*challenge::fake_email_hint(key, "erin", domains) == "***@y***.com");

    const std::regex shape(R"(\*\*\*@[a-z0-9]\*\*\*\.[a-z]+)");
    CHECK(std::regex_match(*jsmith, shape));
    CHECK(std::regex_match(masked_email("John.Smith@corp.example"), shape));

    CHECK(challenge::fake_email_hint(key, "jsmith", {}).error() ==
          challenge::error::invalid_parameters);
}

TEST_CASE("hints: fake phone hints are stable, case-blind, depend on the key and look real",
          "[challenge]") {
    const auto jsmith = challenge::fake_phone_hint(key, "jsmith");
    REQUIRE(jsmith.has_value());
    CHECK(*jsmith == "** **** 0267");
    CHECK(*challenge::fake_phone_hint(key, "JSMITH") == *jsmith);
    CHECK(*challenge::fake_phone_hint(key, "alice") == "** **** 9623");
    const sspr::common::secret other_key{std::string(32, 'K')};
    CHECK(*challenge::fake_phone_hint(other_key, "jsmith") == "** **** 4117");

    const std::regex shape(R"(\*\* \*\*\*\* [0-9]{4})");
    CHECK(std::regex_match(*jsmith, shape));
    CHECK(std::regex_match(masked_phone("+82 10-9876-5432"), shape));
    CHECK(std::regex_match(masked_phone("+1 415 555 2671"), shape));
}

TEST_CASE("hints: 1,000 fake email hints cannot be told from 1,000 real ones", "[challenge]") {
    std::mt19937_64 rng(7); // NOLINT(cert-msc32-c,cert-msc51-cpp): a reproducible test
    std::vector<sample> real;
    while (real.size() < 1000) {
        const auto p = make_person(rng);
        real.push_back({p.login, masked_email(real_address(p, rng))});
    }
    std::vector<sample> fake;
    for (const auto& login : fake_logins(1000)) {
        const auto hint = challenge::fake_email_hint(key, login, domains);
        REQUIRE(hint.has_value());
        fake.push_back({login, *hint});
    }
    check_indistinguishable(real, fake);
}

TEST_CASE("hints: 1,000 fake phone hints cannot be told from 1,000 real ones", "[challenge]") {
    std::mt19937_64 rng(11); // NOLINT(cert-msc32-c,cert-msc51-cpp): a reproducible test
    std::vector<sample> real;
    while (real.size() < 1000) {
        const auto p = make_person(rng);
        real.push_back({p.login, masked_phone(real_number(rng))});
    }
    std::vector<sample> fake;
    for (const auto& login : fake_logins(1000)) {
        const auto hint = challenge::fake_phone_hint(key, login);
        REQUIRE(hint.has_value());
        fake.push_back({login, *hint});
    }
    check_indistinguishable(real, fake);
}

TEST_CASE("hints: the statistics used above do tell different distributions apart", "[challenge]") {
    // The checks must be able to fail: hints that always show the organisation's domain, as the
    // earlier fakes did, are told from real ones at once.
    std::mt19937_64 rng(7); // NOLINT(cert-msc32-c,cert-msc51-cpp): a reproducible test
    std::vector<std::string> real;
    std::vector<std::string> own_only;
    while (real.size() < 1000) {
        const auto p = make_person(rng);
        real.push_back(masked_email(real_address(p, rng)));
        own_only.push_back(masked_email("x@" + domains[real.size() % domains.size()]));
    }
    CHECK(classifier_accuracy(real, own_only) > 0.8);
    CHECK(chi_square_p(real, own_only) < 1e-6);
    // And a sample against itself shuffled is chance.
    auto shuffled = real;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    CHECK(chi_square_p(real, shuffled) > 0.5);
}
