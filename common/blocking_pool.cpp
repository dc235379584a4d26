#include "common/blocking_pool.hpp"

#include <stdexcept>

namespace sspr::common {

blocking_pool::blocking_pool(std::size_t threads, std::size_t max_queued)
    : max_queued_(max_queued) {
    if (threads == 0 || max_queued == 0) {
        // Every job passes through the queue, so a bound of zero would refuse all work.
        throw std::invalid_argument("blocking_pool needs at least one thread and one queue slot");
    }
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.emplace_back([this] { work(); });
    }
}

blocking_pool::~blocking_pool() {
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (auto& worker : workers_) {
        worker.join();
    }
}

bool blocking_pool::try_post(unique_function<void()> job) {
    {
        const std::lock_guard lock(mutex_);
        if (stopping_ || jobs_.size() >= max_queued_) {
            return false;
        }
        jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
    return true;
}

std::size_t blocking_pool::queued() const {
    const std::lock_guard lock(mutex_);
    return jobs_.size();
}

void blocking_pool::work() {
    for (;;) {
        unique_function<void()> job;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
            if (jobs_.empty()) {
                return; // stopping and drained
            }
            job = std::move(jobs_.front());
            jobs_.pop_front();
        }
        job();
    }
}

} // namespace sspr::common
