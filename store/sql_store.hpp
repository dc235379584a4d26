// The StateStore logic shared by the SQLite and PostgreSQL stores (internal to store/): records
// to parameters and rows back, compare-and-set outcomes, expiry, the at-rest encryption of
// enrollments and the MAC of every row (store/row_mac.hpp). A backend only supplies a Driver that
// runs the statements of sql.hpp:
//
//   class Driver {
//       class lease;                                   // one connection on loan, movable
//       result<lease> acquire(bool write);             // write: the statement changes data
//       result<sql_result> exec(lease&, stmt, std::span<const sql_param>);
//       static constexpr std::string_view name;        // "sqlite" / "postgres", for logs
//   };
//
// and, when it opens the database, runs the migrations and hands the store's migration_step
// (sql_store::migrator) a way to run statements inside each migration's transaction.
//
// exec maps the database's failures to store::error (a foreign key to a missing row is
// not_found, a duplicate key conflict) and logs the database's own text.
//
// Integrity: every read of a flow, code or enrollment checks the row's MAC first; a row that fails
// is error::corrupt and nothing is derived from it. Writes that start from the stored row (a flow
// update, spending a try, an enrollment put, a TOTP step) read and check it, then write with a
// compare-and-set on the MAC they checked, so a row changed behind the store's back in between is
// read (and checked) again rather than built upon.
#pragma once

#include "common/random.hpp"
#include "store/crypto.hpp"
#include "store/enrollment_codec.hpp"
#include "store/row_mac.hpp"
#include "store/sql.hpp"
#include "store/state_store.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <span>
#include <utility>

