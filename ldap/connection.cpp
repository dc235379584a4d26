#include "ldap/connection.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <climits>
#include <condition_variable>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace sspr::ldap::detail {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

bool is_transport_error(int rc) {
    return rc < 0 || rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

berval as_berval(std::string_view s) {
    // libldap takes non-const pointers but does not write through them for request values.
    return berval{static_cast<ber_len_t>(s.size()), const_cast<char*>(s.data())};
}

std::string describe(int rc, std::string_view diagnostic) {
    std::string out = "ldap rc=" + std::to_string(rc) + " (" + ldap_err2string(rc) + ")";
    if (!diagnostic.empty()) {
        out += ": ";
        out += diagnostic;
    }
    return out;
}

// Whether a plain TCP connection to the URI's host and port succeeds within `timeout`. libldap
// reports a refused certificate and an unreachable server alike (-1, no text), so after a failed
// LDAPS connect this tells the administrator which of the two it was.
bool tcp_reachable(const std::string& uri, std::chrono::milliseconds timeout) {
    LDAPURLDesc* raw = nullptr;
    if (ldap_url_parse(uri.c_str(), &raw) != LDAP_URL_SUCCESS) {
        return false;
    }
    const std::unique_ptr<LDAPURLDesc, decltype(&ldap_free_urldesc)> url(raw, ldap_free_urldesc);
    const std::string host =
        url->lud_host != nullptr && *url->lud_host != '\0' ? url->lud_host : "127.0.0.1";
    const std::string port = std::to_string(url->lud_port != 0 ? url->lud_port : 636);
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) {
        return false;
    }
    const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addrs(found, ::freeaddrinfo);
    for (const addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
        const int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            continue;
        }
        bool ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
        if (!ok && errno == EINPROGRESS) {
            pollfd p{fd, POLLOUT, 0};
            int err = 0;
            socklen_t len = sizeof err;
            ok = ::poll(&p, 1, static_cast<int>(timeout.count())) == 1 &&
                 ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0;
        }
        ::close(fd);
        if (ok) {
            return true;
        }
    }
    return false;
}

std::string_view operation_name(operation_kind op) noexcept {
    switch (op) {
    case operation_kind::connect:
        return "connect";
    case operation_kind::service_bind:
        return "service_bind";
    case operation_kind::user_bind:
        return "user_bind";
    case operation_kind::search:
        return "search";
    case operation_kind::reset:
        return "reset";
    case operation_kind::change:
        return "change";
    case operation_kind::unlock:
        return "unlock";
    case operation_kind::invalid:
        break;
    }
    return "other";
}

/// Runs `run` and tells `observer` (when set) how it went and how long it took.
template <class Run>
auto observed(const operation_observer& observer, std::string_view uri, operation_kind op,
              Run&& run) -> decltype(run()) {
    if (!observer) {
        return run();
    }
    const auto began = std::chrono::steady_clock::now();
    auto outcome = run();
    std::string_view verdict = "ok";
    if (!outcome) {
        const failure& f = outcome.error();
        const bool unreachable =
            f.is(error::server_down) || f.is(error::timeout) || f.is(error::tls_failure);
        verdict = unreachable ? "unavailable" : "refused";
    }
    observer(operation_sample{uri, operation_name(op), verdict,
                              std::chrono::steady_clock::now() - began});
    return outcome;
}

} // namespace

const std::vector<std::string>* entry::values(std::string_view name) const {
    const auto it = attributes.find(lower(name));
    return it == attributes.end() ? nullptr : &it->second;
}

std::string entry::first(std::string_view name) const {
    const auto* vals = values(name);
    return vals == nullptr || vals->empty() ? std::string{} : vals->front();
}

bool server_info::supports_control(std::string_view oid) const {
    return contains(supported_controls, oid);
}

bool server_info::supports_extension(std::string_view oid) const {
    return contains(supported_extensions, oid);
}

