#include "gateway/pages.hpp"

#include "common/hmac.hpp"
#include "common/log.hpp"
#include "config/holder.hpp"
#include "config/logo.hpp"
#include "flows/engine.hpp"
#include "gateway/http.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/encoding_opts.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>

#include <kainjow/mustache.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace sspr::gateway {

namespace {

namespace mus = kainjow::mustache;
using flows::flow_type;
using flows::problem;
using steady_time = std::chrono::steady_clock::time_point;

constexpr std::string_view page_cookie = "ssprd_page";
constexpr std::string_view lang_cookie = "ssprd_lang";
constexpr std::string_view enroll_cookie = "ssprd_enroll";
constexpr std::size_t max_field = 1024;
constexpr std::size_t max_template_bytes = std::size_t{256} * 1024;

const std::vector<std::string> template_names{"layout",
                                              "index",
                                              "start",
                                              "choose",
                                              "code",
                                              "rules",
                                              "new_password",
                                              "unlock_confirm",
                                              "change",
                                              "done",
                                              "message",
                                              "enroll_signin",
                                              "enroll_methods",
                                              "enroll_email_verify",
                                              "enroll_totp",
                                              "answer_questions",
                                              "enroll_questions"};

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        throw catalogue_error(p.string() + ": cannot be read");
    }
    std::ostringstream s;
    s << in.rdbuf();
    std::string text = s.str();
    if (text.size() > max_template_bytes) {
        throw catalogue_error(p.string() + ": larger than 256 KiB");
    }
    return text;
}

std::string base64url(const unsigned char* data, std::size_t n) {
    std::string out(4 * ((n + 2) / 3) + 1, '\0');
    const int len =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(n));
    out.resize(static_cast<std::size_t>(len));
    while (!out.empty() && out.back() == '=') {
        out.pop_back();
    }
    std::replace(out.begin(), out.end(), '+', '-');
    std::replace(out.begin(), out.end(), '/', '_');
    return out;
}

std::string random_id() {
    std::array<unsigned char, 16> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return base64url(bytes.data(), bytes.size());
}

bool equal_constant_time(std::string_view a, std::string_view b) {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

/// A decoded application/x-www-form-urlencoded body or query (Boost.URL); values are secrets.
class form {
public:
    /// nullopt: not a valid query string (bad percent-encoding).
    static std::optional<form> parse(std::string_view text) {
        form f;
        if (text.empty()) {
            return f;
        }
        auto params = boost::urls::parse_query(text);
        if (!params) {
            return std::nullopt;
        }
        boost::urls::encoding_opts opt;
        opt.space_as_plus = true;
        for (const auto& p : *params) {
            std::string key = p.key.decode(opt);
            common::secret value(p.has_value ? p.value.decode(opt) : std::string());
            f.fields_.emplace_back(std::move(key), std::move(value));
        }
        return f;
    }

    /// The first value of `name`; empty when absent or longer than max_field.
    [[nodiscard]] common::secret secret(std::string_view name) const {
        for (const auto& [k, v] : fields_) {
            if (k == name) {
                return v.reveal().size() <= max_field ? v : common::secret();
            }
        }
        return {};
    }
    /// The same for a value that is not a secret (user name, method id, address).
    [[nodiscard]] std::string text(std::string_view name) const {
        return std::string(secret(name).reveal());
    }

private:
    std::vector<std::pair<std::string, common::secret>> fields_;
};

struct error_item {
    std::string message;
    std::string field; // the input's id; "" for a summary-only error
};

} // namespace

// ---- templates --------------------------------------------------------------------------------

page_templates page_templates::load(const std::filesystem::path& dir) {
    page_templates t;
    for (const auto& name : template_names) {
        const auto path = dir / (name + ".mustache");
        std::string text = read_file(path);
        const mus::mustache compiled(text);
        if (!compiled.is_valid()) {
            throw catalogue_error(path.string() + ": " + compiled.error_message());
        }
        t.sources_.emplace_back(name, std::move(text));
    }
    t.css_ = read_file(dir / "ssprd.css");
    return t;
}

const std::vector<std::string>& page_templates::names() {
    return template_names;
}

const std::string& page_templates::source(std::string_view name) const {
    for (const auto& [n, text] : sources_) {
        if (n == name) {
            return text;
        }
    }
    throw std::logic_error("no page template " + std::string(name));
}

common::secret page_key_from(const common::secret& hmac_key) {
    static constexpr std::string_view label = "ssprd pages: CSRF tokens";
    auto mac = common::hmac_sha256(hmac_key.reveal(), label);
    if (!mac) {
        throw std::runtime_error("HMAC-SHA-256 failed");
    }
    common::secret out(std::string(reinterpret_cast<const char*>(mac->data()), mac->size()));
    OPENSSL_cleanse(mac->data(), mac->size());
    return out;
}

std::filesystem::path templates_dir_for(const std::filesystem::path& messages_dir) {
    auto dir = messages_dir;
    while (!dir.empty() && dir.filename().empty()) { // a trailing slash
        dir = dir.parent_path();
    }
    return dir.parent_path() / "templates";
}

// ---- the pages --------------------------------------------------------------------------------

struct pages::impl {
    flows::engine& engine;
    const config::holder& config;
    std::shared_ptr<const i18n> messages;
    page_templates templates;
    common::secret csrf_key;
    std::map<std::string, mus::data, std::less<>> ui_texts; // language -> nested "ui.*" texts

    // ui.logo, read once per configuration (again after a reload that names another file or
    // the same file anew); guarded by logo_mutex.
    std::mutex logo_mutex;
    std::shared_ptr<const config::config> logo_of;
    std::shared_ptr<const logo_image> logo;

    std::shared_ptr<const logo_image> current_logo() {
        auto cfg = config.snapshot();
        const std::lock_guard lock(logo_mutex);
        if (cfg != logo_of) {
            logo = read_logo(cfg->ui.logo);
            logo_of = std::move(cfg);
        }
        return logo;
    }

