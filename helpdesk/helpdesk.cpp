#include "helpdesk/helpdesk.hpp"

#include "audit/audit.hpp"
#include "flows/methods.hpp"
#include "ldap/directory.hpp"
#include "policy/text.hpp"
#include "policy/throttle.hpp"
#include "store/state_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <optional>
#include <ostream>
#include <set>
#include <variant>

namespace sspr::helpdesk {
namespace {

using time_point = std::chrono::system_clock::time_point;

/// Longest operator name accepted (it goes into every audit line of the command).
constexpr std::size_t max_operator_bytes = 128;
/// Enrollments read per store call by the export.
constexpr std::size_t export_page = 500;

std::string iso(time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&tt, &tm);
    char buf[32];
    const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return {buf, n};
}

/// "23h 59m" style, for how long a block still holds.
std::string duration_text(std::chrono::system_clock::duration d) {
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(d).count();
    if (minutes < 1) {
        return "under a minute";
    }
    const auto h = minutes / 60;
    const auto m = minutes % 60;
    return (h > 0 ? std::to_string(h) + "h " : std::string()) + std::to_string(m) + "m";
}

bool valid_operator(std::string_view name) {
    if (name.empty() || name.size() > max_operator_bytes || !policy::text::is_valid_utf8(name)) {
        return false;
    }
    return std::none_of(name.begin(), name.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

/// Whom a command is about.
struct target {
    std::string username; // as typed
    std::string dn;
    bool looked_up = false; // found in the directory (false: USER was a DN)
};

/// A login is looked up in the directory; a DN is taken as given. exit status on failure.
std::variant<target, int> resolve(const services& s, std::string_view user, std::ostream& err) {
    target t;
    t.username = std::string(user);
    if (user.empty() || user.size() > 1024 || !policy::text::is_valid_utf8(user)) {
        err << "ssprd helpdesk: USER must be a login or a DN\n";
        return exit_usage;
    }
    if (user.find('=') != std::string_view::npos) {
        t.dn = std::string(user);
        return t;
    }
    if (s.directory == nullptr) {
        err << "ssprd helpdesk: no directory to look the login up in; give the user's DN\n";
        return exit_failure;
    }
    auto found = s.directory->find_user(user);
    if (!found) {
        if (found.error().is(ldap::error::ambiguous_user)) {
            err << "ssprd helpdesk: the login '" << user
                << "' matches more than one entry; give the user's DN\n";
            return exit_not_found;
        }
        err << "ssprd helpdesk: the directory did not answer the lookup: "
            << found.error().code.message() << "\n";
        return exit_failure;
    }
    if (!*found) {
        err << "ssprd helpdesk: no user '" << user << "' in the directory\n";
        return exit_not_found;
    }
    t.dn = (*found)->dn;
    t.looked_up = true;
    return t;
}

/// The user's enrollment; nothing when there is none; exit status on a store failure.
std::variant<std::optional<store::enrollment>, int>
enrollment_of(const services& s, const std::string& dn, std::ostream& err) {
    auto e = s.store->get_enrollment(dn);
    if (e) {
        return std::optional<store::enrollment>(std::move(*e));
    }
    if (e.error() == store::error::not_found) {
        return std::optional<store::enrollment>();
    }
    err << "ssprd helpdesk: the store cannot read the enrollment of " << dn << ": "
        << e.error().message() << "\n";
    return exit_failure;
}

void record(const services& s, const target& t, std::string step, std::string_view operator_name,
            std::string outcome, std::string reason, std::string method = {}, std::string hint = {},
            std::string diagnostic = {}) {
    audit::event e;
    e.time = s.now;
    e.username = t.username;
    e.user_dn = t.dn;
    e.step = std::move(step);
    e.actor = std::string(operator_name);
    e.outcome = std::move(outcome);
    e.reason = std::move(reason);
    e.method = std::move(method);
    e.hint = std::move(hint);
    e.diagnostic = std::move(diagnostic);
    s.audit->record(std::move(e));
}

/// 0 when the audit line of the command reached the file; else says so.
int audit_written(const services& s, std::uint64_t failed_before, std::ostream& err) {
    if (s.audit->failed_writes() != failed_before) {
        err << "ssprd helpdesk: the audit event could not be written (the log says why)\n";
        return exit_failure;
    }
    return exit_ok;
}

/// One throttle key that concerns a user, with what to call it on screen.
struct user_key {
    std::string bucket;
    std::string about; // "user" or a masked destination
    std::string key;
};

/// The user-keyed buckets and, per registered address, the destination-keyed buckets: with
/// `every` all of them, the keys policy::keys_to_clear_on_success names for a successful reset
/// (without the flow keys); else only those that can count for the address (not "texts" for an
/// e-mail address), for showing.
std::vector<user_key> keys_of(const services& s, const std::string& dn,
                              const std::optional<store::enrollment>& e, bool every) {
    std::vector<user_key> out;
    auto buckets = policy::make_bucket_set(s.cfg->throttles);
    if (!buckets) {
        return out;
    }
    const std::string& region = s.cfg->delivery.sms.default_region;
    for (const auto& b : buckets->buckets()) {
        if (b.key == config::throttle_key::user) {
            policy::throttle_subject who;
            who.user = dn;
            if (auto k = policy::derive_key(b, who, *s.hmac_key)) {
                out.push_back({b.name, "user", std::move(*k)});
            }
            continue;
        }
        if (b.key != config::throttle_key::destination || !e) {
            continue;
        }
        const auto counted = policy::counter_of(b.name);
        const auto add = [&](const std::vector<store::contact>& contacts, bool email) {
            if (!every && ((email && counted == policy::throttle_event::sms_sent) ||
                           (!email && counted == policy::throttle_event::email_sent))) {
                return;
            }
            const auto views = flows::describe_methods(*e, {}, s.now);
            for (std::size_t i = 0; i < contacts.size(); ++i) {
                policy::throttle_subject who;
                who.destination = contacts[i].address;
                who.phone_region = region;
                auto k = policy::derive_key(b, who, *s.hmac_key);
                if (!k) {
                    continue; // an address that does not normalise has no counter
                }
                const std::string id = (email ? "email-" : "sms-") + std::to_string(i);
                std::string about = id;
                for (const auto& v : views) {
                    if (v.id == id && !v.hint.empty()) {
                        about = id + " " + v.hint;
                    }
                }
                out.push_back({b.name, about, std::move(*k)});
            }
        };
        add(e->emails, true);
        add(e->phones, false);
    }
    return out;
}

std::string confirmed_text(const flows::enrolled_method_view& v) {
    if (!v.confirmed) {
        return "not confirmed";
    }
    std::string s = v.confirmed_at ? "confirmed " + iso(*v.confirmed_at) : "confirmed";
    if (v.reconfirm_due) {
        s += " (re-confirmation due)";
    }
    return s;
}

bool ready(const services& s, std::ostream& err) {
    if (s.cfg == nullptr || s.store == nullptr || s.audit == nullptr || s.hmac_key == nullptr) {
        err << "ssprd helpdesk: internal error: services missing\n";
        return false;
    }
    return true;
}

int check_operator(std::string_view name, std::ostream& err) {
    if (!valid_operator(name)) {
        err << "ssprd helpdesk: --operator needs a name (1 to " << max_operator_bytes
            << " bytes of UTF-8, no control characters): who is doing this goes into the "
               "audit\n";
        return exit_usage;
    }
    return exit_ok;
}

} // namespace

std::string csv_field(std::string_view value) {
    std::string v;
    if (!value.empty() &&
        (value.front() == '=' || value.front() == '+' || value.front() == '-' ||
         value.front() == '@' || value.front() == '\t' || value.front() == '\r')) {
        v.push_back('\'');
    }
    v.append(value);
    if (v.find_first_of(",\"\r\n") == std::string::npos) {
        return v;
    }
    std::string quoted = "\"";
    for (const char c : v) {
        if (c == '"') {
            quoted.push_back('"');
        }
        quoted.push_back(c);
    }
    quoted.push_back('"');
    return quoted;
}

std::string operator_from_environment() {
    for (const char* name : {"SUDO_USER", "USER"}) {
        const char* v = std::getenv(name); // NOLINT(concurrency-mt-unsafe): read once, at start
        if (v != nullptr && *v != '\0') {
            return v;
        }
    }
    return {};
}

/// What every helpdesk command works on.
struct command_subject {
    target t;
    std::optional<store::enrollment> enrollment; // none registered: empty
};

/// The services ready, the operator named, the user resolved and their enrollment read; the exit
/// status of the first of these that fails (said on `err`).
std::variant<command_subject, int> prepare(const services& s, std::string_view user,
                                           std::string_view operator_name, std::ostream& err) {
    if (!ready(s, err)) {
        return exit_failure;
    }
    if (const int rc = check_operator(operator_name, err); rc != exit_ok) {
        return rc;
    }
    auto resolved = resolve(s, user, err);
    if (const int* rc = std::get_if<int>(&resolved)) {
        return *rc;
    }
    auto& t = std::get<target>(resolved);
    auto read = enrollment_of(s, t.dn, err);
    if (const int* rc = std::get_if<int>(&read)) {
        return *rc;
    }
    return command_subject{std::move(t),
                           std::move(std::get<std::optional<store::enrollment>>(read))};
}

int status(const services& s, std::string_view user, std::string_view operator_name,
           std::ostream& out, std::ostream& err) {
    auto prepared = prepare(s, user, operator_name, err);
    if (const int* rc = std::get_if<int>(&prepared)) {
        return *rc;
    }
    const auto& [t, e] = std::get<command_subject>(prepared);
    if (!e && !t.looked_up) {
        err << "ssprd helpdesk: nothing registered for " << t.dn
            << " (a DN is not looked up in the directory: check its spelling)\n";
        return exit_not_found;
    }
    const auto failed_before = s.audit->failed_writes();

    out << "user: " << t.dn << "\n";
    const auto reconfirm = s.cfg->enrollment.reconfirm_after;
    out << "methods";
    if (reconfirm.count() > 0) {
        out << " (re-confirmation every " << reconfirm.count() / 86400 << " days)";
    }
    out << ":\n";
    std::size_t current = 0;
    if (!e || flows::describe_methods(*e, reconfirm, s.now).empty()) {
        out << "  none registered\n";
    } else {
        for (const auto& v : flows::describe_methods(*e, reconfirm, s.now)) {
            out << "  " << v.id;
            if (!v.hint.empty()) {
                out << "  " << v.hint;
            }
            out << "  " << confirmed_text(v) << "\n";
            if (v.confirmed && !v.reconfirm_due) {
                ++current;
            }
        }
    }
    out << "current methods: " << current << " (the policy asks for "
        << s.cfg->enrollment.required_methods << ")\n";

    out << "throttles:\n";
    std::size_t blocked = 0;
    for (const auto& k : keys_of(s, t.dn, e, false)) {
        auto until = s.store->blocked_until(k.key, store::to_timestamp(s.now));
        if (!until) {
            err << "ssprd helpdesk: the store cannot read the throttles: "
                << until.error().message() << "\n";
            return exit_failure;
        }
        out << "  " << k.bucket << " (" << k.about << "): ";
        if (*until) {
            ++blocked;
            out << "BLOCKED until " << iso(**until) << " (" << duration_text(**until - s.now)
                << " left)\n";
        } else {
            out << "not blocked\n";
        }
    }
    if (blocked > 0) {
        out << "`ssprd helpdesk unblock` lifts these blocks\n";
    }
    record(s, t, "helpdesk.status", operator_name, "ok", "status.shown");
    return audit_written(s, failed_before, err);
}

int clear(const services& s, std::string_view user, std::string_view method_id,
          std::string_view operator_name, std::ostream& out, std::ostream& err) {
    auto prepared = prepare(s, user, operator_name, err);
    if (const int* rc = std::get_if<int>(&prepared)) {
        return *rc;
    }
    auto& [t, e] = std::get<command_subject>(prepared);
    const auto failed_before = s.audit->failed_writes();
    const std::string id(method_id);
    if (!e) {
        err << "ssprd helpdesk: " << t.dn << " has no registered methods\n";
        record(s, t, "helpdesk.clear", operator_name, "refused", "enrollment.not_found");
        return exit_not_found;
    }
    const auto views = flows::describe_methods(*e, s.cfg->enrollment.reconfirm_after, s.now);
    const auto it = std::find_if(views.begin(), views.end(),
                                 [&](const flows::enrolled_method_view& v) { return v.id == id; });
    if (it == views.end() || !flows::remove_method(*e, id)) {
        std::string ids;
        for (const auto& v : views) {
            ids += (ids.empty() ? "" : ", ") + v.id;
        }
        err << "ssprd helpdesk: " << t.dn << " has no method '" << method_id
            << "'; registered: " << (ids.empty() ? "none" : ids) << "\n";
        record(s, t, "helpdesk.clear", operator_name, "refused", "method.not_found");
        return exit_not_found;
    }
    const auto written = s.store->put_enrollment(*e, store::to_timestamp(s.now));
    if (!written) {
        err << "ssprd helpdesk: the store did not save the change: " << written.error().message()
            << (written.error() == store::error::conflict
                    ? " (the enrollment changed meanwhile; run the command again)"
                    : "")
            << "\n";
        record(s, t, "helpdesk.clear", operator_name, "error", "store.write", it->kind, it->hint);
        return exit_failure;
    }
    record(s, t, "helpdesk.clear", operator_name, "ok", "method.removed", it->kind, it->hint);
    out << "removed " << it->id << (it->hint.empty() ? "" : " " + it->hint) << " from " << t.dn
        << "\n";
    const auto left = flows::describe_methods(*e, s.cfg->enrollment.reconfirm_after, s.now);
    out << "methods left: " << left.size() << "\n";
    return audit_written(s, failed_before, err);
}

int unblock(const services& s, std::string_view user, std::string_view operator_name,
            std::ostream& out, std::ostream& err) {
    auto prepared = prepare(s, user, operator_name, err);
    if (const int* rc = std::get_if<int>(&prepared)) {
        return *rc;
    }
    const auto& [t, e] = std::get<command_subject>(prepared);
    const auto failed_before = s.audit->failed_writes();
    std::vector<std::string> lifted;
    std::set<std::string> seen;
    std::size_t cleared = 0;
    for (const auto& k : keys_of(s, t.dn, e, true)) {
        auto until = s.store->blocked_until(k.key, store::to_timestamp(s.now));
        auto done = until ? s.store->reset(k.key) : store::result<void>(until.error());
        if (!done) {
            err << "ssprd helpdesk: the store did not clear " << k.bucket << ": "
                << done.error().message() << "\n";
            record(s, t, "helpdesk.unblock", operator_name, "error", "store.write");
            return exit_failure;
        }
        ++cleared;
        if (*until) {
            out << "  " << k.bucket << " (" << k.about << "): block until " << iso(**until)
                << " lifted\n";
            if (seen.insert(k.bucket).second) {
                lifted.push_back(k.bucket);
            }
        }
    }
    std::string names;
    for (const auto& b : lifted) {
        names += (names.empty() ? "" : ",") + b;
    }
    out << (lifted.empty() ? "no block was in force" : "lifted: " + names) << " for " << t.dn
        << "; " << cleared
        << " counters of the user and their addresses cleared\nclient-address blocks "
           "(flow_starts_per_ip, ..._per_net) are not the user's and "
           "stay; a running gateway may refuse from its memory of a block for up to a minute\n";
    record(s, t, "helpdesk.unblock", operator_name, "ok",
           lifted.empty() ? "throttle.none_blocked" : "throttle.cleared", {}, {},
           lifted.empty() ? std::string() : "lifted: " + names);
    return audit_written(s, failed_before, err);
}

int export_enrollments(const services& s, std::string_view operator_name, std::ostream& out,
                       std::ostream& err) {
    if (!ready(s, err)) {
        return exit_failure;
    }
    if (const int rc = check_operator(operator_name, err); rc != exit_ok) {
        return rc;
    }
    const auto failed_before = s.audit->failed_writes();
    const auto reconfirm = s.cfg->enrollment.reconfirm_after;
    const auto row = [&out](std::initializer_list<std::string_view> fields) {
        bool first = true;
        for (const auto f : fields) {
            out << (first ? "" : ",") << csv_field(f);
            first = false;
        }
        out << "\r\n";
    };
    row({"user_dn", "methods", "email_hints", "sms_hints", "totp", "questions", "last_confirmed",
         "reconfirm_due"});
    std::string after;
    std::size_t rows = 0;
    std::size_t unreadable = 0;
    for (;;) {
        auto page = s.store->list_enrollments(after, export_page);
        if (!page) {
            err << "ssprd enrollments export: the store cannot list enrollments: "
                << page.error().message() << " (after " << rows << " rows)\n";
            return exit_failure;
        }
        for (const auto& dn : *page) {
            auto e = s.store->get_enrollment(dn);
            if (!e) {
                if (e.error() != store::error::not_found) { // removed meanwhile: nothing to say
                    err << "ssprd enrollments export: cannot read " << dn << ": "
                        << e.error().message() << "\n";
                    ++unreadable;
                }
                continue;
            }
            std::vector<std::string> kinds;
            std::string emails;
            std::string phones;
            std::string totp;
            std::string due;
            std::optional<time_point> last;
            for (const auto& v : flows::describe_methods(*e, reconfirm, s.now)) {
                if (std::find(kinds.begin(), kinds.end(), v.kind) == kinds.end()) {
                    kinds.push_back(v.kind);
                }
                const std::string shown = v.hint + (v.confirmed ? "" : " (not confirmed)");
                if (v.kind == "email") {
                    emails += (emails.empty() ? "" : ";") + shown;
                } else if (v.kind == "sms") {
                    phones += (phones.empty() ? "" : ";") + shown;
                } else if (v.kind == "totp") {
                    totp = v.confirmed ? "confirmed" : "not confirmed";
                }
                if (v.confirmed_at && (!last || *v.confirmed_at > *last)) {
                    last = *v.confirmed_at;
                }
                if (v.reconfirm_due) {
                    due += (due.empty() ? "" : ";") + v.id;
                }
            }
            std::string methods;
            for (const auto& k : kinds) {
                methods += (methods.empty() ? "" : ";") + k;
            }
            const std::string questions =
                e->questions.empty() ? std::string() : std::to_string(e->questions.size());
            row({dn, methods, emails, phones, totp, questions, last ? iso(*last) : "", due});
            ++rows;
        }
        if (page->size() < export_page) {
            break;
        }
        after = page->back();
    }
    target everyone;
    everyone.username = "";
    record(s, everyone, "enrollments.export", operator_name, unreadable == 0 ? "ok" : "failed",
           "export.rows", {}, {},
           std::to_string(rows) + " rows, " + std::to_string(unreadable) + " unreadable");
    err << "ssprd enrollments export: " << rows << " rows";
    if (unreadable > 0) {
        err << "; " << unreadable << " enrollments could not be read (named above)";
    }
    err << "\n";
    if (const int rc = audit_written(s, failed_before, err); rc != exit_ok) {
        return rc;
    }
    return unreadable == 0 ? exit_ok : exit_failure;
}

} // namespace sspr::helpdesk
