// Reset, unlock and change (enrollment is in enroll.cpp), and the helpers every step shares.
//
// A flow step, in general: read the flow (a hash of the client's token names it), re-read its
// subject from the directory and the store and decide again (so a lock, a disabled account or a
// new admin group takes effect mid-flow), check and count the throttles, do the step, write the
// flow back with compare-and-set, and write one audit line. Stand-ins (see engine_impl.hpp) go
// through the same steps with the same store writes; only the directory and the delivery are
// skipped for them, and their proofs never pass.
#include "flows/engine_impl.hpp"

#include "challenge/hints.hpp"
#include "challenge/questions.hpp"
#include "challenge/totp.hpp"
#include "common/clock.hpp"
#include "common/hmac.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "config/holder.hpp"
#include "delivery/sender.hpp"
#include "flows/adapters.hpp"
#include "policy/text.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <stdexcept>

namespace sspr::flows {

namespace {

using sys_time = std::chrono::system_clock::time_point;
constexpr auto flow_lifetime = std::chrono::minutes(15);
constexpr std::string_view standin_suffix = ",cn=ssprd-standins";
constexpr std::size_t max_login_bytes = 256;

std::string hex_of(const unsigned char* p, std::size_t n) {
    static constexpr std::array<char, 16> digits{'0', '1', '2', '3', '4', '5', '6', '7',
                                                 '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(digits[p[i] >> 4U]);
        out.push_back(digits[p[i] & 0x0fU]);
    }
    return out;
}

std::string base64url(std::span<const std::byte> in) {
    static constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (const std::byte b : in) {
        acc = (acc << 8U) | std::to_integer<std::uint32_t>(b);
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> static_cast<unsigned>(bits)) & 0x3fU]);
        }
    }
    if (bits > 0) {
        out.push_back(alphabet[(acc << static_cast<unsigned>(6 - bits)) & 0x3fU]);
    }
    return out;
}

/// A token the engine could have made: 22 base64url characters (128 bits).
bool plausible_token(std::string_view t) noexcept {
    if (t.size() != 22) {
        return false;
    }
    return std::all_of(t.begin(), t.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '-' || c == '_';
    });
}

bool has_method(const std::vector<config::method>& v, config::method m) {
    return std::find(v.begin(), v.end(), m) != v.end();
}

} // namespace

std::string_view method_name(config::method m) noexcept {
    switch (m) {
    case config::method::email:
        return "email";
    case config::method::sms:
        return "sms";
    case config::method::totp:
        return "totp";
    case config::method::questions:
        return "questions";
    case config::method::invalid:
        break;
    }
    return "invalid";
}

failure store_problem(const boost::system::error_code& ec) {
    if (ec == store::error::not_found || ec == store::error::expired ||
        ec == store::error::corrupt) {
        return problem::flow_not_found;
    }
    return {problem::service_unavailable, std::chrono::seconds(2)};
}

failure directory_problem(const ldap::failure& f) {
    using ldap::error;
    if (f.is(error::password_too_short)) {
        return problem::password_too_short;
    }
    if (f.is(error::password_too_long)) {
        return problem::password_too_long;
    }
    if (f.is(error::password_not_complex)) {
        return problem::password_not_complex;
    }
    if (f.is(error::password_in_history)) {
        return problem::password_in_history;
    }
    if (f.is(error::password_too_young)) {
        return problem::password_too_young;
    }
    if (f.is(error::password_restriction)) {
        return problem::password_rejected;
    }
    if (f.is(error::invalid_password_encoding)) {
        return problem::password_invalid;
    }
    if (f.is(error::access_denied) || f.is(error::account_disabled) ||
        f.is(error::account_expired)) {
        return problem::account_protected;
    }
    if (f.is(error::wrong_current_password) || f.is(error::invalid_credentials)) {
        return problem::credentials_invalid;
    }
    // Down, slow, busy, TLS, or a write the directory acknowledged but does not hold: the user is
    // told it did not work, and may try again.
    return {problem::directory_unavailable, std::chrono::seconds(5)};
}

failure rule_problem(const policy::rule_failure& r) {
    failure f;
    switch (r.rule) {
    case policy::password_rule::too_short:
        f.problem = problem::password_too_short;
        break;
    case policy::password_rule::too_long:
        f.problem = problem::password_too_long;
        break;
    case policy::password_rule::not_complex:
        f.problem = problem::password_not_complex;
        break;
    case policy::password_rule::contains_name:
        f.problem = problem::password_contains_name;
        break;
    case policy::password_rule::banned:
        f.problem = problem::password_banned;
        break;
    case policy::password_rule::breached:
        f.problem = problem::password_breached;
        break;
    case policy::password_rule::invalid_utf8:
    case policy::password_rule::invalid_character:
    case policy::password_rule::invalid:
        f.problem = problem::password_invalid;
        break;
    }
    f.params = r.params;
    return f;
}

// ---- the engine's state ------------------------------------------------------------------------

engine::impl::impl(dependencies deps)
    : d(std::move(deps)), issuer(d.hmac_key, d.random), blocks(*d.random) {}

snapshot engine::impl::snap() {
    const std::lock_guard lock(snapshot_mutex);
    const std::uint64_t gen = d.config->generation();
    if (gen == generation && current.cfg) {
        return current;
    }
    auto cfg = d.config->snapshot();
    try {
        auto checker = std::make_shared<const policy::password_checker>(cfg->password);
        auto buckets = policy::make_bucket_set(cfg->throttles);
        if (!buckets) {
            throw std::invalid_argument("throttles: bucket " + buckets.error().bucket + ": " +
                                        buckets.error().code.message());
        }
        current = {cfg, std::move(checker),
                   std::make_shared<const policy::bucket_set>(std::move(*buckets))};
        generation = gen;
    } catch (const std::exception& e) {
        if (!current.cfg) {
            throw;
        }
        // A reload that the loader accepted but the rules cannot use: keep what works.
        common::log(common::log_level::error, "flows: keeping the previous password rules",
                    {{"error", e.what()}});
        generation = gen;
    }
    return current;
}

sys_time engine::impl::now() const {
    return d.clock->system_now();
}

void engine::impl::record(audit_note& note, std::string outcome, std::string reason) {
    note.e.outcome = std::move(outcome);
    note.e.reason = std::move(reason);
    if (d.on_event) {
        d.on_event(note.e);
    }
    if (d.audit) {
        d.audit->record(note.e);
    }
}

common::secret engine::impl::new_token() {
    std::array<std::byte, 16> raw{};
    d.random->fill(raw);
    return common::secret(base64url(raw));
}

