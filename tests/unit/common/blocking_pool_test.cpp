// Unit tests of common/blocking_pool.hpp. Workers are held on latches so that every state (worker
// busy, queue full, pool stopping) is reached deterministically; waits carry a generous deadline
// only so that a broken pool fails the test instead of hanging it.
#include "common/blocking_pool.hpp"
#include "common/unique_function.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;
using sspr::common::blocking_pool;

namespace {

constexpr auto deadline = 10s;

// Counts finished jobs; lets the test wait for a number of them with a deadline.
class counter {
public:
    void bump() {
        {
            const std::lock_guard lock(mutex_);
            ++count_;
        }
        changed_.notify_all();
    }
    [[nodiscard]] bool wait_for(int n) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, deadline, [&] { return count_ >= n; });
    }
    [[nodiscard]] int value() const {
        const std::lock_guard lock(mutex_);
        return count_;
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    int count_ = 0;
};

} // namespace

TEST_CASE("blocking_pool: jobs run on a worker thread, not the caller's", "[common]") {
    std::promise<std::thread::id> ran_on;
    auto future = ran_on.get_future();
    blocking_pool pool(2, 8); // declared last: joined before what its jobs use goes away
    REQUIRE(pool.try_post([&] { ran_on.set_value(std::this_thread::get_id()); }));
    REQUIRE(future.wait_for(deadline) == std::future_status::ready);
    CHECK(future.get() != std::this_thread::get_id());
}

TEST_CASE("blocking_pool: runs up to `threads` jobs at the same time", "[common]") {
    constexpr int threads = 3;
    // Each job waits until all three have started: only possible with three workers.
    std::mutex mutex;
    std::condition_variable cv;
    int started = 0;
    counter all_met;
    blocking_pool pool(threads, 8);
    for (int i = 0; i < threads; ++i) {
        REQUIRE(pool.try_post([&] {
            std::unique_lock lock(mutex);
            ++started;
            cv.notify_all();
            if (cv.wait_for(lock, deadline, [&] { return started == threads; })) {
                all_met.bump();
            }
        }));
    }
    REQUIRE(all_met.wait_for(threads));
    CHECK(all_met.value() == threads);
}

TEST_CASE("blocking_pool: a full queue refuses at once and the refused job never runs",
          "[common]") {
    counter done;
    std::atomic<bool> refused_ran{false};
    {
        std::latch started(1);
        std::latch release(1);
        blocking_pool pool(1, 2);
        REQUIRE(pool.try_post([&] {
            started.count_down();
            release.wait();
            done.bump();
        }));
        started.wait(); // the only worker is busy; nothing is queued yet
        CHECK(pool.queued() == 0);

        CHECK(pool.try_post([&] { done.bump(); }));
        CHECK(pool.try_post([&] { done.bump(); }));
        CHECK(pool.queued() == 2);
        CHECK_FALSE(pool.try_post([&] { refused_ran = true; }));
        CHECK(pool.queued() == 2);

        release.count_down();
        REQUIRE(done.wait_for(3));
        CHECK(pool.queued() == 0);
        // The refusal was only because the queue was full: there is room again.
        CHECK(pool.try_post([&] { done.bump(); }));
        REQUIRE(done.wait_for(4));
    }
    CHECK(done.value() == 4);
    CHECK_FALSE(refused_ran.load());
}

TEST_CASE("blocking_pool: the destructor runs the queued jobs and refuses new ones", "[common]") {
    constexpr std::size_t capacity = 1'000'000;
    auto* pool = new blocking_pool(1, capacity);
    std::latch started(1);
    std::latch release(1);
    std::atomic<int> ran{0};
    REQUIRE(pool->try_post([&] {
        started.count_down();
        release.wait();
    }));
    started.wait();
    for (int i = 0; i < 5; ++i) {
        REQUIRE(pool->try_post([&] { ++ran; }));
    }
    REQUIRE(pool->queued() == 5);

    // The destructor blocks in join() while the worker is held, so the pool's members stay alive
    // until `release`; once it has begun, try_post refuses. The queue is far from full, so a
    // refusal here means "stopping".
    std::thread destroyer([pool] { delete pool; });
    int accepted_meanwhile = 0;
    while (pool->try_post([&] { ++ran; })) {
        ++accepted_meanwhile;
        std::this_thread::yield();
    }
    CHECK(pool->queued() == 5 + static_cast<std::size_t>(accepted_meanwhile));
    CHECK(pool->queued() < capacity);
    release.count_down();
    destroyer.join();

    // Every accepted job ran before the destructor returned; the refused one did not.
    CHECK(ran.load() == 5 + accepted_meanwhile);
}

TEST_CASE("blocking_pool: zero threads is a logic error", "[common]") {
    CHECK_THROWS_AS(blocking_pool(0, 8), std::invalid_argument);
}

TEST_CASE("blocking_pool: a queue bound of zero is a logic error", "[common]") {
    // Every job passes through the queue, so zero slots would refuse all work silently.
    CHECK_THROWS_AS(blocking_pool(1, 0), std::invalid_argument);
}

TEST_CASE("blocking_pool: jobs may own move-only things", "[common]") {
    sspr::common::blocking_pool pool(1, 4);
    std::promise<int> done;
    auto result = done.get_future();
    auto owned = std::make_unique<int>(42);
    // Not inside REQUIRE: Catch2 repeats its expression (unevaluated), a use after move.
    const bool posted =
        pool.try_post([p = std::move(owned), d = std::move(done)]() mutable { d.set_value(*p); });
    REQUIRE(posted);
    CHECK(result.get() == 42);
}

TEST_CASE("unique_function: moves its target, calls it, and is empty when moved from", "[common]") {
    sspr::common::unique_function<int(int)> f = [base = std::make_unique<int>(10)](int x) {
        return *base + x;
    };
    REQUIRE(static_cast<bool>(f));
    CHECK(f(5) == 15);
    auto g = std::move(f);
    CHECK(g(1) == 11);
    CHECK_FALSE(static_cast<bool>(f)); // NOLINT(bugprone-use-after-move): checks the moved-from f
    // NOLINTNEXTLINE(clang-analyzer-cplusplus.Move): calling the moved-from f is what is tested
    CHECK_THROWS_AS(f(1), std::bad_function_call);
}
