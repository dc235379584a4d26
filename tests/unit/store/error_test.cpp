// The store's error category: a name, and a message of its own for every value.
#include "store/error.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>

TEST_CASE("store errors: every value has its own message in the sspr.store category", "[store]") {
    using sspr::store::error;
    std::set<std::string> messages;
    for (int v = static_cast<int>(error::busy); v <= static_cast<int>(error::failed); ++v) {
        const auto ec = make_error_code(static_cast<error>(v));
        INFO(v);
        CHECK(std::string(ec.category().name()) == "sspr.store");
        CHECK(ec.message() != "unknown sspr.store error");
        messages.insert(ec.message());
    }
    CHECK(messages.size() == static_cast<std::size_t>(error::failed));
    const boost::system::error_code ec = error::disk_full;
    CHECK(ec == error::disk_full);
    CHECK(ec.message() == "state store disk full");
}
