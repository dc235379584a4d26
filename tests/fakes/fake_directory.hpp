// An in-memory Directory for unit tests of the layers above ldap/: users with passwords, groups,
// lockout, a minimum length and a history of 3, and switches to make it fail on purpose.
#pragma once

#include "ldap/directory.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace sspr::fakes {

class fake_directory final : public ldap::directory {
public:
    struct user {
        ldap::user_entry entry;
        std::string password;
        std::vector<std::string> groups; // group DNs, already flattened
        std::deque<std::string> history;
        unsigned failures = 0;
    };

    void add_user(ldap::user_entry entry, std::string password,
                  std::vector<std::string> groups = {}) {
        const std::lock_guard lock(mutex_);
        std::string dn = entry.dn;
        users_[dn] = user{std::move(entry), std::move(password), std::move(groups), {}, 0};
    }
    /// Every call fails with this error until cleared.
    void fail_with(std::optional<ldap::error> e) {
        const std::lock_guard lock(mutex_);
        fail_ = e;
    }
    /// Writes are acknowledged but not applied (a directory that lies), to test verify-after-write.
    void drop_writes(bool drop) {
        const std::lock_guard lock(mutex_);
        drop_writes_ = drop;
    }
    /// reset_password answers `e` until cleared; with `applied` it sets the password first (an
    /// answer lost after the write: a timeout, a broken connection).
    void fail_resets_with(std::optional<ldap::error> e, bool applied = false) {
        const std::lock_guard lock(mutex_);
        reset_error_ = e;
        reset_applied_ = applied;
    }
    /// verify_password calls so far (binds as the user).
    [[nodiscard]] unsigned verifications() const {
        const std::lock_guard lock(mutex_);
        return verifications_;
    }
    [[nodiscard]] std::string password_of(const std::string& dn) const {
        const std::lock_guard lock(mutex_);
        return users_.at(dn).password;
    }

    std::size_t min_length = 8;
    unsigned lockout_threshold = 3;

    [[nodiscard]] ldap::dialect dialect() const override { return ldap::dialect::openldap; }

    ldap::result<std::optional<ldap::user_entry>> find_user(std::string_view login) override {
        const std::lock_guard lock(mutex_);
        if (fail_) {
            return ldap::failure(*fail_);
        }
        for (const auto& [dn, u] : users_) {
            if (u.entry.login == login) {
                auto e = u.entry;
                return std::optional<ldap::user_entry>(std::move(e));
            }
        }
        return std::optional<ldap::user_entry>{};
    }

    ldap::result<std::optional<ldap::user_entry>> read_user(std::string_view dn) override {
        const std::lock_guard lock(mutex_);
        if (fail_) {
            return ldap::failure(*fail_);
        }
        const auto it = users_.find(std::string(dn));
        if (it == users_.end()) {
            return std::optional<ldap::user_entry>{};
        }
        return std::optional<ldap::user_entry>(it->second.entry);
    }

    /// The fake knows filters only as the strings set_matches() recorded for an entry.
    ldap::result<bool> matches(std::string_view dn, std::string_view filter) override {
        const std::lock_guard lock(mutex_);
        if (fail_) {
            return ldap::failure(*fail_);
        }
        return matching_.contains({std::string(dn), std::string(filter)});
    }
    void set_matches(const std::string& dn, const std::string& filter) {
        const std::lock_guard lock(mutex_);
        matching_.insert({dn, filter});
    }

    ldap::result<ldap::account_state> state_of(std::string_view dn) override {
        const std::lock_guard lock(mutex_);
        auto found = lookup(dn);
        if (!found) {
            return found.error();
        }
        return (*found)->entry.state;
    }

    ldap::result<std::vector<ldap::group_entry>> groups_of(std::string_view dn) override {
        const std::lock_guard lock(mutex_);
        auto found = lookup(dn);
        if (!found) {
            return found.error();
        }
        std::vector<ldap::group_entry> out;
        for (const auto& g : (*found)->groups) {
            out.push_back({g, g.substr(3, g.find(',') - 3)});
        }
        return out;
    }

