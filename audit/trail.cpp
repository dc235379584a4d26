#include "audit/audit.hpp"
#include "audit/line.hpp"
#include "common/log.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

namespace sspr::audit {
namespace {

using common::log;
using common::log_level;

std::string errno_text(int e) {
    return std::error_code(e, std::generic_category()).message();
}

/// Permission bits as admins write them: "0646".
std::string octal(unsigned mode) {
    std::string s;
    for (int shift = 9; shift >= 0; shift -= 3) {
        s += static_cast<char>('0' + ((mode >> static_cast<unsigned>(shift)) & 7U));
    }
    return s;
}

/// An open file descriptor, closed when it goes.
class file_descriptor {
public:
    file_descriptor() = default;
    explicit file_descriptor(int fd) noexcept : fd_(fd) {}
    file_descriptor(file_descriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    file_descriptor& operator=(file_descriptor&& other) noexcept {
        if (this != &other) {
            reset(std::exchange(other.fd_, -1));
        }
        return *this;
    }
    file_descriptor(const file_descriptor&) = delete;
    file_descriptor& operator=(const file_descriptor&) = delete;
    ~file_descriptor() { reset(-1); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
    void reset(int fd) noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

/// Where the chain of a file stands: the next line's seq and prev.
struct chain_state {
    std::uint64_t next_seq = 1;
    std::string prev{detail::zero_hash};
};

struct opened_file {
    file_descriptor fd;
    /// The same file open for reading: the chain is read again from its end whenever another
    /// writer appended since our last line.
    file_descriptor reader;
    /// The file's size once opened: where our next line starts unless someone else writes first.
    std::uint64_t size = 0;
    /// Set when the file had lines; empty for a new or empty file.
    std::optional<chain_state> chain;
};

/// How long a writer waits for another process's flock before going on: the other writers (the
/// gateway, `ssprd helpdesk`) hold it for one write(2), so only someone misusing it (any reader
/// may flock a file) holds it longer, and that must not stall the gateway's audit for long.
constexpr auto lock_wait = std::chrono::milliseconds(250);

/// Takes the exclusive flock on `fd`, waiting at most lock_wait. false when it is still held by
/// someone else then (or flock fails).
bool lock_file(int fd) {
    const auto deadline = std::chrono::steady_clock::now() + lock_wait;
    for (;;) {
        if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
            return true;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

/// Releases the flock taken by lock_file when it goes.
class file_lock {
public:
    explicit file_lock(int fd) noexcept : fd_(fd), locked_(lock_file(fd)) {}
    file_lock(const file_lock&) = delete;
    file_lock& operator=(const file_lock&) = delete;
    ~file_lock() {
        if (locked_) {
            ::flock(fd_, LOCK_UN);
        }
    }
    [[nodiscard]] bool locked() const noexcept { return locked_; }

private:
    int fd_;
    bool locked_;
};

struct write_outcome {
    std::size_t written = 0;
    int error = 0; // errno of the write that failed; 0 when everything was written
};

/// Writes all of `bytes`, resuming after a short write or EINTR (a signal): with O_APPEND each
/// part lands at the end, and nobody else appends in between (the trail's mutex in-process, the
/// flock held for the line across trails and processes), so the parts make one line.
write_outcome write_all(int fd, std::string_view bytes) {
    write_outcome out;
    while (out.written < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + out.written, bytes.size() - out.written);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            out.error = errno;
            return out;
        }
        if (n == 0) {
            // Not expected from a regular file; looping on it would never end.
            out.error = EIO;
            return out;
        }
        out.written += static_cast<std::size_t>(n);
    }
    return out;
}

void log_open_failure(const std::string& path, std::string_view what, int e) {
    log(log_level::error, "audit: cannot use the audit file",
        {{"path", path}, {"problem", what}, {"error", errno_text(e)}});
}

/// Reads the last line of the file open as `fd` (size `size` > 0) and returns where its chain
/// stands.
result<chain_state> read_tail(int fd, std::uint64_t size, const std::string& path) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(size, detail::max_line_bytes + 1));
    const auto start = static_cast<off_t>(size - want);
    std::string tail(want, '\0');
    std::size_t got = 0;
    while (got < want) {
        const ssize_t n = ::pread(fd, tail.data() + got, want - got,
                                  static_cast<off_t>(start + static_cast<off_t>(got)));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            log_open_failure(path, "reading its last line", n < 0 ? errno : EIO);
            return error::cannot_open;
        }
        got += static_cast<std::size_t>(n);
    }
    if (tail.back() != '\n') {
        const auto last_newline = tail.rfind('\n');
        const std::string complete =
            last_newline == std::string::npos
                ? std::string("unknown (no complete line in the last 256 KiB)")
                : std::to_string(static_cast<std::uint64_t>(start) + last_newline + 1);
        log(log_level::error,
            "audit: the audit file ends in a partial line, a write cut short by a crash or a "
            "power loss; look at it, then remove it (truncate -s BYTES FILE) or move the file "
            "aside; ssprd does not continue a chain after it",
            {{"path", path}, {"complete_bytes", complete}});
        return error::torn_last_line;
    }
    const std::string_view body(tail.data(), tail.size() - 1);
    const auto newline = body.rfind('\n');
    if (newline == std::string_view::npos && start != 0) {
        log(log_level::error, "audit: the audit file's last line is too long for a chain line",
            {{"path", path}});
        return error::bad_last_line;
    }
    const std::string_view last =
        newline == std::string_view::npos ? body : body.substr(newline + 1);
    const auto checked = detail::check_line(last);
    if (!checked.ok) {
        log(log_level::error,
            "audit: the audit file's last line is not a chain line; ssprd does not start a new "
            "chain after it",
            {{"path", path}, {"problem", checked.why}});
        return error::bad_last_line;
    }
    chain_state chain;
    chain.next_seq = checked.seq + 1;
    chain.prev = detail::sha256_hex(last);
    return chain;
}

result<opened_file> open_file(const std::filesystem::path& p) {
    const std::string path = p.string();
    // O_NONBLOCK: opening a FIFO for writing would otherwise wait for a reader; fstat refuses it.
    constexpr int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    bool created = true;
    int raw = ::open(path.c_str(), flags | O_CREAT | O_EXCL, 0640);
    if (raw < 0 && errno == EEXIST) {
        created = false;
        raw = ::open(path.c_str(), flags);
    }
    if (raw < 0) {
        const int e = errno;
        if (e == ELOOP) {
            log_open_failure(path, "it is a symbolic link", e);
            return error::symlink;
        }
        if (e == ENXIO || e == EISDIR) {
            log_open_failure(path, "it is not a regular file", e);
            return error::not_regular_file;
        }
        log_open_failure(path, "opening it for appending", e);
        return error::cannot_open;
    }
    file_descriptor fd(raw);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        log_open_failure(path, "fstat", errno);
        return error::cannot_open;
    }
    if (!S_ISREG(st.st_mode)) {
        log(log_level::error, "audit: the audit path is not a regular file", {{"path", path}});
        return error::not_regular_file;
    }
    if (created) {
        // Exactly 0640 whatever the umask: the audit group (log readers) reads it.
        if (::fchmod(fd.get(), 0640) != 0) {
            log_open_failure(path, "fchmod 0640", errno);
            return error::cannot_open;
        }
    } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 || st.st_uid != ::geteuid()) {
        log(log_level::error,
            "audit: refusing an audit file that group or others may write or another user owns",
            {{"path", path},
             {"mode", octal(st.st_mode & 07777U)},
             {"owner_uid", std::to_string(st.st_uid)}});
        return error::unsafe_permissions;
    }
    const int fl = ::fcntl(fd.get(), F_GETFL);
    if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0) {
        log_open_failure(path, "fcntl", errno);
        return error::cannot_open;
    }
    // Several trails may share a file (the gateway and `ssprd helpdesk` commands): each holds the
    // flock only while it reads the chain's end and appends one line, so lines never interleave
    // and each line's prev names the line before it, whoever wrote that.
    const file_lock lock(fd.get());
    if (!lock.locked()) {
        log(log_level::error,
            "audit: the audit file stays locked by another process (flock); is something "
            "holding it?",
            {{"path", path}});
        return error::in_use;
    }
    opened_file out;
    // A descriptor of its own for reading: the trail's is write-only, as the log should be.
    // It must name the same file (the path could have been swapped in between).
    file_descriptor reader(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    struct stat rst {};
    if (!reader.valid() || ::fstat(reader.get(), &rst) != 0) {
        log_open_failure(path, "opening it for reading its last line", errno);
        return error::cannot_open;
    }
    if (rst.st_dev != st.st_dev || rst.st_ino != st.st_ino) {
        log(log_level::error, "audit: the audit path changed while it was being opened",
            {{"path", path}});
        return error::cannot_open;
    }
    out.size = static_cast<std::uint64_t>(rst.st_size);
    if (rst.st_size > 0) {
        auto chain = read_tail(reader.get(), out.size, path);
        if (!chain) {
            return chain.error();
        }
        out.chain = std::move(*chain);
    }
    out.fd = std::move(fd);
    out.reader = std::move(reader);
    return out;
}

} // namespace

