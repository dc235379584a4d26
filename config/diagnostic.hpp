// What the loader says about a configuration file: each error or warning carries the place in the
// file (1-based line and column) and the key path, so an admin can fix every problem of a file in
// one pass. Messages never hold a secret value: the loader names keys and files, not contents.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace sspr::config {

enum class severity { invalid = 0, error, warning };

struct diagnostic {
    severity level = severity::error;
    std::string file;
    /// 1-based, as editors count; 0 when the problem has no place in the file (e.g. empty file).
    std::size_t line = 0;
    std::size_t column = 0;
    /// Dotted key path with list indexes, e.g. `policy.rules[1].methods`; `yaml` for syntax.
    std::string path;
    std::string message;
};

/// `file:line:column: key.path: message`; warnings read `file:line:column: key.path: warning: …`.
std::string to_string(const diagnostic& d);

/// A file that could not be loaded: every error found (in file order), and the warnings as well.
struct load_failure {
    std::vector<diagnostic> errors;
    std::vector<diagnostic> warnings;
};

} // namespace sspr::config
