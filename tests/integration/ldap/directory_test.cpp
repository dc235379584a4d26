// The directory layer against the real servers: OpenLDAP slapd (ppolicy, TLS) and Samba AD DC.
// Every case runs on both; each state-changing case has a test user of its own (t01…t30).
#include "ldap/ldap_directory.hpp"
#include "tests/integration/testenv.hpp"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

using namespace sspr;
using sspr::testing::server;
using sspr::testing::server_under_test;
using sspr::testing::testenv;

namespace {

struct fixture {
    server_under_test s;
    std::unique_ptr<ldap::directory> dir;

    explicit fixture(server_under_test srv, ldap::config cfg)
        : s(std::move(srv)),
          dir(ldap::make_directory(std::move(cfg), common::make_system_clock())) {}
    explicit fixture(const server_under_test& srv) : fixture(srv, testing::config_for(srv)) {}

    bool ad() const { return s.kind == server::samba_ad; }

    ldap::user_entry user(std::string_view login) const {
        auto found = dir->find_user(login);
        INFO("find_user(" << login << "): " << (found ? "" : found.error().diagnostic));
        REQUIRE(found.has_value());
        REQUIRE(found->has_value());
        return **found;
    }
};

const std::string& start_password() {
    return testenv("SSPR_TEST_USER_PASSWORD");
}

server_under_test pick_server() {
    auto all = testing::servers();
    const auto index = GENERATE(0, 1);
    return all.at(static_cast<std::size_t>(index));
}

// Wrong binds until the directory locks the account (threshold 3 on both test servers).
void lock_out(ldap::directory& dir, const std::string& dn) {
    for (int i = 0; i < 3; ++i) {
        auto r = dir.verify_password(dn, "Wrong-Password-" + std::to_string(i));
        REQUIRE_FALSE(r.has_value());
    }
}

bool has_group(const std::vector<ldap::group_entry>& groups, std::string_view name) {
    return std::any_of(groups.begin(), groups.end(), [&](const auto& g) {
        return std::equal(g.name.begin(), g.name.end(), name.begin(), name.end(),
                          [](char a, char b) { return std::tolower(a) == std::tolower(b); });
    });
}

class unique_fd {
public:
    explicit unique_fd(int fd = -1) noexcept : fd_(fd) {}
    unique_fd(const unique_fd&) = delete;
    unique_fd& operator=(const unique_fd&) = delete;
    ~unique_fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    [[nodiscard]] int get() const noexcept { return fd_; }

private:
    int fd_;
};

// A TCP relay in front of a directory server, on the server's loopback address and a port of its
// own. Every chunk the server sends is passed on `delay` after it arrived, so an operation on a
// connection through the relay is in flight for a known while; cut() is a crash of "the server at
// that address": the listener and every relayed connection are shut down at once.
class slow_relay {
public:
    slow_relay(const std::string& uri, std::chrono::milliseconds delay) : delay_(delay) {
        const auto hostport = uri.substr(uri.find("://") + 3);
        const auto colon = hostport.rfind(':');
        host_ = hostport.substr(0, colon);
        target_.sin_family = AF_INET;
        target_.sin_port = htons(static_cast<std::uint16_t>(std::stoi(hostport.substr(colon + 1))));
        if (::inet_pton(AF_INET, host_.c_str(), &target_.sin_addr) != 1) {
            throw std::runtime_error("slow_relay: not an IPv4 address: " + host_);
        }
        sockaddr_in addr = target_;
        addr.sin_port = 0;
        if (::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(listener_.get(), 16) != 0) {
            throw std::runtime_error("slow_relay: cannot listen on " + host_);
        }
        socklen_t len = sizeof addr;
        ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    slow_relay(const slow_relay&) = delete;
    slow_relay& operator=(const slow_relay&) = delete;
    ~slow_relay() {
        cut();
        acceptor_.join(); // after this, nobody adds to threads_
        for (auto& t : threads_) {
            t.join();
        }
    }

    [[nodiscard]] std::string uri() const {
        return "ldaps://" + host_ + ":" + std::to_string(port_);
    }
    [[nodiscard]] int accepted() const { return accepted_.load(); }

    /// New connections are refused from now on; the relayed ones go on as before.
    void refuse_new() { ::shutdown(listener_.get(), SHUT_RDWR); }

    /// The server is gone, but its connections do not know yet: the listener is shut down (new
    /// connections are refused) and each relayed connection is cut as soon as the client sends
    /// on it, as when a crashed server's FIN has not arrived before the client writes.
    void doom() {
        doomed_ = true;
        ::shutdown(listener_.get(), SHUT_RDWR);
    }

    /// Shuts everything down; returns how many chunks from the server were still held back then
    /// (more than 0: a client was waiting for an answer).
    std::size_t cut() {
        if (cut_.exchange(true)) {
            return 0;
        }
        ::shutdown(listener_.get(), SHUT_RDWR); // wakes accept()
        const std::lock_guard lock(mutex_);
        std::size_t held = 0;
        for (auto& l : links_) {
            const std::lock_guard link_lock(l->mutex);
            held += l->held.size();
            l->held.clear();
            l->closed = true;
            ::shutdown(l->client.get(), SHUT_RDWR);
            ::shutdown(l->server.get(), SHUT_RDWR);
            l->wake.notify_all();
        }
        return held;
    }

private:
    struct link {
        unique_fd client;
        unique_fd server{::socket(AF_INET, SOCK_STREAM, 0)};
        std::mutex mutex;
        std::condition_variable wake;
        std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> held;
        bool closed = false; // guarded by mutex
        explicit link(int fd) : client(fd) {}
    };

    static bool send_all(int fd, const char* data, std::size_t size) {
        while (size > 0) {
            const auto n = ::send(fd, data, size, MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            data += n;
            size -= static_cast<std::size_t>(n);
        }
        return true;
    }

    void accept_loop() {
        while (!cut_) {
            const int fd = ::accept(listener_.get(), nullptr, nullptr);
            if (fd < 0) {
                return;
            }
            auto l = std::make_unique<link>(fd);
            if (::connect(l->server.get(), reinterpret_cast<const sockaddr*>(&target_),
                          sizeof target_) != 0) {
                continue;
            }
            ++accepted_;
            link* raw = l.get();
            const std::lock_guard lock(mutex_);
            if (cut_) {
                return;
            }
            links_.push_back(std::move(l));
            threads_.emplace_back([this, raw] { pump_up(*raw); });
            threads_.emplace_back([this, raw] { pump_down(*raw); });
            threads_.emplace_back([raw] { pass_down(*raw); });
        }
    }

    void pump_up(link& l) const {
        std::array<char, 16384> buf{};
        for (;;) {
            const auto n = ::recv(l.client.get(), buf.data(), buf.size(), 0);
            if (n > 0 && doomed_) {
                ::shutdown(l.client.get(), SHUT_RDWR);
                ::shutdown(l.server.get(), SHUT_RDWR);
                return;
            }
            if (n <= 0 || !send_all(l.server.get(), buf.data(), static_cast<std::size_t>(n))) {
                break;
            }
        }
        ::shutdown(l.server.get(), SHUT_WR);
    }

    void pump_down(link& l) const {
        std::array<char, 16384> buf{};
        for (;;) {
            const auto n = ::recv(l.server.get(), buf.data(), buf.size(), 0);
            const std::lock_guard lock(l.mutex);
            if (n <= 0 || l.closed) {
                l.closed = true;
                l.wake.notify_all();
                return;
            }
            l.held.emplace_back(std::chrono::steady_clock::now() + delay_,
                                std::string(buf.data(), static_cast<std::size_t>(n)));
            l.wake.notify_all();
        }
    }

    static void pass_down(link& l) {
        std::unique_lock lock(l.mutex);
        for (;;) {
            l.wake.wait(lock, [&] { return l.closed || !l.held.empty(); });
            if (l.held.empty()) {
                ::shutdown(l.client.get(), SHUT_WR);
                return;
            }
            if (l.wake.wait_until(lock, l.held.front().first, [&] { return l.held.empty(); })) {
                continue; // cut meanwhile
            }
            const std::string chunk = std::move(l.held.front().second);
            l.held.pop_front();
            lock.unlock();
            const bool sent = send_all(l.client.get(), chunk.data(), chunk.size());
            lock.lock();
            if (!sent) {
                l.closed = true;
            }
        }
    }

    const std::chrono::milliseconds delay_;
    std::string host_;
    sockaddr_in target_{};
    std::uint16_t port_ = 0;
    unique_fd listener_{::socket(AF_INET, SOCK_STREAM, 0)};
    std::atomic<bool> cut_{false};
    std::atomic<bool> doomed_{false};
    std::atomic<int> accepted_{0};
    std::mutex mutex_;
    std::vector<std::unique_ptr<link>> links_; // guarded by mutex_
    std::vector<std::thread> threads_;         // guarded by mutex_ until acceptor_ ended
    std::thread acceptor_;
};

} // namespace

TEST_CASE("directory: finds a user by login with mail, mobile and state", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto alice = f.user("alice");
    CHECK(f.dir->dialect() == (f.ad() ? ldap::dialect::active_directory : ldap::dialect::openldap));
    CHECK(alice.login == "alice");
    CHECK(alice.display_name == "Alice Example");
    CHECK(alice.mail == std::vector<std::string>{"alice@example.org"});
    CHECK(alice.mobile == std::vector<std::string>{"+82 10 1234 5678"});
    CHECK_FALSE(alice.state.locked);
    CHECK_FALSE(alice.state.disabled);
    CHECK_FALSE(alice.state.must_change);
    CHECK_FALSE(alice.admin_count);
    // The DN is the directory's, not one built from the login.
    CHECK(alice.dn.find(f.ad() ? "CN=Alice Example" : "uid=alice") != std::string::npos);
}

TEST_CASE("directory: read_user re-reads an entry by DN; matches evaluates a filter on it",
          "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto alice = f.user("alice");
    auto again = f.dir->read_user(alice.dn);
    REQUIRE(again.has_value());
    REQUIRE(again->has_value());
    CHECK((*again)->dn == alice.dn);
    CHECK((*again)->login == "alice");
    CHECK((*again)->display_name == alice.display_name);
    CHECK((*again)->mail == alice.mail);
    const auto locked = f.user("locked");
    auto locked_again = f.dir->read_user(locked.dn);
    REQUIRE(locked_again.has_value());
    REQUIRE(locked_again->has_value());
    CHECK((*locked_again)->state.locked);
    // A DN that names no entry is nobody, not an error.
    const std::string missing = "CN=nobody-at-all," + alice.dn.substr(alice.dn.find(',') + 1);
    auto none = f.dir->read_user(missing);
    REQUIRE(none.has_value());
    CHECK_FALSE(none->has_value());

    auto yes = f.dir->matches(alice.dn, "(mail=alice@example.org)");
    auto no = f.dir->matches(alice.dn, "(mail=bob@example.org)");
    REQUIRE(yes.has_value());
    REQUIRE(no.has_value());
    CHECK(*yes);
    CHECK_FALSE(*no);
    auto broken = f.dir->matches(alice.dn, "(mail=");
    CHECK_FALSE(broken.has_value());
}

TEST_CASE("directory: unknown logins and injection attempts find nobody", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    for (const char* login : {"nobody-here", "*", "al*", "alice)(uid=*", "*)(|(objectClass=*",
                              "alice)(|(sAMAccountName=*", "\\2a", "alice\\"}) {
        INFO("login: " << login);
        auto found = f.dir->find_user(login);
        REQUIRE(found.has_value());
        CHECK_FALSE(found->has_value());
    }
}

TEST_CASE("directory: non-ASCII login and password", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user(testenv("SSPR_TEST_UNICODE_LOGIN"));
    CHECK(user.display_name == "Jürgen Müller");
    auto bound = f.dir->verify_password(user.dn, testenv("SSPR_TEST_UNICODE_PASSWORD"));
    INFO((bound ? "" : bound.error().diagnostic));
    CHECK(bound.has_value());
}

TEST_CASE("directory: state of locked, disabled and must-change users", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto locked = f.user("locked");
    CHECK(locked.state.locked);
    CHECK_FALSE(locked.state.disabled);
    const auto disabled = f.user("disabled");
    CHECK(disabled.state.disabled);
    const auto must = f.user("mustchange");
    CHECK(must.state.must_change);
    CHECK_FALSE(must.state.locked);
    auto state = f.dir->state_of(locked.dn);
    REQUIRE(state.has_value());
    CHECK(state->locked);
}

TEST_CASE("directory: nested group membership", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    auto groups = f.dir->groups_of(f.user("alice").dn);
    REQUIRE(groups.has_value());
    CHECK(has_group(*groups, "team-a"));
    CHECK(has_group(*groups, "dept-eng"));
    CHECK(has_group(*groups, "all-staff"));
    CHECK_FALSE(has_group(*groups, "sspr-admins"));
    auto carol = f.dir->groups_of(f.user("carol").dn);
    REQUIRE(carol.has_value());
    CHECK(has_group(*carol, "sspr-admins"));
    CHECK_FALSE(has_group(*carol, "all-staff"));
}

TEST_CASE("directory: binds as the user are classified", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto alice = f.user("alice");
    CHECK(f.dir->verify_password(alice.dn, start_password()).has_value());
    auto wrong = f.dir->verify_password(alice.dn, "Not-Her-Password-1!");
    REQUIRE_FALSE(wrong.has_value());
    CHECK(wrong.error().is(ldap::error::invalid_credentials));
    CHECK(
        f.dir->verify_password(alice.dn, start_password()).has_value()); // clears the failure count
    auto empty = f.dir->verify_password(alice.dn, "");
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error().is(ldap::error::invalid_credentials));

