// The StateStore logic shared by the SQLite and PostgreSQL stores (internal to store/): records
// to parameters and rows back, compare-and-set outcomes, expiry, and the at-rest encryption of
// enrolments. A backend only supplies a Driver that runs the statements of sql.hpp:
//
//   class Driver {
//       class lease;                                   // one connection on loan, movable
//       result<lease> acquire(bool write);             // write: the statement changes data
//       result<sql_result> exec(lease&, stmt, std::span<const sql_param>);
//       static constexpr std::string_view name;        // "sqlite" / "postgres", for logs
//   };
//
// exec maps the database's failures to store::error (a foreign key to a missing row is
// not_found, a duplicate key conflict) and logs the database's own text.
#pragma once

#include "common/random.hpp"
#include "store/crypto.hpp"
#include "store/enrollment_codec.hpp"
#include "store/sql.hpp"
#include "store/state_store.hpp"

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
              static_cast<int>(flow_state::cancelled) == 6);
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
           v <= static_cast<std::int64_t>(flow_state::cancelled);
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
              std::shared_ptr<common::random> random)
        : driver_(std::move(driver)), keys_(std::move(keys)), random_(std::move(random)) {}

    // ---- flows ----------------------------------------------------------------------------------

    result<flow_record> create_flow(const flow_record& flow) override {
        const auto mask = method_mask(flow.methods_used);
        if (flow.id.empty() || flow.id.size() > max_key_length || flow.user_dn.empty() ||
            flow.user_dn.size() > max_dn_length ||
            !valid_kind(static_cast<std::int64_t>(flow.kind)) ||
            !valid_state(static_cast<std::int64_t>(flow.state)) || !mask) {
            return error::invalid_argument;
        }
        const std::array params{p_text(flow.id),
                                p_text(flow.user_dn),
                                p_int(static_cast<std::int64_t>(flow.kind)),
                                p_int(static_cast<std::int64_t>(flow.state)),
                                p_int(flow.gates_passed),
                                p_int(*mask),
                                p_int(ms(flow.created_at)),
                                p_int(ms(flow.expires_at))};
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
        const std::array params{p_text(id)};
        auto r = run(false, stmt::get_flow, params);
        if (!r) {
            return r.error();
        }
        if (r->rows.empty()) {
            return error::not_found;
        }
        auto flow = decode_flow(id, r->rows[0]);
        if (flow && now >= flow->expires_at) {
            return error::expired;
        }
        return flow;
    }

    result<flow_record> update_flow(const flow_record& next) override {
        const auto mask = method_mask(next.methods_used);
        if (next.id.empty() || !valid_state(static_cast<std::int64_t>(next.state)) || !mask) {
            return error::invalid_argument;
        }
        const std::array params{p_text(next.id),
                                p_int(static_cast<std::int64_t>(next.version)),
                                p_int(static_cast<std::int64_t>(next.state)),
                                p_int(next.gates_passed),
                                p_int(*mask),
                                p_int(ms(next.expires_at))};
        auto r = run(true, stmt::update_flow, params);
        if (!r) {
            return r.error();
        }
        if (!r->rows.empty()) {
            return decode_flow(next.id, r->rows[0]);
        }
        const std::array key{p_text(next.id)};
        auto exists = run(false, stmt::get_flow, key);
        if (!exists) {
            return exists.error();
        }
        return exists->rows.empty() ? error::not_found : error::conflict;
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
        const std::array params{
            p_text(code.flow_id),       p_int(static_cast<std::int64_t>(code.method)),
            p_blob(code.binding_hash),  p_blob(code.code_hash),
            p_int(ms(code.expires_at)), p_int(code.tries_left)};
        auto r = run(true, stmt::put_code, params);
        if (!r) {
            return r.error();
        }
        return {};
    }

    result<code_record> get_code(std::string_view flow_id, config::method method,
                                 timestamp now) override {
        auto code = read_code(flow_id, method);
        if (code && now >= code->expires_at) {
            return error::expired;
        }
        return code;
    }

    result<code_record> take_try(std::string_view flow_id, config::method method,
                                 timestamp now) override {
        const std::array params{p_text(flow_id), p_int(static_cast<std::int64_t>(method)),
                                p_int(ms(now))};
        // The guarded update fails for three reasons; a read tells which. If the code was
        // replaced between the two (a resend), the update is worth one more go.
        for (int attempt = 0; attempt < 3; ++attempt) {
            auto r = run(true, stmt::take_try, params);
            if (!r) {
                return r.error();
            }
            if (!r->rows.empty()) {
                return decode_code(flow_id, method, r->rows[0]);
            }
            auto code = read_code(flow_id, method);
            if (!code) {
                return code.error();
            }
            if (now >= code->expires_at) {
                return error::expired;
            }
            if (code->tries_left == 0) {
                return error::no_tries_left;
            }
        }
        return error::conflict;
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

    // ---- enrolment ------------------------------------------------------------------------------

    result<enrollment> get_enrollment(std::string_view user_dn) override {
        const std::array params{p_text(user_dn)};
        auto r = run(false, stmt::get_enrollment, params);
        if (!r) {
            return r.error();
        }
        if (r->rows.empty()) {
            return error::not_found;
        }
        auto& row = r->rows[0];
        sealed_enrollment sealed{std::move(row[0].s), std::move(row[1].s), std::move(row[2].s),
                                 std::move(row[4].s), static_cast<std::uint32_t>(row[5].i)};
        enrollment out;
        if (auto opened = open_enrollment(sealed, user_dn, *keys_, out); !opened) {
            log_failure(Driver::name, "get_enrollment", opened.error(),
                        "an enrolment row does not decrypt");
            return opened.error();
        }
        if (out.totp) {
            out.totp->last_used_step = row[3].i;
        }
        out.key_id = static_cast<std::uint32_t>(row[5].i);
        out.version = static_cast<std::uint64_t>(row[6].i);
        out.updated_at = from_ms(row[7].i);
        return out;
    }

    result<std::uint64_t> put_enrollment(const enrollment& e, timestamp now) override {
        if (e.user_dn.empty() || e.user_dn.size() > max_dn_length) {
            return error::invalid_argument;
        }
        auto sealed = seal_enrollment(e, *keys_, *random_);
        if (!sealed) {
            return sealed.error();
        }
        const std::int64_t step = e.totp ? e.totp->last_used_step : -1;
        if (e.version == 0) {
            const std::array params{p_text(e.user_dn),
                                    p_blob(sealed->emails),
                                    p_blob(sealed->phones),
                                    p_blob(sealed->totp),
                                    p_int(step),
                                    p_blob(sealed->questions),
                                    p_int(sealed->key_id),
                                    p_int(ms(now))};
            auto r = run(true, stmt::insert_enrollment, params);
            if (!r) {
                return r.error();
            }
            if (r->rows.empty()) {
                return error::conflict;
            }
            return static_cast<std::uint64_t>(r->rows[0][0].i);
        }
        const std::array params{p_text(e.user_dn),
                                p_int(static_cast<std::int64_t>(e.version)),
                                p_blob(sealed->emails),
                                p_blob(sealed->phones),
                                p_blob(sealed->totp),
                                p_int(step),
                                p_blob(sealed->questions),
                                p_int(sealed->key_id),
                                p_int(ms(now))};
        auto r = run(true, stmt::update_enrollment, params);
        if (!r) {
            return r.error();
        }
        if (!r->rows.empty()) {
            return static_cast<std::uint64_t>(r->rows[0][0].i);
        }
        const std::array key{p_text(e.user_dn)};
        auto exists = run(false, stmt::enrollment_version, key);
        if (!exists) {
            return exists.error();
        }
        return exists->rows.empty() ? error::not_found : error::conflict;
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
        const std::array params{p_text(user_dn), p_int(step)};
        auto r = run(true, stmt::use_totp_step, params);
        if (!r) {
            return result<bool>(boost::system::in_place_error, r.error());
        }
        if (!r->rows.empty()) {
            return true;
        }
        const std::array key{p_text(user_dn)};
        auto exists = run(false, stmt::enrollment_version, key);
        if (!exists) {
            return result<bool>(boost::system::in_place_error, exists.error());
        }
        if (exists->rows.empty()) {
            return error::not_found;
        }
        return false;
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
    result<sql_result> run(bool write, stmt s, std::span<const sql_param> params) {
        auto lease = driver_->acquire(write);
        if (!lease) {
            return lease.error();
        }
        return driver_->exec(*lease, s, params);
    }

    result<code_record> read_code(std::string_view flow_id, config::method method) {
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

    static result<code_record> decode_code(std::string_view flow_id, config::method method,
                                           sql_row& row) {
        if (row[3].i < 0) {
            return error::corrupt;
        }
        code_record out;
        out.flow_id = std::string(flow_id);
        out.method = method;
        out.binding_hash = std::move(row[0].s);
        out.code_hash = std::move(row[1].s);
        out.expires_at = from_ms(row[2].i);
        out.tries_left = static_cast<unsigned>(row[3].i);
        return out;
    }

    static result<flow_record> decode_flow(std::string_view id, sql_row& row) {
        auto methods = methods_from_mask(row[4].i);
        if (!valid_kind(row[1].i) || !valid_state(row[2].i) || !methods || row[3].i < 0) {
            log_failure(Driver::name, "decode_flow", error::corrupt,
                        "a flow row holds invalid values");
            return error::corrupt;
        }
        flow_record out;
        out.id = std::string(id);
        out.user_dn = std::move(row[0].s);
        out.kind = static_cast<flow_kind>(row[1].i);
        out.state = static_cast<flow_state>(row[2].i);
        out.gates_passed = static_cast<unsigned>(row[3].i);
        out.methods_used = std::move(*methods);
        out.created_at = from_ms(row[5].i);
        out.expires_at = from_ms(row[6].i);
        out.version = static_cast<std::uint64_t>(row[7].i);
        return out;
    }

    std::unique_ptr<Driver> driver_;
    std::shared_ptr<const crypto::keyring> keys_;
    std::shared_ptr<common::random> random_;
};

} // namespace sspr::store::detail
