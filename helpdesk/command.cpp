// The command lines of helpdesk.hpp: options (Boost.program_options), then the configuration, the
// keys, the store, the directory (only to look a login up) and the audit trail, as `ssprd serve`
// opens them, and one call of helpdesk.cpp.
#include "audit/audit.hpp"
#include "challenge/key_file.hpp"
#include "common/clock.hpp"
#include "common/random.hpp"
#include "config/loader.hpp"
#include "helpdesk/helpdesk.hpp"
#include "ldap/directory.hpp"
#include "ldap/from_config.hpp"
#include "ldap/ldap_directory.hpp"
#include "store/crypto.hpp"
#include "store/state_store.hpp"

#include <boost/program_options.hpp>

#include <sys/stat.h>

#include <exception>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <ostream>
#include <sstream>
#include <variant>

namespace sspr::helpdesk {
namespace {

namespace po = boost::program_options;

constexpr std::string_view helpdesk_usage =
    "usage: ssprd helpdesk status  USER -c FILE [--operator NAME]\n"
    "       ssprd helpdesk clear   USER METHOD -c FILE --operator NAME\n"
    "       ssprd helpdesk unblock USER -c FILE --operator NAME\n"
    "  USER      a login (looked up in the directory) or a DN\n"
    "  METHOD    a method id as `status` lists it: email-0, sms-0, totp, questions\n"
    "  --operator NAME   who does it, for the audit (status: default $SUDO_USER, else $USER)\n"
    "exit status: 0 done, 1 user or method not found, 2 store/directory/audit failure, 64 "
    "usage\n";

constexpr std::string_view export_usage =
    "usage: ssprd enrollments export -c FILE [--output F] [--operator NAME]\n"
    "  CSV (RFC 4180) of who registered which methods, masked, on standard output or in F\n"
    "  --operator NAME   who runs it, for the audit (default $SUDO_USER, else $USER)\n"
    "exit status: 0 done, 2 store/audit failure or unreadable rows, 64 usage\n";

/// What the commands need, opened from the configuration; torn down in reverse order.
struct opened {
    config::config cfg;
    common::secret hmac_key;
    std::unique_ptr<store::state_store> store;
    std::unique_ptr<ldap::directory> directory;
    std::unique_ptr<audit::trail> audit;
};

/// Opens what `cfg_path` names; exit status on failure (the reason on `err`, never a secret).
std::variant<std::unique_ptr<opened>, int> open_all(const std::string& cfg_path, bool directory,
                                                    std::string_view me, std::ostream& err) {
    auto loaded = config::load_file(cfg_path);
    if (!loaded) {
        err << loaded.error();
        err << me << ": " << cfg_path << " is not a valid configuration\n";
        return exit_failure;
    }
    auto o = std::make_unique<opened>();
    o->cfg = std::move(loaded->value);
    const auto& sc = o->cfg.store;
    auto hmac = challenge::load_key_file(sc.hmac_key_file);
    if (!hmac) {
        err << me << ": store.hmac_key_file " << sc.hmac_key_file << ": " << hmac.error().message()
            << "\n";
        return exit_failure;
    }
    o->hmac_key = std::move(*hmac);
    std::shared_ptr<const store::crypto::keyring> keys;
    try {
        keys = store::crypto::load_keyring(sc.encryption_key_file, sc.older_encryption_key_files);
    } catch (const std::exception& e) {
        err << me << ": " << e.what() << "\n"; // names the file and the reason, never its content
        return exit_failure;
    }
    if (sc.backend == config::store_backend::sqlite) {
        // Opening would create a missing file: a wrong path is an error, not an empty store.
        std::error_code ec;
        if (!std::filesystem::exists(sc.sqlite_path, ec)) {
            err << me << ": there is no state store at " << sc.sqlite_path
                << " (store.sqlite_path)\n";
            return exit_failure;
        }
    }
    auto store = store::make_state_store(sc, keys, o->hmac_key, common::make_system_random());
    if (!store) {
        err << me << ": cannot open the state store: " << store.error().message()
            << " (the reason is in the log)\n";
        return exit_failure;
    }
    o->store = std::move(*store);
    if (directory) {
        try {
            o->directory = ldap::make_directory(ldap::directory_options_from(o->cfg.directory),
                                                common::make_system_clock());
        } catch (const std::exception& e) {
            err << me << ": directory: " << e.what() << "\n";
            return exit_failure;
        }
    }
    auto trail = audit::trail::open(o->cfg.audit.path);
    if (!trail) {
        err << me << ": audit.path " << o->cfg.audit.path << ": " << trail.error().message()
            << " (run the command as the user the gateway runs as)\n";
        return exit_failure;
    }
    o->audit = std::move(*trail);
    return o;
}

services services_of(opened& o) {
    services s;
    s.cfg = &o.cfg;
    s.store = o.store.get();
    s.directory = o.directory.get();
    s.audit = o.audit.get();
    s.hmac_key = &o.hmac_key;
    s.now = std::chrono::system_clock::now();
    return s;
}

struct parsed {
    po::variables_map vm;
    std::optional<int> exit_status;
};

parsed parse(const std::vector<std::string>& args, const po::options_description& options,
             const std::vector<std::string>& positional, std::string_view me,
             std::string_view usage, std::ostream& out, std::ostream& err) {
    po::options_description all;
    all.add(options);
    po::positional_options_description order;
    po::options_description hidden;
    for (const auto& name : positional) {
        hidden.add_options()(name.c_str(), po::value<std::string>()->required(), "");
        order.add(name.c_str(), 1);
    }
    all.add(hidden);
    parsed p;
    try {
        po::store(po::command_line_parser(args).options(all).positional(order).run(), p.vm);
        if (p.vm.count("help") != 0U) {
            out << usage;
            p.exit_status = exit_ok;
            return p;
        }
        po::notify(p.vm);
    } catch (const po::error& e) {
        err << me << ": " << e.what() << "\n" << usage;
        p.exit_status = exit_usage;
    }
    return p;
}

po::options_description common_options(bool operator_required) {
    po::options_description options;
    options.add_options()("config,c", po::value<std::string>()->required(),
                          "the configuration file (YAML)")("help,h", "show this help and exit");
    if (operator_required) {
        options.add_options()("operator", po::value<std::string>()->required(), "");
    } else {
        options.add_options()("operator", po::value<std::string>(), "");
    }
    return options;
}

std::string operator_of(const po::variables_map& vm) {
    return vm.count("operator") != 0U ? vm["operator"].as<std::string>()
                                      : operator_from_environment();
}

/// Writes `text` to `path` through a file beside it, renamed into place: a report is there whole
/// or not at all, readable by its owner only (it lists people).
bool write_report(const std::string& path, const std::string& text, std::ostream& err) {
    const std::string tmp = path + ".tmp";
    {
        const mode_t old = ::umask(077);
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        ::umask(old);
        f << text;
        f.close();
        if (!f) {
            err << "ssprd enrollments export: cannot write " << tmp << "\n";
            std::error_code ec;
            std::filesystem::remove(tmp, ec);
            return false;
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        err << "ssprd enrollments export: cannot rename " << tmp << " to " << path << ": "
            << ec.message() << "\n";
        std::filesystem::remove(tmp, ec);
        return false;
    }
    return true;
}

int helpdesk(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    constexpr std::string_view me = "ssprd helpdesk";
    const std::string sub = args.empty() ? "" : args[0];
    if (sub == "--help" || sub == "-h") {
        out << helpdesk_usage;
        return exit_ok;
    }
    if (sub != "status" && sub != "clear" && sub != "unblock") {
        err << me << ": " << (sub.empty() ? "which command? " : "unknown command '" + sub + "'; ")
            << "status, clear or unblock\n"
            << helpdesk_usage;
        return exit_usage;
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    std::vector<std::string> positional{"USER"};
    if (sub == "clear") {
        positional.emplace_back("METHOD");
    }
    auto p = parse(rest, common_options(sub != "status"), positional, me, helpdesk_usage, out, err);
    if (p.exit_status) {
        return *p.exit_status;
    }
    const auto user = p.vm["USER"].as<std::string>();
    const auto who = operator_of(p.vm);
    if (who.empty()) {
        err << me
            << ": say who you are with --operator NAME (neither $SUDO_USER nor $USER is "
               "set)\n";
        return exit_usage;
    }
    const bool is_dn = user.find('=') != std::string::npos;
    auto o = open_all(p.vm["config"].as<std::string>(), !is_dn, me, err);
    if (const int* rc = std::get_if<int>(&o)) {
        return *rc;
    }
    const services s = services_of(*std::get<std::unique_ptr<opened>>(o));
    if (sub == "status") {
        return status(s, user, who, out, err);
    }
    if (sub == "clear") {
        return clear(s, user, p.vm["METHOD"].as<std::string>(), who, out, err);
    }
    return unblock(s, user, who, out, err);
}

int enrollments(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    constexpr std::string_view me = "ssprd enrollments export";
    const std::string sub = args.empty() ? "" : args[0];
    if (sub == "--help" || sub == "-h") {
        out << export_usage;
        return exit_ok;
    }
    if (sub != "export") {
        err << "ssprd enrollments: "
            << (sub.empty() ? "which command? " : "unknown command '" + sub + "'; ") << "export\n"
            << export_usage;
        return exit_usage;
    }
    auto options = common_options(false);
    options.add_options()("output,o", po::value<std::string>(), "");
    auto p = parse({args.begin() + 1, args.end()}, options, {}, me, export_usage, out, err);
    if (p.exit_status) {
        return *p.exit_status;
    }
    const auto who = operator_of(p.vm);
    if (who.empty()) {
        err << me
            << ": say who you are with --operator NAME (neither $SUDO_USER nor $USER is "
               "set)\n";
        return exit_usage;
    }
    auto o = open_all(p.vm["config"].as<std::string>(), false, me, err);
    if (const int* rc = std::get_if<int>(&o)) {
        return *rc;
    }
    const services s = services_of(*std::get<std::unique_ptr<opened>>(o));
    if (p.vm.count("output") == 0U) {
        return export_enrollments(s, who, out, err);
    }
    std::ostringstream csv;
    const int rc = export_enrollments(s, who, csv, err);
    if (!write_report(p.vm["output"].as<std::string>(), csv.str(), err)) {
        return exit_failure;
    }
    return rc;
}

} // namespace

int run_helpdesk(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    try {
        return helpdesk(args, out, err);
    } catch (const std::exception& e) {
        err << "ssprd helpdesk: " << e.what() << "\n";
        return exit_failure;
    }
}

int run_enrollments(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
    try {
        return enrollments(args, out, err);
    } catch (const std::exception& e) {
        err << "ssprd enrollments: " << e.what() << "\n";
        return exit_failure;
    }
}

} // namespace sspr::helpdesk