    auto locked = f.dir->verify_password(f.user("locked").dn, start_password());
    REQUIRE_FALSE(locked.has_value());
    INFO(locked.error().diagnostic);
    CHECK(locked.error().is(ldap::error::account_locked));

    auto must = f.dir->verify_password(f.user("mustchange").dn, start_password());
    REQUIRE_FALSE(must.has_value());
    INFO(must.error().diagnostic);
    CHECK(must.error().is(ldap::error::must_change_password));
}

TEST_CASE("directory: reset sets the new password and the old one stops working",
          "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t01");
    auto reset = f.dir->reset_password(user.dn, "Reset-New-Pass-1!", {});
    INFO((reset ? "" : reset.error().diagnostic));
    REQUIRE(reset.has_value());
    CHECK(f.dir->verify_password(user.dn, "Reset-New-Pass-1!").has_value());
    auto old = f.dir->verify_password(user.dn, start_password());
    REQUIRE_FALSE(old.has_value());
    CHECK(old.error().is(ldap::error::invalid_credentials));
}

TEST_CASE("directory: reset to a non-ASCII password", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t02");
    const std::string password = "Grüße-Ünï-한글-9#";
    auto reset = f.dir->reset_password(user.dn, password, {});
    INFO((reset ? "" : reset.error().diagnostic));
    REQUIRE(reset.has_value());
    CHECK(f.dir->verify_password(user.dn, password).has_value());
    // Invalid UTF-8 is refused before it reaches the directory, and nothing changes.
    auto invalid = f.dir->reset_password(user.dn, "Bad-\xC3\x28-Pass-1!", {});
    REQUIRE_FALSE(invalid.has_value());
    CHECK(invalid.error().is(ldap::error::invalid_password_encoding));
    CHECK(f.dir->verify_password(user.dn, password).has_value());
}

