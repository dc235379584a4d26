// The client's address behind trusted proxies (gateway/client_ip.hpp): X-Forwarded-For is read
// only when the peer is trusted, from the right, to the first untrusted address.
#include "gateway/client_ip.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using sspr::gateway::trusted_proxies;
namespace ip = boost::asio::ip;

namespace {

std::string client(const trusted_proxies& t, const char* peer, const char* xff) {
    return t.client_address(ip::make_address(peer), xff).to_string();
}

} // namespace

TEST_CASE("client_ip: CIDRs and single addresses, IPv4 and IPv6", "[gateway]") {
    const std::vector<std::string> entries{"10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"};
    const trusted_proxies t(entries);
    CHECK(t.contains(ip::make_address("10.255.0.1")));
    CHECK_FALSE(t.contains(ip::make_address("11.0.0.1")));
    CHECK(t.contains(ip::make_address("192.168.1.7")));
    CHECK_FALSE(t.contains(ip::make_address("192.168.1.8")));
    CHECK(t.contains(ip::make_address("fd12::5")));
    CHECK_FALSE(t.contains(ip::make_address("fe80::1")));
    CHECK(t.contains(ip::make_address("::1")));
    // An IPv4 client on a dual-stack socket shows up IPv4-mapped.
    CHECK(t.contains(ip::make_address("::ffff:10.1.2.3")));
    // A CIDR written with host bits set still means its network.
    const std::vector<std::string> sloppy{"172.16.5.9/16"};
    CHECK(trusted_proxies(sloppy).contains(ip::make_address("172.16.200.1")));
    const std::vector<std::string> bad{"proxy.example.org"};
    CHECK_THROWS_AS(trusted_proxies(bad), std::invalid_argument);
}

TEST_CASE("client_ip: an untrusted peer is the client, whatever it forwards", "[gateway]") {
    const std::vector<std::string> entries{"10.0.0.0/8"};
    const trusted_proxies t(entries);
    CHECK(client(t, "203.0.113.9", "") == "203.0.113.9");
    CHECK(client(t, "203.0.113.9", "198.51.100.1") == "203.0.113.9");
    CHECK(client(trusted_proxies(), "10.0.0.1", "198.51.100.1") == "10.0.0.1");
}

TEST_CASE("client_ip: behind trusted proxies, the right-most untrusted hop", "[gateway]") {
    const std::vector<std::string> entries{"10.0.0.0/8", "2001:db8::/32"};
    const trusted_proxies t(entries);
    CHECK(client(t, "10.0.0.1", "198.51.100.1") == "198.51.100.1");
    // The client put a fake address in front; only what the proxies appended counts.
    CHECK(client(t, "10.0.0.1", "1.2.3.4, 198.51.100.1") == "198.51.100.1");
    // Two proxies: skip the inner one.
    CHECK(client(t, "10.0.0.1", "198.51.100.1, 10.0.0.2") == "198.51.100.1");
    CHECK(client(t, "10.0.0.1", " 198.51.100.1 ,10.0.0.2 , ") == "198.51.100.1");
    // Everything trusted: the left-most (the first proxy's own client).
    CHECK(client(t, "10.0.0.1", "10.0.0.3, 10.0.0.2") == "10.0.0.3");
    // No header: the proxy itself.
    CHECK(client(t, "10.0.0.1", "") == "10.0.0.1");
    // Ports and brackets some proxies add.
    CHECK(client(t, "10.0.0.1", "198.51.100.1:4711") == "198.51.100.1");
    CHECK(client(t, "10.0.0.1", "[2001:db9::7]:443") == "2001:db9::7");
    CHECK(client(t, "10.0.0.1", "2001:db9::8") == "2001:db9::8");
    CHECK(client(t, "2001:db8::1", "::ffff:198.51.100.2") == "198.51.100.2");
    // Garbage ends the walk at the last trusted hop: it is not turned into an address.
    CHECK(client(t, "10.0.0.1", "198.51.100.1, unknown") == "10.0.0.1");
    CHECK(client(t, "10.0.0.1", "198.51.100.1, 10.0.0.2, _hidden") == "10.0.0.1");
    CHECK(client(t, "10.0.0.1", "999.1.1.1") == "10.0.0.1");
}
