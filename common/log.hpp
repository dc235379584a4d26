// Minimal structured logging to stderr: one line per event, `level=… msg="…" key=value…`.
// Callers pass only non-secret fields; secrets are common::secret and cannot be formatted.
// Values are quoted and escaped so that whatever a client sent (a login, a header) can neither
// start a second event nor act on the terminal that shows the log: C0/C1 controls, DEL,
// U+2028/U+2029 and malformed UTF-8 come out as \xNN / \uNNNN escapes.
#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

namespace sspr::common {

enum class log_level { debug = 1, info, warning, error };

using log_field = std::pair<std::string_view, std::string_view>;

/// Lowest level that is written; default info. Thread-safe.
void set_log_level(log_level level) noexcept;

/// Writes one line. Thread-safe; lines from different threads never interleave.
void log(log_level level, std::string_view message, std::initializer_list<log_field> fields = {});

} // namespace sspr::common