TEST_CASE("directory: reset also unlocks a locked account", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t03");
    lock_out(*f.dir, user.dn);
    auto before = f.dir->state_of(user.dn);
    REQUIRE(before.has_value());
    REQUIRE(before->locked);
    auto reset = f.dir->reset_password(user.dn, "Unlocked-Reset-3!", {});
    INFO((reset ? "" : reset.error().diagnostic));
    REQUIRE(reset.has_value());
    auto after = f.dir->state_of(user.dn);
    REQUIRE(after.has_value());
    CHECK_FALSE(after->locked);
    CHECK(f.dir->verify_password(user.dn, "Unlocked-Reset-3!").has_value());
}

TEST_CASE("directory: change with the right current password", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t04");
    auto changed = f.dir->change_password(user.dn, start_password(), "Changed-Pass-4@");
    INFO((changed ? "" : changed.error().diagnostic));
    REQUIRE(changed.has_value());
    CHECK(f.dir->verify_password(user.dn, "Changed-Pass-4@").has_value());
    CHECK_FALSE(f.dir->verify_password(user.dn, start_password()).has_value());
}

TEST_CASE("directory: change with a wrong current password changes nothing",
          "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t05");
    auto changed = f.dir->change_password(user.dn, "Not-The-Old-One-5!", "Changed-Pass-5@");
    REQUIRE_FALSE(changed.has_value());
    INFO(changed.error().diagnostic);
    CHECK(changed.error().is(ldap::error::wrong_current_password));
    CHECK(f.dir->verify_password(user.dn, start_password()).has_value());
}