    static std::shared_ptr<const logo_image> read_logo(const std::string& path) {
        if (path.empty()) {
            return nullptr;
        }
        // check-config judged the file; it may have been replaced since, so judge it again.
        std::ifstream in(path, std::ios::binary);
        std::string bytes(config::max_logo_bytes + 1, '\0');
        in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
        bytes.resize(in ? bytes.size() : static_cast<std::size_t>(in.gcount()));
        const auto type = config::logo_content_type(bytes);
        if (!in.eof() || bytes.size() > config::max_logo_bytes || type.empty()) {
            common::log(common::log_level::warning,
                        "pages: ui.logo is unreadable, larger than 256 KiB or not an image now; "
                        "the pages show none",
                        {{"path", path}});
            return nullptr;
        }
        auto image = std::make_shared<logo_image>();
        image->content_type = std::string(type);
        image->bytes = std::move(bytes);
        return image;
    }

    impl(flows::engine& e, const config::holder& c, std::shared_ptr<const i18n> m, page_templates t,
         common::secret page_key)
        : engine(e), config(c), messages(std::move(m)), templates(std::move(t)),
          csrf_key(std::move(page_key)) {
        // Every "ui.x.y" text as nested objects, so that templates say {{ui.title.reset}}.
        struct node {
            std::string text;
            std::map<std::string, node> kids;
        };
        for (const auto& lang : messages->languages()) {
            node root;
            for (const auto& key : messages->keys()) {
                if (key.rfind("ui.", 0) != 0) {
                    continue;
                }
                node* at = &root;
                std::string_view rest = key;
                while (true) {
                    const auto dot = rest.find('.');
                    at = &at->kids[std::string(rest.substr(0, dot))];
                    if (dot == std::string_view::npos) {
                        break;
                    }
                    rest.remove_prefix(dot + 1);
                }
                at->text = messages->text(lang, key);
            }
            std::function<mus::data(const node&)> convert = [&](const node& n) -> mus::data {
                if (n.kids.empty()) {
                    return mus::data(n.text);
                }
                mus::data obj(mus::data::type::object);
                for (const auto& [k, kid] : n.kids) {
                    obj.set(k, convert(kid));
                }
                return obj;
            };
            ui_texts.emplace(lang, convert(root));
        }
    }

    // ---- one request -----------------------------------------------------------------------

    struct view {
        const page_request& req;
        std::string lang;
        std::string page_session; // the ssprd_page cookie's value (new or presented)
        page_response res;
        std::vector<error_item> errors;
        std::string notice;
        std::string title;
        std::string path_for_lang = "/"; // where the language links point
    };

    [[nodiscard]] std::string text(const view& v, std::string_view key,
                                   const text_params& params = {}) const {
        return messages->text(v.lang, key, params);
    }

    [[nodiscard]] std::string csrf_of(std::string_view session) const {
        static constexpr std::string_view label = "ssprd page csrf\n";
        std::string input(label);
        input += session;
        const auto mac = common::hmac_sha256(csrf_key.reveal(), input);
        // No token (OpenSSL out of memory) matches no form: the post is refused, never let by.
        return mac ? base64url(mac->data(), mac->size()) : std::string();
    }

    [[nodiscard]] flows::request_context context_of(const view& v) const {
        return flows::request_context{v.req.request_id, v.req.client_ip, v.lang, v.req.received};
    }

    [[nodiscard]] mus::data base_data(const view& v) const {
        const auto cfg = config.snapshot();
        mus::data d = ui_texts.at(v.lang);
        d.set("lang", v.lang);
        d.set("organisation", cfg->ui.organisation);
        d.set("helpdesk_url", cfg->ui.helpdesk_url);
        d.set("helpdesk_email", cfg->ui.helpdesk_email);
        d.set("logo", !cfg->ui.logo.empty());
        d.set("csrf", csrf_of(v.page_session));
        return d;
    }

    void error(view& v, const flows::failure& f, std::string field = {}) const {
        text_params params(f.params.begin(), f.params.end());
        v.errors.push_back({text(v, "problem." + std::string(flows::to_string(f.problem)), params),
                            std::move(field)});
    }
    void error_text(view& v, std::string_view key, std::string field = {}) const {
        v.errors.push_back({text(v, key), std::move(field)});
    }

    /// The field a problem belongs to on the page that shows it ("" = summary only).
    static std::string field_of(problem p) {
        switch (p) {
        case problem::password_too_short:
        case problem::password_too_long:
        case problem::password_not_complex:
        case problem::password_contains_name:
        case problem::password_banned:
        case problem::password_breached:
        case problem::password_invalid:
        case problem::password_in_history:
        case problem::password_too_young:
        case problem::password_rejected:
        case problem::password_mismatch:
            return "new_password";
        case problem::proof_invalid:
        case problem::challenge_required:
            return "code";
        case problem::address_invalid:
            return "address";
        default:
            return {};
        }
    }

    /// The message of the error at input `field` ("" = none): for the inputs a template
    /// repeats in a list, which cannot name their own "<field>_error" as render() sets it.
    static std::string error_at(const view& v, std::string_view field) {
        for (const auto& e : v.errors) {
            if (e.field == field) {
                return e.message;
            }
        }
        return {};
    }

    /// Renders template `name` with `d` inside the layout into v.res.
    void render(view& v, std::string_view name, mus::data d, unsigned status = 200) const {
        mus::mustache body(templates.source(name));
        // Field errors next to their inputs, all of them in the summary.
        for (const auto& e : v.errors) {
            if (!e.field.empty()) {
                d.set(e.field + "_error", e.message);
            }
        }
        const std::string content = body.render(d);

        mus::data layout = base_data(v);
        layout.set("title", v.title);
        layout.set("content", content);
        mus::data errors(mus::data::type::list);
        for (const auto& e : v.errors) {
            mus::data item;
            item.set("message", e.message);
            item.set("field", e.field);
            errors.push_back(item);
        }
        layout.set("has_errors", !v.errors.empty());
        layout.set("errors", errors);
        if (!v.notice.empty()) { // kainjow: an empty string still opens {{#notice}}
            layout.set("notice", v.notice);
        }
        mus::data langs(mus::data::type::list);
        for (const auto& code : messages->languages()) {
            mus::data item;
            item.set("code", code);
            item.set("label", text(v, "ui.language." + code));
            item.set("href", v.path_for_lang + "?lang=" + code);
            item.set("current", code == v.lang);
            langs.push_back(item);
        }
        layout.set("languages", langs);
        mus::mustache page(templates.source("layout"));
        v.res.status = status;
        v.res.body = common::secret(page.render(layout));
    }

