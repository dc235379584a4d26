// Captures what the code under test writes to stderr (file descriptor 2), for tests that check
// log lines. Used from the test thread only.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdio>
#include <string>

namespace sspr::testing {

// Sends everything written to file descriptor 2 into a temporary file until text() or the end of
// the scope, then puts the real stderr back.
class stderr_capture {
public:
    stderr_capture() : file_(std::tmpfile()) {
        REQUIRE(file_ != nullptr);
        std::fflush(stderr);
        saved_ = ::dup(STDERR_FILENO);
        REQUIRE(saved_ >= 0);
        REQUIRE(::dup2(::fileno(file_), STDERR_FILENO) >= 0);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;
    ~stderr_capture() {
        restore();
        std::fclose(file_);
    }

    // Everything written so far; stderr is the real one again afterwards.
    std::string text() {
        restore();
        std::string out;
        std::rewind(file_);
        char buffer[4096];
        for (;;) {
            const std::size_t n = std::fread(buffer, 1, sizeof buffer, file_);
            out.append(buffer, n);
            if (n < sizeof buffer) {
                return out;
            }
        }
    }

private:
    void restore() {
        if (saved_ >= 0) {
            std::fflush(stderr);
            ::dup2(saved_, STDERR_FILENO);
            ::close(saved_);
            saved_ = -1;
        }
    }

    std::FILE* file_;
    int saved_ = -1;
};

} // namespace sspr::testing
