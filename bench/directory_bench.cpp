// Password resets per second through sspr::ldap, against a raw libldap async loop doing the same
// LDAP work over the same number of connections to the same slapd. The ratio says what the
// library's blocking, one-operation-per-connection design costs next to what the server and the
// wire allow. Reads the OpenLDAP endpoint from the test environment (SSPR_TESTENV_FILE); run it
// through bench/run-directory-bench, which starts and stops that environment. See bench/README.md.
#include "bench/support/cpu.hpp"
#include "bench/support/raw_ldap.hpp"
#include "common/clock.hpp"
#include "common/process.hpp"
#include "ldap/config.hpp"
#include "ldap/directory.hpp"
#include "ldap/ldap_directory.hpp"
#include "tests/integration/testenv.hpp"

#include <boost/program_options.hpp>

#include <lber.h>
#include <ldap.h>
#include <poll.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace po = boost::program_options;
using namespace std::chrono_literals;

namespace {

using steady = std::chrono::steady_clock;
using sspr::bench::as_berval;
using sspr::bench::buffered;
using sspr::bench::cpu_meter;
using sspr::bench::cpu_sample;
using sspr::bench::expect_success;
using sspr::bench::fixed;
using sspr::bench::raw_connection;
using sspr::bench::raw_fail;
using sspr::bench::values_ptr;

struct settings {
    std::size_t connections = 4;
    std::size_t threads = 0; // 0: C * library_window, at most one per user
    std::size_t window = 8;
    /// sspr_ldap's directory.pipeline_window; the product's default unless given.
    std::size_t library_window = sspr::ldap::config{}.pipeline_window;
    std::chrono::milliseconds duration{5000};
    std::chrono::milliseconds warmup{1000};
    std::size_t rounds = 2;
    // Both by default; --only runs one side (for a profiler), and no ratio is printed.
    bool run_library = true;
    bool run_raw = true;
};

/// The slapd under test and the users the bench may reset (t11…t30; t01…t10 stay untouched).
struct endpoint {
    std::string uri;
    std::string base;
    std::string bind_dn;
    sspr::common::secret bind_password;
    std::string ca_file;
    std::string user_password; // the test data's initial password, restored at the end
    std::vector<std::string> user_dns;
};

// Above this much CPU taken by other processes during a run, the bench warns (see main).
constexpr double max_quiet_other_cores = 0.25;

constexpr int first_user = 11;
constexpr int last_user = 30;
constexpr auto user_count =
    static_cast<std::size_t>(last_user) - static_cast<std::size_t>(first_user) + 1;
// OpenLDAP ppolicy's administrative lock, which the library refuses to reset.
constexpr std::string_view admin_lock = "000001010000Z";

sspr::ldap::config library_config(const endpoint& ep, std::size_t pool_size,
                                  std::size_t pipeline_window) {
    sspr::ldap::config cfg;
    cfg.uris = {ep.uri};
    cfg.dialect = sspr::ldap::dialect_choice::openldap;
    cfg.base_dn = ep.base;
    cfg.bind_dn = ep.bind_dn;
    cfg.bind_password = ep.bind_password;
    cfg.ca_file = ep.ca_file;
    cfg.connect_timeout = 2000ms;
    cfg.operation_timeout = 5000ms;
    cfg.pool_size = pool_size;
    cfg.pipeline_window = pipeline_window;
    return cfg;
}

/// Fresh passwords, unique within the process and, through the nonce, across runs against the
/// same environment, so pwdInHistory never refuses one. They meet the test policy (length 8).
class password_source {
public:
    password_source() : nonce_(std::random_device{}() & 0xffffffU) {}

    std::string next(char side) {
        const auto n = counter_.fetch_add(1, std::memory_order_relaxed);
        return "Bench-" + std::string(1, side) + "-" + std::to_string(nonce_) + "-" +
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
};

time_window window_from_now(const settings& s) {
    const auto start = steady::now() + s.warmup;
    return {start, start + s.duration};
}

/// One timed run: completions whose end fell inside the measured window, after the warm-up.
struct run_result {
    std::uint64_t resets = 0;
    std::chrono::duration<double> measured{};
    cpu_sample cpu_start;
    cpu_sample cpu_end;

