#include "tests/integration/testenv.hpp"

#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <stdexcept>

namespace sspr::testing {
namespace {

const std::map<std::string, std::string, std::less<>>& values() {
    static const auto parsed = [] {
        const char* path = std::getenv("SSPR_TESTENV_FILE");
        if (path == nullptr || *path == '\0') {
            throw std::runtime_error(
                "SSPR_TESTENV_FILE is not set: run the integration tests through scripts/test, "
                "which starts slapd and Samba AD (or scripts/testenv/up DIR yourself)");
        }
        std::ifstream in(path);
        if (!in) {
            throw std::runtime_error(std::string("cannot read test environment file ") + path);
        }
        std::map<std::string, std::string, std::less<>> out;
        for (std::string line; std::getline(in, line);) {
            const auto eq = line.find('=');
            if (line.empty() || line.front() == '#' || eq == std::string::npos) {
                continue;
            }
            out[line.substr(0, eq)] = line.substr(eq + 1);
        }
        return out;
    }();
    return parsed;
}

} // namespace

const std::string& testenv(std::string_view key) {
    const auto& all = values();
    const auto it = all.find(key);
    if (it == all.end()) {
        throw std::runtime_error("test environment file has no " + std::string(key));
    }
    return it->second;
}

std::string testenv_file(std::string_view key) {
    std::ifstream in(testenv(key));
    if (!in) {
        throw std::runtime_error("cannot read the file named by " + std::string(key));
    }
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
        content.pop_back();
    }
    return content;
}

std::vector<server_under_test> servers() {
    return {
        {server::openldap, "openldap", testenv("SSPR_OL_CTL"), testenv("SSPR_OL_DIR")},
        {server::samba_ad, "samba-ad", testenv("SSPR_AD_CTL"), testenv("SSPR_AD_DIR")},
    };
}

ldap::config config_for(const server_under_test& s) {
    ldap::config cfg;
    const bool ad = s.kind == server::samba_ad;
    cfg.uris = {testenv(ad ? "SSPR_AD_LDAPS_URI" : "SSPR_OL_LDAPS_URI")};
    cfg.base_dn = testenv(ad ? "SSPR_AD_BASE" : "SSPR_OL_BASE");
    cfg.bind_dn = testenv(ad ? "SSPR_AD_BIND_DN" : "SSPR_OL_BIND_DN");
    cfg.bind_password = common::secret(
        testenv_file(ad ? "SSPR_AD_BIND_PASSWORD_FILE" : "SSPR_OL_BIND_PASSWORD_FILE"));
    cfg.ca_file = testenv("SSPR_TEST_CA");
    cfg.connect_timeout = std::chrono::milliseconds(2000);
    cfg.operation_timeout = std::chrono::milliseconds(5000);
    cfg.backoff_min = std::chrono::milliseconds(50);
    cfg.backoff_max = std::chrono::milliseconds(400);
    cfg.pool_size = 2;
    return cfg;
}

void control(const server_under_test& s, std::string_view action) {
    const std::string command =
        "'" + s.ctl + "' " + std::string(action) + " '" + s.dir + "' >/dev/null 2>&1";
    if (std::system(command.c_str()) != 0) {
        throw std::runtime_error("failed: " + command);
    }
}

} // namespace sspr::testing
