#include "gateway/commands.hpp"

#include "audit/audit.hpp"
#include "config/check_config.hpp"
#include "doctor/doctor.hpp"
#include "gateway/serve.hpp"
#include "helpdesk/helpdesk.hpp"
#include "policy/breached.hpp"
#include "policy/preflight.hpp"
#include "store/rotate_command.hpp"

#include <boost/program_options.hpp>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <string_view>
#include <system_error>

namespace sspr::gateway {

namespace po = boost::program_options;

namespace {

constexpr std::string_view usage = R"(Usage:
  ssprd serve -c FILE [--messages DIR]
  ssprd check-config FILE
  ssprd breached import [--min-count N] IN OUT    (IN may be - for standard input)
  ssprd breached verify FILE
  ssprd audit verify FILE
  ssprd store rotate-key -c FILE
  ssprd doctor -c FILE [--test-user LOGIN] [--protected-user LOGIN] [--canary-user LOGIN]
  ssprd helpdesk status USER -c FILE [--operator NAME]
  ssprd helpdesk clear USER METHOD -c FILE --operator NAME
  ssprd helpdesk unblock USER -c FILE --operator NAME
  ssprd enrollments export -c FILE [--output F] [--operator NAME]
  ssprd --help | --version
)";

constexpr std::string_view import_usage =
    "usage: ssprd breached import [--min-count N] IN OUT\n"
    "  IN              the Pwned Passwords SHA-1 file (\"HASH:COUNT\" lines sorted by hash, as "
    "the\n"
    "                  official downloader writes it), or - for standard input\n"
    "  OUT             the breached-password file to write; replaced atomically when done\n"
    "  --min-count N   keep only hashes seen at least N times (a smaller file)\n";

constexpr std::string_view verify_usage =
    "usage: ssprd breached verify FILE\n"
    "  reads all of FILE and checks that it is a complete, sorted breached-password file\n";

/// A sub-command's parsed command line, or the exit status when there is nothing to run (help
/// shown: 0; usage error reported: 2).
struct parsed {
    po::variables_map vm;
    std::optional<int> exit_status;
};

/// Parses `args` against `options` and the positional names, each taken once. --help prints
/// `help` to `out`; any error prints "<me>: <what>" and `help` to `err`.
parsed parse(const std::vector<std::string>& args, const po::options_description& options,
             const std::vector<std::string>& positional, std::string_view me, std::string_view help,
             std::ostream& out, std::ostream& err) {
    po::options_description all;
    all.add(options);
    po::options_description hidden;
    po::positional_options_description order;
    for (const auto& name : positional) {
        hidden.add_options()(name.c_str(), po::value<std::string>()->required(), "");
        order.add(name.c_str(), 1);
    }
    all.add(hidden);
    parsed result;
    try {
        po::store(po::command_line_parser(args).options(all).positional(order).run(), result.vm);
        if (result.vm.count("help") != 0U) {
            out << help;
            result.exit_status = 0;
            return result;
        }
        po::notify(result.vm);
    } catch (const po::error& e) {
        err << me << ": " << e.what() << "\n" << help;
        result.exit_status = 2;
    }
    return result;
}

po::options_description help_only(const char* caption) {
    po::options_description options(caption);
    options.add_options()("help,h", "show this help and exit");
    return options;
}

std::string usage_of(const po::options_description& options) {
    std::ostringstream text;
    text << usage << "\n" << options << "\n";
    return text.str();
}

int run_with_config(const std::vector<std::string>& args, bool serve, std::ostream& out,
                    std::ostream& err, const command_defaults& defaults) {
    po::options_description options(serve ? "ssprd serve" : "ssprd store rotate-key");
    options.add_options()("config,c", po::value<std::string>()->required(),
                          "the configuration file (YAML)");
    if (serve) {
        options.add_options()("messages",
                              po::value<std::string>()->default_value(defaults.messages_dir),
                              "directory of the message catalogue (en.json, ko.json)");
    }
    options.add_options()("help,h", "show this help and exit");
    auto p = parse(args, options, {}, "ssprd", usage_of(options), out, err);
    if (p.exit_status) {
        return *p.exit_status;
    }
    const auto config = p.vm["config"].as<std::string>();
    if (serve) {
        return run_serve(config, p.vm["messages"].as<std::string>(), err);
    }
    return store::run_rotate_key(config, out, err);
}

std::vector<std::string> after(const std::vector<std::string>& args, std::size_t n) {
    return {args.begin() + static_cast<std::ptrdiff_t>(std::min(n, args.size())), args.end()};
}

} // namespace

