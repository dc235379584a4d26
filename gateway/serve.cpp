#include "gateway/serve.hpp"

#include "audit/audit.hpp"
#include "challenge/key_file.hpp"
#include "common/blocking_pool.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "config/holder.hpp"
#include "config/loader.hpp"
#include "delivery/dispatcher.hpp"
#include "flows/engine.hpp"
#include "gateway/api.hpp"
#include "gateway/app.hpp"
#include "gateway/i18n.hpp"
#include "gateway/pages.hpp"
#include "ldap/from_config.hpp"
#include "ldap/ldap_directory.hpp"
#include "metrics/metrics.hpp"
#include "policy/preflight.hpp"
#include "store/crypto.hpp"
#include "store/state_store.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <ostream>
#include <stdexcept>
#include <thread>
#include <tuple>

namespace sspr::gateway {

namespace {

namespace net = boost::asio;
using namespace std::chrono_literals;

/// Thrown for a start-up failure that is not the configuration's text: exit 1.
struct startup_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

constexpr auto purge_interval = 60s;
/// How often the idle trim looks whether requests came (see run()).
constexpr auto trim_interval = 1s;
/// Purge batches per tick at most, so that a backlog is worked off without holding a worker long.
constexpr int purge_batches_per_tick = 10;

int print_config_errors(const std::string& path, const config::load_failure& f, std::ostream& err) {
    std::vector<config::diagnostic> all = f.errors;
    all.insert(all.end(), f.warnings.begin(), f.warnings.end());
    std::stable_sort(all.begin(), all.end(),
                     [](const config::diagnostic& a, const config::diagnostic& b) {
                         return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                     });
    for (const auto& d : all) {
        err << to_string(d) << '\n';
    }
    err << path << ": " << f.errors.size() << (f.errors.size() == 1 ? " error" : " errors")
        << "; the configuration is not valid\n";
    return 2;
}

std::string endpoint_text(const server_endpoint& ep) {
    const std::string a = ep.address.to_string();
    return (ep.address.is_v6() ? "[" + a + "]" : a) + ":" + std::to_string(ep.port);
}

/// An audit event as metrics: its step and outcome, and the bucket of a throttle refusal.
void count_event(metrics::registry& m, const audit::event& e) {
    m.flow_step(e.step, e.outcome);
    constexpr std::string_view throttle_prefix = "throttle.";
    if (e.outcome == "throttled" && std::string_view(e.reason).starts_with(throttle_prefix)) {
        m.throttle_block(std::string_view(e.reason).substr(throttle_prefix.size()));
    }
}

/// Registration coverage: how many users registered each kind of method. Counted by reading
/// every enrollment (paged), on a scrape after a registration changed or 10 minutes passed, and
/// no more often than
/// 30 times the last count took (at least 1 s), so a large store costs a scrape ~3% of a core.
class coverage {
public:
    explicit coverage(std::shared_ptr<store::state_store> store) : store_(std::move(store)) {}

    /// An enrollment may have changed ("enroll.*" events); the next scrape counts again.
    void changed() { dirty_.store(true, std::memory_order_relaxed); }

    std::vector<metrics::sample> read() {
        const std::scoped_lock lock(mutex_);
        const auto now = std::chrono::steady_clock::now();
        // Also every 10 minutes: `ssprd helpdesk clear` and other instances change the store
        // without this process seeing an event.
        const bool stale = !counted_ || now - counted_at_ >= 10min;
        if ((dirty_.load(std::memory_order_relaxed) || stale) && now >= next_) {
            counted_at_ = now;
            dirty_.store(false, std::memory_order_relaxed);
            if (count()) {
                counted_ = true;
            } else {
                dirty_.store(true, std::memory_order_relaxed); // try again next time
            }
            const auto took = std::chrono::steady_clock::now() - now;
            next_ = std::chrono::steady_clock::now() +
                    std::max<std::chrono::steady_clock::duration>(1s, 30 * took);
        }
        if (!counted_) {
            return {};
        }
        return {{{{"method", "any"}}, static_cast<double>(counts_.any)},
                {{{"method", "email"}}, static_cast<double>(counts_.email)},
                {{{"method", "sms"}}, static_cast<double>(counts_.sms)},
                {{{"method", "totp"}}, static_cast<double>(counts_.totp)},
                {{{"method", "questions"}}, static_cast<double>(counts_.questions)}};
    }

private:
    struct counts {
        std::uint64_t any = 0, email = 0, sms = 0, totp = 0, questions = 0;
    };

