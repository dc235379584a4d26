#include "ldap/connection_pool.hpp"

#include <algorithm>

namespace sspr::ldap::detail {

connection_pool::lease::~lease() {
    if (pool_ != nullptr && conn_) {
        pool_->release(std::move(conn_));
    }
}

connection_pool::connection_pool(const config& cfg, std::size_t size, std::size_t window,
                                 std::shared_ptr<uri_selector> selector, prepare_fn prepare)
    : cfg_(cfg), size_(size == 0 ? 1 : size), window_(window == 0 ? 1 : window),
      selector_(std::move(selector)), prepare_(std::move(prepare)) {}

std::vector<connection_pool::slot>::iterator connection_pool::least_loaded_with_room() {
    auto best = slots_.end();
    for (auto it = slots_.begin(); it != slots_.end(); ++it) {
        if (it->load < window_ && !it->conn->broken() &&
            (best == slots_.end() || it->load < best->load)) {
            best = it;
        }
    }
    return best;
}

result<connection_pool::lease> connection_pool::acquire(want w) {
    const bool new_only = w == want::new_connection;
    const auto deadline = std::chrono::steady_clock::now() + cfg_.acquire_timeout;
    std::vector<std::shared_ptr<connection>> closing; // closed outside the lock, at return
    std::unique_lock lock(mutex_);
    for (bool waited = false;; waited = true) {
        if (!new_only) {
            // The least loaded connection with room: an idle one if there is one.
            for (;;) {
                const auto best = least_loaded_with_room();
                if (best == slots_.end()) {
                    break;
                }
                if (best->load == 0 && (best->conn->hung_up() ||
                                        selector_->should_fail_back(best->conn->uri_index()))) {
                    // Stale, or a fallback while the preferred server may be back: replace it.
                    closing.push_back(std::move(best->conn));
                    slots_.erase(best);
                    continue;
                }
                if (best->load > 0 && slots_.size() + opening_ < size_) {
                    break; // open another before sharing
                }
                ++best->load;
                return lease(this, best->conn);
            }
        } else if (slots_.size() + opening_ >= size_) {
            // Make room by closing an idle one; one on loan is left to its users.
            const auto idle = std::find_if(slots_.begin(), slots_.end(),
                                           [](const slot& s) { return s.load == 0; });
            if (idle != slots_.end()) {
                closing.push_back(std::move(idle->conn));
                slots_.erase(idle);
            }
        }
        if (slots_.size() + opening_ < size_) {
            ++opening_;
            lock.unlock();
            closing.clear();
            auto fresh = open_new();
            lock.lock();
            --opening_;
            if (!fresh) {
                // A caller that chose to open rather than share still shares, if it may and a
                // working connection has room: the open failing (or the servers backing off)
                // is no reason to fail an operation that one can carry.
                const auto shared = new_only ? slots_.end() : least_loaded_with_room();
                if (shared != slots_.end()) {
                    ++shared->load;
                    std::shared_ptr<connection> conn = shared->conn;
                    lock.unlock();
                    available_.notify_all();
                    return lease(this, std::move(conn));
                }
                lock.unlock();
                available_.notify_all();
                return fresh.error();
            }
            std::shared_ptr<connection> conn = std::move(*fresh);
            slots_.push_back(slot{conn, 1});
            // The new connection has room for window - 1 more: waiters that queued while it was
            // being opened are told (each release wakes only one).
            const bool room_for_waiters = window_ > 1 && waiting_ > 0;
            lock.unlock();
            if (room_for_waiters) {
                available_.notify_all();
            }
            return lease(this, std::move(conn));
        }
        if (waited && std::chrono::steady_clock::now() >= deadline) {
            return failure(error::overloaded, "directory pool: no connection free in time");
        }
        if (!waited && waiting_ >= cfg_.max_waiting) {
            return failure(error::overloaded, "directory pool: too many callers waiting");
        }
        ++waiting_;
        waiting_new_ += new_only ? 1 : 0;
        available_.wait_until(lock, deadline);
        waiting_new_ -= new_only ? 1 : 0;
        --waiting_;
    }
}

void connection_pool::release(std::shared_ptr<connection> conn) {
    std::shared_ptr<connection> dropped;
    bool wake_all = false;
    {
        const std::lock_guard lock(mutex_);
        const auto it = std::find_if(slots_.begin(), slots_.end(),
                                     [&](const slot& s) { return s.conn == conn; });
        if (it != slots_.end()) {
            --it->load;
            if (conn->broken()) {
                dropped = std::move(it->conn);
                slots_.erase(it);
            }
        }
        // Room for one more caller, unless the room is a whole new connection, or one of the
        // waiters takes only an idle or a new one.
        wake_all = dropped != nullptr || waiting_new_ > 0;
    }
    if (wake_all) {
        available_.notify_all();
    } else {
        available_.notify_one();
    }
    // A broken connection is closed here, outside the lock, by whichever lease lets go last.
}

result<std::unique_ptr<connection>> connection_pool::open_new() {
    const auto order = selector_->candidates();
    if (order.empty()) {
        return failure(error::server_down, "every directory server failed recently; backing off");
    }
    failure last(error::server_down, "no directory URI configured");
    for (const std::size_t index : order) {
        auto conn = connection::open(cfg_.uris.at(index), index, cfg_);
        if (conn && prepare_) {
            if (auto prepared = prepare_(*conn); !prepared) {
                if (!conn->broken()) {
                    // The server answered and refused (e.g. wrong service password): no failover
                    // would help, and the URI is healthy.
                    selector_->record_success(index);
                    return prepared.error();
                }
                last = prepared.error();
                selector_->record_failure(index);
                continue;
            }
        }
        if (!conn) {
            last = conn.error();
            selector_->record_failure(index);
            continue;
        }
        selector_->record_success(index);
        return std::make_unique<connection>(std::move(*conn));
    }
    return last;
}

} // namespace sspr::ldap::detail
