// Shared by the delivery integration tests: a sender built like production against the test
// servers that scripts/testenv starts, unique recipients per test (ctest runs tests in
// parallel against the same servers), and readers for what the servers captured.
#pragma once

#include "common/clock.hpp"
#include "common/random.hpp"
#include "delivery/dispatcher.hpp"
#include "tests/integration/testenv.hpp"
#include "tests/support/mime_reader.hpp"

#include <boost/json.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

namespace sspr::testing {

using namespace std::chrono_literals;

inline std::string unique_token() {
    static const auto random = common::make_system_random();
    std::array<std::byte, 8> bytes{};
    random->fill(bytes);
    std::string out;
    for (const auto b : bytes) {
        constexpr std::string_view hex = "0123456789abcdef";
        out += hex[static_cast<unsigned>(b) >> 4U];
        out += hex[static_cast<unsigned>(b) & 0xFU];
    }
    return out;
}

/// "<prefix>-<random>@example.org": the sink's failure switches look at the prefix.
inline std::string unique_address(std::string_view prefix) {
    return std::string(prefix) + "-" + unique_token() + "@example.org";
}

/// Retries quickly and at most three attempts so the retry tests stay fast (production retries
/// until the code expires); otherwise as in production.
inline delivery::dispatch_options test_dispatch() {
    delivery::dispatch_options o;
    o.threads = 2;
    o.max_queued = 8;
    o.retry.max_attempts = 3;
    o.retry.initial_backoff = 100ms;
    o.retry.max_backoff = 400ms;
    return o;
}

inline std::unique_ptr<delivery::sender> make_test_sender(const config::delivery_config& cfg) {
    return delivery::make_sender(cfg, test_dispatch(), common::make_system_clock(),
                                 common::make_system_random());
}

/// Queues `msg` and waits for its outcome (a generous deadline, so a hang fails the test).
inline delivery::result<void> send_and_wait(delivery::sender& sender, delivery::message msg) {
    auto promise = std::make_shared<std::promise<delivery::result<void>>>();
    auto future = promise->get_future();
    const auto queued = sender.async_send(
        std::move(msg), [promise](delivery::result<void> r) { promise->set_value(std::move(r)); });
    if (!queued) {
        return queued.error();
    }
    REQUIRE(future.wait_for(60s) == std::future_status::ready);
    return future.get();
}

inline delivery::error error_of(const delivery::result<void>& r) {
    REQUIRE_FALSE(r);
    INFO(r.error().diagnostic);
    REQUIRE(r.error().code.category() == delivery::delivery_category());
    return static_cast<delivery::error>(r.error().code.value());
}

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

/// Files in `dir` ending in `ext`, oldest first (names start with a nanosecond time).
inline std::vector<std::filesystem::path> files(const std::string& dir, std::string_view ext) {
    std::vector<std::filesystem::path> out;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() == ext) {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

/// The raw messages the SMTP sink stored for `rcpt` (its Delivered-To trace field).
inline std::vector<std::string> mail_for(std::string_view rcpt) {
    std::vector<std::string> out;
    for (const auto& p : files(testenv("SSPR_SMTP_MAILDIR"), ".eml")) {
        auto raw = read_file(p);
        if (raw.find("Delivered-To: " + std::string(rcpt) + "\r\n") != std::string::npos) {
            out.push_back(std::move(raw));
        }
    }
    return out;
}

/// The decoded body of the part with this content type (text/plain or text/html).
inline std::string part_text(const mime_entity& msg, std::string_view type) {
    const auto boundary = header_parameter(*msg.header("Content-Type"), "boundary");
    for (const auto& part : parse_parts(msg.body, boundary)) {
        if (part.header("Content-Type")->starts_with(type)) {
            return base64_decode(part.body);
        }
    }
    FAIL("no " << type << " part");
    return {};
}

/// The first run of exactly six digits in `text`: how a user finds the code.
inline std::string find_code(std::string_view text) {
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto start = text.find_first_of("0123456789", pos);
        if (start == std::string_view::npos) {
            break;
        }
        const auto end = std::min(text.find_first_not_of("0123456789", start), text.size());
        if (end - start == 6) {
            return std::string(text.substr(start, 6));
        }
        pos = end;
    }
    return {};
}

/// The requests the webhook receiver recorded with this Idempotency-Key, oldest first.
inline std::vector<boost::json::object> requests_with_key(std::string_view key) {
    std::vector<boost::json::object> out;
    for (const auto& p : files(testenv("SSPR_WEBHOOK_DIR"), ".json")) {
        auto value = boost::json::parse(read_file(p));
        const auto& headers = value.as_object().at("headers").as_object();
        const auto* k = headers.if_contains("Idempotency-Key");
        if (k != nullptr && k->as_string() == key) {
            out.push_back(std::move(value.as_object()));
        }
    }
    return out;
}

/// A loopback port nobody listens on (bound, then closed): connections are refused.
inline std::uint16_t closed_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    ::close(fd);
    return ntohs(addr.sin_port);
}

/// A loopback server that accepts TCP connections (in the kernel's backlog) and never says a
/// word: a hung mail server or provider.
class silent_listener {
public:
    silent_listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
        REQUIRE(::listen(fd_, 16) == 0);
        socklen_t len = sizeof addr;
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
        port_ = ntohs(addr.sin_port);
    }
    silent_listener(const silent_listener&) = delete;
    silent_listener& operator=(const silent_listener&) = delete;
    ~silent_listener() { ::close(fd_); }
    [[nodiscard]] std::uint16_t port() const { return port_; }

private:
    int fd_;
    std::uint16_t port_ = 0;
};

/// The SMTP sink as production would reach it: STARTTLS (with or without AUTH) or implicit TLS.
enum class listener { starttls, implicit };

inline config::delivery_config smtp_config(listener which, bool with_auth) {
    config::delivery_config cfg;
    auto& c = cfg.smtp;
    c.enabled = true;
    c.host = testenv("SSPR_SMTP_HOST");
    const auto& port =
        testenv(which == listener::starttls ? "SSPR_SMTP_PORT" : "SSPR_SMTP_TLS_PORT");
    c.port = static_cast<std::uint16_t>(std::stoul(port));
    c.tls = which == listener::starttls ? config::smtp_tls::starttls : config::smtp_tls::implicit;
    c.ca_file = testenv("SSPR_TEST_CA");
    c.from = "Example IT <noreply@example.org>";
    if (with_auth) {
        c.username = testenv("SSPR_SMTP_USER");
        c.password = common::secret(testenv_file("SSPR_SMTP_PASSWORD_FILE"));
    }
    c.timeout = 5s;
    return cfg;
}

/// The webhook receiver with its bearer token; `path_suffix` picks a failure switch.
inline config::delivery_config sms_config(const std::string& path_suffix = "") {
    config::delivery_config cfg;
    auto& c = cfg.sms;
    c.enabled = true;
    c.url = testenv("SSPR_WEBHOOK_URL") + path_suffix;
    c.ca_file = testenv("SSPR_TEST_CA");
    c.bearer_token = common::secret(testenv_file("SSPR_WEBHOOK_TOKEN_FILE"));
    c.timeout = 5s;
    return cfg;
}

} // namespace sspr::testing
