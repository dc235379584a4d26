#include "common/phone.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

namespace sspr::common {
namespace {

struct region_plan {
    std::string_view region;
    std::string_view country_code;
    /// Dialled before a national number inside the country ("0"); empty when there is none.
    std::string_view national_prefix;
    /// Dialled before a country code from inside the country, besides the ITU's "00".
    std::array<std::string_view, 6> international_prefixes;
    /// Length of a national significant number (without national prefix).
    std::size_t min_national;
    std::size_t max_national;
    /// Whether a national prefix right after the country code ("+82 010 …") is a mistake to
    /// drop: true where national significant numbers never start with it.
    bool drop_prefix_after_code;
};

// ITU-T E.164 assignments and the national dialling plans (ITU-T Operational Bulletin, national
// numbering plans). Alphabetical by region: phone_regions() hands out this order.
constexpr std::array<region_plan, 38> plans{{
    {"AE", "971", "0", {}, 8, 9, true},
    {"AT", "43", "0", {}, 4, 13, true},
    {"AU", "61", "0", {"0011"}, 9, 9, true},
    {"BE", "32", "0", {}, 8, 9, true},
    {"CA", "1", "1", {"011"}, 10, 10, true},
    {"CH", "41", "0", {}, 9, 9, true},
    {"CN", "86", "0", {}, 7, 12, true},
    {"DE", "49", "0", {}, 6, 13, true},
    {"DK", "45", "", {}, 8, 8, false},
    {"ES", "34", "", {}, 9, 9, false},
    {"FI", "358", "0", {"990", "994", "999"}, 5, 12, true},
    {"FR", "33", "0", {}, 9, 9, true},
    {"GB", "44", "0", {}, 7, 10, true},
    {"HK", "852", "", {"001", "002"}, 8, 8, false},
    {"ID", "62", "0", {"001", "007", "008"}, 8, 12, true},
    {"IE", "353", "0", {}, 7, 9, true},
    {"IN", "91", "0", {}, 10, 10, true},
    // Italian numbers keep their leading 0 after the country code: there is no national prefix.
    {"IT", "39", "", {}, 6, 11, false},
    {"JP", "81", "0", {"010"}, 9, 10, true},
    {"KR", "82", "0", {"001", "002", "005", "006", "008", "00700"}, 8, 10, true},
    {"MX", "52", "", {}, 10, 11, false},
    {"MY", "60", "0", {}, 8, 10, true},
    {"NL", "31", "0", {}, 9, 9, true},
    {"NO", "47", "", {}, 8, 8, false},
    {"NZ", "64", "0", {}, 8, 10, true},
    {"PH", "63", "0", {}, 8, 10, true},
    {"PL", "48", "", {}, 9, 9, false},
    {"PT", "351", "", {}, 9, 9, false},
    // Russian numbers may start with 8 (800 freephone): never dropped after the country code.
    {"RU", "7", "8", {"810"}, 10, 10, false},
    {"SA", "966", "0", {}, 8, 9, true},
    {"SE", "46", "0", {}, 7, 10, true},
    {"SG", "65", "", {"000", "001", "002", "008"}, 8, 8, false},
    {"TH", "66", "0", {"001"}, 8, 9, true},
    {"TR", "90", "0", {}, 10, 10, true},
    {"TW", "886", "0", {"002", "005", "006", "007", "009"}, 8, 9, true},
    {"US", "1", "1", {"011"}, 10, 10, true},
    {"VN", "84", "0", {}, 9, 10, true},
    {"ZA", "27", "0", {}, 9, 9, true},
}};

constexpr std::array<std::string_view, plans.size()> region_names = [] {
    std::array<std::string_view, plans.size()> out{};
    for (std::size_t i = 0; i < plans.size(); ++i) {
        out[i] = plans[i].region;
    }
    return out;
}();

// Assigned geographic country codes (ITU-T E.164 list of assigned country codes). They form a
// prefix code: at most one of them starts any digit string.
constexpr std::array<std::string_view, 2> one_digit{"1", "7"};
constexpr std::array<std::string_view, 44> two_digit{
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
    "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
    "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"};
constexpr std::array<std::string_view, 160> three_digit{
    "211", "212", "213", "216", "218", "220", "221", "222", "223", "224", "225", "226", "227",
    "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238", "239", "240",
    "241", "242", "243", "244", "245", "246", "247", "248", "249", "250", "251", "252", "253",
    "254", "255", "256", "257", "258", "260", "261", "262", "263", "264", "265", "266", "267",
    "268", "269", "290", "291", "297", "298", "299", "350", "351", "352", "353", "354", "355",
    "356", "357", "358", "359", "370", "371", "372", "373", "374", "375", "376", "377", "378",
    "380", "381", "382", "383", "385", "386", "387", "389", "420", "421", "423", "500", "501",
    "502", "503", "504", "505", "506", "507", "508", "509", "590", "591", "592", "593", "594",
    "595", "596", "597", "598", "599", "670", "672", "673", "674", "675", "676", "677", "678",
    "679", "680", "681", "682", "683", "685", "686", "687", "688", "689", "690", "691", "692",
    "850", "852", "853", "855", "856", "880", "886", "960", "961", "962", "963", "964", "965",
    "966", "967", "968", "970", "971", "972", "973", "974", "975", "976", "977", "992", "993",
    "994", "995", "996", "998"};

constexpr std::size_t max_e164_digits = 15;
constexpr std::size_t min_national_any = 4;

const region_plan* plan_of_region(std::string_view region) {
    for (const auto& p : plans) {
        if (p.region == region) {
            return &p;
        }
    }
    return nullptr;
}

const region_plan* plan_of_code(std::string_view code) {
    for (const auto& p : plans) {
        if (p.country_code == code) {
            return &p;
        }
    }
    return nullptr;
}

template <std::size_t N>
bool listed(const std::array<std::string_view, N>& codes, std::string_view digits,
            std::size_t length) {
    if (digits.size() < length) {
        return false;
    }
    const auto prefix = digits.substr(0, length);
    return std::find(codes.begin(), codes.end(), prefix) != codes.end();
}

/// The assigned country code `digits` starts with, or "".
std::string_view country_code_of(std::string_view digits) {
    if (listed(one_digit, digits, 1)) {
        return digits.substr(0, 1);
    }
    if (listed(two_digit, digits, 2)) {
        return digits.substr(0, 2);
    }
    if (listed(three_digit, digits, 3)) {
        return digits.substr(0, 3);
    }
    return {};
}

bool national_length_ok(const region_plan* plan, std::size_t country_code_length,
                        std::size_t length) {
    if (country_code_length + length > max_e164_digits) {
        return false;
    }
    if (plan == nullptr) {
        return length >= min_national_any;
    }
    return length >= plan->min_national && length <= plan->max_national;
}

/// `digits` (after "+" or an international prefix) as E.164, or nothing.
std::optional<std::string> international(std::string_view digits) {
    const auto code = country_code_of(digits);
    if (code.empty()) {
        return std::nullopt;
    }
    auto national = digits.substr(code.size());
    const auto* plan = plan_of_code(code);
    if (plan != nullptr && plan->drop_prefix_after_code && !plan->national_prefix.empty() &&
        national.starts_with(plan->national_prefix) &&
        national_length_ok(plan, code.size(), national.size() - plan->national_prefix.size())) {
        national.remove_prefix(plan->national_prefix.size());
    }
    if (!national_length_ok(plan, code.size(), national.size())) {
        return std::nullopt;
    }
    std::string out = "+";
    out += code;
    out += national;
    return out;
}

bool is_separator(char c) {
    return c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')';
}

} // namespace

std::span<const std::string_view> phone_regions() noexcept {
    return region_names;
}

bool is_phone_region(std::string_view region) noexcept {
    return plan_of_region(region) != nullptr;
}

std::optional<std::string> to_e164(std::string_view number, std::string_view default_region) {
    while (!number.empty() && number.front() == ' ') {
        number.remove_prefix(1);
    }
    while (!number.empty() && number.back() == ' ') {
        number.remove_suffix(1);
    }
    const bool plus = number.starts_with('+');
    if (plus) {
        number.remove_prefix(1);
    }
    std::string digits;
    for (std::size_t i = 0; i < number.size(); ++i) {
        const char c = number[i];
        // "+44 (0)20 …": the national prefix shown in brackets, to be left out from abroad.
        if (c == '(' && number.substr(i).starts_with("(0)") && !digits.empty()) {
            i += 2;
            continue;
        }
        if (c >= '0' && c <= '9') {
            digits += c;
        } else if (!is_separator(c)) {
            return std::nullopt;
        }
    }
    if (digits.empty() || digits.size() > max_e164_digits + 5) {
        return std::nullopt;
    }
    if (plus) {
        return international(digits);
    }

    const auto* plan = plan_of_region(default_region);
    // The ITU's "00" and the region's own prefixes. A number that starts with one is dialled
    // abroad (no national number starts with one); when two readings are both valid the number
    // is refused rather than guessed at, so a code never goes to the wrong country.
    std::vector<std::string_view> prefixes{"00"};
    if (plan != nullptr) {
        for (const auto p : plan->international_prefixes) {
            if (!p.empty()) {
                prefixes.push_back(p);
            }
        }
    }
    bool dialled_abroad = false;
    std::optional<std::string> reading;
    for (const auto prefix : prefixes) {
        if (!std::string_view(digits).starts_with(prefix)) {
            continue;
        }
        dialled_abroad = true;
        auto candidate = international(std::string_view(digits).substr(prefix.size()));
        if (!candidate) {
            continue;
        }
        if (reading && *reading != *candidate) {
            return std::nullopt;
        }
        reading = std::move(candidate);
    }
    if (dialled_abroad) {
        return reading;
    }

    if (plan == nullptr) {
        return std::nullopt;
    }
    std::string_view national = digits;
    if (!plan->national_prefix.empty() && national.starts_with(plan->national_prefix)) {
        national.remove_prefix(plan->national_prefix.size());
    }
    if (!national_length_ok(plan, plan->country_code.size(), national.size())) {
        return std::nullopt;
    }
    std::string out = "+";
    out += plan->country_code;
    out += national;
    return out;
}

} // namespace sspr::common
