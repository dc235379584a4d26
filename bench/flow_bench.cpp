// Full TOTP password reset flows through `ssprd serve` over HTTPS (start -> verify -> complete), at
// a fixed number of flows in flight, against a raw libldap async loop doing per flow the LDAP
// operations the gateway does, at the same concurrency over as many service and bind connections
// as ssprd's directory pool. The ratio says what the gateway (TLS, HTTP, JSON, the flows engine,
// the store, the audit trail, the blocking pools and the timing floors) costs next to what the
// directory allows. Run it through bench/run-flow-bench, which starts slapd and ssprd, enrolls no
// one and stops both; this program enrolls the users with TOTP through the API first. See
// bench/README.md.
#include "bench/support/cpu.hpp"
#include "bench/support/raw_ldap.hpp"
#include "challenge/base32.hpp"
#include "challenge/totp.hpp"
#include "common/process.hpp"
#include "common/secret.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/program_options.hpp>

#include <fcntl.h>
#include <lber.h>
#include <ldap.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace po = boost::program_options;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;
using system_clock = std::chrono::system_clock;
using sspr::bench::cpu_meter;
using sspr::bench::cpu_sample;
using sspr::bench::fixed;
using sspr::bench::raw_connection;

// Above this much CPU taken by other processes during a run, the bench warns (see main).
constexpr double max_quiet_other_cores = 0.25;
// OpenLDAP ppolicy's administrative lock, which the library refuses to reset.
constexpr std::string_view admin_lock = "000001010000Z";
// What ldap/ldap_directory.cpp asks for with the default mail_attributes and mobile_attributes.
const std::vector<std::string> user_attributes{
    "pwdAccountLockedTime", "pwdReset", "uid", "displayName", "cn", "mail", "mobile"};
const std::vector<std::string> state_attributes{"pwdAccountLockedTime", "pwdReset"};
constexpr int max_groups = 1000; // directory.max_groups' default: the group search's size limit

struct settings {
    // The gateway.
    std::string host = "127.0.0.1";
    std::string port;
    std::string gateway_ca;
    std::string source; // local address every gateway connection is bound to ("": the kernel's)
    long ssprd_pid = 0;
    // ssprd runs with `config` (server.response_floor 0ms); for the floored run the bench moves
    // `floored_config` (the shipped floor) onto it and sends SIGHUP.
    std::string config;
    std::string floored_config;
    // The directory.
    std::string ldap_uri;
    std::string ldap_ca;
    std::string base_dn;
    std::string bind_dn;
    sspr::common::secret bind_password;
    long slapd_pid = 0;
    std::string slapd_log; // slapd's stats log: the operations each side sent, counted
    // The users (created by run-flow-bench): PREFIX0001 … with the initial password.
    std::string user_prefix = "bench";
    std::size_t users = 5000;
    sspr::common::secret user_password{std::string("Start-Pass-1!")};
    // The load.
    std::size_t concurrency = 32; // flows in flight on both sides
    std::size_t connections = 4;  // raw: service + bind connections (directory.pool_size)
    std::chrono::milliseconds gateway_duration{30000};
    std::chrono::milliseconds gateway_warmup{500};
    std::chrono::milliseconds floored_warmup{2000}; // a floored flow alone takes 0.55 s
    std::size_t floored_users = 800;                // the last ones: for the run with the floor
    std::chrono::milliseconds floored_duration{10000};
    std::chrono::milliseconds raw_duration{5000};
    std::chrono::milliseconds raw_warmup{1000};
    std::size_t raw_rounds = 2;
    std::chrono::milliseconds idle{2000};  // before the idle RSS is read
    std::chrono::seconds http_timeout{30}; // per blocking read or write on a gateway connection
    // --raw-only: the raw rounds alone (no gateway needed; to profile that side), no ratio.
    bool raw_only = false;
    double raw_rate = 0.0; // --raw-only: flows begun per second (0: closed loop)
    // --flood-exec: the gateway round again while this program (run-flow-bench writes it: wrk
    // with bench/front_bench.lua) floods the same ssprd; its output goes to flood_log.
    std::string flood_exec;
    std::string flood_log;
    std::chrono::milliseconds flood_warmup{1000}; // the flood runs this long before the round
    // Every flood answer is a blocked address's start, refused on the I/O thread: checked against
    // ssprd_early_refusals_total (with --metrics), whose growth is the flood's rate in the window.
    bool flood_refused_early = false;
    std::string metrics_host; // ssprd's /metrics (ssprd_early_refusals_total), plain HTTP
    std::string metrics_port;
};

std::string login_of(const settings& s, std::size_t i) {
    std::string n = std::to_string(i + 1);
    if (n.size() < 4) {
        n.insert(0, 4 - n.size(), '0');
    }
    return s.user_prefix + n;
}

/// Fresh passwords, unique within the process and, through the nonce, across runs against the
/// same directory, so pwdInHistory never refuses one. They meet the bench's password rules (8+
/// characters) and slapd's ppolicy.
class password_source {
public:
    password_source() : nonce_(std::random_device{}() & 0xffffffU) {}

    std::string next(char side) {
        const auto n = counter_.fetch_add(1, std::memory_order_relaxed);
        return "Flow-" + std::string(1, side) + "-" + std::to_string(nonce_) + "-" +
               std::to_string(n) + "-Aa1!";
    }

private:
    unsigned nonce_;
    std::atomic<std::uint64_t> counter_{0};
};

struct time_window {
    steady::time_point start; // end of the warm-up
    steady::time_point end;

    [[nodiscard]] bool contains(steady::time_point t) const { return t >= start && t < end; }
    [[nodiscard]] double seconds() const {
        return std::chrono::duration<double>(end - start).count();
    }
};

double ms(steady::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
}

/// Latencies in milliseconds; percentiles by nearest rank.
class latencies {
public:
    void add(double v) { values_.push_back(v); }
    void merge(const latencies& other) {
        values_.insert(values_.end(), other.values_.begin(), other.values_.end());
    }
    [[nodiscard]] std::size_t size() const { return values_.size(); }
    [[nodiscard]] double percentile(double p) {
        if (values_.empty()) {
            return 0.0;
        }
        std::sort(values_.begin(), values_.end());
        const auto rank =
            static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values_.size())));
        return values_[std::clamp<std::size_t>(rank, 1, values_.size()) - 1];
    }
    [[nodiscard]] double mean() const {
        if (values_.empty()) {
            return 0.0;
        }
        double sum = 0.0;
        for (const double v : values_) {
            sum += v;
        }
        return sum / static_cast<double>(values_.size());
    }
    /// "p50=… p99=… ms"
    [[nodiscard]] std::string summary() {
        return "p50=" + fixed(percentile(50), 2) + " p99=" + fixed(percentile(99), 2) + " ms";
    }

private:
    std::vector<double> values_;
};

// --- slapd's stats log: what each side sent ---------------------------------------------------

/// Operations slapd logged between two offsets of its stats log, by kind.
struct op_counts {
    std::uint64_t user_search = 0;  // subtree, (&(objectClass=person)(uid=…))
    std::uint64_t group_search = 0; // subtree, (|(member=…)(uniqueMember=…))
    std::uint64_t base_read = 0;    // base scope
    std::uint64_t other_search = 0;
    std::uint64_t passwd_exop = 0; // RFC 3062 Password Modify
    std::uint64_t other_exop = 0;
    std::uint64_t bind = 0;
    std::uint64_t modify = 0;
    std::uint64_t other = 0; // ADD, DEL, MODRDN, CMP

    [[nodiscard]] std::string per(std::uint64_t flows) const {
        if (flows == 0) {
            return "no flows";
        }
        const auto n = static_cast<double>(flows);
        auto f = [n](std::uint64_t v) { return fixed(static_cast<double>(v) / n, 2); };
        std::string out = "user_search=" + f(user_search) + " group_search=" + f(group_search) +
                          " base_read=" + f(base_read) + " passwd_exop=" + f(passwd_exop) +
                          " bind=" + f(bind);
        if (other_search + other_exop + modify + other > 0) {
            out += " other_search=" + f(other_search) + " other_exop=" + f(other_exop) +
                   " modify=" + f(modify) + " other=" + f(other);
        }
        return out;
    }
};

std::uint64_t file_size(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
        return 0;
    }
    return static_cast<std::uint64_t>(in.tellg());
}