bool server_info::is_active_directory() const {
    // LDAP_CAP_ACTIVE_DIRECTORY_OID and LDAP_CAP_ACTIVE_DIRECTORY_ADAM_OID.
    return contains(supported_capabilities, "1.2.840.113556.1.4.800") ||
           contains(supported_capabilities, "1.2.840.113556.1.4.1851");
}

struct connection::shared_state {
    /// Held for every libldap call on the handle; never across poll().
    std::mutex ld_mutex;

    /// Guards what follows.
    std::mutex mutex;
    /// The threads in wait(), by the message id they wait for; each sleeps on its own condition
    /// variable, woken when its answer is in, when it is to take over the reading, or on failure.
    std::unordered_map<int, std::condition_variable*> waiting;
    /// Answers read by the reader and not yet taken by their waiter, by message id.
    std::unordered_map<int, message_ptr> ready;
    /// Message ids sent and still awaited (registered while the request is sent, under
    /// ld_mutex, so before any reader can see the answer); an answer for any other id (its waiter
    /// timed out and abandoned it) is dropped. At most the connection's window of them.
    std::unordered_set<int> expected;
    /// A thread is reading the socket for everyone.
    bool reading = false;
    /// Answers read since the connection opened (to tell a silent server from a slow answer).
    std::uint64_t received = 0;
    /// Why the transport failed; set once, after which every operation fails with it.
    std::optional<failure> fatal;

    /// fatal is set, or the connection went silent: lend it to nobody again.
    std::atomic<bool> unusable{false};
};

connection::connection(ldap_ptr ld, std::size_t uri_index, std::chrono::milliseconds timeout)
    : io_(std::make_unique<shared_state>()), ld_(std::move(ld)), uri_index_(uri_index),
      timeout_(timeout) {}
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;
connection::~connection() = default;

bool connection::broken() const noexcept {
    return io_->unusable.load(std::memory_order_acquire);
}

void connection::mark_broken(failure why) {
    const std::lock_guard lock(io_->mutex);
    if (!io_->fatal) {
        io_->fatal = std::move(why);
    }
    io_->unusable.store(true, std::memory_order_release);
    for (const auto& [id, cv] : io_->waiting) {
        cv->notify_one();
    }
}

void connection::wake_next_reader() {
    // Called with io_->mutex held, when nobody is reading.
    for (const auto& [id, cv] : io_->waiting) {
        if (!io_->ready.contains(id)) {
            cv->notify_one();
            return;
        }
    }
}

bool connection::hung_up() const {
    int fd = -1;
    {
        const std::lock_guard lock(io_->ld_mutex);
        if (ldap_get_option(ld_.get(), LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0) {
            return true;
        }
    }
    // Plain readability is no sign of a dead peer: TLS 1.3 session tickets arrive unasked.
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

result<connection> connection::open_unobserved(const std::string& uri, std::size_t uri_index,
                                               const config& cfg) {
    LDAP* raw = nullptr;
    if (const int rc = ldap_initialize(&raw, uri.c_str()); rc != LDAP_SUCCESS) {
        return failure(error::directory_refused,
                       "bad directory URI " + uri + ": " + describe(rc, ""));
    }
    connection conn(ldap_ptr(raw), uri_index, cfg.operation_timeout);
    LDAP* ld = conn.ld_.get();

    const int version = LDAP_VERSION3;
    const timeval net = to_timeval(cfg.connect_timeout);
    const timeval api = to_timeval(cfg.operation_timeout);
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF); // AD hands out referrals we never follow
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &api);
    // Only with an asynchronous connect does libldap bound the TLS handshake by the network
    // timeout; otherwise it retries the handshake in a busy loop for as long as the peer is silent.
    ldap_set_option(ld, LDAP_OPT_CONNECT_ASYNC, LDAP_OPT_ON);

    const bool ldaps = uri.starts_with("ldaps://");
    const bool ldapi = uri.starts_with("ldapi://");
    if (!ldapi) {
        const int require = cfg.tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
        const int min_version = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
        const int client_ctx = 0;
        ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require);
        if (!cfg.ca_file.empty()) {
            ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg.ca_file.c_str());
        }
        ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min_version);
        // A context of this handle's own, so the options above apply to it alone.
        if (const int rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &client_ctx); rc != 0) {
            return conn.fail(operation_kind::connect, rc, "TLS context for " + uri);
        }
    }
    if (ldap_connect(ld) != LDAP_SUCCESS) {
        // ldap_connect returns -1 on any failure; the reason is in the handle's result code.
        int code = LDAP_SERVER_DOWN;
        ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code);
        failure failed = conn.fail(operation_kind::connect, code, "connect to " + uri);
        if (ldaps && failed.is(error::server_down) && tcp_reachable(uri, cfg.connect_timeout)) {
            return failure(error::tls_failure,
                           failed.diagnostic + "; the server accepts TCP, so the TLS handshake or "
                                               "certificate verification failed (check ca_file)");
        }
        return failed;
    }
    if (!ldaps && !ldapi && cfg.start_tls) {
        if (const int rc = ldap_start_tls_s(ld, nullptr, nullptr); rc != LDAP_SUCCESS) {
            failure failed = conn.fail(operation_kind::connect, rc, "StartTLS with " + uri);
            conn.mark_broken(failed);
            // The server answered, so whatever went wrong was TLS (refused, unsupported, or a
            // certificate we do not trust), not reachability.
            if (!failed.is(error::timeout) &&
                !(rc == LDAP_SERVER_DOWN && !tcp_reachable(uri, cfg.connect_timeout))) {
                return failure(error::tls_failure, failed.diagnostic);
            }
            return failed;
        }
    }
    return conn;
}

