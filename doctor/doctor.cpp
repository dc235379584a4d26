#include "doctor/doctor.hpp"

#include "common/clock.hpp"
#include "common/random.hpp"
#include "common/secret_file.hpp"
#include "config/loader.hpp"
#include "delivery/smtp_client.hpp"
#include "delivery/webhook_client.hpp"
#include "doctor/canary.hpp"
#include "doctor/report.hpp"
#include "ldap/from_config.hpp"
#include "ldap/ldap_directory.hpp"
#include "ldap/probe.hpp"
#include "ldap/tls_probe.hpp"
#include "policy/decision.hpp"
#include "policy/password_rules.hpp"
#include "policy/preflight.hpp"
#include "store/probe.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <exception>
#include <optional>
#include <ostream>

namespace sspr::doctor {
namespace {

namespace po = boost::program_options;

constexpr std::string_view policy_hints_oid = "1.2.840.113556.1.4.2239";
constexpr int usage_error = 64;

std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) {
        s += s.empty() ? "" : ", ";
        s += x;
    }
    return s;
}

// ---- config ------------------------------------------------------------------------------

/// The strict load (exactly check-config's), and when it fails only for key-file permissions a
/// lenient one so that the other checks still run.
std::optional<config::config> check_config(const std::string& path, report& rep) {
    const auto strict = config::load_file(path, policy::with_preflight());
    if (strict) {
        rep.pass("config", path + " is valid (" + std::to_string(strict->warnings.size()) +
                               " warnings; `ssprd check-config` shows them)");
        return strict->value;
    }
    const auto& f = strict.error();
    for (const auto& d : f.errors) {
        rep.fail("config", config::to_string(d),
                 "correct the file (ssprd check-config " + path + " lists every error)");
    }
    // Go on with key files read whatever their mode; the key-file check below reports them.
    auto lenient = policy::with_preflight(config::system_options());
    auto real_read = lenient.read_secret;
    lenient.read_secret = [real_read](const std::string& p) {
        auto c = real_read(p);
        c.status.permissions &= 0700U;
        return c;
    };
    auto real_check = lenient.check_file;
    lenient.check_file = [real_check](const std::string& p) {
        auto s = real_check(p);
        s.permissions &= 0700U;
        return s;
    };
    const auto second = config::load_file(path, lenient);
    if (!second) {
        return std::nullopt;
    }
    return second->value;
}

void check_key_file(const std::string& key, const std::string& path, report& rep) {
    if (path.empty()) {
        return;
    }
    const auto file = common::read_secret_file(path, {std::size_t{64} * 1024, true});
    const std::string name = "key file " + key;
    if (file) {
        rep.pass(name, path + " is private to ssprd (mode 0" +
                           std::to_string((file->permissions >> 6) & 7U) +
                           std::to_string((file->permissions >> 3) & 7U) +
                           std::to_string(file->permissions & 7U) + ")");
        return;
    }
    rep.fail(name, path + ": " + common::describe(file.error()),
             "chown it to the user ssprd runs as and chmod 600 " + path);
}

void check_secret_file(const std::string& key, const std::string& path, report& rep) {
    if (path.empty()) {
        return;
    }
    const auto file = common::read_secret_file(path, {std::size_t{64} * 1024, false});
    const std::string name = "secret file " + key;
    if (!file) {
        rep.fail(name, path + ": " + common::describe(file.error()),
                 "make it a regular file owned by ssprd, mode 0600");
    } else if ((file->permissions & 077U) != 0) {
        rep.warn(name, path + " may be read by group or others", "chmod 600 " + path);
    } else {
        rep.pass(name, path + " is private to ssprd");
    }
}

void check_files(const config::config& c, report& rep) {
    check_key_file("server.tls.key_file", c.server.tls.key_file, rep);
    check_key_file("store.encryption_key_file", c.store.encryption_key_file, rep);
    for (std::size_t i = 0; i < c.store.older_encryption_key_files.size(); ++i) {
        check_key_file("store.older_encryption_key_files[" + std::to_string(i) + "]",
                       c.store.older_encryption_key_files[i], rep);
    }
    check_key_file("store.hmac_key_file", c.store.hmac_key_file, rep);
    check_secret_file("directory.bind_password_file", c.directory.bind_password_file, rep);
    if (c.delivery.smtp.enabled) {
        check_secret_file("delivery.smtp.password_file", c.delivery.smtp.password_file, rep);
    }
    if (c.delivery.sms.enabled) {
        check_secret_file("delivery.sms.bearer_token_file", c.delivery.sms.bearer_token_file, rep);
    }
    if (c.store.backend == config::store_backend::postgres) {
        check_secret_file("store.postgres.password_file", c.store.postgres.password_file, rep);
    }
}