op_counts count_ops(const std::string& path, std::uint64_t from, std::uint64_t to) {
    op_counts c;
    std::ifstream in(path, std::ios::binary);
    if (!in || to <= from) {
        return c;
    }
    in.seekg(static_cast<std::streamoff>(from));
    std::string line;
    std::uint64_t at = from;
    while (at < to && std::getline(in, line)) {
        at += line.size() + 1;
        if (line.find(" SRCH base=") != std::string::npos) {
            if (line.find(" scope=0 ") != std::string::npos) {
                ++c.base_read;
            } else if (line.find("(uid=") != std::string::npos) {
                ++c.user_search;
            } else if (line.find("(member=") != std::string::npos) {
                ++c.group_search;
            } else {
                ++c.other_search;
            }
        } else if (line.find(" EXT oid=") != std::string::npos) {
            if (line.find("1.3.6.1.4.1.4203.1.11.1") != std::string::npos) {
                ++c.passwd_exop;
            } else {
                ++c.other_exop;
            }
        } else if (line.find(" BIND dn=") != std::string::npos &&
                   line.find(" method=") != std::string::npos) {
            // slapd logs a bind twice: the request (method=) and the outcome (mech=).
            ++c.bind;
        } else if (line.find(" MOD dn=") != std::string::npos) {
            ++c.modify;
        } else if (line.find(" ADD dn=") != std::string::npos ||
                   line.find(" DEL dn=") != std::string::npos ||
                   line.find(" CMP dn=") != std::string::npos ||
                   line.find(" MODRDN dn=") != std::string::npos) {
            ++c.other;
        }
    }
    return c;
}

/// The slapd log's size now (its end, for count_ops), or 0 when there is no log.
std::uint64_t log_mark(const settings& s) {
    return s.slapd_log.empty() ? 0 : file_size(s.slapd_log);
}

// --- the gateway's HTTPS JSON API (Beast, blocking, one keep-alive connection per thread) ------

struct reply {
    unsigned status = 0;
    json::value body;
    std::string request_id; // X-Request-Id, for finding a failure in ssprd's log
    steady::duration took{};
};

class api_client {
public:
    api_client(const settings& s, ssl::context& tls) : s_(s), tls_(tls) {}

    /// POST `target` with a JSON body; throws on a transport failure. The answer's status is the
    /// caller's to check.
    reply post(const std::string& target, const json::value& body, const std::string& bearer = {}) {
        for (int attempt = 0;; ++attempt) {
            try {
                return send(target, body, bearer);
            } catch (const boost::system::system_error& e) {
                // A kept-alive connection the server closed meanwhile (idle timeout between
                // phases) is opened again once; anything else is a failure of the bench.
                stream_.reset();
                if (attempt > 0 || !reused_) {
                    throw std::runtime_error("gateway: POST " + target + ": " + e.what());
                }
            }
        }
    }

private:
    using stream_type = ssl::stream<net::ip::tcp::socket>;

    void open() {
        stream_ = std::make_unique<stream_type>(io_, tls_);
        stream_->set_verify_mode(ssl::verify_peer);
        stream_->set_verify_callback(ssl::host_name_verification(s_.host));
        net::ip::tcp::resolver resolver(io_);
        if (s_.source.empty()) {
            net::connect(stream_->next_layer(), resolver.resolve(s_.host, s_.port));
        } else {
            connect_from(resolver.resolve(s_.host, s_.port));
        }
        stream_->next_layer().set_option(net::ip::tcp::no_delay(true));
        // Blocking calls have no deadline of their own: a gateway that stops answering fails the
        // bench after this long instead of hanging it.
        const timeval limit{static_cast<time_t>(s_.http_timeout.count()), 0};
        for (const int option : {SO_RCVTIMEO, SO_SNDTIMEO}) {
            if (::setsockopt(stream_->next_layer().native_handle(), SOL_SOCKET, option, &limit,
                             sizeof limit) != 0) {
                throw std::runtime_error("gateway: setsockopt failed");
            }
        }
        stream_->handshake(ssl::stream_base::client);
        buffer_.clear();
        reused_ = false;
    }

    /// Connects from s_.source (the address ssprd sees as the client's) to the first endpoint of
    /// its family that answers.
    void connect_from(const net::ip::tcp::resolver::results_type& endpoints) {
        const auto from = net::ip::make_address(s_.source);
        auto& socket = stream_->next_layer();
        boost::system::error_code ec = net::error::host_not_found;
        for (const auto& e : endpoints) {
            if (e.endpoint().address().is_v4() != from.is_v4()) {
                continue;
            }
            if (socket.is_open()) {
                socket.close();
            }
            socket.open(e.endpoint().protocol());
            socket.bind({from, 0});
            socket.connect(e.endpoint(), ec);
            if (!ec) {
                return;
            }
        }
        throw boost::system::system_error(ec, "connect from " + s_.source);
    }

    reply send(const std::string& target, const json::value& body, const std::string& bearer) {
        if (!stream_) {
            open();
        } else {
            reused_ = true;
        }
        http::request<http::string_body> req{http::verb::post, target, 11};
        req.set(http::field::host, s_.host + ":" + s_.port);
        req.set(http::field::content_type, "application/json");
        req.set(http::field::accept, "application/json");
        if (!bearer.empty()) {
            req.set(http::field::authorization, "Bearer " + bearer);
        }
        req.keep_alive(true);
        req.body() = json::serialize(body);
        req.prepare_payload();
        reply r;
        const auto t0 = steady::now();
        http::write(*stream_, req);
        http::response<http::string_body> res;
        http::read(*stream_, buffer_, res);
        r.took = steady::now() - t0;
        r.status = res.result_int();
        if (const auto id = res.find("X-Request-Id"); id != res.end()) {
            r.request_id = std::string(id->value());
        }
        if (!res.body().empty()) {
            boost::system::error_code ec;
            r.body = json::parse(res.body(), ec);
            if (ec) {
                r.body = json::string(res.body());
            }
        }
        if (!res.keep_alive()) {
            stream_.reset();
        }
        return r;
    }

    const settings& s_;
    ssl::context& tls_;
    net::io_context io_;
    std::unique_ptr<stream_type> stream_;
    beast::flat_buffer buffer_;
    bool reused_ = false;
};

[[noreturn]] void refused(const std::string& what, const reply& r) {
    throw std::runtime_error("gateway: " + what + ": HTTP " + std::to_string(r.status) + " " +
                             json::serialize(r.body) + " (request id " + r.request_id + ")");
}

std::string text_field(const json::value& v, std::string_view key, const std::string& what) {
    if (const auto* obj = v.if_object()) {
        if (const auto* field = obj->if_contains(key); field != nullptr && field->is_string()) {
            return std::string(field->as_string());
        }
    }
    throw std::runtime_error("gateway: " + what + ": no \"" + std::string(key) + "\" in " +
                             json::serialize(v));
}

/// The value of the unlabelled sample `name` on ssprd's /metrics (plain HTTP); nullopt without
/// --metrics or when it cannot be read.
std::optional<double> read_metric(const settings& s, std::string_view name) {
    if (s.metrics_port.empty()) {
        return std::nullopt;
    }
    try {
        net::io_context io;
        net::ip::tcp::socket socket(io);
        net::ip::tcp::resolver resolver(io);
        net::connect(socket, resolver.resolve(s.metrics_host, s.metrics_port));
        const timeval limit{5, 0};
        for (const int option : {SO_RCVTIMEO, SO_SNDTIMEO}) {
            if (::setsockopt(socket.native_handle(), SOL_SOCKET, option, &limit, sizeof limit) !=
                0) {
                return std::nullopt;
            }
        }
        http::request<http::empty_body> req{http::verb::get, "/metrics", 11};
        req.set(http::field::host, s.metrics_host + ":" + s.metrics_port);
        req.keep_alive(false);
        http::write(socket, req);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(socket, buffer, res);
        if (res.result() != http::status::ok) {
            return std::nullopt;
        }
        std::istringstream lines(res.body());
        std::string line;
        while (std::getline(lines, line)) {
            if (line.size() > name.size() && line.compare(0, name.size(), name) == 0 &&
                line[name.size()] == ' ') {
                return std::stod(line.substr(name.size() + 1));
            }
        }
    } catch (const std::exception&) {
        // Reported as unknown by the caller.
    }
    return std::nullopt;
}

ssl::context client_tls(const settings& s) {
    ssl::context tls(ssl::context::tls_client);
    tls.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                    ssl::context::no_tlsv1_1);
    tls.load_verify_file(s.gateway_ca);
    return tls;
}

/// One enrolled user: the authenticator secret and the TOTP step the enrollment spent.
struct enrolled_user {
    std::string login;
    sspr::common::secret key;
    std::uint64_t step = 0;
};

/// Runs `work(worker, client)` on `threads` threads, each with its own connection; the first
/// exception stops the others (they look at `stop`) and is thrown again here.
template <class Work>
void on_workers(const settings& s, ssl::context& tls, std::size_t threads, std::atomic<bool>& stop,
                Work&& work) {
    std::mutex failure_mutex;
    std::optional<std::string> failure; // guarded by failure_mutex
    {
        std::vector<std::jthread> workers;
        workers.reserve(threads);
        for (std::size_t t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                try {
                    api_client client(s, tls);
                    work(t, client);
                } catch (const std::exception& e) {
                    const std::lock_guard lock(failure_mutex);
                    if (!failure) {
                        failure = e.what();
                    }
                    stop.store(true);
                }
            });
        }
    }
    if (failure) {
        throw std::runtime_error(*failure);
    }
}

