// The message catalogue of the gateway: every text a user reads (problem details and titles,
// password rules, directory refusals, page strings) in every page language, from
// messages/<lang>.json, and the choice of a language from Accept-Language.
//
// A catalogue file is one flat JSON object of "key": "text". Texts name figures as {name}
// ("Use at least {min} characters."); text() fills them in. Loading is strict: every language
// must have exactly the same keys and, per key, the same placeholders, so no user ever sees a
// text missing or a figure unfilled because a translation drifted.
#pragma once

#include <filesystem>
#include <map>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sspr::gateway {

/// Figures a text names as {name}; never a secret.
using text_params = std::map<std::string, std::string, std::less<>>;

/// Thrown by i18n::load / i18n::parse: the catalogue cannot be used. The message names the file
/// (or language) and the key; ssprd does not start.
class catalogue_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class i18n {
public:
    /// A catalogue document: its language, its JSON text, and what errors call it (the file).
    struct document {
        std::string language;
        std::string json;
        std::string source; // empty: "<language>.json"
    };

    /// Reads `<dir>/<lang>.json` (at most 1 MiB each) for every language in `languages`, the
    /// first being the fallback for unknown languages. Throws catalogue_error.
    [[nodiscard]] static i18n load(const std::filesystem::path& dir,
                                   std::span<const std::string> languages);

    /// The same from documents already in memory (load() reads the files, then calls this).
    [[nodiscard]] static i18n parse(std::span<const document> documents);

    /// The languages, in the order given; the first is the fallback.
    [[nodiscard]] const std::vector<std::string>& languages() const noexcept { return languages_; }

    /// True when `key` has a text (in every language: they hold the same keys).
    [[nodiscard]] bool has(std::string_view key) const;

    /// Every key, sorted.
    [[nodiscard]] std::vector<std::string> keys() const;

    /// The text of `key` in `language` (the fallback language when that one is not loaded), with
    /// every {name} whose name is in `params` replaced by its value; other braces stay as they
    /// are. A key without a text gives the key itself, so a missing text shows, not a blank.
    [[nodiscard]] std::string text(std::string_view language, std::string_view key,
                                   const text_params& params = {}) const;

private:
    using texts = std::map<std::string, std::string, std::less<>>;

    i18n() = default;
    [[nodiscard]] const texts& texts_of(std::string_view language) const;

    std::vector<std::string> languages_;
    std::map<std::string, texts, std::less<>> catalogue_; // language -> key -> text
};

/// The placeholders ({name}) a text uses, sorted and without repeats.
[[nodiscard]] std::vector<std::string> placeholders(std::string_view text);

/// Fills the {name} placeholders of `text` from `params` (see i18n::text).
[[nodiscard]] std::string substitute(std::string_view text, const text_params& params);

/// The language to answer in: the `available` one the Accept-Language value (RFC 9110 12.5.4)
/// prefers most, by q-value and then by order, matched by RFC 4647 lookup ("ko-KR" matches
/// "ko"; "*" matches the fallback); q=0 excludes. `fallback` when nothing matches or the
/// header is empty or malformed from the start.
[[nodiscard]] std::string negotiate(std::string_view accept_language,
                                    std::span<const std::string> available,
                                    std::string_view fallback);

} // namespace sspr::gateway
