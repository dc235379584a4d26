#include "config/reader.hpp"

#include <openssl/crypto.h>

#include <cctype>
#include <charconv>
#include <regex>
#include <tuple>

namespace sspr::config::detail {

// ---- context --------------------------------------------------------------------------------

context::context(std::string file, const load_options& options)
    : file_(std::move(file)), options_(options) {}

diagnostic context::make(severity level, const YAML::Mark& mark, const std::string& path,
                         std::string message) const {
    diagnostic d;
    d.level = level;
    d.file = file_;
    if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
        // yaml-cpp counts from 0; editors and compilers count from 1.
        d.line = static_cast<std::size_t>(mark.line) + 1;
        d.column = static_cast<std::size_t>(mark.column) + 1;
    }
    d.path = path.empty() ? std::string("(top level)") : path;
    d.message = std::move(message);
    return d;
}

void context::error(const YAML::Mark& mark, const std::string& path, std::string message,
                    bool blocks_checks) {
    errors_.push_back(make(severity::error, mark, path, std::move(message)));
    if (blocks_checks) {
        failed_.insert(path);
    }
}

void context::warning(const YAML::Mark& mark, const std::string& path, std::string message) {
    warnings_.push_back(make(severity::warning, mark, path, std::move(message)));
}

void context::note(const std::string& path, const YAML::Mark& mark) {
    positions_[path] = mark;
}

namespace {

/// `a.b[2].c` -> `a.b[2]` -> `a.b` -> `a` -> ``.
std::string_view parent_of(std::string_view path) {
    const auto cut = path.find_last_of(".[");
    return cut == std::string_view::npos ? std::string_view{} : path.substr(0, cut);
}

bool is_within(std::string_view inner, std::string_view outer) {
    if (outer.empty()) {
        return true;
    }
    if (inner.size() < outer.size() || inner.substr(0, outer.size()) != outer) {
        return false;
    }
    return inner.size() == outer.size() || inner[outer.size()] == '.' || inner[outer.size()] == '[';
}

} // namespace

YAML::Mark context::position_of(std::string_view path) const {
    for (std::string_view p = path; !p.empty(); p = parent_of(p)) {
        if (const auto it = positions_.find(p); it != positions_.end()) {
            return it->second;
        }
    }
    return YAML::Mark{}; // 0:0, printed as 1:1: the file as a whole
}

bool context::present(std::string_view path) const {
    return positions_.count(path) != 0;
}

bool context::failed(std::string_view path) const {
    for (const auto& f : failed_) {
        if (is_within(path, f) || is_within(f, path)) {
            return true;
        }
    }
    return false;
}

namespace {
std::vector<diagnostic> in_file_order(std::vector<diagnostic> list) {
    std::stable_sort(list.begin(), list.end(), [](const diagnostic& a, const diagnostic& b) {
        return std::tie(a.line, a.column) < std::tie(b.line, b.column);
    });
    return list;
}
} // namespace

std::vector<diagnostic> context::take_errors() {
    return in_file_order(std::move(errors_));
}
std::vector<diagnostic> context::take_warnings() {
    return in_file_order(std::move(warnings_));
}

std::string join_path(const std::string& parent, std::string_view name) {
    std::string p = parent;
    if (!p.empty()) {
        p += '.';
    }
    p += name;
    return p;
}

std::string index_path(const std::string& parent, std::size_t index) {
    return parent + "[" + std::to_string(index) + "]";
}

// ---- scalars --------------------------------------------------------------------------------

namespace {

// PyYAML's implicit resolvers (YAML 1.1), which is what editors' YAML-to-JSON and the schema test
// use: a plain scalar matching one of these is not a string to them, so it is not one to us.
const std::regex& bool_re() {
    static const std::regex re("yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|"
                               "off|Off|OFF");
    return re;
}
const std::regex& int_re() {
    static const std::regex re("[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|"
                               "[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+");
    return re;
}
const std::regex& float_re() {
    static const std::regex re("[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+][0-9]+)?|"
                               "\\.[0-9_]+(?:[eE][-+][0-9]+)?|"
                               "[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\\.[0-9_]*|"
                               "[-+]?\\.(?:inf|Inf|INF)|\\.(?:nan|NaN|NAN)");
    return re;
}
const std::regex& null_re() {
    static const std::regex re("~|null|Null|NULL|");
    return re;
}
const std::regex& timestamp_re() {
    static const std::regex re(
        "[0-9]{4}-[0-9]{2}-[0-9]{2}|"
        "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \\t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}"
        "(?:\\.[0-9]*)?(?:[ \\t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?");
    return re;
}

scalar_meaning resolve_plain(const std::string& s) {
    // Cheap exits first: most values start with a letter that none of the numeric forms allow.
    if (std::regex_match(s, null_re())) {
        return scalar_meaning::null;
    }
    if (std::regex_match(s, bool_re())) {
        return scalar_meaning::boolean;
    }
    if (s.size() > 64) {
        return scalar_meaning::string;
    }
    if (std::regex_match(s, int_re())) {
        return scalar_meaning::integer;
    }
    if (std::regex_match(s, float_re())) {
        return scalar_meaning::floating;
    }
    if (std::regex_match(s, timestamp_re())) {
        return scalar_meaning::timestamp;
    }
    return scalar_meaning::string;
}

} // namespace