/// Signs every user in with the initial password, registers an authenticator and confirms it with
/// the code of the current step, `concurrency` at a time.
std::vector<enrolled_user> enroll(const settings& s, ssl::context& tls,
                                  const sspr::challenge::totp_params& params) {
    std::vector<enrolled_user> out(s.users);
    std::atomic<std::size_t> next{0};
    std::atomic<bool> stop{false};
    on_workers(s, tls, s.concurrency, stop, [&](std::size_t, api_client& client) {
        for (std::size_t i = next++; i < s.users && !stop.load(); i = next++) {
            enrolled_user& u = out[i];
            u.login = login_of(s, i);
            const reply session = client.post(
                "/api/v1/enroll/session",
                json::object{{"username", u.login}, {"password", s.user_password.reveal()}});
            if (session.status != 200) {
                refused("enroll session " + u.login, session);
            }
            const std::string token = text_field(session.body, "token", "enroll session");
            const reply offer = client.post("/api/v1/enroll/totp", json::object{}, token);
            if (offer.status != 200) {
                refused("enroll totp " + u.login, offer);
            }
            const std::string uri = text_field(offer.body, "otpauth_uri", "enroll totp");
            const auto at = uri.find("secret=");
            if (at == std::string::npos) {
                throw std::runtime_error("gateway: otpauth URI without a secret for " + u.login);
            }
            const auto end = uri.find('&', at);
            auto key = sspr::challenge::base32_decode(std::string_view(uri).substr(
                at + 7, end == std::string::npos ? end : end - at - 7));
            if (!key) {
                throw std::runtime_error("gateway: otpauth secret is not base32 for " + u.login);
            }
            u.key = sspr::common::secret(std::move(*key));
            u.step = sspr::challenge::totp_step(system_clock::now(), params.period);
            const auto code = sspr::challenge::totp_at(u.key, u.step, params);
            const reply confirmed = client.post("/api/v1/enroll/totp/verify",
                                                json::object{{"code", code.reveal()}}, token);
            if (confirmed.status != 200) {
                refused("enroll totp verify " + u.login, confirmed);
            }
        }
    });
    return out;
}

/// What one gateway worker saw.
struct gateway_tally {
    std::uint64_t flows = 0;     // completed inside the measured window
    std::uint64_t all_flows = 0; // completed at all (for the operation counts)
    latencies start, verify, complete, flow;
};

/// A counter read when the measured window opens and when it closes (ssprd's early refusals).
struct window_reading {
    std::optional<double> value;
    steady::time_point at;
};

struct gateway_result {
    gateway_tally tally;
    time_window window;
    bool ran_out = false; // the window ended early because no fresh user was left
    cpu_sample cpu_start;
    cpu_sample cpu_end;
    window_reading probe_start;
    window_reading probe_end;
    op_counts ops;

    /// The probed counter's growth per second over the window; nullopt without a probe.
    [[nodiscard]] std::optional<double> probe_rate() const {
        if (!probe_start.value || !probe_end.value || probe_end.at <= probe_start.at) {
            return std::nullopt;
        }
        return (*probe_end.value - *probe_start.value) /
               std::chrono::duration<double>(probe_end.at - probe_start.at).count();
    }

    [[nodiscard]] double rate() const {
        return static_cast<double>(tally.flows) / window.seconds();
    }
};

/// Each worker takes the next fresh user and runs its reset: start, verify with the TOTP code of
/// the first step after its enrollment's (the current one when that is later), complete with a
/// fresh password. Only flows that complete inside the window count; the window closes at the
/// end of the duration or as soon as no fresh user is left (the concurrency falls after that).
/// `probe`, when given, is read as the window opens and closes.
gateway_result run_gateway(const settings& s, ssl::context& tls,
                           const std::vector<enrolled_user>& users, std::size_t first,
                           std::size_t last, std::chrono::milliseconds warmup,
                           std::chrono::milliseconds duration,
                           const sspr::challenge::totp_params& params, password_source& passwords,
                           const cpu_meter& meter,
                           const std::function<std::optional<double>()>& probe = {}) {
    gateway_result r;
    std::vector<gateway_tally> tallies(s.concurrency);
    std::atomic<std::size_t> next{first};
    std::atomic<bool> stop{false};
    const auto begin = steady::now();
    r.window = {begin + warmup, begin + warmup + duration};
    std::atomic<steady::rep> ran_out_at{std::numeric_limits<steady::rep>::max()};
    const std::uint64_t mark = log_mark(s);
    std::jthread sampler([&](const std::stop_token& st) {
        std::this_thread::sleep_until(r.window.start);
        r.cpu_start = meter.sample();
        if (probe) {
            r.probe_start = {probe(), steady::now()};
        }
        while (!st.stop_requested() && steady::now() < r.window.end &&
               steady::time_point(steady::duration(ran_out_at.load())) > steady::now()) {
            std::this_thread::sleep_for(5ms);
        }
        r.cpu_end = meter.sample();
        if (probe) {
            r.probe_end = {probe(), steady::now()};
        }
    });
    on_workers(s, tls, s.concurrency, stop, [&](std::size_t t, api_client& client) {
        gateway_tally& g = tallies[t];
        for (;;) {
            if (stop.load() || steady::now() >= r.window.end) {
                return;
            }
            const std::size_t i = next++;
            if (i >= last) {
                auto expected = std::numeric_limits<steady::rep>::max();
                ran_out_at.compare_exchange_strong(expected,
                                                   steady::now().time_since_epoch().count());
                return;
            }
            const enrolled_user& u = users[i];
            const auto t0 = steady::now();
            const reply started =
                client.post("/api/v1/reset/start", json::object{{"username", u.login}});
            if (started.status != 200) {
                refused("reset start " + u.login, started);
            }
            const std::string flow = text_field(started.body, "flow", "reset start");
            bool offered = false;
            if (const auto* methods = started.body.as_object().if_contains("methods");
                methods != nullptr && methods->is_array()) {
                for (const auto& m : methods->as_array()) {
                    const auto* id = m.is_object() ? m.as_object().if_contains("id") : nullptr;
                    if (id != nullptr && id->is_string() && id->as_string() == "totp") {
                        offered = true;
                    }
                }
            }
            if (!offered) {
                refused("reset start " + u.login + " offers no totp", started);
            }
            const auto now_step = sspr::challenge::totp_step(system_clock::now(), params.period);
            const auto code =
                sspr::challenge::totp_at(u.key, std::max(now_step, u.step + 1), params);
            const reply verified = client.post(
                "/api/v1/reset/verify",
                json::object{{"flow", flow}, {"method", "totp"}, {"code", code.reveal()}});
            if (verified.status != 200) {
                refused("reset verify " + u.login, verified);
            }
            const auto* passed = verified.body.as_object().if_contains("gates_passed");
            const auto* required = verified.body.as_object().if_contains("gates_required");
            if (passed == nullptr || required == nullptr || *passed != *required) {
                refused("reset verify " + u.login + " left gates open", verified);
            }
            const reply completed =
                client.post("/api/v1/reset/complete",
                            json::object{{"flow", flow}, {"new_password", passwords.next('G')}});
            if (completed.status != 200 ||
                text_field(completed.body, "result", "complete") != "changed") {
                refused("reset complete " + u.login, completed);
            }
            const auto t1 = steady::now();
            ++g.all_flows;
            const auto cut = steady::time_point(steady::duration(ran_out_at.load()));
            if (r.window.contains(t1) && t1 < cut) {
                ++g.flows;
                g.start.add(ms(started.took));
                g.verify.add(ms(verified.took));
                g.complete.add(ms(completed.took));
                g.flow.add(ms(t1 - t0));
            }
        }
    });
    sampler.request_stop();
    sampler.join();
    r.ops = s.slapd_log.empty() ? op_counts{} : count_ops(s.slapd_log, mark, log_mark(s));
    if (const auto cut = ran_out_at.load(); cut != std::numeric_limits<steady::rep>::max()) {
        const auto at = steady::time_point(steady::duration(cut));
        if (at < r.window.end) {
            r.window.end = std::max(at, r.window.start + 1ms);
            r.ran_out = true;
        }
    }
    for (auto& g : tallies) {
        r.tally.flows += g.flows;
        r.tally.all_flows += g.all_flows;
        r.tally.start.merge(g.start);
        r.tally.verify.merge(g.verify);
        r.tally.complete.merge(g.complete);
        r.tally.flow.merge(g.flow);
    }
    return r;
}

// --- the raw ceiling: the same LDAP operations per flow, libldap async, one thread ------------

std::string escape_filter_value(std::string_view v) {
    // RFC 4515: *, (, ), \ and NUL as \XX.
    std::string out;
    for (const char ch : v) {
        if (ch == '*' || ch == '(' || ch == ')' || ch == '\\' || ch == '\0') {
            static constexpr char hex[] = "0123456789abcdef";
            const auto b = static_cast<unsigned char>(ch);
            out += '\\';
            out += hex[b >> 4U];
            out += hex[b & 0xfU];
        } else {
            out += ch;
        }
    }
    return out;
}

/// Where a virtual flow is: the gateway's steps, each operation waiting for the one before, as
/// the flows engine issues them for a user in no group with no rule filters.
enum class stage {
    invalid = 0,
    find_user,       // start: subtree search for the login (directory::find_user)
    start_groups,    // start: membership search, depth 0 (groups_of; none below it)
    verify_read,     // verify: base read of the DN (read_user)
    verify_groups,   // verify: membership search
    complete_read,   // complete: base read
    complete_groups, // complete: membership search
    complete_state,  // complete: base read of the lock attributes (reset_password's read_state)
    modifying,       // complete: Password Modify exop with the ppolicy control
    waiting_for_bind,
    binding, // complete: the verifying bind as the user with the new password, on a bind connection
};