    void see_other(view& v, std::string location) const {
        v.res.status = 303;
        v.res.location = std::move(location);
        v.res.body = common::secret(std::string());
    }

    [[nodiscard]] mus::data rules_data(const view& v) const {
        const auto cfg = config.snapshot();
        mus::data rules(mus::data::type::list);
        rules.push_back(mus::data(
            text(v, "password.too_short", {{"min", std::to_string(cfg->password.min_length)}})));
        if (cfg->password.ad_complexity) {
            rules.push_back(mus::data(text(v, "password.not_complex", {{"classes", "3"}})));
            rules.push_back(mus::data(text(v, "password.contains_name", {{"min_part", "3"}})));
        }
        if (!cfg->password.banned_terms.empty() || !cfg->password.banned_terms_file.empty()) {
            rules.push_back(mus::data(text(v, "ui.password.rule_banned")));
        }
        if (!cfg->password.breached_file.empty()) {
            rules.push_back(mus::data(text(v, "ui.password.rule_breached")));
        }
        mus::data d = base_data(v);
        d.set("rules", rules);
        mus::mustache m(templates.source("rules"));
        return mus::data(m.render(d));
    }

    // ---- reset and unlock --------------------------------------------------------------------

    static std::string base_of(flow_type t) { return t == flow_type::reset ? "/reset" : "/unlock"; }
    std::string title_of(const view& v, flow_type t) const {
        return text(v, t == flow_type::reset ? "ui.title.reset" : "ui.title.unlock");
    }

    void start_page(view& v, flow_type t, std::string_view username = {}) const {
        v.title = title_of(v, t);
        mus::data d = base_data(v);
        d.set("action", base_of(t) + "/start");
        d.set("intro",
              text(v, t == flow_type::reset ? "ui.step.start_reset" : "ui.step.start_unlock"));
        d.set("username", std::string(username));
        render(v, "start", std::move(d), v.errors.empty() ? 200 : 400);
    }

    /// A dead end of a flow (expired, used, throttled): the message and a link to start again.
    void flow_message(view& v, flow_type t, const flows::failure& f) const {
        v.title = title_of(v, t);
        error(v, f);
        mus::data d = base_data(v);
        d.set("again", base_of(t));
        render(v, "message", std::move(d), flows::http_status(f.problem));
    }

    /// The offers of a flow as the hidden field carries them: [{"id","kind","hint"}].
    static std::string offers_text(const std::vector<flows::method_offer>& offers) {
        boost::json::array a;
        for (const auto& o : offers) {
            a.push_back(boost::json::object{{"id", o.id}, {"kind", o.kind}, {"hint", o.hint}});
        }
        return boost::json::serialize(a);
    }
    static std::vector<flows::method_offer> offers_from(std::string_view text) {
        std::vector<flows::method_offer> out;
        boost::system::error_code ec;
        const auto value = boost::json::parse(text, ec);
        if (ec || !value.is_array()) {
            return out;
        }
        for (const auto& e : value.get_array()) {
            const auto* o = e.if_object();
            if (o == nullptr) {
                continue;
            }
            flows::method_offer m;
            for (const auto& [k, field] : *o) {
                if (const auto* s = field.if_string()) {
                    if (k == "id") {
                        m.id = std::string(*s);
                    } else if (k == "kind") {
                        m.kind = std::string(*s);
                    } else if (k == "hint") {
                        m.hint = std::string(*s);
                    }
                }
            }
            out.push_back(std::move(m));
        }
        return out;
    }

    std::string method_label(const view& v, const flows::method_offer& m) const {
        return text(v, "ui.method." + (m.kind.empty() ? std::string("totp") : m.kind),
                    {{"hint", m.hint}});
    }

    /// Where a flow of several gates stands, for "Step 2 of 2" on each of its pages. The forms
    /// carry it (hidden fields, as the offers) because only verify tells it; it is shown and
    /// nothing else: the engine counts the gates itself.
    struct gates {
        unsigned passed = 0;
        unsigned required = 1;

        static gates from(const form& f) {
            const auto number = [&](std::string_view name) {
                const std::string s = f.text(name);
                return s.size() == 1 && s[0] >= '0' && s[0] <= '9'
                           ? static_cast<unsigned>(s[0] - '0')
                           : 0U;
            };
            gates g{number("gates_passed"), number("gates_required")};
            if (g.required < 1 || g.required > 2 || g.passed >= g.required) {
                return {};
            }
            return g;
        }
    };

    /// The hidden fields of `g` and, in a flow of several gates, the step the page is.
    void set_gates(const view& v, mus::data& d, gates g) const {
        d.set("gates_passed", std::to_string(g.passed));
        d.set("gates_required", std::to_string(g.required));
        if (g.required > 1) {
            d.set("progress", text(v, "ui.step.progress",
                                   {{"passed", std::to_string(g.passed + 1)},
                                    {"required", std::to_string(g.required)}}));
        }
    }

    void choose_page(view& v, flow_type t, std::string_view flow,
                     const std::vector<flows::method_offer>& offers, gates g) const {
        v.title = title_of(v, t);
        mus::data d = base_data(v);
        d.set("action", base_of(t) + "/challenge");
        d.set("flow", std::string(flow));
        d.set("offers", offers_text(offers));
        set_gates(v, d, g);
        mus::data list(mus::data::type::list);
        bool first = true;
        for (const auto& m : offers) {
            if (m.kind != "email" && m.kind != "sms" && m.kind != "totp" && m.kind != "questions") {
                continue;
            }
            mus::data item;
            item.set("id", m.id);
            item.set("label", method_label(v, m));
            item.set("first", first);
            first = false;
            list.push_back(item);
        }
        if (first) {
            error_text(v, "ui.step.no_methods");
        }
        d.set("methods", list);
        render(v, "choose", std::move(d), v.errors.empty() ? 200 : 400);
    }