std::string engine::impl::flow_id_of(std::string_view purpose, std::string_view token) const {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned len = 0;
    std::string input(purpose);
    input.push_back('\0');
    input.append(token);
    EVP_Digest(input.data(), input.size(), md.data(), &len, EVP_sha256(), nullptr);
    OPENSSL_cleanse(input.data(), input.size());
    return hex_of(md.data(), len);
}

std::string engine::impl::hmac_hex(std::string_view data) const {
    const auto md = common::hmac_sha256(d.hmac_key.reveal(), data);
    if (!md) {
        throw std::runtime_error("HMAC-SHA-256 failed");
    }
    return hex_of(md->data(), md->size());
}

std::string engine::impl::standin_dn(std::string_view login) const {
    // Case-folded as the directory compares logins, so "Alice" and "alice" are one stand-in,
    // as they would be one account.
    const auto folded = policy::text::nfkc_casefold(login);
    return "cn=" + hmac_hex("standin\x1f" + folded.value_or(std::string(login))) +
           std::string(standin_suffix);
}

bool engine::impl::is_standin(std::string_view dn) noexcept {
    return dn.ends_with(standin_suffix);
}

result<store::enrollment> engine::impl::enrollment_of(const std::string& dn) {
    auto e = d.store->get_enrollment(dn);
    if (e) {
        return std::move(*e);
    }
    if (e.error() == store::error::not_found) {
        store::enrollment none;
        none.user_dn = dn;
        return none;
    }
    if (e.error() == store::error::corrupt || e.error() == store::error::unknown_key) {
        // Never act on data that does not authenticate: the user counts as unenrolled and the
        // admin finds the reason in the log.
        common::log(common::log_level::error, "flows: enrollment does not decrypt; ignored",
                    {{"error", e.error().message()}});
        store::enrollment none;
        none.user_dn = dn;
        return none;
    }
    return store_problem(e.error());
}

void engine::impl::fill_standin(const snapshot& s, subject& sub,
                                std::optional<std::string_view> login) {
    const config::config& cfg = *s.cfg;
    sub.real = false;
    sub.gates = cfg.policy.default_gates;
    sub.offers.clear();
    // Which methods a stand-in has, from the keyed hash: stable for a login, unknowable without
    // the key, and drawn from the methods the policy would offer, as a real user's are.
    const std::string h = hmac_hex("offers\x1f" + sub.dn);
    const auto bit = [&](std::size_t i) { return (h[i] - '0') % 2 == 0; };
    std::vector<config::method> enabled;
    for (const config::method m : {config::method::email, config::method::sms, config::method::totp,
                                   config::method::questions}) {
        const bool on = (m == config::method::email && cfg.methods.email.enabled) ||
                        (m == config::method::sms && cfg.methods.sms.enabled) ||
                        (m == config::method::totp && cfg.methods.totp.enabled) ||
                        (m == config::method::questions && cfg.methods.questions.enabled);
        if (on &&
            (cfg.policy.default_methods.empty() || has_method(cfg.policy.default_methods, m))) {
            enabled.push_back(m);
        }
    }
    std::size_t i = 0;
    for (const config::method m : enabled) {
        // The first enabled method always, each further one half the time: between one method and
        // all of them, as real registrations are.
        if (i++ > 0 && !bit(i)) {
            continue;
        }
        offer o;
        o.kind = m;
        o.id = m == config::method::email ? "email-0"
               : m == config::method::sms ? "sms-0"
                                          : std::string(method_name(m));
        o.destination = m == config::method::sms ? "+999" + h.substr(0, 10)
                                                 : "x" + h.substr(0, 16) + "@standin.invalid";
        if (login && m == config::method::email) {
            std::vector<std::string> domains;
            const auto at = cfg.delivery.smtp.from.rfind('@');
            if (at != std::string::npos) {
                std::string dom = cfg.delivery.smtp.from.substr(at + 1);
                dom.erase(std::remove(dom.begin(), dom.end(), '>'), dom.end());
                domains.push_back(dom);
            }
            if (domains.empty()) {
                domains.emplace_back("example.org");
            }
            auto hint = challenge::fake_email_hint(d.hmac_key, *login, domains);
            o.hint = hint ? *hint : "";
        } else if (login && m == config::method::sms) {
            auto hint = challenge::fake_phone_hint(d.hmac_key, *login);
            o.hint = hint ? *hint : "";
        }
        sub.offers.push_back(std::move(o));
        if (sub.offers.size() >= 2 && sub.gates < 2 && bit(12)) {
            break;
        }
    }
    if (sub.offers.size() < sub.gates && !enabled.empty()) {
        sub.gates = static_cast<unsigned>(std::max<std::size_t>(1, sub.offers.size()));
    }
}

result<subject> engine::impl::decide_real(const snapshot& s, flow_type type,
                                          ldap::user_entry user) {
    const config::config& cfg = *s.cfg;
    auto groups = d.directory->groups_of(user.dn);
    if (!groups) {
        return directory_problem(groups.error());
    }
    auto enrollment = enrollment_of(user.dn);
    if (!enrollment) {
        return enrollment.error();
    }
    policy::user_facts facts =
        facts_of(user, *groups, *enrollment, cfg.methods.questions.answer_count);
    for (const auto& filter : policy::filters_to_evaluate(cfg.policy)) {
        auto m = d.directory->matches(user.dn, filter);
        if (!m) {
            return directory_problem(m.error());
        }
        if (*m) {
            facts.matched_filters.insert(filter);
        }
    }
    subject sub;
    sub.decision = policy::decide(cfg.policy, cfg.methods, cfg.enrollment, facts, now());
    sub.enrollment = std::move(*enrollment);
    const bool allowed =
        type == flow_type::unlock ? sub.decision.unlock_allowed : sub.decision.reset_allowed;
    sub.reason = std::string(policy::to_string(
        type == flow_type::unlock ? sub.decision.unlock_reason : sub.decision.reason));
    for (const config::method m : sub.decision.methods) {
        if (m == config::method::email || m == config::method::sms) {
            const auto& contacts =
                m == config::method::email ? sub.enrollment.emails : sub.enrollment.phones;
            for (std::size_t i = 0; i < contacts.size(); ++i) {
                if (!contacts[i].confirmed_at) {
                    continue;
                }
                auto hint = m == config::method::email ? challenge::mask_email(contacts[i].address)
                                                       : challenge::mask_phone(contacts[i].address);
                sub.offers.push_back({std::string(method_name(m)) + "-" + std::to_string(i), m,
                                      contacts[i].address, hint ? *hint : ""});
            }
        } else {
            sub.offers.push_back({std::string(method_name(m)), m, "", ""});
        }
    }
    sub.gates = sub.decision.gates;
    sub.user = std::move(user);
    sub.dn = sub.user->dn;
    std::vector<config::method> kinds;
    for (const auto& o : sub.offers) {
        if (!has_method(kinds, o.kind)) {
            kinds.push_back(o.kind);
        }
    }
    sub.real = allowed && kinds.size() >= sub.gates;
    if (allowed && !sub.real) {
        sub.reason = "enrollment.incomplete";
    }
    return sub;
}

