#include "policy/breached.hpp"

#include <boost/endian/conversion.hpp>
#include <boost/throw_exception.hpp>

#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <limits>
#include <stdexcept>
#include <system_error>

namespace sspr::policy {
namespace {

// ---- format -----------------------------------------------------------------------------------

constexpr std::array<char, 8> magic{'S', 'S', 'P', 'R', 'B', 'R', 'C', 'H'};
constexpr std::uint32_t format_version = 1;
constexpr std::uint32_t digest_size = 20;
constexpr std::uint32_t prefix_bits = 16;
constexpr std::size_t bucket_count = std::size_t{1} << prefix_bits;
constexpr std::size_t header_size = 32;
constexpr std::size_t index_entries = bucket_count + 1;
constexpr std::size_t index_size = index_entries * 8;
constexpr std::size_t entries_offset = header_size + index_size;

[[nodiscard]] std::size_t prefix_of(const std::uint8_t* digest) noexcept {
    return (std::size_t{digest[0]} << 8U) | std::size_t{digest[1]};
}

template <class T> [[nodiscard]] T load_le(const std::byte* p) noexcept {
    T v{};
    std::memcpy(&v, p, sizeof v);
    return boost::endian::little_to_native(v);
}

template <class T> void store_le(std::uint8_t* p, T v) noexcept {
    v = boost::endian::native_to_little(v);
    std::memcpy(p, &v, sizeof v);
}

[[nodiscard]] std::string errno_text(int err) {
    return std::generic_category().message(err);
}

// ---- RAII -------------------------------------------------------------------------------------

class file_descriptor {
public:
    explicit file_descriptor(int fd) noexcept : fd_(fd) {}
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};

struct evp_md_freer {
    void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
using evp_md_ptr = std::unique_ptr<EVP_MD, evp_md_freer>;

// Fetched once: an implicit fetch through EVP_sha1() on every call costs a provider lookup under a
// lock in OpenSSL 3. The fetched method is immutable and safe to share between threads.
const EVP_MD& sha1_method() {
    static const evp_md_ptr md{EVP_MD_fetch(nullptr, "SHA1", nullptr)};
    if (!md) {
        throw std::runtime_error("OpenSSL provides no SHA-1 (EVP_MD_fetch failed)");
    }
    return *md;
}

// Loops over partial writes and EINTR.
[[nodiscard]] int write_all(int fd, const std::uint8_t* data, std::size_t size,
                            std::optional<off_t> offset = std::nullopt) {
    while (size > 0) {
        const ssize_t n = offset ? ::pwrite(fd, data, size, *offset) : ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        const auto written = static_cast<std::size_t>(n);
        data += written;
        size -= written;
        if (offset) {
            *offset += static_cast<off_t>(written);
        }
    }
    return 0;
}

[[nodiscard]] std::string directory_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) {
        return ".";
    }
    if (slash == 0) {
        return "/";
    }
    return path.substr(0, slash);
}

// ---- category ---------------------------------------------------------------------------------

// Boost's error_category has a protected non-virtual destructor by design; categories are never
// deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "sspr.breached"; }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<breached_error>(ev)) {
        case breached_error::open_failed:
            return "cannot open the breached-password file";
        case breached_error::not_a_breached_file:
            return "not a breached-password file";
        case breached_error::unsupported_version:
            return "unsupported breached-password file version";
        case breached_error::truncated:
            return "breached-password file is truncated";
        case breached_error::corrupt:
            return "breached-password file is corrupt";
        case breached_error::malformed_line:
            return "malformed line: expected 40 hex digits of SHA-1, optionally ':' and a count";
        case breached_error::unsorted_input:
            return "input is not sorted by hash (or repeats a hash)";
        case breached_error::not_ascending:
            return "digests not given in strictly ascending order";
        case breached_error::missing_count:
            return "line has no count, needed for --min-count";
        case breached_error::read_failed:
            return "reading the input failed";
        case breached_error::write_failed:
            return "writing the breached-password file failed";
        }
        return "unknown sspr.breached error";
    }
};
#pragma GCC diagnostic pop

} // namespace

const boost::system::error_category& breached_category() noexcept {
    static const category_impl instance;
    return instance;
}

