// Unit tests of challenge/key_file.hpp: a key file is taken byte for byte, and refused when it is
// short, oversized, not a regular file, missing, or open to group or others.
#include "challenge/key_file.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace {

namespace fs = std::filesystem;
using sspr::challenge::error;
using sspr::challenge::load_key_file;

/// A private directory for one test, removed at the end.
class temp_dir {
public:
    temp_dir() {
        std::random_device rd;
        path_ = fs::temp_directory_path() / ("sspr-key-test-" + std::to_string(rd()));
        fs::create_directory(path_);
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    [[nodiscard]] std::string write(const std::string& name, const std::string& bytes,
                                    fs::perms mode) const {
        const auto p = path_ / name;
        {
            std::ofstream out(p, std::ios::binary);
            out << bytes;
        }
        fs::permissions(p, mode, fs::perm_options::replace);
        return p.string();
    }
    [[nodiscard]] const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

constexpr auto owner_rw = fs::perms::owner_read | fs::perms::owner_write;

} // namespace

TEST_CASE("key file: 32 private bytes are the key, byte for byte", "[challenge]") {
    const temp_dir dir;
    std::string bytes;
    for (int i = 0; i < 32; ++i) {
        bytes.push_back(static_cast<char>(i * 7 + 1)); // binary, not text
    }
    bytes[31] = '\n'; // a binary key may end in 0x0a: it must not be stripped
    const auto key = load_key_file(dir.write("k", bytes, owner_rw));
    REQUIRE(key.has_value());
    CHECK(key->reveal() == bytes);

    const auto read_only = load_key_file(dir.write("r", bytes, fs::perms::owner_read));
    REQUIRE(read_only.has_value());
    CHECK(read_only->reveal().size() == 32);
}

TEST_CASE("key file: fewer than 32 bytes are refused", "[challenge]") {
    const temp_dir dir;
    const auto key = load_key_file(dir.write("k", std::string(31, 'x'), owner_rw));
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error() == error::key_too_short);
    const auto empty = load_key_file(dir.write("e", "", owner_rw));
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.error() == error::key_too_short);
}

TEST_CASE("key file: a file far larger than a key is refused", "[challenge]") {
    const temp_dir dir;
    const auto key = load_key_file(dir.write("k", std::string(4097, 'x'), owner_rw));
    REQUIRE_FALSE(key.has_value());
    CHECK(key.error() == error::key_too_long);
    CHECK(load_key_file(dir.write("ok", std::string(4096, 'x'), owner_rw)).has_value());
}

TEST_CASE("key file: group or world permissions are refused", "[challenge]") {
    const temp_dir dir;
    const std::string bytes(32, 'x');
    for (const auto extra : {fs::perms::group_read, fs::perms::others_read, fs::perms::group_write,
                             fs::perms::others_write, fs::perms::group_exec}) {
        const auto key = load_key_file(dir.write("k", bytes, owner_rw | extra));
        REQUIRE_FALSE(key.has_value());
        CHECK(key.error() == error::key_file_permissions);
    }
}

TEST_CASE("key file: missing files and directories are refused", "[challenge]") {
    const temp_dir dir;
    const auto missing = load_key_file((dir.path() / "absent").string());
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error() == error::key_file_unreadable);

    const auto sub = dir.path() / "sub";
    fs::create_directory(sub);
    fs::permissions(sub, fs::perms::owner_all, fs::perm_options::replace);
    const auto directory = load_key_file(sub.string());
    REQUIRE_FALSE(directory.has_value());
    CHECK(directory.error() == error::key_file_not_regular);
}

TEST_CASE("key file: error messages name the problem and the fix", "[challenge]") {
    const auto ec = make_error_code(error::key_file_permissions);
    CHECK(std::string(ec.category().name()) == "sspr.challenge");
    CHECK(ec.message().find("0600") != std::string::npos);
    CHECK(make_error_code(error::key_too_short).message().find("32 bytes") != std::string::npos);
}
