// The configuration in force, replaceable while the daemon runs (SIGHUP). A reload validates the
// new file completely first: on any error the old configuration stays and the errors are returned
// (and logged); on success the new one replaces it in one step under a short lock. Work in flight
// keeps the snapshot it started with (it holds the shared_ptr), so no request ever sees half of
// each.
#pragma once

#include "config/config.hpp"
#include "config/diagnostic.hpp"
#include "config/loader.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sspr::config {

/// What a reload did.
struct reload_report {
    /// True when the new configuration is now in force.
    bool applied = false;
    /// The generation in force after the reload (1 for the configuration the holder started with).
    std::uint64_t generation = 0;
    std::vector<diagnostic> errors;
    /// The loader's warnings, and settings that changed but only take effect after a restart.
    std::vector<diagnostic> warnings;
};

class holder {
public:
    /// Produces a freshly loaded configuration (normally load_file on the same path).
    using source = std::function<load_result()>;

    /// Starts with `initial` (generation 1); `reload_from` is called by every reload(). `file`
    /// names the configuration in the warnings the holder adds itself.
    holder(config initial, source reload_from, std::string file = "configuration");

    holder(const holder&) = delete;
    holder& operator=(const holder&) = delete;

    /// The configuration in force. Cheap and safe from any thread; keep the pointer for the whole
    /// of one piece of work so that all of it sees one configuration.
    [[nodiscard]] std::shared_ptr<const config> snapshot() const;

    /// The generation of the configuration in force; it grows by one with every applied reload.
    [[nodiscard]] std::uint64_t generation() const;

    /// Loads and checks the configuration again and swaps it in when it has no error. Reloads are
    /// serialised (two SIGHUPs apply in order); readers are never blocked by one. Logs the outcome.
    reload_report reload();

private:
    struct entry {
        config value;
        std::uint64_t generation = 0;
    };

    [[nodiscard]] std::shared_ptr<const entry> current() const;

    source source_;
    std::string file_;
    std::mutex reload_mutex_; // held for a whole reload; readers never take it
    // A mutex, not std::atomic<std::shared_ptr>: it is held only to copy or swap one pointer, and
    // libstdc++ 12's atomic shared_ptr is a lock of its own that ThreadSanitizer cannot follow.
    mutable std::mutex current_mutex_;
    std::shared_ptr<const entry> current_; // guarded by current_mutex_
};

/// A source that loads `path` with `options` each time: holder(first, file_source(path)).
holder::source file_source(std::string path, load_options options = {});

/// Settings that differ between `before` and `after` but that the daemon only reads at start-up
/// (listen addresses, the store, the metrics listener), as warnings to pass on to the admin.
std::vector<diagnostic> restart_only_changes(const config& before, const config& after,
                                             const std::string& file);

} // namespace sspr::config