failure connection::fail(operation_kind op, int rc, std::string_view what) {
    char* raw_diag = nullptr;
    {
        const std::lock_guard lock(io_->ld_mutex);
        ldap_get_option(ld_.get(), LDAP_OPT_DIAGNOSTIC_MESSAGE, &raw_diag);
    }
    const ldap_string_ptr diag(raw_diag);
    const std::string_view text = diag ? std::string_view(diag.get()) : std::string_view{};
    failure out(classify(op, rc, text, std::nullopt), std::string(what) + ": " + describe(rc, text),
                rc);
    if (is_transport_error(rc)) {
        mark_broken(out);
    }
    return out;
}

void connection::expect(int rc, int msgid) {
    if (rc == LDAP_SUCCESS) {
        const std::lock_guard lock(io_->mutex);
        io_->expected.insert(msgid);
    }
}

failure connection::refused(operation_kind op, const reply& r) {
    std::string detail = describe(r.rc, r.diagnostic);
    if (r.ppolicy_error) {
        detail += " ppolicy=";
        detail +=
            ldap_passwordpolicy_err2txt(static_cast<LDAPPasswordPolicyError>(*r.ppolicy_error));
    }
    failure out(classify(op, r.rc, r.diagnostic, r.ppolicy_error), std::move(detail), r.rc);
    if (r.rc < 0) {
        mark_broken(out);
    } else if (is_transport_error(r.rc)) {
        // The server answered busy or unavailable to this operation: lend the connection to
        // nobody new, but the other operations pipelined on it still get their own answers.
        io_->unusable.store(true, std::memory_order_release);
    }
    return out;
}

