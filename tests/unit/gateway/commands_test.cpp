// Unit tests of gateway/commands.hpp: the command line of `ssprd` — each sub-command's options,
// operands, exit status (0 done, 1 failed, 2 usage) and what it prints. The executable end to end
// is ssprd_cli_test.sh. Hashes are the well-known SHA-1 values (coreutils sha1sum).
#include "gateway/commands.hpp"

#include "policy/breached.hpp"
#include "tests/support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

using sspr::gateway::run_breached_import;
using sspr::gateway::run_breached_verify;
using sspr::gateway::run_command;
using sspr::test::temp_dir;
using args_t = std::vector<std::string>;

namespace {

const std::string sha1_password = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";
const std::string sha1_123456 = "7C4A8D09CA3762AF61E59520943DC26494F8941B";
const std::string sha1_abc = "A9993E364706816ABA3E25717850C26C9CD0D89D";

std::string sorted_sample() {
    return sha1_password + ":9545824\n" + sha1_123456 + ":37359195\n" + sha1_abc + ":1\n";
}

struct streams {
    std::istringstream in;
    std::ostringstream out;
    std::ostringstream err;
};

} // namespace

TEST_CASE("commands: `breached import IN OUT` imports a file and reports the count", "[gateway]") {
    const temp_dir dir("sspr-commands");
    const std::string in_path = dir.write("pwned.txt", sorted_sample());
    const std::string out_path = dir.file("pwned.bin");
    streams s;
    CHECK(run_command({"breached", "import", in_path, out_path}, s.in, s.out, s.err) == 0);
    CHECK(s.out.str() == "imported 3 hashes from 3 lines into " + out_path + "\n");
    CHECK(s.err.str().empty());
    const auto list = sspr::policy::breached_list::open(out_path);
    REQUIRE(list.has_value());
    CHECK(list->contains_password("123456"));
    CHECK_FALSE(list->contains_password("not in the sample"));
}

TEST_CASE("commands: `breached import - OUT` reads standard input, with --min-count", "[gateway]") {
    const temp_dir dir("sspr-commands");
    const std::string out_path = dir.file("pwned.bin");
    for (const args_t& args :
         {args_t{"--min-count", "2", "-", out_path}, args_t{"--min-count=2", "-", out_path},
          args_t{"-", out_path, "--min-count", "2"}}) {
        streams s;
        s.in.str(sorted_sample());
        CHECK(run_breached_import(args, s.in, s.out, s.err) == 0);
        CHECK(s.out.str() == "imported 2 hashes from 3 lines into " + out_path +
                                 " (1 seen fewer than 2 times left out)\n");
        const auto list = sspr::policy::breached_list::open(out_path);
        REQUIRE(list.has_value());
        CHECK(list->size() == 2);
        CHECK_FALSE(list->contains_password("abc"));
    }
}

TEST_CASE("commands: `breached import` usage errors exit 2 and write nothing", "[gateway]") {
    const temp_dir dir("sspr-commands");
    const std::string out_path = dir.file("pwned.bin");
    for (const args_t& args :
         {args_t{}, args_t{"-"}, args_t{"--fast", "-", out_path},
          args_t{"--min-count", "x", "-", out_path}, args_t{"--min-count", "-1", "-", out_path},
          args_t{"--min-count"}, args_t{"-", "-"}, args_t{"-", out_path, "extra"}}) {
        streams s;
        s.in.str(sorted_sample());
        INFO("args: " << args.size());
        CHECK(run_breached_import(args, s.in, s.out, s.err) == 2);
        CHECK(s.err.str().find("usage: ssprd breached import") != std::string::npos);
        CHECK(s.out.str().empty());
        CHECK_FALSE(std::filesystem::exists(out_path));
    }
    streams help;
    CHECK(run_breached_import({"--help"}, help.in, help.out, help.err) == 0);
    CHECK(help.out.str().find("usage: ssprd breached import") != std::string::npos);
    CHECK(help.err.str().empty());
}