    void code_page(view& v, flow_type t, std::string_view flow, const flows::method_offer& m,
                   const std::vector<flows::method_offer>& offers, gates g) const {
        v.title = title_of(v, t);
        mus::data d = base_data(v);
        d.set("action", base_of(t) + "/verify");
        d.set("flow", std::string(flow));
        d.set("method", m.id);
        d.set("offers", offers_text(offers));
        set_gates(v, d, g);
        d.set("prompt", m.kind == "totp" ? text(v, "ui.step.enter_totp")
                                         : text(v, "ui.step.code_sent", {{"hint", m.hint}}));
        render(v, "code", std::move(d), v.errors.empty() ? 200 : 400);
    }

    /// The questions asked, as the hidden field carries them: [{"id","text"}].
    static std::string questions_text(const std::vector<flows::question_prompt>& questions) {
        boost::json::array a;
        for (const auto& q : questions) {
            a.push_back(boost::json::object{{"id", q.id}, {"text", q.text}});
        }
        return boost::json::serialize(a);
    }
    static std::vector<flows::question_prompt> questions_from(std::string_view text) {
        std::vector<flows::question_prompt> out;
        boost::system::error_code ec;
        const auto value = boost::json::parse(text, ec);
        if (ec || !value.is_array()) {
            return out;
        }
        for (const auto& e : value.get_array()) {
            const auto* o = e.if_object();
            const auto* id = o == nullptr ? nullptr : o->if_contains("id");
            const auto* q = o == nullptr ? nullptr : o->if_contains("text");
            if (id != nullptr && q != nullptr && id->is_string() && q->is_string()) {
                out.push_back({std::string(id->get_string()), std::string(q->get_string())});
            }
        }
        return out;
    }

    void questions_page(view& v, flow_type t, std::string_view flow, const flows::method_offer& m,
                        const std::vector<flows::method_offer>& offers,
                        const std::vector<flows::question_prompt>& questions, gates g) const {
        v.title = title_of(v, t);
        mus::data d = base_data(v);
        d.set("action", base_of(t) + "/verify");
        d.set("flow", std::string(flow));
        d.set("method", m.id);
        d.set("offers", offers_text(offers));
        set_gates(v, d, g);
        d.set("questions_json", questions_text(questions));
        mus::data list(mus::data::type::list);
        for (std::size_t i = 0; i < questions.size(); ++i) {
            mus::data item;
            item.set("index", std::to_string(i));
            item.set("text", questions[i].text);
            item.set("first", i == 0);
            if (auto e = error_at(v, "answer-" + std::to_string(i)); !e.empty()) {
                item.set("error", e);
            }
            list.push_back(item);
        }
        d.set("questions", list);
        render(v, "answer_questions", std::move(d), v.errors.empty() ? 200 : 400);
    }

    void new_password_page(view& v, std::string_view flow) const {
        v.title = title_of(v, flow_type::reset);
        mus::data d = base_data(v);
        d.set("action", "/reset/complete");
        d.set("flow", std::string(flow));
        d.set("rules_html", rules_data(v));
        render(v, "new_password", std::move(d), v.errors.empty() ? 200 : 422);
    }

    void done_page(view& v, std::string title, std::string_view message_key) const {
        v.title = std::move(title);
        mus::data d = base_data(v);
        d.set("message", text(v, message_key));
        render(v, "done", std::move(d));
    }

    /// Problems after which a flow cannot go on from this page.
    static bool dead_end(problem p) {
        return p == problem::flow_not_found || p == problem::throttled ||
               p == problem::gates_missing || p == problem::account_protected ||
               p == problem::directory_unavailable || p == problem::service_unavailable ||
               p == problem::internal_error || p == problem::invalid_request;
    }

    void post_start(view& v, flow_type t, const form& f) const {
        const std::string username = f.text("username");
        if (trim_blanks(username).empty()) {
            error_text(v, "ui.error.username_required", "username");
            return start_page(v, t, username);
        }
        const auto ctx = context_of(v);
        auto started = engine.start(t, ctx, username);
        v.res.not_before = engine.respond_not_before(ctx);
        if (!started) {
            error(v, started.error(), "username");
            return start_page(v, t, username);
        }
        choose_page(v, t, started->flow.reveal(), started->methods,
                    gates{0, started->gates_required});
    }

    void post_challenge(view& v, flow_type t, const form& f) const {
        const common::secret flow = f.secret("flow");
        const std::string method = f.text("method");
        const auto offers = offers_from(f.text("offers"));
        const auto g = gates::from(f);
        const auto ctx = context_of(v);
        auto offer = std::find_if(offers.begin(), offers.end(),
                                  [&](const flows::method_offer& o) { return o.id == method; });
        if (method.empty() || offer == offers.end()) {
            error(v, flows::failure(problem::method_not_available));
            return choose_page(v, t, flow.reveal(), offers, g);
        }
        auto sent = engine.challenge(t, ctx, flow.reveal(), method);
        v.res.not_before = engine.respond_not_before(ctx);
        if (!sent) {
            if (dead_end(sent.error().problem)) {
                return flow_message(v, t, sent.error());
            }
            error(v, sent.error());
            return choose_page(v, t, flow.reveal(), offers, g);
        }
        if (offer->kind == "questions") {
            return questions_page(v, t, flow.reveal(), *offer, offers, sent->questions, g);
        }
        code_page(v, t, flow.reveal(), *offer, offers, g);
    }

