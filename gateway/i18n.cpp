#include "gateway/i18n.hpp"

#include <boost/beast/http/rfc7230.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <string_view>

namespace sspr::gateway {
namespace {

constexpr std::uintmax_t max_catalogue_bytes = std::uintmax_t{1024} * 1024;

/// One string from its parts, without a temporary per `+`.
template <class... Parts> std::string concat(const Parts&... parts) {
    std::string out;
    (out.append(std::string_view(parts)), ...);
    return out;
}

bool is_name_char(char c) {
    return std::islower(static_cast<unsigned char>(c)) != 0 ||
           std::isdigit(static_cast<unsigned char>(c)) != 0 || c == '_';
}

/// The placeholder name starting at text[open] == '{', or nullopt when the braces there do not
/// enclose a name ("{", "{}", "{ x }" are plain text).
std::optional<std::string_view> placeholder_at(std::string_view text, std::size_t open) {
    const std::size_t close = text.find('}', open + 1);
    if (close == std::string_view::npos || close == open + 1) {
        return std::nullopt;
    }
    const std::string_view name = text.substr(open + 1, close - open - 1);
    if (!std::all_of(name.begin(), name.end(), is_name_char)) {
        return std::nullopt;
    }
    return name;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string read_file(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        throw catalogue_error(path.string() + ": " + ec.message());
    }
    if (size > max_catalogue_bytes) {
        throw catalogue_error(path.string() + ": larger than 1 MiB");
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw catalogue_error(path.string() + ": cannot be opened");
    }
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        throw catalogue_error(path.string() + ": read error");
    }
    return text;
}

/// A q-value (RFC 9110 12.4.2) in thousandths; nullopt when malformed.
std::optional<int> parse_qvalue(std::string_view v) {
    if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) {
        return std::nullopt;
    }
    double q = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), q);
    if (ec != std::errc{} || end != v.data() + v.size() || q < 0.0 || q > 1.0) {
        return std::nullopt;
    }
    return static_cast<int>(std::lround(q * 1000.0));
}

/// RFC 4647 lookup of one range against one available tag: equal, or the range is more specific
/// ("ko-kr" matches "ko"). Both lower-case.
bool range_matches(std::string_view range, std::string_view tag) {
    return range == tag || (range.size() > tag.size() && range.substr(0, tag.size()) == tag &&
                            range[tag.size()] == '-');
}

} // namespace

std::vector<std::string> placeholders(std::string_view text) {
    std::set<std::string> names;
    for (std::size_t i = text.find('{'); i != std::string_view::npos; i = text.find('{', i + 1)) {
        if (const auto name = placeholder_at(text, i)) {
            names.emplace(*name);
        }
    }
    return {names.begin(), names.end()};
}

std::string substitute(std::string_view text, const text_params& params) {
    std::string out;
    out.reserve(text.size());
    std::size_t done = 0;
    for (std::size_t i = text.find('{'); i != std::string_view::npos; i = text.find('{', i + 1)) {
        const auto name = placeholder_at(text, i);
        if (!name) {
            continue;
        }
        const auto it = params.find(*name);
        if (it == params.end()) {
            continue;
        }
        out.append(text.substr(done, i - done));
        out.append(it->second);
        done = i + name->size() + 2;
        i = done - 1;
    }
    out.append(text.substr(done));
    return out;
}

i18n i18n::load(const std::filesystem::path& dir, std::span<const std::string> languages) {
    std::vector<document> docs;
    for (const auto& language : languages) {
        const auto path = dir / (language + ".json");
        docs.push_back(document{language, read_file(path), path.string()});
    }
    return parse(docs);
}

i18n i18n::parse(std::span<const document> documents) {
    if (documents.empty()) {
        throw catalogue_error("message catalogue: no language");
    }
    i18n out;
    for (const auto& doc : documents) {
        const std::string source = doc.source.empty() ? doc.language + ".json" : doc.source;
        if (out.catalogue_.count(doc.language) != 0) {
            throw catalogue_error(source + ": language " + doc.language + " given twice");
        }
        boost::system::error_code ec;
        const boost::json::value root = boost::json::parse(doc.json, ec);
        if (ec) {
            throw catalogue_error(source + ": not valid JSON: " + ec.message());
        }
        if (!root.is_object()) {
            throw catalogue_error(source + ": expected one JSON object of \"key\": \"text\"");
        }
        texts t;
        for (const auto& [key, value] : root.as_object()) {
            if (key.empty()) {
                throw catalogue_error(source + ": an empty key");
            }
            if (!value.is_string() || value.as_string().empty()) {
                throw catalogue_error(source + ": \"" + std::string(key) +
                                      "\": expected a non-empty string");
            }
            t.emplace(std::string(key), std::string(value.as_string()));
        }
        out.languages_.push_back(doc.language);
        out.catalogue_.emplace(doc.language, std::move(t));
    }

    // Every language against the first: the same keys, and per key the same placeholders.
    const std::string& first = out.languages_.front();
    const texts& reference = out.catalogue_.at(first);
    for (std::size_t i = 1; i < out.languages_.size(); ++i) {
        const std::string& language = out.languages_[i];
        const texts& other = out.catalogue_.at(language);
        for (const auto& [key, text] : reference) {
            const auto it = other.find(key);
            if (it == other.end()) {
                throw catalogue_error(concat("message catalogue: \"", key, "\" is in ", first,
                                             " but missing in ", language));
            }
            if (placeholders(text) != placeholders(it->second)) {
                throw catalogue_error(concat("message catalogue: \"", key,
                                             "\" names other {figures} in ", language, " than in ",
                                             first));
            }
        }
        for (const auto& entry : other) {
            if (reference.count(entry.first) == 0) {
                throw catalogue_error(concat("message catalogue: \"", entry.first, "\" is in ",
                                             language, " but missing in ", first));
            }
        }
    }
    return out;
}