struct virtual_flow {
    stage at = stage::invalid;
    std::size_t user = 0;
    std::string dn;
    std::string password;
    steady::time_point began;
    steady::time_point modify_sent;
};

struct raw_result {
    std::uint64_t flows = 0;
    std::uint64_t all_flows = 0;
    time_window window;
    cpu_sample cpu_start;
    cpu_sample cpu_end;
    latencies flow, modify_bind;
    op_counts ops;

    [[nodiscard]] double rate() const { return static_cast<double>(flows) / window.seconds(); }
};

/// One thread, `connections` service connections carrying any number of operations at once
/// (least busy first), as many bind connections taking one bind at a time (LDAP allows nothing
/// else on a connection while a bind is outstanding), and `concurrency` virtual flows over the
/// users in turn.
class raw_flows {
public:
    /// `paced_rate` > 0: flows begin at that many per second (still at most `concurrency` at
    /// once), to see the latencies at the gateway's load; 0: each flow begins as the one before
    /// it in its slot ends (the ceiling).
    raw_flows(const settings& s, password_source& passwords, const cpu_meter& meter,
              double paced_rate = 0.0)
        : s_(s), passwords_(passwords), meter_(meter), flows_(s.concurrency),
          paced_rate_(paced_rate) {
        for (std::size_t i = 0; i < s.connections; ++i) {
            service_.push_back(sspr::bench::connect_raw(s.ldap_uri, s.ldap_ca, s.bind_dn,
                                                        s.bind_password.reveal()));
            binders_.push_back(sspr::bench::connect_raw(s.ldap_uri, s.ldap_ca, std::nullopt, ""));
            free_binders_.push_back(i);
        }
    }

    raw_result run() {
        raw_result r;
        const auto begin = steady::now();
        r.window = {begin + s_.raw_warmup, begin + s_.raw_warmup + s_.raw_duration};
        const std::uint64_t mark = log_mark(s_);
        bool started = false;
        bool ended = false;
        auto last_progress = steady::now();
        std::vector<pollfd> fds;
        std::vector<raw_connection*> polled;
        result_ = &r;
        for (std::size_t f = 0; f < flows_.size(); ++f) {
            idle_.push_back(f);
        }
        next_begin_ = begin;
        for (;;) {
            begin_flows();
            const auto now = steady::now();
            if (!started && now >= r.window.start) {
                r.cpu_start = meter_.sample();
                started = true;
            }
            if (!ended && now >= r.window.end) {
                r.cpu_end = meter_.sample();
                ended = true;
            }
            start_binds();
            if (busy_ == 0 && now >= r.window.end) {
                break;
            }
            if (now - last_progress > 10s) {
                throw std::runtime_error("raw_libldap: no answer from slapd for 10 s");
            }
            fds.clear();
            polled.clear();
            bool ready = false;
            for (auto* group : {&service_, &binders_}) {
                for (auto& c : *group) {
                    if (!c.in_flight.empty()) {
                        fds.push_back({c.fd, POLLIN, 0});
                        polled.push_back(&c);
                        ready = ready || sspr::bench::buffered(c);
                    }
                }
            }
            // Answers already read off the socket (into GnuTLS or libldap's buffer) no longer
            // wake poll(): look again at once instead of waiting for bytes that will not come.
            int wait_ms = ready ? 0 : 50;
            if (paced_rate_ > 0.0 && !idle_.empty() && now < r.window.end) {
                wait_ms = std::min(
                    wait_ms, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(
                                                  std::max(next_begin_ - now, steady::duration{}))
                                                  .count()));
            }
            if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), wait_ms) < 0 &&
                errno != EINTR) {
                throw std::runtime_error("raw_libldap: poll failed");
            }
            for (std::size_t i = 0; i < fds.size(); ++i) {
                raw_connection& c = *polled[i];
                if ((fds[i].revents != 0 || sspr::bench::buffered(c)) &&
                    sspr::bench::drain(
                        c, [&](std::size_t f, LDAPMessage* msg) { on_answer(c, f, msg); }) > 0) {
                    last_progress = steady::now();
                }
            }
        }
        result_ = nullptr;
        r.ops = s_.slapd_log.empty() ? op_counts{} : count_ops(s_.slapd_log, mark, log_mark(s_));
        return r;
    }

private:
    /// Begins a flow in every idle slot (closed loop), or in as many as the pace allows by now.
    void begin_flows() {
        const auto now = steady::now();
        while (!idle_.empty() && now < result_->window.end) {
            if (paced_rate_ > 0.0) {
                if (now < next_begin_) {
                    return;
                }
                next_begin_ += std::chrono::duration_cast<steady::duration>(
                    std::chrono::duration<double>(1.0 / paced_rate_));
            }
            const std::size_t f = idle_.front();
            idle_.pop_front();
            begin_flow(f);
        }
    }

    void begin_flow(std::size_t f) {
        virtual_flow& v = flows_[f];
        v.user = next_user_++ % s_.users;
        v.began = steady::now();
        v.dn.clear();
        ++busy_;
        const std::string filter =
            "(&(objectClass=person)(uid=" + escape_filter_value(login_of(s_, v.user)) + "))";
        search(f, stage::find_user, s_.base_dn, LDAP_SCOPE_SUBTREE, filter, user_attributes, 2);
    }

    raw_connection& least_busy() {
        return *std::min_element(service_.begin(), service_.end(), [](auto& a, auto& b) {
            return a.in_flight.size() < b.in_flight.size();
        });
    }

    void search(std::size_t f, stage next, const std::string& base, int scope,
                const std::string& filter, const std::vector<std::string>& attributes,
                int size_limit) {
        raw_connection& c = least_busy();
        std::vector<char*> attrs;
        attrs.reserve(attributes.size() + 1);
        for (const auto& a : attributes) {
            attrs.push_back(const_cast<char*>(a.c_str()));
        }
        attrs.push_back(nullptr);
        timeval limit{10, 0};
        int msgid = 0;
        if (const int rc =
                ldap_search_ext(c.ld.get(), base.c_str(), scope, filter.c_str(), attrs.data(), 0,
                                nullptr, nullptr, &limit, size_limit, &msgid);
            rc != LDAP_SUCCESS) {
            sspr::bench::raw_fail(c.ld.get(), rc, "search " + base);
        }
        flows_[f].at = next;
        c.in_flight.emplace(msgid, f);
    }

    void groups(std::size_t f, stage next) {
        const std::string v = escape_filter_value(flows_[f].dn);
        search(f, next, s_.base_dn, LDAP_SCOPE_SUBTREE,
               "(|(member=" + v + ")(uniqueMember=" + v + "))", {"cn"}, max_groups);
    }

    void read_user(std::size_t f, stage next) {
        search(f, next, flows_[f].dn, LDAP_SCOPE_BASE, "(objectClass=*)", user_attributes, 1);
    }

    void start_binds() {
        while (!bind_queue_.empty() && !free_binders_.empty()) {
            const std::size_t f = bind_queue_.front();
            bind_queue_.pop_front();
            raw_connection& c = binders_[free_binders_.back()];
            free_binders_.pop_back();
            berval cred = sspr::bench::as_berval(flows_[f].password);
            LDAPControl* ctrls[] = {c.ppolicy.get(), nullptr};
            int msgid = 0;
            if (const int rc = ldap_sasl_bind(c.ld.get(), flows_[f].dn.c_str(), LDAP_SASL_SIMPLE,
                                              &cred, ctrls, nullptr, &msgid);
                rc != LDAP_SUCCESS) {
                sspr::bench::raw_fail(c.ld.get(), rc, "bind as " + flows_[f].dn);
            }
            flows_[f].at = stage::binding;
            c.in_flight.emplace(msgid, f);
        }
    }

    /// The entry of a one-entry answer; refuses none, several, or an administrative lock.
    LDAPMessage* one_entry(raw_connection& c, LDAPMessage* msg, const std::string& what) {
        if (ldap_count_entries(c.ld.get(), msg) != 1) {
            throw std::runtime_error("raw_libldap: " + what + " did not return one entry");
        }
        LDAPMessage* e = ldap_first_entry(c.ld.get(), msg);
        const sspr::bench::values_ptr locked(
            ldap_get_values_len(c.ld.get(), e, const_cast<char*>("pwdAccountLockedTime")));
        if (locked && locked.get()[0] != nullptr &&
            std::string_view(locked.get()[0]->bv_val, locked.get()[0]->bv_len) == admin_lock) {
            throw std::runtime_error("raw_libldap: " + what + ": the account is disabled");
        }
        return e;
    }

    void no_groups(raw_connection& c, LDAPMessage* msg, const std::string& dn) {
        sspr::bench::expect_success(c, msg, "group search for " + dn);
        if (ldap_count_entries(c.ld.get(), msg) != 0) {
            // One more search per depth level would follow; the bench users are in no group.
            throw std::runtime_error("raw_libldap: " + dn +
                                     " is in a group; bench users must not be");
        }
    }

    void on_answer(raw_connection& c, std::size_t f, LDAPMessage* msg) {
        virtual_flow& v = flows_[f];
        switch (v.at) {
        case stage::find_user: {
            const std::string login = login_of(s_, v.user);
            sspr::bench::expect_success(c, msg, "search for " + login);
            LDAPMessage* e = one_entry(c, msg, "search for " + login);
            const sspr::bench::ldap_string_ptr dn(ldap_get_dn(c.ld.get(), e));
            if (!dn) {
                throw std::runtime_error("raw_libldap: entry of " + login + " without a DN");
            }
            v.dn = dn.get();
            return groups(f, stage::start_groups);
        }
        case stage::start_groups:
            no_groups(c, msg, v.dn);
            return read_user(f, stage::verify_read);
        case stage::verify_read:
            sspr::bench::expect_success(c, msg, "read " + v.dn);
            one_entry(c, msg, "read " + v.dn);
            return groups(f, stage::verify_groups);
        case stage::verify_groups:
            no_groups(c, msg, v.dn);
            return read_user(f, stage::complete_read);
        case stage::complete_read:
            sspr::bench::expect_success(c, msg, "read " + v.dn);
            one_entry(c, msg, "read " + v.dn);
            return groups(f, stage::complete_groups);
        case stage::complete_groups:
            no_groups(c, msg, v.dn);
            return search(f, stage::complete_state, v.dn, LDAP_SCOPE_BASE, "(objectClass=*)",
                          state_attributes, 1);
        case stage::complete_state: {
            sspr::bench::expect_success(c, msg, "state of " + v.dn);
            one_entry(c, msg, "state of " + v.dn);
            v.password = passwords_.next('R');
            raw_connection& w = least_busy();
            berval id = sspr::bench::as_berval(v.dn);
            berval pw = sspr::bench::as_berval(v.password);
            LDAPControl* ctrls[] = {w.ppolicy.get(), nullptr};
            int msgid = 0;
            v.modify_sent = steady::now();
            if (const int rc = ldap_passwd(w.ld.get(), &id, nullptr, &pw, ctrls, nullptr, &msgid);
                rc != LDAP_SUCCESS) {
                sspr::bench::raw_fail(w.ld.get(), rc, "password modify " + v.dn);
            }
            v.at = stage::modifying;
            w.in_flight.emplace(msgid, f);
            return;
        }
        case stage::modifying:
            sspr::bench::expect_success(c, msg, "password modify " + v.dn);
            v.at = stage::waiting_for_bind;
            bind_queue_.push_back(f);
            return;
        case stage::binding: {
            sspr::bench::expect_success(c, msg, "bind as " + v.dn + " with the new password");
            free_binders_.push_back(static_cast<std::size_t>(&c - binders_.data()));
            const auto now = steady::now();
            --busy_;
            ++result_->all_flows;
            if (result_->window.contains(now)) {
                ++result_->flows;
                result_->flow.add(ms(now - v.began));
                result_->modify_bind.add(ms(now - v.modify_sent));
            }
            v.at = stage::invalid;
            idle_.push_back(f);
            return;
        }
        case stage::invalid:
        case stage::waiting_for_bind:
            break;
        }
        throw std::runtime_error("raw_libldap: answer for " + v.dn + " in an unexpected state");
    }

    const settings& s_;
    password_source& passwords_;
    const cpu_meter& meter_;
    std::vector<raw_connection> service_;
    std::vector<raw_connection> binders_;
    std::vector<virtual_flow> flows_;
    double paced_rate_;
    std::deque<std::size_t> idle_;  // slots with no flow
    steady::time_point next_begin_; // paced: when the next flow may begin
    std::deque<std::size_t> bind_queue_;
    std::vector<std::size_t> free_binders_;
    std::size_t next_user_ = 0;
    std::size_t busy_ = 0;         // flows with an operation outstanding or queued
    raw_result* result_ = nullptr; // the run in progress
};