    void post_verify(view& v, flow_type t, const form& f) const {
        const common::secret flow = f.secret("flow");
        const std::string method = f.text("method");
        const common::secret code = f.secret("code");
        auto offers = offers_from(f.text("offers"));
        const auto g = gates::from(f);
        const auto offer =
            std::find_if(offers.begin(), offers.end(),
                         [&](const flows::method_offer& o) { return o.id == method; });
        const flows::method_offer m =
            offer == offers.end() ? flows::method_offer{method, "totp", ""} : *offer;
        const bool questions = m.kind == "questions";
        const std::vector<flows::question_prompt> asked =
            questions ? questions_from(f.text("questions")) : std::vector<flows::question_prompt>{};
        const auto again = [&] {
            return questions ? questions_page(v, t, flow.reveal(), m, offers, asked, g)
                             : code_page(v, t, flow.reveal(), m, offers, g);
        };
        const std::string field = questions ? "answer-0" : "code";
        flows::proof proof;
        if (questions) {
            for (std::size_t i = 0; i < asked.size(); ++i) {
                common::secret text = f.secret("answer_" + std::to_string(i));
                if (text.reveal().empty()) {
                    error_text(v, "ui.error.answer_required", "answer-" + std::to_string(i));
                    return again();
                }
                proof.answers.push_back({asked[i].id, std::move(text)});
            }
        } else if (code.reveal().empty()) {
            error_text(v, "ui.error.code_required", "code");
            return again();
        } else {
            proof.code = code;
        }
        const auto ctx = context_of(v);
        auto checked = engine.verify(t, ctx, flow.reveal(), method, proof);
        v.res.not_before = engine.respond_not_before(ctx);
        if (!checked) {
            if (dead_end(checked.error().problem)) {
                return flow_message(v, t, checked.error());
            }
            error(v, checked.error(), field);
            if (questions) {
                // A wrong answer uses the questions up (the engine asks for a new challenge):
                // ask again, maybe other ones, with the refusal above them.
                auto fresh = engine.challenge(t, ctx, flow.reveal(), method);
                if (!fresh) {
                    v.errors.clear();
                    return flow_message(v, t, fresh.error());
                }
                return questions_page(v, t, flow.reveal(), m, offers, fresh->questions, g);
            }
            return again();
        }
        if (checked->gates_passed < checked->gates_required) {
            std::erase_if(offers, [&](const flows::method_offer& o) { return o.id == method; });
            return choose_page(v, t, flow.reveal(), offers,
                               gates{checked->gates_passed, checked->gates_required});
        }
        if (t == flow_type::reset) {
            return new_password_page(v, flow.reveal());
        }
        v.title = title_of(v, t);
        mus::data d = base_data(v);
        d.set("flow", std::string(flow.reveal()));
        render(v, "unlock_confirm", std::move(d));
    }

    void post_complete_reset(view& v, const form& f) const {
        const common::secret flow = f.secret("flow");
        const common::secret password = f.secret("new_password");
        const common::secret confirm = f.secret("confirm_password");
        if (password.reveal().empty()) {
            error_text(v, "ui.error.password_required", "new_password");
            return new_password_page(v, flow.reveal());
        }
        if (!equal_constant_time(password.reveal(), confirm.reveal())) {
            error(v, flows::failure(problem::password_mismatch), "new_password");
            return new_password_page(v, flow.reveal());
        }
        auto done = engine.complete_reset(context_of(v), flow.reveal(), password);
        if (!done) {
            if (dead_end(done.error().problem)) {
                return flow_message(v, flow_type::reset, done.error());
            }
            error(v, done.error(), field_of(done.error().problem));
            return new_password_page(v, flow.reveal());
        }
        done_page(v, title_of(v, flow_type::reset), "ui.done.changed");
    }

    void post_complete_unlock(view& v, const form& f) const {
        const common::secret flow = f.secret("flow");
        auto done = engine.complete_unlock(context_of(v), flow.reveal());
        if (!done) {
            return flow_message(v, flow_type::unlock, done.error());
        }
        done_page(v, title_of(v, flow_type::unlock), "ui.done.unlocked");
    }

    // ---- change ------------------------------------------------------------------------------

    void change_page(view& v, std::string_view username = {}) const {
        v.title = text(v, "ui.title.change");
        mus::data d = base_data(v);
        d.set("username", std::string(username));
        d.set("rules_html", rules_data(v));
        render(v, "change", std::move(d), v.errors.empty() ? 200 : 422);
    }

    void post_change(view& v, const form& f) const {
        const std::string username = f.text("username");
        const common::secret current = f.secret("current_password");
        const common::secret next = f.secret("new_password");
        const common::secret confirm = f.secret("confirm_password");
        if (trim_blanks(username).empty()) {
            error_text(v, "ui.error.username_required", "username");
        }
        if (next.reveal().empty()) {
            error_text(v, "ui.error.password_required", "new_password");
        } else if (!equal_constant_time(next.reveal(), confirm.reveal())) {
            error(v, flows::failure(problem::password_mismatch), "new_password");
        }
        if (!v.errors.empty()) {
            return change_page(v, username);
        }
        const auto ctx = context_of(v);
        auto done = engine.change_password(ctx, username, current, next);
        v.res.not_before = engine.respond_not_before(ctx);
        if (!done) {
            error(v, done.error(), field_of(done.error().problem));
            return change_page(v, username);
        }
        done_page(v, text(v, "ui.title.change"), "ui.done.changed");
    }

    // ---- enrollment --------------------------------------------------------------------------

    static std::string session_of(const view& v) {
        return std::string(cookie_value(v.req.cookie, enroll_cookie));
    }

    void signin_page(view& v, std::string_view username = {}) const {
        v.title = text(v, "ui.title.enroll");
        mus::data d = base_data(v);
        d.set("username", std::string(username));
        render(v, "enroll_signin", std::move(d), v.errors.empty() ? 200 : 401);
    }