result<message_ptr> connection::wait(int msgid) {
    const auto began = std::chrono::steady_clock::now();
    const auto deadline = began + timeout_;
    shared_state& io = *io_;
    std::condition_variable woken;
    std::unique_lock lock(io.mutex);
    io.waiting.insert_or_assign(msgid, &woken);
    const std::uint64_t received_before = io.received;
    // Every way out: deregister, and if nobody is reading, hand the reading to a waiter whose
    // answer is still out.
    auto leave = [&] {
        io.waiting.erase(msgid);
        if (!io.reading) {
            wake_next_reader();
        }
    };
    for (;;) {
        if (auto found = io.ready.find(msgid); found != io.ready.end()) {
            message_ptr msg = std::move(found->second);
            io.ready.erase(found);
            leave();
            return msg;
        }
        if (io.fatal) {
            io.expected.erase(msgid);
            leave();
            return *io.fatal;
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            // Only this operation gives up; the others sharing the connection keep waiting. A
            // connection that said nothing at all meanwhile is retired: the server or the path is
            // silent, and a new connection (perhaps to the next server) is the better bet.
            const bool silent = io.received == received_before;
            io.expected.erase(msgid);
            leave();
            lock.unlock();
            {
                const std::lock_guard ld_lock(io.ld_mutex);
                ldap_abandon_ext(ld_.get(), msgid, nullptr, nullptr);
            }
            if (silent) {
                io.unusable.store(true, std::memory_order_release);
            }
            return failure(error::timeout,
                           "no answer within " + std::to_string(timeout_.count()) + " ms");
        }
        if (!io.reading) {
            io.reading = true;
            lock.unlock();
            read_answers(deadline);
            lock.lock();
            io.reading = false;
            continue;
        }
        woken.wait_until(lock, deadline);
    }
}

void connection::read_answers(std::chrono::steady_clock::time_point deadline) {
    shared_state& io = *io_;
    int fd = -1;
    bool buffered = false;
    {
        const std::lock_guard ld_lock(io.ld_mutex);
        Sockbuf* sb = nullptr;
        if (ldap_get_option(ld_.get(), LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0 ||
            ldap_get_option(ld_.get(), LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS ||
            sb == nullptr) {
            fd = -1;
        } else {
            // Bytes GnuTLS or libldap already read off the socket no longer wake poll().
            buffered = ber_sockbuf_ctrl(sb, LBER_SB_OPT_DATA_READY, nullptr) != 0;
        }
    }
    if (fd < 0) {
        mark_broken(failure(error::server_down, "waiting for result: the connection is closed",
                            LDAP_SERVER_DOWN));
        return;
    }
    if (!buffered) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd p{fd, POLLIN, 0};
        const int ready =
            ::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, INT_MAX)));
        if (ready <= 0) {
            return; // nothing yet (or EINTR): the caller looks at its deadline and comes back
        }
    }
    std::vector<message_ptr> answers;
    int failed_rc = LDAP_SUCCESS;
    {
        const std::lock_guard ld_lock(io.ld_mutex);
        Sockbuf* sb = nullptr;
        ldap_get_option(ld_.get(), LDAP_OPT_SOCKBUF, &sb);
        // With a zero timeout ldap_result parses at most one PDU per call and answers 0 when that
        // was a search entry, so it is called again while buffered bytes remain; bounded, so that a
        // buffer libldap makes no progress on ends in the waiters' deadlines, not in a spin here.
        for (int partial = 0; partial < 64;) {
            timeval zero{0, 0};
            LDAPMessage* raw = nullptr;
            const int type = ldap_result(ld_.get(), LDAP_RES_ANY, LDAP_MSG_ALL, &zero, &raw);
            message_ptr msg(raw);
            if (type == 0) {
                if (sb == nullptr || ber_sockbuf_ctrl(sb, LBER_SB_OPT_DATA_READY, nullptr) == 0) {
                    break;
                }
                ++partial;
                continue;
            }
            partial = 0;
            if (type < 0) {
                failed_rc = LDAP_SERVER_DOWN;
                ldap_get_option(ld_.get(), LDAP_OPT_RESULT_CODE, &failed_rc);
                if (failed_rc == LDAP_SUCCESS) {
                    failed_rc = LDAP_SERVER_DOWN;
                }
                break;
            }
            answers.push_back(std::move(msg));
        }
    }
    bool unsolicited = false;
    {
        const std::lock_guard lock(io.mutex);
        for (auto& msg : answers) {
            const int id = ldap_msgid(msg.get());
            ++io.received;
            if (id == 0) {
                // An unsolicited notification (RFC 4511 4.4.1: the server is closing).
                unsolicited = true;
            } else if (io.expected.erase(id) != 0) {
                io.ready.insert_or_assign(id, std::move(msg));
                if (const auto w = io.waiting.find(id); w != io.waiting.end()) {
                    w->second->notify_one();
                }
            }
        }
    }
    if (failed_rc != LDAP_SUCCESS) {
        (void)fail(operation_kind::search, failed_rc, "waiting for result");
        if (!broken()) {
            mark_broken(failure(error::server_down,
                                "waiting for result: " + describe(failed_rc, ""), failed_rc));
        }
    } else if (unsolicited) {
        mark_broken(failure(error::server_down,
                            "waiting for result: the server sent a notice of disconnection",
                            LDAP_SERVER_DOWN));
    }
}

