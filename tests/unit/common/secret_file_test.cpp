// common/secret_file.hpp: the one reader of secret and key files, and what it refuses.
#include "common/secret_file.hpp"
#include "store/crypto.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

using sspr::common::read_secret_file;
using sspr::common::secret_file_problem;

namespace {

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "sspr-secret-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    std::string write(const std::string& name, const std::string& content, mode_t mode) const {
        const auto p = path / name;
        std::ofstream(p, std::ios::binary) << content;
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        return p.string();
    }
};

} // namespace

TEST_CASE("secret_file: a private regular file is read whole, with its permissions", "[common]") {
    temp_dir d;
    const auto path = d.write("ok.pw", std::string("s3cret\0x", 8), 0600);
    auto f = read_secret_file(path);
    REQUIRE(f.has_value());
    CHECK(f->content.reveal() == std::string_view("s3cret\0x", 8));
    CHECK(f->permissions == 0600);
}

TEST_CASE("secret_file: links, FIFOs, directories, shared and oversized files are refused",
          "[common]") {
    temp_dir d;
    const auto target = d.write("target.pw", "pw", 0600);
    const auto link = (d.path / "link.pw").string();
    std::filesystem::create_symlink(target, link);
    CHECK(read_secret_file(link).error().problem == secret_file_problem::symlink);

    // A FIFO at the path must not hang the reader (nobody will ever write to it).
    const auto fifo = (d.path / "fifo.key").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(read_secret_file(fifo).error().problem == secret_file_problem::not_regular);
    CHECK(read_secret_file(d.path.string()).error().problem == secret_file_problem::not_regular);

    const auto shared = d.write("shared.key", "k", 0640);
    CHECK(read_secret_file(shared).error().problem == secret_file_problem::shared);
    // Without private_only the caller gets the file and judges its mode itself.
    auto lenient = read_secret_file(shared, {1024, false});
    REQUIRE(lenient.has_value());
    CHECK(lenient->permissions == 0640);

    const auto big = d.write("big.key", std::string(100, 'x'), 0600);
    CHECK(read_secret_file(big, {99, true}).error().problem == secret_file_problem::too_large);
    CHECK(read_secret_file(big, {100, true}).has_value());

    auto missing = read_secret_file((d.path / "absent").string());
    CHECK(missing.error().problem == secret_file_problem::unreadable);
    CHECK(sspr::common::describe(missing.error()) == "No such file or directory");
}

TEST_CASE("secret_file: the store's encryption key at a FIFO is refused, not waited on",
          "[common]") {
    temp_dir d;
    const auto fifo = (d.path / "store.key").string();
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH(sspr::store::crypto::load_key_file(fifo),
                      Catch::Contains("not a regular file"));
}