scalar_meaning meaning_of(const YAML::Node& node) {
    if (node.IsNull()) {
        return scalar_meaning::null;
    }
    if (!node.IsScalar()) {
        return scalar_meaning::invalid;
    }
    const std::string& tag = node.Tag();
    if (tag == "?") {
        return resolve_plain(node.Scalar());
    }
    if (tag == "!") {
        return scalar_meaning::string; // quoted
    }
    static constexpr std::string_view core = "tag:yaml.org,2002:";
    if (tag.size() > core.size() && std::string_view(tag).substr(0, core.size()) == core) {
        const std::string_view t = std::string_view(tag).substr(core.size());
        if (t == "str") {
            return scalar_meaning::string;
        }
        if (t == "int") {
            return scalar_meaning::integer;
        }
        if (t == "bool") {
            return scalar_meaning::boolean;
        }
        if (t == "float") {
            return scalar_meaning::floating;
        }
        if (t == "null") {
            return scalar_meaning::null;
        }
    }
    return scalar_meaning::invalid;
}

std::string describe_node(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Null:
        return "an empty value";
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Undefined:
        return "nothing";
    case YAML::NodeType::Scalar:
        break;
    }
    switch (meaning_of(node)) {
    case scalar_meaning::string:
        return "text";
    case scalar_meaning::null:
        return "an empty value";
    case scalar_meaning::boolean:
        return "a true/false value";
    case scalar_meaning::integer:
        return "a whole number";
    case scalar_meaning::floating:
        return "a decimal number";
    case scalar_meaning::timestamp:
        return "a date";
    case scalar_meaning::invalid:
        break;
    }
    return "a value with an unsupported tag";
}

std::string quote_for_message(std::string_view value) {
    static constexpr std::size_t limit = 40;
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "'";
    std::size_t n = 0;
    for (const char c : value) {
        if (n++ == limit) {
            out += "...";
            break;
        }
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            out += "\\x";
            out += hex[u >> 4U];
            out += hex[u & 0xfU];
        } else {
            out += c;
        }
    }
    out += "'";
    return out;
}

bool is_valid_utf8(std::string_view text) noexcept {
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        std::uint32_t cp = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xe0U) == 0xc0U) {
            extra = 1;
            cp = c & 0x1fU;
        } else if ((c & 0xf0U) == 0xe0U) {
            extra = 2;
            cp = c & 0x0fU;
        } else if ((c & 0xf8U) == 0xf0U) {
            extra = 3;
            cp = c & 0x07U;
        } else {
            return false;
        }
        if (i + extra >= text.size()) {
            return false;
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto cc = static_cast<unsigned char>(text[i + k]);
            if ((cc & 0xc0U) != 0x80U) {
                return false;
            }
            cp = (cp << 6U) | (cc & 0x3fU);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

std::optional<std::string> read_string_scalar(const YAML::Node& node, const place& where,
                                              const std::string& path, context& ctx,
                                              std::string_view expected, bool text_hint) {
    const scalar_meaning m = meaning_of(node);
    if (!node.IsScalar() || m != scalar_meaning::string) {
        std::string message = "expected " + std::string(expected) + ", not " + describe_node(node);
        if (text_hint && node.IsScalar() && m != scalar_meaning::invalid) {
            message += " (put it in quotes if you mean the text)";
        }
        ctx.error(where.value, path, std::move(message));
        return std::nullopt;
    }
    const std::string& s = node.Scalar();
    if (!is_valid_utf8(s)) {
        ctx.error(where.value, path, "not valid UTF-8");
        return std::nullopt;
    }
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            ctx.error(where.value, path, "control characters (tab, newline, ...) are not allowed");
            return std::nullopt;
        }
    }
    return s;
}

