// The server-rendered pages (gateway/pages.hpp) over the real flows engine on the fakes of its
// seams, without sockets: the CSRF token and Origin rule, the language choice, the escaping of
// what users type, a reset through the forms (with a refused password, a mismatch and a
// resubmitted completed form), the step of a two-gate flow on each of its pages, and security
// questions registered and answered (a refusal shown at its field).
#include "gateway/pages.hpp"

#include "common/random.hpp"
#include "config/holder.hpp"
#include "flows/engine.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_directory.hpp"
#include "tests/fakes/fake_sender.hpp"
#include "tests/fakes/fake_state_store.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>

using namespace sspr;
using namespace sspr::gateway;
using Catch::Matchers::Contains;

namespace {

constexpr std::string_view alice_dn = "uid=alice,ou=people,dc=example,dc=org";
constexpr std::string_view old_password = "Start-Pass-1!";
constexpr std::string_view new_password = "correct horse battery staple 42";
constexpr std::string_view own_origin = "https://sspr.example.org";

config::config test_config() {
    config::config c;
    c.server.response_floor = std::chrono::milliseconds(0);
    c.server.response_jitter = std::chrono::milliseconds(0);
    c.server.public_url = std::string(own_origin);
    c.ui.organisation = "Example <Corp>";
    c.ui.helpdesk_url = "https://help.example.org/";
    c.delivery.smtp.enabled = true;
    c.delivery.smtp.from = "sspr@example.org";
    c.methods.email.enabled = true;
    c.methods.totp.enabled = true;
    c.methods.sms.enabled = true;
    c.delivery.sms.enabled = true;
    c.delivery.sms.url = "https://sms.example.org/send";
    c.methods.questions.enabled = true;
    c.methods.questions.register_count = 3;
    c.methods.questions.answer_count = 2;
    c.methods.questions.argon2 = {8192, 1, 1};
    for (const auto* id : {"pet", "school", "city", "street"}) {
        c.methods.questions.pool.push_back(
            {id, {{"en", std::string("Your first ") + id + "?"}, {"ko", std::string(id) + "?"}}});
    }
    c.policy.scope = config::scope_mode::all;
    c.password.min_length = 10;
    return c;
}

std::shared_ptr<const i18n> messages() {
    static const auto m = std::make_shared<const i18n>(
        i18n::load(SSPR_MESSAGES_DIR, std::vector<std::string>{"en", "ko"}));
    return m;
}

std::string attribute_unescape(std::string s) {
    for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
             {"&quot;", "\""}, {"&apos;", "'"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}}) {
        for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
            s.replace(at, from.size(), to);
        }
    }
    return s;
}

/// The value of the hidden input `name` in a page.
std::string hidden(const std::string& html, const std::string& name) {
    std::smatch m;
    const std::regex re("name=\"" + name + "\" value=\"([^\"]*)\"");
    if (!std::regex_search(html, m, re)) {
        return {};
    }
    return attribute_unescape(m[1].str());
}

std::string url_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4U];
            out += hex[c & 15U];
        }
    }
    return out;
}

struct harness {
    std::shared_ptr<fakes::fake_directory> directory = std::make_shared<fakes::fake_directory>();
    std::shared_ptr<fakes::fake_state_store> store = std::make_shared<fakes::fake_state_store>();
    std::shared_ptr<fakes::fake_sender> sender = std::make_shared<fakes::fake_sender>();
    std::shared_ptr<fakes::fake_clock> clock = std::make_shared<fakes::fake_clock>();
    std::unique_ptr<config::holder> holder;
    std::unique_ptr<flows::engine> engine;
    std::unique_ptr<pages> site;
    std::string cookie; // what the browser holds: ssprd_page=...

    /// What the next holder->reload() loads (test_config(), changed by the test).
    std::shared_ptr<config::config> next_config;

