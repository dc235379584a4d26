// The keys the loader accepts, as data: one tree that the loader itself is built from (so it
// cannot accept a key that is not here) and that the tests compare with config/ssprd.schema.json,
// so the schema editors use cannot drift from what ssprd really reads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sspr::config {

enum class value_kind {
    invalid = 0,
    /// A mapping with fixed keys (children); any other key is an error.
    object,
    /// A sequence; `item` describes every element.
    list,
    /// A mapping with free-form keys (e.g. header names, languages); `item` describes the values.
    map,
    /// A string. Plain scalars that YAML would read as a number, boolean or null are refused
    /// (quote them), so the loader and a YAML library reading the schema agree on the type.
    string,
    /// An absolute file path; `${NAME}` references to the environment are expanded.
    path,
    /// `true` or `false`, nothing else.
    boolean,
    /// A decimal integer within [minimum, maximum].
    integer,
    /// A string such as `30s`, `10m`, `24h`, `180d` (and `250ms` where `pattern` allows it).
    duration,
    /// A string from enum_values.
    enumeration,
};

struct key_spec {
    std::string name;
    value_kind kind = value_kind::invalid;
    bool required = false;
    /// For paths: the file holds a secret, which the loader reads (or, for a TLS key, checks) and
    /// never echoes.
    bool secret_file = false;
    std::string description;
    bool non_empty = false;                // string, path: "" is refused
    std::vector<std::string> enum_values;  // enumeration
    std::optional<std::int64_t> minimum;   // integer
    std::optional<std::int64_t> maximum;   // integer
    std::optional<std::int64_t> min_items; // list
    std::optional<std::int64_t> max_items; // list
    bool unique_items = false;             // list
    std::string pattern;                   // duration: the accepted spelling (ECMA regex)
    std::vector<key_spec> children;        // object
    /// object: further keys whose name matches `name` (an ECMA regex, anchored) and whose value
    /// is described by the spec; keys in `children` take precedence.
    std::vector<key_spec> pattern_children;
    std::vector<key_spec> item; // list, map: exactly one element
};

/// The root (an object whose children are the sections). Built once; safe from any thread.
const key_spec& key_table();

const char* to_string(value_kind kind) noexcept;

} // namespace sspr::config