std::string format_duration(std::chrono::milliseconds d) {
    const auto ms = d.count();
    struct unit {
        std::int64_t size;
        const char* name;
    };
    static constexpr unit units[] = {
        {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
    for (const auto& u : units) {
        if (ms != 0 && ms % u.size == 0) {
            return std::to_string(ms / u.size) + u.name;
        }
    }
    return ms == 0 ? std::string("0s") : std::to_string(ms) + "ms";
}

std::optional<std::string> expand_environment(const std::string& value, const place& where,
                                              const std::string& path, context& ctx) {
    std::string out;
    std::size_t i = 0;
    while (i < value.size()) {
        if (value[i] != '$' || i + 1 >= value.size() || value[i + 1] != '{') {
            out += value[i++];
            continue;
        }
        const auto close = value.find('}', i + 2);
        const std::string name =
            close == std::string::npos ? std::string{} : value.substr(i + 2, close - i - 2);
        const bool well_formed =
            !name.empty() &&
            (std::isalpha(static_cast<unsigned char>(name[0])) != 0 || name[0] == '_') &&
            std::all_of(name.begin(), name.end(), [](char c) {
                return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
            });
        if (!well_formed) {
            ctx.error(where.value, path,
                      "malformed environment reference: write ${NAME} with letters, digits and _");
            return std::nullopt;
        }
        const auto found = ctx.options().getenv(name);
        if (!found) {
            ctx.error(where.value, path, "environment variable " + name + " is not set");
            return std::nullopt;
        }
        if (found->empty()) {
            ctx.error(where.value, path, "environment variable " + name + " is empty");
            return std::nullopt;
        }
        out += *found;
        i = close + 1;
    }
    return out;
}

// ---- readers ----------------------------------------------------------------------------------

key_spec text_reader::describe() const {
    key_spec k;
    k.kind = value_kind::string;
    k.non_empty = non_empty;
    return k;
}

bool text_reader::read(const YAML::Node& node, const place& where, const std::string& path,
                       std::string& out, context& ctx) const {
    auto s = read_string_scalar(node, where, path, ctx, "text", true);
    if (!s) {
        return false;
    }
    if (s->find("${") != std::string::npos) {
        ctx.error(where.value, path,
                  "environment references (${...}) are expanded only in file paths");
        return false;
    }
    if (non_empty && s->empty()) {
        ctx.error(where.value, path, "must not be empty");
        return false;
    }
    if (s->size() > max_length) {
        ctx.error(where.value, path, "longer than " + std::to_string(max_length) + " bytes");
        return false;
    }
    out = std::move(*s);
    return true;
}

key_spec path_reader::describe() const {
    key_spec k;
    k.kind = value_kind::path;
    k.non_empty = true;
    return k;
}

bool path_reader::read(const YAML::Node& node, const place& where, const std::string& path,
                       std::string& out, context& ctx) const {
    auto s = read_string_scalar(node, where, path, ctx, "a file path", true);
    if (!s) {
        return false;
    }
    if (s->empty()) {
        ctx.error(where.value, path, "must not be empty");
        return false;
    }
    auto expanded = expand_environment(*s, where, path, ctx);
    if (!expanded) {
        return false;
    }
    // The daemon's working directory is not the admin's: a relative path would name another file.
    if (expanded->front() != '/') {
        ctx.error(where.value, path, "must be an absolute path (starting with /)");
        return false;
    }
    if (expanded->size() > 4096) {
        ctx.error(where.value, path, "path longer than 4096 bytes");
        return false;
    }
    if (check == file_check::readable || check == file_check::sensitive) {
        const file_status status = ctx.options().check_file(*expanded);
        if (!status.error.empty()) {
            if (check == file_check::sensitive) {
                ctx.error(where.value, path, "cannot use the key file: " + status.error);
            } else {
                ctx.error(where.value, path,
                          "cannot use " + quote_for_message(*expanded) + ": " + status.error);
            }
            return false;
        }
        // The TLS private key is the gateway's identity: whoever reads it can impersonate the
        // reset pages and collect passwords. As for the store's keys, only ssprd may have it.
        if (check == file_check::sensitive && (status.permissions & 077U) != 0) {
            ctx.error(where.value, path,
                      "group or others may access the key file; make it readable by ssprd only "
                      "(chmod 600)");
            return false;
        }
    }
    out = std::move(*expanded);
    return true;
}

namespace {

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/// Wipes a temporary copy of secret material before its memory goes back to the allocator.
struct wipe_on_exit {
    std::string& s;
    ~wipe_on_exit() {
        if (!s.empty()) {
            OPENSSL_cleanse(s.data(), s.size());
        }
    }
};

} // namespace

bool read_secret_file(const std::string& file_path, secret_format format, const place& where,
                      const std::string& path, common::secret& out, context& ctx) {
    file_content file = ctx.options().read_secret(file_path);
    if (!file.status.error.empty()) {
        ctx.error(where.value, path, "cannot read the secret file: " + file.status.error);
        return false;
    }
    const bool is_key = format == secret_format::aes_key || format == secret_format::hmac_key;
    if (is_key && (file.status.permissions & 077U) != 0) {
        ctx.error(where.value, path,
                  "group or others may access the key file; make it readable by ssprd only "
                  "(chmod 600)");
        return false;
    }
    if (!is_key && (file.status.permissions & 04U) != 0) {
        ctx.warning(where.value, path,
                    "the secret file is readable by every local user; chmod o-rwx (e.g. 0600)");
    }
    const std::string_view raw = file.content.reveal();
    if (raw.empty()) {
        ctx.error(where.value, path, "the secret file is empty");
        return false;
    }
    if (format == secret_format::hmac_key) {
        // Taken byte for byte, as challenge/ takes it: a binary key may end in 0x0a.
        if (raw.size() < 32 || raw.size() > 4096) {
            ctx.error(where.value, path,
                      "the key file must hold 32 to 4096 bytes (e.g. head -c 32 /dev/urandom)");
            return false;
        }
        out = std::move(file.content);
        return true;
    }
    if (format == secret_format::aes_key) {
        std::string_view text = raw;
        if (raw.size() != 32) {
            // Hex, as store/ reads it: 64 digits and at most a final newline.
            if (!text.empty() && text.back() == '\n') {
                text.remove_suffix(1);
                if (!text.empty() && text.back() == '\r') {
                    text.remove_suffix(1);
                }
            }
            const bool hex = text.size() == 64 && std::all_of(text.begin(), text.end(), [](char c) {
                                 return hex_value(c) >= 0;
                             });
            if (!hex) {
                ctx.error(where.value, path,
                          "the key file must hold exactly 32 bytes or 64 hex digits (e.g. "
                          "openssl rand -hex 32)");
                return false;
            }
        }
        out = std::move(file.content);
        return true;
    }
    std::string text(raw);
    wipe_on_exit wipe_text{text};
    // Editors and `echo` end files with a newline; it is never part of a password or token.
    if (text.back() == '\n') {
        text.back() = '\0';
        text.pop_back();
        if (!text.empty() && text.back() == '\r') {
            text.back() = '\0';
            text.pop_back();
        }
    }
    if (text.empty()) {
        ctx.error(where.value, path, "the secret file is empty");
        return false;
    }
    if (text.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos) {
        ctx.error(where.value, path, "the secret file must hold the secret on one line");
        return false;
    }
    out = common::secret(text);
    return true;
}

key_spec bool_reader::describe() const {
    key_spec k;
    k.kind = value_kind::boolean;
    return k;
}

bool bool_reader::read(const YAML::Node& node, const place& where, const std::string& path,
                       bool& out, context& ctx) const {
    // Only the two spellings that every YAML version agrees on: `yes`, `on` and `y` are booleans
    // to YAML 1.1 and text to YAML 1.2, which is how "no" (Norway) ends up in the wrong place.
    if (node.IsScalar() && node.Tag() == "?") {
        if (node.Scalar() == "true") {
            out = true;
            return true;
        }
        if (node.Scalar() == "false") {
            out = false;
            return true;
        }
    }
    if (node.IsScalar() && meaning_of(node) == scalar_meaning::boolean) {
        // yes/no/on/off: booleans to YAML 1.1 readers, text to YAML 1.2 ones.
        ctx.error(where.value, path,
                  "write true or false; " + quote_for_message(node.Scalar()) +
                      " means different things to different YAML readers");
        return false;
    }
    ctx.error(where.value, path, "expected true or false, not " + describe_node(node));
    return false;
}

std::optional<std::int64_t> read_integer(const YAML::Node& node, const place& where,
                                         const std::string& path, context& ctx, std::int64_t min,
                                         std::int64_t max) {
    const std::string range =
        max == std::numeric_limits<std::int64_t>::max()
            ? "at least " + std::to_string(min)
            : "between " + std::to_string(min) + " and " + std::to_string(max);
    if (!node.IsScalar() || meaning_of(node) != scalar_meaning::integer) {
        ctx.error(where.value, path,
                  "expected a whole number " + range + ", not " + describe_node(node));
        return std::nullopt;
    }
    const std::string& s = node.Scalar();
    static const std::regex decimal("-?(?:0|[1-9][0-9]*)");
    if (!std::regex_match(s, decimal)) {
        ctx.error(where.value, path, "write the number in plain decimal digits");
        return std::nullopt;
    }
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || v < min || v > max) {
        ctx.error(where.value, path, "is " + quote_for_message(s) + "; must be " + range);
        return std::nullopt;
    }
    return v;
}

std::optional<std::chrono::milliseconds>
read_duration(const YAML::Node& node, const place& where, const std::string& path, context& ctx,
              std::chrono::milliseconds min, std::chrono::milliseconds max, bool allow_ms) {
    const std::string expected = "a duration such as 30s, 10m, 24h or 180d";
    const auto s = read_string_scalar(node, where, path, ctx, expected);
    if (!s) {
        return std::nullopt;
    }
    static const std::regex form("([0-9]{1,9})(ms|s|m|h|d)");
    std::smatch m;
    if (!std::regex_match(*s, m, form)) {
        ctx.error(where.value, path, "expected " + expected + ", not " + quote_for_message(*s));
        return std::nullopt;
    }
    const std::string unit = m[2].str();
    if (unit == "ms" && !allow_ms) {
        ctx.error(where.value, path, "write whole seconds here (s, m, h, d)");
        return std::nullopt;
    }
    const std::int64_t n = std::stoll(m[1].str());
    const std::int64_t scale = unit == "ms"  ? 1
                               : unit == "s" ? 1'000
                               : unit == "m" ? 60'000
                               : unit == "h" ? 3'600'000
                                             : 86'400'000;
    const std::chrono::milliseconds d{n * scale}; // at most 999999999 days: fits in int64 ms
    if (d < min || d > max) {
        ctx.error(where.value, path,
                  "is " + *s + "; must be between " + format_duration(min) + " and " +
                      format_duration(max));
        return std::nullopt;
    }
    return d;
}

bool expect_list(const YAML::Node& node, const place& where, const std::string& path, context& ctx,
                 std::size_t min_items, std::size_t max_items) {
    if (!node.IsSequence()) {
        ctx.error(where.value, path, "expected a list, not " + describe_node(node));
        return false;
    }
    if (node.size() < min_items) {
        ctx.error(where.value, path,
                  min_items == 1 ? std::string("must not be empty")
                                 : "needs at least " + std::to_string(min_items) + " entries");
        return false;
    }
    if (node.size() > max_items) {
        ctx.error(where.value, path, "at most " + std::to_string(max_items) + " entries");
        return false;
    }
    return true;
}

bool expect_mapping(const YAML::Node& node, const place& where, const std::string& path,
                    context& ctx) {
    if (!node.IsMap()) {
        ctx.error(where.value, path,
                  "expected a mapping (key: value lines), not " + describe_node(node));
        return false;
    }
    return true;
}

place item_place(const YAML::Node& item, const place& list) {
    if (item.IsNull()) {
        return list;
    }
    return place{item.Mark(), item.Mark()};
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + cost});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::string normalised(std::string_view s) {
    std::string n;
    for (const char c : s) {
        n += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return n;
}

} // namespace

std::string unknown_key_message(const std::string& name, const std::vector<std::string>& known,
                                const std::string& also_allowed) {
    // Someone wrote the secret itself next to where its file belongs. The value is not repeated.
    if (std::find(known.begin(), known.end(), name + "_file") != known.end()) {
        return "secrets are not accepted in the configuration file: put the value in a file "
               "only ssprd can read and name that file in " +
               name + "_file";
    }
    if (name.size() <= 64) {
        const std::string n = normalised(name);
        std::string best;
        std::size_t best_distance = 3;
        for (const auto& k : known) {
            const std::size_t d = n == k ? 0 : edit_distance(n, k);
            if (d < best_distance) {
                best_distance = d;
                best = k;
            }
        }
        if (!best.empty()) {
            return "unknown key " + quote_for_message(name) + "; did you mean " + best + "?";
        }
    }
    std::string list;
    for (const auto& k : known) {
        list += list.empty() ? "" : ", ";
        list += k;
    }
    if (!also_allowed.empty()) {
        list += "; or " + also_allowed;
    }
    return "unknown key " + quote_for_message(name) + "; expected one of: " + list;
}

} // namespace sspr::config::detail
