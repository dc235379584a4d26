// Prints the JSON schema that config::key_table() implies, pretty-printed, on stdout. The
// checked-in config/ssprd.schema.json started as this output; key_table_test.cpp keeps the two in
// step.
#include "config/key_table.hpp"

#include <boost/json.hpp>

#include <iostream>
#include <string>

namespace {

namespace json = boost::json;
using sspr::config::key_spec;
using sspr::config::value_kind;

json::object schema_of(const key_spec& k) {
    json::object o;
    if (!k.description.empty()) {
        o["description"] = k.description;
    }
    switch (k.kind) {
    case value_kind::object: {
        o["type"] = "object";
        json::object props;
        json::array required;
        for (const auto& c : k.children) {
            props[c.name] = schema_of(c);
            if (c.required) {
                required.emplace_back(c.name);
            }
        }
        o["properties"] = std::move(props);
        if (!k.pattern_children.empty()) {
            json::object patterns;
            for (const auto& c : k.pattern_children) {
                patterns[c.name] = schema_of(c);
            }
            o["patternProperties"] = std::move(patterns);
        }
        if (!required.empty()) {
            o["required"] = std::move(required);
        }
        o["additionalProperties"] = false;
        break;
    }
    case value_kind::list:
        o["type"] = "array";
        o["items"] = schema_of(k.item.front());
        if (k.min_items) {
            o["minItems"] = *k.min_items;
        }
        if (k.max_items) {
            o["maxItems"] = *k.max_items;
        }
        if (k.unique_items) {
            o["uniqueItems"] = true;
        }
        break;
    case value_kind::map:
        o["type"] = "object";
        o["additionalProperties"] = schema_of(k.item.front());
        break;
    case value_kind::string:
    case value_kind::path:
        o["type"] = "string";
        if (k.non_empty) {
            o["minLength"] = 1;
        }
        break;
    case value_kind::boolean:
        o["type"] = "boolean";
        break;
    case value_kind::integer:
        o["type"] = "integer";
        if (k.minimum) {
            o["minimum"] = *k.minimum;
        }
        if (k.maximum) {
            o["maximum"] = *k.maximum;
        }
        break;
    case value_kind::duration:
        o["type"] = "string";
        o["pattern"] = k.pattern;
        break;
    case value_kind::enumeration: {
        o["type"] = "string";
        json::array values;
        for (const auto& v : k.enum_values) {
            values.emplace_back(v);
        }
        o["enum"] = std::move(values);
        break;
    }
    case value_kind::invalid:
        break;
    }
    return o;
}

void pretty(std::ostream& out, const json::value& v, int indent) {
    const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
    const std::string inner(static_cast<std::size_t>(indent + 1) * 2, ' ');
    if (v.is_object()) {
        const auto& o = v.get_object();
        if (o.empty()) {
            out << "{}";
            return;
        }
        out << "{\n";
        bool first = true;
        for (const auto& [key, value] : o) {
            out << (first ? "" : ",\n") << inner << json::serialize(json::string(key)) << ": ";
            pretty(out, value, indent + 1);
            first = false;
        }
        out << "\n" << pad << "}";
        return;
    }
    if (v.is_array()) {
        const auto& a = v.get_array();
        bool scalars = true;
        for (const auto& e : a) {
            scalars = scalars && !e.is_object() && !e.is_array();
        }
        if (scalars) {
            out << json::serialize(v); // short lists (enums, required) on one line
            return;
        }
        out << "[\n";
        bool first = true;
        for (const auto& e : a) {
            out << (first ? "" : ",\n") << inner;
            pretty(out, e, indent + 1);
            first = false;
        }
        out << "\n" << pad << "]";
        return;
    }
    out << json::serialize(v);
}

} // namespace

int main() {
    json::object root;
    root["$schema"] = "https://json-schema.org/draft/2020-12/schema";
    root["$id"] = "urn:ssprd:config";
    root["title"] = "ssprd configuration";
    for (const auto& [key, value] : schema_of(sspr::config::key_table())) {
        if (key != "description") {
            root[key] = value;
        }
    }
    pretty(std::cout, root, 0);
    std::cout << "\n";
    return 0;
}