    [[nodiscard]] double rate() const { return static_cast<double>(resets) / measured.count(); }

    /// Where the CPU went over the measured window: "client_cpu_us/reset=… client_csw/reset=…
    /// slapd_cpu_us/reset=… other_cores=…", the last being everything else running on the machine
    /// (a figure measured while other work ran is not comparable).
    [[nodiscard]] std::string cpu_report(const cpu_meter& meter) const {
        if (resets == 0) {
            return "no resets";
        }
        return sspr::bench::cpu_report(meter, cpu_start, cpu_end, resets, "reset",
                                       measured.count());
    }

    /// CPU cores used on average by everything but this process and slapd.
    [[nodiscard]] std::optional<double> other_cores() const {
        return sspr::bench::other_cores(cpu_start, cpu_end, measured.count());
    }
};

// --- side A: sspr::ldap ------------------------------------------------------------------------

/// T threads call directory::reset_password in a loop; worker w owns users w, w+T, … so no user is
/// ever reset by two threads at once.
run_result run_library(const endpoint& ep, const settings& s, password_source& passwords,
                       const cpu_meter& meter) {
    const auto dir = sspr::ldap::make_directory(library_config(ep, s.connections, s.library_window),
                                                sspr::common::make_system_clock());
    std::atomic<bool> stop{false};
    std::mutex failure_mutex;
    std::optional<std::string> first_failure; // guarded by failure_mutex
    std::vector<std::uint64_t> counts(s.threads, 0);
    const time_window w = window_from_now(s);
    run_result r;
    {
        std::vector<std::jthread> workers;
        workers.reserve(s.threads);
        for (std::size_t t = 0; t < s.threads; ++t) {
            workers.emplace_back([&, t] {
                std::vector<const std::string*> mine;
                for (std::size_t u = t; u < ep.user_dns.size(); u += s.threads) {
                    mine.push_back(&ep.user_dns[u]);
                }
                const sspr::ldap::reset_options options{};
                for (std::size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
                    if (steady::now() >= w.end) {
                        return;
                    }
                    const std::string& dn = *mine[i % mine.size()];
                    auto done = dir->reset_password(dn, passwords.next('A'), options);
                    if (!done) {
                        const std::lock_guard lock(failure_mutex);
                        if (!first_failure) {
                            first_failure = "sspr_ldap: reset_password(" + dn +
                                            ") failed: " + done.error().code.message() + ": " +
                                            done.error().diagnostic;
                        }
                        stop.store(true);
                        return;
                    }
                    if (w.contains(steady::now())) {
                        ++counts[t];
                    }
                }
            });
        }
        std::this_thread::sleep_until(w.start);
        r.cpu_start = meter.sample();
        std::this_thread::sleep_until(w.end);
        r.cpu_end = meter.sample();
    }
    if (first_failure) {
        throw std::runtime_error(*first_failure);
    }
    for (const auto c : counts) {
        r.resets += c;
    }
    r.measured = w.end - w.start;
    return r;
}

// --- side B: raw libldap async loop ------------------------------------------------------------

/// Where one reset is. A user has at most one reset in flight, so its job is found by user index.
enum class stage {
    invalid = 0,
    searching,        // base search for the lock attributes, on a service connection
    modifying,        // Password Modify exop, on the same service connection
    waiting_for_bind, // queued for a free bind connection
    binding,          // verification bind as the user, alone on its bind connection
};

struct job {
    stage at = stage::invalid;
    std::string password;
};

/// One thread, C service connections pipelining up to `window` resets each (search, then exop),
/// and C bind connections taking one verification bind at a time (LDAP allows nothing else on a
/// connection while a bind is outstanding).
class raw_bench {
public:
    raw_bench(const endpoint& ep, const settings& s, password_source& passwords,
              const cpu_meter& meter)
        : ep_(ep), s_(s), passwords_(passwords), meter_(meter), jobs_(ep.user_dns.size()) {
        for (std::size_t i = 0; i < s.connections; ++i) {
            service_.push_back(connect(true));
            binders_.push_back(connect(false));
            free_binders_.push_back(i);
        }
        for (std::size_t u = 0; u < jobs_.size(); ++u) {
            idle_users_.push_back(u);
        }
    }