    explicit harness(const std::function<void(config::config&)>& adjust = {}) {
        ldap::user_entry alice;
        alice.dn = std::string(alice_dn);
        alice.login = "alice";
        alice.display_name = "Alice Example";
        directory->add_user(alice, std::string(old_password));
        config::config cfg = test_config();
        if (adjust) {
            adjust(cfg);
        }
        next_config = std::make_shared<config::config>(cfg);
        holder = std::make_unique<config::holder>(cfg, [next = next_config] {
            return config::load_result(config::loaded_config{*next, {}});
        });
        flows::dependencies d;
        d.config = holder.get();
        d.directory = directory;
        d.store = store;
        d.sender = sender;
        d.clock = clock;
        d.random = common::make_system_random();
        d.hmac_key = common::secret(std::string(32, 'k'));
        engine = std::make_unique<flows::engine>(std::move(d));
        site = std::make_unique<pages>(*engine, *holder, messages(),
                                       page_templates::load(SSPR_TEMPLATES_DIR),
                                       page_key_from(common::secret(std::string(32, 'k'))));
    }

    void enrol_email(std::string address) {
        store::enrollment e;
        e.user_dn = std::string(alice_dn);
        e.emails.push_back({std::move(address), store::to_timestamp(clock->system_now())});
        REQUIRE(store->put_enrollment(e, store::to_timestamp(clock->system_now())));
    }

    page_response get(const std::string& target, std::string accept_language = {}) {
        page_request r;
        r.method = "GET";
        const auto q = target.find('?');
        r.path = target.substr(0, q);
        r.query = q == std::string::npos ? std::string() : target.substr(q + 1);
        r.cookie = cookie;
        r.accept_language = std::move(accept_language);
        r.request_id = "req-pages";
        r.client_ip = "192.0.2.10";
        r.received = std::chrono::steady_clock::now();
        page_response res = site->handle(r);
        keep_cookies(res);
        return res;
    }

    /// Posts `fields` (url-encoded) as a form of the gateway's own origin.
    page_response post(std::string path,
                       const std::vector<std::pair<std::string, std::string>>& fields,
                       std::string origin = std::string(own_origin), bool trusted = true) {
        page_request r;
        r.method = "POST";
        r.path = std::move(path);
        r.cookie = cookie;
        r.origin = std::move(origin);
        r.origin_trusted = trusted;
        r.content_type = "application/x-www-form-urlencoded";
        std::string body;
        for (const auto& [k, v] : fields) {
            body += (body.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
        }
        r.body = common::secret(std::move(body));
        r.request_id = "req-pages";
        r.client_ip = "192.0.2.10";
        r.received = std::chrono::steady_clock::now();
        page_response res = site->handle(r);
        keep_cookies(res);
        return res;
    }

    void keep_cookies(const page_response& res) {
        for (const auto& c : res.set_cookies) {
            if (c.rfind("ssprd_page=", 0) == 0) {
                cookie = c.substr(0, c.find(';'));
            }
        }
    }

    /// The CSRF token the forms of a fresh page carry.
    std::string csrf() {
        const auto res = get("/reset");
        return hidden(std::string(res.body.reveal()), "csrf");
    }
};

std::string html(const page_response& r) {
    return std::string(r.body.reveal());
}

} // namespace

TEST_CASE("pages: every template and the stylesheet load from templates/", "[gateway][pages]") {
    const auto t = page_templates::load(SSPR_TEMPLATES_DIR);
    for (const auto& name : page_templates::names()) {
        CHECK_FALSE(t.source(name).empty());
    }
    CHECK_THAT(t.stylesheet(), Contains("font-family"));
    CHECK_THROWS_AS(page_templates::load("/nonexistent-ssprd-templates"), catalogue_error);
    CHECK(templates_dir_for("/usr/share/ssprd/messages/") == "/usr/share/ssprd/templates");
}

