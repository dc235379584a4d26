// A move-only std::function (C++23's std::move_only_function, which g++ 12 offers only in C++23
// mode): the handlers that cross from Asio to the blocking pool and from the delivery workers back
// own move-only things (a connection's shared state, a response being built, a secret), so they
// must not have to be copyable.
#pragma once

#include <functional>
#include <memory>
#include <type_traits>
#include <utility>

namespace sspr::common {

template <class Signature> class unique_function;

template <class R, class... Args> class unique_function<R(Args...)> {
public:
    unique_function() noexcept = default;
    unique_function(std::nullptr_t) noexcept {} // NOLINT(google-explicit-constructor)

    // Implicit, as std::function's; the constraint keeps it from hiding the move constructor.
    // NOLINTBEGIN(google-explicit-constructor,bugprone-forwarding-reference-overload)
    template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, unique_function> &&
             std::is_invocable_r_v<R, std::decay_t<F>&, Args...>) unique_function(F&& f)
        : callable_(std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f))) {}
    // NOLINTEND(google-explicit-constructor,bugprone-forwarding-reference-overload)

    unique_function(unique_function&&) noexcept = default;
    unique_function& operator=(unique_function&&) noexcept = default;
    unique_function(const unique_function&) = delete;
    unique_function& operator=(const unique_function&) = delete;
    ~unique_function() = default;

    [[nodiscard]] explicit operator bool() const noexcept { return callable_ != nullptr; }

    /// Calls the target; calling an empty unique_function is a programming error (it throws
    /// std::bad_function_call, as std::function does).
    R operator()(Args... args) {
        if (!callable_) {
            throw std::bad_function_call();
        }
        return callable_->call(std::forward<Args>(args)...);
    }

private:
    struct base {
        virtual ~base() = default;
        virtual R call(Args&&... args) = 0;
    };
    template <class F> struct holder final : base {
        explicit holder(const F& g) : f(g) {}
        explicit holder(F&& g) : f(std::move(g)) {}
        R call(Args&&... args) override { return std::invoke(f, std::forward<Args>(args)...); }
        F f;
    };

    std::unique_ptr<base> callable_;
};

} // namespace sspr::common
