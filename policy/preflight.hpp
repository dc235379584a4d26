// The checks of a configuration that only policy/ can make, because they build what the daemon
// builds from it: the password checker (banned terms counted in code points after NFKC, the
// banned-terms and breached files), the throttle bucket set and the scope rules. config/ runs them
// through load_options::semantic_checks, so that `ssprd check-config`, the daemon's start-up and a
// SIGHUP reload refuse exactly the same files, each problem at its key's place in the file.
#pragma once

#include "config/config.hpp"
#include "config/loader.hpp"

#include <vector>

namespace sspr::policy {

/// Every problem building the policy objects from `c` would hit, as (key path, message).
[[nodiscard]] std::vector<config::semantic_problem> preflight(const config::config& c);

/// `options` with preflight() as its semantic checks: what the daemon and check-config load with.
[[nodiscard]] config::load_options with_preflight(config::load_options options = {});

} // namespace sspr::policy
