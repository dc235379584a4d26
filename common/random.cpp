#include "common/random.hpp"

#include <openssl/rand.h>

#include <array>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace sspr::common {
namespace {

class system_random final : public random {
public:
    void fill(std::span<std::byte> out) override {
        if (out.empty()) {
            return;
        }
        if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()),
                       static_cast<int>(out.size())) != 1) {
            throw std::runtime_error("RAND_bytes failed: no randomness available");
        }
    }
};

} // namespace

std::uint64_t random::uniform(std::uint64_t bound) {
    if (bound == 0) {
        throw std::invalid_argument("random::uniform needs a positive bound");
    }
    // Reject the top slice that would make some values more likely than others.
    const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() -
                                std::numeric_limits<std::uint64_t>::max() % bound;
    for (;;) {
        std::array<std::byte, sizeof(std::uint64_t)> bytes{};
        fill(bytes);
        std::uint64_t value = 0;
        std::memcpy(&value, bytes.data(), sizeof value);
        if (value < limit) {
            return value % bound;
        }
    }
}

std::shared_ptr<random> make_system_random() {
    return std::make_shared<system_random>();
}

} // namespace sspr::common
