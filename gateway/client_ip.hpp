// Who the client is: the socket's peer, unless the peer is one of server.trusted_proxies, in
// which case X-Forwarded-For is read from the right, past every trusted proxy, to the first
// address nobody vouches for. Only what trusted proxies appended is believed: anything to the
// left of an untrusted address may be forged by the client.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::gateway {

class trusted_proxies {
public:
    trusted_proxies() = default;
    /// Addresses ("10.0.0.1", "::1") and CIDRs ("10.0.0.0/8", "fd00::/8"). Throws
    /// std::invalid_argument naming an entry that does not parse (the loader checks them first).
    explicit trusted_proxies(std::span<const std::string> entries);

    /// True when `a` (IPv4-mapped IPv6 counts as IPv4) is inside one of the entries.
    [[nodiscard]] bool contains(const boost::asio::ip::address& a) const;

    /// The client's address for a request from `peer` carrying `forwarded_for` (every
    /// X-Forwarded-For field, joined with ","). A malformed entry ends the walk: the last
    /// trusted hop is answered, since nothing beyond it can be believed.
    [[nodiscard]] boost::asio::ip::address client_address(const boost::asio::ip::address& peer,
                                                          std::string_view forwarded_for) const;

    [[nodiscard]] bool empty() const noexcept { return v4_.empty() && v6_.empty(); }

private:
    std::vector<boost::asio::ip::network_v4> v4_;
    std::vector<boost::asio::ip::network_v6> v6_;
};

/// IPv4-mapped IPv6 ("::ffff:10.0.0.1") as IPv4; anything else unchanged.
[[nodiscard]] boost::asio::ip::address unmapped(const boost::asio::ip::address& a);

} // namespace sspr::gateway