// --- the flood: another process hitting the same ssprd during a gateway round -----------------

/// bench/front_bench.lua's last line, "front: requests=N duration_us=N rps=N … unexpected=N …",
/// as key → value.
using flood_summary = std::map<std::string, std::string, std::less<>>;

double summary_number(const flood_summary& f, std::string_view key) {
    const auto it = f.find(key);
    if (it == f.end()) {
        throw std::runtime_error("flood: no " + std::string(key) + "= in its summary");
    }
    return std::stod(it->second);
}

/// The flood program (--flood-exec, no arguments), its standard output and error in --flood-log.
/// stop() sends SIGINT (wrk then ends its run and prints its summary, front_bench.lua's line
/// included) and kills it should it not exit in time; the destructor kills it if it still runs.
class flood_process {
public:
    flood_process(const std::string& exec, std::string log) : log_(std::move(log)) {
        struct spawn_setup {
            posix_spawn_file_actions_t actions{};
            posix_spawnattr_t attributes{};
            spawn_setup() {
                ::posix_spawn_file_actions_init(&actions);
                ::posix_spawnattr_init(&attributes);
            }
            ~spawn_setup() {
                ::posix_spawnattr_destroy(&attributes);
                ::posix_spawn_file_actions_destroy(&actions);
            }
            spawn_setup(const spawn_setup&) = delete;
            spawn_setup& operator=(const spawn_setup&) = delete;
            spawn_setup(spawn_setup&&) = delete;
            spawn_setup& operator=(spawn_setup&&) = delete;
        } setup;
        ::posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
        ::posix_spawn_file_actions_addopen(&setup.actions, 1, log_.c_str(),
                                           O_WRONLY | O_CREAT | O_TRUNC, 0600);
        ::posix_spawn_file_actions_adddup2(&setup.actions, 1, 2);
        // This process ignores SIGPIPE (ignore_sigpipe); the flood gets the defaults back.
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        sigaddset(&defaults, SIGINT);
        ::posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
        ::posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGDEF);
        std::string path = exec;
        char* argv[] = {path.data(), nullptr};
        if (const int rc = ::posix_spawn(&pid_, path.c_str(), &setup.actions, &setup.attributes,
                                         argv, environ);
            rc != 0) {
            throw std::runtime_error("flood: cannot start " + exec + ": " + std::strerror(rc));
        }
    }
    ~flood_process() {
        if (running()) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    flood_process(const flood_process&) = delete;
    flood_process& operator=(const flood_process&) = delete;
    flood_process(flood_process&&) = delete;
    flood_process& operator=(flood_process&&) = delete;

    [[nodiscard]] pid_t pid() const { return pid_; }

    /// False once it has exited (and been reaped).
    bool running() {
        if (exited_) {
            return false;
        }
        int status = 0;
        const pid_t r = ::waitpid(pid_, &status, WNOHANG);
        if (r == pid_ || r < 0) {
            exited_ = true;
            status_ = status;
            return false;
        }
        return true;
    }

    /// SIGINT, up to `grace` for it to exit (SIGKILL after that), then its summary line.
    flood_summary stop(steady::duration grace) {
        if (running()) {
            ::kill(pid_, SIGINT);
        }
        const auto deadline = steady::now() + grace;
        while (running()) {
            if (steady::now() >= deadline) {
                ::kill(pid_, SIGKILL);
                ::waitpid(pid_, nullptr, 0);
                exited_ = true;
                throw std::runtime_error("flood: still running " +
                                         fixed(std::chrono::duration<double>(grace).count(), 0) +
                                         " s after SIGINT; killed");
            }
            std::this_thread::sleep_for(20ms);
        }
        if (!WIFEXITED(status_) || WEXITSTATUS(status_) != 0) {
            throw std::runtime_error("flood: exited with status " + std::to_string(status_) + ": " +
                                     log_tail());
        }
        std::ifstream in(log_);
        std::string line;
        std::string last;
        while (std::getline(in, line)) {
            if (line.rfind("front: ", 0) == 0) {
                last = line;
            }
        }
        if (last.empty()) {
            throw std::runtime_error("flood: no \"front:\" line in " + log_ + ": " + log_tail());
        }
        flood_summary f;
        std::istringstream fields(last.substr(7));
        std::string kv;
        while (fields >> kv) {
            if (const auto eq = kv.find('='); eq != std::string::npos) {
                f[kv.substr(0, eq)] = kv.substr(eq + 1);
            }
        }
        return f;
    }

    /// The end of its output, for error messages.
    [[nodiscard]] std::string log_tail() const {
        std::ifstream in(log_);
        std::ostringstream out;
        out << in.rdbuf();
        std::string text = out.str();
        constexpr std::size_t keep = 600;
        return text.size() > keep ? "..." + text.substr(text.size() - keep) : text;
    }

private:
    std::string log_;
    pid_t pid_ = 0;
    bool exited_ = false;
    int status_ = 0;
};

// --- set-up and report
// ----------------------------------------------------------------------------

std::string read_secret_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path);
    }
    std::ostringstream out;
    out << in.rdbuf();
    std::string v = out.str();
    while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) {
        v.pop_back();
    }
    return v;
}