int run_breached_import(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                        std::ostream& err) {
    constexpr std::string_view me = "ssprd breached import";
    po::options_description options("ssprd breached import");
    policy::import_options import;
    // A string, read with from_chars: program_options' lexical_cast would turn "-1" into 2^64-1.
    options.add_options()("min-count", po::value<std::string>(),
                          "keep only hashes seen at least N times")("help,h", "show this help");
    auto p = parse(args, options, {"IN", "OUT"}, me, import_usage, out, err);
    if (p.exit_status) {
        return *p.exit_status;
    }
    if (p.vm.count("min-count") != 0U) {
        const auto& text = p.vm["min-count"].as<std::string>();
        const auto [end, ec] =
            std::from_chars(text.data(), text.data() + text.size(), import.min_count);
        if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
            err << me << ": --min-count needs a whole number, not '" << text << "'\n"
                << import_usage;
            return 2;
        }
    }
    const auto input_name = p.vm["IN"].as<std::string>();
    const auto output = p.vm["OUT"].as<std::string>();
    if (output == "-") {
        err << me << ": OUT must be a file: it is written to a temporary file and renamed\n"
            << import_usage;
        return 2;
    }
    import.progress = [&err, me ](std::uint64_t lines) {
        err << me << ": " << lines << " lines read\n"
            << std::flush;
};

std::vector<char> buffer;
std::ifstream file;
std::istream* source = &in;
if (input_name != "-") {
    buffer.resize(std::size_t{1} << 20);
    file.rdbuf()->pubsetbuf(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    file.open(input_name, std::ios::binary);
    if (!file) {
        err << me << ": cannot open " << input_name << ": "
            << std::generic_category().message(errno) << "\n";
        return 1;
    }
    source = &file;
}
const auto result = policy::import_pwned(*source, output, import);
if (!result) {
    err << me << ": " << input_name << ": " << result.error().describe() << "\n";
    return 1;
}
out << "imported " << result->entries << " hashes from " << result->lines << " lines into "
    << output;
if (import.min_count > 0) {
    out << " (" << result->below_min_count << " seen fewer than " << import.min_count
        << " times left out)";
}
out << "\n";
return 0;
} // namespace sspr::gateway

int run_breached_verify(const std::vector<std::string>& args, std::ostream& out,
                        std::ostream& err) {
    constexpr std::string_view me = "ssprd breached verify";
    auto p = parse(args, help_only("ssprd breached verify"), {"FILE"}, me, verify_usage, out, err);
    if (p.exit_status) {
        return *p.exit_status;
    }
    const auto path = p.vm["FILE"].as<std::string>();
    auto list = policy::breached_list::open(path);
    if (!list) {
        err << me << ": " << list.error().describe() << "\n";
        return 1;
    }
    if (auto checked = list->verify(); !checked) {
        err << me << ": " << path << ": " << checked.error().describe() << "\n";
        return 1;
    }
    out << path << ": " << list->size() << " hashes, sorted and complete\n";
    return 0;
}

int run_command(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                std::ostream& err, const command_defaults& defaults) {
    const std::string command = args.empty() ? "" : args[0];
    const std::string sub = args.size() > 1 ? args[1] : "";
    if (command == "serve") {
        return run_with_config(after(args, 1), true, out, err, defaults);
    }
    if (command == "store" && sub == "rotate-key") {
        return run_with_config(after(args, 2), false, out, err, defaults);
    }
    if (command == "audit" && sub == "verify") {
        auto p = parse(after(args, 2), help_only("ssprd audit verify"), {"FILE"},
                       "ssprd audit verify", "usage: ssprd audit verify FILE\n", out, err);
        return p.exit_status ? *p.exit_status
                             : audit::run_audit_verify(p.vm["FILE"].as<std::string>(), out, err);
    }
    if (command == "check-config") {
        auto p = parse(after(args, 1), help_only("ssprd check-config"), {"FILE"},
                       "ssprd check-config", "usage: ssprd check-config FILE\n", out, err);
        // The same checks the daemon's start-up and reload make (policy::preflight).
        return p.exit_status ? *p.exit_status
                             : config::run_check_config(p.vm["FILE"].as<std::string>(), out, err,
                                                        policy::with_preflight());
    }
    if (command == "doctor") {
        // Exit status: the worst check (0 PASS, 1 WARN, 2 FAIL), 64 for a usage error.
        return doctor::run_doctor(after(args, 1), out, err);
    }
    if (command == "helpdesk") {
        // Exit status: 0 done, 1 not found, 2 store/directory/audit failure, 64 usage.
        return helpdesk::run_helpdesk(after(args, 1), out, err);
    }
    if (command == "enrollments") {
        return helpdesk::run_enrollments(after(args, 1), out, err);
    }
    if (command == "breached" && sub == "import") {
        return run_breached_import(after(args, 2), in, out, err);
    }
    if (command == "breached" && sub == "verify") {
        return run_breached_verify(after(args, 2), out, err);
    }
    if (command == "--version") {
        out << "ssprd " SSPR_VERSION "\n";
        return 0;
    }
    if (command == "--help" || command == "-h") {
        out << "ssprd " SSPR_VERSION " - self-service password reset gateway\n\n" << usage;
        return 0;
    }
    if (command.empty()) {
        err << usage;
    } else {
        err << "ssprd: unknown command '" << command << (sub.empty() ? "" : " " + sub) << "'\n"
            << usage;
    }
    return 2;
}

} // namespace sspr::gateway
