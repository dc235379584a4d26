// The memory of throttle blocks: a bounded in-memory table that remembers which keys the store
// reported blocked, so that a flood from a blocked key (an address, a user name) is refused in well
// under a microsecond without a database round trip, and so that memory stays fixed however many
// distinct keys arrive.
//
// It decides nothing. The flows count events in the store (state_store::increment), read blocks
// from it (state_store::blocked_until) and call policy::evaluate on what the store reports; policy
// alone says when a count starts a block and how long it lasts, and the flows store that block
// (state_store::block). This cache only remembers the blocks the flows saw or stored
// (remember_block), so that the next check before acting for that key (cached_block) can refuse
// without asking the store. One rule, in one place: there is no limit or window here.
//
// Consistency (why refusing from memory is safe when several instances share the store):
// - A cached block is one the store reported or was given; the cache never invents one and never
//   lengthens one.
// - A block made by another instance is not cached here until this instance reads it from the
//   store, which it does on every check of a key with nothing cached: no extra event gets through.
// - An unblock made elsewhere (an admin, a success on another instance clearing the counters) is
//   seen here no later than `max_cached_block` after the block was remembered: memory refuses for
//   at most that long before the caller must ask the store again. forget() drops this instance's
//   copy at once.
// - When the table evicts a block (too many other blocks), the next check for that key asks the
//   store, which still holds the block: eviction costs one round trip, never a missed refusal.
// - A key that is not blocked is never stored, so a flood of fresh keys only costs lookups.
//
// The table is set-associative: 8 ways per set, a CLOCK hand per set, a 128-bit SipHash
// fingerprint per entry (keys themselves are not kept, so entries have a fixed size and hold no
// personal data), one mutex per group of sets. Eviction takes empty and stale entries (whose
// refusal from memory is over) first, then the CLOCK victim among the live ones, so blocks that
// are being refused survive a flood of blocks nobody asks about again.
#pragma once

#include "store/state_store.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
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

/// Thread-safe: every member may be called from any thread at once. No call touches the store, and
/// cached_block, remember_block and forget hold one short mutex, so the I/O thread may call them
/// (size() visits every set: for metrics, not per request).
class throttle_cache {
public:
    struct options {
        /// Entries kept; rounded up to a multiple of 8. Memory is about 40 bytes per entry,
        /// allocated once.
        std::size_t max_entries = 65536;
        /// Longest time a remembered block is refused from memory before the store is asked
        /// again: bounds how late an unblock made elsewhere is seen here. 0 refuses nothing from
        /// memory.
        std::chrono::milliseconds max_cached_block{60000};
    };

    struct statistics {
        /// cached_block calls that returned a block (each one a store round trip saved).
        std::uint64_t cache_refusals = 0;
        /// Live blocks pushed out to make room for another (stale entries reused do not count).
        std::uint64_t evictions = 0;
    };

    /// The SipHash key comes from `random`. Throws std::invalid_argument for max_entries 0 or a
    /// negative max_cached_block (configuration errors, before serving).
    throttle_cache(common::random& random, options opts);
    explicit throttle_cache(common::random& random) : throttle_cache(random, options{}) {}
    throttle_cache(const throttle_cache&) = delete;
    throttle_cache& operator=(const throttle_cache&) = delete;

    /// A block remembered for `key` that memory still vouches for at `now`: when the block ends,
    /// as the store has it (for Retry-After). Nothing when no block was remembered, the block is
    /// over, or it was remembered `max_cached_block` or longer ago (then ask the store and
    /// remember_block what it says). Never touches the store.
    [[nodiscard]] std::optional<timestamp> cached_block(std::string_view key, timestamp now);

    /// Remembers that the store holds a block on `key` until `until`: after the store reported it
    /// (blocked_until, increment) or after the caller stored it (block). Replaces what was
    /// remembered for the key, since the store's latest answer is the truth. Refused from memory
    /// until min(until, now + max_cached_block). An `until` at or before `now` is no block:
    /// whatever was remembered for the key is dropped.
    void remember_block(std::string_view key, timestamp until, timestamp now);

    /// Drops what is remembered for `key`: after an admin unblock or a success cleared the key's
    /// counters in the store (state_store::reset).
    void forget(std::string_view key);

    /// Entries in use now (<= capacity()), stale ones included until they are reused.
    [[nodiscard]] std::size_t size() const;
    [[nodiscard]] std::size_t capacity() const noexcept { return sets_ * ways; }
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
        bool referenced = false;           // CLOCK bit: refused from memory since the hand passed
    };

    [[nodiscard]] fingerprint fingerprint_of(std::string_view key) const noexcept;
    [[nodiscard]] std::size_t set_of(const fingerprint& fp) const noexcept;
    [[nodiscard]] std::mutex& lock_of(std::size_t set) const noexcept;
    // Callers hold lock_of(set).
    entry* find(std::size_t set, const fingerprint& fp) noexcept;
    entry& slot_for(std::size_t set, const fingerprint& fp, std::int64_t now_ms) noexcept;

    const options options_;
    std::array<std::uint64_t, 2> key_hi_{};
    std::array<std::uint64_t, 2> key_lo_{};
    struct free_deleter {
        void operator()(entry* p) const noexcept;
    };
    /// sets_ * ways; set s is [s * ways, s * ways + ways). From calloc, not a vector: the zero
    /// bytes are the empty entries, so the kernel's zero pages stand in until a page holds a block
    /// (a std::vector writes every entry: the full 2.5 MiB of the default size resident at once).
    std::unique_ptr<entry[], free_deleter> entries_;
    std::vector<std::uint8_t> hands_; // CLOCK hand per set
    std::size_t sets_ = 0;
    mutable std::vector<std::mutex> locks_; // set s is guarded by locks_[s % locks_.size()]
    std::atomic<std::uint64_t> cache_refusals_{0};
    std::atomic<std::uint64_t> evictions_{0};
};

} // namespace sspr::store