    run_result run() {
        const time_window w = window_from_now(s_);
        run_result r;
        bool started = false;
        bool ended = false;
        auto last_progress = steady::now();
        std::vector<pollfd> fds;
        std::vector<raw_connection*> polled;
        for (;;) {
            const auto now = steady::now();
            if (!started && now >= w.start) {
                r.cpu_start = meter_.sample();
                started = true;
            }
            if (now < w.end) {
                start_resets();
            } else if (!ended) {
                r.cpu_end = meter_.sample();
                ended = true;
            }
            start_binds();
            if (busy_ == 0 && now >= w.end) {
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
                        ready = ready || buffered(c);
                    }
                }
            }
            // Answers already read off the socket (into GnuTLS or libldap's buffer) no longer
            // wake poll(): look again at once instead of waiting for bytes that will not come.
            if (::poll(fds.data(), static_cast<nfds_t>(fds.size()), ready ? 0 : 50) < 0 &&
                errno != EINTR) {
                throw std::runtime_error("raw_libldap: poll failed");
            }
            for (std::size_t i = 0; i < fds.size(); ++i) {
                if ((fds[i].revents != 0 || buffered(*polled[i])) && drain(*polled[i], w) > 0) {
                    last_progress = steady::now();
                }
            }
        }
        r.resets = completed_;
        r.measured = w.end - w.start;
        return r;
    }

private:
    raw_connection connect(bool as_service) {
        return sspr::bench::connect_raw(ep_.uri, ep_.ca_file,
                                        as_service ? std::optional<std::string>(ep_.bind_dn)
                                                   : std::nullopt,
                                        ep_.bind_password.reveal());
    }

    void start_resets() {
        while (!idle_users_.empty()) {
            auto least = std::min_element(service_.begin(), service_.end(), [](auto& a, auto& b) {
                return a.in_flight.size() < b.in_flight.size();
            });
            if (least->in_flight.size() >= s_.window) {
                return;
            }
            const std::size_t user = idle_users_.front();
            idle_users_.pop_front();
            char* attrs[] = {const_cast<char*>("pwdAccountLockedTime"),
                             const_cast<char*>("pwdReset"), nullptr};
            timeval limit{5, 0};
            int msgid = 0;
            if (const int rc = ldap_search_ext(least->ld.get(), ep_.user_dns[user].c_str(),
                                               LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0,
                                               nullptr, nullptr, &limit, 1, &msgid);
                rc != LDAP_SUCCESS) {
                raw_fail(least->ld.get(), rc, "search " + ep_.user_dns[user]);
            }
            jobs_[user].at = stage::searching;
            least->in_flight.emplace(msgid, user);
            ++busy_;
        }
    }

    void start_binds() {
        while (!bind_queue_.empty() && !free_binders_.empty()) {
            const std::size_t user = bind_queue_.front();
            bind_queue_.pop_front();
            raw_connection& c = binders_[free_binders_.back()];
            free_binders_.pop_back();
            berval cred = as_berval(jobs_[user].password);
            LDAPControl* ctrls[] = {c.ppolicy.get(), nullptr};
            int msgid = 0;
            if (const int rc = ldap_sasl_bind(c.ld.get(), ep_.user_dns[user].c_str(),
                                              LDAP_SASL_SIMPLE, &cred, ctrls, nullptr, &msgid);
                rc != LDAP_SUCCESS) {
                raw_fail(c.ld.get(), rc, "bind as " + ep_.user_dns[user]);
            }
            jobs_[user].at = stage::binding;
            c.in_flight.emplace(msgid, user);
        }
    }

    /// Every complete answer libldap has for `c`, handed to on_answer.
    std::size_t drain(raw_connection& c, const time_window& w) {
        return sspr::bench::drain(
            c, [&](std::size_t user, LDAPMessage* msg) { on_answer(c, user, msg, w); });
    }