    bool count() {
        counts c;
        std::string after;
        constexpr std::size_t page = 500;
        for (;;) {
            auto dns = store_->list_enrollments(after, page);
            if (!dns) {
                return false;
            }
            for (const std::string& dn : *dns) {
                auto e = store_->get_enrollment(dn);
                if (!e) {
                    continue; // removed since it was listed
                }
                const bool email = !e->emails.empty();
                const bool sms = !e->phones.empty();
                const bool totp = e->totp.has_value();
                const bool questions = !e->questions.empty();
                c.email += email ? 1 : 0;
                c.sms += sms ? 1 : 0;
                c.totp += totp ? 1 : 0;
                c.questions += questions ? 1 : 0;
                c.any += (email || sms || totp || questions) ? 1 : 0;
            }
            if (dns->size() < page) {
                break;
            }
            after = dns->back();
        }
        counts_ = c;
        return true;
    }

    std::shared_ptr<store::state_store> store_;
    std::atomic<bool> dirty_{true};
    std::mutex mutex_; // one count at a time; guards the members below
    bool counted_ = false;
    counts counts_;
    std::chrono::steady_clock::time_point next_{};
    std::chrono::steady_clock::time_point counted_at_{};
};

/// The figures read at scrape time. A scrape asks the directory and the store once (readiness).
void add_pulls(metrics::registry& m, flows::engine& engine,
               const std::shared_ptr<delivery::sender>& sender,
               const std::shared_ptr<audit::trail>& trail,
               const std::shared_ptr<coverage>& registered) {
    using metrics::kind;
    using metrics::sample;
    m.add_pull("ssprd_registered_users",
               "Users with at least one registered method of this kind (any: of any kind)",
               kind::gauge, [registered] { return registered->read(); });
    m.add_pull("ssprd_deliveries_total",
               "Messages by channel and result (sent; failed: refused for good, outcome "
               "unknown or given up at shutdown; expired: transient failures until the code "
               "expired; retried: extra attempts)",
               kind::counter, [sender] {
                   const delivery::sender_stats st = sender->stats();
                   std::vector<sample> out;
                   for (const auto& [channel, c] :
                        {std::pair{"email", st.email}, std::pair{"sms", st.sms}}) {
                       out.push_back({{{"channel", channel}, {"result", "sent"}},
                                      static_cast<double>(c.sent)});
                       out.push_back({{{"channel", channel}, {"result", "failed"}},
                                      static_cast<double>(c.failed)});
                       out.push_back({{{"channel", channel}, {"result", "retried"}},
                                      static_cast<double>(c.retried)});
                       out.push_back({{{"channel", channel}, {"result", "expired"}},
                                      static_cast<double>(c.expired)});
                   }
                   return out;
               });
    m.add_pull("ssprd_deliveries_waiting",
               "Messages held by the delivery queue now (to be sent, being sent, or waiting to be "
               "retried)",
               kind::gauge, [sender] {
                   return std::vector<sample>{{{}, static_cast<double>(sender->stats().waiting)}};
               });
    m.add_pull(
        "ssprd_deliveries_refused_total",
        "Messages refused at once because the delivery queue was full", kind::counter, [sender] {
            return std::vector<sample>{{{}, static_cast<double>(sender->stats().overloaded)}};
        });
    m.add_pull("ssprd_early_refusals_total",
               "Flow starts refused on the I/O thread because the client address is blocked",
               kind::counter, [&engine] {
                   return std::vector<sample>{{{}, static_cast<double>(engine.early_refusals())}};
               });
    m.add_pull("ssprd_audit_write_failures_total",
               "Audit events that could not be written to audit.path", kind::counter, [trail] {
                   return std::vector<sample>{{{}, static_cast<double>(trail->failed_writes())}};
               });
    m.add_pull("ssprd_up", "1 when the component answers (what /readyz checks), else 0",
               kind::gauge, [&engine] {
                   const flows::health h = engine.check_health();
                   return std::vector<sample>{
                       {{{"component", "directory"}}, h.directory_ok ? 1.0 : 0.0},
                       {{{"component", "store"}}, h.store_ok ? 1.0 : 0.0}};
               });
    m.add_pull("ssprd_build_info", "The running version", kind::gauge, [] {
        return std::vector<sample>{{{{"version", SSPR_VERSION}}, 1.0}};
    });
}

/// Every connection is a file descriptor, and the soft RLIMIT_NOFILE is often 1024 (systemd's
/// default, most shells): below server.max_connections plus what ssprd keeps open itself, accept
/// fails with EMFILE before the limit refuses cleanly. Raises the soft limit as far as needed, up
/// to the hard one (as Go's runtime and nginx's worker_rlimit_nofile do); warns when even the hard
/// limit is too low. Never lowers it.
void raise_open_files_limit(std::size_t max_connections) {
    // Listeners, directory and store connections, SQLite's files, the audit file, metrics, stdio.
    constexpr rlim_t reserved = 256;
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return;
    }
    const rlim_t wanted = static_cast<rlim_t>(max_connections) + reserved;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
        rlimit raised = lim;
        raised.rlim_cur = lim.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, lim.rlim_max);
        if (raised.rlim_cur > lim.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            const std::string from = std::to_string(lim.rlim_cur);
            const std::string to = std::to_string(raised.rlim_cur);
            common::log(common::log_level::info, "raised the open files limit",
                        {{"from", from}, {"to", to}});
            lim = raised;
        }
    }
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < wanted) {
        const std::string needed = std::to_string(wanted);
        const std::string limit = std::to_string(lim.rlim_cur);
        common::log(common::log_level::warning,
                    "the open files limit is below server.max_connections + 256; raise the hard "
                    "RLIMIT_NOFILE (LimitNOFILE= in a systemd unit) or lower max_connections",
                    {{"needed", needed}, {"limit", limit}});
    }
}

