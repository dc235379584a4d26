#include "ldap/connection.hpp"

#include <poll.h>

#include <algorithm>
#include <cctype>

namespace sspr::ldap::detail {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
    return std::find(list.begin(), list.end(), value) != list.end();
}

bool is_transport_error(int rc) {
    return rc < 0 || rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY;
}

berval as_berval(std::string_view s) {
    // libldap takes non-const pointers but does not write through them for request values.
    return berval{static_cast<ber_len_t>(s.size()), const_cast<char*>(s.data())};
}

std::string describe(int rc, std::string_view diagnostic) {
    std::string out = "ldap rc=" + std::to_string(rc) + " (" + ldap_err2string(rc) + ")";
    if (!diagnostic.empty()) {
        out += ": ";
        out += diagnostic;
    }
    return out;
}

} // namespace

const std::vector<std::string>* entry::values(std::string_view name) const {
    const auto it = attributes.find(lower(name));
    return it == attributes.end() ? nullptr : &it->second;
}

std::string entry::first(std::string_view name) const {
    const auto* vals = values(name);
    return vals == nullptr || vals->empty() ? std::string{} : vals->front();
}

bool server_info::supports_control(std::string_view oid) const {
    return contains(supported_controls, oid);
}

bool server_info::supports_extension(std::string_view oid) const {
    return contains(supported_extensions, oid);
}

bool server_info::is_active_directory() const {
    // LDAP_CAP_ACTIVE_DIRECTORY_OID and LDAP_CAP_ACTIVE_DIRECTORY_ADAM_OID.
    return contains(supported_capabilities, "1.2.840.113556.1.4.800") ||
           contains(supported_capabilities, "1.2.840.113556.1.4.1851");
}

bool connection::hung_up() const {
    int fd = -1;
    if (ldap_get_option(ld_.get(), LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0) {
        return true;
    }
    // Plain readability is no sign of a dead peer: TLS 1.3 session tickets arrive unasked.
    pollfd p{fd, POLLRDHUP, 0};
    return ::poll(&p, 1, 0) > 0 &&
           (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

result<connection> connection::open(const std::string& uri, std::size_t uri_index,
                                    const config& cfg) {
    LDAP* raw = nullptr;
    if (const int rc = ldap_initialize(&raw, uri.c_str()); rc != LDAP_SUCCESS) {
        return failure(error::directory_refused, "bad directory URI " + uri + ": " + describe(rc, ""));
    }
    connection conn(ldap_ptr(raw), uri_index, cfg.operation_timeout);
    LDAP* ld = conn.ld_.get();

    const int version = LDAP_VERSION3;
    const timeval net = to_timeval(cfg.connect_timeout);
    const timeval api = to_timeval(cfg.operation_timeout);
    ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF); // AD hands out referrals we never follow
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net);
    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &api);

    const bool ldaps = uri.starts_with("ldaps://");
    const bool ldapi = uri.starts_with("ldapi://");
    if (!ldapi) {
        const int require = cfg.tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
        const int min_version = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
        const int client_ctx = 0;
        ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require);
        if (!cfg.ca_file.empty()) {
            ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, cfg.ca_file.c_str());
        }
        ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &min_version);
        // A context of this handle's own, so the options above apply to it alone.
        if (const int rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &client_ctx); rc != 0) {
            return conn.fail(operation_kind::connect, rc, "TLS context for " + uri);
        }
    }
    if (const int rc = ldap_connect(ld); rc != LDAP_SUCCESS) {
        return conn.fail(operation_kind::connect, rc, "connect to " + uri);
    }
    if (!ldaps && !ldapi && cfg.start_tls) {
        if (const int rc = ldap_start_tls_s(ld, nullptr, nullptr); rc != LDAP_SUCCESS) {
            return conn.fail(operation_kind::connect, rc, "StartTLS with " + uri);
        }
    }
    return conn;
}

failure connection::fail(operation_kind op, int rc, std::string_view what) {
    char* raw_diag = nullptr;
    ldap_get_option(ld_.get(), LDAP_OPT_DIAGNOSTIC_MESSAGE, &raw_diag);
    const ldap_string_ptr diag(raw_diag);
    const std::string_view text = diag ? std::string_view(diag.get()) : std::string_view{};
    if (is_transport_error(rc)) {
        broken_ = true;
    }
    return failure(classify(op, rc, text, std::nullopt),
                   std::string(what) + ": " + describe(rc, text));
}

failure connection::refused(operation_kind op, const reply& r) {
    std::string detail = describe(r.rc, r.diagnostic);
    if (r.ppolicy_error) {
        detail += " ppolicy=";
        detail += ldap_passwordpolicy_err2txt(static_cast<LDAPPasswordPolicyError>(*r.ppolicy_error));
    }
    if (is_transport_error(r.rc)) {
        broken_ = true;
    }
    return failure(classify(op, r.rc, r.diagnostic, r.ppolicy_error), std::move(detail));
}

