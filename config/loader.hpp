// Loading the admin's YAML file into config::config: parse with yaml-cpp, check every key against
// the key table (config/key_table.hpp), then check the values against each other, then read the
// secret files. Every problem of the file is reported at once, each with file:line:column and key
// path; nothing is applied from a file that has any error.
#pragma once

#include "common/secret.hpp"
#include "config/config.hpp"
#include "config/diagnostic.hpp"

#include <boost/system/result.hpp>

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::config {

/// A file the loader looked at. `error` is empty on success; otherwise it says why the file
/// cannot be used ("No such file or directory", "not a regular file", ...), never what it holds.
struct file_status {
    std::string error;
    /// Permission bits (st_mode & 07777): world-readable secrets are warned about, key files that
    /// group or others may access are refused (store/ and challenge/ refuse them too).
    unsigned permissions = 0600;
};

struct file_content {
    file_status status;
    common::secret content; // empty unless status.error is empty
};

/// A problem found by a check made above config/ (see load_options::semantic_checks).
struct semantic_problem {
    std::string path; // key path, e.g. "password.banned_terms[1]"
    std::string message;
};

/// How the loader reaches the file system and the environment. The defaults are the real ones;
/// tests put fakes in so that they can check every rule without files or variables.
struct load_options {
    /// Reads a (small) secret file whole.
    std::function<file_content(const std::string& path)> read_secret;
    /// Checks that a file exists, is a regular file and can be opened for reading, without
    /// reading it (certificates, TLS keys, word lists).
    std::function<file_status(const std::string& path)> check_file;
    /// Reads a small, non-secret file whole (ui.logo); an error when it has more than `limit`
    /// bytes.
    std::function<file_content(const std::string& path, std::size_t limit)> read_file;
    /// Looks up an environment variable for `${NAME}` in paths.
    std::function<std::optional<std::string>(const std::string& name)> getenv;
    /// Checks that need the libraries built from the configuration (policy::preflight: password
    /// rules, throttle buckets, scope rules). Run once every key read cleanly; each problem is an
    /// error at its key's place. Empty: none (config/'s own unit tests).
    std::function<std::vector<semantic_problem>(const config&)> semantic_checks;
};

/// The real file system and environment.
load_options system_options();

/// A configuration that passed every check, with what deserves a look but does not stop it.
struct loaded_config {
    config value;
    std::vector<diagnostic> warnings;
};

/// result::value() on a failure throws std::runtime_error naming the first error.
using load_result = boost::system::result<loaded_config, load_failure>;

/// Loads the file at `path` (at most 1 MiB). Unset members of `options` use the real ones.
load_result load_file(const std::string& path, const load_options& options = {});

/// Loads YAML text; `file_name` is what diagnostics print as the file.
load_result load_string(std::string_view yaml, const std::string& file_name,
                        const load_options& options = {});

[[noreturn]] void throw_exception_from_error(const load_failure& failure,
                                             const boost::source_location& loc);

/// For logs and test output: the errors (one per line), or a note that the configuration loaded.
/// Neither prints a secret.
std::ostream& operator<<(std::ostream& os, const load_failure& failure);
std::ostream& operator<<(std::ostream& os, const loaded_config& loaded);

} // namespace sspr::config
