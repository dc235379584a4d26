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
        REQUIRE(std::fflush(stderr) == 0);
        saved_ = ::dup(STDERR_FILENO);
        REQUIRE(saved_ >= 0);
        REQUIRE(::dup2(::fileno(file_), STDERR_FILENO) >= 0);
    }
    stderr_capture(const stderr_capture&) = delete;
    stderr_capture& operator=(const stderr_capture&) = delete;
    ~stderr_capture() {
        // A destructor cannot report a failure; text() checks both.
        (void)restore();
        (void)std::fclose(file_); // opened for the capture only: nothing written to it is lost
    }

    // Everything written so far; stderr is the real one again afterwards.
    std::string text() {
        REQUIRE(restore());
        std::string out;
        std::rewind(file_);
        char buffer[4096];
        for (;;) {
            const std::size_t n = std::fread(buffer, 1, sizeof buffer, file_);
            out.append(buffer, n);
            if (n < sizeof buffer) {
                REQUIRE(std::ferror(file_) == 0);
                return out;
            }
        }
    }

private:
    // Puts the real stderr back (once); false if what was written could not be flushed into the
    // capture or file descriptor 2 could not be restored.
    [[nodiscard]] bool restore() {
        if (saved_ < 0) {
            return true;
        }
        const bool flushed = std::fflush(stderr) == 0;
        const bool restored = ::dup2(saved_, STDERR_FILENO) >= 0;
        ::close(saved_);
        saved_ = -1;
        return flushed && restored;
    }

    std::FILE* file_;
    int saved_ = -1;
};

} // namespace sspr::testing
