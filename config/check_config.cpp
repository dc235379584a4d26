#include "config/check_config.hpp"

#include "config/reader.hpp"
#include "config/schema.hpp"
#include "config/validate.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>
#include <ostream>
#include <sstream>

namespace sspr::config {
namespace {

using detail::format_duration;

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ") {
    std::string s;
    for (const auto& i : items) {
        s += s.empty() ? "" : std::string(separator);
        s += i;
    }
    return s;
}

std::string join(const std::vector<method>& methods) {
    std::vector<std::string> names;
    names.reserve(methods.size());
    for (const method m : methods) {
        names.emplace_back(detail::to_string(m));
    }
    return names.empty() ? std::string("none") : join(names);
}

std::string yes_no(bool b) {
    return b ? "yes" : "no";
}

std::string duration(seconds s) {
    return format_duration(s);
}

/// scheme://host[:port]/path: a query string may carry a provider's key, so it is never shown.
std::string without_query(const std::string& url) {
    const auto u = boost::urls::parse_uri(url);
    if (!u) {
        return "(invalid URL)";
    }
    std::string s = std::string(u->scheme()) + "://" + std::string(u->encoded_host());
    if (u->has_port()) {
        s += ":" + std::string(u->port());
    }
    s += std::string(u->encoded_path());
    if (u->has_query()) {
        s += "?...";
    }
    return s;
}

const char* key_name(throttle_key k) {
    switch (k) {
    case throttle_key::user:
        return "user";
    case throttle_key::client_ip:
        return "client address";
    case throttle_key::client_net:
        return "client network";
    case throttle_key::destination:
        return "destination";
    case throttle_key::flow:
        return "flow";
    case throttle_key::invalid:
        break;
    }
    return "?";
}

const char* dialect_name(dialect d) {
    switch (d) {
    case dialect::detect:
        return "auto-detected dialect";
    case dialect::active_directory:
        return "Active Directory";
    case dialect::openldap:
        return "OpenLDAP";
    case dialect::invalid:
        break;
    }
    return "?";
}

class summary {
public:
    void line(std::string_view label, const std::string& text) {
        std::string l(label);
        l.resize(15, ' ');
        out_ << l << text << '\n';
    }
    void more(const std::string& text) { line("", text); }
    [[nodiscard]] std::string str() const { return out_.str(); }

private:
    std::ostringstream out_;
};

std::string rule_conditions(const policy_rule& r) {
    std::vector<std::string> parts;
    if (!r.groups.empty()) {
        parts.push_back("groups " + join(r.groups, "; "));
    }
    if (!r.ous.empty()) {
        parts.push_back("ous " + join(r.ous, "; "));
    }
    if (!r.filter.empty()) {
        parts.push_back("filter " + r.filter);
    }
    return parts.empty() ? std::string("every user") : join(parts, "; ");
}

void scope_and_rules(summary& s, const config& c) {
    const auto& p = c.policy;
    switch (p.scope) {
    case scope_mode::none:
        s.line("scope", "none: nobody may use self-service");
        return;
    case scope_mode::selected:
        s.line("scope", "selected: only users an allow rule matches; the first match decides");
        break;
    case scope_mode::all:
        s.line("scope", "all: every user but those a deny rule matches; the first match decides");
        break;
    case scope_mode::invalid:
        return;
    }
    for (std::size_t i = 0; i < p.rules.size(); ++i) {
        const policy_rule& r = p.rules[i];
        const std::string head = std::to_string(i + 1) + ". " + r.name;
        if (r.effect == rule_effect::deny) {
            s.line(i == 0 ? "rules" : "", head + " (deny): " + rule_conditions(r));
            continue;
        }
        s.line(i == 0 ? "rules" : "", head + " (allow): " + rule_conditions(r));
        s.more("   gates " + std::to_string(r.gates.value_or(p.default_gates)) + ", methods " +
               join(detail::offered_methods(c, &r)) + "; unlock " +
               yes_no(r.unlock.value_or(p.allow_unlock)) + ", change " +
               yes_no(r.change.value_or(p.allow_change)));
    }
    if (p.scope == scope_mode::all) {
        s.line(p.rules.empty() ? "rules" : "",
               "no rule matches: gates " + std::to_string(p.default_gates) + ", methods " +
                   join(detail::offered_methods(c, nullptr)) + "; unlock " +
                   yes_no(p.allow_unlock) + ", change " + yes_no(p.allow_change));
    } else {
        s.line(p.rules.empty() ? "rules" : "", "no rule matches: not in scope");
    }
}

void admins(summary& s, const config& c) {
    const auto& p = c.policy;
    if (p.admin_groups.empty()) {
        s.line("admins", "no admin groups: nobody gets the admin two-gate rule");
    } else {
        std::vector<method> usable = detail::enabled_methods(c);
        usable.erase(std::remove(usable.begin(), usable.end(), method::questions), usable.end());
        s.line("admins", join(p.admin_groups, "; "));
        s.more("always 2 gates, from " + join(usable) + " (never security questions)");
    }
    s.more(std::string("protected accounts (adminCount=1): ") +
           (p.allow_protected_accounts ? "allowed" : "refused"));
}

void methods(summary& s, const config& c) {
    const auto& m = c.methods;
    std::vector<std::string> lines;
    if (m.email.enabled) {
        lines.push_back("email: " + std::to_string(m.email.code_length) + " digits, valid " +
                        duration(m.email.lifetime) + ", " + std::to_string(m.email.max_tries) +
                        " tries");
    }
    if (m.sms.enabled) {
        lines.push_back("sms: " + std::to_string(m.sms.code_length) + " digits, valid " +
                        duration(m.sms.lifetime) + ", " + std::to_string(m.sms.max_tries) +
                        " tries");
    }
    if (m.totp.enabled) {
        lines.push_back("totp: " + std::to_string(m.totp.digits) + " digits, " +
                        duration(m.totp.period) + " steps, " + std::to_string(m.totp.skew_steps) +
                        " step(s) of drift");
    }
    if (m.questions.enabled) {
        lines.push_back("questions: pool of " + std::to_string(m.questions.pool.size()) +
                        ", register " + std::to_string(m.questions.register_count) + ", answer " +
                        std::to_string(m.questions.answer_count));
    }
    if (lines.empty()) {
        lines.emplace_back("none enabled");
    }
    for (std::size_t i = 0; i < lines.size(); ++i) {
        s.line(i == 0 ? "methods" : "", lines[i]);
    }
    const auto& e = c.enrollment;
    s.line("enrollment",
           std::to_string(e.required_methods) +
               " method(s) registered before a reset; confirmed again " +
               (e.reconfirm_after.count() == 0 ? std::string("never")
                                               : "after " + duration(e.reconfirm_after)));
}

void password(summary& s, const config& c) {
    const auto& p = c.password;
    std::string banned = std::to_string(p.banned_terms.size()) + " banned terms";
    if (!p.banned_terms_file.empty()) {
        banned += " and a file";
    }
    s.line("password", std::to_string(p.min_length) + " to " + std::to_string(p.max_length) +
                           " characters; AD complexity " + (p.ad_complexity ? "on" : "off") + "; " +
                           banned + ", score at least " + std::to_string(p.min_score) +
                           "; breached list " + (p.breached_file.empty() ? "off" : "on"));
}

void throttles(summary& s, const config& c) {
    bool first = true;
    for (const auto& b : c.throttles.buckets) {
        std::string text = b.name + ": " + std::to_string(b.limit) + " per " + key_name(b.key) +
                           " in " + duration(b.window);
        text += b.block.count() == 0 ? std::string(", no block")
                                     : ", then " + duration(b.block) + " blocked";
        s.line(first ? "throttles" : "", text);
        first = false;
    }
}

void notifications(summary& s, const config& c) {
    const auto& n = c.notifications;
    std::vector<std::string> on;
    if (n.on_reset) {
        on.emplace_back("reset");
    }
    if (n.on_change) {
        on.emplace_back("change");
    }
    if (n.on_unlock) {
        on.emplace_back("unlock");
    }
    if (n.on_enrollment_change) {
        on.emplace_back("enrollment change");
    }
    std::string text =
        on.empty() ? std::string("users are not told") : "users told after " + join(on);
    if (!n.admin_recipients.empty()) {
        text += "; admin resets reported to " + join(n.admin_recipients);
    }
    s.line("notifications", text);
}

void plumbing(summary& s, const config& c) {
    const auto& d = c.directory;
    s.line("directory", std::string(dialect_name(d.dialect)) + " at " + join(d.uris) + "; base " +
                            d.base_dn + "; " + std::to_string(d.pool_size) + " connections");
    const auto& st = c.store;
    s.line("store", st.backend == store_backend::sqlite
                        ? "sqlite " + st.sqlite_path
                        : "postgres " + st.postgres.host + ":" + std::to_string(st.postgres.port) +
                              "/" + st.postgres.database + " (sslmode " + st.postgres.sslmode +
                              ")");
    std::vector<std::string> channels;
    if (c.delivery.smtp.enabled) {
        const char* tls = c.delivery.smtp.tls == smtp_tls::starttls   ? "starttls"
                          : c.delivery.smtp.tls == smtp_tls::implicit ? "TLS"
                                                                      : "no TLS";
        channels.push_back("e-mail via " + c.delivery.smtp.host + ":" +
                           std::to_string(c.delivery.smtp.port) + " (" + tls + ")");
    }
    if (c.delivery.sms.enabled) {
        channels.push_back("texts via " + without_query(c.delivery.sms.url) +
                           " (national numbers read as " + c.delivery.sms.default_region + ")");
    }
    s.line("delivery", channels.empty() ? std::string("none") : join(channels, "; "));
    s.line("server",
           join(c.server.listen) + "; " + c.server.public_url + "; " +
               (c.server.tls.min_version == tls_version::tls1_3 ? "TLSv1.3" : "TLSv1.2+"));
    s.line("ui", c.ui.organisation + "; " + join(c.ui.languages) + " (default " +
                     c.ui.default_language + ")");
}

} // namespace