result<message_ptr> connection::wait(operation_kind op, int msgid, int all) {
    timeval tv = to_timeval(timeout_);
    LDAPMessage* raw = nullptr;
    const int rc = ldap_result(ld_.get(), msgid, all, &tv, &raw);
    message_ptr msg(raw);
    if (rc == 0) {
        ldap_abandon_ext(ld_.get(), msgid, nullptr, nullptr);
        broken_ = true; // a late answer would confuse the next user of this connection
        return failure(error::timeout, "no answer within " + std::to_string(timeout_.count()) + " ms");
    }
    if (rc < 0) {
        int code = LDAP_SERVER_DOWN;
        ldap_get_option(ld_.get(), LDAP_OPT_RESULT_CODE, &code);
        return fail(op, code == LDAP_SUCCESS ? LDAP_SERVER_DOWN : code, "waiting for result");
    }
    return msg;
}

connection::reply connection::parse(LDAPMessage* msg) {
    reply r;
    char* raw_diag = nullptr;
    LDAPControl** raw_ctrls = nullptr;
    const int rc = ldap_parse_result(ld_.get(), msg, &r.rc, nullptr, &raw_diag, nullptr, &raw_ctrls, 0);
    const ldap_string_ptr diag(raw_diag);
    const controls_ptr ctrls(raw_ctrls);
    if (rc != LDAP_SUCCESS) {
        r.rc = rc;
        return r;
    }
    if (diag) {
        r.diagnostic = diag.get();
    }
    if (LDAPControl* pp = ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls.get(), nullptr);
        pp != nullptr) {
        ber_int_t expire = -1;
        ber_int_t grace = -1;
        LDAPPasswordPolicyError pp_error = PP_noError;
        if (ldap_parse_passwordpolicy_control(ld_.get(), pp, &expire, &grace, &pp_error) ==
                LDAP_SUCCESS &&
            pp_error != PP_noError) {
            r.ppolicy_error = static_cast<int>(pp_error);
        }
    }
    return r;
}

result<void> connection::bind(operation_kind op, std::string_view dn, std::string_view password,
                              bool ppolicy) {
    // An empty password is an "unauthenticated bind", which AD accepts as anonymous: never send it.
    if (dn.empty() || password.empty()) {
        return failure(op == operation_kind::change ? error::wrong_current_password
                                                    : error::invalid_credentials,
                       "empty DN or password refused before reaching the directory");
    }
    const std::string dn_z(dn);
    berval cred = as_berval(password);
    control_ptr pp_request;
    LDAPControl* ctrls[2] = {nullptr, nullptr};
    if (ppolicy) {
        LDAPControl* raw = nullptr;
        if (ldap_create_passwordpolicy_control(ld_.get(), &raw) == LDAP_SUCCESS) {
            pp_request.reset(raw);
            ctrls[0] = raw;
        }
    }
    int msgid = 0;
    if (const int rc = ldap_sasl_bind(ld_.get(), dn_z.c_str(), LDAP_SASL_SIMPLE, &cred, ctrls,
                                      nullptr, &msgid);
        rc != LDAP_SUCCESS) {
        return fail(op, rc, "bind");
    }
    auto msg = wait(op, msgid, LDAP_MSG_ALL);
    if (!msg) {
        return msg.error();
    }
    const reply r = parse(msg->get());
    if (r.rc != LDAP_SUCCESS) {
        return refused(op, r);
    }
    if (r.ppolicy_error == PP_changeAfterReset) {
        return failure(error::must_change_password, "bind succeeded; ppolicy changeAfterReset");
    }
    return {};
}

result<void> connection::read_root_dse() {
    auto entries = search(operation_kind::search, "", LDAP_SCOPE_BASE, "(objectClass=*)",
                          {"supportedControl", "supportedExtension", "supportedCapabilities"}, 1);
    if (!entries) {
        return entries.error();
    }
    if (entries->empty()) {
        return {};
    }
    const entry& root = entries->front();
    auto take = [&root](std::string_view name) {
        const auto* vals = root.values(name);
        return vals == nullptr ? std::vector<std::string>{} : *vals;
    };
    info_.supported_controls = take("supportedControl");
    info_.supported_extensions = take("supportedExtension");
    info_.supported_capabilities = take("supportedCapabilities");
    return {};
}

