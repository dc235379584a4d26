// Which route a request target names: paths are matched segment by segment on Boost.URL's
// decoded segments of the origin-form target (the query is ignored), with `{name}` segments
// capturing one segment. A path no route has is "not found"; a path some route has, with a method
// none of its routes takes, is "method not allowed" with the methods it does take.
#pragma once

#include "gateway/http.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::gateway {

class router {
public:
    enum class outcome { invalid = 0, found, not_found, method_not_allowed, bad_target };

    struct match {
        outcome result = outcome::invalid;
        std::size_t route = 0;           // found: the id add() returned
        std::vector<std::string> params; // found: the {name} segments, decoded, in order
        std::vector<http::verb> allowed; // found, method_not_allowed: the path's methods
    };

    /// Adds `method` on `pattern` ("/api/v1/enroll/methods/{id}"); returns the route's id
    /// (0, 1, 2, ... in order). Throws std::invalid_argument for a pattern that is not absolute
    /// or a method/pattern pair added twice.
    std::size_t add(http::verb method, std::string_view pattern);

    /// Matches a request target. bad_target: not an origin-form target ("/path?query").
    [[nodiscard]] match find(http::verb method, std::string_view target) const;

private:
    struct entry {
        http::verb method = http::verb::unknown;
        std::vector<std::string> segments; // "{}" for a capture
        std::string pattern;
    };
    std::vector<entry> routes_;
};

} // namespace sspr::gateway
