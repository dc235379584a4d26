#include "ldap/connection_pool.hpp"

namespace sspr::ldap::detail {

connection_pool::lease::~lease() {
    if (pool_ != nullptr && conn_) {
        pool_->release(std::move(conn_));
    }
}

connection_pool::connection_pool(const config& cfg, std::size_t size,
                                 std::shared_ptr<uri_selector> selector, prepare_fn prepare)
    : cfg_(cfg), size_(size == 0 ? 1 : size), selector_(std::move(selector)),
      prepare_(std::move(prepare)) {}

result<connection_pool::lease> connection_pool::acquire(want w) {
    const bool new_only = w == want::new_connection;
    std::unique_lock lock(mutex_);
    if (idle_.empty() && open_ >= size_) {
        if (waiting_ >= cfg_.max_waiting) {
            return failure(error::overloaded, "directory pool: too many callers waiting");
        }
        ++waiting_;
        const bool got = available_.wait_for(lock, cfg_.acquire_timeout,
                                             [this] { return !idle_.empty() || open_ < size_; });
        --waiting_;
        if (!got) {
            return failure(error::overloaded, "directory pool: no connection free in time");
        }
    }
    while (!idle_.empty()) {
        if (new_only && open_ < size_) {
            break; // room for a new one; the idle ones stay for others
        }
        std::unique_ptr<connection> conn = std::move(idle_.back());
        idle_.pop_back();
        if (!new_only && !conn->hung_up() && !selector_->should_fail_back(conn->uri_index())) {
            return lease(this, std::move(conn));
        }
        // Stale, a fallback while the preferred server may be back, or in the way of a new one:
        // replace it.
        --open_;
        lock.unlock();
        conn.reset();
        lock.lock();
    }
    ++open_;
    lock.unlock();
    auto fresh = open_new();
    if (!fresh) {
        lock.lock();
        --open_;
        lock.unlock();
        available_.notify_one();
        return fresh.error();
    }
    return lease(this, std::move(*fresh));
}

void connection_pool::release(std::unique_ptr<connection> conn) {
    {
        const std::lock_guard lock(mutex_);
        if (conn->broken()) {
            --open_;
        } else {
            idle_.push_back(std::move(conn));
        }
    }
    available_.notify_one();
    // A broken connection is closed here, outside the lock.
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
