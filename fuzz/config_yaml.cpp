// Fuzzes the YAML configuration loader (config::load_string): yaml-cpp's parser, the key table, the
// value checks and the secret files, with the file system and environment faked (every secret
// file holds the same known text, every other file exists, ${NAME} is set for FUZZ_DIR only).
//
// Invariants: the loader never throws; a failure has at least one error, each with a message, and
// a place that is either none (line 0, column 0) or 1-based; neither the errors and warnings nor a
// configuration that loads, printed as check-config prints them, ever contain a secret file's text.
#include "config/loader.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>

using namespace sspr;

namespace {

constexpr std::string_view secret_text = "Fuzz-Secret-File-Text-7f3a";

[[noreturn]] void broken(const char* what) {
    (void)std::fprintf(stderr, "config_yaml: invariant broken: %s\n", what);
    std::abort();
}

const config::load_options& options() {
    static const config::load_options o = [] {
        config::load_options out;
        out.read_secret = [](const std::string&) {
            config::file_content c;
            c.status.permissions = 0600;
            c.content = common::secret(std::string(secret_text));
            return c;
        };
        out.check_file = [](const std::string&) { return config::file_status{}; };
        out.getenv = [](const std::string& name) -> std::optional<std::string> {
            if (name == "FUZZ_DIR") {
                return std::string("/etc/ssprd");
            }
            return std::nullopt;
        };
        out.semantic_checks = [](const config::config&) {
            return std::vector<config::semantic_problem>{};
        };
        return out;
    }();
    return o;
}

void check_places(const std::vector<config::diagnostic>& list) {
    for (const auto& d : list) {
        if (d.message.empty()) {
            broken("a diagnostic without a message");
        }
        if ((d.line == 0) != (d.column == 0)) {
            broken("a diagnostic with a line but no column, or a column but no line");
        }
        if (d.file != "fuzz.yaml") {
            broken("a diagnostic that names another file");
        }
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    const std::string_view yaml(reinterpret_cast<const char*>(data), size);
    const config::load_result r = config::load_string(yaml, "fuzz.yaml", options());
    std::ostringstream printed;
    if (r) {
        check_places(r->warnings);
        printed << *r;
    } else {
        if (r.error().errors.empty()) {
            broken("a failure without an error");
        }
        check_places(r.error().errors);
        check_places(r.error().warnings);
        printed << r.error();
    }
    // The input itself may hold the text; then a message quoting the input is no leak.
    if (yaml.find(secret_text) == std::string_view::npos &&
        printed.str().find(secret_text) != std::string::npos) {
        broken("a secret file's text is in the output");
    }
    return 0;
}