TEST_CASE("directory: too short a password is refused on change and reset", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t06");
    auto changed = f.dir->change_password(user.dn, start_password(), "Sh0rt!");
    REQUIRE_FALSE(changed.has_value());
    INFO(changed.error().diagnostic);
    CHECK(changed.error().is(ldap::error::password_too_short));
    auto reset = f.dir->reset_password(user.dn, "Sh0rt!", {});
    REQUIRE_FALSE(reset.has_value());
    INFO(reset.error().diagnostic);
    CHECK(reset.error().is(ldap::error::password_too_short));
    CHECK(f.dir->verify_password(user.dn, start_password()).has_value());
}

TEST_CASE("directory: AD refuses a password that is not complex", "[ldap][integration]") {
    // OpenLDAP's ppolicy has no complexity rule without a checker module; this one is AD's.
    fixture f(testing::servers().at(1));
    const auto user = f.user("t07");
    auto changed = f.dir->change_password(user.dn, start_password(), "alllowercaseletters");
    REQUIRE_FALSE(changed.has_value());
    INFO(changed.error().diagnostic);
    CHECK(changed.error().is(ldap::error::password_not_complex));
    auto reset = f.dir->reset_password(user.dn, "alllowercaseletters", {});
    REQUIRE_FALSE(reset.has_value());
    CHECK(reset.error().is(ldap::error::password_not_complex));
}

TEST_CASE("directory: a change back to a recent password is refused as history",
          "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t08");
    auto first = f.dir->change_password(user.dn, start_password(), "History-Pass-8a!");
    INFO((first ? "" : first.error().diagnostic));
    REQUIRE(first.has_value());
    auto back = f.dir->change_password(user.dn, "History-Pass-8a!", start_password());
    REQUIRE_FALSE(back.has_value());
    INFO(back.error().diagnostic);
    CHECK(back.error().is(ldap::error::password_in_history));
    CHECK(f.dir->verify_password(user.dn, "History-Pass-8a!").has_value());
}

TEST_CASE("directory: the service account cannot reset a protected account",
          "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto admin = f.user("padmin");
    if (f.ad()) {
        CHECK(admin.admin_count);
    }
    auto reset = f.dir->reset_password(admin.dn, "Taken-Over-Pass-1!", {});
    REQUIRE_FALSE(reset.has_value());
    INFO(reset.error().diagnostic);
    CHECK(reset.error().is(ldap::error::access_denied));
    CHECK(f.dir->verify_password(admin.dn, start_password()).has_value());
}

TEST_CASE("directory: unlock clears a lockout and leaves a disabled account disabled",
          "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t09");
    lock_out(*f.dir, user.dn);
    auto locked = f.dir->verify_password(user.dn, start_password());
    REQUIRE_FALSE(locked.has_value());
    CHECK(locked.error().is(ldap::error::account_locked));
    auto unlocked = f.dir->unlock(user.dn);
    INFO((unlocked ? "" : unlocked.error().diagnostic));
    REQUIRE(unlocked.has_value());
    auto state = f.dir->state_of(user.dn);
    REQUIRE(state.has_value());
    CHECK_FALSE(state->locked);
    CHECK(f.dir->verify_password(user.dn, start_password()).has_value());
    CHECK(f.dir->unlock(user.dn).has_value()); // not locked: still fine

    const auto disabled = f.user("disabled");
    (void)f.dir->unlock(disabled.dn);
    auto still = f.dir->state_of(disabled.dn);
    REQUIRE(still.has_value());
    CHECK(still->disabled);
}

TEST_CASE("directory: a disabled account is not reset", "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto disabled = f.user("disabled");
    auto reset = f.dir->reset_password(disabled.dn, "Revived-Pass-1!", {});
    REQUIRE_FALSE(reset.has_value());
    CHECK(reset.error().is(ldap::error::account_disabled));
    auto state = f.dir->state_of(disabled.dn);
    REQUIRE(state.has_value());
    CHECK(state->disabled);
}

