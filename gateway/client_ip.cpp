#include "gateway/client_ip.hpp"

#include <optional>
#include <stdexcept>

namespace sspr::gateway {

namespace ip = boost::asio::ip;

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// One X-Forwarded-For entry: an address, "[v6]" or "[v6]:port", or "v4:port" (some proxies
/// add the port).
std::optional<ip::address> parse_hop(std::string_view entry) {
    boost::system::error_code ec;
    auto a = ip::make_address(entry, ec);
    if (!ec) {
        return unmapped(a);
    }
    if (!entry.empty() && entry.front() == '[') {
        const auto close = entry.find(']');
        if (close != std::string_view::npos) {
            a = ip::make_address(entry.substr(1, close - 1), ec);
            if (!ec && a.is_v6()) {
                return unmapped(a);
            }
        }
        return std::nullopt;
    }
    const auto colon = entry.find(':');
    if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
        a = ip::make_address_v4(entry.substr(0, colon), ec);
        if (!ec) {
            return a;
        }
    }
    return std::nullopt;
}

} // namespace

ip::address unmapped(const ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped()) {
        return ip::make_address_v4(ip::v4_mapped, a.to_v6());
    }
    return a;
}

trusted_proxies::trusted_proxies(std::span<const std::string> entries) {
    for (const auto& entry : entries) {
        boost::system::error_code ec;
        if (entry.find('/') == std::string::npos) {
            const auto a = unmapped(ip::make_address(entry, ec));
            if (ec) {
                throw std::invalid_argument("server.trusted_proxies: not an address: " + entry);
            }
            if (a.is_v4()) {
                v4_.emplace_back(a.to_v4(), 32);
            } else {
                v6_.emplace_back(a.to_v6(), 128);
            }
            continue;
        }
        const auto v4 = ip::make_network_v4(entry, ec);
        if (!ec) {
            v4_.push_back(v4.canonical());
            continue;
        }
        const auto v6 = ip::make_network_v6(entry, ec);
        if (!ec) {
            v6_.push_back(v6.canonical());
            continue;
        }
        throw std::invalid_argument("server.trusted_proxies: not a CIDR: " + entry);
    }
}

bool trusted_proxies::contains(const ip::address& address) const {
    const ip::address a = unmapped(address);
    if (a.is_v4()) {
        for (const auto& net : v4_) {
            if (ip::network_v4(a.to_v4(), net.prefix_length()).canonical() == net) {
                return true;
            }
        }
        return false;
    }
    for (const auto& net : v6_) {
        if (ip::network_v6(a.to_v6(), net.prefix_length()).canonical() == net) {
            return true;
        }
    }
    return false;
}

ip::address trusted_proxies::client_address(const ip::address& peer,
                                            std::string_view forwarded_for) const {
    ip::address current = unmapped(peer);
    // From the right: each hop was appended by `current`, which is trusted to have told the
    // truth about who connected to it.
    std::string_view rest = forwarded_for;
    while (contains(current) && !rest.empty()) {
        const auto comma = rest.rfind(',');
        const std::string_view entry =
            trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
        if (entry.empty()) {
            continue;
        }
        const auto hop = parse_hop(entry);
        if (!hop) {
            break;
        }
        current = *hop;
    }
    return current;
}

} // namespace sspr::gateway
