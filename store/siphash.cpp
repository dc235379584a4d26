#include "store/siphash.hpp"

#include <bit>

namespace sspr::store::detail {
namespace {

struct state {
    std::uint64_t v0, v1, v2, v3;

    void round() noexcept {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }

    void compress(std::uint64_t m) noexcept {
        v3 ^= m;
        round();
        round();
        v0 ^= m;
    }
};

std::uint64_t load_le(const char* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
    }
    return v;
}

} // namespace

std::uint64_t siphash24(const std::array<std::uint64_t, 2>& key, std::string_view in) noexcept {
    state s{0x736f6d6570736575ULL ^ key[0], 0x646f72616e646f6dULL ^ key[1],
            0x6c7967656e657261ULL ^ key[0], 0x7465646279746573ULL ^ key[1]};
    const std::size_t blocks = in.size() / 8;
    for (std::size_t i = 0; i < blocks; ++i) {
        s.compress(load_le(in.data() + 8 * i, 8));
    }
    const std::size_t rest = in.size() % 8;
    const std::uint64_t last =
        (std::uint64_t{in.size() & 0xffU} << 56) | load_le(in.data() + 8 * blocks, rest);
    s.compress(last);
    s.v2 ^= 0xff;
    s.round();
    s.round();
    s.round();
    s.round();
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

} // namespace sspr::store::detail