    /// The methods page; a dead session shows the sign-in form instead. `status` is the answer's
    /// when there are errors (the refusal's own, e.g. 404 for a method removed already).
    void methods_page(view& v, std::string_view address = {}, unsigned status = 400) const {
        const std::string token = session_of(v);
        if (token.empty()) {
            return signin_page(v);
        }
        auto listed = engine.enroll_methods(context_of(v), token);
        if (!listed) {
            if (listed.error().problem == problem::session_invalid) {
                v.errors.clear();
                v.notice.clear();
                error(v, listed.error());
                return signin_page(v);
            }
            error(v, listed.error());
            v.title = text(v, "ui.title.enroll");
            mus::data d = base_data(v);
            d.set("again", "/enroll");
            return render(v, "message", std::move(d), flows::http_status(listed.error().problem));
        }
        v.title = text(v, "ui.title.enroll");
        mus::data d = base_data(v);
        mus::data list(mus::data::type::list);
        const std::string csrf = csrf_of(v.page_session);
        for (const auto& m : listed->methods) {
            mus::data item;
            const std::string label = text(v, "ui.enroll.method_" + m.kind, {{"hint", m.hint}});
            item.set("id", m.id);
            item.set("label", label);
            item.set("csrf", csrf);
            item.set("remove_label", text(v, "ui.enroll.remove_label", {{"method", label}}));
            item.set("state", text(v, m.reconfirm_due ? "ui.enroll.reconfirm_due"
                                      : m.confirmed   ? "ui.enroll.confirmed"
                                                      : "ui.enroll.unconfirmed"));
            list.push_back(item);
        }
        d.set("methods", list);
        d.set("has_methods", !listed->methods.empty());
        d.set("status", listed->complete ? text(v, "ui.enroll.complete")
                                         : text(v, "ui.enroll.incomplete",
                                                {{"required", std::to_string(listed->required)}}));
        const auto allows = [&](std::string_view k) {
            return std::find(listed->allowed.begin(), listed->allowed.end(), k) !=
                   listed->allowed.end();
        };
        d.set("email_allowed", allows("email"));
        d.set("sms_allowed", allows("sms"));
        d.set("totp_allowed", allows("totp"));
        d.set("questions_allowed", allows("questions"));
        d.set("address", std::string(address));
        render(v, "enroll_methods", std::move(d), v.errors.empty() ? 200 : status);
    }

    void get_enroll(view& v, const form& query) const {
        const std::string done = query.text("done");
        if (done == "email" || done == "sms" || done == "totp" || done == "questions" ||
            done == "removed") {
            v.notice = text(v, "ui.enroll.done_" + done);
        }
        methods_page(v);
    }

    void post_session(view& v, const form& f) const {
        const std::string username = f.text("username");
        const common::secret password = f.secret("password");
        if (trim_blanks(username).empty()) {
            error_text(v, "ui.error.username_required", "username");
            return signin_page(v, username);
        }
        const auto ctx = context_of(v);
        auto session = engine.enroll_session(ctx, username, password);
        v.res.not_before = engine.respond_not_before(ctx);
        if (!session) {
            error(v, session.error());
            return signin_page(v, username);
        }
        v.res.set_cookies.push_back(std::string(enroll_cookie) + "=" +
                                    std::string(session->token.reveal()) +
                                    "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" +
                                    std::to_string(session->expires_in.count()));
        see_other(v, "/enroll");
    }

    /// A refusal of an enrollment step: sign in again, or the methods page with the message.
    void enroll_refused(view& v, const flows::failure& f, std::string_view address = {}) const {
        if (f.problem == problem::session_invalid) {
            error(v, f);
            return signin_page(v);
        }
        error(v, f, field_of(f.problem));
        methods_page(v, address, flows::http_status(f.problem));
    }

    /// The address field of a contact kind on the methods page ("address" for e-mail, "number").
    static std::string contact_field(std::string_view kind) {
        return kind == "sms" ? "number" : "address";
    }

    void contact_verify_page(view& v, std::string_view kind, std::string_view address) const {
        v.title = text(v, "ui.title.enroll");
        mus::data d = base_data(v);
        d.set("action", "/enroll/" + std::string(kind) + "/verify");
        d.set("field", contact_field(kind));
        d.set("address", std::string(address));
        d.set("prompt", text(v, kind == "sms" ? "ui.enroll.sms_sent" : "ui.enroll.email_sent",
                             {{"address", std::string(address)}}));
        render(v, "enroll_email_verify", std::move(d), v.errors.empty() ? 200 : 400);
    }

    void post_contact(view& v, std::string_view kind, const form& f) const {
        const std::string field = contact_field(kind);
        const std::string address = std::string(trim_blanks(f.text(field)));
        if (address.empty()) {
            error_text(v, kind == "sms" ? "ui.error.number_required" : "ui.error.address_required",
                       field);
            return methods_page(v);
        }
        auto sent = engine.enroll_contact(context_of(v), session_of(v), kind, address);
        if (!sent) {
            if (sent.error().problem == problem::address_invalid) {
                error(v, sent.error(), field);
                return methods_page(v, kind == "email" ? address : std::string_view{});
            }
            return enroll_refused(v, sent.error(), kind == "email" ? address : std::string_view{});
        }
        contact_verify_page(v, kind, address);
    }

    void post_contact_verify(view& v, std::string_view kind, const form& f) const {
        const std::string address = f.text(contact_field(kind));
        const common::secret code = f.secret("code");
        if (code.reveal().empty()) {
            error_text(v, "ui.error.code_required", "code");
            return contact_verify_page(v, kind, address);
        }
        auto ok = engine.enroll_contact_verify(context_of(v), session_of(v), kind, address, code);
        if (!ok) {
            if (ok.error().problem == problem::proof_invalid) {
                error(v, ok.error(), "code");
                return contact_verify_page(v, kind, address);
            }
            return enroll_refused(v, ok.error());
        }
        see_other(v, "/enroll?done=" + std::string(kind));
    }

