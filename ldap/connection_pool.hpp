// A bounded pool of prepared connections (connected, TLS up, bound as needed) with failover across
// the configured URIs. At most `size` connections exist, and each is lent to at most `window`
// callers at once (their operations pipeline on it; 1 for connections that binds change). An idle
// connection is lent first, then a new one is opened while there is room, then the least loaded
// is shared. Beyond size × window, at most `max_waiting` callers wait, each for at most
// `acquire_timeout`; beyond that the answer is error::overloaded, at once.
#pragma once

#include "ldap/config.hpp"
#include "ldap/connection.hpp"
#include "ldap/uri_selector.hpp"

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace sspr::ldap::detail {

class connection_pool {
public:
    /// Run on every new connection before it is handed out (e.g. bind as the service account and
    /// read the rootDSE). A transport failure here counts against the URI like a failed connect.
    using prepare_fn = std::function<result<void>(connection&)>;

    connection_pool(const config& cfg, std::size_t size, std::size_t window,
                    std::shared_ptr<uri_selector> selector, prepare_fn prepare);
    connection_pool(const connection_pool&) = delete;
    connection_pool& operator=(const connection_pool&) = delete;

    /// A connection on loan (perhaps shared with other leases); it goes back to the pool when the
    /// lease dies, or is dropped if it broke while on loan (and closed by its last lease).
    class lease {
    public:
        lease(connection_pool* pool, std::shared_ptr<connection> conn)
            : pool_(pool), conn_(std::move(conn)) {}
        lease(lease&& other) noexcept = default;
        lease& operator=(lease&&) = delete;
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        ~lease();

        connection& operator*() const noexcept { return *conn_; }
        connection* operator->() const noexcept { return conn_.get(); }

    private:
        connection_pool* pool_;
        std::shared_ptr<connection> conn_;
    };

    /// Whether acquire() may hand out an idle connection.
    enum class want { invalid = 0, any, new_connection };

    /// Blocks for at most acquire_timeout (plus connect time when a new connection is opened).
    /// want::new_connection opens one even when some are idle (closing an idle one if the pool is
    /// full) and never shares: the second try after a connection died under an operation, when
    /// the others to that server may be dying too and not know it yet.
    result<lease> acquire(want w = want::any);

private:
    struct slot {
        std::shared_ptr<connection> conn;
        std::size_t load = 0; // leases out on it
    };

    /// The connection with the fewest leases among those with room that work (an idle one if
    /// any); slots_.end() if none. Call with mutex_ held.
    std::vector<slot>::iterator least_loaded_with_room();
    void release(std::shared_ptr<connection> conn);
    result<std::unique_ptr<connection>> open_new();

    const config& cfg_;
    const std::size_t size_;
    const std::size_t window_;
    std::shared_ptr<uri_selector> selector_;
    prepare_fn prepare_;

    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<slot> slots_;     // open and prepared; guarded by mutex_
    std::size_t opening_ = 0;     // being opened; guarded by mutex_
    std::size_t waiting_ = 0;     // guarded by mutex_
    std::size_t waiting_new_ = 0; // of them want::new_connection; guarded by mutex_
};

} // namespace sspr::ldap::detail
