#include "common/secret_file.hpp"

#include <openssl/crypto.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace sspr::common {

namespace {

class fd_guard {
public:
    explicit fd_guard(int fd) noexcept : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};

secret_file_failure failed(secret_file_problem p, unsigned permissions = 0) {
    return {p, {}, permissions};
}

secret_file_failure system_failure(int err) {
    if (err == ELOOP) {
        return failed(secret_file_problem::symlink);
    }
    return {secret_file_problem::unreadable, std::strerror(err), 0};
}

} // namespace

boost::system::result<secret_file, secret_file_failure>
read_secret_file(const std::string& path, const secret_file_options& options) {
    // O_NONBLOCK: a FIFO at the path cannot hang start-up before fstat refuses it.
    // O_NOFOLLOW: the file checked is the file named, not whatever a link points to now.
    const fd_guard fd(
        ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW));
    if (fd.get() < 0) {
        return system_failure(errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return system_failure(errno);
    }
    const unsigned permissions = static_cast<unsigned>(st.st_mode) & 07777U;
    if (!S_ISREG(st.st_mode)) {
        return failed(secret_file_problem::not_regular, permissions);
    }
    if (st.st_uid != ::geteuid() && st.st_uid != 0) {
        return failed(secret_file_problem::foreign_owner, permissions);
    }
    if (options.private_only && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        return failed(secret_file_problem::shared, permissions);
    }
    if (st.st_size < 0 || static_cast<std::size_t>(st.st_size) > options.max_bytes) {
        return failed(secret_file_problem::too_large, permissions);
    }
    // One buffer, one byte more than allowed (a file that grew since fstat is caught), wiped.
    std::vector<char> buffer(options.max_bytes + 1);
    std::size_t total = 0;
    while (total < buffer.size()) {
        const auto n = ::read(fd.get(), buffer.data() + total, buffer.size() - total);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int err = errno;
            OPENSSL_cleanse(buffer.data(), buffer.size());
            return system_failure(err);
        }
        if (n == 0) {
            break;
        }
        total += static_cast<std::size_t>(n);
    }
    if (total > options.max_bytes) {
        OPENSSL_cleanse(buffer.data(), buffer.size());
        return failed(secret_file_problem::too_large, permissions);
    }
    secret_file out;
    out.content = secret(std::string(buffer.data(), total));
    out.permissions = permissions;
    OPENSSL_cleanse(buffer.data(), buffer.size());
    return out;
}

std::string describe(const secret_file_failure& f) {
    switch (f.problem) {
    case secret_file_problem::unreadable:
        return f.system_error.empty() ? std::string("cannot be read") : f.system_error;
    case secret_file_problem::symlink:
        return "is a symbolic link; name the file itself";
    case secret_file_problem::not_regular:
        return "not a regular file";
    case secret_file_problem::shared:
        return "group or others may access it; make it readable by ssprd only (chmod 600)";
    case secret_file_problem::foreign_owner:
        return "owned by another user; it must belong to the user ssprd runs as (or root)";
    case secret_file_problem::too_large:
        return "larger than any secret or key ssprd reads, so not the right file";
    case secret_file_problem::invalid:
        break;
    }
    return "cannot be used";
}

void throw_exception_from_error(const secret_file_failure& f, const boost::source_location&) {
    throw std::runtime_error("secret file: " + describe(f));
}

} // namespace sspr::common
