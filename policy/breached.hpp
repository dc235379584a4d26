// The offline breached-password list: a compact, sorted binary file of SHA-1 hashes made from the
// Have I Been Pwned "Pwned Passwords" download by `ssprd breached import`, memory-mapped and
// searched without reading it into memory (the full corpus is ~900M hashes, ~18 GB in this form).
//
// File format, version 1, all integers little-endian:
//
//   offset  size                 field
//   0       8                    magic "SSPRBRCH"
//   8       4                    version = 1
//   12      4                    digest size = 20 (SHA-1)
//   16      8                    count: number of entries
//   24      4                    prefix bits = 16
//   28      4                    reserved = 0
//   32      65537 * 8            prefix index: index[p] = number of entries whose first two bytes,
//                                read big-endian, are < p; index[65536] = count
//   524328  count * 20           entries: raw SHA-1 digests in strictly ascending byte order
//
// The prefix index narrows a lookup to one 1/65536th of the file before the binary search, so a
// lookup in the full corpus touches a handful of pages instead of ~30. Opening checks the header,
// the exact file size and the index (cheap); verify() also checks the order of every entry (reads
// the whole file).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace sspr::policy {

using sha1_digest = std::array<std::uint8_t, 20>;

/// SHA-1 of the bytes as given (OpenSSL EVP). Pwned Passwords hashes the password's UTF-8 bytes as
/// typed, without normalisation. Throws std::runtime_error only when OpenSSL cannot provide SHA-1
/// at all (an environment fault, surfaced at start-up by password_checker).
[[nodiscard]] sha1_digest sha1(std::string_view bytes);

/// Exactly 40 hex digits, either case; nullopt for anything else.
[[nodiscard]] std::optional<sha1_digest> parse_sha1_hex(std::string_view hex) noexcept;

/// Upper-case hex, as Pwned Passwords writes it.
[[nodiscard]] std::string to_hex(const sha1_digest& digest);

enum class breached_error {
    /// The file could not be opened, sized or mapped (see the detail for errno's text).
    open_failed = 1,
    /// The file does not start with the magic of a breached-password file.
    not_a_breached_file,
    /// The file was written by a newer format version (or another digest size or prefix width).
    unsupported_version,
    /// The file is shorter than its header says: an interrupted copy, or empty.
    truncated,
    /// The header, index or entries contradict each other.
    corrupt,
    /// A line of the import input is not "40 hex digits[:count]".
    malformed_line,
    /// A line of the import input does not sort strictly after the line before it.
    unsorted_input,
    /// A digest given to breached_writer::add does not sort strictly after the previous one.
    not_ascending,
    /// --min-count was asked for and a line carries no count.
    missing_count,
    /// Reading the import input failed.
    read_failed,
    /// Creating, writing, syncing or renaming the output failed (see the detail).
    write_failed,
};

const boost::system::error_category& breached_category() noexcept;

inline boost::system::error_code make_error_code(breached_error e) noexcept {
    return {static_cast<int>(e), breached_category()};
}

/// What failed, where (input line, 1-based, 0 = not about a line) and the system's own text. Never
/// holds content of the input: a plaintext list given by mistake must not end up in a log.
struct breached_failure {
    boost::system::error_code code;
    std::uint64_t line = 0;
    std::string detail;

    breached_failure() = default;
    breached_failure(breached_error e, std::string d = {}, std::uint64_t at_line = 0)
        : code(make_error_code(e)), line(at_line), detail(std::move(d)) {}

    [[nodiscard]] bool is(breached_error e) const noexcept { return code == make_error_code(e); }
    /// "line 12: input is not sorted by hash (...)" for an administrator's terminal.
    [[nodiscard]] std::string describe() const;
};

[[noreturn]] void throw_exception_from_error(const breached_failure& f,
                                             const boost::source_location& loc);

template <class T> using breached_result = boost::system::result<T, breached_failure>;

