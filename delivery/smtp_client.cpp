#include "delivery/smtp_client.hpp"

#include "common/log.hpp"
#include "delivery/address.hpp"
#include "delivery/curl.hpp"
#include "delivery/templates.hpp"

#include <algorithm>
#include <array>
#include <stdexcept>

namespace sspr::delivery {
namespace {

struct upload {
    std::string_view data;
    std::size_t sent = 0;
};

std::size_t read_payload(char* buffer, std::size_t size, std::size_t count, void* user) {
    auto* up = static_cast<upload*>(user);
    const std::size_t n = std::min(size * count, up->data.size() - up->sent);
    std::copy_n(up->data.data() + up->sent, n, buffer);
    up->sent += n;
    return n;
}

bool valid_host(std::string_view host) {
    if (host.empty() || host.size() > 253) {
        return false;
    }
    return std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '-' || c == ':';
    });
}

long to_millis(std::chrono::seconds s) {
    return static_cast<long>(std::chrono::duration_cast<std::chrono::milliseconds>(s).count());
}

} // namespace

smtp_client::smtp_client(config::smtp_config cfg, std::shared_ptr<const common::clock> clock)
    : cfg_(std::move(cfg)), clock_(std::move(clock)) {
    detail::ensure_curl_global();
    if (!valid_host(cfg_.host)) {
        throw std::invalid_argument("smtp: host must be a host name or an IP address");
    }
    if (cfg_.port == 0) {
        throw std::invalid_argument("smtp: port must be set");
    }
    if (cfg_.tls != config::smtp_tls::starttls && cfg_.tls != config::smtp_tls::implicit &&
        cfg_.tls != config::smtp_tls::none) {
        throw std::invalid_argument("smtp: tls must be starttls, implicit or none");
    }
    if (cfg_.timeout.count() <= 0) {
        throw std::invalid_argument("smtp: timeout must be positive");
    }
    auto from = parse_mailbox(cfg_.from);
    if (!from) {
        throw std::invalid_argument("smtp: from must be an address or \"Name <address>\"");
    }
    from_ = std::move(*from);
    if (cfg_.username.empty() != cfg_.password.empty()) {
        throw std::invalid_argument("smtp: username and password file go together");
    }
    if (cfg_.tls == config::smtp_tls::none && !cfg_.username.empty()) {
        throw std::invalid_argument("smtp: AUTH without TLS would send the password in clear");
    }
    if (cfg_.tls == config::smtp_tls::none) {
        common::log(common::log_level::warning,
                    "smtp: TLS is off; codes travel in clear to the mail server",
                    {{"host", cfg_.host}});
    }
    if (!clock_) {
        throw std::invalid_argument("smtp: a clock is required");
    }
    const std::string host =
        cfg_.host.find(':') != std::string::npos ? "[" + cfg_.host + "]" : cfg_.host;
    url_ = std::string(cfg_.tls == config::smtp_tls::implicit ? "smtps://" : "smtp://") + host +
           ":" + std::to_string(cfg_.port);
}

