#include "delivery/webhook_client.hpp"

#include "delivery/curl.hpp"
#include "delivery/sms_body.hpp"
#include "delivery/templates.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <stdexcept>
#include <utility>
#include <vector>

namespace sspr::delivery {
namespace {

// The provider's answer is not needed (and may echo the text, code included): drop it.
std::size_t discard_body(char* /*data*/, std::size_t size, std::size_t count, void* /*user*/) {
    return size * count;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// RFC 9110 token.
bool valid_header_name(std::string_view name) {
    constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
               extra.find(c) != std::string_view::npos;
    });
}

bool valid_header_value(std::string_view value) {
    return std::none_of(value.begin(), value.end(),
                        [](char c) { return c == '\r' || c == '\n' || c == '\0'; });
}

long to_millis(std::chrono::seconds s) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(s).count());
}

} // namespace

webhook_client::webhook_client(config::sms_config cfg) : cfg_(std::move(cfg)) {
    detail::ensure_curl_global();
    const auto url = boost::urls::parse_uri(cfg_.url);
    if (!url || url->scheme() != "https" || url->host().empty()) {
        throw std::invalid_argument("sms: url must be an https:// URL");
    }
    if (url->has_userinfo()) {
        throw std::invalid_argument(
            "sms: put credentials in basic_user/basic_password_file, not in the URL");
    }
    for (const std::string_view m : {"POST", "PUT", "PATCH"}) {
        if (iequals(cfg_.method, m)) {
            method_ = std::string(m);
        }
    }
    if (method_.empty()) {
        throw std::invalid_argument("sms: method must be POST, PUT or PATCH");
    }
    std::vector<std::pair<std::string_view, std::string_view>> all_headers;
    for (const auto& [name, value] : cfg_.headers) {
        all_headers.emplace_back(name, value);
    }
    for (const auto& [name, value] : cfg_.secret_headers) {
        if (cfg_.headers.contains(name)) {
            throw std::invalid_argument("sms: header '" + name + "' is given twice");
        }
        all_headers.emplace_back(name, value.reveal());
    }
    for (const auto& [name_view, value] : all_headers) {
        const std::string name(name_view);
        if (!valid_header_name(name) || !valid_header_value(value)) {
            // The value may be a secret: name the header only.
            throw std::invalid_argument("sms: header '" + name + "' is not a valid HTTP header");
        }
        for (const std::string_view reserved :
             {"Host", "Content-Length", "Transfer-Encoding", "Expect", "Idempotency-Key"}) {
            if (iequals(name, reserved)) {
                throw std::invalid_argument("sms: header '" + name + "' is set by ssprd itself");
            }
        }
        if (iequals(name, "Authorization") &&
            (!cfg_.bearer_token.empty() || !cfg_.basic_user.empty())) {
            throw std::invalid_argument(
                "sms: an Authorization header and bearer/basic authentication exclude each other");
        }
        if (iequals(name, "Content-Type")) {
            custom_content_type_ = true;
        }
        if (iequals(name, "User-Agent")) {
            custom_user_agent_ = true;
        }
    }
    if (!cfg_.bearer_token_file.empty() && cfg_.bearer_token.empty()) {
        throw std::invalid_argument("sms: the bearer token file is empty");
    }
    if (cfg_.basic_user.empty() != cfg_.basic_password.empty()) {
        throw std::invalid_argument("sms: basic_user and basic_password_file go together");
    }
    if (!cfg_.bearer_token.empty() && !cfg_.basic_user.empty()) {
        throw std::invalid_argument("sms: choose bearer or basic authentication, not both");
    }
    if (auto problem = sms_body_template_problem(cfg_.format, cfg_.body_template)) {
        throw std::invalid_argument("sms: " + *problem);
    }
    if (cfg_.timeout.count() <= 0) {
        throw std::invalid_argument("sms: timeout must be positive");
    }
}