// ---- directory ---------------------------------------------------------------------------

struct directory_options {
    std::string test_user;
    std::string protected_user;
    std::string canary_user; // empty: no reset (doctor changes nothing)
};

bool check_transport(const std::string& uri, const ldap::config& cfg, report& rep) {
    const auto t = ldap::probe_tls(uri, cfg.start_tls, cfg.ca_file, cfg.connect_timeout);
    const std::string base = "directory " + uri;
    if (t.stage == ldap::tls_stage::uri) {
        rep.pass(base + " transport", t.detail);
        return true;
    }
    if (t.stage == ldap::tls_stage::resolve) {
        rep.fail(base + " name", "\"" + t.host + "\" does not resolve: " + t.detail,
                 "fix the host name in directory.uris or the DNS / /etc/hosts entry");
        return false;
    }
    rep.pass(base + " name", t.host + " resolves to " + join(t.addresses));
    if (t.stage == ldap::tls_stage::connect) {
        rep.fail(base + " TCP",
                 "no TCP connection to port " + std::to_string(t.port) + ": " + t.detail,
                 "start the directory server or open the firewall to port " +
                     std::to_string(t.port) + "; check the port in the URI");
        return false;
    }
    rep.pass(base + " TCP", "connected to " + t.connected_address + ":" + std::to_string(t.port));
    const std::string tls = base + " TLS";
    switch (t.stage) {
    case ldap::tls_stage::starttls:
        rep.fail(tls, "StartTLS failed: " + t.detail,
                 "enable TLS on the directory server, or use an ldaps:// URI");
        return false;
    case ldap::tls_stage::ca_file:
        rep.fail(tls, "cannot load the CA file " + cfg.ca_file + ": " + t.detail,
                 "point directory.ca_file at a readable PEM file of CA certificates");
        return false;
    case ldap::tls_stage::handshake:
        rep.fail(tls, "the TLS handshake failed: " + t.detail,
                 "check that the port speaks TLS (ldaps:// on 636, ldap:// + StartTLS on 389) and "
                 "supports TLS 1.2 or later");
        return false;
    default:
        break;
    }
    if (!t.implicit_tls && !cfg.start_tls) {
        rep.warn(tls, t.detail, "set directory.start_tls: true or use ldaps://");
        return true;
    }
    if (!t.verify_errors.empty()) {
        for (const int e : t.verify_errors) {
            auto r = judge_verify_error(e, tls, t.host, t.names, t.not_after, cfg.ca_file);
            if (!cfg.tls_verify) {
                r.level = status::warn;
                r.finding += " (ignored: directory.tls_verify is false)";
                r.fix = "set directory.tls_verify: true once the certificate is trusted";
            }
            rep.add(std::move(r));
        }
        return !cfg.tls_verify;
    }
    rep.pass(tls, t.tls_version + ", certificate of " + t.subject + " trusted, covers " + t.host +
                      ", valid until " + t.not_after);
    return true;
}

std::string ldap_text(const ldap::failure& f) {
    return f.code.message() + (f.diagnostic.empty() ? "" : " (" + f.diagnostic + ")");
}