struct trail::impl {
    std::filesystem::path path;

    std::mutex mutex;
    // Guarded by mutex:
    file_descriptor fd;
    file_descriptor reader; // the same file, for reading the chain's end
    chain_state chain;
    /// The file's size after our last line: a different size means another writer appended (read
    /// the chain's end again) or the file was truncated (copytruncate: carry on our chain).
    std::uint64_t known_end = 0;
    /// The part of a line that a failed write left out; written before the next line, so the
    /// file never keeps a partial line while the trail lives.
    std::string pending;
    /// Failures since the last successful write; the first one of a burst is logged.
    std::uint64_t failing = 0;

    std::atomic<std::uint64_t> written{0};
    std::atomic<std::uint64_t> failed{0};

    // Called with mutex held.
    void failure(int e) {
        failed.fetch_add(1, std::memory_order_relaxed);
        if (failing++ == 0) {
            log(log_level::error, "audit: cannot write to the audit file; events are being lost",
                {{"path", path.string()}, {"error", errno_text(e)}});
        }
    }

    void adopt(opened_file& file) {
        fd = std::move(file.fd);
        reader = std::move(file.reader);
        known_end = file.size;
        if (file.chain) {
            chain = std::move(*file.chain);
        }
    }

    // Called with mutex held.
    void append(const std::string& rendered) {
        const file_lock lock(fd.get());
        if (!lock.locked() && failing == 0) {
            log(log_level::warning,
                "audit: the audit file stays locked by another process (flock); writing anyway",
                {{"path", path.string()}});
        }
        struct stat st {};
        const bool sized = ::fstat(fd.get(), &st) == 0;
        const auto size = sized ? static_cast<std::uint64_t>(st.st_size) : known_end;
        if (size != known_end && size > 0 && pending.empty()) {
            // Another trail wrote since our last line: chain on from its last line.
            auto latest = read_tail(reader.get(), size, path.string());
            if (!latest) {
                failure(EIO);
                return;
            }
            chain = std::move(*latest);
        }
        known_end = size;
        if (!pending.empty()) {
            const auto rest = write_all(fd.get(), pending);
            pending.erase(0, rest.written);
            known_end += rest.written;
            if (rest.error != 0) {
                failure(rest.error);
                return;
            }
            written.fetch_add(1, std::memory_order_relaxed);
        }
        std::string line = detail::chain_line(rendered, chain.next_seq, chain.prev);
        const std::string hash = detail::sha256_hex(line);
        line += '\n';
        const auto out = write_all(fd.get(), line);
        known_end += out.written;
        if (out.written > 0) {
            // Part of the line is in the file: it becomes the chain's last line, finished later.
            chain.prev = hash;
            ++chain.next_seq;
        }
        if (out.error != 0) {
            if (out.written > 0) {
                pending = line.substr(out.written);
            }
            failure(out.error);
            return;
        }
        written.fetch_add(1, std::memory_order_relaxed);
        if (failing > 0) {
            log(log_level::warning, "audit: writing to the audit file works again",
                {{"path", path.string()}, {"failed_writes", std::to_string(failing)}});
            failing = 0;
        }
    }
};

