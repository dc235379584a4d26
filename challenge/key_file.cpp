#include "challenge/key_file.hpp"

#include <openssl/crypto.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

namespace sspr::challenge {
namespace {

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
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

} // namespace

result<common::secret> load_key_file(const std::string& path) {
    // O_NONBLOCK so that a FIFO planted at the path cannot hang start-up before fstat refuses it.
    const fd_guard fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (fd.get() < 0) {
        return error::key_file_unreadable;
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) {
        return error::key_file_unreadable;
    }
    if (!S_ISREG(st.st_mode)) {
        return error::key_file_not_regular;
    }
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        return error::key_file_permissions;
    }
    if (st.st_size > static_cast<off_t>(max_key_bytes)) {
        return error::key_too_long;
    }

    // Read into a fixed buffer that is wiped, then copy once into the secret.
    std::array<char, max_key_bytes + 1> buffer{};
    std::size_t total = 0;
    for (;;) {
        const auto n = ::read(fd.get(), buffer.data() + total, buffer.size() - total);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            OPENSSL_cleanse(buffer.data(), buffer.size());
            return error::key_file_unreadable;
        }
        if (n == 0) {
            break;
        }
        total += static_cast<std::size_t>(n);
        if (total == buffer.size()) {
            break; // grew since fstat; refused below
        }
    }

    result<common::secret> out = error::key_too_short;
    if (total > max_key_bytes) {
        out = error::key_too_long;
    } else if (total >= min_key_bytes) {
        out = common::secret(std::string(buffer.data(), total));
    }
    OPENSSL_cleanse(buffer.data(), buffer.size());
    return out;
}

} // namespace sspr::challenge