    void on_answer(raw_connection& c, std::size_t user, LDAPMessage* msg, const time_window& w) {
        const std::string& dn = ep_.user_dns[user];
        job& j = jobs_[user];
        switch (j.at) {
        case stage::searching: {
            check_entry(c, dn, msg);
            expect_success(c, msg, "search " + dn);
            j.password = passwords_.next('B');
            berval id = as_berval(dn);
            berval pw = as_berval(j.password);
            LDAPControl* ctrls[] = {c.ppolicy.get(), nullptr};
            int msgid = 0;
            if (const int rc = ldap_passwd(c.ld.get(), &id, nullptr, &pw, ctrls, nullptr, &msgid);
                rc != LDAP_SUCCESS) {
                raw_fail(c.ld.get(), rc, "password modify " + dn);
            }
            j.at = stage::modifying;
            c.in_flight.emplace(msgid, user);
            return;
        }
        case stage::modifying:
            expect_success(c, msg, "password modify " + dn);
            j.at = stage::waiting_for_bind;
            bind_queue_.push_back(user);
            return;
        case stage::binding:
            expect_success(c, msg, "bind as " + dn + " with the new password");
            free_binders_.push_back(static_cast<std::size_t>(&c - binders_.data()));
            j.at = stage::invalid;
            idle_users_.push_back(user);
            --busy_;
            if (w.contains(steady::now())) {
                ++completed_;
            }
            return;
        case stage::invalid:
        case stage::waiting_for_bind:
            break;
        }
        throw std::runtime_error("raw_libldap: answer for " + dn + " in an unexpected state");
    }

    /// The library's read_state: the entry exists and is not administratively locked.
    void check_entry(raw_connection& c, const std::string& dn, LDAPMessage* msg) {
        if (ldap_count_entries(c.ld.get(), msg) != 1) {
            throw std::runtime_error("raw_libldap: search " + dn + " did not return the entry");
        }
        LDAPMessage* e = ldap_first_entry(c.ld.get(), msg);
        const values_ptr locked(
            ldap_get_values_len(c.ld.get(), e, const_cast<char*>("pwdAccountLockedTime")));
        if (locked && locked.get()[0] != nullptr &&
            std::string_view(locked.get()[0]->bv_val, locked.get()[0]->bv_len) == admin_lock) {
            throw std::runtime_error("raw_libldap: " + dn + " is disabled");
        }
    }

    const endpoint& ep_;
    const settings& s_;
    password_source& passwords_;
    const cpu_meter& meter_;
    std::vector<raw_connection> service_;
    std::vector<raw_connection> binders_;
    std::vector<job> jobs_; // by user index
    std::deque<std::size_t> idle_users_;
    std::deque<std::size_t> bind_queue_;
    std::vector<std::size_t> free_binders_;
    std::size_t busy_ = 0; // users with a reset in flight
    std::uint64_t completed_ = 0;
};

run_result run_raw(const endpoint& ep, const settings& s, password_source& passwords,
                   const cpu_meter& meter) {
    raw_bench bench(ep, s, passwords, meter);
    return bench.run();
}

// --- set-up and report -------------------------------------------------------------------------

endpoint load_endpoint() {
    using sspr::testing::testenv;
    endpoint ep;
    ep.uri = testenv("SSPR_OL_LDAPS_URI");
    ep.base = testenv("SSPR_OL_BASE");
    ep.bind_dn = testenv("SSPR_OL_BIND_DN");
    ep.bind_password =
        sspr::common::secret(sspr::testing::testenv_file("SSPR_OL_BIND_PASSWORD_FILE"));
    ep.ca_file = testenv("SSPR_TEST_CA");
    ep.user_password = testenv("SSPR_TEST_USER_PASSWORD");

    // The DNs come from the directory, as ssprd would have them, not from the logins.
    const auto dir =
        sspr::ldap::make_directory(library_config(ep, 1, 1), sspr::common::make_system_clock());
    for (int i = first_user; i <= last_user; ++i) {
        const std::string login = "t" + std::to_string(i);
        auto found = dir->find_user(login);
        if (!found) {
            throw std::runtime_error("find_user(" + login + "): " + found.error().diagnostic);
        }
        if (!*found) {
            throw std::runtime_error("find_user(" + login + "): no such user in " + ep.base);
        }
        if ((*found)->state.disabled) {
            throw std::runtime_error(login + " is disabled; the bench needs plain users");
        }
        ep.user_dns.push_back((*found)->dn);
    }
    return ep;
}