std::string breached_failure::describe() const {
    std::string out;
    if (line != 0) {
        out = "line " + std::to_string(line) + ": ";
    }
    out += code.message();
    if (!detail.empty()) {
        out += " (" + detail + ")";
    }
    return out;
}

void throw_exception_from_error(const breached_failure& f, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(f.code, f.describe()), loc);
}

// ---- hashing ----------------------------------------------------------------------------------

sha1_digest sha1(std::string_view bytes) {
    sha1_digest out{};
    unsigned int size = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), out.data(), &size, &sha1_method(), nullptr) != 1 ||
        size != out.size()) {
        throw std::runtime_error("OpenSSL SHA-1 failed");
    }
    return out;
}

std::optional<sha1_digest> parse_sha1_hex(std::string_view hex) noexcept {
    if (hex.size() != 40) {
        return std::nullopt;
    }
    const auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') {
            return c - '0';
        }
        if (c >= 'A' && c <= 'F') {
            return c - 'A' + 10;
        }
        if (c >= 'a' && c <= 'f') {
            return c - 'a' + 10;
        }
        return -1;
    };
    sha1_digest out{};
    for (std::size_t i = 0; i < out.size(); ++i) {
        const int hi = nibble(hex[2 * i]);
        const int lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return out;
}

std::string to_hex(const sha1_digest& digest) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(40);
    for (const std::uint8_t b : digest) {
        out.push_back(digits[b >> 4U]);
        out.push_back(digits[b & 0x0FU]);
    }
    return out;
}

// ---- breached_list ----------------------------------------------------------------------------

void detail::unmapper::operator()(const std::byte* p) const noexcept {
    // munmap takes a non-const pointer; the mapping was made PROT_READ and is never written.
    ::munmap(const_cast<std::byte*>(p), size);
}

breached_result<breached_list> breached_list::open(const std::string& path) {
    const file_descriptor fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (fd.get() < 0) {
        return breached_failure{breached_error::open_failed, path + ": " + errno_text(errno)};
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return breached_failure{breached_error::open_failed, path + ": " + errno_text(errno)};
    }
    if (!S_ISREG(st.st_mode)) {
        return breached_failure{breached_error::open_failed, path + ": not a regular file"};
    }
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size < entries_offset) {
        return breached_failure{breached_error::truncated, path + ": " + std::to_string(size) +
                                                               " bytes, shorter than the header"};
    }
    void* addr = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd.get(), 0);
    if (addr == MAP_FAILED) {
        return breached_failure{breached_error::open_failed, path + ": mmap: " + errno_text(errno)};
    }
    breached_list list;
    list.mapping_ =
        detail::mapping_ptr{static_cast<const std::byte*>(addr), detail::unmapper{size}};
    // Lookups jump to random pages; read-ahead would only evict useful pages.
    (void)::madvise(addr, size, MADV_RANDOM);

    const std::byte* base = list.mapping_.get();
    if (std::memcmp(base, magic.data(), magic.size()) != 0) {
        return breached_failure{breached_error::not_a_breached_file, path};
    }
    if (load_le<std::uint32_t>(base + 8) != format_version ||
        load_le<std::uint32_t>(base + 12) != digest_size ||
        load_le<std::uint32_t>(base + 24) != prefix_bits) {
        return breached_failure{breached_error::unsupported_version,
                                path + ": version " +
                                    std::to_string(load_le<std::uint32_t>(base + 8))};
    }
    if (load_le<std::uint32_t>(base + 28) != 0) {
        return breached_failure{breached_error::corrupt, path + ": reserved header field is set"};
    }
    const auto count = load_le<std::uint64_t>(base + 16);
    if (count > (std::numeric_limits<std::uint64_t>::max() - entries_offset) / digest_size) {
        return breached_failure{breached_error::corrupt, path + ": impossible entry count"};
    }
    const std::uint64_t expected = entries_offset + count * digest_size;
    if (size < expected) {
        return breached_failure{breached_error::truncated, path + ": " + std::to_string(size) +
                                                               " bytes, header says " +
                                                               std::to_string(expected)};
    }
    if (size > expected) {
        return breached_failure{breached_error::corrupt, path + ": " +
                                                             std::to_string(size - expected) +
                                                             " bytes after the last entry"};
    }
    list.index_ = base + header_size;
    list.entries_ = base + entries_offset;
    list.count_ = count;
    // A bucket bound outside [0, count] would send a lookup outside the mapping; check them all.
    std::uint64_t previous = 0;
    for (std::size_t p = 0; p < index_entries; ++p) {
        const std::uint64_t start = list.bucket_start(p);
        if ((p == 0 && start != 0) || start < previous || start > count) {
            return breached_failure{breached_error::corrupt, path + ": prefix index entry " +
                                                                 std::to_string(p) +
                                                                 " out of order"};
        }
        previous = start;
    }
    if (previous != count) {
        return breached_failure{breached_error::corrupt,
                                path + ": prefix index does not end at count"};
    }
    return list;
}

