// An in-memory StateStore for unit tests of the layers above store/ (flows, throttles). It passes
// the same conformance suite as the SQLite and PostgreSQL stores
// (tests/integration/store/conformance_test.cpp), so what a test learns from it holds for the
// real ones. It does not encrypt (key_id stays 0).
//
// Switches: fail_with(e) makes every call fail with e (an outage, a full disk); calls() counts the
// calls made, so a test can prove that something was decided without the store.
#pragma once

#include "store/state_store.hpp"

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

namespace sspr::fakes {

class fake_state_store final : public store::state_store {
public:
    /// Everything the fake holds; shared by fakes made from the same tables, like two connections
    /// to one database (a "reopen").
    struct tables {
        std::mutex mutex;
        std::map<std::string, store::flow_record, std::less<>> flows;
        std::map<std::pair<std::string, config::method>, store::code_record> codes;
        std::map<std::string, store::enrollment, std::less<>> enrollments;
        /// The TOTP last-used step per user: a column of its own in the real stores, apart from
        /// the sealed secret, and only ever raised.
        std::map<std::string, std::int64_t, std::less<>> totp_steps;
        struct counter {
            std::uint64_t count = 0;
            store::timestamp window_end{};
            store::timestamp blocked_until{};
        };
        std::map<std::string, counter, std::less<>> counters;
        std::optional<store::error> fail;
    };

    explicit fake_state_store(std::shared_ptr<tables> t = std::make_shared<tables>())
        : t_(std::move(t)) {}

    [[nodiscard]] const std::shared_ptr<tables>& shared_tables() const noexcept { return t_; }

    /// Every call fails with this error until cleared.
    void fail_with(std::optional<store::error> e) {
        const std::lock_guard lock(t_->mutex);
        t_->fail = e;
    }
    [[nodiscard]] std::uint64_t calls() const noexcept { return calls_.load(); }

    // ---- flows ----------------------------------------------------------------------------------

    store::result<store::flow_record> create_flow(const store::flow_record& flow) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        auto methods = normalise(flow.methods_used);
        if (flow.id.empty() || flow.user_dn.empty() || !valid_kind(flow.kind) ||
            !valid_state(flow.state) || !methods) {
            return store::error::invalid_argument;
        }
        if (t_->flows.contains(flow.id)) {
            return store::error::conflict;
        }
        auto stored = flow;
        stored.methods_used = std::move(*methods);
        stored.version = 1;
        t_->flows[flow.id] = stored;
        return stored;
    }