/// slapd's PID from the instance the test environment names, for its CPU time; 0 when unknown
/// (the figures then leave it out).
long slapd_pid() {
    try {
        std::ifstream in(sspr::testing::testenv("SSPR_OL_DIR") + "/server.pid");
        long pid = 0;
        return in >> pid ? pid : 0;
    } catch (const std::runtime_error&) {
        return 0;
    }
}

/// Puts the initial password back, so an environment shared with the integration tests is left
/// as the test data describes it. The last three bench passwords fill the history, so the
/// initial one is accepted.
void restore_passwords(const endpoint& ep) {
    const auto dir =
        sspr::ldap::make_directory(library_config(ep, 1, 1), sspr::common::make_system_clock());
    for (const auto& dn : ep.user_dns) {
        if (auto done = dir->reset_password(dn, ep.user_password, {}); !done) {
            throw std::runtime_error("restoring the password of " + dn + ": " +
                                     done.error().diagnostic);
        }
    }
}

std::optional<settings> parse_args(int argc, char** argv, int& exit_code) {
    settings s;
    double duration_s = 5.0;
    double warmup_s = 1.0;
    std::string only;
    // One option per line reads better than the formatter's packing.
    // clang-format off
    po::options_description options(
        "Usage: sspr_directory_bench [options]\n"
        "Reads the OpenLDAP endpoint from $SSPR_TESTENV_FILE (bench/run-directory-bench sets it).\n\n"
        "Options");
    options.add_options()
        ("help,h", "show this help and exit")
        ("connections,c", po::value(&s.connections)->default_value(s.connections),
         "C: service connections and as many bind connections, on both sides")
        ("threads,t", po::value(&s.threads),
         "T: sspr_ldap worker threads (default C * library window, at most one per user: 20)")
        ("window,w", po::value(&s.window)->default_value(s.window),
         "raw_libldap: resets in flight per service connection")
        ("library-window", po::value(&s.library_window)->default_value(s.library_window),
         "sspr_ldap: directory.pipeline_window (operations in flight per service connection)")
        ("duration,d", po::value(&duration_s)->default_value(duration_s),
         "measured seconds per run")
        ("warmup", po::value(&warmup_s)->default_value(warmup_s),
         "seconds before each measured run (connections open, caches warm)")
        ("rounds,r", po::value(&s.rounds)->default_value(s.rounds),
         "runs per side, alternating raw_libldap then sspr_ldap; the best of each is reported")
        ("only", po::value(&only),
         "sspr_ldap or raw_libldap: run that side alone (to profile it); prints no ratio");
    // clang-format on
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "sspr_directory_bench: " << e.what() << "\n" << options << "\n";
        exit_code = 2;
        return std::nullopt;
    }
    if (vm.count("help") != 0U) {
        std::cout << options << "\n";
        exit_code = EXIT_SUCCESS;
        return std::nullopt;
    }
    if (s.threads == 0) {
        s.threads = std::min<std::size_t>(
            s.connections * std::max<std::size_t>(s.library_window, 1), user_count);
    }
    const char* bad = nullptr;
    if (s.connections < 1 || s.connections > 64) {
        bad = "--connections must be 1..64";
    } else if (s.threads > user_count) {
        bad = "--threads must be at most 20 (each worker needs a user of its own)";
    } else if (s.window < 1) {
        bad = "--window must be at least 1";
    } else if (s.library_window < 1 || s.library_window > 8) {
        bad = "--library-window must be 1..8 (as directory.pipeline_window)";
    } else if (!(duration_s > 0.0 && duration_s <= 60.0) ||
               !(warmup_s >= 0.0 && warmup_s <= 60.0)) {
        bad = "--duration must be in (0, 60] and --warmup in [0, 60] seconds";
    } else if (s.rounds < 1 || s.rounds > 10) {
        bad = "--rounds must be 1..10";
    } else if (!only.empty() && only != "sspr_ldap" && only != "raw_libldap") {
        bad = "--only must be sspr_ldap or raw_libldap";
    }
    if (bad != nullptr) {
        std::cerr << "sspr_directory_bench: " << bad << "\n";
        exit_code = 2;
        return std::nullopt;
    }
    s.run_library = only != "raw_libldap";
    s.run_raw = only != "sspr_ldap";
    s.duration = std::chrono::milliseconds(static_cast<std::int64_t>(duration_s * 1000.0));
    s.warmup = std::chrono::milliseconds(static_cast<std::int64_t>(warmup_s * 1000.0));
    return s;
}

} // namespace

