// Wiping of plaintext buffers (passwords, codes, keys, UTF-16 copies of passwords) before their
// memory is reused. A std::string keeps short values in an inline buffer inside the object
// itself, and a move copies those bytes out and leaves them behind in the source, so wiping
// has to cover the whole capacity of every string a secret passed through, moved-from ones too.
#pragma once

#include <openssl/crypto.h>

#include <string>
#include <utility>

namespace sspr::common {

/// Overwrites every byte `s` owns (its whole capacity, not only its size, so the inline buffer of
/// a moved-from or shortened string is covered) and leaves it empty. Never allocates.
inline void wipe_string(std::string& s) noexcept {
    // clear() first: a moved-from string is valid but unspecified, an empty one keeps its buffer.
    // resize() up to the capacity cannot allocate, and makes the bytes past size() part of the
    // string, so they may be written without reaching outside what the standard lets us touch.
    s.clear();
    s.resize(s.capacity());
    OPENSSL_cleanse(s.data(), s.size());
    s.clear();
}

/// A mutable string for a transient plaintext copy (an encoded password being built, a value on
/// its way to a C library): wiped when it dies and when it is moved from; never copied.
class wiping_string {
public:
    wiping_string() = default;
    /// Takes over `value` and wipes what the move leaves behind in it.
    explicit wiping_string(std::string&& value) noexcept : value_(std::move(value)) {
        wipe_string(value);
    }
    wiping_string(wiping_string&& other) noexcept : value_(std::move(other.value_)) {
        wipe_string(other.value_);
    }
    wiping_string& operator=(wiping_string&& other) noexcept {
        if (this != &other) {
            wipe_string(value_);
            value_ = std::move(other.value_);
            wipe_string(other.value_);
        }
        return *this;
    }
    wiping_string(const wiping_string&) = delete;
    wiping_string& operator=(const wiping_string&) = delete;
    ~wiping_string() { wipe_string(value_); }

    /// The buffer itself. Reserve before appending: a reallocation frees the old buffer unwiped.
    [[nodiscard]] std::string& get() noexcept { return value_; }
    [[nodiscard]] const std::string& get() const noexcept { return value_; }
    [[nodiscard]] std::string_view view() const noexcept { return value_; }

private:
    std::string value_;
};

} // namespace sspr::common