connection::reply connection::parse(LDAPMessage* msg) {
    reply r;
    char* raw_diag = nullptr;
    LDAPControl** raw_ctrls = nullptr;
    const std::lock_guard ld_lock(io_->ld_mutex);
    const int rc =
        ldap_parse_result(ld_.get(), msg, &r.rc, nullptr, &raw_diag, nullptr, &raw_ctrls, 0);
    const ldap_string_ptr diag(raw_diag);
    const controls_ptr ctrls(raw_ctrls);
    if (rc != LDAP_SUCCESS) {
        r.rc = rc;
        return r;
    }
    if (diag) {
        r.diagnostic = diag.get();
    }
    if (LDAPControl* pp =
            ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls.get(), nullptr);
        pp != nullptr) {
        ber_int_t expire = -1;
        ber_int_t grace = -1;
        LDAPPasswordPolicyError pp_error = PP_noError;
        if (ldap_parse_passwordpolicy_control(ld_.get(), pp, &expire, &grace, &pp_error) ==
                LDAP_SUCCESS &&
            pp_error != PP_noError) {
            r.ppolicy_error = static_cast<int>(pp_error);
        }
    }
    return r;
}

result<void> connection::bind_unobserved(operation_kind op, std::string_view dn,
                                         std::string_view password, bool ppolicy) {
    // An empty password is an "unauthenticated bind", which AD accepts as anonymous: never send it.
    if (dn.empty() || password.empty()) {
        return failure(op == operation_kind::change ? error::wrong_current_password
                                                    : error::invalid_credentials,
                       "empty DN or password refused before reaching the directory");
    }
    const std::string dn_z(dn);
    berval cred = as_berval(password);
    control_ptr pp_request;
    LDAPControl* ctrls[2] = {nullptr, nullptr};
    int msgid = 0;
    int rc = LDAP_SUCCESS;
    {
        const std::lock_guard ld_lock(io_->ld_mutex);
        if (LDAPControl* raw = nullptr;
            ppolicy && ldap_create_passwordpolicy_control(ld_.get(), &raw) == LDAP_SUCCESS) {
            pp_request.reset(raw);
            ctrls[0] = raw;
        }
        rc = ldap_sasl_bind(ld_.get(), dn_z.c_str(), LDAP_SASL_SIMPLE, &cred, ctrls, nullptr,
                            &msgid);
        expect(rc, msgid);
    }
    if (rc != LDAP_SUCCESS) {
        return fail(op, rc, "bind");
    }
    auto msg = wait(msgid);
    if (!msg) {
        return msg.error();
    }
    const reply r = parse(msg->get());
    if (r.rc != LDAP_SUCCESS) {
        return refused(op, r);
    }
    if (r.ppolicy_error == PP_changeAfterReset) {
        return failure(error::must_change_password, "bind succeeded; ppolicy changeAfterReset");
    }
    return {};
}

result<void> connection::read_root_dse() {
    auto entries = search(operation_kind::search, "", LDAP_SCOPE_BASE, "(objectClass=*)",
                          {"supportedControl", "supportedExtension", "supportedCapabilities"}, 1);
    if (!entries) {
        return entries.error();
    }
    if (entries->empty()) {
        return {};
    }
    const entry& root = entries->front();
    auto take = [&root](std::string_view name) {
        const auto* vals = root.values(name);
        return vals == nullptr ? std::vector<std::string>{} : *vals;
    };
    info_.supported_controls = take("supportedControl");
    info_.supported_extensions = take("supportedExtension");
    info_.supported_capabilities = take("supportedCapabilities");
    return {};
}

