#include "store/error.hpp"

#include <string>

namespace sspr::store {
namespace {

// Boost's error_category has a protected non-virtual destructor by design; categories are never
// deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "sspr.store"; }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::busy:
            return "state store busy (locked by another writer)";
        case error::unavailable:
            return "state store unavailable";
        case error::disk_full:
            return "state store disk full";
        case error::not_found:
            return "no such record";
        case error::expired:
            return "record expired";
        case error::conflict:
            return "record changed concurrently or already exists";
        case error::no_tries_left:
            return "no tries left";
        case error::corrupt:
            return "stored data failed authentication or does not decode";
        case error::unknown_key:
            return "data encrypted under a key that is not in the keyring";
        case error::invalid_argument:
            return "value cannot be stored";
        case error::schema_too_new:
            return "database schema is newer than this build";
        case error::overloaded:
            return "too many state store operations waiting";
        case error::insecure_file:
            return "state store file is accessible to group or others";
        case error::failed:
            return "state store operation failed";
        }
        return "unknown sspr.store error";
    }
};
#pragma GCC diagnostic pop

} // namespace

const boost::system::error_category& store_category() noexcept {
    static const category_impl instance;
    return instance;
}

} // namespace sspr::store