namespace detail {
struct unmapper {
    std::size_t size = 0;
    void operator()(const std::byte* p) const noexcept;
};
using mapping_ptr = std::unique_ptr<const std::byte, unmapper>;
} // namespace detail

/// A read-only, memory-mapped breached-password file. Immutable once open: contains() may be
/// called from any number of threads at once. Replacing the file on disk (import writes a new one
/// and renames it over) does not disturb an open list; it keeps the old mapping until destroyed.
class breached_list {
public:
    static breached_result<breached_list> open(const std::string& path);

    /// Interpolation, then binary search, in the digest's prefix bucket; no allocation, no
    /// system call (a page fault when the page is not in memory).
    [[nodiscard]] bool contains(const sha1_digest& digest) const noexcept;
    /// contains(sha1(password)).
    [[nodiscard]] bool contains_password(std::string_view password) const;
    [[nodiscard]] std::uint64_t size() const noexcept { return count_; }

    /// Reads every entry and checks that all are strictly ascending and in their index bucket.
    /// Takes as long as reading the file; meant for an admin command after copying a file.
    [[nodiscard]] breached_result<void> verify() const;

private:
    breached_list() = default;

    [[nodiscard]] std::uint64_t bucket_start(std::size_t prefix) const noexcept;
    [[nodiscard]] const std::uint8_t* entry(std::uint64_t i) const noexcept;

    detail::mapping_ptr mapping_;
    const std::byte* index_ = nullptr;
    const std::byte* entries_ = nullptr;
    std::uint64_t count_ = 0;
};

/// Writes a breached-password file from digests given in strictly ascending order, to a temporary
/// file beside `path` that commit() syncs and renames over `path`; until then `path` is untouched,
/// and a writer destroyed without commit removes its temporary file. Not thread-safe.
class breached_writer {
public:
    static breached_result<breached_writer> create(const std::string& path);

    breached_writer(breached_writer&& other) noexcept;
    breached_writer& operator=(breached_writer&&) = delete;
    breached_writer(const breached_writer&) = delete;
    breached_writer& operator=(const breached_writer&) = delete;
    ~breached_writer();

    [[nodiscard]] breached_result<void> add(const sha1_digest& digest);
    /// Writes header and index, fsyncs, renames into place; returns the number of entries.
    [[nodiscard]] breached_result<std::uint64_t> commit();

private:
    breached_writer() = default;
    [[nodiscard]] breached_result<void> flush_buffer();
    void abandon() noexcept;

    std::string path_;
    std::string temp_path_;
    int fd_ = -1;
    std::vector<std::uint8_t> buffer_;
    std::vector<std::uint64_t> bucket_counts_;
    sha1_digest last_{};
    std::uint64_t count_ = 0;
};

struct import_options {
    /// Keep only hashes seen at least this often (0 = keep all). Shrinks the file for small disks;
    /// every line then must carry a count.
    std::uint64_t min_count = 0;
    /// Called every `progress_every` input lines with the number of lines read so far.
    std::function<void(std::uint64_t lines)> progress;
    std::uint64_t progress_every = 50'000'000;
};

struct import_stats {
    std::uint64_t lines = 0;
    std::uint64_t entries = 0;
    std::uint64_t below_min_count = 0;
};

/// Streams the Pwned Passwords text format ("SHA1HEX:COUNT" per line, LF or CRLF, sorted by hash
/// as the official downloader writes it) into a breached-password file at `out_path`. Holds one
/// line at a time. Refuses, with the line number, a malformed line or one that does not sort
/// strictly after the previous one (so an unsorted or NTLM download is caught, not half-used);
/// on any failure `out_path` is left as it was.
[[nodiscard]] breached_result<import_stats>
import_pwned(std::istream& in, const std::string& out_path, const import_options& options = {});

} // namespace sspr::policy

template <>
struct boost::system::is_error_code_enum<sspr::policy::breached_error> : std::true_type {};
