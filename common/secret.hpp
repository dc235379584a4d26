// A string that holds a secret (password, code, answer, key). It wipes its storage when it dies,
// when it is moved from and before it takes another value, cannot be streamed or formatted, and is
// only readable through an explicit reveal().
//
// Wiping covers the whole capacity of every std::string involved, moved-from ones included: a
// short value lives in the string's inline (SSO) buffer, and moving it copies the bytes and leaves
// them in the source, where clear() alone would not reach them (common/wipe.hpp).
#pragma once

#include "common/wipe.hpp"

#include <string>
#include <string_view>
#include <utility>

namespace sspr::common {

class secret {
public:
    secret() = default;
    /// Takes over `value` and wipes what the move leaves behind in the caller's string.
    explicit secret(std::string&& value) noexcept : value_(std::move(value)) { wipe_string(value); }
    /// A copy: the caller keeps, and must wipe, its own string.
    explicit secret(const std::string& value) : value_(value) {}
    secret(const secret& other) = default;
    secret(secret&& other) noexcept : value_(std::move(other.value_)) { wipe_string(other.value_); }
    secret& operator=(const secret& other) {
        if (this != &other) {
            // Before the copy: a shorter value would leave the tail of this one in place, and a
            // longer one frees this buffer when it reallocates.
            wipe_string(value_);
            value_ = other.value_;
        }
        return *this;
    }
    secret& operator=(secret&& other) noexcept {
        if (this != &other) {
            wipe_string(value_);
            // A heap value is handed over (other gets this wiped buffer back); an inline one is
            // copied and stays behind in other, so other is wiped after it either way.
            value_ = std::move(other.value_);
            wipe_string(other.value_);
        }
        return *this;
    }
    ~secret() { wipe_string(value_); }

    /// The secret itself: only for handing it to the library that needs it, never to a log.
    [[nodiscard]] std::string_view reveal() const noexcept { return value_; }
    [[nodiscard]] bool empty() const noexcept { return value_.empty(); }

private:
    std::string value_;
};

} // namespace sspr::common
