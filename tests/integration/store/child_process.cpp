#include "tests/integration/store/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

extern char** environ;

namespace sspr::testing::store_support {

child_process::child_process(const std::vector<std::string>& argv) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        throw std::runtime_error(std::string("pipe2: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<char*> args;
    args.reserve(argv.size() + 1);
    for (const auto& a : argv) {
        args.push_back(const_cast<char*>(a.c_str()));
    }
    args.push_back(nullptr);
    const int rc = ::posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        throw std::runtime_error("posix_spawn " + argv[0] + ": " + std::strerror(rc));
    }
    fd_ = fds[0];
}

child_process::~child_process() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
        wait();
    }
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

std::optional<std::string> child_process::read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (const auto nl = buffer_.find('\n'); nl != std::string::npos) {
            auto line = buffer_.substr(0, nl);
            buffer_.erase(0, nl + 1);
            return line;
        }
        if (eof_) {
            return std::nullopt;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            return std::nullopt;
        }
        pollfd p{fd_, POLLIN, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
        if (ready < 0 && errno == EINTR) {
            continue;
        }
        if (ready <= 0) {
            return std::nullopt;
        }
        char chunk[4096];
        const auto n = ::read(fd_, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            eof_ = true;
            continue;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

std::vector<std::string> child_process::read_rest(std::chrono::milliseconds timeout) {
    std::vector<std::string> out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (auto line = read_line(std::chrono::duration_cast<std::chrono::milliseconds>(
               deadline - std::chrono::steady_clock::now()))) {
        out.push_back(std::move(*line));
    }
    return out;
}

void child_process::kill_now() {
    if (!reaped_ && pid_ > 0) {
        ::kill(pid_, SIGKILL);
    }
}

int child_process::wait() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    reaped_ = true;
    return status;
}

std::vector<std::vector<std::string>> read_all(std::vector<child_process*> children,
                                               std::chrono::milliseconds timeout) {
    // Round-robin with short waits: neither child can fill its pipe and stall while the other is
    // being read.
    std::vector<std::vector<std::string>> out(children.size());
    std::vector<bool> done(children.size(), false);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t finished = 0;
    while (finished < children.size() && std::chrono::steady_clock::now() < deadline) {
        for (std::size_t i = 0; i < children.size(); ++i) {
            if (done[i]) {
                continue;
            }
            for (int n = 0; n < 256; ++n) {
                auto line = children[i]->read_line(std::chrono::milliseconds(5));
                if (!line) {
                    break;
                }
                out[i].push_back(std::move(*line));
            }
        }
        for (std::size_t i = 0; i < children.size(); ++i) {
            if (!done[i] && children[i]->at_eof()) {
                done[i] = true;
                ++finished;
            }
        }
    }
    return out;
}

} // namespace sspr::testing::store_support
