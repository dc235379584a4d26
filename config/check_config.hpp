// `ssprd check-config FILE`: load the file as the daemon would and either print what it means (who
// is in scope, gates, methods per rule, admins, password rules, throttles) on one screen, or print
// every error with file:line:column. The gateway's main() calls run_check_config.
#pragma once

#include "config/config.hpp"
#include "config/loader.hpp"

#include <iosfwd>
#include <string>

namespace sspr::config {

/// Exit status: 0 valid (summary on `out`, warnings on `err`), 2 invalid (errors and warnings on
/// `err`, then a count). Never prints a secret: only key names, paths and non-secret values.
int run_check_config(const std::string& path, std::ostream& out, std::ostream& err,
                     const load_options& options = {});

/// The one-screen summary of an effective configuration, as check-config prints it.
std::string summarize(const config& c);

} // namespace sspr::config