    // Security questions: `register_count` slots, each a choice of the pool and an answer.
    void enroll_questions_page(view& v, const form& chosen) const {
        const auto pool = engine.enroll_questions(context_of(v), session_of(v));
        if (!pool) {
            return enroll_refused(v, pool.error());
        }
        const auto cfg = config.snapshot();
        const unsigned count = cfg->methods.questions.register_count;
        v.title = text(v, "ui.title.enroll");
        mus::data d = base_data(v);
        d.set("intro", text(v, "ui.enroll.questions_intro", {{"count", std::to_string(count)}}));
        mus::data slots(mus::data::type::list);
        for (unsigned i = 0; i < count; ++i) {
            const std::string n = std::to_string(i + 1);
            const std::string was = chosen.text("question_" + std::to_string(i));
            mus::data slot;
            slot.set("index", std::to_string(i));
            slot.set("question_label", text(v, "ui.field.question_n", {{"n", n}}));
            slot.set("answer_label", text(v, "ui.field.answer_n", {{"n", n}}));
            // kainjow: an empty string still opens {{#error}}.
            if (auto e = error_at(v, "answer-" + std::to_string(i)); !e.empty()) {
                slot.set("error", e);
            }
            mus::data options(mus::data::type::list);
            for (std::size_t q = 0; q < pool->size(); ++q) {
                mus::data option;
                option.set("id", (*pool)[q].id);
                option.set("text", (*pool)[q].text);
                option.set("selected", was.empty() ? q == i : was == (*pool)[q].id);
                options.push_back(option);
            }
            slot.set("options", options);
            slots.push_back(slot);
        }
        d.set("slots", slots);
        render(v, "enroll_questions", std::move(d), v.errors.empty() ? 200 : 400);
    }

    void post_questions(view& v, const form& f) const {
        const auto cfg = config.snapshot();
        const unsigned count = cfg->methods.questions.register_count;
        std::vector<flows::answer> answers;
        for (unsigned i = 0; i < count; ++i) {
            const std::string index = std::to_string(i);
            common::secret answer = f.secret("answer_" + index);
            if (answer.reveal().empty()) {
                error_text(v, "ui.error.answer_required", "answer-" + index);
                return enroll_questions_page(v, f);
            }
            answers.push_back({f.text("question_" + index), std::move(answer)});
        }
        auto ok = engine.enroll_put_questions(context_of(v), session_of(v), answers);
        if (!ok) {
            if (ok.error().problem == problem::answers_invalid) {
                error(v, ok.error(), "answer-0");
                return enroll_questions_page(v, f);
            }
            return enroll_refused(v, ok.error());
        }
        see_other(v, "/enroll?done=questions");
    }

    void totp_page(view& v, const flows::totp_offer_result* offer) const {
        v.title = text(v, "ui.title.enroll");
        mus::data d = base_data(v);
        if (offer != nullptr) {
            const auto svg = offer->qr_svg.reveal();
            d.set("qr_src",
                  "data:image/svg+xml;base64," +
                      base64_std(reinterpret_cast<const unsigned char*>(svg.data()), svg.size()));
            // The secret for typing in by hand: the otpauth URI's "secret" parameter.
            auto uri = boost::urls::parse_uri(offer->otpauth_uri.reveal());
            if (uri) {
                for (const auto& p : uri->params()) {
                    if (p.key == "secret") {
                        d.set("secret", std::string(p.value));
                    }
                }
            }
        }
        render(v, "enroll_totp", std::move(d), v.errors.empty() ? 200 : 400);
    }