/// Everything the daemon runs, in construction order; torn down in the order stop() says.
class service {
public:
    service(const std::string& config_path, const std::string& messages_dir,
            config::loaded_config loaded)
        : holder_(std::move(loaded.value),
                  config::file_source(config_path, policy::with_preflight()), config_path) {
        for (const auto& w : loaded.warnings) {
            const std::string text = to_string(w);
            common::log(common::log_level::warning, "configuration warning", {{"warning", text}});
        }
        const auto cfg = holder_.snapshot();
        raise_open_files_limit(cfg->server.max_connections);

        std::vector<std::string> languages(config::supported_languages.begin(),
                                           config::supported_languages.end());
        messages_ = std::make_shared<const i18n>(i18n::load(messages_dir, languages));
        auto templates = page_templates::load(templates_dir_for(messages_dir));

        clock_ = common::make_system_clock();
        random_ = common::make_system_random();

        flows::dependencies deps;
        deps.config = &holder_;
        deps.clock = clock_;
        deps.random = random_;
        auto directory_options = ldap::directory_options_from(cfg->directory);
        if (!cfg->audit.metrics_listen.empty()) {
            metrics_ = std::make_shared<metrics::registry>();
            directory_options.on_operation = [m = metrics_](const ldap::operation_sample& op) {
                m->directory_operation(op.uri, op.operation, op.outcome, op.took);
            };
        }
        deps.directory = ldap::make_directory(std::move(directory_options), clock_);

        auto hmac = challenge::load_key_file(cfg->store.hmac_key_file);
        if (!hmac) {
            throw startup_error("store.hmac_key_file " + cfg->store.hmac_key_file + ": " +
                                hmac.error().message());
        }
        common::secret page_key = page_key_from(*hmac);
        deps.hmac_key = std::move(*hmac);

        const auto keys = store::crypto::load_keyring(cfg->store.encryption_key_file,
                                                      cfg->store.older_encryption_key_files);
        auto store = store::make_state_store(cfg->store, keys, deps.hmac_key, random_);
        if (!store) {
            throw startup_error("store: " + store.error().message());
        }
        deps.store = std::move(*store);
        store_ = deps.store;

        deps.sender = delivery::make_sender(cfg->delivery, delivery::options_from(cfg->delivery),
                                            clock_, random_);

        auto trail = audit::trail::open(cfg->audit.path);
        if (!trail) {
            throw startup_error("audit.path " + cfg->audit.path + ": " + trail.error().message());
        }
        audit_ = std::move(*trail);
        deps.audit = audit_;

        const auto sender = deps.sender;
        std::shared_ptr<coverage> registered;
        if (metrics_) {
            registered = std::make_shared<coverage>(deps.store);
            deps.on_event = [m = metrics_, registered](const audit::event& e) {
                count_event(*m, e);
                if (e.step.starts_with("enroll.") && e.outcome == "ok") {
                    registered->changed();
                }
            };
        }
        engine_ = std::make_unique<flows::engine>(std::move(deps));
        if (metrics_) {
            add_pulls(*metrics_, *engine_, sender, audit_, registered);
            auto ep = metrics::endpoint::start(cfg->audit.metrics_listen, metrics_);
            if (!ep) {
                throw startup_error("audit.metrics_listen: " + ep.error());
            }
            metrics_endpoint_ = std::move(*ep);
        }

        server_ = std::make_unique<server>(server_options_from(*cfg));
        pool_ =
            std::make_unique<common::blocking_pool>(cfg->server.workers, cfg->server.max_queued);
        app_ = std::make_unique<app>(messages_, app_settings_from(*cfg));
        add_api_routes(*app_, *engine_, *pool_);
        pages_ = std::make_unique<pages>(*engine_, holder_, messages_, std::move(templates),
                                         std::move(page_key));
        add_page_routes(*app_, *pages_, *pool_);
        grace_ = std::chrono::duration_cast<std::chrono::milliseconds>(cfg->server.request_timeout);
    }