result<subject> engine::impl::subject_for_login(const snapshot& s, flow_type type,
                                                std::string_view login) {
    auto found = d.directory->find_user(login);
    subject sub;
    if (!found) {
        if (!found.error().is(ldap::error::ambiguous_user)) {
            return directory_problem(found.error());
        }
        sub.reason = "user.ambiguous";
    } else if (!*found) {
        sub.reason = "user.unknown";
    } else {
        auto real = decide_real(s, type, std::move(**found));
        if (!real) {
            return real.error();
        }
        if (real->real) {
            return real;
        }
        sub = std::move(*real);
    }
    sub.dn = standin_dn(login);
    fill_standin(s, sub, login);
    return sub;
}

result<subject> engine::impl::subject_for_dn(const snapshot& s, flow_type type,
                                             const std::string& dn) {
    subject sub;
    sub.dn = dn;
    if (is_standin(dn)) {
        sub.reason = "standin";
        fill_standin(s, sub, std::nullopt);
        return sub;
    }
    auto found = d.directory->read_user(dn);
    if (!found) {
        return directory_problem(found.error());
    }
    if (!*found) {
        sub.reason = "user.gone";
        fill_standin(s, sub, std::nullopt);
        return sub;
    }
    auto real = decide_real(s, type, std::move(**found));
    if (!real) {
        return real.error();
    }
    // No longer allowed (disabled, moved out of scope, methods removed) since the flow began: the
    // subject is not real any more, so its proofs stop counting and nothing is sent, as for a
    // stand-in; the flow keeps its DN and its offers.
    real->gates = std::max(1U, real->gates);
    return real;
}

// ---- throttles ----------------------------------------------------------------------------------

namespace {

/// Phone numbers are counted in the region delivery/ sends them in, so that both see one number.
policy::throttle_subject with_region(const snapshot& s, policy::throttle_subject who) {
    if (who.phone_region.empty()) {
        who.phone_region = s.cfg->delivery.sms.default_region;
    }
    return who;
}

} // namespace

result<void> engine::impl::throttle(const snapshot& s, policy::throttle_event e,
                                    const policy::throttle_subject& subject, bool count,
                                    audit_note& note, bool check_address) {
    const policy::throttle_subject who = with_region(s, subject);
    const auto t = now();
    const auto ts = store::to_timestamp(t);
    std::vector<policy::throttle_decision> decisions;
    for (const auto* b : s.buckets->checked_before(e)) {
        if (!check_address && (b->key == config::throttle_key::client_ip ||
                               b->key == config::throttle_key::client_net)) {
            continue;
        }
        auto key = policy::derive_key(*b, who, d.hmac_key);
        if (!key) {
            continue; // the request lacks what this bucket counts (no destination yet)
        }
        policy::counter_reading r;
        if (const auto cached = blocks.cached_block(*key, ts)) {
            r.blocked_until = *cached;
        } else {
            auto until = d.store->blocked_until(*key, ts);
            if (!until) {
                return store_problem(until.error());
            }
            if (*until) {
                r.blocked_until = **until;
                blocks.remember_block(*key, **until, ts);
            }
        }
        decisions.push_back(policy::evaluate(*b, r, t));
    }
    // A block in force refuses before anything is counted: a flood against a blocked key costs
    // lookups, not writes.
    if (count && policy::most_restrictive(decisions).allowed()) {
        for (const auto* b : s.buckets->counted_by(e)) {
            auto key = policy::derive_key(*b, who, d.hmac_key);
            if (!key) {
                continue;
            }
            auto r = d.store->increment(
                *key, std::chrono::duration_cast<std::chrono::milliseconds>(b->window), ts);
            if (!r) {
                return store_problem(r.error());
            }
            policy::counter_reading reading{r->count, r->window_end, std::nullopt};
            if (r->blocked_until) {
                reading.blocked_until = *r->blocked_until;
                blocks.remember_block(*key, *r->blocked_until, ts);
            }
            auto decision = policy::evaluate(*b, reading, t);
            if (decision.block_until) {
                const auto until = store::to_timestamp(*decision.block_until);
                if (auto blocked = d.store->block(*key, until); !blocked) {
                    return store_problem(blocked.error());
                }
                blocks.remember_block(*key, until, ts);
            }
            decisions.push_back(std::move(decision));
        }
    }
    const auto verdict = policy::most_restrictive(decisions);
    if (verdict.allowed()) {
        return {};
    }
    note.e.diagnostic = "bucket " + verdict.bucket;
    record(note, "throttled", "throttle." + verdict.bucket);
    return failure{problem::throttled, verdict.retry_after};
}

void engine::impl::count_failure(const snapshot& s, const policy::throttle_subject& subject) {
    const policy::throttle_subject who = with_region(s, subject);
    const auto t = now();
    for (const auto* b : s.buckets->counted_by(policy::throttle_event::proof_failed)) {
        auto key = policy::derive_key(*b, who, d.hmac_key);
        if (!key) {
            continue;
        }
        auto r = d.store->increment(
            *key, std::chrono::duration_cast<std::chrono::milliseconds>(b->window),
            store::to_timestamp(t));
        if (!r) {
            common::log(common::log_level::warning, "flows: failed proof not counted",
                        {{"bucket", b->name}, {"error", r.error().message()}});
            continue;
        }
        policy::counter_reading reading{r->count, r->window_end, std::nullopt};
        if (r->blocked_until) {
            reading.blocked_until = *r->blocked_until;
        }
        if (auto decision = policy::evaluate(*b, reading, t); decision.block_until) {
            const auto until = store::to_timestamp(*decision.block_until);
            if (d.store->block(*key, until)) {
                blocks.remember_block(*key, until, store::to_timestamp(t));
            }
        }
    }
}

