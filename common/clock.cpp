#include "common/clock.hpp"

namespace sspr::common {
namespace {

class system_clock_impl final : public clock {
public:
    [[nodiscard]] steady_time steady_now() const override {
        return std::chrono::steady_clock::now();
    }
    [[nodiscard]] system_time system_now() const override {
        return std::chrono::system_clock::now();
    }
};

} // namespace

std::shared_ptr<clock> make_system_clock() {
    return std::make_shared<system_clock_impl>();
}

} // namespace sspr::common
