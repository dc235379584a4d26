#include "tests/integration/testenv.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
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
    run_ctl(s.ctl, action, s.dir);
}

void run_ctl(const std::string& ctl, std::string_view action, const std::string& dir) {
    const std::string what = ctl + " " + std::string(action) + " " + dir;
    posix_spawn_file_actions_t files;
    if (int rc = ::posix_spawn_file_actions_init(&files); rc != 0) {
        throw std::runtime_error("posix_spawn_file_actions_init: " +
                                 std::string(std::strerror(rc)));
    }
    struct destroy {
        posix_spawn_file_actions_t* f;
        ~destroy() { ::posix_spawn_file_actions_destroy(f); }
    } destroy_files{&files};
    // Its stdout and stderr to /dev/null: the scripts are chatty, a failure is told by the status.
    if (int rc =
            ::posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        rc != 0) {
        throw std::runtime_error("posix_spawn_file_actions_addopen: " +
                                 std::string(std::strerror(rc)));
    }
    if (int rc = ::posix_spawn_file_actions_adddup2(&files, STDOUT_FILENO, STDERR_FILENO);
        rc != 0) {
        throw std::runtime_error("posix_spawn_file_actions_adddup2: " +
                                 std::string(std::strerror(rc)));
    }
    std::string arg0 = ctl;
    std::string arg1(action);
    std::string arg2 = dir;
    char* argv[] = {arg0.data(), arg1.data(), arg2.data(), nullptr};
    ::pid_t pid = 0;
    if (int rc = ::posix_spawn(&pid, arg0.c_str(), &files, nullptr, argv, environ); rc != 0) {
        throw std::runtime_error("cannot start " + what + ": " + std::strerror(rc));
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            throw std::runtime_error("waitpid for " + what + ": " + std::strerror(errno));
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        throw std::runtime_error("failed: " + what);
    }
}

} // namespace sspr::testing