void engine::impl::clear_counters(const snapshot& s, const subject& sub, std::string_view flow_id) {
    std::vector<std::string> destinations;
    for (const auto& c : sub.enrollment.emails) {
        destinations.push_back(c.address);
    }
    for (const auto& c : sub.enrollment.phones) {
        destinations.push_back(c.address);
    }
    auto keys = policy::keys_to_clear_on_success(*s.buckets, sub.dn, destinations, flow_id,
                                                 d.hmac_key, s.cfg->delivery.sms.default_region);
    if (!keys) {
        return;
    }
    for (const auto& k : *keys) {
        (void)d.store->reset(k);
        blocks.forget(k);
    }
}

// ---- flows --------------------------------------------------------------------------------------

result<store::flow_record> engine::impl::load_flow(std::string_view token, std::string_view purpose,
                                                   store::flow_kind kind) {
    if (!plausible_token(token)) {
        return failure(problem::flow_not_found);
    }
    auto flow = d.store->get_flow(flow_id_of(purpose, token), store::to_timestamp(now()));
    if (!flow) {
        return store_problem(flow.error());
    }
    if (flow->kind != kind || flow->state == store::flow_state::completed ||
        flow->state == store::flow_state::failed || flow->state == store::flow_state::cancelled) {
        return failure(problem::flow_not_found);
    }
    return std::move(*flow);
}

result<void> engine::impl::take_argon2_slot() {
    if (argon2_running.fetch_add(1) >= d.max_argon2) {
        argon2_running.fetch_sub(1);
        return failure{problem::service_unavailable, std::chrono::seconds(1)};
    }
    return {};
}

void engine::impl::release_argon2_slot() noexcept {
    argon2_running.fetch_sub(1);
}

// ---- delivery -----------------------------------------------------------------------------------

void engine::impl::send_code(const snapshot& s, const subject& sub, const offer& o,
                             common::secret code, std::chrono::seconds lifetime,
                             std::chrono::system_clock::time_point expires_at,
                             const request_context& ctx) {
    delivery::message msg;
    msg.kind = delivery::message_kind::code;
    msg.via = o.kind == config::method::sms ? delivery::channel::sms : delivery::channel::email;
    msg.language = ctx.language;
    msg.destination = o.destination;
    msg.params.code = std::move(code);
    msg.params.code_lifetime = lifetime;
    // The delivery layer measures time on the steady clock; the store's expiry is wall time.
    msg.deadline = d.clock->steady_now() + (expires_at - d.clock->system_now());
    msg.params.organisation = s.cfg->ui.organisation;
    msg.params.display_name = sub.user ? sub.user->display_name : "";
    msg.params.helpdesk = s.cfg->ui.helpdesk_url;
    auto audit = d.audit;
    audit::event e;
    e.request_id = ctx.request_id;
    e.client_ip = ctx.client_ip;
    e.user_dn = sub.dn;
    e.step = "delivery.code";
    e.method = std::string(method_name(o.kind));
    e.hint = o.hint;
    // A transient failure is recorded at once (the code stays queued and is retried until it
    // expires); the completion records the final outcome.
    msg.on_deferred = [audit, observe = d.on_event, e](const delivery::failure& f) {
        audit::event deferred = e;
        deferred.outcome = "failed";
        deferred.reason = "delivery.retrying";
        deferred.diagnostic = f.code.message();
        if (observe) {
            observe(deferred);
        }
        if (audit) {
            audit->record(std::move(deferred));
        }
    };
    auto queued = d.sender->async_send(
        std::move(msg), [audit, observe = d.on_event, e](const delivery::result<void>& r) mutable {
            e.outcome = r ? "ok" : "failed";
            e.reason = r ? "delivery.sent" : "delivery." + r.error().code.message();
            if (observe) {
                observe(e);
            }
            if (audit) {
                audit->record(std::move(e));
            }
        });
    if (!queued) {
        e.outcome = "failed";
        e.reason = "delivery.not_queued";
        e.diagnostic = queued.error().code.message();
        if (d.on_event) {
            d.on_event(e);
        }
        if (audit) {
            audit->record(std::move(e));
        }
    }
}

void engine::impl::notify(const snapshot& s, const subject& sub, delivery::message_kind kind,
                          const request_context& ctx) {
    const auto send = [&](delivery::channel via, const std::string& to, delivery::message_kind k) {
        delivery::message msg;
        msg.kind = k;
        msg.via = via;
        msg.language = ctx.language;
        msg.destination = to;
        msg.params.organisation = s.cfg->ui.organisation;
        msg.params.display_name = sub.user ? sub.user->display_name : "";
        msg.params.account = sub.user ? sub.user->login : "";
        msg.params.helpdesk =
            s.cfg->ui.helpdesk_url.empty() ? s.cfg->ui.helpdesk_email : s.cfg->ui.helpdesk_url;
        msg.params.when = now();
        auto queued = d.sender->async_send(std::move(msg), [](const delivery::result<void>&) {});
        if (!queued) {
            common::log(
                common::log_level::warning, "flows: notice not queued",
                {{"kind", delivery::to_string(k)}, {"error", queued.error().code.message()}});
        }
    };
    if (s.cfg->delivery.smtp.enabled) {
        for (const auto& c : sub.enrollment.emails) {
            if (c.confirmed_at) {
                send(delivery::channel::email, c.address, kind);
            }
        }
    }
    if (s.cfg->delivery.sms.enabled) {
        for (const auto& c : sub.enrollment.phones) {
            if (c.confirmed_at) {
                send(delivery::channel::sms, c.address, kind);
            }
        }
    }
    if (kind == delivery::message_kind::password_changed && sub.decision.admin &&
        s.cfg->delivery.smtp.enabled) {
        for (const auto& to : s.cfg->notifications.admin_recipients) {
            send(delivery::channel::email, to, delivery::message_kind::admin_password_reset);
        }
    }
}

// ---- the public steps ---------------------------------------------------------------------------

engine::engine(dependencies deps) {
    if (deps.config == nullptr || !deps.directory || !deps.store || !deps.sender || !deps.clock ||
        !deps.random) {
        throw std::invalid_argument("flows::engine: a dependency is missing");
    }
    if (deps.max_argon2 == 0) {
        throw std::invalid_argument("flows::engine: max_argon2 must be at least 1");
    }
    impl_ = std::make_unique<impl>(std::move(deps));
    const auto s = impl_->snap(); // throws for rules that cannot be built: before listening
    if (s.cfg->methods.questions.enabled) {
        auto dummy = challenge::hash_answer(impl_->new_token().reveal(), 1,
                                            s.cfg->methods.questions.argon2, *impl_->d.random);
        if (!dummy) {
            throw std::invalid_argument("methods.questions.argon2: " + dummy.error().message());
        }
        impl_->dummy_answer_hash = std::move(*dummy);
    }
}