result<void> smtp_client::send(const message& msg) const {
    // The dispatcher normalised both already; checked again here because both reach the SMTP
    // command line (RCPT TO) and the headers, where a CR/LF or a second address would be an
    // injection, and nothing should depend on every caller having gone through the dispatcher.
    if (const auto to = normalise_email(msg.destination); !to || *to != msg.destination) {
        return failure(error::invalid_destination, "SMTP: the recipient must be one plain address");
    }
    if (!valid_message_id(msg.id)) {
        return failure(error::invalid_message, "SMTP: message id must be 1-64 of [A-Za-z0-9._-]");
    }
    const auto content = render_email(msg);
    const mail_headers headers{
        from_,
        msg.destination,
        content.subject,
        msg.id + "@" + from_.address.substr(from_.address.rfind('@') + 1),
        clock_->system_now(),
        std::string(pick_language(msg.language)),
    };
    const auto payload =
        build_mime(headers, content.text.reveal(), content.html.reveal(), "=_sspr_" + msg.id);
    if (!payload) {
        return payload.error();
    }

    auto easy = detail::make_easy();
    if (!easy) {
        return easy.error();
    }
    CURL* h = easy->get();
    detail::slist_ptr recipients;
    const std::string rcpt = "<" + msg.destination + ">";
    const std::string mail_from = "<" + from_.address + ">";
    if (!detail::append(recipients, rcpt.c_str())) {
        return failure(error::internal, "out of memory");
    }
    upload up{payload->reveal()};
    std::array<char, CURL_ERROR_SIZE> errors{};

    detail::easy_options opt(h);
    opt.set(CURLOPT_ERRORBUFFER, errors.data());
    opt.set(CURLOPT_URL, url_.c_str());
    opt.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    opt.set(CURLOPT_NOSIGNAL, 1L);
    opt.set(CURLOPT_CONNECTTIMEOUT_MS, to_millis(cfg_.timeout));
    opt.set(CURLOPT_TIMEOUT_MS, to_millis(cfg_.timeout));
    if (cfg_.tls != config::smtp_tls::none) {
        // STARTTLS must succeed or nothing is sent (no silent fall-back to plain text).
        opt.set(CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
        opt.set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
        opt.set(CURLOPT_SSL_VERIFYPEER, 1L);
        opt.set(CURLOPT_SSL_VERIFYHOST, 2L);
        if (!cfg_.ca_file.empty()) {
            opt.set(CURLOPT_CAINFO, cfg_.ca_file.c_str());
        }
    }
    if (!cfg_.username.empty()) {
        opt.set(CURLOPT_USERNAME, cfg_.username.c_str());
        // reveal() views the whole of the secret's std::string, so data() ends in NUL. libcurl
        // copies it (and does not wipe its copy: a libcurl limit we accept).
        opt.set(CURLOPT_PASSWORD, cfg_.password.reveal().data());
    }
    opt.set(CURLOPT_MAIL_FROM, mail_from.c_str());
    opt.set(CURLOPT_MAIL_RCPT, recipients.get());
    opt.set(CURLOPT_UPLOAD, 1L);
    opt.set(CURLOPT_READFUNCTION, &read_payload);
    opt.set(CURLOPT_READDATA, &up);
    opt.set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(up.data.size()));
    if (opt.rc() != CURLE_OK) {
        return failure(error::internal, std::string("SMTP: libcurl option refused: ") +
                                            curl_easy_strerror(opt.rc()));
    }

    const CURLcode rc = curl_easy_perform(h);
    long reply = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
    // libcurl reads the payload only after the server's 354: all of it read means the message
    // was handed over, and a failure from here on may have left it delivered.
    const bool handed_over = up.sent == up.data.size();
    return detail::smtp_outcome(rc, reply, errors.data(), handed_over);
}

result<void> smtp_client::probe() const {
    auto easy = detail::make_easy();
    if (!easy) {
        return easy.error();
    }
    CURL* h = easy->get();
    std::array<char, CURL_ERROR_SIZE> errors{};
    detail::easy_options opt(h);
    opt.set(CURLOPT_ERRORBUFFER, errors.data());
    opt.set(CURLOPT_URL, url_.c_str());
    opt.set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    opt.set(CURLOPT_NOSIGNAL, 1L);
    opt.set(CURLOPT_CONNECTTIMEOUT_MS, to_millis(cfg_.timeout));
    opt.set(CURLOPT_TIMEOUT_MS, to_millis(cfg_.timeout));
    if (cfg_.tls != config::smtp_tls::none) {
        opt.set(CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
        opt.set(CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
        opt.set(CURLOPT_SSL_VERIFYPEER, 1L);
        opt.set(CURLOPT_SSL_VERIFYHOST, 2L);
        if (!cfg_.ca_file.empty()) {
            opt.set(CURLOPT_CAINFO, cfg_.ca_file.c_str());
        }
    }
    if (!cfg_.username.empty()) {
        opt.set(CURLOPT_USERNAME, cfg_.username.c_str());
        opt.set(CURLOPT_PASSWORD, cfg_.password.reveal().data());
    }
    // No body: libcurl runs the connection phase (greeting, EHLO, STARTTLS, AUTH) and QUITs
    // without a MAIL, RCPT or DATA command.
    opt.set(CURLOPT_NOBODY, 1L);
    if (opt.rc() != CURLE_OK) {
        return failure(error::internal, std::string("SMTP: libcurl option refused: ") +
                                            curl_easy_strerror(opt.rc()));
    }
    const CURLcode rc = curl_easy_perform(h);
    long reply = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
    return detail::smtp_outcome(rc, reply, errors.data());
}

} // namespace sspr::delivery