TEST_CASE("pages: ui.logo is shown on every page and served with its type; none without it",
          "[gateway][pages]") {
    harness plain;
    CHECK(plain.site->logo() == nullptr);
    CHECK_THAT(html(plain.get("/reset")), !Contains("/static/logo"));

    const auto dir =
        std::filesystem::temp_directory_path() / ("ssprd-pages-logo-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto file = dir / "logo.svg";
    const std::string svg = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
                            "width=\"10\" height=\"10\"/>\n";
    std::ofstream(file, std::ios::binary) << svg;
    harness h([&](config::config& c) { c.ui.logo = file.string(); });
    const auto logo = h.site->logo();
    REQUIRE(logo != nullptr);
    CHECK(logo->content_type == "image/svg+xml");
    CHECK(logo->bytes == svg);
    CHECK_THAT(html(h.get("/reset")),
               Contains("<img class=\"logo\" src=\"/static/logo\" alt=\"\""));
    CHECK_THAT(html(h.get("/unlock", "ko")), Contains("src=\"/static/logo\""));

    // Replaced by something that is not an image and reloaded: the pages show none rather than
    // serve it.
    std::ofstream(file, std::ios::binary | std::ios::trunc) << "<html>not a logo</html>";
    CHECK(h.site->logo() == logo); // read once per configuration
    h.next_config->ui.logo = file.string();
    REQUIRE(h.holder->reload().applied);
    CHECK(h.site->logo() == nullptr);
    std::filesystem::remove_all(dir);
}

TEST_CASE("pages: a first visit gets a Secure HttpOnly SameSite=Strict page cookie and a form "
          "token bound to it",
          "[gateway][pages]") {
    harness h;
    const auto res = h.get("/");
    CHECK(res.status == 200);
    CHECK(res.content_type == "text/html; charset=utf-8");
    REQUIRE(res.set_cookies.size() == 1);
    CHECK_THAT(res.set_cookies[0], Contains("ssprd_page="));
    CHECK_THAT(res.set_cookies[0], Contains("; Secure; HttpOnly; SameSite=Strict"));
    // No script, no inline style, no remote asset.
    CHECK(html(res).find("<script") == std::string::npos);
    CHECK(html(res).find("style=") == std::string::npos);
    CHECK(html(res).find("http://") == std::string::npos);
    CHECK_THAT(html(res), Contains("href=\"/static/ssprd.css\""));
    // The organisation's name is text, escaped.
    CHECK_THAT(html(res), Contains("Example &lt;Corp&gt;"));
    CHECK_THAT(html(res), Contains("href=\"https://help.example.org/\""));

    // Same session, same token; another browser, another token.
    const std::string t1 = h.csrf();
    CHECK(t1.size() == 43);
    CHECK(h.csrf() == t1);
    harness other;
    CHECK(other.csrf() != t1);
}

TEST_CASE("pages: a POST without the token, with another session's token, without an Origin or "
          "from a foreign origin is refused and starts nothing",
          "[gateway][pages]") {
    harness h;
    h.enrol_email("alice@example.org");
    const std::string token = h.csrf();

    auto res = h.post("/reset/start", {{"username", "alice"}}); // no token
    CHECK(res.status == 403);
    CHECK_THAT(html(res), Contains("This form has expired"));

    harness other;
    res = h.post("/reset/start", {{"csrf", other.csrf()}, {"username", "alice"}});
    CHECK(res.status == 403);

    res = h.post("/reset/start", {{"csrf", token}, {"username", "alice"}}, "");
    CHECK(res.status == 403);
    CHECK_THAT(html(res), Contains("Requests from this site are not accepted"));

    res = h.post("/reset/start", {{"csrf", token}, {"username", "alice"}}, "https://evil.example",
                 false);
    CHECK(res.status == 403);

    // The cookie gone (a new browser with the old page): refused, and a fresh cookie is set.
    const std::string held = h.cookie;
    h.cookie.clear();
    res = h.post("/reset/start", {{"csrf", token}, {"username", "alice"}});
    CHECK(res.status == 403);
    CHECK(h.cookie != held);
    CHECK(h.cookie.rfind("ssprd_page=", 0) == 0);
    h.cookie = held;

    // Nothing was started by any of them: no flow to challenge, no code sent.
    CHECK(h.sender->last_code().empty());

    // With both the token and a trusted origin, the step runs.
    res = h.post("/reset/start", {{"csrf", token}, {"username", "alice"}});
    CHECK(res.status == 200);
    CHECK_THAT(html(res), Contains("value=\"email-0\""));
}

TEST_CASE("pages: the language is ?lang=, else the remembered choice, else Accept-Language",
          "[gateway][pages]") {
    harness h;
    auto res = h.get("/reset", "ko-KR,ko;q=0.9,en;q=0.5");
    CHECK_THAT(html(res), Contains("<html lang=\"ko\">"));
    CHECK_THAT(html(res), Contains(messages()->text("ko", "ui.title.reset")));

    res = h.get("/reset", "en");
    CHECK_THAT(html(res), Contains("<html lang=\"en\">"));
    CHECK_THAT(html(res), Contains("Reset your password"));
    // The switcher links to the same page in the other language.
    CHECK_THAT(html(res), Contains("href=\"/reset?lang=ko\""));

    res = h.get("/reset?lang=ko", "en");
    CHECK_THAT(html(res), Contains("<html lang=\"ko\">"));
    std::string remembered;
    for (const auto& c : res.set_cookies) {
        if (c.rfind("ssprd_lang=", 0) == 0) {
            remembered = c.substr(0, c.find(';'));
            CHECK_THAT(c, Contains("Secure; HttpOnly; SameSite=Strict"));
        }
    }
    CHECK(remembered == "ssprd_lang=ko");
    h.cookie += "; " + remembered;
    res = h.get("/reset", "en");
    CHECK_THAT(html(res), Contains("<html lang=\"ko\">"));

    // An unknown ?lang= changes nothing.
    res = h.get("/reset?lang=xx", "en");
    CHECK_THAT(html(res), Contains("<html lang=\"ko\">"));
}

TEST_CASE("pages: what a user typed comes back escaped", "[gateway][pages]") {
    harness h;
    const std::string token = h.csrf();
    const std::string typed = "<script>alert(\"x\")</script>'&";
    auto res = h.post("/change", {{"csrf", token},
                                  {"username", typed},
                                  {"current_password", "whatever"},
                                  {"new_password", "one password 12345"},
                                  {"confirm_password", "another password 12345"}});
    CHECK(res.status == 422);
    CHECK(html(res).find(typed) == std::string::npos);
    CHECK(html(res).find("<script>") == std::string::npos);
    CHECK_THAT(html(res),
               Contains("value=\"&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&apos;&amp;\""));
    // The specific message, in the summary and next to the field; no password echoed.
    CHECK_THAT(html(res), Contains("The two new passwords are not the same."));
    CHECK_THAT(html(res), Contains("href=\"#new_password\""));
    CHECK(html(res).find("one password 12345") == std::string::npos);
}

TEST_CASE("pages: a reset through the forms; a refused password shows its rule; the completed "
          "form sent again changes nothing",
          "[gateway][pages]") {
    harness h;
    h.enrol_email("alice@example.org");
    std::string token = h.csrf();

    auto res = h.post("/reset/start", {{"csrf", token}, {"username", "alice"}});
    REQUIRE(res.status == 200);
    const std::string flow = hidden(html(res), "flow");
    const std::string offers = hidden(html(res), "offers");
    REQUIRE(flow.size() == 22);
    CHECK_THAT(offers, Contains("email-0"));
    CHECK(html(res).find("alice@example.org") == std::string::npos); // masked hint only

    res = h.post("/reset/challenge",
                 {{"csrf", token}, {"flow", flow}, {"method", "email-0"}, {"offers", offers}});
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains("autocomplete=\"one-time-code\""));
    const std::string code = h.sender->last_code();
    REQUIRE(code.size() == 6);

    // A wrong code: the proof message next to the field; the flow goes on.
    res = h.post("/reset/verify", {{"csrf", token},
                                   {"flow", flow},
                                   {"method", "email-0"},
                                   {"offers", offers},
                                   {"code", code == "000000" ? "111111" : "000000"}});
    CHECK(res.status == 400);
    CHECK_THAT(html(res), Contains(messages()->text("en", "problem.proof_invalid")));

    res = h.post("/reset/verify", {{"csrf", token},
                                   {"flow", flow},
                                   {"method", "email-0"},
                                   {"offers", offers},
                                   {"code", code}});
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains("autocomplete=\"new-password\""));
    // The rules up front, with the configured figure.
    CHECK_THAT(html(res), Contains("Use at least 10 characters."));

    res = h.post("/reset/complete", {{"csrf", token},
                                     {"flow", flow},
                                     {"new_password", "Zq7-tiny"},
                                     {"confirm_password", "Zq7-tiny"}});
    CHECK(res.status == 422);
    CHECK_THAT(html(res), Contains("The new password is too short: use at least 10 characters."));
    // Next to the field too, and the field marked; no empty notice.
    CHECK_THAT(html(res), Contains("id=\"new_password-error\""));
    CHECK_THAT(html(res), Contains("aria-invalid=\"true\""));
    CHECK(html(res).find("class=\"notice\"") == std::string::npos);
    CHECK(h.directory->password_of(std::string(alice_dn)) == old_password);

    const std::vector<std::pair<std::string, std::string>> done{
        {"csrf", token},
        {"flow", flow},
        {"new_password", std::string(new_password)},
        {"confirm_password", std::string(new_password)}};
    res = h.post("/reset/complete", done);
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains(messages()->text("en", "ui.done.changed")));
    CHECK(h.directory->password_of(std::string(alice_dn)) == new_password);

    // Back and send it again: the flow is used up; nothing changes, nobody is told again.
    const auto sent = h.sender->messages().size();
    res = h.post("/reset/complete", done);
    CHECK(res.status == 404);
    CHECK_THAT(html(res), Contains(messages()->text("en", "problem.flow_not_found")));
    CHECK(h.directory->password_of(std::string(alice_dn)) == new_password);
    CHECK(h.sender->messages().size() == sent);
}