std::string summarize(const config& c) {
    summary s;
    scope_and_rules(s, c);
    admins(s, c);
    methods(s, c);
    password(s, c);
    throttles(s, c);
    notifications(s, c);
    plumbing(s, c);
    return s.str();
}

int run_check_config(const std::string& path, std::ostream& out, std::ostream& err,
                     const load_options& options) {
    const load_result result = load_file(path, options);
    if (!result) {
        const load_failure& f = result.error();
        std::vector<diagnostic> all = f.errors;
        all.insert(all.end(), f.warnings.begin(), f.warnings.end());
        std::stable_sort(all.begin(), all.end(), [](const diagnostic& a, const diagnostic& b) {
            return std::tie(a.line, a.column) < std::tie(b.line, b.column);
        });
        for (const auto& d : all) {
            err << to_string(d) << '\n';
        }
        err << path << ": " << f.errors.size() << (f.errors.size() == 1 ? " error" : " errors");
        if (!f.warnings.empty()) {
            err << ", " << f.warnings.size() << (f.warnings.size() == 1 ? " warning" : " warnings");
        }
        err << "; the configuration is not valid\n";
        return 2;
    }
    for (const auto& w : result->warnings) {
        err << to_string(w) << '\n';
    }
    out << path << ": valid";
    if (!result->warnings.empty()) {
        out << " (" << result->warnings.size()
            << (result->warnings.size() == 1 ? " warning" : " warnings") << ")";
    }
    out << '\n' << summarize(result->value);
    return 0;
}

} // namespace sspr::config