std::string mib(std::optional<std::uint64_t> kib) {
    return kib ? fixed(static_cast<double>(*kib) / 1024.0, 1) + " MiB" : std::string("unknown");
}

/// ssprd's resident memory now: VmRSS and how much of it is anonymous (heap, arenas, stacks) or
/// file-backed (the executable and shared libraries' pages, shared with other processes).
struct rss_sample {
    std::optional<std::uint64_t> total, anon, file;

    static rss_sample of(long pid) {
        return {sspr::bench::process_status_kib(pid, "VmRSS"),
                sspr::bench::process_status_kib(pid, "RssAnon"),
                sspr::bench::process_status_kib(pid, "RssFile")};
    }
    [[nodiscard]] std::string text() const {
        return mib(total) + " (anon " + mib(anon) + ", file " + mib(file) + ")";
    }
};

/// How long a reset start for a login nobody has takes now: the floor applies to it as to any.
steady::duration probe_start(const settings& s, ssl::context& tls) {
    api_client client(s, tls);
    const reply r = client.post("/api/v1/reset/start", json::object{{"username", "floor-probe"}});
    if (r.status != 200) {
        refused("probe start", r);
    }
    return r.took;
}

/// Refuses to measure when the floor is not what the run is named for (a start answered within
/// 100 ms has none; the shipped floor is 250 ms).
void expect_floor(const settings& s, ssl::context& tls, bool floored) {
    const auto took = probe_start(s, tls);
    if ((took >= 100ms) != floored) {
        throw std::runtime_error("gateway: a reset start took " + fixed(ms(took), 1) +
                                 " ms; expected the floor to be " + (floored ? "on" : "off"));
    }
}

/// Moves the floored configuration onto the one ssprd runs with and reloads it (SIGHUP), then
/// waits (at most 10 s) until a start meets the floor.
void use_floored_config(const settings& s, ssl::context& tls) {
    if (::rename(s.floored_config.c_str(), s.config.c_str()) != 0) {
        throw std::runtime_error("cannot move " + s.floored_config + " onto " + s.config);
    }
    if (::kill(static_cast<pid_t>(s.ssprd_pid), SIGHUP) != 0) {
        throw std::runtime_error("cannot send SIGHUP to ssprd (pid " + std::to_string(s.ssprd_pid) +
                                 ")");
    }
    const auto deadline = steady::now() + 10s;
    while (probe_start(s, tls) < 100ms) {
        if (steady::now() >= deadline) {
            throw std::runtime_error("gateway: the floor is still off 10 s after SIGHUP");
        }
        std::this_thread::sleep_for(200ms);
    }
}

void report_raw(std::size_t round, raw_result& r, const cpu_meter& meter) {
    std::cout << "round " << round << ": raw_libldap flows/s=" << fixed(r.rate(), 1) << " ("
              << r.flows << " flows; "
              << sspr::bench::cpu_report(meter, r.cpu_start, r.cpu_end, r.flows, "flow",
                                         r.window.seconds())
              << ")\n  flow " << r.flow.summary() << "; exop+bind " << r.modify_bind.summary()
              << "\n  slapd ops/flow: " << r.ops.per(r.all_flows) << "\n"
              << std::flush;
}

std::optional<settings> parse_args(int argc, char** argv, int& exit_code) {
    settings s;
    std::string gateway;
    std::string bind_password_file;
    double gateway_duration_s = 30.0;
    double floored_duration_s = 10.0;
    double gateway_warmup_s = 0.5;
    double floored_warmup_s = 2.0;
    double raw_duration_s = 5.0;
    double raw_warmup_s = 1.0;
    double idle_s = 2.0;
    double flood_warmup_s = 1.0;
    std::string metrics;
    // One option per line reads better than the formatter's packing.
    // clang-format off
    po::options_description options(
        "Usage: sspr_flow_bench [options]\n"
        "Enrolls USERS users with TOTP through the gateway, then runs their reset flows and the raw\n"
        "libldap ceiling (bench/run-flow-bench starts slapd and ssprd and passes all of this).\n\n"
        "Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("gateway", po::value(&gateway), "HOST:PORT of ssprd serve")
        ("gateway-ca", po::value(&s.gateway_ca), "CA file the gateway's certificate verifies against")
        ("source", po::value(&s.source), "local address every gateway connection is bound to (the client address ssprd sees), e.g. 127.0.1.1")
        ("flood-exec", po::value(&s.flood_exec), "run the gateway round (no floor) a second time, on the other half of its users, while this program runs (no arguments; started before the round, SIGINT after it; its last \"front: \" line as bench/front_bench.lua prints it is read)")
        ("flood-log", po::value(&s.flood_log), "with --flood-exec: the file its output goes to")
        ("flood-warmup", po::value(&flood_warmup_s)->default_value(flood_warmup_s), "with --flood-exec: seconds it runs before the round begins")
        ("flood-refused-early", po::bool_switch(&s.flood_refused_early), "with --flood-exec and --metrics: every flood answer must be an early refusal (a blocked address's start); their growth in the window is the flood's rate")
        ("metrics", po::value(&metrics), "HOST:PORT of ssprd's /metrics (plain HTTP): the flood's early refusals per second in the window")
        ("raw-only", po::bool_switch(&s.raw_only), "run the raw rounds alone (no gateway; the users exist already); no ratio")
        ("raw-rate", po::value(&s.raw_rate), "with --raw-only: begin this many flows per second instead of a closed loop")
        ("ssprd-pid", po::value(&s.ssprd_pid), "ssprd's PID (CPU time, idle RSS)")
        ("config", po::value(&s.config), "the configuration ssprd runs with (no timing floor)")
        ("floored-config", po::value(&s.floored_config), "the same with the shipped floor: moved onto --config and loaded with SIGHUP for the second run (none: no floored run)")
        ("ldap-uri", po::value(&s.ldap_uri)->required(), "ldaps:// URI of slapd")
        ("ldap-ca", po::value(&s.ldap_ca)->required(), "CA file of slapd's certificate")
        ("base-dn", po::value(&s.base_dn)->required(), "directory.base_dn")
        ("bind-dn", po::value(&s.bind_dn)->required(), "the service account")
        ("bind-password-file", po::value(&bind_password_file)->required(), "its password")
        ("slapd-pid", po::value(&s.slapd_pid), "slapd's PID (CPU time)")
        ("slapd-log", po::value(&s.slapd_log), "slapd's stats log (operations per flow)")
        ("user-prefix", po::value(&s.user_prefix)->default_value(s.user_prefix), "logins are PREFIX0001…")
        ("users,u", po::value(&s.users)->default_value(s.users), "users to enroll; each resets once through the gateway")
        ("concurrency,c", po::value(&s.concurrency)->default_value(s.concurrency), "flows in flight on both sides (gateway: threads with a connection each)")
        ("connections", po::value(&s.connections)->default_value(s.connections), "raw: service and as many bind connections (ssprd: directory.pool_size)")
        ("duration,d", po::value(&gateway_duration_s)->default_value(gateway_duration_s), "gateway without the floor: longest measured seconds (the window ends sooner when its users run out)")
        ("warmup", po::value(&gateway_warmup_s)->default_value(gateway_warmup_s), "gateway without the floor: seconds before the window")
        ("floored-warmup", po::value(&floored_warmup_s)->default_value(floored_warmup_s), "gateway with the floor: seconds before the window")
        ("floored-users", po::value(&s.floored_users)->default_value(s.floored_users), "gateway with the floor: the last this many users are kept for it")
        ("floored-duration", po::value(&floored_duration_s)->default_value(floored_duration_s), "gateway with the floor: longest measured seconds")
        ("raw-duration", po::value(&raw_duration_s)->default_value(raw_duration_s), "raw: measured seconds per round")
        ("raw-warmup", po::value(&raw_warmup_s)->default_value(raw_warmup_s), "raw: seconds before the window")
        ("idle", po::value(&idle_s)->default_value(idle_s), "seconds idle after the enrollment before ssprd's RSS is read (longer: time to look at /proc/PID/smaps)")
        ("raw-rounds,r", po::value(&s.raw_rounds)->default_value(s.raw_rounds), "raw rounds, before and after the gateway's run; the best is reported");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        if (vm.count("help") != 0U) {
            std::cout << options << "\n";
            exit_code = EXIT_SUCCESS;
            return std::nullopt;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "sspr_flow_bench: " << e.what() << "\n" << options << "\n";
        exit_code = 2;
        return std::nullopt;
    }
    const char* bad = nullptr;
    const auto colon = gateway.rfind(':');
    if (!s.raw_only && (colon == std::string::npos || colon == 0 || colon + 1 == gateway.size() ||
                        s.gateway_ca.empty())) {
        bad = "--gateway HOST:PORT and --gateway-ca are required (unless --raw-only)";
    } else if (s.concurrency < 1 || s.concurrency > 256) {
        bad = "--concurrency must be 1..256";
    } else if (s.connections < 1 || s.connections > 64) {
        bad = "--connections must be 1..64";
    } else if (s.users < s.concurrency || s.users > 9999) {
        bad = "--users must be at least --concurrency and at most 9999";
    } else if (!s.floored_config.empty() &&
               (s.config.empty() || s.ssprd_pid <= 0 || s.floored_users < s.concurrency ||
                s.floored_users + s.concurrency > s.users)) {
        bad = "--floored-config needs --config, --ssprd-pid and --floored-users in "
              "[concurrency, users - concurrency]";
    } else if (!(gateway_duration_s > 0.0 && gateway_duration_s <= 600.0) ||
               !(floored_duration_s > 0.0 && floored_duration_s <= 600.0) ||
               !(raw_duration_s > 0.0 && raw_duration_s <= 60.0) ||
               !(gateway_warmup_s >= 0.0 && gateway_warmup_s <= 60.0) ||
               !(floored_warmup_s >= 0.0 && floored_warmup_s <= 60.0) ||
               !(raw_warmup_s >= 0.0 && raw_warmup_s <= 60.0) ||
               !(idle_s >= 0.0 && idle_s <= 300.0)) {
        bad = "--duration and --floored-duration must be in (0, 600], --raw-duration in (0, 60], "
              "warm-ups in [0, 60], --idle in [0, 300]";
    } else if (s.raw_rounds > 10) {
        bad = "--raw-rounds must be 0..10";
    } else if (!s.flood_exec.empty() &&
               (s.raw_only || s.flood_log.empty() ||
                (s.users - (s.floored_config.empty() ? 0 : s.floored_users)) / 2 < s.concurrency)) {
        bad = "--flood-exec needs --flood-log, no --raw-only, and at least 2 x --concurrency users "
              "for the rounds without the floor";
    } else if (s.flood_refused_early && (s.flood_exec.empty() || metrics.empty())) {
        bad = "--flood-refused-early needs --flood-exec and --metrics";
    } else if (!(flood_warmup_s >= 0.0 && flood_warmup_s <= 60.0)) {
        bad = "--flood-warmup must be in [0, 60]";
    } else if (!metrics.empty() &&
               (metrics.rfind(':') == std::string::npos || metrics.rfind(':') == 0 ||
                metrics.rfind(':') + 1 == metrics.size())) {
        bad = "--metrics must be HOST:PORT";
    }
    if (bad == nullptr && !s.source.empty()) {
        boost::system::error_code ec;
        (void)net::ip::make_address(s.source, ec);
        if (ec) {
            bad = "--source must be an IP address";
        }
    }
    if (bad != nullptr) {
        std::cerr << "sspr_flow_bench: " << bad << "\n";
        exit_code = 2;
        return std::nullopt;
    }
    if (!s.raw_only) {
        s.host = gateway.substr(0, colon);
        s.port = gateway.substr(colon + 1);
    }
    try {
        s.bind_password = sspr::common::secret(read_secret_file(bind_password_file));
    } catch (const std::exception& e) {
        std::cerr << "sspr_flow_bench: --bind-password-file: " << e.what() << "\n";
        exit_code = 2;
        return std::nullopt;
    }
    auto to_ms = [](double secs) {
        return std::chrono::milliseconds(static_cast<std::int64_t>(secs * 1000.0));
    };
    s.gateway_duration = to_ms(gateway_duration_s);
    s.gateway_warmup = to_ms(gateway_warmup_s);
    s.floored_duration = to_ms(floored_duration_s);
    s.floored_warmup = to_ms(floored_warmup_s);
    s.raw_duration = to_ms(raw_duration_s);
    s.raw_warmup = to_ms(raw_warmup_s);
    s.idle = to_ms(idle_s);
    s.flood_warmup = to_ms(flood_warmup_s);
    if (!metrics.empty()) {
        s.metrics_host = metrics.substr(0, metrics.rfind(':'));
        s.metrics_port = metrics.substr(metrics.rfind(':') + 1);
    }
    return s;
}

} // namespace

