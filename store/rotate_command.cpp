#include "store/rotate_command.hpp"

#include "common/random.hpp"
#include "config/loader.hpp"
#include "store/crypto.hpp"
#include "store/rotate.hpp"
#include "store/state_store.hpp"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <ostream>
#include <tuple>
#include <vector>

namespace sspr::store {
namespace {

constexpr std::string_view prefix = "ssprd store rotate-key: ";

/// A pass that re-sealed rows may have been overtaken by writes behind it; a pass that finds
/// nothing ends the rotation. Three passes that all find rows mean something keeps writing
/// under an older key.
constexpr int max_passes = 3;

/// Unreadable rows listed by DN, at most this many (the rest counted).
constexpr std::size_t max_listed = 50;

std::string_view plural(std::size_t n, std::string_view one, std::string_view many) {
    return n == 1 ? one : many;
}

/// As check-config prints a configuration that does not load: every error and warning in file
/// order, then the count.
void print_load_failure(const std::string& path, const config::load_failure& f, std::ostream& err) {
    std::vector<config::diagnostic> all = f.errors;
    all.insert(all.end(), f.warnings.begin(), f.warnings.end());
    std::stable_sort(all.begin(), all.end(),
                     [](const config::diagnostic& a, const config::diagnostic& b) {
                         return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    for (const auto& d : all) {
        err << config::to_string(d) << '\n';
    }
    err << path << ": " << f.errors.size() << plural(f.errors.size(), " error", " errors");
    if (!f.warnings.empty()) {
        err << ", " << f.warnings.size() << plural(f.warnings.size(), " warning", " warnings");
    }
    err << "; the configuration is not valid\n";
}

std::string key_ids(const crypto::keyring& keys) {
    const auto ids = keys.ids();
    std::string s;
    for (std::size_t i = 1; i < ids.size(); ++i) {
        s += s.empty() ? "" : ", ";
        s += crypto::format_key_id(ids[i]);
    }
    return s.empty() ? std::string("none") : s;
}

int rotate_key(const std::string& config_path, std::ostream& out, std::ostream& err) {
    const config::load_result loaded = config::load_file(config_path);
    if (!loaded) {
        print_load_failure(config_path, loaded.error(), err);
        return 2;
    }
    for (const auto& w : loaded->warnings) {
        err << config::to_string(w) << '\n';
    }
    const config::store_config& cfg = loaded->value.store;

    std::shared_ptr<const crypto::keyring> keys;
    try {
        keys = crypto::load_keyring(cfg.encryption_key_file, cfg.older_encryption_key_files);
    } catch (const std::exception& e) {
        // Names the file and the reason, never its content.
        err << prefix << e.what() << '\n';
        return 1;
    }
    const std::string active = crypto::format_key_id(keys->active().id());
    out << "active key " << active << "; older keys: " << key_ids(*keys) << '\n';

    // Opening creates a missing SQLite file; a rotation of a store that is not there is a wrong
    // path, not a success with nothing to do.
    if (cfg.backend == config::store_backend::sqlite) {
        std::error_code ec;
        if (!std::filesystem::exists(cfg.sqlite_path, ec)) {
            err << prefix << "there is no state store at " << cfg.sqlite_path
                << " (store.sqlite_path)\n";
            return 1;
        }
    }
    // The row MAC key derives from the server HMAC key, read as the loader reads every secret.
    const config::file_content hmac = config::system_options().read_secret(cfg.hmac_key_file);
    if (!hmac.status.error.empty()) {
        err << prefix << "store.hmac_key_file " << cfg.hmac_key_file << ": " << hmac.status.error
            << '\n';
        return 1;
    }
    auto store = make_state_store(cfg, keys, hmac.content, common::make_system_random());
    if (!store) {
        err << prefix << "cannot open the state store: " << store.error().message()
            << " (the reason is in the log)\n";
        return 1;
    }

    std::size_t examined = 0; // by the first pass, which reads every row
    std::size_t already = 0;  // of those, under the active key before it ran
    std::size_t rewritten = 0;
    std::size_t last_pass_rewritten = 0;
    std::vector<std::string> unreadable;
    for (int pass = 0; pass < max_passes; ++pass) {
        auto report = rotate(**store, *keys);
        if (!report) {
            err << prefix << "the rotation stopped: " << report.error().message() << " after "
                << rewritten << " re-sealed enrollments (the reason is in the log); run the "
                << "command again to continue\n";
            return 1;
        }
        if (pass == 0) {
            examined = report->examined;
            already = examined - report->rewritten - report->unreadable.size();
        }
        rewritten += report->rewritten;
        last_pass_rewritten = report->rewritten;
        unreadable = std::move(report->unreadable);
        if (report->rewritten == 0) {
            break;
        }
    }

    out << "re-sealed " << rewritten << plural(rewritten, " enrollment", " enrollments")
        << " under key " << active << " (" << already << " of " << examined << " examined "
        << plural(already, "was", "were") << " under it already)\n";
    if (last_pass_rewritten != 0) {
        err << prefix << "enrollments keep appearing under an older key after " << max_passes
            << " passes; is a gateway still running with the old active key? Reload it with "
            << "this configuration and run the command again\n";
        return 1;
    }
    if (!unreadable.empty()) {
        err << prefix << unreadable.size()
            << plural(unreadable.size(), " enrollment cannot", " enrollments cannot")
            << " be read (damaged, or under a key that is not configured) and "
            << plural(unreadable.size(), "was left as it is", "were left as they are")
            << "; keep the older keys until they are dealt with:\n";
        for (std::size_t i = 0; i < unreadable.size() && i < max_listed; ++i) {
            err << "  " << unreadable[i] << '\n';
        }
        if (unreadable.size() > max_listed) {
            err << "  ... and " << unreadable.size() - max_listed << " more\n";
        }
        return 1;
    }
    if (keys->ids().size() > 1) {
        out << "no enrollment needs the older keys any more: remove them from "
               "store.older_encryption_key_files\n";
    }
    return 0;
}

} // namespace

int run_rotate_key(const std::string& config_path, std::ostream& out, std::ostream& err) {
    try {
        return rotate_key(config_path, out, err);
    } catch (const std::exception& e) {
        err << prefix << e.what() << '\n';
        return 1;
    }
}

} // namespace sspr::store