TEST_CASE("pages: a flow of two gates says its step on each of its pages, after a wrong code "
          "and a refused choice too",
          "[gateway][pages]") {
    harness h([](config::config& c) { c.policy.default_gates = 2; });
    store::enrollment e;
    e.user_dn = std::string(alice_dn);
    const auto now = store::to_timestamp(h.clock->system_now());
    e.emails.push_back({"alice@example.org", now});
    e.phones.push_back({"+82 10 5555 0001", now});
    REQUIRE(h.store->put_enrollment(e, now));
    const std::string token = h.csrf();
    const std::string step1 = "<p class=\"progress\">Step 1 of 2</p>";
    const std::string step2 = "<p class=\"progress\">Step 2 of 2</p>";
    // What the page's form sends on: its hidden fields and `more`.
    const auto fields = [&](const std::string& page,
                            std::vector<std::pair<std::string, std::string>> more) {
        for (const auto* name : {"flow", "offers", "gates_passed", "gates_required"}) {
            more.emplace_back(name, hidden(page, name));
        }
        more.emplace_back("csrf", token);
        return more;
    };

    auto res = h.post("/reset/start", {{"csrf", token}, {"username", "alice"}});
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains(step1));
    std::string page = html(res);
    res = h.post("/reset/challenge", fields(page, {{"method", "email-0"}}));
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains(step1));
    page = html(res);
    const std::string mailed = h.sender->last_code();
    res = h.post("/reset/verify",
                 fields(page, {{"method", "email-0"}, {"code", mailed == "000000" ? "1" : "0"}}));
    CHECK(res.status == 400);
    CHECK_THAT(html(res), Contains(step1));
    res = h.post("/reset/verify", fields(page, {{"method", "email-0"}, {"code", mailed}}));
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains(step2));
    CHECK(html(res).find("value=\"email-0\"") == std::string::npos); // used up
    page = html(res);

    // A method that is not offered: refused, still the second step.
    res = h.post("/reset/challenge", fields(page, {{"method", "email-0"}}));
    CHECK(res.status == 400);
    CHECK_THAT(html(res), Contains(messages()->text("en", "problem.method_not_available")));
    CHECK_THAT(html(res), Contains(step2));
    res = h.post("/reset/challenge", fields(page, {{"method", "sms-0"}}));
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains(step2));
    page = html(res);
    res = h.post("/reset/verify",
                 fields(page, {{"method", "sms-0"}, {"code", h.sender->last_code()}}));
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains("autocomplete=\"new-password\""));

    // What the form says is shown, never believed: a forged "1 of 1" passes no gate.
    res = h.post("/reset/start", {{"csrf", token}, {"username", "alice"}});
    page = html(res);
    res = h.post("/reset/challenge", fields(page, {{"method", "email-0"}}));
    page = html(res);
    auto forged = fields(page, {{"method", "email-0"}, {"code", h.sender->last_code()}});
    for (auto& [k, value] : forged) {
        if (k == "gates_required") {
            value = "1";
        }
    }
    res = h.post("/reset/verify", forged);
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains(step2));
    CHECK(html(res).find("autocomplete=\"new-password\"") == std::string::npos);
}

