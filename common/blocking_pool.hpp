// A fixed set of worker threads for blocking libraries (libldap, SQLite, libpq, libcurl, argon2),
// so that they never run on an I/O strand. The queue is bounded: when it is full, try_post refuses
// at once and the caller answers "overloaded" instead of queueing without limit.
#pragma once

#include "common/unique_function.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace sspr::common {

class blocking_pool {
public:
    /// Starts `threads` workers; at most `max_queued` jobs wait for a worker at any time.
    blocking_pool(std::size_t threads, std::size_t max_queued);
    blocking_pool(const blocking_pool&) = delete;
    blocking_pool& operator=(const blocking_pool&) = delete;
    /// Runs the jobs already queued, then joins the workers.
    ~blocking_pool();

    /// Queues `job` unless the queue is full or the pool is stopping; false means refused (the job
    /// was not queued and will never run). Thread-safe.
    [[nodiscard]] bool try_post(unique_function<void()> job);

    /// Jobs waiting for a worker now (not counting running ones). Thread-safe.
    [[nodiscard]] std::size_t queued() const;

private:
    void work();

    const std::size_t max_queued_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<unique_function<void()>> jobs_; // guarded by mutex_
    bool stopping_ = false;                    // guarded by mutex_
    std::vector<std::thread> workers_;
};

} // namespace sspr::common
