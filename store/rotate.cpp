#include "store/rotate.hpp"

namespace sspr::store {
namespace {

enum class outcome { kept, rewritten, gone, unreadable };

result<outcome> rotate_one(state_store& store, const std::string& dn, std::uint32_t active) {
    // A concurrent change (the user editing their enrollment) loses us the compare-and-set; a few
    // fresh reads settle it, beyond that something keeps rewriting the row and we stop.
    for (int attempt = 0; attempt < 5; ++attempt) {
        auto e = store.get_enrollment(dn);
        if (!e) {
            if (e.error() == error::not_found) {
                return outcome::gone;
            }
            if (e.error() == error::corrupt || e.error() == error::unknown_key) {
                return outcome::unreadable;
            }
            return e.error();
        }
        if (e->key_id == active) {
            return outcome::kept;
        }
        auto put = store.put_enrollment(*e, e->updated_at);
        if (put) {
            return outcome::rewritten;
        }
        if (put.error() == error::not_found) {
            return outcome::gone;
        }
        if (put.error() != error::conflict) {
            return put.error();
        }
    }
    return error::conflict;
}

} // namespace

result<rotation_report> rotate(state_store& store, const crypto::keyring& keys, std::size_t batch) {
    rotation_report report;
    const auto active = keys.active().id();
    std::string after;
    // Each batch moves `after` forward, so the walk ends even while rows are being added.
    for (;;) {
        auto users = store.list_enrollments(after, batch);
        if (!users) {
            return users.error();
        }
        for (const auto& dn : *users) {
            auto done = rotate_one(store, dn, active);
            if (!done) {
                return done.error();
            }
            switch (*done) {
            case outcome::gone:
                continue;
            case outcome::kept:
                break;
            case outcome::rewritten:
                ++report.rewritten;
                break;
            case outcome::unreadable:
                report.unreadable.push_back(dn);
                break;
            }
            ++report.examined;
        }
        if (users->size() < batch) {
            return report;
        }
        after = users->back();
    }
}

} // namespace sspr::store