engine::~engine() = default;

std::chrono::steady_clock::time_point engine::respond_not_before(const request_context& ctx) const {
    const auto s = impl_->snap();
    const auto floor = s.cfg->server.response_floor;
    const auto jitter_ms = s.cfg->server.response_jitter.count();
    const auto jitter = std::chrono::milliseconds(
        jitter_ms > 0 ? static_cast<std::int64_t>(
                            impl_->d.random->uniform(static_cast<std::uint64_t>(jitter_ms) + 1))
                      : 0);
    return ctx.received + floor + jitter;
}

namespace {

store::flow_kind kind_of(flow_type t) {
    return t == flow_type::unlock ? store::flow_kind::unlock : store::flow_kind::reset;
}
std::string_view purpose_of(flow_type t) {
    return t == flow_type::unlock ? "unlock" : "reset";
}

} // namespace

std::optional<failure> engine::address_blocked(const request_context& ctx) {
    auto& m = *impl_;
    if (ctx.client_ip.empty()) {
        return std::nullopt;
    }
    const auto s = m.snap();
    const policy::throttle_subject who{"", ctx.client_ip, "", ""};
    const auto t = m.now();
    const auto ts = store::to_timestamp(t);
    std::vector<policy::throttle_decision> decisions;
    for (const auto* b : s.buckets->checked_before(policy::throttle_event::flow_started)) {
        auto key = policy::derive_key(*b, who, m.d.hmac_key);
        if (!key) {
            continue; // a bucket keyed by the user: decided in start(), after the directory
        }
        if (const auto cached = m.blocks.cached_block(*key, ts)) {
            policy::counter_reading r;
            r.blocked_until = *cached;
            decisions.push_back(policy::evaluate(*b, r, t));
        }
    }
    const auto verdict = policy::most_restrictive(decisions);
    if (verdict.allowed()) {
        return std::nullopt;
    }
    m.early_refusals.fetch_add(1, std::memory_order_relaxed);
    return failure{problem::throttled, verdict.retry_after};
}

std::uint64_t engine::early_refusals() const noexcept {
    return impl_->early_refusals.load(std::memory_order_relaxed);
}

result<start_result> engine::start(flow_type type, const request_context& ctx,
                                   std::string_view username) {
    auto& m = *impl_;
    audit_note note(ctx, std::string(purpose_of(type)) + ".start");
    note.e.username = std::string(username.substr(0, max_login_bytes));
    if (type == flow_type::invalid || username.empty() || username.size() > max_login_bytes ||
        !policy::text::is_valid_utf8(username)) {
        m.record(note, "refused", "request.invalid_username");
        return failure(problem::invalid_request);
    }
    const auto s = m.snap();
    // The address's own limits before the directory is asked anything: a blocked address costs
    // a store read at most, never a search (start() below checks them again, from memory).
    if (auto t = m.throttle(s, policy::throttle_event::flow_started, {"", ctx.client_ip, "", ""},
                            false, note);
        !t) {
        return t.error();
    }
    auto sub = m.subject_for_login(s, type, username);
    if (!sub) {
        m.record(note, "error", "directory.unavailable");
        return sub.error();
    }
    note.e.user_dn = sub->user ? sub->user->dn : "";
    note.e.hint = "";
    if (auto t = m.throttle(s, policy::throttle_event::flow_started,
                            {sub->dn, ctx.client_ip, "", ""}, true, note, false);
        !t) {
        return t.error();
    }
    start_result out;
    out.flow = m.new_token();
    store::flow_record flow;
    flow.id = m.flow_id_of(purpose_of(type), out.flow.reveal());
    flow.user_dn = sub->dn;
    flow.kind = kind_of(type);
    flow.state = store::flow_state::started;
    flow.created_at = store::to_timestamp(m.now());
    flow.expires_at = flow.created_at + flow_lifetime;
    if (auto created = m.d.store->create_flow(flow); !created) {
        m.record(note, "error", "store." + created.error().message());
        return failure{problem::service_unavailable, std::chrono::seconds(2)};
    }
    note.e.flow = flow.id;
    out.gates_required = sub->gates;
    for (const auto& o : sub->offers) {
        out.methods.push_back({o.id, std::string(method_name(o.kind)), o.hint});
    }
    out.respond_not_before = respond_not_before(ctx);
    m.record(note, "ok", sub->real ? "allowed" : sub->reason);
    return out;
}

