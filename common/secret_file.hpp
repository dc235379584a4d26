// The one reader of secret and key files (service passwords, API tokens, the store's encryption
// keys, the server HMAC key): opened without following a symbolic link, without blocking on a
// FIFO planted at the path and without handing the descriptor to children; checked on the opened
// descriptor (regular file, owner, permissions, size) so the file checked is the file read; read
// into wiped memory. Every caller reports a refusal in the same words (describe()).
#pragma once

#include "common/secret.hpp"

#include <boost/system/result.hpp>

#include <cstddef>
#include <string>

namespace sspr::common {

enum class secret_file_problem {
    invalid = 0,
    /// open/read failed; `system_error` says why ("No such file or directory").
    unreadable,
    /// The path names a symbolic link (refused: a link can be re-pointed after the check).
    symlink,
    /// A directory, FIFO, device or socket.
    not_regular,
    /// Group or others may read or write it (only with secret_file_options::private_only).
    shared,
    /// Owned by a user other than the one ssprd runs as (or root).
    foreign_owner,
    /// Larger than the caller's limit: not the file it should be.
    too_large,
};

struct secret_file_failure {
    secret_file_problem problem = secret_file_problem::invalid;
    std::string system_error; // strerror text for unreadable; empty otherwise
    unsigned permissions = 0; // st_mode & 07777 when the file was opened
};

struct secret_file_options {
    std::size_t max_bytes = std::size_t{64} * 1024;
    /// Refuse a file that group or others may access (key files); false: the caller judges the
    /// permissions it gets back (the config loader warns about readable password files).
    bool private_only = true;
};

struct secret_file {
    secret content;
    unsigned permissions = 0; // st_mode & 07777
};

/// Reads the whole file at `path` under `options`.
[[nodiscard]] boost::system::result<secret_file, secret_file_failure>
read_secret_file(const std::string& path, const secret_file_options& options = {});

/// "not a regular file", "group or others may access it; make it readable by ssprd only (chmod
/// 600)", ...: what every caller says about a refused file. Never the content.
[[nodiscard]] std::string describe(const secret_file_failure& f);

[[noreturn]] void throw_exception_from_error(const secret_file_failure& f,
                                             const boost::source_location& loc);

} // namespace sspr::common
