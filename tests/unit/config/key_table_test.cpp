// The key table (config/key_table.hpp) is what the loader is built from; config/ssprd.schema.json
// is what editors validate with. These tests fail when the two drift apart (a key, a type, an enum,
// a range or a required key differs), and prove that the loader accepts exactly the table's keys.
#include "config/key_table.hpp"
#include "config/loader.hpp"

#include "tests/support/config_test_support.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <functional>
#include <set>

using namespace sspr::config;
using namespace sspr::config::testing;
namespace json = boost::json;

namespace {

using drift_list = std::vector<std::string>;

const char* json_type(value_kind k) {
    switch (k) {
    case value_kind::object:
    case value_kind::map:
        return "object";
    case value_kind::list:
        return "array";
    case value_kind::boolean:
        return "boolean";
    case value_kind::integer:
        return "integer";
    case value_kind::string:
    case value_kind::path:
    case value_kind::duration:
    case value_kind::enumeration:
        return "string";
    case value_kind::invalid:
        break;
    }
    return "?";
}

std::optional<std::int64_t> int_of(const json::object& o, const char* key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_int64()) {
        return std::nullopt;
    }
    return v->as_int64();
}

/// Compares one key of the table with its schema, recursively; each difference is one entry.
void compare(const key_spec& k, const json::value& schema, const std::string& path,
             drift_list& drift) {
    const auto note = [&](const std::string& what) { drift.push_back(path + ": " + what); };
    if (!schema.is_object()) {
        note("schema is not an object");
        return;
    }
    const json::object& s = schema.get_object();
    const auto* type = s.if_contains("type");
    if (type == nullptr || !type->is_string() || type->get_string() != json_type(k.kind)) {
        note(std::string("type differs: table has ") + to_string(k.kind) + ", schema " +
             (type != nullptr ? json::serialize(*type) : std::string("none")));
        return;
    }
    const bool item = path.size() > 2 && (path.compare(path.size() - 2, 2, "[]") == 0 ||
                                          path.compare(path.size() - 2, 2, ".*") == 0);
    if (!path.empty() && !item) {
        const auto* d = s.if_contains("description");
        if (d == nullptr || !d->is_string() || d->get_string().empty()) {
            note("schema has no description");
        }
    }
    switch (k.kind) {
    case value_kind::object: {
        const auto* ap = s.if_contains("additionalProperties");
        if (ap == nullptr || !ap->is_bool() || ap->get_bool()) {
            note("schema must say additionalProperties: false (the loader refuses other keys)");
        }
        const auto* props = s.if_contains("properties");
        if (props == nullptr || !props->is_object()) {
            note("schema has no properties");
            return;
        }
        std::set<std::string> table_names;
        std::set<std::string> table_required;
        for (const auto& c : k.children) {
            table_names.insert(c.name);
            if (c.required) {
                table_required.insert(c.name);
            }
            const std::string child = path.empty() ? c.name : path + "." + c.name;
            if (const auto* cs = props->get_object().if_contains(c.name)) {
                compare(c, *cs, child, drift);
            } else {
                drift.push_back(child + ": in the table, not in the schema");
            }
        }
        for (const auto& [name, value] : props->get_object()) {
            if (table_names.count(std::string(name)) == 0) {
                drift.push_back((path.empty() ? "" : path + ".") + std::string(name) +
                                ": in the schema, not in the table");
            }
        }
        // Keys named by a pattern (further throttle buckets): same patterns, same values.
        const auto* patterns = s.if_contains("patternProperties");
        std::set<std::string> table_patterns;
        for (const auto& pc : k.pattern_children) {
            table_patterns.insert(pc.name);
            const json::value* ps = patterns != nullptr && patterns->is_object()
                                        ? patterns->get_object().if_contains(pc.name)
                                        : nullptr;
            if (ps == nullptr) {
                note("pattern " + pc.name + ": in the table, not in the schema");
                continue;
            }
            compare(pc, *ps, path + ".<" + pc.name + ">", drift);
        }
        if (patterns != nullptr && patterns->is_object()) {
            for (const auto& [name, value] : patterns->get_object()) {
                if (table_patterns.count(std::string(name)) == 0) {
                    note("pattern " + std::string(name) + ": in the schema, not in the table");
                }
            }
        }
        std::set<std::string> schema_required;
        if (const auto* req = s.if_contains("required"); req != nullptr && req->is_array()) {
            for (const auto& r : req->get_array()) {
                schema_required.insert(std::string(r.as_string()));
            }
        }
        if (table_required != schema_required) {
            note("required keys differ");
        }
        break;
    }
    case value_kind::map: {
        const auto* ap = s.if_contains("additionalProperties");
        if (ap == nullptr || !ap->is_object()) {
            note("schema must describe the values in additionalProperties");
            return;
        }
        compare(k.item.front(), *ap, path + ".*", drift);
        break;
    }
    case value_kind::list: {
        if (int_of(s, "minItems") != k.min_items) {
            note("minItems differs");
        }
        if (int_of(s, "maxItems") != k.max_items) {
            note("maxItems differs");
        }
        const auto* unique = s.if_contains("uniqueItems");
        if ((unique != nullptr && unique->is_bool() && unique->get_bool()) != k.unique_items) {
            note("uniqueItems differs");
        }
        const auto* items = s.if_contains("items");
        if (items == nullptr) {
            note("schema has no items");
            return;
        }
        compare(k.item.front(), *items, path + "[]", drift);
        break;
    }
    case value_kind::integer:
        if (int_of(s, "minimum") != k.minimum || int_of(s, "maximum") != k.maximum) {
            note("range differs");
        }
        break;
    case value_kind::enumeration: {
        std::vector<std::string> values;
        if (const auto* e = s.if_contains("enum"); e != nullptr && e->is_array()) {
            for (const auto& v : e->get_array()) {
                values.emplace_back(v.is_string() ? std::string(v.get_string()) : "?");
            }
        }
        if (values != k.enum_values) {
            note("enum values differ");
        }
        break;
    }
    case value_kind::duration: {
        const auto* p = s.if_contains("pattern");
        if (p == nullptr || !p->is_string() || p->get_string() != k.pattern) {
            note("duration pattern differs");
        }
        break;
    }
    case value_kind::string:
    case value_kind::path:
        if (int_of(s, "minLength").value_or(0) != (k.non_empty ? 1 : 0)) {
            note("minLength differs (a key that must not be empty has minLength 1)");
        }
        break;
    case value_kind::boolean:
    case value_kind::invalid:
        break;
    }
}