result<std::vector<entry>> connection::search_unobserved(operation_kind op, const std::string& base,
                                                         int scope, const std::string& filter,
                                                         const std::vector<std::string>& attributes,
                                                         int size_limit) {
    std::vector<char*> attrs;
    attrs.reserve(attributes.size() + 1);
    for (const auto& a : attributes) {
        attrs.push_back(const_cast<char*>(a.c_str()));
    }
    attrs.push_back(nullptr);
    timeval tv = to_timeval(timeout_);
    int msgid = 0;
    int rc = LDAP_SUCCESS;
    {
        const std::lock_guard ld_lock(io_->ld_mutex);
        rc = ldap_search_ext(ld_.get(), base.c_str(), scope, filter.c_str(), attrs.data(), 0,
                             nullptr, nullptr, &tv, size_limit, &msgid);
        expect(rc, msgid);
    }
    if (rc != LDAP_SUCCESS) {
        return fail(op, rc, "search");
    }
    auto msg = wait(msgid);
    if (!msg) {
        return msg.error();
    }
    std::vector<entry> out;
    std::unique_lock ld_lock(io_->ld_mutex); // libldap records errors in the handle
    for (LDAPMessage* e = ldap_first_entry(ld_.get(), msg->get()); e != nullptr;
         e = ldap_next_entry(ld_.get(), e)) {
        entry item;
        const ldap_string_ptr dn(ldap_get_dn(ld_.get(), e));
        if (dn) {
            item.dn = dn.get();
        }
        BerElement* raw_ber = nullptr;
        for (char* a = ldap_first_attribute(ld_.get(), e, &raw_ber); a != nullptr;
             a = ldap_next_attribute(ld_.get(), e, raw_ber)) {
            const ldap_string_ptr name(a);
            const values_ptr vals(ldap_get_values_len(ld_.get(), e, a));
            auto& slot = item.attributes[lower(a)];
            for (berval** v = vals.get(); v != nullptr && *v != nullptr; ++v) {
                slot.emplace_back((*v)->bv_val, (*v)->bv_len);
            }
        }
        const ber_ptr ber(raw_ber);
        out.push_back(std::move(item));
    }
    ld_lock.unlock();
    const reply r = parse(msg->get());
    // A size limit reached still delivers the entries read; the caller decides what too many means.
    if (r.rc != LDAP_SUCCESS && r.rc != LDAP_SIZELIMIT_EXCEEDED) {
        return refused(op, r);
    }
    return out;
}

result<void> connection::modify_unobserved(operation_kind op, const std::string& dn,
                                           const std::vector<modification>& mods,
                                           const std::vector<control>& controls) {
    // Storage that outlives the call: bervals per value, pointer arrays per attribute.
    std::vector<std::vector<berval>> values(mods.size());
    std::vector<std::vector<berval*>> value_ptrs(mods.size());
    std::vector<LDAPMod> ldap_mods(mods.size());
    std::vector<LDAPMod*> mod_ptrs;
    for (std::size_t i = 0; i < mods.size(); ++i) {
        for (const auto& v : mods[i].values) {
            values[i].push_back(as_berval(v));
        }
        for (auto& bv : values[i]) {
            value_ptrs[i].push_back(&bv);
        }
        value_ptrs[i].push_back(nullptr);
        ldap_mods[i].mod_op = mods[i].op | LDAP_MOD_BVALUES;
        ldap_mods[i].mod_type = const_cast<char*>(mods[i].attribute.c_str());
        ldap_mods[i].mod_bvalues = mods[i].values.empty() ? nullptr : value_ptrs[i].data();
        mod_ptrs.push_back(&ldap_mods[i]);
    }
    mod_ptrs.push_back(nullptr);

    std::vector<LDAPControl> ctrl_storage(controls.size());
    std::vector<LDAPControl*> ctrl_ptrs;
    for (std::size_t i = 0; i < controls.size(); ++i) {
        ctrl_storage[i].ldctl_oid = const_cast<char*>(controls[i].oid.c_str());
        // An empty value means "no value" (the ppolicy request control must carry none).
        ctrl_storage[i].ldctl_value =
            controls[i].value.empty() ? berval{0, nullptr} : as_berval(controls[i].value);
        ctrl_storage[i].ldctl_iscritical = controls[i].critical ? 1 : 0;
        ctrl_ptrs.push_back(&ctrl_storage[i]);
    }
    ctrl_ptrs.push_back(nullptr);

    int msgid = 0;
    int rc = LDAP_SUCCESS;
    {
        const std::lock_guard ld_lock(io_->ld_mutex);
        rc = ldap_modify_ext(ld_.get(), dn.c_str(), mod_ptrs.data(), ctrl_ptrs.data(), nullptr,
                             &msgid);
        expect(rc, msgid);
    }
    if (rc != LDAP_SUCCESS) {
        return fail(op, rc, "modify");
    }
    auto msg = wait(msgid);
    if (!msg) {
        return msg.error();
    }
    const reply r = parse(msg->get());
    if (r.rc != LDAP_SUCCESS) {
        return refused(op, r);
    }
    return {};
}

