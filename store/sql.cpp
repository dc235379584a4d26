#include "store/sql.hpp"

#include "common/log.hpp"

#include <atomic>
#include <string>

namespace sspr::store::detail {
namespace {

// Method sets are kept as a bit mask of config::method values.
constexpr std::array<statement_def, stmt_count> statements{{
    // Every row carries row_mac (store/row_mac.hpp), made by the store over all its columns. A
    // write that derives a row from the stored one is a compare-and-set on the MAC that was
    // checked when it was read, so nothing read unchecked is ever written back.
    {stmt::create_flow, "sspr_create_flow", "ttiiiiiib", true,
     "INSERT INTO flows (id, user_dn, kind, state, gates_passed, methods_used, created_at, "
     "expires_at, version, row_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9) "
     "ON CONFLICT (id) DO NOTHING RETURNING version"},
    {stmt::get_flow, "sspr_get_flow", "t", false,
     "SELECT user_dn, kind, state, gates_passed, methods_used, created_at, expires_at, version, "
     "row_mac FROM flows WHERE id = $1"},
    {stmt::update_flow, "sspr_update_flow", "tiiiiibb", true,
     "UPDATE flows SET state = $3, gates_passed = $4, methods_used = $5, expires_at = $6, "
     "version = version + 1, row_mac = $7 WHERE id = $1 AND version = $2 AND row_mac = $8 "
     "RETURNING user_dn, kind, state, gates_passed, methods_used, created_at, expires_at, version, "
     "row_mac"},
    {stmt::delete_flow, "sspr_delete_flow", "t", true, "DELETE FROM flows WHERE id = $1"},
    {stmt::put_code, "sspr_put_code", "tibbiib", true,
     "INSERT INTO codes (flow_id, method, binding_hash, code_hash, expires_at, tries_left, "
     "row_mac) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (flow_id, method) DO UPDATE SET "
     "binding_hash = excluded.binding_hash, code_hash = excluded.code_hash, "
     "expires_at = excluded.expires_at, tries_left = excluded.tries_left, "
     "row_mac = excluded.row_mac"},
    {stmt::get_code, "sspr_get_code", "ti", false,
     "SELECT binding_hash, code_hash, expires_at, tries_left, row_mac FROM codes "
     "WHERE flow_id = $1 AND method = $2"},
    // A compare-and-set from the count that was read (and whose MAC was checked) to one less:
    // of concurrent verifiers that read the same count exactly one wins, the others read again,
    // so they can never spend more tries than there were.
    {stmt::take_try, "sspr_take_try", "tiibibi", true,
     "UPDATE codes SET tries_left = $3, row_mac = $4 "
     "WHERE flow_id = $1 AND method = $2 AND tries_left = $5 AND row_mac = $6 "
     "AND expires_at > $7 RETURNING binding_hash, code_hash, expires_at, tries_left, row_mac"},
    {stmt::delete_code, "sspr_delete_code", "ti", true,
     "DELETE FROM codes WHERE flow_id = $1 AND method = $2"},
    {stmt::get_enrollment, "sspr_get_enrollment", "t", false,
     "SELECT emails, phones, totp, totp_last_step, questions, key_id, version, updated_at, "
     "row_mac FROM enrollments WHERE user_dn = $1"},
    {stmt::enrollment_version, "sspr_enrollment_version", "t", false,
     "SELECT version FROM enrollments WHERE user_dn = $1"},
    {stmt::insert_enrollment, "sspr_insert_enrollment", "tbbbibiib", true,
     "INSERT INTO enrollments (user_dn, emails, phones, totp, totp_last_step, questions, key_id, "
     "version, updated_at, row_mac) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9) "
     "ON CONFLICT (user_dn) DO NOTHING RETURNING version"},
    // The TOTP step only ever rises: the store writes the higher of the step the caller read and
    // the one stored, and the compare-and-set on row_mac makes a TOTP login in between (which
    // changes the MAC, not the version) send it round again rather than hand the used step back.
    {stmt::update_enrollment, "sspr_update_enrollment", "tibbbibiibb", true,
     "UPDATE enrollments SET emails = $3, phones = $4, totp = $5, totp_last_step = $6, "
     "questions = $7, key_id = $8, updated_at = $9, row_mac = $10, version = version + 1 "
     "WHERE user_dn = $1 AND version = $2 AND row_mac = $11 RETURNING version"},
    {stmt::delete_enrollment, "sspr_delete_enrollment", "t", true,
     "DELETE FROM enrollments WHERE user_dn = $1"},
    {stmt::list_enrollments, "sspr_list_enrollments", "ti", false,
     "SELECT user_dn FROM enrollments WHERE user_dn > $1 ORDER BY user_dn LIMIT $2"},
    {stmt::use_totp_step, "sspr_use_totp_step", "tibb", true,
     "UPDATE enrollments SET totp_last_step = $2, row_mac = $3 "
     "WHERE user_dn = $1 AND row_mac = $4 AND totp_last_step < $2 RETURNING totp_last_step"},
    // One upsert: the read of the old window and the write of the new count happen under the
    // row's lock, so no increment is lost between threads, processes or gateway instances.
    {stmt::increment, "sspr_increment", "tii", true,
     "INSERT INTO counters (counter_key, hits, window_end, blocked_until) "
     "VALUES ($1, 1, $2 + $3, 0) ON CONFLICT (counter_key) DO UPDATE SET "
     "hits = CASE WHEN counters.window_end <= $2 THEN 1 ELSE counters.hits + 1 END, "
     "window_end = CASE WHEN counters.window_end <= $2 THEN excluded.window_end "
     "ELSE counters.window_end END "
     "RETURNING hits, window_end, blocked_until"},
    {stmt::block, "sspr_block", "ti", true,
     "INSERT INTO counters (counter_key, hits, window_end, blocked_until) VALUES ($1, 0, 0, $2) "
     "ON CONFLICT (counter_key) DO UPDATE SET blocked_until = CASE "
     "WHEN counters.blocked_until > excluded.blocked_until THEN counters.blocked_until "
     "ELSE excluded.blocked_until END"},
    {stmt::blocked_until, "sspr_blocked_until", "t", false,
     "SELECT blocked_until FROM counters WHERE counter_key = $1"},
    {stmt::reset, "sspr_reset", "t", true, "DELETE FROM counters WHERE counter_key = $1"},
    {stmt::purge_flows, "sspr_purge_flows", "ii", true,
     "DELETE FROM flows WHERE id IN "
     "(SELECT id FROM flows WHERE expires_at <= $1 LIMIT $2)"},
    {stmt::purge_codes, "sspr_purge_codes", "ii", true,
     "DELETE FROM codes WHERE (flow_id, method) IN "
     "(SELECT flow_id, method FROM codes WHERE expires_at <= $1 LIMIT $2)"},
    {stmt::purge_counters, "sspr_purge_counters", "ii", true,
     "DELETE FROM counters WHERE counter_key IN (SELECT counter_key FROM counters "
     "WHERE window_end <= $1 AND blocked_until <= $1 LIMIT $2)"},
}};

// Every entry must sit at the index of its id; checked once at compile time.
constexpr bool statements_in_order() {
    for (std::size_t i = 0; i < statements.size(); ++i) {
        if (static_cast<std::size_t>(statements[i].id) != i) {
            return false;
        }
    }
    return true;
}
static_assert(statements_in_order(), "statements[] must be in stmt order");

constexpr std::size_t error_slots = static_cast<std::size_t>(error::failed) + 1;

} // namespace

std::string migration_sql(const migration& m, dialect d) {
    std::string out(m.sql);
    if (d == dialect::sqlite) {
        for (auto pos = out.find("BYTEA"); pos != std::string::npos; pos = out.find("BYTEA", pos)) {
            out.replace(pos, 5, "BLOB");
        }
    }
    return out;
}

std::string version_insert_sql(const migration& m, std::int64_t applied_at_ms) {
    return "INSERT INTO schema_version (version, applied_at) VALUES (" + std::to_string(m.version) +
           ", " + std::to_string(applied_at_ms) + ")";
}

const statement_def& statement(stmt s) noexcept {
    return statements[static_cast<std::size_t>(s)];
}

std::string sqlite_text(std::string_view sql) {
    std::string out(sql);
    for (auto& c : out) {
        if (c == '$') {
            c = '?';
        }
    }
    return out;
}

void log_failure(std::string_view backend, std::string_view operation, boost::system::error_code e,
                 std::string_view detail) {
    static std::array<std::atomic<std::int64_t>, error_slots> last_ms{};
    static std::array<std::atomic<std::uint64_t>, error_slots> suppressed{};
    const auto slot = static_cast<std::size_t>(e.value()) % error_slots;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
    auto last = last_ms[slot].load(std::memory_order_relaxed);
    if (now - last < 1000 || !last_ms[slot].compare_exchange_strong(last, now)) {
        suppressed[slot].fetch_add(1, std::memory_order_relaxed);
        return;
    }
    const auto dropped = std::to_string(suppressed[slot].exchange(0));
    const auto what = e.message();
    common::log(common::log_level::warning, "state store operation failed",
                {{"backend", backend},
                 {"operation", operation},
                 {"error", what},
                 {"detail", detail},
                 {"suppressed_since_last", dropped}});
}

} // namespace sspr::store::detail