bool i18n::has(std::string_view key) const {
    const texts& t = catalogue_.at(languages_.front());
    return t.find(key) != t.end();
}

std::vector<std::string> i18n::keys() const {
    std::vector<std::string> out;
    for (const auto& entry : catalogue_.at(languages_.front())) {
        out.push_back(entry.first);
    }
    return out;
}

const i18n::texts& i18n::texts_of(std::string_view language) const {
    const auto it = catalogue_.find(language);
    return it != catalogue_.end() ? it->second : catalogue_.at(languages_.front());
}

std::string i18n::text(std::string_view language, std::string_view key,
                       const text_params& params) const {
    const texts& t = texts_of(language);
    const auto it = t.find(key);
    if (it == t.end()) {
        return std::string(key);
    }
    return substitute(it->second, params);
}

std::string negotiate(std::string_view accept_language, std::span<const std::string> available,
                      std::string_view fallback) {
    struct weighted {
        std::string range; // lower-case
        int q = 0;         // thousandths
    };
    std::vector<weighted> ranges;
    const char* const end = accept_language.data() + accept_language.size();
    for (const auto& [range_text, params] : boost::beast::http::ext_list(accept_language)) {
        // Beast 1.81's ext_list hands the last element the parameters of the one before when it
        // has none of its own ("en;q=0, ko" gives ko q=0): only believe parameters when a ';'
        // really follows the range in the header.
        const char* after = range_text.data() + range_text.size();
        while (after != end && (*after == ' ' || *after == '\t')) {
            ++after;
        }
        const bool has_params = after != end && *after == ';';
        int q = 1000;
        bool valid = true;
        for (const auto& [name, value] : params) {
            if (!has_params) {
                break;
            }
            if (name.size() == 1 && (name[0] == 'q' || name[0] == 'Q')) {
                const auto parsed = parse_qvalue(std::string_view(value.data(), value.size()));
                valid = parsed.has_value();
                q = parsed.value_or(0);
            }
        }
        if (valid) { // a malformed weight says nothing reliable about its range
            ranges.push_back({lower(std::string_view(range_text.data(), range_text.size())), q});
        }
    }

    // Each available language gets the weight of the range that names it most closely; the
    // fallback goes first, so that it wins a tie (e.g. when only "*" matches).
    std::vector<std::string> order(available.begin(), available.end());
    std::stable_partition(order.begin(), order.end(),
                          [&](const std::string& l) { return lower(l) == lower(fallback); });
    struct candidate {
        std::string language;
        int q = 0;
        std::size_t position = 0; // of the range that matched
    };
    std::vector<candidate> candidates;
    for (const auto& tag : order) {
        const std::string l = lower(tag);
        // An exact range decides; else the heaviest more specific one ("ko-kr"); else "*".
        std::optional<candidate> exact;
        std::optional<candidate> specific;
        std::optional<candidate> any;
        for (std::size_t i = 0; i < ranges.size(); ++i) {
            const weighted& r = ranges[i];
            if (r.range == l) {
                if (!exact) {
                    exact = candidate{tag, r.q, i};
                }
            } else if (r.range == "*") {
                if (!any) {
                    any = candidate{tag, r.q, i};
                }
            } else if (range_matches(r.range, l) && (!specific || r.q > specific->q)) {
                specific = candidate{tag, r.q, i};
            }
        }
        const std::optional<candidate> best = exact ? exact : specific ? specific : any;
        if (best && best->q > 0) {
            candidates.push_back(*best);
        }
    }
    std::stable_sort(candidates.begin(), candidates.end(),
                     [](const candidate& a, const candidate& b) {
                         return a.q != b.q ? a.q > b.q : a.position < b.position;
                     });
    return candidates.empty() ? std::string(fallback) : candidates.front().language;
}

} // namespace sspr::gateway
