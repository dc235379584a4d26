#include "store/throttle_cache.hpp"

#include "common/random.hpp"
#include "store/siphash.hpp"

#include <algorithm>
#include <cstdlib>
#include <new>
#include <span>
#include <stdexcept>
#include <type_traits>

namespace sspr::store {
namespace {

// Enough stripes that threads rarely meet on one; few enough to stay small (40 bytes each).
constexpr std::size_t max_locks = 1024;

std::int64_t ms_of(timestamp t) noexcept {
    return t.time_since_epoch().count();
}
timestamp at_ms(std::int64_t v) noexcept {
    return timestamp(std::chrono::milliseconds(v));
}

std::array<std::uint64_t, 2> random_key(common::random& random) {
    std::array<std::uint64_t, 2> key{};
    random.fill(std::as_writable_bytes(std::span(key)));
    return key;
}

throttle_cache::options checked(throttle_cache::options opts) {
    if (opts.max_entries == 0) {
        throw std::invalid_argument("throttle_cache needs room for at least one entry");
    }
    if (opts.max_cached_block < std::chrono::milliseconds{0}) {
        throw std::invalid_argument("throttle_cache max_cached_block must not be negative");
    }
    return opts;
}

} // namespace

void throttle_cache::free_deleter::operator()(entry* p) const noexcept {
    std::free(p);
}

throttle_cache::throttle_cache(common::random& random, options opts)
    : options_(checked(opts)), key_hi_(random_key(random)), key_lo_(random_key(random)) {
    sets_ = (options_.max_entries + ways - 1) / ways;
    // An aggregate of integers: calloc's zero bytes are valid, empty entries (implicitly created
    // objects), and a fresh mmap'd block of calloc is not written, so untouched pages cost nothing.
    static_assert(std::is_aggregate_v<entry> && std::is_trivially_copyable_v<entry> &&
                  std::is_trivially_destructible_v<entry>);
    entries_.reset(static_cast<entry*>(std::calloc(sets_ * ways, sizeof(entry))));
    if (!entries_) {
        throw std::bad_alloc();
    }
    hands_.resize(sets_);
    locks_ = std::vector<std::mutex>(std::min(sets_, max_locks));
}

throttle_cache::fingerprint throttle_cache::fingerprint_of(std::string_view key) const noexcept {
    fingerprint fp{detail::siphash24(key_hi_, key), detail::siphash24(key_lo_, key)};
    if (fp.hi == 0 && fp.lo == 0) {
        fp.lo = 1; // (0, 0) means "empty"; one key in 2^128 moves next to another
    }
    return fp;
}

std::size_t throttle_cache::set_of(const fingerprint& fp) const noexcept {
    return static_cast<std::size_t>(fp.lo % sets_);
}

std::mutex& throttle_cache::lock_of(std::size_t set) const noexcept {
    return locks_[set % locks_.size()];
}

throttle_cache::entry* throttle_cache::find(std::size_t set, const fingerprint& fp) noexcept {
    entry* base = &entries_[set * ways];
    for (std::size_t w = 0; w < ways; ++w) {
        if (base[w].fp == fp) {
            return &base[w];
        }
    }
    return nullptr;
}

throttle_cache::entry& throttle_cache::slot_for(std::size_t set, const fingerprint& fp,
                                                std::int64_t now_ms) noexcept {
    if (entry* e = find(set, fp)) {
        // Asked about again (its refusal from memory ran out, or it is being re-stated): in use.
        e->referenced = true;
        return *e;
    }
    entry* base = &entries_[set * ways];
    const auto claim = [&](entry& e) -> entry& {
        // A new block starts unreferenced: it earns its second chance by being refused from
        // memory, so a flood of blocks nobody asks about again cannot push out the hammered ones.
        e = entry{};
        e.fp = fp;
        return e;
    };
    // An empty way, or a stale one: memory no longer refuses with it, so it decides nothing.
    for (std::size_t w = 0; w < ways; ++w) {
        const entry& e = base[w];
        if ((e.fp.hi == 0 && e.fp.lo == 0) || e.recheck_ms <= now_ms) {
            return claim(base[w]);
        }
    }
    // Every way refuses: CLOCK. Two turns of the hand always find a victim, because the first
    // clears every bit it passes.
    for (std::size_t step = 0; step < 2 * ways; ++step) {
        auto& hand = hands_[set];
        entry& e = base[hand];
        hand = static_cast<std::uint8_t>((hand + 1) % ways);
        if (e.referenced) {
            e.referenced = false;
            continue;
        }
        evictions_.fetch_add(1, std::memory_order_relaxed);
        return claim(e);
    }
    evictions_.fetch_add(1, std::memory_order_relaxed);
    return claim(base[hands_[set]]); // unreachable: the first turn cleared every bit
}

std::optional<timestamp> throttle_cache::cached_block(std::string_view key, timestamp now) {
    const auto fp = fingerprint_of(key);
    const auto set = set_of(fp);
    const std::lock_guard lock(lock_of(set));
    entry* e = find(set, fp);
    if (e == nullptr || e->recheck_ms <= ms_of(now)) {
        return std::nullopt;
    }
    e->referenced = true;
    cache_refusals_.fetch_add(1, std::memory_order_relaxed);
    return at_ms(e->blocked_until_ms);
}

void throttle_cache::remember_block(std::string_view key, timestamp until, timestamp now) {
    const auto now_ms = ms_of(now);
    const auto until_ms = ms_of(until);
    const auto recheck_ms = std::min(until_ms, now_ms + options_.max_cached_block.count());
    const auto fp = fingerprint_of(key);
    const auto set = set_of(fp);
    const std::lock_guard lock(lock_of(set));
    if (recheck_ms <= now_ms) {
        // No block in force (or memory may not vouch for any): an older copy must not outlive
        // the store's newer answer.
        if (entry* e = find(set, fp)) {
            *e = entry{};
        }
        return;
    }
    entry& e = slot_for(set, fp, now_ms);
    e.blocked_until_ms = until_ms;
    e.recheck_ms = recheck_ms;
}

void throttle_cache::forget(std::string_view key) {
    const auto fp = fingerprint_of(key);
    const auto set = set_of(fp);
    const std::lock_guard lock(lock_of(set));
    if (entry* e = find(set, fp)) {
        *e = entry{};
    }
}

std::size_t throttle_cache::size() const {
    std::size_t n = 0;
    for (std::size_t set = 0; set < sets_; ++set) {
        const std::lock_guard lock(lock_of(set));
        for (std::size_t w = 0; w < ways; ++w) {
            const auto& fp = entries_[set * ways + w].fp;
            if (fp.hi != 0 || fp.lo != 0) {
                ++n;
            }
        }
    }
    return n;
}

std::size_t throttle_cache::memory_bytes() const noexcept {
    return capacity() * sizeof(entry) + hands_.capacity() + locks_.capacity() * sizeof(std::mutex) +
           sizeof(*this);
}

throttle_cache::statistics throttle_cache::stats() const noexcept {
    return {cache_refusals_.load(std::memory_order_relaxed),
            evictions_.load(std::memory_order_relaxed)};
}

} // namespace sspr::store