TEST_CASE("pages: enrollment signs in with the API's session cookie and lists the methods",
          "[gateway][pages]") {
    harness h;
    const std::string token = h.csrf();
    auto res = h.get("/enroll");
    CHECK_THAT(html(res), Contains("action=\"/enroll/session\""));

    res = h.post("/enroll/session",
                 {{"csrf", token}, {"username", "alice"}, {"password", "wrong password"}});
    CHECK(res.status == 401);
    CHECK_THAT(html(res), Contains(messages()->text("en", "problem.credentials_invalid")));

    res = h.post("/enroll/session",
                 {{"csrf", token}, {"username", "alice"}, {"password", std::string(old_password)}});
    REQUIRE(res.status == 303);
    CHECK(res.location == "/enroll");
    std::string session;
    for (const auto& c : res.set_cookies) {
        if (c.rfind("ssprd_enroll=", 0) == 0) {
            session = c.substr(0, c.find(';'));
            CHECK_THAT(c, Contains("Secure; HttpOnly; SameSite=Strict"));
        }
    }
    REQUIRE(session.size() > 14);
    h.cookie += "; " + session;

    res = h.post("/enroll/email", {{"csrf", token}, {"address", "alice@example.org"}});
    REQUIRE(res.status == 200);
    const std::string code = h.sender->last_code();
    REQUIRE(code.size() == 6);
    res = h.post("/enroll/email/verify",
                 {{"csrf", token}, {"address", "alice@example.org"}, {"code", code}});
    REQUIRE(res.status == 303);
    CHECK(res.location == "/enroll?done=email");
    res = h.get("/enroll?done=email");
    CHECK(res.status == 200);
    CHECK_THAT(html(res), Contains(messages()->text("en", "ui.enroll.done_email")));
    CHECK_THAT(html(res), Contains("value=\"email-0\""));

    res = h.post("/enroll/totp", {{"csrf", token}});
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains("src=\"data:image/svg+xml;base64,"));
    CHECK_THAT(html(res), Contains("id=\"totp-secret\""));

    res = h.post("/enroll/remove", {{"csrf", token}, {"id", "email-0"}});
    CHECK(res.status == 303);
    // Sent again: the method is gone already; the page says so and nothing else happens.
    res = h.post("/enroll/remove", {{"csrf", token}, {"id", "email-0"}});
    CHECK(res.status == 404);
    CHECK_THAT(html(res), Contains(messages()->text("en", "problem.method_not_found")));
}