TEST_CASE("directory: reset with must-change makes the next bind ask for a change",
          "[ldap][integration]") {
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t10");
    ldap::reset_options options;
    options.must_change = true;
    auto reset = f.dir->reset_password(user.dn, "Temporary-Pass-10!", options);
    INFO((reset ? "" : reset.error().diagnostic));
    REQUIRE(reset.has_value());
    auto state = f.dir->state_of(user.dn);
    REQUIRE(state.has_value());
    CHECK(state->must_change);
    // slapd enforces pwdReset only where the entry's policy has pwdMustChange (the test default
    // policy does not); AD always refuses the bind until the change.
    if (f.ad()) {
        auto bound = f.dir->verify_password(user.dn, "Temporary-Pass-10!");
        REQUIRE_FALSE(bound.has_value());
        CHECK(bound.error().is(ldap::error::must_change_password));
    }
    // The user can still change it, with the temporary password as the current one.
    auto changed = f.dir->change_password(user.dn, "Temporary-Pass-10!", "Own-Choice-Pass-10!");
    INFO((changed ? "" : changed.error().diagnostic));
    REQUIRE(changed.has_value());
    CHECK(f.dir->verify_password(user.dn, "Own-Choice-Pass-10!").has_value());
}

TEST_CASE("directory: a dead first URI fails over to the second", "[ldap][integration]") {
    const auto s = pick_server();
    INFO("server: " << s.name);
    auto cfg = testing::config_for(s);
    cfg.uris.insert(cfg.uris.begin(), "ldaps://127.0.0.1:9"); // nothing listens on discard
    fixture f(s, cfg);
    CHECK(f.user("alice").login == "alice");
    CHECK(f.dir->verify_password(f.user("alice").dn, start_password()).has_value());
}

TEST_CASE("directory: a first server that dies under the first operation of a new connection "
          "fails over",
          "[ldap][integration]") {
    using namespace std::chrono_literals;
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    const std::string direct = cfg.uris.at(0);
    // Each answer through the relay comes 500 ms late: a new users' connection has its TLS
    // handshake done after ~500 ms, sends the bind then, and waits ~500 ms more for the answer.
    slow_relay relay(direct, 500ms);
    cfg.uris = {relay.uri(), direct};
    cfg.connect_timeout = 4s;
    cfg.operation_timeout = 4s;
    fixture f(s, cfg);
    const auto alice = f.user("alice"); // the service pool, through the relay
    REQUIRE(relay.accepted() == 1);

    // The users' pool has no connection yet: this bind opens one through the relay, and the
    // relay dies while the bind's answer is held back.
    auto bound = std::async(std::launch::async,
                            [&] { return f.dir->verify_password(alice.dn, start_password()); });
    std::this_thread::sleep_for(750ms);
    const std::size_t held = relay.cut();
    REQUIRE(relay.accepted() == 2);
    const auto result = bound.get();
    INFO((result ? "" : result.error().diagnostic));
    CHECK(held > 0);
    // Asked again on a new connection, which the dead first URI refuses: the second one answers.
    CHECK(result.has_value());
    CHECK(f.dir->find_user("bob").has_value());
}

TEST_CASE("directory: after a connection died under an operation, the second try is on a new "
          "connection, not on another one to the dead server",
          "[ldap][integration]") {
    using namespace std::chrono_literals;
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    const std::string direct = cfg.uris.at(0);
    slow_relay relay(direct, 300ms); // slow, so two lookups at once need two connections
    cfg.uris = {relay.uri(), direct};
    cfg.pool_size = 2;
    fixture f(s, cfg);
    auto first = std::async(std::launch::async, [&] { return f.dir->find_user("alice"); });
    auto second = std::async(std::launch::async, [&] { return f.dir->find_user("bob"); });
    REQUIRE(first.get().has_value());
    REQUIRE(second.get().has_value());
    REQUIRE(relay.accepted() == 2); // two idle service connections through the relay

    // Both die with the server, and each learns it only when it is used.
    relay.doom();
    const auto found = f.dir->find_user("carol");
    INFO((found ? "" : found.error().diagnostic));
    REQUIRE(found.has_value());
    CHECK(found->has_value());
}

TEST_CASE("directory: TLS with an untrusted certificate is refused", "[ldap][integration]") {
    const auto s = pick_server();
    INFO("server: " << s.name);
    auto cfg = testing::config_for(s);
    cfg.ca_file = "/etc/ssl/certs/ca-certificates.crt"; // public CAs only, not our test CA
    fixture f(s, cfg);
    auto found = f.dir->find_user("alice");
    REQUIRE_FALSE(found.has_value());
    INFO(found.error().diagnostic);
    CHECK(found.error().is(ldap::error::tls_failure));
}

