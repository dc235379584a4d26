#include "config/holder.hpp"

#include "common/log.hpp"

#include <utility>

namespace sspr::config {

holder::holder(config initial, source reload_from, std::string file)
    : source_(std::move(reload_from)), file_(std::move(file)),
      current_(std::make_shared<const entry>(entry{std::move(initial), 1})) {}

std::shared_ptr<const holder::entry> holder::current() const {
    const std::lock_guard<std::mutex> lock(current_mutex_);
    return current_;
}

std::shared_ptr<const config> holder::snapshot() const {
    std::shared_ptr<const entry> e = current();
    // Aliasing: the caller's pointer keeps the whole entry alive, and sees only the config.
    return {e, &e->value};
}

std::uint64_t holder::generation() const {
    return current()->generation;
}

reload_report holder::reload() {
    const std::lock_guard<std::mutex> lock(reload_mutex_);
    const std::shared_ptr<const entry> old = current();
    reload_report report;
    load_result loaded = source_();
    if (!loaded) {
        report.generation = old->generation;
        report.errors = std::move(loaded.error().errors);
        report.warnings = std::move(loaded.error().warnings);
        const std::string count = std::to_string(report.errors.size());
        common::log(common::log_level::error,
                    "configuration reload refused; the previous configuration stays in force",
                    {{"errors", count}});
        for (const auto& e : report.errors) {
            const std::string text = to_string(e);
            common::log(common::log_level::error, "configuration error", {{"error", text}});
        }
        return report;
    }
    report.warnings = std::move(loaded->warnings);
    for (auto& w : restart_only_changes(old->value, loaded->value, file_)) {
        report.warnings.push_back(std::move(w));
    }
    std::shared_ptr<const entry> next =
        std::make_shared<const entry>(entry{std::move(loaded->value), old->generation + 1});
    report.generation = next->generation;
    {
        const std::lock_guard<std::mutex> swap_lock(current_mutex_);
        current_.swap(next);
    }
    // `next` now holds the previous entry; it is freed here, outside the lock, unless readers
    // still hold it, in which case the last of them frees it.
    next.reset();
    report.applied = true;

    const std::string generation = std::to_string(report.generation);
    common::log(common::log_level::info, "configuration reloaded", {{"generation", generation}});
    for (const auto& w : report.warnings) {
        const std::string text = to_string(w);
        common::log(common::log_level::warning, "configuration warning", {{"warning", text}});
    }
    return report;
}

holder::source file_source(std::string path, load_options options) {
    return
        [path = std::move(path), options = std::move(options)] { return load_file(path, options); };
}

std::vector<diagnostic> restart_only_changes(const config& before, const config& after,
                                             const std::string& file) {
    std::vector<diagnostic> out;
    const auto note = [&](bool changed, const char* path) {
        if (changed) {
            diagnostic d;
            d.level = severity::warning;
            d.file = file;
            d.path = path;
            d.message = "changed, but takes effect only after a restart";
            out.push_back(std::move(d));
        }
    };
    note(before.server.listen != after.server.listen, "server.listen");
    // The thread pools and the blocking queue are sized once, when the daemon starts.
    note(before.server.io_threads != after.server.io_threads, "server.io_threads");
    note(before.server.workers != after.server.workers, "server.workers");
    note(before.server.max_queued != after.server.max_queued, "server.max_queued");
    note(before.store.backend != after.store.backend, "store.backend");
    note(before.store.sqlite_path != after.store.sqlite_path, "store.sqlite_path");
    const auto& a = before.store.postgres;
    const auto& b = after.store.postgres;
    note(a.host != b.host || a.port != b.port || a.database != b.database || a.user != b.user,
         "store.postgres");
    note(before.store.encryption_key_file != after.store.encryption_key_file ||
             before.store.older_encryption_key_files != after.store.older_encryption_key_files,
         "store.encryption_key_file");
    note(before.store.hmac_key_file != after.store.hmac_key_file, "store.hmac_key_file");
    note(before.audit.path != after.audit.path, "audit.path");
    note(before.audit.metrics_listen != after.audit.metrics_listen, "audit.metrics_listen");
    return out;
}

} // namespace sspr::config
