#include "gateway/json_body.hpp"

#include <boost/json/memory_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>

#include <openssl/crypto.h>

#include <algorithm>
#include <cctype>
#include <new>

namespace sspr::gateway {

namespace {

// Boost.JSON's memory_resource has a protected non-virtual destructor by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class wiping_resource final : public boost::json::memory_resource {
    // Boost.JSON 1.81 allocates a key string with alignof(char) but frees it with the default
    // alignment (string_impl::destroy), so the alignment given cannot choose the operator new /
    // delete pair: what needs no more than operator new's own alignment uses the plain forms
    // whatever was asked, and only over-aligned requests (never both ways) the aligned ones.
    // Found by fuzz/json_endpoint (corpus/json_endpoint/regress-key-alignment); ASan reported
    // new-delete-type-mismatch.
    static bool over_aligned(std::size_t alignment) noexcept {
        return alignment > __STDCPP_DEFAULT_NEW_ALIGNMENT__;
    }
    void* do_allocate(std::size_t bytes, std::size_t alignment) override {
        if (over_aligned(alignment)) {
            return ::operator new(bytes, std::align_val_t(alignment));
        }
        return ::operator new(bytes);
    }
    void do_deallocate(void* p, std::size_t bytes, std::size_t alignment) override {
        OPENSSL_cleanse(p, bytes);
        // Unsized: the sized forms are declared only under -fsized-deallocation, which clang 14
        // (the fuzz build) does not turn on by default.
        if (over_aligned(alignment)) {
            ::operator delete(p, std::align_val_t(alignment));
        } else {
            ::operator delete(p);
        }
    }
    [[nodiscard]] bool
    do_is_equal(const boost::json::memory_resource& other) const noexcept override {
        return this == &other;
    }
};
#pragma GCC diagnostic pop

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

} // namespace

boost::json::storage_ptr make_wiping_storage() {
    return boost::json::make_shared_resource<wiping_resource>();
}

std::optional<boost::json::value> parse_object(std::string_view body,
                                               const boost::json::storage_ptr& sp) {
    boost::json::parse_options options;
    options.max_depth = 32;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(body, ec, sp, options);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    return v;
}

bool is_json_content_type(std::string_view content_type) {
    const auto semicolon = content_type.find(';');
    if (!iequals(trim(content_type.substr(0, semicolon)), "application/json")) {
        return false;
    }
    if (semicolon == std::string_view::npos) {
        return true;
    }
    // Parameters: only a charset, and JSON is UTF-8 (RFC 8259 8.1).
    std::string_view params = content_type.substr(semicolon + 1);
    while (!params.empty()) {
        const auto next = params.find(';');
        const std::string_view param = trim(params.substr(0, next));
        params = next == std::string_view::npos ? std::string_view{} : params.substr(next + 1);
        if (param.empty()) {
            continue;
        }
        const auto eq = param.find('=');
        if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "charset")) {
            return false;
        }
        std::string_view value = trim(param.substr(eq + 1));
        if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
            value = value.substr(1, value.size() - 2);
        }
        if (!iequals(value, "utf-8")) {
            return false;
        }
    }
    return true;
}

const boost::json::string* field_reader::string_member(std::string_view name,
                                                       std::size_t max_bytes) {
    if (problem_) {
        return nullptr;
    }
    const auto* v = object_.if_contains(name);
    const auto* s = v != nullptr ? v->if_string() : nullptr;
    if (s == nullptr || s->empty() || s->size() > max_bytes ||
        std::find(s->begin(), s->end(), '\0') != s->end()) {
        reject(name);
        return nullptr;
    }
    return s;
}

std::string field_reader::text(std::string_view name, std::size_t max_bytes) {
    const auto* s = string_member(name, max_bytes);
    return s != nullptr ? std::string(s->data(), s->size()) : std::string();
}

common::secret field_reader::secret(std::string_view name, std::size_t max_bytes) {
    const auto* s = string_member(name, max_bytes);
    return s != nullptr ? common::secret(std::string(s->data(), s->size())) : common::secret();
}

std::optional<std::string> field_reader::optional_text(std::string_view name,
                                                       std::size_t max_bytes) {
    if (problem_ || !object_.contains(name)) {
        return std::nullopt;
    }
    const auto* s = string_member(name, max_bytes);
    if (s == nullptr) {
        return std::nullopt;
    }
    return std::string(s->data(), s->size());
}

const boost::json::array* field_reader::array(std::string_view name, std::size_t max_items) {
    if (problem_) {
        return nullptr;
    }
    const auto* v = object_.if_contains(name);
    const auto* a = v != nullptr ? v->if_array() : nullptr;
    if (a == nullptr || a->empty() || a->size() > max_items) {
        reject(name);
        return nullptr;
    }
    return a;
}

void field_reader::only(std::initializer_list<std::string_view> names) {
    if (problem_) {
        return;
    }
    for (const auto& member : object_) {
        const std::string_view key(member.key().data(), member.key().size());
        if (std::find(names.begin(), names.end(), key) == names.end()) {
            // The name is client input and is not echoed: a client that mixed up fields may
            // have put a password there.
            reject("(unknown member)");
            return;
        }
    }
}

void field_reader::reject(std::string_view field) {
    if (!problem_) {
        problem_ = std::string(field);
    }
}

problem_info field_reader::problem() const {
    return problems::invalid_request(problem_.value_or(""));
}

} // namespace sspr::gateway