result<void> webhook_client::send(const message& msg) const {
    const common::secret text = render_sms_text(msg);
    const common::secret body =
        render_sms_body(cfg_.format, cfg_.body_template, msg.destination, text.reveal());

    auto easy = detail::make_easy();
    if (!easy) {
        return easy.error();
    }
    CURL* h = easy->get();

    detail::slist_ptr headers;
    std::vector<std::string> lines;
    if (!custom_content_type_) {
        lines.push_back("Content-Type: " + std::string(sms_content_type(cfg_.format)));
    }
    lines.push_back("Idempotency-Key: " + msg.id);
    if (!custom_user_agent_) {
        lines.emplace_back("User-Agent: ssprd/" SSPR_VERSION);
    }
    lines.emplace_back("Expect:"); // no 100-continue round trip
    for (const auto& [name, value] : cfg_.headers) {
        lines.push_back(name);
        lines.back().append(": ").append(value);
    }
    for (const auto& line : lines) {
        if (!detail::append(headers, line.c_str())) {
            return failure(error::internal, "out of memory");
        }
    }
    // libcurl copies each line and frees its copies without wiping them: a libcurl limit. Ours are
    // secrets and are wiped.
    for (const auto& [name, value] : cfg_.secret_headers) {
        const common::secret line(name + ": " + std::string(value.reveal()));
        if (!detail::append(headers, line.reveal().data())) {
            return failure(error::internal, "out of memory");
        }
    }
    std::array<char, CURL_ERROR_SIZE> errors{};

    detail::easy_options opt(h);
    opt.set(CURLOPT_ERRORBUFFER, errors.data());
    opt.set(CURLOPT_URL, cfg_.url.c_str());
    opt.set(CURLOPT_PROTOCOLS_STR, "https");
    opt.set(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    opt.set(CURLOPT_FOLLOWLOCATION, 0L);
    opt.set(CURLOPT_NOSIGNAL, 1L);
    opt.set(CURLOPT_CONNECTTIMEOUT_MS, to_millis(cfg_.timeout));
    opt.set(CURLOPT_TIMEOUT_MS, to_millis(cfg_.timeout));
    opt.set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    opt.set(CURLOPT_SSL_VERIFYPEER, 1L);
    opt.set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!cfg_.ca_file.empty()) {
        opt.set(CURLOPT_CAINFO, cfg_.ca_file.c_str());
    }
    // Secrets' reveal() views the whole std::string, so data() ends in NUL. libcurl builds the
    // Authorization header itself, so the token is never in our header list.
    if (!cfg_.bearer_token.empty()) {
        opt.set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BEARER));
        opt.set(CURLOPT_XOAUTH2_BEARER, cfg_.bearer_token.reveal().data());
    } else if (!cfg_.basic_user.empty()) {
        opt.set(CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        opt.set(CURLOPT_USERNAME, cfg_.basic_user.c_str());
        opt.set(CURLOPT_PASSWORD, cfg_.basic_password.reveal().data());
    }
    opt.set(CURLOPT_HTTPHEADER, headers.get());
    if (method_ == "POST") {
        opt.set(CURLOPT_POST, 1L);
    } else {
        opt.set(CURLOPT_CUSTOMREQUEST, method_.c_str());
    }
    opt.set(CURLOPT_POSTFIELDS, body.reveal().data());
    opt.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.reveal().size()));
    opt.set(CURLOPT_WRITEFUNCTION, &discard_body);
    if (opt.rc() != CURLE_OK) {
        return failure(error::internal, std::string("HTTP: libcurl option refused: ") +
                                            curl_easy_strerror(opt.rc()));
    }

    const CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    // The whole body sent and no status back: the provider may have taken the message.
    curl_off_t uploaded = 0;
    curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &uploaded);
    const bool handed_over =
        uploaded > 0 && static_cast<std::size_t>(uploaded) >= body.reveal().size();
    return detail::http_outcome(rc, status, errors.data(), handed_over);
}

result<void> webhook_client::probe_connect() const {
    auto easy = detail::make_easy();
    if (!easy) {
        return easy.error();
    }
    CURL* h = easy->get();
    std::array<char, CURL_ERROR_SIZE> errors{};
    detail::easy_options opt(h);
    opt.set(CURLOPT_ERRORBUFFER, errors.data());
    opt.set(CURLOPT_URL, cfg_.url.c_str());
    opt.set(CURLOPT_PROTOCOLS_STR, "https");
    opt.set(CURLOPT_NOSIGNAL, 1L);
    opt.set(CURLOPT_CONNECTTIMEOUT_MS, to_millis(cfg_.timeout));
    opt.set(CURLOPT_TIMEOUT_MS, to_millis(cfg_.timeout));
    opt.set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
    opt.set(CURLOPT_SSL_VERIFYPEER, 1L);
    opt.set(CURLOPT_SSL_VERIFYHOST, 2L);
    if (!cfg_.ca_file.empty()) {
        opt.set(CURLOPT_CAINFO, cfg_.ca_file.c_str());
    }
    // TCP and TLS only: the transfer ends before any request is written.
    opt.set(CURLOPT_CONNECT_ONLY, 1L);
    if (opt.rc() != CURLE_OK) {
        return failure(error::internal, std::string("HTTP: libcurl option refused: ") +
                                            curl_easy_strerror(opt.rc()));
    }
    const CURLcode rc = curl_easy_perform(h);
    return detail::http_outcome(rc, rc == CURLE_OK ? 200 : 0, errors.data());
}

} // namespace sspr::delivery