    store::result<store::flow_record> get_flow(std::string_view id, store::timestamp now) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        const auto it = t_->flows.find(id);
        if (it == t_->flows.end()) {
            return store::error::not_found;
        }
        if (now >= it->second.expires_at) {
            return store::error::expired;
        }
        return it->second;
    }

    store::result<store::flow_record> update_flow(const store::flow_record& next) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        auto methods = normalise(next.methods_used);
        if (next.id.empty() || !valid_state(next.state) || !methods) {
            return store::error::invalid_argument;
        }
        const auto it = t_->flows.find(next.id);
        if (it == t_->flows.end()) {
            return store::error::not_found;
        }
        if (it->second.version != next.version) {
            return store::error::conflict;
        }
        auto& f = it->second;
        f.state = next.state;
        f.gates_passed = next.gates_passed;
        f.methods_used = std::move(*methods);
        f.expires_at = next.expires_at;
        ++f.version;
        return f;
    }

    store::result<void> delete_flow(std::string_view id) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        const auto it = t_->flows.find(id);
        if (it == t_->flows.end()) {
            return store::error::not_found;
        }
        std::erase_if(t_->codes, [&](const auto& kv) { return kv.first.first == id; });
        t_->flows.erase(it);
        return {};
    }

    // ---- codes ----------------------------------------------------------------------------------

    store::result<void> put_code(const store::code_record& code) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        if (code.flow_id.empty() || !valid_method(code.method) || code.code_hash.empty()) {
            return store::error::invalid_argument;
        }
        if (!t_->flows.contains(code.flow_id)) {
            return store::error::not_found;
        }
        t_->codes[{code.flow_id, code.method}] = code;
        return {};
    }

    store::result<store::code_record> get_code(std::string_view flow_id, config::method method,
                                               store::timestamp now) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        const auto it = t_->codes.find({std::string(flow_id), method});
        if (it == t_->codes.end()) {
            return store::error::not_found;
        }
        if (now >= it->second.expires_at) {
            return store::error::expired;
        }
        return it->second;
    }

    store::result<store::code_record> take_try(std::string_view flow_id, config::method method,
                                               store::timestamp now) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        const auto it = t_->codes.find({std::string(flow_id), method});
        if (it == t_->codes.end()) {
            return store::error::not_found;
        }
        if (now >= it->second.expires_at) {
            return store::error::expired;
        }
        if (it->second.tries_left == 0) {
            return store::error::no_tries_left;
        }
        --it->second.tries_left;
        return it->second;
    }

    store::result<void> delete_code(std::string_view flow_id, config::method method) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        if (t_->codes.erase({std::string(flow_id), method}) == 0) {
            return store::error::not_found;
        }
        return {};
    }

    // ---- enrollment
    // ------------------------------------------------------------------------------

    store::result<store::enrollment> get_enrollment(std::string_view user_dn) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        const auto it = t_->enrollments.find(user_dn);
        if (it == t_->enrollments.end()) {
            return store::error::not_found;
        }
        auto out = it->second;
        if (out.totp) {
            out.totp->last_used_step = t_->totp_steps[out.user_dn];
        }
        return out;
    }

    store::result<std::uint64_t> put_enrollment(const store::enrollment& e,
                                                store::timestamp now) override {
        auto lock = enter();
        if (auto f = failing()) {
            return *f;
        }
        if (e.user_dn.empty()) {
            return store::error::invalid_argument;
        }
        const auto it = t_->enrollments.find(e.user_dn);
        if (e.version == 0 && it != t_->enrollments.end()) {
            return store::error::conflict;
        }
        if (e.version != 0 && it == t_->enrollments.end()) {
            return store::error::not_found;
        }
        if (e.version != 0 && it->second.version != e.version) {
            return store::error::conflict;
        }
        const std::int64_t given = e.totp ? e.totp->last_used_step : -1;
        auto& step = t_->totp_steps[e.user_dn];
        step = it == t_->enrollments.end() ? given : std::max(step, given);
        auto stored = e;
        stored.version = e.version + 1;
        stored.updated_at = now;
        stored.key_id = 0;
        t_->enrollments[e.user_dn] = std::move(stored);
        return e.version + 1;
    }

    store::result<void> delete_enrollment(std::string_view user_dn) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        const auto it = t_->enrollments.find(user_dn);
        if (it == t_->enrollments.end()) {
            return store::error::not_found;
        }
        t_->enrollments.erase(it);
        t_->totp_steps.erase(std::string(user_dn));
        return {};
    }

    store::result<std::vector<std::string>> list_enrollments(std::string_view after,
                                                             std::size_t limit) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        if (limit == 0 || limit > 10000) {
            return store::error::invalid_argument;
        }
        std::vector<std::string> out;
        for (auto it = t_->enrollments.upper_bound(after);
             it != t_->enrollments.end() && out.size() < limit; ++it) {
            out.push_back(it->first);
        }
        return out;
    }

    store::result<bool> use_totp_step(std::string_view user_dn, std::int64_t step) override {
        auto lock = enter();
        if (auto e = failing()) {
            return store::result<bool>(boost::system::in_place_error, *e);
        }
        const auto it = t_->enrollments.find(user_dn);
        if (it == t_->enrollments.end()) {
            return store::result<bool>(boost::system::in_place_error, store::error::not_found);
        }
        auto& last = t_->totp_steps[std::string(user_dn)];
        if (step <= last) {
            return false;
        }
        last = step;
        return true;
    }

    // ---- counters -------------------------------------------------------------------------------

    store::result<store::counter_state> increment(std::string_view key,
                                                  std::chrono::milliseconds window,
                                                  store::timestamp now) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        if (key.empty() || window.count() <= 0) {
            return store::error::invalid_argument;
        }
        auto& c = t_->counters[std::string(key)];
        if (c.window_end <= now) {
            c.count = 1;
            c.window_end = now + window;
        } else {
            ++c.count;
        }
        store::counter_state out{c.count, c.window_end, std::nullopt};
        if (c.blocked_until > now) {
            out.blocked_until = c.blocked_until;
        }
        return out;
    }

    store::result<void> block(std::string_view key, store::timestamp until) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        if (key.empty()) {
            return store::error::invalid_argument;
        }
        auto& c = t_->counters[std::string(key)];
        c.blocked_until = std::max(c.blocked_until, until);
        return {};
    }

    store::result<std::optional<store::timestamp>> blocked_until(std::string_view key,
                                                                 store::timestamp now) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        const auto it = t_->counters.find(key);
        if (it == t_->counters.end() || it->second.blocked_until <= now) {
            return std::optional<store::timestamp>();
        }
        return std::optional<store::timestamp>(it->second.blocked_until);
    }

    store::result<void> reset(std::string_view key) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        if (const auto it = t_->counters.find(key); it != t_->counters.end()) {
            t_->counters.erase(it);
        }
        return {};
    }

    // ---- maintenance ----------------------------------------------------------------------------

    store::result<std::size_t> purge_expired(store::timestamp now, std::size_t max_rows) override {
        auto lock = enter();
        if (auto e = failing()) {
            return *e;
        }
        if (max_rows == 0) {
            return store::error::invalid_argument;
        }
        std::size_t total = 0;
        std::size_t n = 0;
        for (auto it = t_->flows.begin(); it != t_->flows.end() && n < max_rows;) {
            if (it->second.expires_at <= now) {
                const auto id = it->first;
                std::erase_if(t_->codes, [&](const auto& kv) { return kv.first.first == id; });
                it = t_->flows.erase(it);
                ++n;
            } else {
                ++it;
            }
        }
        total += n;
        n = 0;
        for (auto it = t_->codes.begin(); it != t_->codes.end() && n < max_rows;) {
            if (it->second.expires_at <= now) {
                it = t_->codes.erase(it);
                ++n;
            } else {
                ++it;
            }
        }
        total += n;
        n = 0;
        for (auto it = t_->counters.begin(); it != t_->counters.end() && n < max_rows;) {
            if (it->second.window_end <= now && it->second.blocked_until <= now) {
                it = t_->counters.erase(it);
                ++n;
            } else {
                ++it;
            }
        }
        return total + n;
    }

private:
    std::unique_lock<std::mutex> enter() {
        ++calls_;
        return std::unique_lock(t_->mutex);
    }
    // Caller holds the lock.
    [[nodiscard]] std::optional<store::error> failing() const { return t_->fail; }

    static bool valid_kind(store::flow_kind k) {
        return k >= store::flow_kind::reset && k <= store::flow_kind::enroll;
    }
    static bool valid_state(store::flow_state s) {
        return s >= store::flow_state::started && s <= store::flow_state::completing;
    }
    static bool valid_method(config::method m) {
        return m >= config::method::email && m <= config::method::questions;
    }
    // The real stores keep a set: enum order, no duplicates.
    static std::optional<std::vector<config::method>>
    normalise(const std::vector<config::method>& methods) {
        std::vector<config::method> out;
        for (const auto m : methods) {
            if (!valid_method(m)) {
                return std::nullopt;
            }
            out.push_back(m);
        }
        std::sort(out.begin(), out.end());
        out.erase(std::unique(out.begin(), out.end()), out.end());
        return out;
    }

    std::shared_ptr<tables> t_;
    std::atomic<std::uint64_t> calls_{0};
};

} // namespace sspr::fakes
