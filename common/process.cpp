#include "common/process.hpp"

#include <csignal>

namespace sspr::common {

void ignore_sigpipe() noexcept {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigemptyset(&ignore.sa_mask);
    ::sigaction(SIGPIPE, &ignore, nullptr);
}

} // namespace sspr::common