TEST_CASE("pages: security questions are registered through the forms and then answer a reset; a "
          "wrong answer is refused at the field",
          "[gateway][pages]") {
    harness h;
    const std::string token = h.csrf();
    auto res =
        h.post("/enroll/session",
               {{"csrf", token}, {"username", "alice"}, {"password", std::string(old_password)}});
    REQUIRE(res.status == 303);
    for (const auto& c : res.set_cookies) {
        if (c.rfind("ssprd_enroll=", 0) == 0) {
            h.cookie += "; " + c.substr(0, c.find(';'));
        }
    }
    res = h.get("/enroll");
    CHECK_THAT(html(res), Contains("href=\"/enroll/questions\""));
    CHECK_THAT(html(res), Contains("action=\"/enroll/sms\""));
    res = h.get("/enroll/questions");
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains("Choose 3 different questions"));
    CHECK_THAT(html(res), Contains("<option value=\"street\">Your first street?</option>"));
    CHECK_THAT(html(res), Contains("id=\"answer-2\""));
    CHECK(html(res).find("id=\"answer-3\"") == std::string::npos);

    // An answer missing: refused, nothing stored, the choices kept.
    res = h.post("/enroll/questions", {{"csrf", token},
                                       {"question_0", "pet"},
                                       {"answer_0", "Rex the dog"},
                                       {"question_1", "street"},
                                       {"answer_1", "Harbour Road"},
                                       {"question_2", "city"}});
    CHECK(res.status == 400);
    CHECK_THAT(html(res), Contains(messages()->text("en", "ui.error.answer_required")));
    CHECK_THAT(html(res), Contains("<option value=\"street\" selected>"));
    // At the answer that is missing, and only there.
    CHECK_THAT(html(res), Contains("id=\"answer-2-error\""));
    CHECK_THAT(html(res), Contains("aria-invalid=\"true\" aria-describedby=\"answer-2-error\""));
    CHECK(html(res).find("answer-0-error") == std::string::npos);

    res = h.post("/enroll/questions", {{"csrf", token},
                                       {"question_0", "pet"},
                                       {"answer_0", "Rex the dog"},
                                       {"question_1", "street"},
                                       {"answer_1", "Harbour Road"},
                                       {"question_2", "city"},
                                       {"answer_2", "Busan by the sea"}});
    REQUIRE(res.status == 303);
    CHECK(res.location == "/enroll?done=questions");
    res = h.get("/enroll?done=questions");
    CHECK_THAT(html(res), Contains(messages()->text("en", "ui.enroll.done_questions")));
    CHECK_THAT(html(res), Contains(messages()->text("en", "ui.enroll.method_questions")));

    // The reset with them.
    res = h.post("/reset/start", {{"csrf", token}, {"username", "alice"}});
    REQUIRE(res.status == 200);
    const std::string flow = hidden(html(res), "flow");
    const std::string offers = hidden(html(res), "offers");
    CHECK_THAT(html(res), Contains("value=\"questions\""));
    res = h.post("/reset/challenge",
                 {{"csrf", token}, {"flow", flow}, {"method", "questions"}, {"offers", offers}});
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains("for=\"answer-1\""));
    const std::map<std::string, std::string> answers{
        {"pet", "Rex the dog"}, {"street", "Harbour Road"}, {"city", "Busan by the sea"}};
    // The ids the page asks (its hidden "questions" field), in the order of the inputs.
    const auto asked_ids = [&](const std::string& asked) {
        std::vector<std::string> ids;
        for (const auto& [id, answer] : answers) {
            if (asked.find("\"" + id + "\"") != std::string::npos) {
                ids.push_back(id);
            }
        }
        std::sort(ids.begin(), ids.end(), [&](const std::string& a, const std::string& b) {
            return asked.find("\"" + a + "\"") < asked.find("\"" + b + "\"");
        });
        return ids;
    };
    std::string asked = hidden(html(res), "questions");
    auto ids = asked_ids(asked);
    REQUIRE(ids.size() == 2);

    res = h.post("/reset/verify", {{"csrf", token},
                                   {"flow", flow},
                                   {"method", "questions"},
                                   {"offers", offers},
                                   {"questions", asked},
                                   {"answer_0", answers.at(ids[0])},
                                   {"answer_1", "not the answer"}});
    CHECK(res.status == 400);
    CHECK_THAT(html(res), Contains("href=\"#answer-0\""));
    CHECK_THAT(html(res), Contains(messages()->text("en", "problem.proof_invalid")));
    // Next to the first answer too, and that field marked; the others not.
    CHECK_THAT(html(res), Contains("<p class=\"field-error\" id=\"answer-0-error\">" +
                                   messages()->text("en", "problem.proof_invalid") + "</p>"));
    CHECK_THAT(html(res), Contains("aria-invalid=\"true\" aria-describedby=\"answer-0-error\""));
    CHECK(html(res).find("answer-1-error") == std::string::npos);
    // Asked again (a wrong answer uses the questions up); the answers typed are not echoed.
    CHECK(html(res).find("not the answer") == std::string::npos);
    asked = hidden(html(res), "questions");
    ids = asked_ids(asked);
    REQUIRE(ids.size() == 2);

    res = h.post("/reset/verify", {{"csrf", token},
                                   {"flow", flow},
                                   {"method", "questions"},
                                   {"offers", offers},
                                   {"questions", asked},
                                   {"answer_0", answers.at(ids[0])},
                                   {"answer_1", answers.at(ids[1])}});
    INFO(html(res));
    REQUIRE(res.status == 200);
    CHECK_THAT(html(res), Contains("autocomplete=\"new-password\""));
}