void check_rights(ldap::server_probe& probe, ldap::directory& dir, ldap::dialect d,
                  const std::string& base, const std::string& login, bool is_protected,
                  const config::config& c, report& rep) {
    const std::string name = base + (is_protected ? " protected account" : " reset rights");
    auto user = dir.find_user(login);
    if (!user) {
        rep.fail(name, "cannot look up \"" + login + "\": " + ldap_text(user.error()),
                 "check directory.base_dn, user_base and user_filter");
        return;
    }
    if (!*user) {
        rep.fail(name, "no user \"" + login + "\" found below the user base",
                 "pass the login of an existing account");
        return;
    }
    const auto& u = **user;
    auto r = probe.probe_reset_rights(u.dn, d);
    if (!r) {
        rep.fail(name, "the probe failed: " + ldap_text(r.error()),
                 "check the directory's health and this account");
        return;
    }
    const std::string what = d == ldap::dialect::active_directory
                                 ? "reset unicodePwd and write lockoutTime"
                                 : "write userPassword and pwdAccountLockedTime";
    if (!is_protected) {
        switch (r->verdict) {
        case ldap::rights_verdict::granted:
            rep.pass(name, "the service account may " + what + " on " + u.dn +
                               " (a non-changing probe: the directory checked access and refused "
                               "only an impossible delete, LDAP " +
                               std::to_string(r->ldap_result) + ")");
            break;
        case ldap::rights_verdict::denied:
            rep.fail(
                name,
                "no reset right: the service account may not " + what + " on " + u.dn +
                    " (LDAP 50 insufficient access)",
                d == ldap::dialect::active_directory
                    ? "delegate \"Reset Password\" and read/write lockoutTime on the users' OU "
                      "to the service account (docs/troubleshooting.md)"
                    : "give the service account `write` (not `manage`) on userPassword and "
                      "the pwd* lock attributes in the directory's ACL");
            break;
        default:
            rep.warn(name, "inconclusive: " + r->diagnostic,
                     "verify the service account's rights by hand (docs/troubleshooting.md)");
        }
        return;
    }
    // The protected account: the policy must refuse it, and ideally the directory too.
    std::vector<std::string> group_dns;
    std::vector<std::string> group_names;
    if (auto groups = dir.groups_of(u.dn); groups) {
        for (const auto& g : *groups) {
            group_dns.push_back(g.dn);
            group_names.push_back(g.name);
        }
    }
    policy::user_facts facts;
    facts.dn = u.dn;
    facts.group_dns = group_dns;
    facts.group_names = group_names;
    facts.admin_count = u.admin_count;
    facts.disabled = u.state.disabled;
    const auto decision =
        policy::decide(c.policy, c.methods, c.enrollment, facts, std::chrono::system_clock::now());
    const bool directory_refuses = r->verdict == ldap::rights_verdict::denied;
    const bool inconclusive = r->verdict == ldap::rights_verdict::inconclusive;
    const std::string dir_text =
        directory_refuses ? "the directory refuses the service account (LDAP 50)"
        : inconclusive    ? "the directory's answer is inconclusive (" + r->diagnostic + ")"
                          : "the directory WOULD let the service account reset it";
    std::string policy_text;
    if (!decision.in_scope) {
        policy_text =
            "the policy refuses it (" + std::string(policy::to_string(decision.reason)) + ")";
    } else if (decision.admin) {
        policy_text = "the policy lets it in as an admin (two gates)";
    } else {
        policy_text = "the policy lets it in with one gate";
    }
    const std::string finding = login + ": " + dir_text + "; " + policy_text;
    if (directory_refuses) {
        // What matters most: the service account itself cannot reset it.
        rep.pass(name, finding);
    } else if (inconclusive || !decision.in_scope || decision.admin) {
        rep.warn(name, finding,
                 "delegate the reset right on the users' OU only, not on the admins' containers "
                 "(defence in depth)");
    } else {
        rep.fail(name, finding,
                 "add its group to policy.admin_groups or a deny rule, and take the reset right "
                 "on its container away from the service account");
    }
}