result<challenge_result> engine::challenge(flow_type type, const request_context& ctx,
                                           std::string_view token, std::string_view method_id) {
    auto& m = *impl_;
    audit_note note(ctx, std::string(purpose_of(type)) + ".challenge");
    auto flow = m.load_flow(token, purpose_of(type), kind_of(type));
    if (!flow) {
        m.record(note, "refused", "flow.not_found");
        return flow.error();
    }
    note.e.flow = flow->id;
    note.e.user_dn = flow->user_dn;
    const auto s = m.snap();
    auto sub = m.subject_for_dn(s, type, flow->user_dn);
    if (!sub) {
        m.record(note, "error", "directory.unavailable");
        return sub.error();
    }
    const auto o = std::find_if(sub->offers.begin(), sub->offers.end(),
                                [&](const offer& x) { return x.id == method_id; });
    if (o == sub->offers.end()) {
        m.record(note, "refused", "method.not_available");
        return failure(problem::method_not_available);
    }
    note.e.method = std::string(method_name(o->kind));
    note.e.hint = o->hint;
    if (has_method(flow->methods_used, o->kind)) {
        m.record(note, "refused", "method.already_used");
        return failure(problem::method_already_used);
    }
    const bool code_method = o->kind == config::method::email || o->kind == config::method::sms;
    const auto event = o->kind == config::method::email ? policy::throttle_event::email_sent
                       : o->kind == config::method::sms
                           ? policy::throttle_event::sms_sent
                           : policy::throttle_event::validation_attempted;
    if (auto t = m.throttle(s, event, {sub->dn, ctx.client_ip, o->destination, flow->id},
                            code_method, note);
        !t) {
        return t.error();
    }
    challenge_result out;
    const auto t = m.now();
    if (code_method) {
        const auto& cfg =
            o->kind == config::method::email ? s.cfg->methods.email : s.cfg->methods.sms;
        auto issued = m.issuer.issue({sub->dn, flow->id, o->kind, o->destination}, cfg, t);
        if (!issued) {
            m.record(note, "error", "challenge." + issued.error().message());
            return failure(problem::internal_error);
        }
        if (auto put = m.d.store->put_code(to_store(flow->id, o->kind, issued->record)); !put) {
            m.record(note, "error", "store." + put.error().message());
            return store_problem(put.error());
        }
        if (sub->real) {
            m.send_code(s, *sub, *o, std::move(issued->code), cfg.lifetime,
                        issued->record.expires_at, ctx);
        }
        out.code_sent = true;
    } else if (o->kind == config::method::questions) {
        const auto& qcfg = s.cfg->methods.questions;
        std::vector<std::string> ids;
        if (sub->real) {
            for (const auto& q : sub->enrollment.questions) {
                ids.push_back(q.id);
            }
        } else {
            // A stand-in "registered" register_count questions of the pool, chosen by its hash.
            std::vector<std::string> pool;
            for (const auto& q : qcfg.pool) {
                pool.push_back(q.id);
            }
            const std::string h = m.hmac_hex("questions\x1f" + sub->dn);
            std::rotate(
                pool.begin(),
                pool.begin() +
                    static_cast<std::ptrdiff_t>(
                        pool.empty() ? 0 : std::stoul(h.substr(0, 6), nullptr, 16) % pool.size()),
                pool.end());
            pool.resize(std::min<std::size_t>(pool.size(),
                                              std::max(qcfg.register_count, qcfg.answer_count)));
            ids = std::move(pool);
        }
        auto drawn = challenge::draw_questions(ids, qcfg.answer_count, *m.d.random);
        if (!drawn) {
            m.record(note, "error", "challenge." + drawn.error().message());
            return failure(problem::internal_error);
        }
        store::code_record pending;
        pending.flow_id = flow->id;
        pending.method = config::method::questions;
        pending.binding_hash = "questions";
        for (const auto& id : *drawn) {
            pending.code_hash += (pending.code_hash.empty() ? "" : "\x1f") + id;
        }
        pending.expires_at = flow->expires_at;
        pending.tries_left = 1;
        if (auto put = m.d.store->put_code(pending); !put) {
            m.record(note, "error", "store." + put.error().message());
            return store_problem(put.error());
        }
        for (const auto& id : *drawn) {
            for (const auto& q : qcfg.pool) {
                if (q.id != id) {
                    continue;
                }
                auto text = q.text.find(ctx.language);
                if (text == q.text.end()) {
                    text = q.text.find(s.cfg->ui.default_language);
                }
                out.questions.push_back({id, text == q.text.end() ? id : text->second});
            }
        }
    }
    if (flow->state == store::flow_state::started) {
        auto next = *flow;
        next.state = store::flow_state::challenged;
        (void)m.d.store->update_flow(next); // a concurrent step changed it: nothing lost
    }
    m.record(note, "ok", sub->real ? "allowed" : sub->reason);
    return out;
}

result<verify_result> engine::verify(flow_type type, const request_context& ctx,
                                     std::string_view token, std::string_view method_id,
                                     const proof& p) {
    auto& m = *impl_;
    audit_note note(ctx, std::string(purpose_of(type)) + ".verify");
    auto flow = m.load_flow(token, purpose_of(type), kind_of(type));
    if (!flow) {
        m.record(note, "refused", "flow.not_found");
        return flow.error();
    }
    note.e.flow = flow->id;
    note.e.user_dn = flow->user_dn;
    const auto s = m.snap();
    auto sub = m.subject_for_dn(s, type, flow->user_dn);
    if (!sub) {
        m.record(note, "error", "directory.unavailable");
        return sub.error();
    }
    const auto o = std::find_if(sub->offers.begin(), sub->offers.end(),
                                [&](const offer& x) { return x.id == method_id; });
    if (o == sub->offers.end()) {
        m.record(note, "refused", "method.not_available");
        return failure(problem::method_not_available);
    }
    note.e.method = std::string(method_name(o->kind));
    note.e.hint = o->hint;
    if (has_method(flow->methods_used, o->kind) || flow->gates_passed >= sub->gates) {
        m.record(note, "refused", "method.already_used");
        return failure(problem::method_already_used);
    }
    const policy::throttle_subject who{sub->dn, ctx.client_ip, o->destination, flow->id};
    if (auto t = m.throttle(s, policy::throttle_event::validation_attempted, who, true, note); !t) {
        return t.error();
    }
    const auto t = m.now();
    bool passed = false;
    std::string why = "proof.wrong";
    switch (o->kind) {
    case config::method::email:
    case config::method::sms: {
        auto row = m.d.store->take_try(flow->id, o->kind, store::to_timestamp(t));
        if (!row) {
            if (row.error() == store::error::not_found) {
                m.record(note, "refused", "challenge.required");
                return failure(problem::challenge_required);
            }
            if (row.error() != store::error::expired &&
                row.error() != store::error::no_tries_left) {
                m.record(note, "error", "store." + row.error().message());
                return store_problem(row.error());
            }
            why = "code." + row.error().message();
            break;
        }
        auto record = from_store(*row);
        if (!record) {
            why = "code.corrupt";
            break;
        }
        const auto status = m.issuer.compare(*record, {sub->dn, flow->id, o->kind, o->destination},
                                             p.code.reveal());
        passed = status == challenge::code_status::ok && sub->real;
        if (status == challenge::code_status::ok) {
            (void)m.d.store->delete_code(flow->id, o->kind);
        }
        break;
    }
    case config::method::totp: {
        auto params = challenge::make_totp_params(s.cfg->methods.totp);
        if (!params) {
            m.record(note, "error", "config.totp");
            return failure(problem::internal_error);
        }
        if (sub->real && sub->enrollment.totp && sub->enrollment.totp->confirmed) {
            const auto& totp = *sub->enrollment.totp;
            std::optional<std::uint64_t> last;
            if (totp.last_used_step >= 0) {
                last = static_cast<std::uint64_t>(totp.last_used_step);
            }
            const auto v = challenge::verify_totp(totp.secret, p.code.reveal(), t, last, *params);
            if (v.status == challenge::totp_status::ok) {
                auto fresh = m.d.store->use_totp_step(sub->dn, static_cast<std::int64_t>(v.step));
                if (!fresh) {
                    m.record(note, "error", "store." + fresh.error().message());
                    return store_problem(fresh.error());
                }
                passed = *fresh;
                why = passed ? "" : "totp.replay";
            } else if (v.status == challenge::totp_status::replay) {
                why = "totp.replay";
            }
        } else {
            // The same work as a real check, against a key nobody has.
            const common::secret nobody(m.hmac_hex("totp\x1f" + sub->dn));
            (void)challenge::verify_totp(nobody, p.code.reveal(), t, std::nullopt, *params);
        }
        break;
    }
    case config::method::questions: {
        auto pending =
            m.d.store->get_code(flow->id, config::method::questions, store::to_timestamp(t));
        if (!pending) {
            if (pending.error() == store::error::not_found ||
                pending.error() == store::error::expired) {
                m.record(note, "refused", "challenge.required");
                return failure(problem::challenge_required);
            }
            return store_problem(pending.error());
        }
        std::vector<std::string> asked;
        for (std::size_t pos = 0; pos <= pending->code_hash.size();) {
            const auto end =
                std::min(pending->code_hash.find('\x1f', pos), pending->code_hash.size());
            asked.push_back(pending->code_hash.substr(pos, end - pos));
            pos = end + 1;
        }
        // Whatever happens now, this draw is spent: a new challenge draws again.
        (void)m.d.store->delete_code(flow->id, config::method::questions);
        if (p.answers.size() != asked.size()) {
            why = "answers.count";
            break;
        }
        if (auto slot = m.take_argon2_slot(); !slot) {
            m.record(note, "refused", "argon2.busy");
            return slot.error();
        }
        bool all = sub->real;
        for (const auto& id : asked) {
            const auto given = std::find_if(p.answers.begin(), p.answers.end(),
                                            [&](const answer& a) { return a.id == id; });
            std::string_view encoded = m.dummy_answer_hash;
            if (sub->real) {
                const auto stored =
                    std::find_if(sub->enrollment.questions.begin(), sub->enrollment.questions.end(),
                                 [&](const store::question_answer& q) { return q.id == id; });
                if (stored != sub->enrollment.questions.end()) {
                    encoded = stored->answer_hash;
                } else {
                    all = false;
                }
            }
            const auto ok = challenge::verify_answer(
                encoded, given == p.answers.end() ? std::string_view{} : given->text.reveal());
            all = all && given != p.answers.end() && ok && *ok;
        }
        m.release_argon2_slot();
        passed = all;
        break;
    }
    case config::method::invalid:
        break;
    }
    if (!passed) {
        m.count_failure(s, who);
        m.record(note, "refused", sub->real ? why : sub->reason);
        return failure(problem::proof_invalid);
    }
    auto next = *flow;
    next.gates_passed += 1;
    next.methods_used.push_back(o->kind);
    next.state = next.gates_passed >= sub->gates ? store::flow_state::verified
                                                 : store::flow_state::challenged;
    if (auto updated = m.d.store->update_flow(next); !updated) {
        m.record(note, "error", "store." + updated.error().message());
        // conflict: a concurrent step of the same flow won; the client retries from its state.
        return updated.error() == store::error::conflict ? failure(problem::method_already_used)
                                                         : store_problem(updated.error());
    }
    m.record(note, "ok", "gate.passed");
    return verify_result{next.gates_passed, sub->gates};
}

