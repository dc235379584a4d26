// Enrollment: after signing in with the current password, a user registers and confirms contact
// addresses, an authenticator and security answers, and removes them. The session is a flow of
// kind enroll (state verified from the start: the password was the proof), named by the hash of
// a bearer token, 15 minutes long.
#include "flows/engine_impl.hpp"

#include "challenge/hints.hpp"
#include "challenge/questions.hpp"
#include "challenge/totp.hpp"
#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "flows/adapters.hpp"
#include "flows/methods.hpp"
#include "policy/text.hpp"

#include <algorithm>
#include <set>

namespace sspr::flows {

namespace {

constexpr auto session_lifetime = std::chrono::minutes(15);
constexpr std::size_t max_login_bytes = 256;
/// More contacts of one kind than anyone needs; a bound on what one user can make the store keep.
constexpr std::size_t max_contacts = 5;

bool allowed(const subject& sub, config::method m) {
    const auto& a = sub.decision.allowed_methods;
    return std::find(a.begin(), a.end(), m) != a.end();
}

result<config::method> contact_kind(std::string_view kind) {
    if (kind == "email") {
        return config::method::email;
    }
    if (kind == "sms") {
        return config::method::sms;
    }
    return failure(problem::invalid_request);
}

} // namespace

result<subject> engine::impl::session_subject(const snapshot& s, std::string_view token,
                                              store::flow_record& flow) {
    auto f = load_flow(token, "enroll", store::flow_kind::enroll);
    if (!f) {
        return f.error().problem == problem::flow_not_found ? failure(problem::session_invalid)
                                                            : f.error();
    }
    if (f->state != store::flow_state::verified) {
        return failure(problem::session_invalid);
    }
    flow = std::move(*f);
    auto found = d.directory->read_user(flow.user_dn);
    if (!found) {
        return directory_problem(found.error());
    }
    if (!*found) {
        return failure(problem::session_invalid);
    }
    auto sub = decide_real(s, flow_type::reset, std::move(**found));
    if (!sub) {
        return sub.error();
    }
    if (!sub->decision.in_scope) {
        return failure(problem::action_not_allowed);
    }
    return sub;
}

result<session_result> engine::enroll_session(const request_context& ctx, std::string_view username,
                                              const common::secret& password) {
    auto& m = *impl_;
    audit_note note(ctx, "enroll.session");
    note.e.username = std::string(username.substr(0, max_login_bytes));
    if (username.empty() || username.size() > max_login_bytes ||
        !policy::text::is_valid_utf8(username) || password.empty()) {
        m.record(note, "refused", "request.invalid");
        return failure(problem::credentials_invalid);
    }
    const auto s = m.snap();
    auto sub = m.sign_in(s, ctx, username, password, note);
    if (!sub) {
        return sub.error();
    }
    const std::string& dn = sub->dn;
    if (!sub->decision.in_scope) {
        m.record(note, "refused", std::string(policy::to_string(sub->decision.reason)));
        return failure(problem::action_not_allowed);
    }
    session_result out;
    out.token = m.new_token();
    out.expires_in = session_lifetime;
    store::flow_record flow;
    flow.id = m.flow_id_of("enroll", out.token.reveal());
    flow.user_dn = dn;
    flow.kind = store::flow_kind::enroll;
    flow.state = store::flow_state::verified;
    flow.created_at = store::to_timestamp(m.now());
    flow.expires_at = flow.created_at + session_lifetime;
    if (auto created = m.d.store->create_flow(flow); !created) {
        m.record(note, "error", "store." + created.error().message());
        return failure{problem::service_unavailable, std::chrono::seconds(2)};
    }
    note.e.flow = flow.id;
    m.record(note, "ok", "session.opened");
    return out;
}

result<methods_view> engine::enroll_methods(const request_context& ctx, std::string_view token) {
    auto& m = *impl_;
    const auto s = m.snap();
    store::flow_record flow;
    auto sub = m.session_subject(s, token, flow);
    if (!sub) {
        return sub.error();
    }
    (void)ctx;
    methods_view out;
    out.methods = describe_methods(sub->enrollment, s.cfg->enrollment.reconfirm_after, m.now());
    for (const auto k : sub->decision.allowed_methods) {
        out.allowed.emplace_back(method_name(k));
    }
    out.required = std::max(s.cfg->enrollment.required_methods, sub->decision.gates);
    out.complete = sub->decision.enrollment_complete;
    return out;
}

result<void> engine::enroll_contact(const request_context& ctx, std::string_view token,
                                    std::string_view kind_name, std::string_view address) {
    auto& m = *impl_;
    audit_note note(ctx, "enroll.contact");
    auto kind = contact_kind(kind_name);
    if (!kind) {
        return kind.error();
    }
    note.e.method = std::string(method_name(*kind));
    const auto s = m.snap();
    store::flow_record flow;
    auto sub = m.session_subject(s, token, flow);
    if (!sub) {
        m.record(note, "refused", std::string(to_string(sub.error().problem)));
        return sub.error();
    }
    note.e.flow = flow.id;
    note.e.user_dn = sub->dn;
    if (!allowed(*sub, *kind)) {
        m.record(note, "refused", "method.not_permitted");
        return failure(problem::method_not_permitted);
    }
    const bool channel_on =
        *kind == config::method::email ? s.cfg->delivery.smtp.enabled : s.cfg->delivery.sms.enabled;
    auto hint = *kind == config::method::email ? challenge::mask_email(address)
                                               : challenge::mask_phone(address);
    if (!hint || !channel_on || address.size() > 254 || !policy::text::is_valid_utf8(address)) {
        m.record(note, "refused", "address.invalid");
        return failure(problem::address_invalid);
    }
    note.e.hint = *hint;
    const auto event = *kind == config::method::email ? policy::throttle_event::email_sent
                                                      : policy::throttle_event::sms_sent;
    if (auto t = m.throttle(s, event, {sub->dn, ctx.client_ip, std::string(address), flow.id}, true,
                            note);
        !t) {
        return t.error();
    }
    const auto& cfg = *kind == config::method::email ? s.cfg->methods.email : s.cfg->methods.sms;
    auto issued = m.issuer.issue({sub->dn, flow.id, *kind, std::string(address)}, cfg, m.now());
    if (!issued) {
        m.record(note, "error", "challenge." + issued.error().message());
        return failure(problem::internal_error);
    }
    if (auto put = m.d.store->put_code(to_store(flow.id, *kind, issued->record)); !put) {
        m.record(note, "error", "store." + put.error().message());
        return store_problem(put.error());
    }
    const offer o{"", *kind, std::string(address), *hint};
    m.send_code(s, *sub, o, std::move(issued->code), cfg.lifetime, issued->record.expires_at, ctx);
    m.record(note, "ok", "code.sent");
    return {};
}

namespace {

/// Writes the enrollment back, or creates it: one compare-and-set.
result<void> put(engine::impl& m, const store::enrollment& e) {
    auto written = m.d.store->put_enrollment(e, store::to_timestamp(m.now()));
    if (!written) {
        return written.error() == store::error::conflict
                   ? failure{problem::service_unavailable, std::chrono::seconds(1)}
                   : store_problem(written.error());
    }
    return {};
}

} // namespace

result<void> engine::enroll_contact_verify(const request_context& ctx, std::string_view token,
                                           std::string_view kind_name, std::string_view address,
                                           const common::secret& code) {
    auto& m = *impl_;
    audit_note note(ctx, "enroll.contact_verify");
    auto kind = contact_kind(kind_name);
    if (!kind) {
        return kind.error();
    }
    note.e.method = std::string(method_name(*kind));
    const auto s = m.snap();
    store::flow_record flow;
    auto sub = m.session_subject(s, token, flow);
    if (!sub) {
        m.record(note, "refused", std::string(to_string(sub.error().problem)));
        return sub.error();
    }
    note.e.flow = flow.id;
    note.e.user_dn = sub->dn;
    const policy::throttle_subject who{sub->dn, ctx.client_ip, std::string(address), flow.id};
    if (auto t = m.throttle(s, policy::throttle_event::validation_attempted, who, true, note); !t) {
        return t.error();
    }
    const auto t = m.now();
    auto row = m.d.store->take_try(flow.id, *kind, store::to_timestamp(t));
    if (!row) {
        if (row.error() == store::error::not_found) {
            m.record(note, "refused", "challenge.required");
            return failure(problem::challenge_required);
        }
        if (row.error() != store::error::expired && row.error() != store::error::no_tries_left) {
            return store_problem(row.error());
        }
        m.count_failure(s, who);
        m.record(note, "refused", "code." + row.error().message());
        return failure(problem::proof_invalid);
    }
    auto record = from_store(*row);
    const auto status =
        record ? m.issuer.compare(*record, {sub->dn, flow.id, *kind, std::string(address)},
                                  code.reveal())
               : challenge::code_status::wrong;
    if (status != challenge::code_status::ok) {
        m.count_failure(s, who);
        m.record(note, "refused", "proof.wrong");
        return failure(problem::proof_invalid);
    }
    (void)m.d.store->delete_code(flow.id, *kind);
    auto e = sub->enrollment;
    auto& contacts = *kind == config::method::email ? e.emails : e.phones;
    const auto existing =
        std::find_if(contacts.begin(), contacts.end(),
                     [&](const store::contact& c) { return c.address == address; });
    const bool added = existing == contacts.end();
    if (added) {
        if (contacts.size() >= max_contacts) {
            m.record(note, "refused", "contacts.too_many");
            return failure(problem::address_invalid);
        }
        contacts.push_back({std::string(address), store::to_timestamp(t)});
    } else {
        existing->confirmed_at = store::to_timestamp(t); // confirmed again
    }
    if (auto w = put(m, e); !w) {
        m.record(note, "error", "store.write");
        return w.error();
    }
    if (added && s.cfg->notifications.on_enrollment_change) {
        // Told on the addresses registered before, so a stranger's addition does not go unseen.
        subject told = *sub;
        auto masked = *kind == config::method::email ? challenge::mask_email(address)
                                                     : challenge::mask_phone(address);
        for (const auto& c : told.enrollment.emails) {
            if (!c.confirmed_at || !s.cfg->delivery.smtp.enabled) {
                continue;
            }
            delivery::message msg;
            msg.kind = delivery::message_kind::contact_added;
            msg.via = delivery::channel::email;
            msg.language = ctx.language;
            msg.destination = c.address;
            msg.params.organisation = s.cfg->ui.organisation;
            msg.params.display_name = told.user ? told.user->display_name : "";
            msg.params.contact = masked ? *masked : "";
            msg.params.helpdesk = s.cfg->ui.helpdesk_url;
            (void)m.d.sender->async_send(std::move(msg), [](const delivery::result<void>&) {});
        }
    }
    m.record(note, "ok", added ? "contact.added" : "contact.reconfirmed");
    return {};
}

result<totp_offer_result> engine::enroll_totp(const request_context& ctx, std::string_view token) {
    auto& m = *impl_;
    audit_note note(ctx, "enroll.totp");
    note.e.method = "totp";
    const auto s = m.snap();
    store::flow_record flow;
    auto sub = m.session_subject(s, token, flow);
    if (!sub) {
        m.record(note, "refused", std::string(to_string(sub.error().problem)));
        return sub.error();
    }
    note.e.flow = flow.id;
    note.e.user_dn = sub->dn;
    if (!allowed(*sub, config::method::totp)) {
        m.record(note, "refused", "method.not_permitted");
        return failure(problem::method_not_permitted);
    }
    auto params = challenge::make_totp_params(s.cfg->methods.totp);
    if (!params) {
        return failure(problem::internal_error);
    }
    const std::string account = sub->user->login.empty() ? sub->dn : sub->user->login;
    auto offered =
        challenge::begin_totp_enrollment(s.cfg->methods.totp.issuer, account, *params, *m.d.random);
    if (!offered) {
        m.record(note, "error", "challenge." + offered.error().message());
        return failure(problem::internal_error);
    }
    auto e = sub->enrollment;
    store::totp_enrollment pending;
    pending.secret = offered->enrollment.secret;
    pending.confirmed = false;
    pending.last_used_step = e.totp ? e.totp->last_used_step : -1;
    e.totp = std::move(pending);
    if (auto w = put(m, e); !w) {
        m.record(note, "error", "store.write");
        return w.error();
    }
    m.record(note, "ok", "totp.offered");
    return totp_offer_result{std::move(offered->uri), std::move(offered->qr_svg)};
}

result<void> engine::enroll_totp_verify(const request_context& ctx, std::string_view token,
                                        const common::secret& code) {
    auto& m = *impl_;
    audit_note note(ctx, "enroll.totp_verify");
    note.e.method = "totp";
    const auto s = m.snap();
    store::flow_record flow;
    auto sub = m.session_subject(s, token, flow);
    if (!sub) {
        m.record(note, "refused", std::string(to_string(sub.error().problem)));
        return sub.error();
    }
    note.e.flow = flow.id;
    note.e.user_dn = sub->dn;
    auto e = sub->enrollment;
    if (!e.totp || e.totp->confirmed) {
        m.record(note, "refused", "totp.not_pending");
        return failure(problem::totp_not_pending);
    }
    const policy::throttle_subject who{sub->dn, ctx.client_ip, "", flow.id};
    if (auto t = m.throttle(s, policy::throttle_event::validation_attempted, who, true, note); !t) {
        return t.error();
    }
    auto params = challenge::make_totp_params(s.cfg->methods.totp);
    if (!params) {
        return failure(problem::internal_error);
    }
    auto enrollment = to_challenge(*e.totp);
    if (challenge::confirm_totp_enrollment(enrollment, code.reveal(), m.now(), *params) !=
        challenge::totp_status::ok) {
        m.count_failure(s, who);
        m.record(note, "refused", "proof.wrong");
        return failure(problem::proof_invalid);
    }
    e.totp->confirmed = true;
    e.totp->confirmed_at = store::to_timestamp(m.now());
    if (enrollment.last_used_step) {
        e.totp->last_used_step = static_cast<std::int64_t>(*enrollment.last_used_step);
    }
    if (auto w = put(m, e); !w) {
        m.record(note, "error", "store.write");
        return w.error();
    }
    m.record(note, "ok", "totp.confirmed");
    return {};
}

result<std::vector<question_prompt>> engine::enroll_questions(const request_context& ctx,
                                                              std::string_view token) {
    auto& m = *impl_;
    const auto s = m.snap();
    store::flow_record flow;
    auto sub = m.session_subject(s, token, flow);
    if (!sub) {
        return sub.error();
    }
    if (!allowed(*sub, config::method::questions)) {
        return failure(problem::method_not_permitted);
    }
    std::vector<question_prompt> out;
    for (const auto& q : s.cfg->methods.questions.pool) {
        auto text = q.text.find(ctx.language);
        if (text == q.text.end()) {
            text = q.text.find(s.cfg->ui.default_language);
        }
        out.push_back({q.id, text == q.text.end() ? q.id : text->second});
    }
    return out;
}

result<void> engine::enroll_put_questions(const request_context& ctx, std::string_view token,
                                          const std::vector<answer>& answers) {
    auto& m = *impl_;
    audit_note note(ctx, "enroll.questions");
    note.e.method = "questions";
    const auto s = m.snap();
    store::flow_record flow;
    auto sub = m.session_subject(s, token, flow);
    if (!sub) {
        m.record(note, "refused", std::string(to_string(sub.error().problem)));
        return sub.error();
    }
    note.e.flow = flow.id;
    note.e.user_dn = sub->dn;
    if (!allowed(*sub, config::method::questions)) {
        m.record(note, "refused", "method.not_permitted");
        return failure(problem::method_not_permitted);
    }
    const auto& qcfg = s.cfg->methods.questions;
    if (answers.size() != qcfg.register_count) {
        m.record(note, "refused", "answers.count");
        return failure(problem::answers_invalid);
    }
    std::set<std::string> ids;
    std::vector<common::secret> normalised; // secrets: wiped when they go
    for (const auto& a : answers) {
        const bool in_pool = std::any_of(qcfg.pool.begin(), qcfg.pool.end(),
                                         [&](const config::question& q) { return q.id == a.id; });
        auto norm = challenge::normalise_answer(a.text.reveal());
        // The same answer to two questions is one answer (as Entra refuses it).
        const bool repeated =
            norm && std::any_of(normalised.begin(), normalised.end(), [&](const common::secret& n) {
                return n.reveal() == norm->reveal();
            });
        if (!in_pool || !ids.insert(a.id).second || !norm || repeated) {
            m.record(note, "refused", "answers.invalid");
            return failure(problem::answers_invalid);
        }
        normalised.push_back(std::move(*norm));
    }
    if (auto slot = m.take_argon2_slot(); !slot) {
        m.record(note, "refused", "argon2.busy");
        return slot.error();
    }
    std::vector<store::question_answer> hashed;
    for (const auto& a : answers) {
        auto h = challenge::hash_answer(a.text.reveal(), qcfg.min_answer_length, qcfg.argon2,
                                        *m.d.random);
        if (!h) {
            m.release_argon2_slot();
            m.record(note, "refused", "answers." + h.error().message());
            failure f(problem::answers_invalid);
            if (h.error() == challenge::error::answer_too_short) {
                f.params["min"] = std::to_string(qcfg.min_answer_length);
            }
            return f;
        }
        hashed.push_back({a.id, std::move(*h)});
    }
    m.release_argon2_slot();
    auto e = sub->enrollment;
    e.questions = std::move(hashed);
    e.questions_confirmed_at = store::to_timestamp(m.now());
    if (auto w = put(m, e); !w) {
        m.record(note, "error", "store.write");
        return w.error();
    }
    m.record(note, "ok", "questions.set");
    return {};
}

result<void> engine::enroll_delete_method(const request_context& ctx, std::string_view token,
                                          std::string_view method_id) {
    auto& m = *impl_;
    audit_note note(ctx, "enroll.delete");
    const auto s = m.snap();
    store::flow_record flow;
    auto sub = m.session_subject(s, token, flow);
    if (!sub) {
        m.record(note, "refused", std::string(to_string(sub.error().problem)));
        return sub.error();
    }
    note.e.flow = flow.id;
    note.e.user_dn = sub->dn;
    auto e = sub->enrollment;
    const bool removed = remove_method(e, method_id);
    if (!removed) {
        m.record(note, "refused", "method.not_found");
        return failure(problem::method_not_found);
    }
    note.e.method = std::string(method_id.substr(0, method_id.find('-')));
    if (auto w = put(m, e); !w) {
        m.record(note, "error", "store.write");
        return w.error();
    }
    m.record(note, "ok", "method.removed");
    return {};
}

} // namespace sspr::flows