int main(int argc, char** argv) {
    sspr::common::ignore_sigpipe(); // a vanished server is an error to report, not a signal
    int exit_code = 0;
    auto parsed = parse_args(argc, argv, exit_code);
    if (!parsed) {
        return exit_code;
    }
    const settings& s = *parsed;
    try {
        const sspr::challenge::totp_params params{}; // the gateway's: SHA-1, 6 digits, 30 s, ±1
        const cpu_meter meter({{"slapd", s.slapd_pid}, {"ssprd", s.ssprd_pid}});
        password_source passwords;
        if (s.raw_only) {
            for (std::size_t round = 1; round <= s.raw_rounds; ++round) {
                raw_flows bench(s, passwords, meter, s.raw_rate);
                raw_result r = bench.run();
                report_raw(round, r, meter);
            }
            return EXIT_SUCCESS;
        }
        ssl::context tls = client_tls(s);
        const auto rss_started = rss_sample::of(s.ssprd_pid);

        std::cout << "gateway: https://" << s.host << ":" << s.port << " (ssprd pid " << s.ssprd_pid
                  << "); slapd: " << s.ldap_uri << " (pid " << s.slapd_pid << ")\n"
                  << "config: " << s.concurrency << " flows in flight on both sides; gateway "
                  << s.concurrency << " threads with a keep-alive connection each; raw_libldap 1 "
                  << "thread, " << s.connections << " service + " << s.connections
                  << " bind connections\n"
                  << "users: " << login_of(s, 0) << ".." << login_of(s, s.users - 1) << " ("
                  << s.users << "), each reset once through the gateway\n"
                  << std::flush;

        const auto enrol_begin = steady::now();
        const auto mark = log_mark(s);
        auto users = enroll(s, tls, params);
        const double enrol_s = std::chrono::duration<double>(steady::now() - enrol_begin).count();
        const op_counts enrol_ops = count_ops(s.slapd_log, mark, log_mark(s));
        std::cout << "enroll: " << users.size() << " users with TOTP in " << fixed(enrol_s, 1)
                  << " s (" << fixed(static_cast<double>(users.size()) / enrol_s, 1)
                  << "/s, response_floor 0ms); slapd ops/user: " << enrol_ops.per(users.size())
                  << "\n"
                  << std::flush;

        std::this_thread::sleep_for(s.idle);
        const auto rss_idle = rss_sample::of(s.ssprd_pid);
        std::cout << "ssprd VmRSS: " << rss_started.text() << " after start, " << rss_idle.text()
                  << " after enrollment and "
                  << fixed(std::chrono::duration<double>(s.idle).count(), 0) << " s idle\n"
                  << std::flush;

        double busiest = 0.0;
        auto note_noise = [&](const cpu_sample& a, const cpu_sample& b, double seconds) {
            busiest = std::max(busiest, sspr::bench::other_cores(a, b, seconds).value_or(0.0));
        };
        std::optional<raw_result> best_raw;
        auto raw_round = [&](std::size_t round) {
            raw_flows bench(s, passwords, meter);
            raw_result r = bench.run();
            report_raw(round, r, meter);
            note_noise(r.cpu_start, r.cpu_end, r.window.seconds());
            if (!best_raw || r.rate() > best_raw->rate()) {
                best_raw = std::move(r);
            }
        };
        // The same flows at a gateway run's rate: the latencies its `complete` is compared with,
        // at the same load (the closed-loop rounds keep 32 flows queued at slapd).
        auto paced_round = [&](const gateway_result& g) -> std::optional<raw_result> {
            if (s.raw_rounds == 0 || g.rate() <= 0.0) {
                return std::nullopt;
            }
            raw_flows bench(s, passwords, meter, g.rate());
            raw_result r = bench.run();
            std::cout << "raw_libldap paced at " << fixed(g.rate(), 1) << " flows/s: flow "
                      << r.flow.summary() << "; exop+bind " << r.modify_bind.summary() << " ("
                      << r.flows << " flows; "
                      << sspr::bench::cpu_report(meter, r.cpu_start, r.cpu_end, r.flows, "flow",
                                                 r.window.seconds())
                      << ")\n"
                      << std::flush;
            note_noise(r.cpu_start, r.cpu_end, r.window.seconds());
            return r;
        };
        auto gateway_run = [&](const char* name, std::size_t first, std::size_t last,
                               std::chrono::milliseconds warmup, std::chrono::milliseconds duration,
                               const cpu_meter* other_meter = nullptr,
                               const std::function<std::optional<double>()>& probe = {}) {
            const cpu_meter& m = other_meter != nullptr ? *other_meter : meter;
            gateway_result g = run_gateway(s, tls, users, first, last, warmup, duration, params,
                                           passwords, m, probe);
            std::cout << "gateway " << name << ": flows/s=" << fixed(g.rate(), 1) << " ("
                      << g.tally.flows << " flows in " << fixed(g.window.seconds(), 1) << " s"
                      << (g.ran_out ? ", window closed when its users ran out" : "") << "; "
                      << sspr::bench::cpu_report(m, g.cpu_start, g.cpu_end, g.tally.flows, "flow",
                                                 g.window.seconds())
                      << ")\n  start " << g.tally.start.summary() << "; verify "
                      << g.tally.verify.summary() << "; complete " << g.tally.complete.summary()
                      << "; flow " << g.tally.flow.summary()
                      << "\n  slapd ops/flow: " << g.ops.per(g.tally.all_flows) << "\n"
                      << std::flush;
            note_noise(g.cpu_start, g.cpu_end, g.window.seconds());
            if (g.ran_out && g.window.seconds() < 1.0) {
                std::cout << "warning: its users ran out after " << fixed(g.window.seconds(), 2)
                          << " s of measuring; give more --users for a figure that means much\n";
            }
            return g;
        };

        // The same round again with the other half of its users, while the flood runs: started
        // flood_warmup before the round (its connections open and its rate settles), stopped
        // after it. Its CPU is metered as a server's, so other_cores still means the neighbours.
        auto flood_round = [&](std::size_t first, std::size_t last) {
            std::function<std::optional<double>()> early;
            if (s.flood_refused_early) {
                early = [&] { return read_metric(s, "ssprd_early_refusals_total"); };
            }
            const auto early_before = early ? early() : std::nullopt;
            std::optional<flood_process> flood(std::in_place, s.flood_exec, s.flood_log);
            std::this_thread::sleep_for(s.flood_warmup);
            if (!flood->running()) {
                throw std::runtime_error("flood: exited before the round: " + flood->log_tail());
            }
            const cpu_meter flood_meter(
                {{"slapd", s.slapd_pid}, {"ssprd", s.ssprd_pid}, {"flood", flood->pid()}});
            gateway_result gu =
                gateway_run("(response_floor 0ms, under flood)", first, last, s.gateway_warmup,
                            s.gateway_duration, &flood_meter, early);
            const bool outlasted = flood->running();
            flood_summary f = flood->stop(15s);
            flood.reset();
            const auto early_after = early ? early() : std::nullopt;
            if (!outlasted) {
                throw std::runtime_error("flood: ended before the round did (its duration is too "
                                         "short)");
            }
            const double checked = summary_number(f, "checked");
            if (checked <= 0 || summary_number(f, "unexpected") != 0 ||
                summary_number(f, "errors_connect") != 0) {
                throw std::runtime_error(
                    "flood: " + f["unexpected"] + " of " + f["checked"] +
                    " answers were not the expected status (first: " + f["first_unexpected"] +
                    "), " + f["errors_connect"] + " connect errors");
            }
            std::cout << "flood: " << f["requests"] << " requests in "
                      << fixed(summary_number(f, "duration_us") / 1e6, 1)
                      << " s, all the expected status; " << fixed(summary_number(f, "rps"), 0)
                      << " req/s over its run, p50=" << fixed(summary_number(f, "p50_us") / 1e3, 2)
                      << " p99=" << fixed(summary_number(f, "p99_us") / 1e3, 2)
                      << " ms; read/write/timeout errors " << f["errors_read"] << "/"
                      << f["errors_write"] << "/" << f["errors_timeout"] << "\n";
            if (early && (!early_before || !early_after)) {
                throw std::runtime_error("flood: cannot read ssprd_early_refusals_total from "
                                         "--metrics");
            }
            if (early_before && early_after) {
                const double refused = *early_after - *early_before;
                std::cout << "  ssprd early refusals meanwhile: " << fixed(refused, 0) << " ("
                          << f["checked"] << " flood answers)";
                if (const auto rate = gu.probe_rate()) {
                    std::cout << "; in the round's window " << fixed(*rate, 0) << "/s";
                }
                std::cout << "\n";
                if (refused < checked) {
                    throw std::runtime_error("flood: fewer early refusals than flood answers: some "
                                             "reached the worker pool");
                }
            }
            std::cout << std::flush;
            return std::make_pair(std::move(gu), std::move(f));
        };

        const bool floored_run = !s.floored_config.empty();
        const bool flood_run = !s.flood_exec.empty();
        const std::size_t floorless_last = floored_run ? s.users - s.floored_users : s.users;
        // Under a flood, the round without the floor runs twice, each time on half of its users.
        const std::size_t plain_last = flood_run ? floorless_last / 2 : floorless_last;
        std::size_t round = 1;
        for (; round <= (s.raw_rounds + 1) / 2; ++round) {
            raw_round(round);
        }
        expect_floor(s, tls, false);
        gateway_result g = gateway_run("(response_floor 0ms)", 0, plain_last, s.gateway_warmup,
                                       s.gateway_duration);
        for (; round <= s.raw_rounds; ++round) {
            raw_round(round);
        }
        auto paced = paced_round(g);
        std::optional<std::pair<gateway_result, flood_summary>> flooded;
        if (flood_run) {
            flooded = flood_round(plain_last, floorless_last);
        }
        std::optional<gateway_result> gf;
        std::optional<raw_result> paced_floored;
        if (floored_run) {
            use_floored_config(s, tls);
            gf = gateway_run("(response_floor as shipped)", floorless_last, s.users,
                             s.floored_warmup, s.floored_duration);
            paced_floored = paced_round(*gf);
        }

        if (busiest > max_quiet_other_cores) {
            std::cout << "warning: other processes used up to " << fixed(busiest, 2)
                      << " cores during the measured runs; the figures are not comparable\n";
        }
        auto compare_complete = [](const char* name, gateway_result& run,
                                   std::optional<raw_result>& raw) {
            std::cout << "complete " << name << " at " << fixed(run.rate(), 1) << " flows/s "
                      << run.tally.complete.summary();
            if (raw) {
                std::cout
                    << "; raw exop+bind at that rate " << raw->modify_bind.summary() << "; p99 gap="
                    << fixed(run.tally.complete.percentile(99) - raw->modify_bind.percentile(99), 2)
                    << " ms (target <= 2 ms)";
            }
            std::cout << "\n";
        };
        compare_complete("(no floor)", g, paced);
        if (flooded) {
            std::optional<raw_result> none;
            compare_complete("(no floor, under flood)", flooded->first, none);
        }
        if (gf) {
            compare_complete("(floor)", *gf, paced_floored);
        }
        std::cout << "ssprd idle VmRSS=" << mib(rss_idle.total) << " (target < 25 MiB)\n";
        if (gf) {
            // start and verify answer no earlier than the floor after the request arrived: the
            // run is bound at concurrency / (two floors + complete) flows/s.
            const double flow_ms =
                gf->tally.start.mean() + gf->tally.verify.mean() + gf->tally.complete.mean();
            std::cout << "gateway flows/s with the floor=" << fixed(gf->rate(), 1)
                      << " (bound: " << s.concurrency << " flows / " << fixed(flow_ms, 1)
                      << " ms = "
                      << fixed(static_cast<double>(s.concurrency) / (flow_ms / 1000.0), 1) << ")\n";
        }
        std::cout << "gateway flows/s=" << fixed(g.rate(), 1) << " (response_floor 0ms)\n";
        if (flooded) {
            auto& [gu, f] = *flooded;
            std::cout << "gateway flows/s under flood=" << fixed(gu.rate(), 1) << " ("
                      << fixed(gu.rate() / g.rate(), 2) << " of the rate without)\n"
                      << "complete_p99_under_flood_ms="
                      << fixed(gu.tally.complete.percentile(99), 2)
                      << " (without: " << fixed(g.tally.complete.percentile(99), 2) << ")\n"
                      << "flood_rps="
                      << fixed(gu.probe_rate().value_or(summary_number(f, "rps")), 0)
                      << (gu.probe_rate() ? " (early refusals in the round's window)"
                                          : " (wrk, over its run)")
                      << "\n";
        }
        if (!best_raw) {
            std::cout << "no raw round: no ratio\n";
            return EXIT_SUCCESS;
        }
        const double raw_rate = best_raw->rate();
        std::cout << "raw_libldap flows/s=" << fixed(raw_rate, 1) << "\n";
        if (raw_rate <= 0.0) {
            throw std::runtime_error("raw_libldap completed no flow in the measured time");
        }
        // What a flow costs the directory side: the raw loop (an ideal client) + slapd against
        // ssprd + slapd; the HTTP client is left out on both sides.
        const auto raw_cpu =
            sspr::bench::cpu_seconds(meter, best_raw->cpu_start, best_raw->cpu_end, {"", "slapd"});
        const auto gw_cpu =
            sspr::bench::cpu_seconds(meter, g.cpu_start, g.cpu_end, {"ssprd", "slapd"});
        if (raw_cpu && gw_cpu && best_raw->flows > 0 && g.tally.flows > 0) {
            std::cout << "cpu_us/flow without the client: raw_libldap+slapd="
                      << std::lround(*raw_cpu * 1e6 / static_cast<double>(best_raw->flows))
                      << " ssprd+slapd="
                      << std::lround(*gw_cpu * 1e6 / static_cast<double>(g.tally.flows)) << "\n";
        }
        if (gf) {
            std::cout << "flow_ratio_with_floor=" << fixed(gf->rate() / raw_rate, 3) << "\n";
        }
        std::cout << "flow_ratio=" << fixed(g.rate() / raw_rate, 2) << "\n";
        if (flooded) {
            // The definition: against the raw directory ceiling, as flow_ratio.
            std::cout << "flow_ratio_under_flood=" << fixed(flooded->first.rate() / raw_rate, 2)
                      << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "sspr_flow_bench: " << e.what() << "\n";
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
