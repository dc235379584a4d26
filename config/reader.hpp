// Internal to config/: the building blocks the loader is made of. An object_schema<T> lists the
// keys of one YAML mapping and where each goes in T; a reader turns one YAML value into one C++
// value and says what it accepts (key_spec). The same objects parse the file and describe the key
// table, so the loader and config/ssprd.schema.json are compared against one source.
#pragma once

#include "common/secret.hpp"
#include "config/diagnostic.hpp"
#include "config/key_table.hpp"
#include "config/loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sspr::config::detail {

// ---- where things are, and what went wrong --------------------------------------------------

/// Where a value sits: the key that names it (for "missing" and "unknown") and the value itself
/// (for "wrong"). Both are yaml-cpp marks, 0-based.
struct place {
    YAML::Mark key;
    YAML::Mark value;
};

/// Collects diagnostics and the position of every key seen, for the checks that run after parsing
/// (they name a key path and get its place from here).
class context {
public:
    context(std::string file, const load_options& options);

    /// `blocks_checks`: later checks that relate this key to others stay quiet (a value that
    /// could not be read); false for the errors of those checks themselves.
    void error(const YAML::Mark& mark, const std::string& path, std::string message,
               bool blocks_checks = true);
    void warning(const YAML::Mark& mark, const std::string& path, std::string message);

    /// Remembers where the value of `path` is in the file.
    void note(const std::string& path, const YAML::Mark& mark);
    /// The place of `path`, or of its nearest ancestor that is in the file; 1:1 otherwise.
    [[nodiscard]] YAML::Mark position_of(std::string_view path) const;
    /// True when the key was written in the file (not a default).
    [[nodiscard]] bool present(std::string_view path) const;
    /// True when `path`, one of its ancestors or one of its descendants already has an error:
    /// checks that relate values then stay quiet instead of reporting a consequence.
    [[nodiscard]] bool failed(std::string_view path) const;

    [[nodiscard]] const load_options& options() const noexcept { return options_; }

    /// Key files' bytes, kept only while loading so that checks can tell that two keys are one.
    void keep_key(const std::string& path, common::secret key) { keys_[path] = std::move(key); }
    [[nodiscard]] const common::secret* key(std::string_view path) const {
        const auto it = keys_.find(path);
        return it == keys_.end() ? nullptr : &it->second;
    }
    [[nodiscard]] bool has_errors() const noexcept { return !errors_.empty(); }

    /// The diagnostics in file order (line, column), then in the order found.
    std::vector<diagnostic> take_errors();
    std::vector<diagnostic> take_warnings();

private:
    diagnostic make(severity level, const YAML::Mark& mark, const std::string& path,
                    std::string message) const;

    std::string file_;
    const load_options& options_;
    std::vector<diagnostic> errors_;
    std::vector<diagnostic> warnings_;
    std::map<std::string, YAML::Mark, std::less<>> positions_;
    std::set<std::string, std::less<>> failed_;
    std::map<std::string, common::secret, std::less<>> keys_;
};

std::string join_path(const std::string& parent, std::string_view name);
std::string index_path(const std::string& parent, std::size_t index);

// ---- scalars --------------------------------------------------------------------------------

/// What a scalar means to YAML 1.1 (PyYAML's resolver, which editors and the schema test use).
enum class scalar_meaning { invalid = 0, string, null, boolean, integer, floating, timestamp };

/// The meaning of a node: plain scalars are resolved, quoted ones are strings, the standard
/// `!!str`/`!!int`/... tags are honoured; any other tag gives invalid.
scalar_meaning meaning_of(const YAML::Node& node);

/// "a mapping", "a list", "a number", ... for "expected X, not Y" messages.
std::string describe_node(const YAML::Node& node);

/// A value safe to quote in a message: at most 40 characters, control characters escaped.
std::string quote_for_message(std::string_view value);

bool is_valid_utf8(std::string_view text) noexcept;

/// Reads a scalar the file meant as a string, reporting anything else. Empty optional on error.
/// `text_hint`: say that quotes make a number or boolean text (for free text, not for a
/// duration or a choice, where quoting would not help).
std::optional<std::string> read_string_scalar(const YAML::Node& node, const place& where,
                                              const std::string& path, context& ctx,
                                              std::string_view expected, bool text_hint = false);

std::string format_duration(std::chrono::milliseconds d);

/// `${NAME}` references replaced from the environment; nullopt (with an error) when one is unset
/// or malformed.
std::optional<std::string> expand_environment(const std::string& value, const place& where,
                                              const std::string& path, context& ctx);