std::uint64_t breached_list::bucket_start(std::size_t prefix) const noexcept {
    return load_le<std::uint64_t>(index_ + prefix * 8);
}

const std::uint8_t* breached_list::entry(std::uint64_t i) const noexcept {
    return reinterpret_cast<const std::uint8_t*>(entries_ + i * digest_size);
}

namespace {

// The 8 bytes after the 2-byte prefix, big-endian: where a digest lies inside its bucket.
[[nodiscard]] std::uint64_t in_bucket_key(const std::uint8_t* digest) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 2; i < 10; ++i) {
        v = (v << 8U) | digest[i];
    }
    return v;
}

constexpr int max_interpolation_steps = 4;
constexpr std::uint64_t interpolation_floor = 16;

} // namespace

bool breached_list::contains(const sha1_digest& digest) const noexcept {
    const std::size_t prefix = prefix_of(digest.data());
    std::uint64_t lo = bucket_start(prefix);
    std::uint64_t hi = bucket_start(prefix + 1);
    // SHA-1 values are uniform, so interpolation lands within a few entries of the target: on a
    // file larger than memory one or two page reads per lookup instead of the ~7 of a binary
    // search over a bucket of the full corpus (~14K entries, ~270 KB). A few steps at most, then
    // binary search, so a skewed file costs no more than log2 of its bucket.
    const std::uint64_t target = in_bucket_key(digest.data());
    std::uint64_t lo_key = 0;
    std::uint64_t hi_key = ~std::uint64_t{0};
    for (int step = 0; step < max_interpolation_steps && hi - lo > interpolation_floor; ++step) {
        double fraction = 0.0;
        if (hi_key > lo_key && target > lo_key) {
            fraction = static_cast<double>(target - lo_key) / static_cast<double>(hi_key - lo_key);
        }
        const auto offset = static_cast<std::uint64_t>(fraction * static_cast<double>(hi - lo));
        const std::uint64_t pos = lo + std::min(offset, hi - lo - 1);
        const int order = std::memcmp(entry(pos), digest.data(), digest_size);
        if (order == 0) {
            return true;
        }
        if (order < 0) {
            lo = pos + 1;
            lo_key = in_bucket_key(entry(pos));
        } else {
            hi = pos;
            hi_key = in_bucket_key(entry(pos));
        }
    }
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo) / 2;
        const int order = std::memcmp(entry(mid), digest.data(), digest_size);
        if (order < 0) {
            lo = mid + 1;
        } else if (order > 0) {
            hi = mid;
        } else {
            return true;
        }
    }
    return false;
}

bool breached_list::contains_password(std::string_view password) const {
    return contains(sha1(password));
}

