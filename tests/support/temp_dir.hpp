// A fresh directory under the system's temporary directory for one test, removed with everything
// in it when the test ends. Throws on failure, so it works in and out of Catch2 assertions.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace sspr::test {

class temp_dir {
public:
    explicit temp_dir(std::string_view prefix = "sspr-test") {
        std::string pattern =
            (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("temp_dir: mkdtemp " + pattern + " failed");
        }
        path_ = pattern;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    temp_dir(temp_dir&&) = delete;
    temp_dir& operator=(temp_dir&&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }

    [[nodiscard]] const std::filesystem::path& path() const { return path_; }
    /// The path of `name` in the directory (nothing is created).
    [[nodiscard]] std::string file(std::string_view name) const { return (path_ / name).string(); }

    /// Writes `content` to `name` with permission bits `mode` and returns its path.
    std::string write(std::string_view name, std::string_view content, ::mode_t mode = 0600) const {
        std::string p = file(name);
        {
            std::ofstream out(p, std::ios::binary | std::ios::trunc);
            out.write(content.data(), static_cast<std::streamsize>(content.size()));
            if (!out) {
                throw std::runtime_error("temp_dir: cannot write " + p);
            }
        }
        if (::chmod(p.c_str(), mode) != 0) {
            throw std::runtime_error("temp_dir: chmod " + p + " failed");
        }
        return p;
    }

    /// A symbolic link `name` to `target`; returns its path.
    std::string link(std::string_view name, const std::string& target) const {
        std::string p = file(name);
        std::filesystem::create_symlink(target, p);
        return p;
    }

    /// How many entries the directory holds.
    [[nodiscard]] std::size_t entries() const {
        return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator(path_),
                                                      std::filesystem::directory_iterator{}));
    }

private:
    std::filesystem::path path_;
};

} // namespace sspr::test