// ---- readers: one YAML value -> one C++ value -----------------------------------------------
// Each has describe() (its key_spec without name, required, description) and
// read(node, where, path, out, ctx) -> bool, which leaves `out` alone on error.

struct text_reader {
    bool non_empty = false;
    std::size_t max_length = 1024;

    [[nodiscard]] key_spec describe() const;
    bool read(const YAML::Node& node, const place& where, const std::string& path, std::string& out,
              context& ctx) const;
};

enum class file_check {
    invalid = 0,
    /// Only the spelling is checked (a file the daemon creates: database, audit log).
    none,
    /// Must exist and be readable now (certificates, word lists).
    readable,
    /// As readable, and an error when group or others may access it (TLS private key).
    sensitive,
};

struct path_reader {
    file_check check = file_check::none;

    [[nodiscard]] key_spec describe() const;
    bool read(const YAML::Node& node, const place& where, const std::string& path, std::string& out,
              context& ctx) const;
};

enum class secret_format {
    invalid = 0,
    /// One line of text (a password, a token); a final newline is not part of it. A warning when
    /// every local user may read the file.
    line,
    /// An AES-256 key as store/ reads it: exactly 32 bytes, or 64 hex digits and an optional
    /// final newline. Refused when group or others may access the file.
    aes_key,
    /// An HMAC key as challenge/ reads it: 32 to 4096 bytes, taken as stored. Refused when group
    /// or others may access the file.
    hmac_key,
};

/// Reads the secret file named by a path value into `out` (for a key: the file's bytes). Never
/// puts the value, nor the path (an admin may have pasted the secret itself there), into a
/// message.
bool read_secret_file(const std::string& file_path, secret_format format, const place& where,
                      const std::string& path, common::secret& out, context& ctx);

struct bool_reader {
    [[nodiscard]] key_spec describe() const;
    bool read(const YAML::Node& node, const place& where, const std::string& path, bool& out,
              context& ctx) const;
};

/// A decimal integer in [min, max] as int64, for integer_reader below.
std::optional<std::int64_t> read_integer(const YAML::Node& node, const place& where,
                                         const std::string& path, context& ctx, std::int64_t min,
                                         std::int64_t max);

template <std::integral I> struct integer_reader {
    std::int64_t min = 0;
    std::int64_t max = static_cast<std::int64_t>(std::numeric_limits<I>::max());

    [[nodiscard]] key_spec describe() const {
        key_spec k;
        k.kind = value_kind::integer;
        k.minimum = min;
        k.maximum = max;
        return k;
    }
    bool read(const YAML::Node& node, const place& where, const std::string& path, I& out,
              context& ctx) const {
        const auto v = read_integer(node, where, path, ctx, min, max);
        if (!v) {
            return false;
        }
        // In range by construction: min and max are within I for every reader we declare.
        out = static_cast<I>(*v);
        return true;
    }
};

/// A duration in milliseconds within [min, max]; `allow_ms` admits the "250ms" spelling.
std::optional<std::chrono::milliseconds>
read_duration(const YAML::Node& node, const place& where, const std::string& path, context& ctx,
              std::chrono::milliseconds min, std::chrono::milliseconds max, bool allow_ms);

inline constexpr std::string_view duration_pattern_s = "^[0-9]+(s|m|h|d)$";
inline constexpr std::string_view duration_pattern_ms = "^[0-9]+(ms|s|m|h|d)$";

template <class D> struct duration_reader {
    D min{};
    D max{};

    static constexpr bool allow_ms = std::is_same_v<D, std::chrono::milliseconds>;

    [[nodiscard]] key_spec describe() const {
        key_spec k;
        k.kind = value_kind::duration;
        k.pattern = std::string(allow_ms ? duration_pattern_ms : duration_pattern_s);
        return k;
    }
    bool read(const YAML::Node& node, const place& where, const std::string& path, D& out,
              context& ctx) const {
        const auto v = read_duration(
            node, where, path, ctx, std::chrono::duration_cast<std::chrono::milliseconds>(min),
            std::chrono::duration_cast<std::chrono::milliseconds>(max), allow_ms);
        if (!v) {
            return false;
        }
        out = std::chrono::duration_cast<D>(*v);
        return true;
    }
};

