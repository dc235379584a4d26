// The throttle front: a bounded in-memory table in front of the store's counters, so that a flood
// from one key (an address, a user name) is refused in well under a microsecond once the key is
// blocked, without a database round trip per request, and so that memory stays fixed however
// many distinct keys arrive.
//
// How it decides. hit() counts the attempt in the store (state_store::increment), so every
// gateway instance sharing the store counts against the same limit, and refuses when the count
// goes over the limit: it then blocks the key in the store (for the other instances) and here.
// While a key's block is cached, hit() and cached_block() refuse it without touching the store.
//
// Consistency (why it is safe to share limits this way):
// - Counts are exact: every attempt that is not refused from the cache reaches the store.
// - A block made by another instance takes effect here on this instance's next attempt for that
//   key, because the store's answer to increment carries the block. No extra attempt gets
//   through.
// - An unblock (store reset, an admin clearing a user) reaches another instance only when its
//   cached block ends: at most `max_cached_block` later. reset() here clears this instance's copy
//   at once.
// - When the cache evicts a block (too many other keys), the next attempt for that key asks the
//   store, which still holds the block: eviction costs one round trip, never a missed refusal.
//
// The table is set-associative: 8 ways per set, a CLOCK hand per set, a 128-bit SipHash
// fingerprint per entry (keys themselves are not kept, so entries have a fixed size and hold no
// personal data), one mutex per group of sets. Eviction prefers stale entries, then unblocked
// ones, so a flood of fresh keys does not push out the blocks that matter.
#pragma once

#include "store/state_store.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

namespace sspr::common {
class random;
}

namespace sspr::store {

struct throttle_limit {
    /// Attempts allowed in one window; the next one is refused and blocks the key.
    std::uint64_t limit = 0;
    std::chrono::milliseconds window{0};
    /// How long the key stays refused once over the limit (at least until the window ends).
    std::chrono::milliseconds block{0};
};

struct throttle_decision {
    bool allowed = false;
    /// Attempts counted in the window, this one included; 0 when refused from the cache.
    std::uint64_t count = 0;
    /// When refused: when the block ends (Retry-After).
    std::optional<timestamp> blocked_until;
    /// Decided without a database round trip.
    bool from_cache = false;
};

class throttle_cache {
public:
    struct options {
        /// Entries kept; rounded up to a multiple of 8. Memory is about 48 bytes per entry,
        /// allocated once.
        std::size_t max_entries = 65536;
        /// Longest time a block is refused from memory before the store is asked again: bounds
        /// how late an unblock made elsewhere is seen here.
        std::chrono::milliseconds max_cached_block{60000};
    };

    struct statistics {
        std::uint64_t cache_refusals = 0; // refused from memory
        std::uint64_t store_calls = 0;    // increments sent to the store
        std::uint64_t evictions = 0;      // live entries pushed out by new keys
    };

    /// `store` must outlive the cache. The SipHash key comes from `random`.
    throttle_cache(state_store& store, common::random& random, options opts);
    throttle_cache(state_store& store, common::random& random)
        : throttle_cache(store, random, options{}) {}
    throttle_cache(const throttle_cache&) = delete;
    throttle_cache& operator=(const throttle_cache&) = delete;

    /// The cached block of `key` at `now`, if any: when the block ends. Never touches the store and
    /// never blocks for long (one short mutex): call it on the I/O thread to refuse a flood before
    /// it costs a blocking-pool slot.
    [[nodiscard]] std::optional<timestamp> cached_block(std::string_view key, timestamp now);

    /// Counts one attempt on `key` and decides. Refuses from memory while a block is cached;
    /// otherwise one or two store calls (increment; block when it just went over), so call it
    /// from the blocking pool. A store failure is returned as is: refusing or allowing then is
    /// the caller's policy (ssprd refuses).
    [[nodiscard]] result<throttle_decision> hit(std::string_view key, const throttle_limit& limit,
                                                timestamp now);

    /// Forgets the key here and in the store (an admin unblock).
    [[nodiscard]] result<void> reset(std::string_view key);

    /// Entries in use now (<= capacity()).
    [[nodiscard]] std::size_t size() const;
    [[nodiscard]] std::size_t capacity() const noexcept { return entries_.size(); }
    /// Bytes held by the table, fixed at construction.
    [[nodiscard]] std::size_t memory_bytes() const noexcept;
    [[nodiscard]] statistics stats() const noexcept;

private:
    static constexpr std::size_t ways = 8;

    struct fingerprint {
        std::uint64_t hi = 0;
        std::uint64_t lo = 0; // hi == lo == 0 marks an empty entry
        friend bool operator==(const fingerprint&, const fingerprint&) = default;
    };

    struct entry {
        fingerprint fp;
        std::int64_t blocked_until_ms = 0; // the block's end, as the store has it
        std::int64_t recheck_ms = 0;       // refused from memory until then (<= blocked_until_ms)
        std::int64_t window_end_ms = 0;
        std::uint32_t count = 0; // last count the store gave (saturating)
        bool referenced = false; // CLOCK bit
    };

    [[nodiscard]] fingerprint fingerprint_of(std::string_view key) const noexcept;
    [[nodiscard]] std::size_t set_of(const fingerprint& fp) const noexcept;
    [[nodiscard]] std::mutex& lock_of(std::size_t set) const noexcept;
    [[nodiscard]] std::optional<timestamp> cached_block_of(const fingerprint& fp, timestamp now);
    // Callers hold lock_of(set).
    entry* find(std::size_t set, const fingerprint& fp) noexcept;
    entry& slot_for(std::size_t set, const fingerprint& fp, std::int64_t now_ms) noexcept;
    void remember(const fingerprint& fp, std::int64_t now_ms, std::int64_t blocked_until_ms,
                  std::int64_t recheck_ms, const counter_state& state);

    state_store& store_;
    const options options_;
    std::array<std::uint64_t, 2> key_hi_{};
    std::array<std::uint64_t, 2> key_lo_{};
    std::vector<entry> entries_;      // sets_ * ways; set s is [s * ways, s * ways + ways)
    std::vector<std::uint8_t> hands_; // CLOCK hand per set
    std::size_t sets_ = 0;
    mutable std::vector<std::mutex> locks_; // set s is guarded by locks_[s % locks_.size()]
    std::atomic<std::uint64_t> cache_refusals_{0};
    std::atomic<std::uint64_t> store_calls_{0};
    std::atomic<std::uint64_t> evictions_{0};
};

} // namespace sspr::store