json::value schema_file() {
    return json::parse(read_source_file("config/ssprd.schema.json"));
}

/// Calls f for every key of the table with its path ("a.b[].c").
void each_key(const key_spec& k, const std::string& path,
              const std::function<void(const key_spec&, const std::string&)>& f) {
    for (const auto& c : k.children) {
        const std::string p = path.empty() ? c.name : path + "." + c.name;
        f(c, p);
        each_key(c, p, f);
    }
    if (k.kind == value_kind::list) {
        each_key(k.item.front(), path + "[]", f);
    }
}

/// A JSON (= YAML flow) document that holds `leaf` at the table path `path`.
json::value nest(const std::string& path, json::value leaf) {
    // Split "a.b[].c" into a, b[], c and build from the inside out.
    std::vector<std::string> parts;
    std::string current;
    for (const char c : path) {
        if (c == '.') {
            parts.push_back(current);
            current.clear();
        } else {
            current += c;
        }
    }
    parts.push_back(current);
    json::value v = std::move(leaf);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
        std::string name = *it;
        const bool in_list = name.size() > 2 && name.compare(name.size() - 2, 2, "[]") == 0;
        if (in_list) {
            name.resize(name.size() - 2);
        }
        json::value inner = std::move(v);
        json::object o;
        o[name] = in_list ? json::value(json::array{std::move(inner)}) : std::move(inner);
        v = std::move(o);
    }
    return v;
}

std::string loader_path(std::string table_path) {
    for (auto at = table_path.find("[]"); at != std::string::npos; at = table_path.find("[]")) {
        table_path.replace(at, 2, "[0]");
    }
    return table_path;
}

} // namespace

TEST_CASE("key table: the schema file describes exactly the table", "[config]") {
    const json::value schema = schema_file();
    REQUIRE(schema.is_object());
    CHECK(schema.at("$schema").as_string() == "https://json-schema.org/draft/2020-12/schema");
    drift_list drift;
    compare(key_table(), schema, "", drift);
    INFO("regenerate a starting point with build/tests/unit/config/sspr_config_schema_gen");
    INFO(Catch::Detail::stringify(drift));
    CHECK(drift.empty());
}

TEST_CASE("key table: the comparison notices drift", "[config]") {
    // A test of the test: changes to a copy of the schema are each caught.
    const auto drift_after = [](const std::function<void(json::object&)>& change) {
        json::value schema = schema_file();
        change(schema.as_object());
        drift_list drift;
        compare(key_table(), schema, "", drift);
        return drift;
    };
    const auto props = [](json::object& o,
                          std::initializer_list<const char*> path) -> json::object& {
        json::object* at = &o;
        for (const char* p : path) {
            at = &at->at("properties").as_object().at(p).as_object();
        }
        return *at;
    };
    CHECK(drift_after([&](json::object& s) {
              props(s, {"directory"}).at("properties").as_object().erase("pool_size");
          }) == drift_list{"directory.pool_size: in the table, not in the schema"});
    CHECK(drift_after([&](json::object& s) {
              props(s, {"directory"}).at("properties").as_object()["extra"] =
                  json::object{{"type", "string"}, {"description", "x"}};
          }) == drift_list{"directory.extra: in the schema, not in the table"});
    CHECK(drift_after([&](json::object& s) {
              props(s, {"directory", "pool_size"})["type"] = "string";
          }).size() == 1);
    CHECK(drift_after([&](json::object& s) {
              props(s, {"directory", "dialect"})["enum"] = json::array{"auto", "ad"};
          }) == drift_list{"directory.dialect: enum values differ"});
    CHECK(drift_after([&](json::object& s) {
              props(s, {"directory"})["required"] = json::array{"uris"};
          }) == drift_list{"directory: required keys differ"});
    CHECK(drift_after([&](json::object& s) {
              props(s, {"directory", "pool_size"})["maximum"] = 65;
          }) == drift_list{"directory.pool_size: range differs"});
    CHECK(drift_after([&](json::object& s) {
              props(s, {"directory"})["additionalProperties"] = true;
          }).size() == 1);
}