template <class E> struct enum_reader {
    std::vector<std::pair<std::string, E>> values;

    [[nodiscard]] key_spec describe() const {
        key_spec k;
        k.kind = value_kind::enumeration;
        for (const auto& v : values) {
            k.enum_values.push_back(v.first);
        }
        return k;
    }
    bool read(const YAML::Node& node, const place& where, const std::string& path, E& out,
              context& ctx) const {
        const auto text = read_string_scalar(node, where, path, ctx, "one of " + choices());
        if (!text) {
            return false;
        }
        for (const auto& v : values) {
            if (v.first == *text) {
                out = v.second;
                return true;
            }
        }
        ctx.error(where.value, path,
                  "unknown value " + quote_for_message(*text) + "; expected one of " + choices());
        return false;
    }

private:
    [[nodiscard]] std::string choices() const {
        std::string s;
        for (const auto& v : values) {
            s += s.empty() ? "" : ", ";
            s += v.first;
        }
        return s;
    }
};

template <class R> struct optional_reader {
    R inner;

    [[nodiscard]] key_spec describe() const { return inner.describe(); }
    template <class V>
    bool read(const YAML::Node& node, const place& where, const std::string& path,
              std::optional<V>& out, context& ctx) const {
        V v{};
        if (!inner.read(node, where, path, v, ctx)) {
            return false;
        }
        out = std::move(v);
        return true;
    }
};

bool expect_list(const YAML::Node& node, const place& where, const std::string& path, context& ctx,
                 std::size_t min_items, std::size_t max_items);
bool expect_mapping(const YAML::Node& node, const place& where, const std::string& path,
                    context& ctx);
place item_place(const YAML::Node& item, const place& list);

template <class R> struct list_reader {
    R item;
    std::size_t min_items = 0;
    std::size_t max_items = 64;
    bool unique = false;

    [[nodiscard]] key_spec describe() const {
        key_spec k;
        k.kind = value_kind::list;
        if (min_items > 0) {
            k.min_items = static_cast<std::int64_t>(min_items);
        }
        k.max_items = static_cast<std::int64_t>(max_items);
        k.unique_items = unique;
        k.item.push_back(item.describe());
        return k;
    }
    template <class V>
    bool read(const YAML::Node& node, const place& where, const std::string& path,
              std::vector<V>& out, context& ctx) const {
        if (!expect_list(node, where, path, ctx, min_items, max_items)) {
            return false;
        }
        std::vector<V> result;
        bool ok = true;
        std::size_t index = 0;
        for (const auto& element : node) {
            const std::string element_path = index_path(path, index++);
            const place element_place = item_place(element, where);
            ctx.note(element_path, element_place.value);
            V v{};
            if (!item.read(element, element_place, element_path, v, ctx)) {
                ok = false;
                continue;
            }
            if constexpr (std::equality_comparable<V>) {
                if (unique && std::find(result.begin(), result.end(), v) != result.end()) {
                    ctx.error(element_place.value, element_path, "duplicate entry");
                    ok = false;
                    continue;
                }
            }
            result.push_back(std::move(v));
        }
        // Keep what was given even when one entry is wrong, so that later checks see the rest;
        // the error already stops the file from being applied.
        out = std::move(result);
        return ok;
    }
};

/// Checks a free-form key of a map_reader (a header name, a language code).
using key_rule = std::function<std::optional<std::string>(const std::string& key)>;

template <class R> struct map_reader {
    R item;
    key_rule check_key; // returns an error message for a bad key
    std::size_t max_entries = 64;

    [[nodiscard]] key_spec describe() const {
        key_spec k;
        k.kind = value_kind::map;
        k.item.push_back(item.describe());
        return k;
    }
    template <class V>
    bool read(const YAML::Node& node, const place& where, const std::string& path,
              std::map<std::string, V>& out, context& ctx) const {
        if (!expect_mapping(node, where, path, ctx)) {
            return false;
        }
        if (node.size() > max_entries) {
            ctx.error(where.value, path, "at most " + std::to_string(max_entries) + " entries");
            return false;
        }
        std::map<std::string, V> result;
        bool ok = true;
        // By value: yaml-cpp's iterator hands out a proxy, a reference into it would dangle.
        for (const auto& entry : node) {
            const YAML::Node key = entry.first;
            const YAML::Node value = entry.second;
            const place entry_place{key.Mark(), value.IsNull() ? key.Mark() : value.Mark()};
            if (!key.IsScalar() || meaning_of(key) != scalar_meaning::string) {
                ctx.error(key.Mark(), path, "keys here must be plain text");
                ok = false;
                continue;
            }
            const std::string& name = key.Scalar();
            const std::string entry_path = join_path(path, name);
            ctx.note(entry_path, entry_place.value);
            if (check_key) {
                if (auto problem = check_key(name)) {
                    ctx.error(key.Mark(), entry_path, *problem);
                    ok = false;
                    continue;
                }
            }
            if (result.count(name) != 0) {
                ctx.error(key.Mark(), entry_path, "duplicate key");
                ok = false;
                continue;
            }
            V v{};
            if (!item.read(value, entry_place, entry_path, v, ctx)) {
                ok = false;
                continue;
            }
            result.emplace(name, std::move(v));
        }
        out = std::move(result);
        return ok;
    }
};

