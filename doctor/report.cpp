#include "doctor/report.hpp"

#include <array>

#include <openssl/x509_vfy.h>

#include <ostream>

namespace sspr::doctor {

void report::add(check_result r) {
    results_.push_back(std::move(r));
}
void report::pass(std::string name, std::string finding) {
    add({status::pass, std::move(name), std::move(finding), {}});
}
void report::warn(std::string name, std::string finding, std::string fix) {
    add({status::warn, std::move(name), std::move(finding), std::move(fix)});
}
void report::fail(std::string name, std::string finding, std::string fix) {
    add({status::fail, std::move(name), std::move(finding), std::move(fix)});
}

void report::skip(std::string name, std::string finding, std::string how) {
    add({status::skip, std::move(name), std::move(finding), std::move(how)});
}

status report::worst() const noexcept {
    status w = status::pass;
    for (const auto& r : results_) {
        if (r.level != status::skip && static_cast<int>(r.level) > static_cast<int>(w)) {
            w = r.level;
        }
    }
    return w;
}

const char* to_string(status s) noexcept {
    switch (s) {
    case status::pass:
        return "PASS";
    case status::warn:
        return "WARN";
    case status::fail:
        return "FAIL";
    case status::skip:
        return "SKIP";
    }
    return "FAIL";
}

std::string format(const check_result& r) {
    std::string s = std::string(to_string(r.level)) + "  " + r.name + ": " + r.finding;
    if (r.level != status::pass && !r.fix.empty()) {
        s += (r.level == status::skip ? "\n      to run it: " : "\n      fix: ") + r.fix;
    }
    return s;
}

void print(const report& r, std::ostream& out) {
    std::array<int, 4> counts{};
    for (const auto& c : r.results()) {
        out << format(c) << '\n';
        ++counts.at(static_cast<std::size_t>(c.level));
    }
    out << "doctor: " << counts[0] << " PASS, " << counts[1] << " WARN, " << counts[2] << " FAIL";
    if (counts[3] > 0) {
        out << ", " << counts[3] << " SKIP";
    }
    out << '\n';
}

namespace {
std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) {
        s += s.empty() ? "" : ", ";
        s += x;
    }
    return s.empty() ? "no subjectAltName" : s;
}
} // namespace

check_result judge_verify_error(int e, const std::string& name, const std::string& host,
                                const std::vector<std::string>& names, const std::string& not_after,
                                const std::string& ca_file) {
    const std::string trust = ca_file.empty() ? "the system trust store" : ca_file;
    switch (e) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        return {status::fail, name,
                "unknown CA: the server's certificate is not issued by a CA in " + trust + " (" +
                    X509_verify_cert_error_string(e) + ")",
                "set directory.ca_file to the PEM file of the CA that issued the directory's "
                "certificate"};
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
        return {status::fail, name,
                "name mismatch: the certificate does not cover \"" + host + "\" (it covers " +
                    join(names) + ")",
                "use a host name or address in the URI that the certificate names, or reissue "
                "the certificate with \"" +
                    host + "\" in its subjectAltName"};
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return {status::fail, name, "expired: the server's certificate expired (" + not_after + ")",
                "renew the directory server's certificate"};
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return {status::fail, name, "the server's certificate is not valid yet",
                "check the clocks of this machine and the directory server, or the certificate's "
                "notBefore date"};
    default:
        return {status::fail, name,
                std::string("certificate verification failed: ") + X509_verify_cert_error_string(e),
                "fix the directory server's certificate chain or directory.ca_file"};
    }
}

} // namespace sspr::doctor