namespace sspr::store::detail {

// Lengths far above any real value; they keep a hostile or buggy caller from filling the
// database with megabyte keys.
inline constexpr std::size_t max_key_length = 1024;
inline constexpr std::size_t max_dn_length = 4096;
inline constexpr std::size_t max_hash_length = 1024;
inline constexpr std::size_t max_list_limit = 10000;
/// Compare-and-set rounds before a write gives up with error::busy. A round is only lost when
/// another writer changed the row in between (and so made progress), so this is never reached by
/// honest contention: 8 verifiers racing for 5 tries lose at most 5 rounds each.
inline constexpr int max_cas_rounds = 32;

[[nodiscard]] inline std::int64_t ms(timestamp t) noexcept {
    return t.time_since_epoch().count();
}
[[nodiscard]] inline timestamp from_ms(std::int64_t v) noexcept {
    return timestamp(std::chrono::milliseconds(v));
}

// These values are written to the database as integers (flow kind and state) and as bit positions
// (methods_used): renumbering any of them would silently reinterpret every stored row.
static_assert(static_cast<int>(flow_kind::reset) == 1 && static_cast<int>(flow_kind::unlock) == 2 &&
              static_cast<int>(flow_kind::change) == 3 && static_cast<int>(flow_kind::enroll) == 4);
static_assert(static_cast<int>(flow_state::started) == 1 &&
              static_cast<int>(flow_state::challenged) == 2 &&
              static_cast<int>(flow_state::verified) == 3 &&
              static_cast<int>(flow_state::completed) == 4 &&
              static_cast<int>(flow_state::failed) == 5 &&
              static_cast<int>(flow_state::cancelled) == 6 &&
              static_cast<int>(flow_state::completing) == 7);
static_assert(static_cast<int>(config::method::email) == 1 &&
              static_cast<int>(config::method::sms) == 2 &&
              static_cast<int>(config::method::totp) == 3 &&
              static_cast<int>(config::method::questions) == 4);

[[nodiscard]] inline bool valid_kind(std::int64_t v) noexcept {
    return v >= static_cast<std::int64_t>(flow_kind::reset) &&
           v <= static_cast<std::int64_t>(flow_kind::enroll);
}
[[nodiscard]] inline bool valid_state(std::int64_t v) noexcept {
    return v >= static_cast<std::int64_t>(flow_state::started) &&
           v <= static_cast<std::int64_t>(flow_state::completing);
}
[[nodiscard]] inline bool valid_method(std::int64_t v) noexcept {
    return v >= static_cast<std::int64_t>(config::method::email) &&
           v <= static_cast<std::int64_t>(config::method::questions);
}

/// The method set as a bit mask (bit n for method value n); nothing for an invalid method.
[[nodiscard]] inline std::optional<std::int64_t>
method_mask(const std::vector<config::method>& methods) noexcept {
    std::int64_t mask = 0;
    for (const auto m : methods) {
        const auto v = static_cast<std::int64_t>(m);
        if (!valid_method(v)) {
            return std::nullopt;
        }
        mask |= std::int64_t{1} << v;
    }
    return mask;
}

[[nodiscard]] inline std::optional<std::vector<config::method>>
methods_from_mask(std::int64_t mask) {
    std::vector<config::method> out;
    for (std::int64_t v = 0; v < 63; ++v) {
        if ((mask & (std::int64_t{1} << v)) == 0) {
            continue;
        }
        if (!valid_method(v)) {
            return std::nullopt;
        }
        out.push_back(static_cast<config::method>(v));
    }
    return out;
}

template <class Driver> class sql_store final : public state_store {
public:
    sql_store(std::unique_ptr<Driver> driver, std::shared_ptr<const crypto::keyring> keys,
              std::shared_ptr<const row_mac> mac, std::shared_ptr<common::random> random)
        : driver_(std::move(driver)), keys_(std::move(keys)), mac_(std::move(mac)),
          random_(std::move(random)) {}

    /// The store's part of the migrations, for Driver::open: migration 3 re-seals every enrollment
    /// with its version bound in (crypto format 2) and gives it its MAC.
    static migration_step migrator(std::shared_ptr<const crypto::keyring> keys,
                                   std::shared_ptr<const row_mac> mac,
                                   std::shared_ptr<common::random> random) {
        return [keys = std::move(keys), mac = std::move(mac), random = std::move(random)](
                   std::int64_t version, const migration_exec& exec) -> result<void> {
            if (version == 3) {
                return reseal_legacy_enrollments(exec, *keys, *mac, *random);
            }
            return {};
        };
    }

    // ---- flows ----------------------------------------------------------------------------------

    result<flow_record> create_flow(const flow_record& flow) override {
        const auto mask = method_mask(flow.methods_used);
        if (flow.id.empty() || flow.id.size() > max_key_length || flow.user_dn.empty() ||
            flow.user_dn.size() > max_dn_length ||
            !valid_kind(static_cast<std::int64_t>(flow.kind)) ||
            !valid_state(static_cast<std::int64_t>(flow.state)) || !mask) {
            return error::invalid_argument;
        }
        const flow_columns columns{flow.id,
                                   flow.user_dn,
                                   static_cast<std::int64_t>(flow.kind),
                                   static_cast<std::int64_t>(flow.state),
                                   flow.gates_passed,
                                   *mask,
                                   ms(flow.created_at),
                                   ms(flow.expires_at),
                                   1};
        const auto mac = mac_->of(columns);
        const std::array params{p_text(flow.id),
                                p_text(flow.user_dn),
                                p_int(columns.kind),
                                p_int(columns.state),
                                p_int(columns.gates_passed),
                                p_int(columns.methods_mask),
                                p_int(columns.created_at_ms),
                                p_int(columns.expires_at_ms),
                                p_blob(mac)};
        auto r = run(true, stmt::create_flow, params);
        if (!r) {
            return r.error();
        }
        if (r->rows.empty()) {
            return error::conflict;
        }
        flow_record out = flow;
        out.methods_used = *methods_from_mask(*mask);
        out.version = static_cast<std::uint64_t>(r->rows[0][0].i);
        return out;
    }

    result<flow_record> get_flow(std::string_view id, timestamp now) override {
        auto flow = read_flow(id);
        if (!flow) {
            return flow.error();
        }
        if (now >= flow->record.expires_at) {
            return error::expired;
        }
        return std::move(flow->record);
    }

    result<flow_record> update_flow(const flow_record& next) override {
        const auto mask = method_mask(next.methods_used);
        if (next.id.empty() || !valid_state(static_cast<std::int64_t>(next.state)) || !mask) {
            return error::invalid_argument;
        }
        // The new row keeps the stored user, kind and creation time, taken from a row whose MAC
        // was checked.
        auto current = read_flow(next.id);
        if (!current) {
            return current.error();
        }
        if (current->record.version != next.version) {
            return error::conflict;
        }
        const auto& stored = current->record;
        const flow_columns columns{stored.id,
                                   stored.user_dn,
                                   static_cast<std::int64_t>(stored.kind),
                                   static_cast<std::int64_t>(next.state),
                                   next.gates_passed,
                                   *mask,
                                   ms(stored.created_at),
                                   ms(next.expires_at),
                                   static_cast<std::int64_t>(next.version) + 1};
        const auto mac = mac_->of(columns);
        const std::array params{p_text(next.id),
                                p_int(static_cast<std::int64_t>(next.version)),
                                p_int(columns.state),
                                p_int(columns.gates_passed),
                                p_int(columns.methods_mask),
                                p_int(columns.expires_at_ms),
                                p_blob(mac),
                                p_blob(current->mac)};
        auto r = run(true, stmt::update_flow, params);
        if (!r) {
            return r.error();
        }
        if (!r->rows.empty()) {
            auto updated = decode_flow(next.id, r->rows[0]);
            if (!updated) {
                return updated.error();
            }
            return std::move(updated->record);
        }
        // Someone else wrote it since our read (or deleted it): say which.
        auto again = read_flow(next.id);
        if (!again) {
            return again.error();
        }
        return error::conflict;
    }

    result<void> delete_flow(std::string_view id) override {
        const std::array params{p_text(id)};
        auto r = run(true, stmt::delete_flow, params);
        if (!r) {
            return r.error();
        }
        if (r->affected == 0) {
            return error::not_found;
        }
        return {};
    }

    // ---- codes ----------------------------------------------------------------------------------

    result<void> put_code(const code_record& code) override {
        if (code.flow_id.empty() || !valid_method(static_cast<std::int64_t>(code.method)) ||
            code.binding_hash.size() > max_hash_length || code.code_hash.empty() ||
            code.code_hash.size() > max_hash_length) {
            return error::invalid_argument;
        }
        const code_columns columns{code.flow_id,        static_cast<std::int64_t>(code.method),
                                   code.binding_hash,   code.code_hash,
                                   ms(code.expires_at), code.tries_left};
        const auto mac = mac_->of(columns);
        const std::array params{p_text(code.flow_id),
                                p_int(columns.method),
                                p_blob(code.binding_hash),
                                p_blob(code.code_hash),
                                p_int(columns.expires_at_ms),
                                p_int(columns.tries_left),
                                p_blob(mac)};
        auto r = run(true, stmt::put_code, params);
        if (!r) {
            return r.error();
        }
        return {};
    }

    result<code_record> get_code(std::string_view flow_id, config::method method,
                                 timestamp now) override {
        auto code = read_code(flow_id, method);
        if (!code) {
            return code.error();
        }
        if (now >= code->record.expires_at) {
            return error::expired;
        }
        return std::move(code->record);
    }

    result<code_record> take_try(std::string_view flow_id, config::method method,
                                 timestamp now) override {
        for (int round = 0; round < max_cas_rounds; ++round) {
            auto current = read_code(flow_id, method);
            if (!current) {
                return current.error();
            }
            const auto& stored = current->record;
            if (now >= stored.expires_at) {
                return error::expired;
            }
            if (stored.tries_left == 0) {
                return error::no_tries_left;
            }
            const code_columns columns{flow_id,
                                       static_cast<std::int64_t>(method),
                                       stored.binding_hash,
                                       stored.code_hash,
                                       ms(stored.expires_at),
                                       static_cast<std::int64_t>(stored.tries_left) - 1};
            const auto mac = mac_->of(columns);
            const std::array params{
                p_text(flow_id), p_int(columns.method),    p_int(columns.tries_left),
                p_blob(mac),     p_int(stored.tries_left), p_blob(current->mac),
                p_int(ms(now))};
            auto r = run(true, stmt::take_try, params);
            if (!r) {
                return r.error();
            }
            if (!r->rows.empty()) {
                auto spent = decode_code(flow_id, method, r->rows[0]);
                if (!spent) {
                    return spent.error();
                }
                return std::move(spent->record);
            }
            // Another verifier spent a try first, or the code was resent: read it again.
        }
        log_failure(Driver::name, "take_try", error::busy, "compare-and-set kept failing");
        return error::busy;
    }

    result<void> delete_code(std::string_view flow_id, config::method method) override {
        const std::array params{p_text(flow_id), p_int(static_cast<std::int64_t>(method))};
        auto r = run(true, stmt::delete_code, params);
        if (!r) {
            return r.error();
        }
        if (r->affected == 0) {
            return error::not_found;
        }
        return {};
    }

    // ---- enrollment
    // ------------------------------------------------------------------------------

    result<enrollment> get_enrollment(std::string_view user_dn) override {
        auto row = read_enrollment(user_dn);
        if (!row) {
            return row.error();
        }
        auto& cells = row->cells;
        const auto version = static_cast<std::uint64_t>(cells[6].i);
        const sealed_enrollment sealed{std::move(cells[0].s), std::move(cells[1].s),
                                       std::move(cells[2].s), std::move(cells[4].s),
                                       static_cast<std::uint32_t>(cells[5].i)};
        enrollment out;
        if (auto opened = open_enrollment(sealed, user_dn, version, *keys_, out); !opened) {
            log_failure(Driver::name, "get_enrollment", opened.error(),
                        "an enrollment row does not decrypt");
            return opened.error();
        }
        if (out.totp) {
            out.totp->last_used_step = cells[3].i;
        }
        out.key_id = static_cast<std::uint32_t>(cells[5].i);
        out.version = version;
        out.updated_at = from_ms(cells[7].i);
        return out;
    }

    result<std::uint64_t> put_enrollment(const enrollment& e, timestamp now) override {
        if (e.user_dn.empty() || e.user_dn.size() > max_dn_length) {
            return error::invalid_argument;
        }
        // Sealed for the version the row will have: 1 for a new row, one more than the version
        // read for a replacement (the compare-and-set below makes that the version it gets).
        const std::uint64_t next_version = e.version + 1;
        auto sealed = seal_enrollment(e, next_version, *keys_, *random_);
        if (!sealed) {
            return sealed.error();
        }
        const std::int64_t step = e.totp ? e.totp->last_used_step : -1;
        if (e.version == 0) {
            const enrollment_columns columns{
                e.user_dn, sealed->emails,    sealed->phones, sealed->totp,
                step,      sealed->questions, sealed->key_id, 1,
                ms(now)};
            const auto mac = mac_->of(columns);
            const std::array params{p_text(e.user_dn),
                                    p_blob(sealed->emails),
                                    p_blob(sealed->phones),
                                    p_blob(sealed->totp),
                                    p_int(step),
                                    p_blob(sealed->questions),
                                    p_int(sealed->key_id),
                                    p_int(ms(now)),
                                    p_blob(mac)};
            auto r = run(true, stmt::insert_enrollment, params);
            if (!r) {
                return r.error();
            }
            if (r->rows.empty()) {
                return error::conflict;
            }
            return static_cast<std::uint64_t>(r->rows[0][0].i);
        }
        for (int round = 0; round < max_cas_rounds; ++round) {
            auto current = read_enrollment(e.user_dn);
            if (!current) {
                return current.error();
            }
            if (static_cast<std::uint64_t>(current->cells[6].i) != e.version) {
                return error::conflict;
            }
            // The TOTP step only ever rises: a put based on a read from before a TOTP login must
            // not hand the used step back.
            const std::int64_t kept_step = std::max(current->cells[3].i, step);
            const enrollment_columns columns{
                e.user_dn,      sealed->emails,
                sealed->phones, sealed->totp,
                kept_step,      sealed->questions,
                sealed->key_id, static_cast<std::int64_t>(next_version),
                ms(now)};
            const auto mac = mac_->of(columns);
            const std::array params{p_text(e.user_dn),
                                    p_int(static_cast<std::int64_t>(e.version)),
                                    p_blob(sealed->emails),
                                    p_blob(sealed->phones),
                                    p_blob(sealed->totp),
                                    p_int(kept_step),
                                    p_blob(sealed->questions),
                                    p_int(sealed->key_id),
                                    p_int(ms(now)),
                                    p_blob(mac),
                                    p_blob(current->mac())};
            auto r = run(true, stmt::update_enrollment, params);
            if (!r) {
                return r.error();
            }
            if (!r->rows.empty()) {
                return static_cast<std::uint64_t>(r->rows[0][0].i);
            }
            // Changed since the read: another put (the next read says conflict), a TOTP login
            // (go round with its step), or a delete (not_found).
        }
        log_failure(Driver::name, "put_enrollment", error::busy, "compare-and-set kept failing");
        return error::busy;
    }

    result<void> delete_enrollment(std::string_view user_dn) override {
        const std::array params{p_text(user_dn)};
        auto r = run(true, stmt::delete_enrollment, params);
        if (!r) {
            return r.error();
        }
        if (r->affected == 0) {
            return error::not_found;
        }
        return {};
    }

    result<std::vector<std::string>> list_enrollments(std::string_view after,
                                                      std::size_t limit) override {
        if (limit == 0 || limit > max_list_limit) {
            return error::invalid_argument;
        }
        const std::array params{p_text(after), p_int(static_cast<std::int64_t>(limit))};
        auto r = run(false, stmt::list_enrollments, params);
        if (!r) {
            return r.error();
        }
        std::vector<std::string> out;
        out.reserve(r->rows.size());
        for (auto& row : r->rows) {
            out.push_back(std::move(row[0].s));
        }
        return out;
    }

    result<bool> use_totp_step(std::string_view user_dn, std::int64_t step) override {
        for (int round = 0; round < max_cas_rounds; ++round) {
            auto current = read_enrollment(user_dn);
            if (!current) {
                return result<bool>(boost::system::in_place_error, current.error());
            }
            // Compared with a step whose MAC was checked: a lowered step is corrupt, not a
            // licence to replay.
            if (current->cells[3].i >= step) {
                return false;
            }
            auto columns = current->columns(user_dn);
            columns.totp_last_step = step;
            const auto mac = mac_->of(columns);
            const std::array params{p_text(user_dn), p_int(step), p_blob(mac),
                                    p_blob(current->mac())};
            auto r = run(true, stmt::use_totp_step, params);
            if (!r) {
                return result<bool>(boost::system::in_place_error, r.error());
            }
            if (!r->rows.empty()) {
                return true;
            }
            // A concurrent login or put changed the row: the next read decides.
        }
        log_failure(Driver::name, "use_totp_step", error::busy, "compare-and-set kept failing");
        return error::busy;
    }

    // ---- counters -------------------------------------------------------------------------------

    result<counter_state> increment(std::string_view key, std::chrono::milliseconds window,
                                    timestamp now) override {
        if (key.empty() || key.size() > max_key_length || window.count() <= 0) {
            return error::invalid_argument;
        }
        const std::array params{p_text(key), p_int(ms(now)), p_int(window.count())};
        auto r = run(true, stmt::increment, params);
        if (!r) {
            return r.error();
        }
        if (r->rows.empty()) {
            return error::failed;
        }
        const auto& row = r->rows[0];
        counter_state out;
        out.count = static_cast<std::uint64_t>(row[0].i);
        out.window_end = from_ms(row[1].i);
        if (row[2].i > ms(now)) {
            out.blocked_until = from_ms(row[2].i);
        }
        return out;
    }

    result<void> block(std::string_view key, timestamp until) override {
        if (key.empty() || key.size() > max_key_length) {
            return error::invalid_argument;
        }
        const std::array params{p_text(key), p_int(ms(until))};
        auto r = run(true, stmt::block, params);
        if (!r) {
            return r.error();
        }
        return {};
    }

    result<std::optional<timestamp>> blocked_until(std::string_view key, timestamp now) override {
        const std::array params{p_text(key)};
        auto r = run(false, stmt::blocked_until, params);
        if (!r) {
            return r.error();
        }
        if (r->rows.empty() || r->rows[0][0].i <= ms(now)) {
            return std::optional<timestamp>();
        }
        return std::optional<timestamp>(from_ms(r->rows[0][0].i));
    }

    result<void> reset(std::string_view key) override {
        const std::array params{p_text(key)};
        auto r = run(true, stmt::reset, params);
        if (!r) {
            return r.error();
        }
        return {};
    }

    // ---- maintenance ----------------------------------------------------------------------------

    result<std::size_t> purge_expired(timestamp now, std::size_t max_rows) override {
        if (max_rows == 0) {
            return error::invalid_argument;
        }
        const std::array params{p_int(ms(now)), p_int(static_cast<std::int64_t>(max_rows))};
        std::size_t total = 0;
        // Flows first: their codes go with them (ON DELETE CASCADE), then the codes that expired
        // on their own.
        for (const auto s : {stmt::purge_flows, stmt::purge_codes, stmt::purge_counters}) {
            auto r = run(true, s, params);
            if (!r) {
                return r.error();
            }
            total += static_cast<std::size_t>(r->affected);
        }
        return total;
    }

private:
    struct stored_flow {
        flow_record record;
        std::string mac;
    };

    struct stored_code {
        code_record record;
        std::string mac;
    };

    /// An enrollment row as read: emails, phones, totp, totp_last_step, questions, key_id,
    /// version, updated_at, row_mac.
    struct stored_enrollment {
        sql_row cells;

        [[nodiscard]] enrollment_columns columns(std::string_view user_dn) const {
            return {user_dn,    cells[0].s, cells[1].s, cells[2].s, cells[3].i,
                    cells[4].s, cells[5].i, cells[6].i, cells[7].i};
        }
        [[nodiscard]] std::string_view mac() const { return cells[8].s; }
    };

    void release_memory() noexcept override {
        if constexpr (requires(Driver & d) { d.release_memory(); }) {
            driver_->release_memory();
        }
    }

    result<sql_result> run(bool write, stmt s, std::span<const sql_param> params) {
        auto lease = driver_->acquire(write);
        if (!lease) {
            return lease.error();
        }
        return driver_->exec(*lease, s, params);
    }

    result<stored_flow> read_flow(std::string_view id) {
        const std::array params{p_text(id)};
        auto r = run(false, stmt::get_flow, params);
        if (!r) {
            return r.error();
        }
        if (r->rows.empty()) {
            return error::not_found;
        }
        return decode_flow(id, r->rows[0]);
    }

    result<stored_code> read_code(std::string_view flow_id, config::method method) {
        const std::array params{p_text(flow_id), p_int(static_cast<std::int64_t>(method))};
        auto r = run(false, stmt::get_code, params);
        if (!r) {
            return r.error();
        }
        if (r->rows.empty()) {
            return error::not_found;
        }
        return decode_code(flow_id, method, r->rows[0]);
    }

    result<stored_enrollment> read_enrollment(std::string_view user_dn) {
        const std::array params{p_text(user_dn)};
        auto r = run(false, stmt::get_enrollment, params);
        if (!r) {
            return r.error();
        }
        if (r->rows.empty()) {
            return error::not_found;
        }
        stored_enrollment row{std::move(r->rows[0])};
        if (row.cells.size() != 9 || !mac_->matches(row.columns(user_dn), row.mac())) {
            return tampered("an enrollment row fails its MAC");
        }
        return row;
    }

    static error tampered(std::string_view what) {
        log_failure(Driver::name, "verify_row", error::corrupt, what);
        return error::corrupt;
    }

    result<stored_code> decode_code(std::string_view flow_id, config::method method,
                                    sql_row& row) const {
        const code_columns columns{
            flow_id, static_cast<std::int64_t>(method), row[0].s, row[1].s, row[2].i, row[3].i};
        if (!mac_->matches(columns, row[4].s)) {
            return tampered("a code row fails its MAC");
        }
        if (row[3].i < 0) {
            return error::corrupt;
        }
        stored_code out;
        out.record.flow_id = std::string(flow_id);
        out.record.method = method;
        out.record.binding_hash = std::move(row[0].s);
        out.record.code_hash = std::move(row[1].s);
        out.record.expires_at = from_ms(row[2].i);
        out.record.tries_left = static_cast<unsigned>(row[3].i);
        out.mac = std::move(row[4].s);
        return out;
    }

    result<stored_flow> decode_flow(std::string_view id, sql_row& row) const {
        const flow_columns columns{id,       row[0].s, row[1].i, row[2].i, row[3].i,
                                   row[4].i, row[5].i, row[6].i, row[7].i};
        if (!mac_->matches(columns, row[8].s)) {
            return tampered("a flow row fails its MAC");
        }
        auto methods = methods_from_mask(row[4].i);
        if (!valid_kind(row[1].i) || !valid_state(row[2].i) || !methods || row[3].i < 0) {
            log_failure(Driver::name, "decode_flow", error::corrupt,
                        "a flow row holds invalid values");
            return error::corrupt;
        }
        stored_flow out;
        out.record.id = std::string(id);
        out.record.user_dn = std::move(row[0].s);
        out.record.kind = static_cast<flow_kind>(row[1].i);
        out.record.state = static_cast<flow_state>(row[2].i);
        out.record.gates_passed = static_cast<unsigned>(row[3].i);
        out.record.methods_used = std::move(*methods);
        out.record.created_at = from_ms(row[5].i);
        out.record.expires_at = from_ms(row[6].i);
        out.record.version = static_cast<std::uint64_t>(row[7].i);
        out.mac = std::move(row[8].s);
        return out;
    }

    /// Migration 3: every enrollment was sealed without its version (crypto format 1) and has no
    /// MAC. Re-seals each with the version it has and gives it its MAC. A row that does not open
    /// (damaged, or under a key no longer configured) keeps no MAC and so reads as corrupt, as it
    /// did before; the count is logged.
    static result<void> reseal_legacy_enrollments(const migration_exec& exec,
                                                  const crypto::keyring& keys, const row_mac& mac,
                                                  common::random& random) {
        auto rows = exec("SELECT user_dn, emails, phones, totp, totp_last_step, questions, key_id, "
                         "version, updated_at FROM enrollments",
                         {});
        if (!rows) {
            return rows.error();
        }
        std::size_t unreadable = 0;
        for (auto& row : rows->rows) {
            const std::string& dn = row[0].s;
            const sealed_enrollment legacy{row[1].s, row[2].s, row[3].s, row[5].s,
                                           static_cast<std::uint32_t>(row[6].i)};
            enrollment e;
            if (!open_legacy_enrollment(legacy, dn, keys, e)) {
                ++unreadable;
                continue;
            }
            const auto version = row[7].i;
            auto sealed = seal_enrollment(e, static_cast<std::uint64_t>(version), keys, random);
            if (!sealed) {
                return sealed.error();
            }
            const enrollment_columns columns{
                dn,       sealed->emails,    sealed->phones, sealed->totp,
                row[4].i, sealed->questions, sealed->key_id, version,
                row[8].i};
            const auto row_mac = mac.of(columns);
            const std::array params{
                p_text(dn),           p_blob(sealed->emails),    p_blob(sealed->phones),
                p_blob(sealed->totp), p_blob(sealed->questions), p_int(sealed->key_id),
                p_blob(row_mac)};
            auto updated = exec("UPDATE enrollments SET emails = $2, phones = $3, totp = $4, "
                                "questions = $5, key_id = $6, row_mac = $7 WHERE user_dn = $1",
                                params);
            if (!updated) {
                return updated.error();
            }
        }
        if (unreadable > 0) {
            log_failure(Driver::name, "migrate", error::corrupt,
                        std::to_string(unreadable) +
                            " enrollment rows did not open and were left without a MAC");
        }
        return {};
    }

    std::unique_ptr<Driver> driver_;
    std::shared_ptr<const crypto::keyring> keys_;
    std::shared_ptr<const row_mac> mac_;
    std::shared_ptr<common::random> random_;
};

} // namespace sspr::store::detail
