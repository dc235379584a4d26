#include "store/throttle_cache.hpp"

#include "common/random.hpp"
#include "store/siphash.hpp"

#include <algorithm>
#include <cstring>
#include <limits>
#include <stdexcept>

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

} // namespace

throttle_cache::throttle_cache(state_store& store, common::random& random, options opts)
    : store_(store), options_(opts), key_hi_(random_key(random)), key_lo_(random_key(random)) {
    if (opts.max_entries == 0) {
        throw std::invalid_argument("throttle_cache needs room for at least one entry");
    }
    sets_ = (opts.max_entries + ways - 1) / ways;
    entries_.resize(sets_ * ways);
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
        return *e;
    }
    entry* base = &entries_[set * ways];
    const auto claim = [&](entry& e) -> entry& {
        e = entry{};
        e.fp = fp;
        return e;
    };
    // An empty way, or one whose block and window are both over (it decides nothing any more).
    for (std::size_t w = 0; w < ways; ++w) {
        const entry& e = base[w];
        if ((e.fp.hi == 0 && e.fp.lo == 0) ||
            (e.recheck_ms <= now_ms && e.window_end_ms <= now_ms)) {
            return claim(base[w]);
        }
    }
    // CLOCK over the unblocked entries first: blocks are what saves the store under a flood.
    // Two turns of the hand always find a victim when one is unblocked; when all eight are
    // blocked, the same over all of them.
    for (const bool spare_blocked : {true, false}) {
        for (std::size_t step = 0; step < 2 * ways; ++step) {
            auto& hand = hands_[set];
            entry& e = base[hand];
            hand = static_cast<std::uint8_t>((hand + 1) % ways);
            if (spare_blocked && e.recheck_ms > now_ms) {
                continue;
            }
            if (e.referenced) {
                e.referenced = false;
                continue;
            }
            evictions_.fetch_add(1, std::memory_order_relaxed);
            return claim(e);
        }
    }
    evictions_.fetch_add(1, std::memory_order_relaxed);
    return claim(base[hands_[set]]); // unreachable: the second turn clears every bit first
}

void throttle_cache::remember(const fingerprint& fp, std::int64_t now_ms,
                              std::int64_t blocked_until_ms, std::int64_t recheck_ms,
                              const counter_state& state) {
    const auto set = set_of(fp);
    const std::lock_guard lock(lock_of(set));
    entry& e = slot_for(set, fp, now_ms);
    e.blocked_until_ms = blocked_until_ms;
    e.recheck_ms = recheck_ms;
    e.window_end_ms = ms_of(state.window_end);
    e.count = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(state.count, std::numeric_limits<std::uint32_t>::max()));
    e.referenced = true;
}

std::optional<timestamp> throttle_cache::cached_block(std::string_view key, timestamp now) {
    return cached_block_of(fingerprint_of(key), now);
}

std::optional<timestamp> throttle_cache::cached_block_of(const fingerprint& fp, timestamp now) {
    const auto set = set_of(fp);
    const std::lock_guard lock(lock_of(set));
    entry* e = find(set, fp);
    if (e == nullptr || e->recheck_ms <= ms_of(now)) {
        return std::nullopt;
    }
    e->referenced = true;
    return at_ms(e->blocked_until_ms);
}

result<throttle_decision> throttle_cache::hit(std::string_view key, const throttle_limit& limit,
                                              timestamp now) {
    const auto now_ms = ms_of(now);
    const auto fp = fingerprint_of(key);
    if (auto until = cached_block_of(fp, now)) {
        cache_refusals_.fetch_add(1, std::memory_order_relaxed);
        return throttle_decision{false, 0, until, true};
    }

    store_calls_.fetch_add(1, std::memory_order_relaxed);
    auto state = store_.increment(key, limit.window, now);
    if (!state) {
        return state.error();
    }
    const auto cap = now_ms + options_.max_cached_block.count();

    if (state->blocked_until) {
        // Blocked by an earlier attempt here or on another instance.
        const auto until = ms_of(*state->blocked_until);
        remember(fp, now_ms, until, std::min(until, cap), *state);
        return throttle_decision{false, state->count, state->blocked_until, false};
    }
    if (state->count > limit.limit) {
        const auto until = std::max(now + limit.block, state->window_end);
        // A failed block write still refuses this attempt, and the other instances refuse too:
        // their increments in this window also count past the limit.
        (void)store_.block(key, until);
        remember(fp, now_ms, ms_of(until), std::min(ms_of(until), cap), *state);
        return throttle_decision{false, state->count, until, false};
    }
    remember(fp, now_ms, 0, 0, *state);
    return throttle_decision{true, state->count, std::nullopt, false};
}

result<void> throttle_cache::reset(std::string_view key) {
    const auto fp = fingerprint_of(key);
    const auto set = set_of(fp);
    {
        const std::lock_guard lock(lock_of(set));
        if (entry* e = find(set, fp)) {
            *e = entry{};
        }
    }
    return store_.reset(key);
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
    return entries_.capacity() * sizeof(entry) + hands_.capacity() +
           locks_.capacity() * sizeof(std::mutex) + sizeof(*this);
}

throttle_cache::statistics throttle_cache::stats() const noexcept {
    return {cache_refusals_.load(std::memory_order_relaxed),
            store_calls_.load(std::memory_order_relaxed),
            evictions_.load(std::memory_order_relaxed)};
}

} // namespace sspr::store