result<void> connection::password_modify_unobserved(operation_kind op, std::string_view user_dn,
                                                    std::string_view old_password,
                                                    std::string_view new_password) {
    berval user = as_berval(user_dn);
    berval old_pw = as_berval(old_password);
    berval new_pw = as_berval(new_password);
    control_ptr pp_request;
    LDAPControl* ctrls[2] = {nullptr, nullptr};
    int msgid = 0;
    int rc = LDAP_SUCCESS;
    {
        const std::lock_guard ld_lock(io_->ld_mutex);
        if (LDAPControl* raw = nullptr;
            ldap_create_passwordpolicy_control(ld_.get(), &raw) == LDAP_SUCCESS) {
            pp_request.reset(raw);
            ctrls[0] = raw;
        }
        rc = ldap_passwd(ld_.get(), user_dn.empty() ? nullptr : &user,
                         old_password.empty() ? nullptr : &old_pw, &new_pw, ctrls, nullptr, &msgid);
        expect(rc, msgid);
    }
    if (rc != LDAP_SUCCESS) {
        return fail(op, rc, "password modify");
    }
    auto msg = wait(msgid);
    if (!msg) {
        return msg.error();
    }
    const reply r = parse(msg->get());
    if (r.rc != LDAP_SUCCESS) {
        return refused(op, r);
    }
    return {};
}

result<connection> connection::open(const std::string& uri, std::size_t uri_index,
                                    const config& cfg) {
    auto opened = observed(cfg.on_operation, uri, operation_kind::connect,
                           [&] { return open_unobserved(uri, uri_index, cfg); });
    if (opened) {
        opened->uri_ = uri;
        opened->observer_ = cfg.on_operation;
    }
    return opened;
}

result<void> connection::bind(operation_kind op, std::string_view dn, std::string_view password,
                              bool ppolicy) {
    return observed(observer_, uri_, op,
                    [&] { return bind_unobserved(op, dn, password, ppolicy); });
}

result<std::vector<entry>> connection::search(operation_kind op, const std::string& base, int scope,
                                              const std::string& filter,
                                              const std::vector<std::string>& attributes,
                                              int size_limit) {
    return observed(observer_, uri_, op, [&] {
        return search_unobserved(op, base, scope, filter, attributes, size_limit);
    });
}

result<void> connection::modify(operation_kind op, const std::string& dn,
                                const std::vector<modification>& mods,
                                const std::vector<control>& controls) {
    return observed(observer_, uri_, op, [&] { return modify_unobserved(op, dn, mods, controls); });
}

result<void> connection::password_modify(operation_kind op, std::string_view user_dn,
                                         std::string_view old_password,
                                         std::string_view new_password) {
    return observed(observer_, uri_, op, [&] {
        return password_modify_unobserved(op, user_dn, old_password, new_password);
    });
}

} // namespace sspr::ldap::detail
