// JSON request bodies: parsed into memory that is wiped when freed (bodies carry passwords, codes
// and answers), then read field by field into plain values and common::secret, with the first
// wrong or missing field reported as invalid_request naming the field, never its value.
#pragma once

#include "common/secret.hpp"
#include "gateway/problem.hpp"

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace sspr::gateway {

/// A JSON memory resource whose every allocation is wiped when it is freed. Shared; the values
/// made with it keep it alive.
[[nodiscard]] boost::json::storage_ptr make_wiping_storage();

/// Parses a body that must be one JSON object (at most 32 levels deep). nullopt: not JSON, not
/// an object, or not UTF-8.
[[nodiscard]] std::optional<boost::json::value> parse_object(std::string_view body,
                                                             const boost::json::storage_ptr& sp);

/// The media type of a Content-Type value is application/json (charset, if any, utf-8).
[[nodiscard]] bool is_json_content_type(std::string_view content_type);

/// Reads the members of one JSON object. Each getter returns an empty value after the first
/// problem; check ok() (or problem()) once all are read.
class field_reader {
public:
    explicit field_reader(const boost::json::object& object) : object_(object) {}

    /// A required string of 1..max_bytes bytes without NUL.
    std::string text(std::string_view name, std::size_t max_bytes = 256);
    /// The same, straight into a secret (the JSON's copy is wiped with the body).
    common::secret secret(std::string_view name, std::size_t max_bytes = 1024);
    /// An optional member: absent gives nullopt (a wrong type is still a problem).
    std::optional<std::string> optional_text(std::string_view name, std::size_t max_bytes = 256);
    /// A required array of 1..max_items elements.
    const boost::json::array* array(std::string_view name, std::size_t max_items);
    [[nodiscard]] bool has(std::string_view name) const { return object_.contains(name); }

    /// Members other than these are a problem (a misspelt field must not be ignored silently).
    void only(std::initializer_list<std::string_view> names);

    /// Records a problem found by the caller (e.g. in an array element).
    void reject(std::string_view field);

    [[nodiscard]] bool ok() const noexcept { return !problem_; }
    /// invalid_request naming the first field that was wrong.
    [[nodiscard]] problem_info problem() const;

private:
    const boost::json::string* string_member(std::string_view name, std::size_t max_bytes);

    const boost::json::object& object_;
    std::optional<std::string> problem_; // the first field at fault
};

} // namespace sspr::gateway
