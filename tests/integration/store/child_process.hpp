// A child process with its stdout on a pipe, read line by line with a deadline; killed and reaped
// when the object dies, so a failing test never leaves a writer behind.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace sspr::testing::store_support {

class child_process {
public:
    /// Starts argv[0] (a path) with the given arguments; stdin /dev/null, stderr inherited.
    explicit child_process(const std::vector<std::string>& argv);
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process();

    /// The next line, or nothing at end of output or when `timeout` passes first.
    std::optional<std::string> read_line(std::chrono::milliseconds timeout);
    /// Every remaining line until the child closes its stdout (bounded by `timeout`).
    std::vector<std::string> read_rest(std::chrono::milliseconds timeout);
    void kill_now();
    /// Waits for the child; returns the raw waitpid status.
    int wait();
    [[nodiscard]] pid_t pid() const noexcept { return pid_; }
    /// The child closed its stdout and every line has been read.
    [[nodiscard]] bool at_eof() const noexcept {
        return eof_ && buffer_.find('\n') == std::string::npos;
    }

private:
    pid_t pid_ = -1;
    int fd_ = -1;
    bool reaped_ = false;
    std::string buffer_;
    bool eof_ = false;
};

/// Reads every line of several children at once until all reach end of output (or the timeout);
/// lines[i] are child i's.
std::vector<std::vector<std::string>> read_all(std::vector<child_process*> children,
                                               std::chrono::milliseconds timeout);

} // namespace sspr::testing::store_support
