// A throw-away TLS server certificate for tests: an ECDSA P-256 key and a self-signed certificate
// for "localhost" / 127.0.0.1, made with the OpenSSL API and written as PEM files into a private
// temporary directory that is removed with the object.
#pragma once

#include <filesystem>
#include <string>

namespace sspr::testing {

class test_certificate {
public:
    test_certificate();
    ~test_certificate();
    test_certificate(const test_certificate&) = delete;
    test_certificate& operator=(const test_certificate&) = delete;

    [[nodiscard]] std::string certificate_file() const { return (dir_ / "cert.pem").string(); }
    [[nodiscard]] std::string key_file() const { return (dir_ / "key.pem").string(); }
    [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
};

} // namespace sspr::testing