int main(int argc, char** argv) {
    sspr::common::ignore_sigpipe(); // libldap would let a vanished server end the bench
    int exit_code = 0;
    const auto parsed = parse_args(argc, argv, exit_code);
    if (!parsed) {
        return exit_code;
    }
    const settings& s = *parsed;
    try {
        const endpoint ep = load_endpoint();
        const auto in_flight = std::min(s.connections * s.window, ep.user_dns.size());
        std::cout << "slapd: " << ep.uri << ", users t" << first_user << "..t" << last_user << " ("
                  << ep.user_dns.size() << ")\n"
                  << "config: C=" << s.connections << " service + " << s.connections
                  << " bind connections per side; sspr_ldap T=" << s.threads
                  << " threads, pipeline_window=" << s.library_window
                  << "; raw_libldap 1 thread, window=" << s.window
                  << " per service connection (at most " << in_flight << " resets in flight)\n"
                  << "config: duration="
                  << fixed(std::chrono::duration<double>(s.duration).count(), 1)
                  << "s after warmup=" << fixed(std::chrono::duration<double>(s.warmup).count(), 1)
                  << "s per run; " << s.rounds
                  << " round(s) of raw_libldap then sspr_ldap; best of each reported\n"
                  << std::flush;

        const cpu_meter meter({{"slapd", slapd_pid()}});
        password_source passwords;
        double best_library = 0.0;
        double best_raw = 0.0;
        double busiest = 0.0; // most CPU that other processes took during a measured run
        auto report = [&](std::size_t round, const char* side, const run_result& r) {
            std::cout << "round " << round << ": " << side << " resets/s=" << fixed(r.rate(), 1)
                      << " (" << r.resets << " resets; " << r.cpu_report(meter) << ")\n"
                      << std::flush;
            busiest = std::max(busiest, r.other_cores().value_or(0.0));
            return r.rate();
        };
        for (std::size_t round = 1; round <= s.rounds; ++round) {
            if (s.run_raw) {
                best_raw = std::max(best_raw,
                                    report(round, "raw_libldap", run_raw(ep, s, passwords, meter)));
            }
            if (s.run_library) {
                best_library = std::max(
                    best_library, report(round, "sspr_ldap", run_library(ep, s, passwords, meter)));
            }
        }
        restore_passwords(ep);
        if (s.run_raw && best_raw <= 0.0) {
            throw std::runtime_error("raw_libldap completed no reset in the measured time");
        }
        if (busiest > max_quiet_other_cores) {
            // slapd's write path collapses when its lock holder is descheduled, the deeper
            // pipelined raw side most (see bench/README.md): such a ratio says little.
            std::cout << "warning: other processes used up to " << fixed(busiest, 2)
                      << " cores during the measured runs; the figures are not comparable\n";
        }
        if (s.run_library) {
            std::cout << "sspr_ldap resets/s=" << fixed(best_library, 1) << "\n";
        }
        if (s.run_raw) {
            std::cout << "raw_libldap resets/s=" << fixed(best_raw, 1) << "\n";
        }
        if (s.run_library && s.run_raw) {
            std::cout << "directory_ratio=" << fixed(best_library / best_raw, 2) << "\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "sspr_directory_bench: " << e.what() << "\n";
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}
