// Errors of the audit trail: why trail::open (or reopen) refuses a file. The system's own reason
// (errno text) and the path go to the log; the value says what the admin has to fix.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace sspr::audit {

enum class error {
    /// The file cannot be opened, created or read (missing directory, no permission, I/O error).
    cannot_open = 1,
    /// The path is a symbolic link. Refused: whoever can place a link there could point the trail
    /// at a file of their choice.
    symlink,
    /// The path is not a regular file (a directory, a FIFO, a device).
    not_regular_file,
    /// Group or others may write the file, or another user owns it: either could rewrite the
    /// trail (a hash chain without a key is only as strong as the file's permissions).
    unsafe_permissions,
    /// Another process kept the file's flock longer than a writer waits (250 ms). Trails share a
    /// file by taking the flock for each line only, so only something misusing it holds it.
    in_use,
    /// The file's last line is not a line of the chain (not JSON, missing fields, too long).
    /// Refused rather than starting a new chain after it, which would hide what happened.
    bad_last_line,
    /// The file does not end with a newline: a write was cut short (crash or power loss). The
    /// partial line must be looked at and removed by hand before the trail continues.
    torn_last_line,
};

const boost::system::error_category& audit_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), audit_category()};
}

template <class T> using result = boost::system::result<T>;

} // namespace sspr::audit

template <> struct boost::system::is_error_code_enum<sspr::audit::error> : std::true_type {};