breached_result<void> breached_list::verify() const {
    // A whole-file scan: ask for read-ahead while it lasts, then go back to random access.
    void* base = const_cast<std::byte*>(mapping_.get());
    const std::size_t size = mapping_.get_deleter().size;
    (void)::madvise(base, size, MADV_SEQUENTIAL);
    breached_result<void> outcome{};
    const std::uint8_t* previous = nullptr;
    for (std::size_t p = 0; p < bucket_count && outcome; ++p) {
        const std::uint64_t end = bucket_start(p + 1);
        for (std::uint64_t i = bucket_start(p); i < end; ++i) {
            const std::uint8_t* current = entry(i);
            if (prefix_of(current) != p) {
                outcome =
                    breached_failure{breached_error::corrupt, "entry " + std::to_string(i) +
                                                                  " is outside its prefix bucket"};
                break;
            }
            if (previous != nullptr && std::memcmp(previous, current, digest_size) >= 0) {
                outcome =
                    breached_failure{breached_error::corrupt,
                                     "entry " + std::to_string(i) + " is not above the one before"};
                break;
            }
            previous = current;
        }
    }
    (void)::madvise(base, size, MADV_RANDOM);
    return outcome;
}

// ---- breached_writer --------------------------------------------------------------------------

namespace {
constexpr std::size_t write_buffer_size = std::size_t{1} << 20;
} // namespace

breached_result<breached_writer> breached_writer::create(const std::string& path) {
    breached_writer writer;
    writer.path_ = path;
    std::string pattern = path + ".tmp-XXXXXX";
    writer.fd_ = ::mkostemp(pattern.data(), O_CLOEXEC);
    if (writer.fd_ < 0) {
        return breached_failure{breached_error::write_failed, pattern + ": " + errno_text(errno)};
    }
    writer.temp_path_ = pattern;
    // mkostemp makes the file 0600; the list is not secret and the gateway's user must read it.
    if (::fchmod(writer.fd_, 0644) != 0 ||
        ::lseek(writer.fd_, static_cast<off_t>(entries_offset), SEEK_SET) < 0) {
        return breached_failure{breached_error::write_failed, pattern + ": " + errno_text(errno)};
    }
    writer.buffer_.reserve(write_buffer_size);
    writer.bucket_counts_.assign(bucket_count, 0);
    return writer;
}

breached_writer::breached_writer(breached_writer&& other) noexcept
    : path_(std::move(other.path_)), temp_path_(std::move(other.temp_path_)), fd_(other.fd_),
      buffer_(std::move(other.buffer_)), bucket_counts_(std::move(other.bucket_counts_)),
      last_(other.last_), count_(other.count_) {
    other.fd_ = -1;
    other.temp_path_.clear();
}

breached_writer::~breached_writer() {
    abandon();
}

void breached_writer::abandon() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (!temp_path_.empty()) {
        ::unlink(temp_path_.c_str());
        temp_path_.clear();
    }
}

breached_result<void> breached_writer::add(const sha1_digest& digest) {
    if (fd_ < 0) {
        return breached_failure{breached_error::write_failed, "writer already committed or failed"};
    }
    if (count_ > 0 && !(last_ < digest)) {
        return breached_failure{breached_error::not_ascending,
                                "entry " + std::to_string(count_ + 1)};
    }
    buffer_.insert(buffer_.end(), digest.begin(), digest.end());
    ++bucket_counts_[prefix_of(digest.data())];
    last_ = digest;
    ++count_;
    if (buffer_.size() + digest_size > write_buffer_size) {
        return flush_buffer();
    }
    return {};
}

breached_result<void> breached_writer::flush_buffer() {
    if (const int err = write_all(fd_, buffer_.data(), buffer_.size()); err != 0) {
        abandon();
        return breached_failure{breached_error::write_failed, errno_text(err)};
    }
    buffer_.clear();
    return {};
}

