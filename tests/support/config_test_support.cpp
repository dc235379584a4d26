#include "tests/support/config_test_support.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace sspr::config::testing {

struct fake_system::state {
    struct entry {
        std::string content;
        unsigned permissions = 0600;
    };
    std::map<std::string, entry> files;
    std::map<std::string, std::string> environment;
    std::vector<std::string> secrets_read;
};

fake_system::fake_system() : state_(std::make_shared<state>()) {}

fake_system& fake_system::file(const std::string& path, std::string content, unsigned permissions) {
    state_->files[path] = state::entry{std::move(content), permissions};
    return *this;
}

fake_system& fake_system::remove(const std::string& path) {
    state_->files.erase(path);
    return *this;
}

fake_system& fake_system::env(const std::string& name, std::string value) {
    state_->environment[name] = std::move(value);
    return *this;
}

load_options fake_system::options() const {
    load_options o;
    const std::shared_ptr<state> s = state_;
    o.read_secret = [s](const std::string& path) {
        s->secrets_read.push_back(path);
        file_content c;
        const auto it = s->files.find(path);
        if (it == s->files.end()) {
            c.status.error = "No such file or directory";
            return c;
        }
        c.status.permissions = it->second.permissions;
        c.content = common::secret(it->second.content);
        return c;
    };
    o.check_file = [s](const std::string& path) {
        file_status st;
        const auto it = s->files.find(path);
        if (it == s->files.end()) {
            st.error = "No such file or directory";
            return st;
        }
        st.permissions = it->second.permissions;
        return st;
    };
    o.read_file = [s](const std::string& path, std::size_t limit) {
        file_content c;
        const auto it = s->files.find(path);
        if (it == s->files.end()) {
            c.status.error = "No such file or directory";
            return c;
        }
        if (it->second.content.size() > limit) {
            c.status.error = "larger than " + std::to_string(limit / 1024) + " KiB";
            return c;
        }
        c.status.permissions = it->second.permissions;
        c.content = common::secret(it->second.content);
        return c;
    };
    o.getenv = [s](const std::string& name) -> std::optional<std::string> {
        const auto it = s->environment.find(name);
        if (it == s->environment.end()) {
            return std::nullopt;
        }
        return it->second;
    };
    return o;
}

std::vector<std::string> fake_system::secrets_read() const {
    return state_->secrets_read;
}

fake_system fake_system::with_standard_files() {
    fake_system f;
    const std::string aes_hex(64, 'a');
    std::string hmac(32, 'h');
    f.file("/etc/ssprd/cert.pem", "-----BEGIN CERTIFICATE-----\n")
        .file("/etc/ssprd/key.pem", "-----BEGIN PRIVATE KEY-----\n")
        .file("/etc/ssprd/ldap.pw", "ldap-service-password\n")
        .file("/etc/ssprd/store.key", aes_hex + "\n")
        .file("/etc/ssprd/hmac.key", hmac)
        // The example's files.
        .env("CREDENTIALS_DIRECTORY", "/run/credentials/ssprd.service")
        .file("/etc/ssprd/tls/cert.pem", "-----BEGIN CERTIFICATE-----\n")
        .file("/etc/ssprd/tls/key.pem", "-----BEGIN PRIVATE KEY-----\n")
        .file("/run/credentials/ssprd.service/ldap.pw", "ldap-service-password\n", 0400)
        .file("/etc/ssprd/directory-ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644)
        .file("/etc/ssprd/keys/store.key", aes_hex + "\n")
        .file("/etc/ssprd/keys/hmac.key", std::string(32, 'k'))
        .file("/etc/ssprd/smtp.pw", "smtp-password\n", 0640)
        .file("/etc/ssprd/sms-api.key", "sms-api-key\n")
        .file("/etc/ssprd/banned-terms.txt", "acme\n", 0644)
        .file("/var/lib/ssprd/breached.bin", "", 0644);
    return f;
}

document document::minimal() {
    document d;
    d.set("server", R"(  public_url: https://sspr.example.org
  tls:
    certificate_file: /etc/ssprd/cert.pem
    key_file: /etc/ssprd/key.pem
)")
        .set("directory", R"(  uris: [ldaps://dc1.example.org]
  bind_dn: cn=sspr,dc=example,dc=org
  bind_password_file: /etc/ssprd/ldap.pw
  base_dn: dc=example,dc=org
)")
        .set("store", R"(  encryption_key_file: /etc/ssprd/store.key
  hmac_key_file: /etc/ssprd/hmac.key
)")
        .set("delivery", R"(  smtp:
    enabled: true
    host: smtp.example.org
    from: sspr@example.org
)")
        .set("methods", R"(  email:
    enabled: true
  totp:
    enabled: true
)")
        .set("policy", R"(  scope: all
)")
        .set("ui", R"(  organisation: Example
)");
    return d;
}

document& document::set(const std::string& name, const std::string& body) {
    for (auto& [n, b] : sections_) {
        if (n == name) {
            b = body;
            return *this;
        }
    }
    sections_.emplace_back(name, body);
    return *this;
}

document& document::remove(const std::string& name) {
    for (auto it = sections_.begin(); it != sections_.end(); ++it) {
        if (it->first == name) {
            sections_.erase(it);
            break;
        }
    }
    return *this;
}

std::string document::text() const {
    std::string s;
    for (const auto& [name, body] : sections_) {
        s.append(name).append(":\n").append(body);
    }
    return s;
}

load_result load(const std::string& yaml, const fake_system& files) {
    return load_string(yaml, "test.yaml", files.options());
}

std::vector<std::string> error_lines(const load_result& r) {
    std::vector<std::string> lines;
    if (!r) {
        for (const auto& e : r.error().errors) {
            lines.push_back(to_string(e));
        }
    }
    return lines;
}

std::vector<std::string> warning_lines(const load_result& r) {
    std::vector<std::string> lines;
    for (const auto& w : r ? r->warnings : r.error().warnings) {
        lines.push_back(to_string(w));
    }
    return lines;
}

std::vector<diagnostic> errors_at(const load_result& r, const std::string& path) {
    std::vector<diagnostic> out;
    if (!r) {
        for (const auto& e : r.error().errors) {
            if (e.path == path) {
                out.push_back(e);
            }
        }
    }
    return out;
}

std::string read_source_file(const std::string& relative_path) {
    const std::string path = std::string(SSPR_SOURCE_DIR) + "/" + relative_path;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot open " + path);
    }
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

} // namespace sspr::config::testing