    service(const service&) = delete;
    service& operator=(const service&) = delete;

    ~service() {
        metrics_endpoint_.reset(); // its scrapes read the engine, sender and trail
        server_->shutdown(0ms);    // no-op after run()
        // The pool's jobs hold answers for the server's connections and use the engine: drained
        // first, then what they used.
        pool_.reset();
        app_.reset();
        pages_.reset();
        server_.reset();
        engine_.reset();
    }

    /// Serves until SIGTERM or SIGINT.
    void run(std::ostream& err) {
        net::io_context control;
        net::signal_set signals(control, SIGINT, SIGTERM, SIGHUP);
        net::steady_timer purge(control);
        net::steady_timer trim(control);

        // Requests seen, for the idle trim below: one relaxed increment per request.
        auto seen = std::make_shared<std::atomic<std::uint64_t>>(0);
        server_->start([seen, inner = app_->as_handler()](exchange x) {
            seen->fetch_add(1, std::memory_order_relaxed);
            inner(std::move(x));
        });
        for (const auto& ep : server_->endpoints()) {
            err << "listening on https://" << endpoint_text(ep) << std::endl;
        }
        if (metrics_endpoint_) {
            const std::string& listen = holder_.snapshot()->audit.metrics_listen;
            for (const int port : metrics_endpoint_->ports()) {
                err << "metrics on http://" << listen.substr(0, listen.rfind(':')) << ':' << port
                    << "/metrics" << std::endl;
            }
        }
        common::log(common::log_level::info, "ssprd started", {{"version", SSPR_VERSION}});

        std::function<void()> wait_signal = [&] {
            signals.async_wait([&](const boost::system::error_code& ec, int signal) {
                if (ec) {
                    return;
                }
                if (signal == SIGHUP) {
                    reload();
                    return wait_signal();
                }
                common::log(common::log_level::info, "stopping: finishing requests in flight");
                purge.cancel();
                trim.cancel();
                server_->shutdown(grace_);
                control.stop();
            });
        };
        wait_signal();

        std::function<void()> schedule_purge = [&] {
            purge.expires_after(purge_interval);
            purge.async_wait([&](const boost::system::error_code& ec) {
                if (ec) {
                    return;
                }
                queue_purge();
                schedule_purge();
            });
        };
        schedule_purge();

        // After a burst, once a whole tick passed without a request, the store empties the page
        // caches of its idle connections and the allocator hands its free pages back (glibc
        // keeps them in every thread's arena otherwise): an idle daemon's RSS is its live data,
        // not its busiest minute.
        std::uint64_t trimmed_at = 0;
        std::uint64_t last_seen = 0;
        std::function<void()> schedule_trim = [&] {
            trim.expires_after(trim_interval);
            trim.async_wait([&](const boost::system::error_code& ec) {
                if (ec) {
                    return;
                }
                const auto now_seen = seen->load(std::memory_order_relaxed);
                if (now_seen == last_seen && now_seen != trimmed_at) {
                    store_->release_memory();
                    ::malloc_trim(0);
                    trimmed_at = now_seen;
                }
                last_seen = now_seen;
                schedule_trim();
            });
        };
        schedule_trim();

        control.run();
        common::log(common::log_level::info, "ssprd stopped");
    }

private:
    void queue_purge() {
        // Skipped when the pool is full: requests come first, the next tick tries again.
        const bool queued = pool_->try_post([engine = engine_.get()] {
            try {
                for (int i = 0; i < purge_batches_per_tick && engine->purge_expired() > 0; ++i) {
                }
            } catch (const std::exception& e) {
                common::log(common::log_level::error, "purge failed", {{"error", e.what()}});
            }
        });
        if (!queued) {
            common::log(common::log_level::warning, "purge skipped: the worker pool is full");
        }
    }