breached_result<std::uint64_t> breached_writer::commit() {
    if (fd_ < 0) {
        return breached_failure{breached_error::write_failed, "writer already committed or failed"};
    }
    if (auto flushed = flush_buffer(); !flushed) {
        return flushed.error();
    }
    std::vector<std::uint8_t> head(entries_offset, 0);
    std::memcpy(head.data(), magic.data(), magic.size());
    store_le<std::uint32_t>(head.data() + 8, format_version);
    store_le<std::uint32_t>(head.data() + 12, digest_size);
    store_le<std::uint64_t>(head.data() + 16, count_);
    store_le<std::uint32_t>(head.data() + 24, prefix_bits);
    std::uint64_t running = 0;
    for (std::size_t p = 0; p <= bucket_count; ++p) {
        store_le<std::uint64_t>(head.data() + header_size + p * 8, running);
        if (p < bucket_count) {
            running += bucket_counts_[p];
        }
    }
    const std::string temp = temp_path_;
    const auto fail = [&](const char* step, int err) {
        abandon();
        return breached_failure{breached_error::write_failed,
                                temp + ": " + step + ": " + errno_text(err)};
    };
    if (const int err = write_all(fd_, head.data(), head.size(), off_t{0}); err != 0) {
        return fail("write header", err);
    }
    if (::fsync(fd_) != 0) {
        return fail("fsync", errno);
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        return fail("close", errno);
    }
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        return fail("rename", errno);
    }
    temp_path_.clear();
    // The rename is only durable once the directory entry is on disk.
    const file_descriptor dir{
        ::open(directory_of(path_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
    if (dir.get() >= 0) {
        (void)::fsync(dir.get());
    }
    return count_;
}

// ---- import -----------------------------------------------------------------------------------

namespace {

enum class line_status { ok, malformed, ntlm, no_count };

struct parsed_line {
    line_status status = line_status::malformed;
    sha1_digest digest{};
    std::optional<std::uint64_t> count;
};

[[nodiscard]] bool is_hex(std::string_view s) noexcept {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
    });
}

[[nodiscard]] parsed_line parse_line(std::string_view line) {
    parsed_line out;
    const auto colon = line.find(':');
    const std::string_view hash = line.substr(0, colon);
    const auto digest = parse_sha1_hex(hash);
    if (!digest) {
        if (hash.size() == 32 && is_hex(hash)) {
            out.status = line_status::ntlm;
        }
        return out;
    }
    out.digest = *digest;
    if (colon == std::string_view::npos) {
        out.status = line_status::ok;
        return out;
    }
    const std::string_view count = line.substr(colon + 1);
    std::uint64_t value = 0;
    const auto [end, ec] = std::from_chars(count.data(), count.data() + count.size(), value);
    if (count.empty() || ec != std::errc{} || end != count.data() + count.size()) {
        return out;
    }
    out.count = value;
    out.status = line_status::ok;
    return out;
}

} // namespace

breached_result<import_stats> import_pwned(std::istream& in, const std::string& out_path,
                                           const import_options& options) {
    auto created = breached_writer::create(out_path);
    if (!created) {
        return created.error();
    }
    breached_writer writer = std::move(*created);
    import_stats stats;
    std::string line;
    sha1_digest previous{};
    while (std::getline(in, line)) {
        ++stats.lines;
        if (options.progress && options.progress_every > 0 &&
            stats.lines % options.progress_every == 0) {
            options.progress(stats.lines);
        }
        std::string_view view = line;
        if (!view.empty() && view.back() == '\r') {
            view.remove_suffix(1);
        }
        if (stats.lines == 1 && view.starts_with("\xEF\xBB\xBF")) {
            view.remove_prefix(3); // a UTF-8 byte-order mark some Windows tools write
        }
        const parsed_line parsed = parse_line(view);
        if (parsed.status == line_status::ntlm) {
            return breached_failure{breached_error::malformed_line,
                                    "32 hex digits: an NTLM download; download the SHA-1 version",
                                    stats.lines};
        }
        if (parsed.status != line_status::ok) {
            return breached_failure{breached_error::malformed_line, {}, stats.lines};
        }
        if (stats.lines > 1 && !(previous < parsed.digest)) {
            return breached_failure{breached_error::unsorted_input,
                                    "the hash must sort after the one on line " +
                                        std::to_string(stats.lines - 1),
                                    stats.lines};
        }
        previous = parsed.digest;
        if (options.min_count > 0) {
            if (!parsed.count) {
                return breached_failure{breached_error::missing_count, {}, stats.lines};
            }
            if (*parsed.count < options.min_count) {
                ++stats.below_min_count;
                continue;
            }
        }
        if (auto added = writer.add(parsed.digest); !added) {
            return added.error();
        }
    }
    if (in.bad()) {
        return breached_failure{breached_error::read_failed, {}, stats.lines + 1};
    }
    auto committed = writer.commit();
    if (!committed) {
        return committed.error();
    }
    stats.entries = *committed;
    return stats;
}

} // namespace sspr::policy
