// `ssprd serve`: load the configuration, build the object graph (directory, store, sender, audit
// trail, engine, worker pool, application, server), listen, and run until SIGTERM/SIGINT; SIGHUP
// reloads the configuration (a bad file is refused and logged, the old one keeps serving), the
// TLS certificate and the audit file. Prints "listening on https://ADDR:PORT" to stderr once per
// listener when it accepts connections.
#pragma once

#include "config/config.hpp"
#include "gateway/server.hpp"

#include <iosfwd>
#include <string>

namespace sspr::gateway {

/// Exit status: 0 after a clean stop, 2 when the configuration or the message catalogue is not
/// valid (errors printed like check-config), 1 when start-up fails otherwise (a file, the store,
/// a port).
int run_serve(const std::string& config_path, const std::string& messages_dir, std::ostream& err);

/// The server's options and limits from the configuration.
[[nodiscard]] server_options server_options_from(const config::config& cfg);
[[nodiscard]] server_limits server_limits_from(const config::server_config& s);
[[nodiscard]] tls_settings tls_from(const config::server_config& s);

} // namespace sspr::gateway