    ldap::result<void> verify_password(std::string_view dn, std::string_view password) override {
        const std::lock_guard lock(mutex_);
        ++verifications_;
        if (password.empty()) {
            return ldap::failure(ldap::error::invalid_credentials); // never sent to a directory
        }
        return bind(dn, password, ldap::error::invalid_credentials);
    }

    ldap::result<void> reset_password(std::string_view dn, std::string_view new_password,
                                      const ldap::reset_options& options) override {
        const std::lock_guard lock(mutex_);
        auto found = lookup(dn);
        if (!found) {
            return found.error();
        }
        user& u = **found;
        if (u.entry.state.disabled) {
            return ldap::failure(ldap::error::account_disabled);
        }
        if (new_password.size() < min_length) {
            return ldap::failure(ldap::error::password_too_short);
        }
        if (reset_error_) {
            if (reset_applied_) {
                set_password(u, new_password);
            }
            return ldap::failure(*reset_error_);
        }
        if (!drop_writes_) {
            set_password(u, new_password);
            u.entry.state.must_change = options.must_change;
            if (options.unlock) {
                u.entry.state.locked = false;
                u.failures = 0;
            }
        }
        return u.password == new_password ? ldap::result<void>{}
                                          : ldap::failure(ldap::error::not_verified);
    }

    ldap::result<void> change_password(std::string_view dn, std::string_view old_password,
                                       std::string_view new_password) override {
        const std::lock_guard lock(mutex_);
        if (old_password.empty()) {
            return ldap::failure(ldap::error::wrong_current_password); // refused before any bind
        }
        // A pending must-change still lets the user change with the right current password.
        if (auto bound = bind(dn, old_password, ldap::error::wrong_current_password);
            !bound && !bound.error().is(ldap::error::must_change_password)) {
            return bound;
        }
        user& u = **lookup(dn);
        if (new_password.size() < min_length) {
            return ldap::failure(ldap::error::password_too_short);
        }
        if (new_password == u.password ||
            std::find(u.history.begin(), u.history.end(), new_password) != u.history.end()) {
            return ldap::failure(ldap::error::password_in_history);
        }
        if (!drop_writes_) {
            set_password(u, new_password);
            u.entry.state.must_change = false;
        }
        return u.password == new_password ? ldap::result<void>{}
                                          : ldap::failure(ldap::error::not_verified);
    }

    ldap::result<void> unlock(std::string_view dn) override {
        const std::lock_guard lock(mutex_);
        auto found = lookup(dn);
        if (!found) {
            return found.error();
        }
        (*found)->entry.state.locked = false;
        (*found)->failures = 0;
        return {};
    }

private:
    std::set<std::pair<std::string, std::string>> matching_; // guarded by mutex_

    ldap::result<user*> lookup(std::string_view dn) {
        if (fail_) {
            return ldap::failure(*fail_);
        }
        const auto it = users_.find(std::string(dn));
        if (it == users_.end()) {
            return ldap::failure(ldap::error::no_such_object);
        }
        return &it->second;
    }

    ldap::result<void> bind(std::string_view dn, std::string_view password, ldap::error wrong) {
        auto found = lookup(dn);
        if (!found) {
            return found.error();
        }
        user& u = **found;
        if (u.entry.state.locked) {
            return ldap::failure(ldap::error::account_locked);
        }
        if (u.entry.state.disabled) {
            return ldap::failure(ldap::error::account_disabled);
        }
        if (password.empty() || u.password != password) {
            if (++u.failures >= lockout_threshold) {
                u.entry.state.locked = true;
            }
            return ldap::failure(wrong);
        }
        u.failures = 0;
        if (u.entry.state.must_change) {
            return ldap::failure(ldap::error::must_change_password);
        }
        return {};
    }

    static void set_password(user& u, std::string_view password) {
        u.history.push_front(u.password);
        if (u.history.size() > 3) {
            u.history.pop_back();
        }
        u.password = std::string(password);
    }

    mutable std::mutex mutex_;
    std::map<std::string, user> users_;
    std::optional<ldap::error> fail_;
    bool drop_writes_ = false;
    std::optional<ldap::error> reset_error_;
    bool reset_applied_ = false;
    unsigned verifications_ = 0;
};

} // namespace sspr::fakes