namespace {

/// A password that is right even though the directory refuses the bind for it (must change,
/// expired): the user proved knowledge of it.
bool password_right(const ldap::result<void>& bound) {
    return bound || bound.error().is(ldap::error::must_change_password) ||
           bound.error().is(ldap::error::password_expired);
}

/// After these the directory may or may not have applied the write: no answer in time, the
/// connection gone, or a write it took but a check after it that did not see it.
bool outcome_unknown_after(const ldap::failure& f) {
    return f.is(ldap::error::timeout) || f.is(ldap::error::server_down) ||
           f.is(ldap::error::not_verified);
}

/// The flow, claimed for completion: its version moves on, so a second completion racing this
/// one loses its compare-and-set and cannot write the directory a second time. A reset's claim
/// also says that the directory may be written (completing), so that an outcome lost to a
/// timeout or a crash is asked about before the next attempt.
/// Records the refusal (lost to another request) or the store's error in `note`.
result<store::flow_record> claim(engine::impl& m, audit_note& note, store::flow_record flow,
                                 store::flow_state state) {
    flow.state = state;
    auto claimed = m.d.store->update_flow(flow);
    if (!claimed) {
        if (claimed.error() == store::error::conflict) {
            m.record(note, "refused", "flow.claimed");
            return failure(problem::flow_not_found);
        }
        m.record(note, "error", "store." + claimed.error().message());
        return store_problem(claimed.error());
    }
    return std::move(*claimed);
}

} // namespace

result<void> engine::complete_reset(const request_context& ctx, std::string_view token,
                                    const common::secret& new_password) {
    auto& m = *impl_;
    audit_note note(ctx, "reset.complete");
    auto flow = m.load_flow(token, "reset", store::flow_kind::reset);
    if (!flow) {
        m.record(note, "refused", "flow.not_found");
        return flow.error();
    }
    note.e.flow = flow->id;
    note.e.user_dn = flow->user_dn;
    const auto s = m.snap();
    auto sub = m.subject_for_dn(s, flow_type::reset, flow->user_dn);
    if (!sub) {
        m.record(note, "error", "directory.unavailable");
        return sub.error();
    }
    const bool outcome_unknown = flow->state == store::flow_state::completing;
    if (!sub->real || (flow->state != store::flow_state::verified && !outcome_unknown) ||
        flow->gates_passed < sub->gates) {
        m.record(note, "refused", sub->real ? "gates.missing" : sub->reason);
        return failure(problem::gates_missing);
    }
    policy::password_context pctx{sub->user->login, sub->user->display_name};
    if (auto failed = s.checker->check(new_password.reveal(), pctx); !failed.empty()) {
        m.record(note, "refused", std::string(failed.front().message_key));
        return rule_problem(failed.front());
    }
    auto claimed = claim(m, note, *flow, store::flow_state::completing);
    if (!claimed) {
        return claimed.error();
    }
    // An earlier attempt of this flow may have set this very password (its answer was lost): then
    // the directory refuses it as the current one, and the user would be told so. One bind asks
    // first; only after such an attempt, so that failed binds never pile up on the account.
    const bool already_held =
        outcome_unknown &&
        password_right(m.d.directory->verify_password(sub->dn, new_password.reveal()));
    ldap::reset_options options;
    options.unlock = sub->decision.unlock_allowed;
    options.must_change = s.cfg->directory.must_change_after_reset;
    if (already_held) {
        note.e.diagnostic = "an earlier attempt of this flow had set the password";
    } else if (auto done = m.d.directory->reset_password(sub->dn, new_password.reveal(), options);
               !done) {
        note.e.diagnostic = done.error().diagnostic;
        m.record(note, "refused", "ldap." + done.error().code.message());
        if (!outcome_unknown_after(done.error())) {
            // The directory answered no: nothing changed, the flow stays usable.
            auto usable = *claimed;
            usable.state = store::flow_state::verified;
            (void)m.d.store->update_flow(usable);
        }
        return directory_problem(done.error());
    }
    auto finished = *claimed;
    finished.state = store::flow_state::completed;
    if (auto written = m.d.store->update_flow(finished); !written) {
        // The directory holds the new password: that is what the user is told. The flow expires
        // on its own; a replay within its lifetime needs the same proofs again (claim above).
        common::log(common::log_level::warning, "flows: completed flow not marked",
                    {{"error", written.error().message()}});
    }
    m.clear_counters(s, *sub, flow->id);
    if (s.cfg->notifications.on_reset) {
        m.notify(s, *sub, delivery::message_kind::password_changed, ctx);
    }
    m.record(note, "ok", "password.reset");
    return {};
}