    static std::string base64_std(const unsigned char* data, std::size_t n) {
        std::string out(4 * ((n + 2) / 3) + 1, '\0');
        const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                                        static_cast<int>(n));
        out.resize(static_cast<std::size_t>(len));
        return out;
    }

    void post_totp(view& v) const {
        auto offer = engine.enroll_totp(context_of(v), session_of(v));
        if (!offer) {
            return enroll_refused(v, offer.error());
        }
        totp_page(v, &*offer);
    }

    void post_totp_verify(view& v, const form& f) const {
        const common::secret code = f.secret("code");
        if (code.reveal().empty()) {
            error_text(v, "ui.error.code_required", "code");
            return totp_page(v, nullptr);
        }
        auto ok = engine.enroll_totp_verify(context_of(v), session_of(v), code);
        if (!ok) {
            if (ok.error().problem == problem::proof_invalid) {
                error(v, ok.error(), "code");
                return totp_page(v, nullptr);
            }
            return enroll_refused(v, ok.error());
        }
        see_other(v, "/enroll?done=totp");
    }

    void post_remove(view& v, const form& f) const {
        auto ok = engine.enroll_delete_method(context_of(v), session_of(v), f.text("id"));
        if (!ok) {
            return enroll_refused(v, ok.error());
        }
        see_other(v, "/enroll?done=removed");
    }

    void post_signout(view& v) const {
        v.res.set_cookies.push_back(std::string(enroll_cookie) +
                                    "=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0");
        see_other(v, "/");
    }

    // ---- dispatch ----------------------------------------------------------------------------

    page_response handle(const page_request& req) {
        view v{req, {}, {}, {}, {}, {}, {}};
        const auto query = form::parse(req.query);

        // Language: ?lang= (the switcher, remembered in a cookie), the cookie, Accept-Language.
        const auto& langs = messages->languages();
        const auto known = [&](std::string_view l) {
            return std::find(langs.begin(), langs.end(), l) != langs.end();
        };
        const std::string asked = query ? query->text("lang") : std::string();
        const std::string remembered(cookie_value(req.cookie, lang_cookie));
        const auto cfg = config.snapshot();
        if (known(asked)) {
            v.lang = asked;
            v.res.set_cookies.push_back(std::string(lang_cookie) + "=" + asked +
                                        "; Path=/; Secure; HttpOnly; SameSite=Strict; "
                                        "Max-Age=31536000");
        } else if (known(remembered)) {
            v.lang = remembered;
        } else {
            std::vector<std::string> offered;
            for (const auto& l : cfg->ui.languages) {
                if (known(l)) {
                    offered.push_back(l);
                }
            }
            if (offered.empty()) {
                offered = langs;
            }
            v.lang = negotiate(req.accept_language, offered,
                               known(cfg->ui.default_language) ? cfg->ui.default_language
                                                               : langs.front());
        }

        // The page session every form's CSRF token is bound to.
        const std::string presented(cookie_value(req.cookie, page_cookie));
        const bool has_session = presented.size() >= 16 && presented.size() <= 64;
        v.page_session = has_session ? presented : random_id();
        if (!has_session) {
            v.res.set_cookies.push_back(std::string(page_cookie) + "=" + v.page_session +
                                        "; Path=/; Secure; HttpOnly; SameSite=Strict");
        }

        const std::string& path = req.path;
        if (req.method == "GET") {
            v.path_for_lang = path;
            if (path == "/") {
                v.title = text(v, "ui.title.home");
                render(v, "index", base_data(v));
            } else if (path == "/reset") {
                start_page(v, flow_type::reset);
            } else if (path == "/unlock") {
                start_page(v, flow_type::unlock);
            } else if (path == "/change") {
                change_page(v);
            } else if (path == "/enroll") {
                get_enroll(v, query ? *query : form());
            } else if (path == "/enroll/questions") {
                if (session_of(v).empty()) {
                    signin_page(v);
                } else {
                    enroll_questions_page(v, form());
                }
            } else {
                throw std::logic_error("pages: no GET " + path);
            }
            return std::move(v.res);
        }

        // A state change: the gateway's own (or an allowed) origin, and the form's token bound
        // to the page session this browser holds.
        const auto body = form::parse(req.body.reveal());
        const bool form_type = req.content_type.rfind("application/x-www-form-urlencoded", 0) == 0;
        if (req.origin.empty() || !req.origin_trusted) {
            v.title = text(v, "ui.title.error");
            v.errors.push_back({text(v, "problem.origin_not_allowed"), ""});
            mus::data d = base_data(v);
            d.set("again", "/");
            render(v, "message", std::move(d), 403);
            return std::move(v.res);
        }
        if (!has_session || !body || !form_type ||
            !equal_constant_time(body->text("csrf"), csrf_of(presented))) {
            v.title = text(v, "ui.title.error");
            v.errors.push_back({text(v, "problem.csrf_invalid"), ""});
            mus::data d = base_data(v);
            d.set("again", path.rfind("/enroll", 0) == 0   ? std::string("/enroll")
                           : path.rfind("/unlock", 0) == 0 ? std::string("/unlock")
                           : path.rfind("/change", 0) == 0 ? std::string("/change")
                           : path.rfind("/reset", 0) == 0  ? std::string("/reset")
                                                           : std::string("/"));
            render(v, "message", std::move(d), 403);
            return std::move(v.res);
        }
        const form& f = *body;
        if (path == "/reset/start") {
            post_start(v, flow_type::reset, f);
        } else if (path == "/reset/challenge") {
            post_challenge(v, flow_type::reset, f);
        } else if (path == "/reset/verify") {
            post_verify(v, flow_type::reset, f);
        } else if (path == "/reset/complete") {
            post_complete_reset(v, f);
        } else if (path == "/unlock/start") {
            post_start(v, flow_type::unlock, f);
        } else if (path == "/unlock/challenge") {
            post_challenge(v, flow_type::unlock, f);
        } else if (path == "/unlock/verify") {
            post_verify(v, flow_type::unlock, f);
        } else if (path == "/unlock/complete") {
            post_complete_unlock(v, f);
        } else if (path == "/change") {
            post_change(v, f);
        } else if (path == "/enroll/session") {
            post_session(v, f);
        } else if (path == "/enroll/email" || path == "/enroll/sms") {
            post_contact(v, path.substr(std::string_view("/enroll/").size()), f);
        } else if (path == "/enroll/email/verify") {
            post_contact_verify(v, "email", f);
        } else if (path == "/enroll/sms/verify") {
            post_contact_verify(v, "sms", f);
        } else if (path == "/enroll/questions") {
            post_questions(v, f);
        } else if (path == "/enroll/totp") {
            post_totp(v);
        } else if (path == "/enroll/totp/verify") {
            post_totp_verify(v, f);
        } else if (path == "/enroll/remove") {
            post_remove(v, f);
        } else if (path == "/enroll/signout") {
            post_signout(v);
        } else {
            throw std::logic_error("pages: no POST " + path);
        }
        return std::move(v.res);
    }
};

pages::pages(flows::engine& engine, const config::holder& config,
             std::shared_ptr<const i18n> messages, page_templates templates,
             common::secret csrf_key)
    : impl_(std::make_unique<impl>(engine, config, std::move(messages), std::move(templates),
                                   std::move(csrf_key))) {}

pages::~pages() = default;

const std::vector<std::pair<std::string, std::string>>& pages::routes() {
    static const std::vector<std::pair<std::string, std::string>> all{
        {"GET", "/"},
        {"GET", "/reset"},
        {"GET", "/unlock"},
        {"GET", "/change"},
        {"GET", "/enroll"},
        {"GET", "/enroll/questions"},
        {"POST", "/reset/start"},
        {"POST", "/reset/challenge"},
        {"POST", "/reset/verify"},
        {"POST", "/reset/complete"},
        {"POST", "/unlock/start"},
        {"POST", "/unlock/challenge"},
        {"POST", "/unlock/verify"},
        {"POST", "/unlock/complete"},
        {"POST", "/change"},
        {"POST", "/enroll/session"},
        {"POST", "/enroll/email"},
        {"POST", "/enroll/email/verify"},
        {"POST", "/enroll/sms"},
        {"POST", "/enroll/sms/verify"},
        {"POST", "/enroll/questions"},
        {"POST", "/enroll/totp"},
        {"POST", "/enroll/totp/verify"},
        {"POST", "/enroll/remove"},
        {"POST", "/enroll/signout"},
    };
    return all;
}

page_response pages::handle(const page_request& req) {
    return impl_->handle(req);
}

const std::string& pages::stylesheet() const noexcept {
    return impl_->templates.stylesheet();
}

std::shared_ptr<const logo_image> pages::logo() const {
    return impl_->current_logo();
}

} // namespace sspr::gateway