TEST_CASE("key table: every key is complete and consistent", "[config]") {
    drift_list problems;
    each_key(key_table(), "", [&](const key_spec& k, const std::string& path) {
        const bool list_item = path.size() > 2 && path.compare(path.size() - 2, 2, "[]") == 0;
        if (!list_item && k.description.empty()) {
            problems.push_back(path + ": no description");
        }
        if ((k.kind == value_kind::list || k.kind == value_kind::map) != (k.item.size() == 1)) {
            problems.push_back(path + ": item description");
        }
        if (k.kind == value_kind::enumeration && k.enum_values.empty()) {
            problems.push_back(path + ": no enum values");
        }
        if (k.kind == value_kind::integer &&
            (!k.minimum || !k.maximum || *k.minimum > *k.maximum)) {
            problems.push_back(path + ": range");
        }
        if (k.kind == value_kind::duration && k.pattern.empty()) {
            problems.push_back(path + ": duration pattern");
        }
        if (k.secret_file && k.kind != value_kind::path) {
            problems.push_back(path + ": a secret file is a path");
        }
        std::set<std::string> names;
        for (const auto& c : k.children) {
            if (!names.insert(c.name).second) {
                problems.push_back(path + "." + c.name + ": twice");
            }
        }
    });
    INFO(Catch::Detail::stringify(problems));
    CHECK(problems.empty());
}

TEST_CASE("key table: no key invites an inline secret", "[config]") {
    // Secrets are files: a value named like a secret must be a *_file path.
    drift_list problems;
    each_key(key_table(), "", [&](const key_spec& k, const std::string& path) {
        const std::string& n = k.name;
        const bool secret_name = n.find("password") != std::string::npos ||
                                 n.find("token") != std::string::npos ||
                                 n.find("secret") != std::string::npos ||
                                 (n.find("key") != std::string::npos && n != "key" &&
                                  n.find("key_file") == std::string::npos);
        // (Sections such as `password`, the password rules, hold no value themselves.)
        if (secret_name && k.kind != value_kind::object &&
            !(k.secret_file || (k.kind == value_kind::map && k.item.front().secret_file))) {
            problems.push_back(path);
        }
    });
    INFO(Catch::Detail::stringify(problems));
    CHECK(problems.empty());
}

TEST_CASE("key table: the loader reads every key of the table, and only those", "[config]") {
    std::size_t keys = 0;
    each_key(key_table(), "", [&](const key_spec& k, const std::string& path) {
        if (path.size() > 2 && path.compare(path.size() - 2, 2, "[]") == 0) {
            return; // list items are covered by their list
        }
        ++keys;
        // A value of the wrong shape for this key: if the loader knows the key, the error is a
        // type error at its path, never "unknown key".
        const bool container =
            k.kind == value_kind::object || k.kind == value_kind::list || k.kind == value_kind::map;
        const json::value wrong =
            container ? json::value("scalar") : json::value(json::array{json::array{}});
        const std::string yaml = json::serialize(nest(path, wrong));
        const auto r = load(yaml);
        REQUIRE_FALSE(r);
        const auto at = errors_at(r, loader_path(path));
        INFO(path + " <- " + yaml);
        INFO(Catch::Detail::stringify(error_lines(r)));
        REQUIRE(at.size() == 1);
        CHECK_THAT(at[0].message,
                   Catch::Matchers::StartsWith("expected") || Catch::Matchers::StartsWith("write"));

        if (k.kind == value_kind::object) {
            // ... and an object refuses a key that is not in the table.
            const std::string extra =
                json::serialize(nest(path, json::object{{"zz_not_a_key", 1}}));
            const auto unknown = errors_at(load(extra), loader_path(path) + ".zz_not_a_key");
            INFO(extra);
            REQUIRE(unknown.size() == 1);
            CHECK_THAT(unknown[0].message, Catch::Matchers::StartsWith("unknown key"));
        }
    });
    CHECK(keys > 150);
}