// ---- objects: a mapping with fixed keys -----------------------------------------------------

/// The message for a key that is not in the table, with a hint: a near spelling, or the _file key
/// that an inline secret belongs in. `known` are the keys of the mapping.
std::string unknown_key_message(const std::string& name, const std::vector<std::string>& known,
                                const std::string& also_allowed = {});

template <class T> class object_schema {
public:
    using parse_fn =
        std::function<bool(T&, const YAML::Node&, const place&, const std::string&, context&)>;

    /// An optional key: absent means the in-class default of T stays.
    template <class Access, class Reader>
    object_schema& key(std::string name, Access access, Reader reader, std::string description) {
        return add(std::move(name), std::move(access), std::move(reader), std::move(description),
                   false);
    }

    /// A key the file must give: there is no safe default for it.
    template <class Access, class Reader>
    object_schema& required(std::string name, Access access, Reader reader,
                            std::string description) {
        return add(std::move(name), std::move(access), std::move(reader), std::move(description),
                   true);
    }

    /// A path to a file holding a secret: the path goes to `path_member`, the secret it holds to
    /// `secret_member`. The secret itself is never accepted inline.
    object_schema& secret_file(std::string name, std::string T::*path_member,
                               common::secret T::*secret_member, secret_format format,
                               std::string description, bool is_required) {
        key_spec spec = path_reader{}.describe();
        spec.name = std::move(name);
        spec.required = is_required;
        spec.secret_file = true;
        spec.description = std::move(description);
        fields_.push_back(field{
            std::move(spec),
            [path_member, secret_member, format](T& obj, const YAML::Node& node, const place& where,
                                                 const std::string& path, context& ctx) {
                std::string file_path;
                if (!path_reader{}.read(node, where, path, file_path, ctx)) {
                    return false;
                }
                obj.*path_member = file_path;
                return read_secret_file(file_path, format, where, path, obj.*secret_member, ctx);
            }});
        return *this;
    }

    /// A key file: checked (format, permissions) and its bytes kept in the context for the
    /// checks; the key itself stays out of the configuration, its owner reads it.
    object_schema& key_file(std::string name, std::string T::*path_member, secret_format format,
                            std::string description, bool is_required) {
        key_spec spec = path_reader{}.describe();
        spec.name = std::move(name);
        spec.required = is_required;
        spec.secret_file = true;
        spec.description = std::move(description);
        fields_.push_back(
            field{std::move(spec),
                  [path_member, format](T& obj, const YAML::Node& node, const place& where,
                                        const std::string& path, context& ctx) {
                      std::string file_path;
                      if (!path_reader{}.read(node, where, path, file_path, ctx)) {
                          return false;
                      }
                      obj.*path_member = file_path;
                      common::secret bytes;
                      if (!read_secret_file(file_path, format, where, path, bytes, ctx)) {
                          return false;
                      }
                      ctx.keep_key(path, std::move(bytes));
                      return true;
                  }});
        return *this;
    }

    /// Keys named freely within `regex` (anchored): each is read by `reader` into a fresh V and
    /// handed to `add(obj, name, value)`. `what` describes the names for messages.
    template <class V, class Reader, class Add>
    object_schema& pattern_key(const std::string& regex, std::string what, Reader reader, Add add,
                               std::string description) {
        key_spec spec = reader.describe();
        spec.name = regex;
        spec.description = std::move(description);
        patterns_.push_back(pattern_field{
            std::regex(regex), std::move(what),
            field{std::move(spec), [reader = std::move(reader), add = std::move(add)](
                                       T& obj, const YAML::Node& node, const place& where,
                                       const std::string& path, context& ctx) {
                      V value{};
                      if (!reader.read(node, where, path, value, ctx)) {
                          return false;
                      }
                      const auto dot = path.rfind('.');
                      add(obj, dot == std::string::npos ? path : path.substr(dot + 1),
                          std::move(value));
                      return true;
                  }}});
        return *this;
    }

    [[nodiscard]] key_spec describe() const {
        key_spec k;
        k.kind = value_kind::object;
        for (const auto& f : fields_) {
            k.children.push_back(f.spec);
        }
        for (const auto& p : patterns_) {
            k.pattern_children.push_back(p.f.spec);
        }
        return k;
    }

    bool read(const YAML::Node& node, const place& where, const std::string& path, T& out,
              context& ctx) const {
        if (!expect_mapping(node, where, path, ctx)) {
            return false;
        }
        bool ok = true;
        std::set<std::string, std::less<>> seen;
        // By value: yaml-cpp's iterator hands out a proxy, a reference into it would dangle.
        for (const auto& entry : node) {
            const YAML::Node key = entry.first;
            const YAML::Node value = entry.second;
            if (!key.IsScalar() || meaning_of(key) != scalar_meaning::string) {
                ctx.error(key.Mark(), path, "keys must be plain names");
                ok = false;
                continue;
            }
            const std::string& name = key.Scalar();
            const std::string child = join_path(path, name);
            // A null value's own mark points past the line; the key is where the admin looks.
            const place child_place{key.Mark(), value.IsNull() ? key.Mark() : value.Mark()};
            if (!seen.insert(name).second) {
                ctx.error(key.Mark(), child,
                          "duplicate key (YAML would silently keep only one of them)");
                ok = false;
                continue;
            }
            const field* f = find(name);
            if (f == nullptr) {
                f = find_pattern(name);
            }
            if (f == nullptr) {
                ctx.error(key.Mark(), child,
                          unknown_key_message(name, names(), patterns_description()));
                ok = false;
                continue;
            }
            ctx.note(child, child_place.value);
            if (!f->parse(out, value, child_place, child, ctx)) {
                ok = false;
            }
        }
        for (const auto& f : fields_) {
            if (f.spec.required && seen.count(f.spec.name) == 0) {
                ctx.error(where.key, join_path(path, f.spec.name), "missing required key");
                ok = false;
            }
        }
        return ok;
    }

private:
    struct field {
        key_spec spec;
        parse_fn parse;
    };

    template <class Access, class Reader>
    object_schema& add(std::string name, Access access, Reader reader, std::string description,
                       bool is_required) {
        key_spec spec = reader.describe();
        spec.name = std::move(name);
        spec.required = is_required;
        spec.description = std::move(description);
        fields_.push_back(
            field{std::move(spec), [access = std::move(access), reader = std::move(reader)](
                                       T& obj, const YAML::Node& node, const place& where,
                                       const std::string& path, context& ctx) {
                      return reader.read(node, where, path, std::invoke(access, obj), ctx);
                  }});
        return *this;
    }

    [[nodiscard]] const field* find(std::string_view name) const {
        for (const auto& f : fields_) {
            if (f.spec.name == name) {
                return &f;
            }
        }
        return nullptr;
    }

    [[nodiscard]] const field* find_pattern(const std::string& name) const {
        for (const auto& p : patterns_) {
            if (name.size() <= 64 && std::regex_match(name, p.re)) {
                return &p.f;
            }
        }
        return nullptr;
    }

    [[nodiscard]] std::string patterns_description() const {
        std::string s;
        for (const auto& p : patterns_) {
            s += s.empty() ? "" : "; ";
            s += p.what;
        }
        return s;
    }

    [[nodiscard]] std::vector<std::string> names() const {
        std::vector<std::string> n;
        for (const auto& f : fields_) {
            n.push_back(f.spec.name);
        }
        return n;
    }

    struct pattern_field {
        std::regex re;
        std::string what;
        field f;
    };

    std::vector<field> fields_;
    std::vector<pattern_field> patterns_;
};

/// A nested mapping read by its own object_schema. Shared so that copies of readers stay cheap.
template <class T> struct object_reader {
    std::shared_ptr<const object_schema<T>> schema;

    [[nodiscard]] key_spec describe() const { return schema->describe(); }
    bool read(const YAML::Node& node, const place& where, const std::string& path, T& out,
              context& ctx) const {
        return schema->read(node, where, path, out, ctx);
    }
};

template <class T> object_reader<T> object_of(object_schema<T> schema) {
    return object_reader<T>{std::make_shared<const object_schema<T>>(std::move(schema))};
}

} // namespace sspr::config::detail