TEST_CASE("directory: server stopped mid-run gives a typed error and recovers",
          "[ldap][integration]") {
    const auto s = pick_server();
    INFO("server: " << s.name);
    fixture f(s);
    const auto alice = f.user("alice");
    testing::control(s, "stop");
    auto down = f.dir->find_user("alice");
    REQUIRE_FALSE(down.has_value());
    INFO(down.error().diagnostic);
    CHECK(down.error().is(ldap::error::server_down));
    auto bind_down = f.dir->verify_password(alice.dn, start_password());
    REQUIRE_FALSE(bind_down.has_value());
    CHECK(bind_down.error().is(ldap::error::server_down));
    testing::control(s, "start");
    bool recovered = false;
    for (int i = 0; i < 50 && !recovered; ++i) { // backoff is at most 400 ms in tests
        auto again = f.dir->find_user("alice");
        recovered = again.has_value() && again->has_value();
        if (!recovered) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    CHECK(recovered);
    CHECK(f.dir->verify_password(alice.dn, start_password()).has_value());
}

namespace {

pid_t slapd_pid() {
    std::ifstream pid_file(testenv("SSPR_OL_DIR") + "/slapd.pid");
    pid_t pid = 0;
    REQUIRE(pid_file >> pid);
    return pid;
}

// Whether every thread of the process is stopped ('T' in /proc/PID/task/TID/stat).
bool all_threads_stopped(pid_t pid) {
    std::size_t threads = 0;
    for (const auto& task :
         std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
        std::ifstream stat(task.path() / "stat");
        std::string line;
        std::getline(stat, line);
        const auto after_name = line.rfind(") ");
        if (after_name == std::string::npos || after_name + 2 >= line.size() ||
            line[after_name + 2] != 'T') {
            return false;
        }
        ++threads;
    }
    return threads > 0;
}

// slapd stopped with SIGSTOP (its sockets stay open, nothing is answered) until resume() or the
// end of the scope, so that a failed check never leaves it stopped for the tests after it. kill()
// returns before the stop takes effect, and a slapd thread that still runs could answer a request
// sent meanwhile: the constructor waits until every thread is stopped.
class slapd_stopped {
public:
    slapd_stopped() : pid_(slapd_pid()) {
        REQUIRE(::kill(pid_, SIGSTOP) == 0);
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!all_threads_stopped(pid_) && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        if (!all_threads_stopped(pid_)) {
            ::kill(pid_, SIGCONT); // the destructor does not run for a constructor that throws
            FAIL("slapd did not stop within 5 s of SIGSTOP");
        }
    }
    slapd_stopped(const slapd_stopped&) = delete;
    slapd_stopped& operator=(const slapd_stopped&) = delete;
    ~slapd_stopped() { resume(); }
    void resume() {
        if (pid_ != 0) {
            ::kill(pid_, SIGCONT);
            pid_ = 0;
        }
    }

private:
    pid_t pid_;
};

// std::async on a new thread that returns only once that thread runs: on a loaded machine a new
// thread can wait for a core for longer than a test's pause.
template <typename Fn> auto started_async(Fn fn) {
    auto running = std::make_shared<std::latch>(1);
    auto future = std::async(std::launch::async, [running, fn = std::move(fn)]() mutable {
        running->count_down();
        return fn();
    });
    running->wait();
    return future;
}

// Counts the connections the directory opens (service and bind connections alike).
struct connect_counter {
    std::shared_ptr<std::atomic<int>> count = std::make_shared<std::atomic<int>>(0);
    ldap::operation_observer observer() const {
        return [c = count](const ldap::operation_sample& s) {
            if (s.operation == "connect") {
                c->fetch_add(1);
            }
        };
    }
};

} // namespace

TEST_CASE("directory: a hung server times out and extra callers are refused at once",
          "[ldap][integration]") {
    // slapd stopped with SIGSTOP keeps its sockets open but never answers.
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    cfg.pool_size = 1;
    cfg.pipeline_window = 1; // one operation on the connection: the second caller must wait
    cfg.max_waiting = 1;
    cfg.operation_timeout = std::chrono::milliseconds(1500);
    cfg.acquire_timeout = std::chrono::milliseconds(5000);
    fixture f(s, cfg);
    REQUIRE(f.user("alice").login == "alice"); // pool warmed
    slapd_stopped stopped;
    auto first = started_async([&] { return f.dir->find_user("alice"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto second = started_async([&] { return f.dir->find_user("bob"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto third = f.dir->find_user("carol"); // one running, one waiting: no room
    const auto first_result = first.get();
    stopped.resume();
    const auto second_result = second.get();
    REQUIRE_FALSE(third.has_value());
    CHECK(third.error().is(ldap::error::overloaded));
    REQUIRE_FALSE(first_result.has_value());
    CHECK(first_result.error().is(ldap::error::timeout));
    // The waiter got the connection after the timeout dropped the hung one, and a fresh one works.
    CHECK(second_result.has_value());
}

TEST_CASE("directory: searches of several callers pipeline on one service connection",
          "[ldap][integration]") {
    // slapd is stopped while four callers search: with one connection, a window of four and no
    // room to wait, all four are admitted at once and a fifth is refused; each gets its own entry
    // once slapd answers again, over the one connection.
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    cfg.pool_size = 1;
    cfg.pipeline_window = 4;
    cfg.max_waiting = 0;
    cfg.operation_timeout = std::chrono::milliseconds(5000);
    const connect_counter connects;
    cfg.on_operation = connects.observer();
    fixture f(s, cfg);
    REQUIRE(f.user("alice").login == "alice"); // the service connection is open
    REQUIRE(connects.count->load() == 1);
    slapd_stopped stopped;
    const std::array<std::string, 4> logins{"alice", "bob", "carol", "t01"};
    std::vector<std::future<ldap::result<std::optional<ldap::user_entry>>>> pending;
    pending.reserve(logins.size());
    for (const auto& login : logins) {
        pending.push_back(started_async([&f, &login] { return f.dir->find_user(login); }));
    }
    // Each caller's thread runs; what is left before its search is sent is microseconds of work.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const auto asked = std::chrono::steady_clock::now();
    auto fifth = f.dir->find_user("dave");
    const auto fifth_took = std::chrono::steady_clock::now() - asked;
    stopped.resume();
    INFO("fifth took " << std::chrono::duration_cast<std::chrono::milliseconds>(fifth_took).count()
                       << " ms: " << (fifth ? "found" : fifth.error().diagnostic));
    REQUIRE_FALSE(fifth.has_value());
    CHECK(fifth.error().is(ldap::error::overloaded));
    for (std::size_t i = 0; i < logins.size(); ++i) {
        auto found = pending[i].get();
        INFO(logins[i] << ": " << (found ? "" : found.error().diagnostic));
        CHECK((found.has_value() && found->has_value() && (*found)->login == logins[i]));
    }
    CHECK(connects.count->load() == 1);
}

TEST_CASE("directory: callers who waited while the one connection was opened share it at once",
          "[ldap][integration]") {
    // Through a relay that holds each answer back 500 ms, opening the connection takes several
    // of them; a second caller arrives meanwhile and waits for room. Once the connection is up it
    // has room for both: the second's search goes out beside the first's and both answers come
    // back together, not the second's a relay delay after the first's (as when it was let in
    // only by the first one's release).
    using namespace std::chrono_literals;
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    slow_relay relay(cfg.uris.at(0), 500ms);
    cfg.uris = {relay.uri()};
    cfg.pool_size = 1;
    cfg.pipeline_window = 4;
    cfg.max_waiting = 4;
    cfg.connect_timeout = 8s;
    cfg.operation_timeout = 8s;
    cfg.acquire_timeout = 8s;
    fixture f(s, cfg);
    using clock = std::chrono::steady_clock;
    auto timed = [&f](const char* login) {
        auto found = f.dir->find_user(login);
        return std::pair{clock::now(), std::move(found)};
    };
    auto first = started_async([&] { return timed("alice"); });
    std::this_thread::sleep_for(100ms);
    auto second = started_async([&] { return timed("bob"); });
    auto [first_done, first_found] = first.get();
    auto [second_done, second_found] = second.get();
    INFO((first_found ? "" : first_found.error().diagnostic));
    INFO((second_found ? "" : second_found.error().diagnostic));
    REQUIRE(first_found.has_value());
    REQUIRE(second_found.has_value());
    CHECK((*second_found)->login == "bob");
    CHECK(relay.accepted() == 1);
    const auto apart = std::chrono::abs(second_done - first_done);
    INFO("answers " << std::chrono::duration_cast<std::chrono::milliseconds>(apart).count()
                    << " ms apart");
    CHECK(apart < 250ms);
}

TEST_CASE("directory: a caller whose new connection cannot be opened shares a working one",
          "[ldap][integration]") {
    // Pool of two, one connection open and busy: a second caller would rather open another, but
    // the server takes no new connections now. It shares the working one instead of failing.
    using namespace std::chrono_literals;
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    slow_relay relay(cfg.uris.at(0), 400ms);
    cfg.uris = {relay.uri()};
    cfg.pool_size = 2;
    cfg.pipeline_window = 4;
    cfg.connect_timeout = 8s;
    cfg.operation_timeout = 8s;
    fixture f(s, cfg);
    REQUIRE(f.user("alice").login == "alice");
    REQUIRE(relay.accepted() == 1);
    relay.refuse_new();
    auto first = started_async([&] { return f.dir->find_user("alice"); });
    std::this_thread::sleep_for(100ms); // the first's search is out: its connection is busy
    auto second = f.dir->find_user("bob");
    INFO((second ? "" : second.error().diagnostic));
    REQUIRE(second.has_value());
    REQUIRE(second->has_value());
    CHECK((*second)->login == "bob");
    const auto first_found = first.get();
    REQUIRE(first_found.has_value());
    CHECK(relay.accepted() == 1);
}

TEST_CASE("directory: a timed-out operation gives up alone, and a silent connection is replaced",
          "[ldap][integration]") {
    // Two callers share the one connection while slapd is stopped. The first one's timeout
    // passes (nothing was read meanwhile) before slapd goes on; the second, sent later, still
    // gets its own answer on the same connection. Having been silent, the connection is then
    // replaced by a new one for the next caller.
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    cfg.pool_size = 1;
    cfg.pipeline_window = 2;
    cfg.operation_timeout = std::chrono::milliseconds(1500);
    const connect_counter connects;
    cfg.on_operation = connects.observer();
    fixture f(s, cfg);
    REQUIRE(f.user("alice").login == "alice");
    REQUIRE(connects.count->load() == 1);
    slapd_stopped stopped;
    const auto began = std::chrono::steady_clock::now();
    auto first = started_async([&] { return f.dir->find_user("alice"); });
    std::this_thread::sleep_for(std::chrono::milliseconds(700));
    auto second = started_async([&] { return f.dir->find_user("bob"); });
    const auto first_result = first.get();
    const auto first_took = std::chrono::steady_clock::now() - began;
    stopped.resume();
    const auto second_result = second.get();
    REQUIRE_FALSE(first_result.has_value());
    CHECK(first_result.error().is(ldap::error::timeout));
    CHECK(first_took < std::chrono::milliseconds(3000));
    INFO((second_result ? "" : second_result.error().diagnostic));
    REQUIRE(second_result.has_value());
    REQUIRE(second_result->has_value());
    CHECK((*second_result)->login == "bob");
    CHECK(connects.count->load() == 1); // the second answer came on the shared connection
    CHECK(f.user("carol").login == "carol");
    CHECK(connects.count->load() == 2); // the silent one was replaced
}

TEST_CASE("directory: StartTLS on ldap:// works with a verified certificate",
          "[ldap][integration]") {
    const auto s = pick_server();
    INFO("server: " << s.name);
    auto cfg = testing::config_for(s);
    cfg.uris = {testenv(s.kind == server::samba_ad ? "SSPR_AD_LDAP_URI" : "SSPR_OL_LDAP_URI")};
    fixture f(s, cfg);
    const auto bob = f.user("bob");
    CHECK(bob.mail == std::vector<std::string>{"bob@example.org"});
    CHECK(f.dir->verify_password(bob.dn, start_password()).has_value());
}

TEST_CASE("directory: AD refuses a simple bind without TLS as a configuration error",
          "[ldap][integration]") {
    // Samba, like AD, refuses simple binds on plain LDAP; that is the admin's mistake, not the
    // user's.
    const auto s = testing::servers().at(1);
    auto cfg = testing::config_for(s);
    cfg.uris = {testenv("SSPR_AD_LDAP_URI")};
    cfg.start_tls = false;
    fixture f(s, cfg);
    auto found = f.dir->find_user("alice");
    REQUIRE_FALSE(found.has_value());
    INFO(found.error().diagnostic);
    CHECK(found.error().is(ldap::error::tls_required));
}

TEST_CASE("directory: OpenLDAP reset by replacing userPassword, policy still applied",
          "[ldap][integration]") {
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    cfg.openldap_reset = ldap::openldap_reset_mode::replace_user_password;
    fixture f(s, cfg);
    const auto user = f.user("t11");
    auto reset = f.dir->reset_password(user.dn, "Replaced-Pass-11!", {});
    INFO((reset ? "" : reset.error().diagnostic));
    REQUIRE(reset.has_value());
    CHECK(f.dir->verify_password(user.dn, "Replaced-Pass-11!").has_value());
    CHECK_FALSE(f.dir->verify_password(user.dn, start_password()).has_value());
    auto short_one = f.dir->reset_password(user.dn, "Sh0rt!", {});
    REQUIRE_FALSE(short_one.has_value());
    INFO(short_one.error().diagnostic);
    CHECK(short_one.error().is(ldap::error::password_too_short));
}

// A password short enough for std::string's inline buffer and a long one, both fresh per run
// (the directories keep a history), each meeting AD complexity.
std::string fresh_password(std::size_t length) {
    static constexpr std::string_view hex = "0123456789abcdef";
    std::random_device rd;
    std::string out = "Q";
    while (out.size() + 3 < length) {
        out += hex[rd() % 16];
    }
    return out + "x9!";
}

TEST_CASE("directory: short and long passwords reach the directory intact through the wiped "
          "buffers",
          "[ldap][integration]") {
    // unicodePwd is built in a secret and handed to libldap as a view, userPassword and the
    // Password Modify values are views of the caller's buffer: the bytes must still arrive whole.
    fixture f(pick_server());
    INFO("server: " << f.s.name);
    const auto user = f.user("t20");
    for (const std::size_t length : {8U, 40U}) {
        INFO("length " << length);
        const auto first = fresh_password(length);
        auto reset = f.dir->reset_password(user.dn, first, {});
        INFO((reset ? "" : reset.error().diagnostic));
        REQUIRE(reset.has_value());
        CHECK(f.dir->verify_password(user.dn, first).has_value());
        const auto second = fresh_password(length);
        auto changed = f.dir->change_password(user.dn, first, second);
        INFO((changed ? "" : changed.error().diagnostic));
        REQUIRE(changed.has_value());
        CHECK(f.dir->verify_password(user.dn, second).has_value());
        CHECK_FALSE(f.dir->verify_password(user.dn, first).has_value());
    }
}

TEST_CASE("directory: OpenLDAP userPassword replace sends the password as given",
          "[ldap][integration]") {
    const auto s = testing::servers().at(0);
    auto cfg = testing::config_for(s);
    cfg.openldap_reset = ldap::openldap_reset_mode::replace_user_password;
    fixture f(s, cfg);
    const auto user = f.user("t21");
    for (const std::size_t length : {8U, 40U}) {
        const auto password = fresh_password(length);
        auto reset = f.dir->reset_password(user.dn, password, {});
        INFO((reset ? "" : reset.error().diagnostic));
        REQUIRE(reset.has_value());
        CHECK(f.dir->verify_password(user.dn, password).has_value());
    }
}

TEST_CASE("directory: a wrong service account password is reported, not retried elsewhere",
          "[ldap][integration]") {
    const auto s = pick_server();
    INFO("server: " << s.name);
    auto cfg = testing::config_for(s);
    cfg.bind_password = common::secret("Not-The-Service-Password-1!");
    fixture f(s, cfg);
    auto found = f.dir->find_user("alice");
    REQUIRE_FALSE(found.has_value());
    CHECK(found.error().is(ldap::error::invalid_credentials));
    // The diagnostic names the server's answer and never the password.
    CHECK(found.error().diagnostic.find("Not-The-Service") == std::string::npos);
}