result<std::vector<entry>> connection::search(operation_kind op, const std::string& base,
                                              int scope, const std::string& filter,
                                              const std::vector<std::string>& attributes,
                                              int size_limit) {
    std::vector<char*> attrs;
    attrs.reserve(attributes.size() + 1);
    for (const auto& a : attributes) {
        attrs.push_back(const_cast<char*>(a.c_str()));
    }
    attrs.push_back(nullptr);
    timeval tv = to_timeval(timeout_);
    int msgid = 0;
    if (const int rc = ldap_search_ext(ld_.get(), base.c_str(), scope, filter.c_str(), attrs.data(),
                                       0, nullptr, nullptr, &tv, size_limit, &msgid);
        rc != LDAP_SUCCESS) {
        return fail(op, rc, "search");
    }
    auto msg = wait(op, msgid, LDAP_MSG_ALL);
    if (!msg) {
        return msg.error();
    }
    std::vector<entry> out;
    for (LDAPMessage* e = ldap_first_entry(ld_.get(), msg->get()); e != nullptr;
         e = ldap_next_entry(ld_.get(), e)) {
        entry item;
        const ldap_string_ptr dn(ldap_get_dn(ld_.get(), e));
        if (dn) {
            item.dn = dn.get();
        }
        BerElement* raw_ber = nullptr;
        for (char* a = ldap_first_attribute(ld_.get(), e, &raw_ber); a != nullptr;
             a = ldap_next_attribute(ld_.get(), e, raw_ber)) {
            const ldap_string_ptr name(a);
            const values_ptr vals(ldap_get_values_len(ld_.get(), e, a));
            auto& slot = item.attributes[lower(a)];
            for (berval** v = vals.get(); v != nullptr && *v != nullptr; ++v) {
                slot.emplace_back((*v)->bv_val, (*v)->bv_len);
            }
        }
        const ber_ptr ber(raw_ber);
        out.push_back(std::move(item));
    }
    const reply r = parse(msg->get());
    // A size limit reached still delivers the entries read; the caller decides what too many means.
    if (r.rc != LDAP_SUCCESS && r.rc != LDAP_SIZELIMIT_EXCEEDED) {
        return refused(op, r);
    }
    return out;
}

result<void> connection::modify(operation_kind op, const std::string& dn,
                                const std::vector<modification>& mods,
                                const std::vector<control>& controls) {
    // Storage that outlives the call: bervals per value, pointer arrays per attribute.
    std::vector<std::vector<berval>> values(mods.size());
    std::vector<std::vector<berval*>> value_ptrs(mods.size());
    std::vector<LDAPMod> ldap_mods(mods.size());
    std::vector<LDAPMod*> mod_ptrs;
    for (std::size_t i = 0; i < mods.size(); ++i) {
        for (const auto& v : mods[i].values) {
            values[i].push_back(as_berval(v));
        }
        for (auto& bv : values[i]) {
            value_ptrs[i].push_back(&bv);
        }
        value_ptrs[i].push_back(nullptr);
        ldap_mods[i].mod_op = mods[i].op | LDAP_MOD_BVALUES;
        ldap_mods[i].mod_type = const_cast<char*>(mods[i].attribute.c_str());
        ldap_mods[i].mod_bvalues = mods[i].values.empty() ? nullptr : value_ptrs[i].data();
        mod_ptrs.push_back(&ldap_mods[i]);
    }
    mod_ptrs.push_back(nullptr);

    std::vector<LDAPControl> ctrl_storage(controls.size());
    std::vector<LDAPControl*> ctrl_ptrs;
    for (std::size_t i = 0; i < controls.size(); ++i) {
        ctrl_storage[i].ldctl_oid = const_cast<char*>(controls[i].oid.c_str());
        ctrl_storage[i].ldctl_value = as_berval(controls[i].value);
        ctrl_storage[i].ldctl_iscritical = controls[i].critical ? 1 : 0;
        ctrl_ptrs.push_back(&ctrl_storage[i]);
    }
    ctrl_ptrs.push_back(nullptr);

    int msgid = 0;
    if (const int rc = ldap_modify_ext(ld_.get(), dn.c_str(), mod_ptrs.data(), ctrl_ptrs.data(),
                                       nullptr, &msgid);
        rc != LDAP_SUCCESS) {
        return fail(op, rc, "modify");
    }
    auto msg = wait(op, msgid, LDAP_MSG_ALL);
    if (!msg) {
        return msg.error();
    }
    const reply r = parse(msg->get());
    if (r.rc != LDAP_SUCCESS) {
        return refused(op, r);
    }
    return {};
}

result<void> connection::password_modify(operation_kind op, std::string_view user_dn,
                                         std::string_view old_password,
                                         std::string_view new_password) {
    berval user = as_berval(user_dn);
    berval old_pw = as_berval(old_password);
    berval new_pw = as_berval(new_password);
    control_ptr pp_request;
    LDAPControl* ctrls[2] = {nullptr, nullptr};
    if (LDAPControl* raw = nullptr;
        ldap_create_passwordpolicy_control(ld_.get(), &raw) == LDAP_SUCCESS) {
        pp_request.reset(raw);
        ctrls[0] = raw;
    }
    int msgid = 0;
    if (const int rc = ldap_passwd(ld_.get(), user_dn.empty() ? nullptr : &user,
                                   old_password.empty() ? nullptr : &old_pw, &new_pw, ctrls,
                                   nullptr, &msgid);
        rc != LDAP_SUCCESS) {
        return fail(op, rc, "password modify");
    }
    auto msg = wait(op, msgid, LDAP_MSG_ALL);
    if (!msg) {
        return msg.error();
    }
    const reply r = parse(msg->get());
    if (r.rc != LDAP_SUCCESS) {
        return refused(op, r);
    }
    return {};
}

} // namespace sspr::ldap::detail