void check_directory(const config::config& c, const directory_options& opt, report& rep) {
    const ldap::config base_cfg = ldap::directory_options_from(c.directory);
    // The canary's password must pass the gateway's own rules, as a user's would.
    std::optional<policy::password_checker> checker;
    std::string checker_error;
    if (!opt.canary_user.empty()) {
        try {
            checker.emplace(c.password);
        } catch (const std::exception& e) {
            checker_error = e.what();
        }
    }
    const auto rng = common::make_system_random();
    for (const auto& uri : base_cfg.uris) {
        const std::string base = "directory " + uri;
        if (!check_transport(uri, base_cfg, rep)) {
            continue;
        }
        auto probe = ldap::server_probe::open(base_cfg, uri);
        if (!probe) {
            rep.fail(base + " connect", ldap_text(probe.error()),
                     "see the TLS and TCP lines above");
            continue;
        }
        if (auto b = probe->bind_service(); !b) {
            if (b.error().is(ldap::error::invalid_credentials)) {
                rep.fail(base + " service bind",
                         "the directory refused the service account " + base_cfg.bind_dn +
                             ": wrong password or DN (" + b.error().diagnostic + ")",
                         "put the service account's current password in " +
                             c.directory.bind_password_file + " and check directory.bind_dn");
            } else {
                rep.fail(base + " service bind", ldap_text(b.error()),
                         "check directory.bind_dn and the account's state in the directory");
            }
            continue;
        }
        rep.pass(base + " service bind", "bound as " + base_cfg.bind_dn);
        auto dse = probe->read_root_dse();
        if (!dse) {
            rep.fail(base + " dialect", "cannot read the rootDSE: " + ldap_text(dse.error()),
                     "allow the service account to read the rootDSE");
            continue;
        }
        const auto seen =
            dse->active_directory ? ldap::dialect::active_directory : ldap::dialect::openldap;
        const char* seen_name = dse->active_directory ? "Active Directory" : "OpenLDAP (not AD)";
        if (base_cfg.dialect == ldap::dialect_choice::detect) {
            rep.pass(base + " dialect", std::string("detect: the rootDSE says ") + seen_name);
        } else if ((base_cfg.dialect == ldap::dialect_choice::active_directory) ==
                   dse->active_directory) {
            rep.pass(base + " dialect", std::string("configured and seen: ") + seen_name);
        } else {
            rep.fail(base + " dialect",
                     std::string("configured as ") +
                         (base_cfg.dialect == ldap::dialect_choice::active_directory ? "ad"
                                                                                     : "openldap") +
                         " but the rootDSE says " + seen_name,
                     std::string("set directory.dialect: ") +
                         (dse->active_directory ? "ad" : "openldap") + " (or detect)");
        }
        if (seen == ldap::dialect::active_directory) {
            const bool hints =
                std::find(dse->supported_controls.begin(), dse->supported_controls.end(),
                          policy_hints_oid) != dse->supported_controls.end();
            if (hints) {
                rep.pass(base + " policy hints",
                         "supportedControl has 1.2.840.113556.1.4.2239: password history is "
                         "enforced on resets");
            } else {
                rep.warn(base + " policy hints",
                         "supportedControl lacks 1.2.840.113556.1.4.2239: password history is "
                         "NOT enforced on reset (Samba, or Windows Server before 2012 R2)",
                         "accept it, or run the reset against a Windows Server 2016+ DC");
            }
        }
        ldap::config one = base_cfg;
        one.uris = {uri};
        one.pool_size = 1;
        const auto dir = ldap::make_directory(one, common::make_system_clock());
        std::string protected_login = opt.protected_user;
        if (protected_login.empty() && seen == ldap::dialect::active_directory) {
            protected_login = "Administrator";
        }
        if (opt.test_user.empty()) {
            rep.warn(base + " reset rights", "not checked (no --test-user)",
                     "run ssprd doctor with --test-user LOGIN of an ordinary account in scope");
        } else {
            check_rights(*probe, *dir, seen, base, opt.test_user, false, c, rep);
        }
        if (protected_login.empty()) {
            rep.warn(base + " protected account", "not checked (no --protected-user)",
                     "run ssprd doctor with --protected-user LOGIN of an administrator");
        } else {
            check_rights(*probe, *dir, seen, base, protected_login, true, c, rep);
        }
        const std::string canary = base + " canary reset";
        if (opt.canary_user.empty()) {
            rep.skip(
                canary, "not asked for (no --canary-user): no password was reset",
                "ssprd doctor --canary-user LOGIN of a dedicated ordinary account proves a real "
                "reset end to end (its password becomes a random one)");
        } else if (!checker) {
            rep.fail(canary, "not run: the password rules cannot be built: " + checker_error,
                     "fix the password section (ssprd check-config)");
        } else {
            rep.add(check_canary(*dir, *rng, c, *checker, canary, opt.canary_user,
                                 std::chrono::system_clock::now()));
        }
    }
}

// ---- delivery and store --------------------------------------------------------------------

void check_smtp(const config::config& c, report& rep) {
    if (!c.delivery.smtp.enabled) {
        return;
    }
    const auto& s = c.delivery.smtp;
    const std::string name = "smtp " + s.host + ":" + std::to_string(s.port);
    try {
        const delivery::smtp_client client(s, common::make_system_clock());
        auto r = client.probe();
        if (r) {
            rep.pass(name, std::string("connected") +
                               (s.tls == config::smtp_tls::none ? "" : ", TLS verified") +
                               (s.username.empty() ? "" : ", AUTH as " + s.username + " accepted") +
                               "; no mail sent");
            return;
        }
        const auto& f = r.error();
        const std::string text = f.code.message() + ": " + f.diagnostic;
        std::string fix = "check delivery.smtp";
        if (f.is(delivery::error::connect_failed) || f.is(delivery::error::timeout)) {
            fix = "start the mail server or fix delivery.smtp.host / port";
        } else if (f.is(delivery::error::tls_failure)) {
            fix = "set delivery.smtp.ca_file to the CA of the mail server's certificate, or the "
                  "tls mode (starttls on 587, implicit on 465)";
        } else if (f.is(delivery::error::auth_failed)) {
            fix = "fix delivery.smtp.username or the password in delivery.smtp.password_file";
        }
        rep.fail(name, text, fix);
    } catch (const std::exception& e) {
        rep.fail(name, e.what(), "fix delivery.smtp");
    }
}

