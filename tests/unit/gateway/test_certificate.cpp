#include "tests/unit/gateway/test_certificate.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <stdlib.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace sspr::testing {
namespace {

struct pkey_free {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct x509_free {
    void operator()(X509* p) const { X509_free(p); }
};
struct ext_free {
    void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct file_close {
    // Only on the way out of a failure, which is being reported already; the good path closes
    // with close_checked() below, which checks.
    void operator()(std::FILE* f) const { (void)std::fclose(f); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, ext_free>;
using file_ptr = std::unique_ptr<std::FILE, file_close>;

void check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(std::string("test certificate: ") + what);
    }
}

// fclose writes what is still buffered: its failure is a failed write.
void close_checked(file_ptr& f, const char* what) {
    check(std::fclose(f.release()) == 0, what);
}

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    check(ext != nullptr, "extension");
    check(X509_add_ext(cert, ext.get(), -1) == 1, "add extension");
}

} // namespace

test_certificate::test_certificate() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sspr-tls-XXXXXX").string();
    check(::mkdtemp(tmpl.data()) != nullptr, "mkdtemp");
    dir_ = tmpl;

    pkey_ptr key(EVP_EC_gen("P-256"));
    check(key != nullptr, "key generation");
    x509_ptr cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), 2) == 1, "version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24L * 3600) != nullptr, "notAfter");
    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                                     0) == 1,
          "subject");
    check(X509_set_issuer_name(cert.get(), name) == 1, "issuer");
    check(X509_set_pubkey(cert.get(), key.get()) == 1, "public key");
    add_extension(cert.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
    check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "sign");

    file_ptr cert_out(std::fopen(certificate_file().c_str(), "w"));
    check(cert_out != nullptr, "open cert.pem");
    check(PEM_write_X509(cert_out.get(), cert.get()) == 1, "write cert.pem");
    close_checked(cert_out, "close cert.pem");
    file_ptr key_out(std::fopen(key_file().c_str(), "w"));
    check(key_out != nullptr, "open key.pem");
    check(PEM_write_PrivateKey(key_out.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ==
              1,
          "write key.pem");
    close_checked(key_out, "close key.pem");
}

test_certificate::~test_certificate() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
}

} // namespace sspr::testing
