// config/ssprd.example.yaml is the documentation admins copy: it must pass the loader (and so
// check-config) as shipped, and it must mention every key the loader accepts.
#include "config/check_config.hpp"
#include "config/key_table.hpp"
#include "config/loader.hpp"

#include "tests/support/config_test_support.hpp"

#include <catch2/catch.hpp>

#include <functional>
#include <regex>
#include <sstream>

using namespace sspr::config;
using namespace sspr::config::testing;

namespace {

void each_key(const key_spec& k, const std::string& path,
              const std::function<void(const key_spec&, const std::string&)>& f) {
    for (const auto& c : k.children) {
        const std::string p = path.empty() ? c.name : path + "." + c.name;
        f(c, p);
        each_key(c, p, f);
    }
    for (const auto& i : k.item) {
        each_key(i, path + "[]", f);
    }
}

} // namespace

TEST_CASE("example: the shipped example loads without errors or warnings", "[config]") {
    const std::string text = read_source_file("config/ssprd.example.yaml");
    const auto files = fake_system::with_standard_files();
    const auto r = load_string(text, "ssprd.example.yaml", files.options());
    INFO(Catch::Detail::stringify(error_lines(r)));
    REQUIRE(r);
    CHECK(warning_lines(r).empty());

    const config& c = r->value;
    CHECK(c.directory.dialect == dialect::active_directory);
    CHECK(c.directory.bind_password.reveal() == "ldap-service-password");
    CHECK(c.directory.backoff_min == milliseconds{250});
    CHECK(c.policy.scope == scope_mode::selected);
    CHECK(c.policy.rules.size() == 3);
    CHECK(c.methods.questions.pool.size() == 4);
    CHECK(c.delivery.sms.secret_headers.at("X-Api-Key").reveal() == "sms-api-key");
    CHECK(c.ui.languages == std::vector<std::string>{"en", "ko"});
}

TEST_CASE("example: check-config accepts the example and exits 0", "[config]") {
    // run_check_config reads the YAML itself, so give it the real file; secrets stay fake.
    const std::string path = std::string(SSPR_SOURCE_DIR) + "/config/ssprd.example.yaml";
    std::ostringstream out;
    std::ostringstream err;
    const int status =
        run_check_config(path, out, err, fake_system::with_standard_files().options());
    INFO(err.str());
    CHECK(status == 0);
    CHECK(err.str().empty());
    CHECK_THAT(out.str(), Catch::Matchers::StartsWith(path + ": valid\n"));
}

TEST_CASE("example: every key the loader accepts is shown in the example", "[config]") {
    const std::string text = read_source_file("config/ssprd.example.yaml");
    std::vector<std::string> missing;
    each_key(key_table(), "", [&](const key_spec& k, const std::string& path) {
        // A key shows as "name:" at the start of a line (maybe commented out, maybe a list item)
        // or inside a flow mapping "{name: ...}".
        const std::regex shown("(^|\\n)[ #-]*" + k.name + ":|[{,] *" + k.name + ":");
        if (!std::regex_search(text, shown)) {
            missing.push_back(path);
        }
    });
    INFO(Catch::Detail::stringify(missing));
    CHECK(missing.empty());
}