void check_sms(const config::config& c, report& rep) {
    if (!c.delivery.sms.enabled) {
        return;
    }
    const std::string name = "sms webhook";
    try {
        const delivery::webhook_client client(c.delivery.sms);
        auto r = client.probe_connect();
        if (r) {
            rep.pass(name, "TCP and TLS to the webhook's host verified; no request, no SMS sent");
            return;
        }
        rep.fail(name, r.error().code.message() + ": " + r.error().diagnostic,
                 r.error().is(delivery::error::tls_failure)
                     ? "set delivery.sms.ca_file to the CA of the webhook's certificate"
                     : "check delivery.sms.url and that the SMS gateway is reachable");
    } catch (const std::exception& e) {
        rep.fail(name, e.what(), "fix delivery.sms");
    }
}

void check_store(const config::config& c, report& rep) {
    const auto p = store::probe_schema(c.store);
    const std::string name = "store " + p.where;
    using o = store::schema_probe::outcome;
    switch (p.result) {
    case o::opened:
        if (p.version == p.latest) {
            rep.pass(name, "opened; schema version " + std::to_string(p.version) + " (current)");
        } else if (p.version < p.latest) {
            rep.warn(name,
                     "schema version " + std::to_string(p.version) + ", this build uses " +
                         std::to_string(p.latest),
                     "ssprd serve migrates it on start; take a backup first");
        } else {
            rep.fail(name,
                     "schema version " + std::to_string(p.version) +
                         " is newer than this build's " + std::to_string(p.latest),
                     "run the newer ssprd that migrated it, or restore a backup");
        }
        return;
    case o::empty:
        rep.warn(name, p.detail, "ssprd serve creates the schema on first start");
        return;
    case o::unavailable:
        rep.fail(name, "cannot open: " + p.detail,
                 c.store.backend == config::store_backend::postgres
                     ? "start PostgreSQL or fix store.postgres host/port/user/password_file"
                     : "check the path and that ssprd may read and write it");
        return;
    default:
        rep.fail(name, "not an ssprd store: " + p.detail,
                 "point the store at ssprd's database, or move this file away");
    }
}

} // namespace

int run_doctor(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    po::options_description options("ssprd doctor");
    options.add_options()("config,c", po::value<std::string>()->required(),
                          "the configuration file (YAML)")(
        "test-user", po::value<std::string>()->default_value(""),
        "login of an ordinary account to check the reset rights on (nothing is changed)")(
        "protected-user", po::value<std::string>()->default_value(""),
        "login of an admin account that must not be resettable (default on AD: Administrator)")(
        "canary-user", po::value<std::string>()->default_value(""),
        "login of a dedicated ordinary account in scope whose password doctor REALLY resets, to "
        "a random one it never shows, then binds with (admin, protected and out-of-scope "
        "accounts are refused; without it nothing is changed)")("help,h",
                                                                "show this help and exit");
    po::variables_map vm;
    try {
        po::store(po::command_line_parser(args).options(options).run(), vm);
        if (vm.count("help") != 0U) {
            out << options << "\n";
            return 0;
        }
        po::notify(vm);
    } catch (const po::error& e) {
        err << "ssprd doctor: " << e.what() << "\n" << options << "\n";
        return usage_error;
    }
    report rep;
    const auto cfg = check_config(vm["config"].as<std::string>(), rep);
    if (cfg) {
        check_files(*cfg, rep);
        check_directory(*cfg,
                        {vm["test-user"].as<std::string>(), vm["protected-user"].as<std::string>(),
                         vm["canary-user"].as<std::string>()},
                        rep);
        check_smtp(*cfg, rep);
        check_sms(*cfg, rep);
        check_store(*cfg, rep);
    } else {
        rep.fail("doctor", "no further checks: the configuration cannot be read",
                 "fix the errors above first");
    }
    print(rep, out);
    return rep.exit_code();
}

} // namespace sspr::doctor