result<void> engine::complete_unlock(const request_context& ctx, std::string_view token) {
    auto& m = *impl_;
    audit_note note(ctx, "unlock.complete");
    auto flow = m.load_flow(token, "unlock", store::flow_kind::unlock);
    if (!flow) {
        m.record(note, "refused", "flow.not_found");
        return flow.error();
    }
    note.e.flow = flow->id;
    note.e.user_dn = flow->user_dn;
    const auto s = m.snap();
    auto sub = m.subject_for_dn(s, flow_type::unlock, flow->user_dn);
    if (!sub) {
        m.record(note, "error", "directory.unavailable");
        return sub.error();
    }
    if (!sub->real || flow->state != store::flow_state::verified ||
        flow->gates_passed < sub->gates) {
        m.record(note, "refused", sub->real ? "gates.missing" : sub->reason);
        return failure(problem::gates_missing);
    }
    auto claimed = claim(m, note, *flow, store::flow_state::verified);
    if (!claimed) {
        return claimed.error();
    }
    if (auto done = m.d.directory->unlock(sub->dn); !done) {
        note.e.diagnostic = done.error().diagnostic;
        m.record(note, "refused", "ldap." + done.error().code.message());
        return directory_problem(done.error());
    }
    auto finished = *claimed;
    finished.state = store::flow_state::completed;
    (void)m.d.store->update_flow(finished);
    m.clear_counters(s, *sub, flow->id);
    if (s.cfg->notifications.on_unlock) {
        m.notify(s, *sub, delivery::message_kind::account_unlocked, ctx);
    }
    m.record(note, "ok", "account.unlocked");
    return {};
}

namespace {} // namespace

result<subject> engine::impl::sign_in(const snapshot& s, const request_context& ctx,
                                      std::string_view username, const common::secret& password,
                                      audit_note& note) {
    auto found = d.directory->find_user(username);
    if (!found && !found.error().is(ldap::error::ambiguous_user)) {
        record(note, "error", "directory.unavailable");
        return directory_problem(found.error());
    }
    const bool exists = found && *found;
    const std::string dn = exists ? (*found)->dn : standin_dn(username);
    note.e.user_dn = exists ? dn : "";
    const policy::throttle_subject who{dn, ctx.client_ip, "", ""};
    if (auto t = throttle(s, policy::throttle_event::flow_started, who, true, note); !t) {
        return t.error();
    }
    if (!exists) {
        // Nobody to bind as: counted and answered like a wrong password.
        count_failure(s, who);
        record(note, "refused", "user.unknown");
        return failure(problem::credentials_invalid);
    }
    if (auto bound = d.directory->verify_password(dn, password.reveal()); !password_right(bound)) {
        if (!bound.error().is(ldap::error::invalid_credentials) &&
            !bound.error().is(ldap::error::account_locked) &&
            !bound.error().is(ldap::error::account_disabled) &&
            !bound.error().is(ldap::error::account_expired)) {
            record(note, "error", "ldap." + bound.error().code.message());
            return directory_problem(bound.error());
        }
        count_failure(s, who);
        record(note, "refused", "ldap." + bound.error().code.message());
        return failure(problem::credentials_invalid);
    }
    auto sub = decide_real(s, flow_type::reset, **found);
    if (!sub) {
        record(note, "error", "directory.unavailable");
        return sub.error();
    }
    sub->dn = dn;
    return sub;
}

result<void> engine::change_password(const request_context& ctx, std::string_view username,
                                     const common::secret& current_password,
                                     const common::secret& new_password) {
    auto& m = *impl_;
    audit_note note(ctx, "change.complete");
    note.e.username = std::string(username.substr(0, max_login_bytes));
    if (username.empty() || username.size() > max_login_bytes ||
        !policy::text::is_valid_utf8(username) || current_password.empty()) {
        m.record(note, "refused", "request.invalid");
        return failure(problem::credentials_invalid);
    }
    const auto s = m.snap();
    auto sub = m.sign_in(s, ctx, username, current_password, note);
    if (!sub) {
        return sub.error();
    }
    const std::string& dn = sub->dn;
    if (!sub->decision.change_allowed) {
        m.record(note, "refused", std::string(policy::to_string(sub->decision.change_reason)));
        return failure(problem::action_not_allowed);
    }
    policy::password_context pctx{sub->user->login, sub->user->display_name};
    if (auto failed = s.checker->check(new_password.reveal(), pctx); !failed.empty()) {
        m.record(note, "refused", std::string(failed.front().message_key));
        return rule_problem(failed.front());
    }
    if (auto done =
            m.d.directory->change_password(dn, current_password.reveal(), new_password.reveal());
        !done) {
        note.e.diagnostic = done.error().diagnostic;
        m.record(note, "refused", "ldap." + done.error().code.message());
        return directory_problem(done.error());
    }
    if (s.cfg->notifications.on_change) {
        m.notify(s, *sub, delivery::message_kind::password_changed, ctx);
    }
    m.record(note, "ok", "password.changed");
    return {};
}

health engine::check_health() {
    health h;
    h.directory_ok = static_cast<bool>(impl_->d.directory->find_user("ssprd-readiness-probe"));
    // A write, not a read: a full disk or a read-only file system still answers reads while
    // every flow step (which writes) fails. Throttle keys are derived hex, so this one is apart.
    auto probe = impl_->d.store->increment("ssprd-readiness-probe", std::chrono::seconds(10),
                                           store::to_timestamp(impl_->now()));
    h.store_ok = probe.has_value();
    h.store_full = !probe && probe.error() == store::error::disk_full;
    return h;
}

std::size_t engine::purge_expired() {
    auto purged = impl_->d.store->purge_expired(store::to_timestamp(impl_->now()), 1000);
    return purged ? *purged : 0;
}

} // namespace sspr::flows