result<std::unique_ptr<trail>> trail::open(const std::filesystem::path& path) {
    auto file = open_file(path);
    if (!file) {
        return file.error();
    }
    std::unique_ptr<trail> t(new trail());
    t->impl_ = std::make_unique<impl>();
    t->impl_->path = path;
    t->impl_->adopt(*file);
    return t;
}

void trail::record(event e) noexcept {
    try {
        if (e.time == std::chrono::system_clock::time_point{}) {
            e.time = std::chrono::system_clock::now();
        }
        const std::string rendered = detail::render_event(e);
        const std::lock_guard lock(impl_->mutex);
        impl_->append(rendered);
    } catch (...) {
        // Out of memory, or OpenSSL failing to hash: the event is lost, the trail goes on.
        impl_->failed.fetch_add(1, std::memory_order_relaxed);
        try {
            log(log_level::error, "audit: could not make an audit line; the event is lost",
                {{"path", impl_->path.string()}});
        } catch (...) {
            // Nothing left to tell it with.
        }
    }
}

result<void> trail::reopen() {
    const std::lock_guard lock(impl_->mutex);
    struct stat now {};
    struct stat open_now {};
    if (::lstat(impl_->path.c_str(), &now) == 0 && ::fstat(impl_->fd.get(), &open_now) == 0 &&
        now.st_dev == open_now.st_dev && now.st_ino == open_now.st_ino) {
        return {};
    }
    if (!impl_->pending.empty()) {
        // The old file keeps the end of its last line if the disk lets us.
        const auto rest = write_all(impl_->fd.get(), impl_->pending);
        if (rest.error == 0) {
            impl_->written.fetch_add(1, std::memory_order_relaxed);
        }
        impl_->pending.clear();
    }
    auto file = open_file(impl_->path);
    if (!file) {
        return file.error();
    }
    impl_->adopt(*file);
    return {};
}

std::uint64_t trail::written() const {
    return impl_->written.load(std::memory_order_relaxed);
}

std::uint64_t trail::failed_writes() const {
    return impl_->failed.load(std::memory_order_relaxed);
}

trail::~trail() = default;

} // namespace sspr::audit