TEST_CASE("commands: `breached import` input errors exit 1 and leave OUT as it was", "[gateway]") {
    const temp_dir dir("sspr-commands");
    const std::string out_path = dir.file("pwned.bin");
    streams missing;
    CHECK(run_breached_import({dir.file("missing.txt"), out_path}, missing.in, missing.out,
                              missing.err) == 1);
    CHECK(missing.err.str().find("cannot open " + dir.file("missing.txt")) != std::string::npos);

    streams unsorted;
    unsorted.in.str(sha1_abc + ":1\n" + sha1_password + ":1\n");
    CHECK(run_breached_import({"-", out_path}, unsorted.in, unsorted.out, unsorted.err) == 1);
    CHECK(unsorted.err.str().find("line 2: input is not sorted") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(out_path));
}

TEST_CASE("commands: `breached verify FILE` passes a good file and fails a damaged one",
          "[gateway]") {
    const temp_dir dir("sspr-commands");
    const std::string good = dir.file("good.bin");
    {
        std::istringstream in(sorted_sample());
        REQUIRE(sspr::policy::import_pwned(in, good).has_value());
    }
    streams s;
    CHECK(run_command({"breached", "verify", good}, s.in, s.out, s.err) == 0);
    CHECK(s.out.str() == good + ": 3 hashes, sorted and complete\n");

    std::string bytes;
    {
        std::ifstream in(good, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    bytes.pop_back();
    const std::string bad = dir.write("bad.bin", bytes);
    CHECK(run_breached_verify({bad}, s.out, s.err) == 1);
    CHECK(s.err.str().find("truncated") != std::string::npos);

    streams usage;
    CHECK(run_breached_verify({}, usage.out, usage.err) == 2);
    CHECK(run_breached_verify({good, bad}, usage.out, usage.err) == 2);
    CHECK(usage.err.str().find("usage: ssprd breached verify FILE") != std::string::npos);
}

TEST_CASE("commands: unknown commands and missing operands are usage errors", "[gateway]") {
    for (const args_t& args :
         {args_t{}, args_t{"frobnicate"}, args_t{"breached"}, args_t{"breached", "export"},
          args_t{"audit"}, args_t{"audit", "verify"}, args_t{"store", "rotate"},
          args_t{"check-config"}, args_t{"check-config", "a.yaml", "b.yaml"}, args_t{"serve"},
          args_t{"serve", "-c"}, args_t{"serve", "-c", "x.yaml", "--bogus"}}) {
        streams s;
        CHECK(run_command(args, s.in, s.out, s.err) == 2);
        CHECK(s.err.str().find("ssprd") != std::string::npos);
        CHECK(s.out.str().empty());
    }
    streams version;
    CHECK(run_command({"--version"}, version.in, version.out, version.err) == 0);
    CHECK(version.out.str() == "ssprd " SSPR_VERSION "\n");
    streams help;
    CHECK(run_command({"serve", "--help"}, help.in, help.out, help.err) == 0);
    CHECK(help.out.str().find("--config") != std::string::npos);
}

TEST_CASE("commands: helpdesk and enrollments are dispatched, usage errors exit 64", "[gateway]") {
    for (const args_t& args :
         {args_t{"helpdesk"}, args_t{"helpdesk", "reset"}, args_t{"helpdesk", "status"},
          args_t{"helpdesk", "clear", "alice", "totp", "-c", "x.yaml"}, args_t{"enrollments"},
          args_t{"enrollments", "export", "--bogus"}}) {
        streams s;
        CHECK(run_command(args, s.in, s.out, s.err) == 64);
        CHECK(s.err.str().find("usage: ssprd ") != std::string::npos);
        CHECK(s.out.str().empty());
    }
    streams help;
    CHECK(run_command({"--help"}, help.in, help.out, help.err) == 0);
    CHECK(help.out.str().find("ssprd helpdesk unblock USER") != std::string::npos);
    CHECK(help.out.str().find("ssprd enrollments export") != std::string::npos);
}