    void reload() {
        common::log(common::log_level::info, "SIGHUP: reloading the configuration");
        const config::reload_report report = holder_.reload(); // logs its outcome itself
        const auto cfg = holder_.snapshot();
        if (report.applied) {
            try {
                app_->update(app_settings_from(*cfg));
            } catch (const std::exception& e) {
                common::log(common::log_level::error, "reload: server settings kept",
                            {{"error", e.what()}});
            }
            raise_open_files_limit(cfg->server.max_connections);
            server_->set_limits(server_limits_from(cfg->server));
        }
        // The certificate is read again even when the file did not change: renewals replace the
        // files behind the same paths.
        if (const auto why = server_->reload_tls(tls_from(cfg->server))) {
            common::log(common::log_level::error, "reload: TLS certificate kept",
                        {{"error", *why}});
        }
        // logrotate moved the audit file away: continue in a new one under the same path.
        if (auto reopened = audit_->reopen(); !reopened) {
            const std::string why = reopened.error().message();
            common::log(common::log_level::error, "reload: audit file kept", {{"error", why}});
        }
    }

    config::holder holder_;
    std::shared_ptr<const i18n> messages_;
    std::shared_ptr<const common::clock> clock_;
    std::shared_ptr<common::random> random_;
    std::shared_ptr<audit::trail> audit_;
    std::shared_ptr<store::state_store> store_; // the engine's; for the idle trim
    std::unique_ptr<flows::engine> engine_;
    std::unique_ptr<server> server_;
    std::unique_ptr<common::blocking_pool> pool_;
    std::unique_ptr<app> app_;
    std::unique_ptr<pages> pages_;
    std::shared_ptr<metrics::registry> metrics_;          // null without audit.metrics_listen
    std::unique_ptr<metrics::endpoint> metrics_endpoint_; // likewise
    std::chrono::milliseconds grace_{30000};
};

} // namespace

server_limits server_limits_from(const config::server_config& s) {
    server_limits l;
    l.max_connections = s.max_connections;
    l.header_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s.header_timeout);
    l.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s.idle_timeout);
    l.request_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s.request_timeout);
    l.max_body_bytes = s.max_body_bytes;
    return l;
}

tls_settings tls_from(const config::server_config& s) {
    return {s.tls.certificate_file, s.tls.key_file, s.tls.min_version};
}

server_options server_options_from(const config::config& cfg) {
    server_options o;
    o.listen = cfg.server.listen;
    o.io_threads = cfg.server.io_threads;
    o.tls = tls_from(cfg.server);
    o.limits = server_limits_from(cfg.server);
    o.random = common::make_system_random();
    return o;
}

namespace {

/// glibc gives each thread that allocates its own arena, up to 8 per core: ssprd's ~14 threads
/// (I/O, workers, checkpointer, metrics) then keep ~14 partly used heaps, 2-3 MiB of an idle
/// daemon's RSS. One arena per core is enough for threads that mostly wait on the directory.
/// MALLOC_ARENA_MAX or GLIBC_TUNABLES in the environment still decide when they are set.
void limit_malloc_arenas() {
    if (std::getenv("MALLOC_ARENA_MAX") != nullptr || std::getenv("GLIBC_TUNABLES") != nullptr) {
        return;
    }
    const auto cores = static_cast<int>(std::max(2U, std::thread::hardware_concurrency()));
    ::mallopt(M_ARENA_MAX, cores);
}

} // namespace

int run_serve(const std::string& config_path, const std::string& messages_dir, std::ostream& err) {
    limit_malloc_arenas();
    auto loaded = config::load_file(config_path, policy::with_preflight());
    if (!loaded) {
        return print_config_errors(config_path, loaded.error(), err);
    }
    try {
        service d(config_path, messages_dir, std::move(*loaded));
        d.run(err);
        return 0;
    } catch (const catalogue_error& e) {
        err << "ssprd: " << e.what() << '\n';
        return 2;
    } catch (const std::exception& e) {
        // make_directory, load_keyring, make_sender, the engine and the server throw with a
        // message that names the key or file and never a secret.
        err << "ssprd: cannot start: " << e.what() << '\n';
        return 1;
    }
}

} // namespace sspr::gateway
