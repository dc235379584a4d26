// flows::engine over the fakes of its seams: the reset, unlock, change and enrollment steps, what a
// stand-in sees, throttles, binding and replay. The same flows against real servers and over HTTPS
// are in tests/integration/gateway/.
#include "audit/audit.hpp"
#include "challenge/base32.hpp"
#include "challenge/totp.hpp"
#include "common/random.hpp"
#include "config/holder.hpp"
#include "flows/engine.hpp"
#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_directory.hpp"
#include "tests/fakes/fake_sender.hpp"
#include "tests/fakes/fake_state_store.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unistd.h>

// Catch prints a result as its problem or error (boost's own operator<< needs T printable).
template <class T> struct Catch::StringMaker<boost::system::result<T, sspr::flows::failure>> {
    static std::string convert(const boost::system::result<T, sspr::flows::failure>& r) {
        return r ? std::string("ok")
                 : "problem " + std::string(sspr::flows::to_string(r.error().problem));
    }
};
template <class T> struct Catch::StringMaker<boost::system::result<T>> {
    static std::string convert(const boost::system::result<T>& r) {
        return r ? std::string("ok") : "error " + r.error().message();
    }
};

using namespace sspr;
using flows::problem;

namespace {

constexpr std::string_view alice_dn = "uid=alice,ou=people,dc=example,dc=org";
constexpr std::string_view bob_dn = "uid=bob,ou=people,dc=example,dc=org";
constexpr std::string_view carol_dn = "uid=carol,ou=people,dc=example,dc=org";
constexpr std::string_view admins_dn = "cn=sspr-admins,ou=groups,dc=example,dc=org";
constexpr std::string_view old_password = "Start-Pass-1!";
constexpr std::string_view new_password = "correct horse battery staple 42";

config::config test_config() {
    config::config c;
    c.ui.organisation = "Example Corp";
    c.server.response_floor = std::chrono::milliseconds(0);
    c.server.response_jitter = std::chrono::milliseconds(0);
    c.delivery.smtp.enabled = true;
    c.delivery.smtp.from = "Password reset <sspr@example.org>";
    c.delivery.sms.enabled = true;
    c.methods.email.enabled = true;
    c.methods.sms.enabled = true;
    c.methods.totp.enabled = true;
    c.methods.questions.enabled = true;
    c.methods.questions.register_count = 3;
    c.methods.questions.answer_count = 2;
    c.methods.questions.argon2 = {64, 1, 1};
    for (const auto* id : {"school", "pet", "city", "band"}) {
        c.methods.questions.pool.push_back({id, {{"en", std::string("Q ") + id}, {"ko", "질문"}}});
    }
    c.policy.scope = config::scope_mode::all;
    c.policy.admin_groups = {std::string(admins_dn)};
    c.password.min_length = 10;
    c.enrollment.required_methods = 1;
    return c;
}

ldap::user_entry entry(std::string_view dn, std::string login, std::string display) {
    ldap::user_entry e;
    e.dn = std::string(dn);
    e.login = std::move(login);
    e.display_name = std::move(display);
    return e;
}

struct harness {
    std::shared_ptr<fakes::fake_directory> directory = std::make_shared<fakes::fake_directory>();
    std::shared_ptr<fakes::fake_state_store> store = std::make_shared<fakes::fake_state_store>();
    std::shared_ptr<fakes::fake_sender> sender = std::make_shared<fakes::fake_sender>();
    std::shared_ptr<fakes::fake_clock> clock = std::make_shared<fakes::fake_clock>();
    std::unique_ptr<config::holder> holder;
    std::filesystem::path audit_dir;
    std::filesystem::path audit_path;
    std::unique_ptr<flows::engine> engine;
    flows::request_context ctx{"req-1", "192.0.2.10", "en", {}};

    explicit harness(config::config cfg = test_config(),
                     std::shared_ptr<fakes::fake_state_store> shared_store = nullptr) {
        if (shared_store) {
            store = std::move(shared_store); // a second instance on the same store
        }
        directory->add_user(entry(alice_dn, "alice", "Alice Example"), std::string(old_password));
        directory->add_user(entry(bob_dn, "bob", "Bob Builder"), std::string(old_password));
        directory->add_user(entry(carol_dn, "carol", "Carol Admin"), std::string(old_password),
                            {std::string(admins_dn)});
        auto reload = [cfg] { return config::load_result(config::loaded_config{cfg, {}}); };
        holder = std::make_unique<config::holder>(std::move(cfg), std::move(reload));
        std::string tmpl = (std::filesystem::temp_directory_path() / "sspr-flows-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        audit_dir = tmpl;
        audit_path = audit_dir / "audit.jsonl";
        auto trail = audit::trail::open(audit_path);
        REQUIRE(trail.has_value());
        flows::dependencies d;
        d.audit = std::shared_ptr<audit::trail>(std::move(*trail));
        d.config = holder.get();
        d.directory = directory;
        d.store = store;
        d.sender = sender;
        d.clock = clock;
        d.random = common::make_system_random();
        d.hmac_key = common::secret(std::string(32, 'k'));
        engine = std::make_unique<flows::engine>(std::move(d));
    }

    ~harness() {
        engine.reset();
        std::error_code ec;
        std::filesystem::remove_all(audit_dir, ec);
    }
    harness(const harness&) = delete;
    harness& operator=(const harness&) = delete;

    [[nodiscard]] std::string audit_text() const {
        std::ifstream in(audit_path);
        std::stringstream all;
        all << in.rdbuf();
        return all.str();
    }

    /// A confirmed email for `dn`, as enrollment would leave it.
    void enrol_email(std::string_view dn, std::string address) {
        store::enrollment e;
        e.user_dn = std::string(dn);
        e.emails.push_back({std::move(address), store::to_timestamp(clock->system_now())});
        REQUIRE(store->put_enrollment(e, store::to_timestamp(clock->system_now())));
    }

    /// A reset flow of `login` whose e-mail code has been sent (enrol_email first); its id.
    std::string challenged_reset(std::string_view login) {
        auto started = engine->start(flows::flow_type::reset, ctx, login);
        REQUIRE(started);
        std::string flow(started->flow.reveal());
        REQUIRE(engine->challenge(flows::flow_type::reset, ctx, flow, "email-0"));
        return flow;
    }

    std::string enrol_session(std::string_view login) {
        auto s = engine->enroll_session(ctx, login, common::secret(std::string(old_password)));
        REQUIRE(s);
        return std::string(s->token.reveal());
    }

    /// Enrolls a TOTP through the engine and returns the raw secret.
    common::secret enrol_totp(std::string_view login, std::string_view dn) {
        const auto token = enrol_session(login);
        auto offer = engine->enroll_totp(ctx, token);
        REQUIRE(offer);
        auto e = store->get_enrollment(dn);
        REQUIRE(e);
        REQUIRE(e->totp);
        common::secret key = e->totp->secret;
        REQUIRE(engine->enroll_totp_verify(ctx, token, totp_now(key)));
        return key;
    }

    common::secret totp_now(const common::secret& key) const {
        auto params = challenge::make_totp_params(holder->snapshot()->methods.totp);
        return challenge::totp_at(key, challenge::totp_step(clock->system_now(), params->period),
                                  *params);
    }

    std::size_t messages_to(std::string_view address) const {
        const auto all = sender->messages();
        return static_cast<std::size_t>(std::count_if(
            all.begin(), all.end(), [&](const auto& m) { return m.destination == address; }));
    }
};

flows::proof code(std::string c) {
    flows::proof p;
    p.code = common::secret(std::move(c));
    return p;
}

std::string wrong_code(const std::string& right) {
    std::string w = right;
    w[0] = w[0] == '9' ? '0' : static_cast<char>(w[0] + 1);
    return w;
}

} // namespace

TEST_CASE("flows: a reset by email code changes the password once, and says so", "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    auto started = h.engine->start(flows::flow_type::reset, h.ctx, "alice");
    REQUIRE(started);
    CHECK(started->gates_required == 1);
    REQUIRE(started->methods.size() == 1);
    CHECK(started->methods[0].id == "email-0");
    CHECK(started->methods[0].kind == "email");
    CHECK(started->methods[0].hint.find("alice@") == std::string::npos); // masked
    const std::string flow(started->flow.reveal());
    CHECK(flow.size() == 22);

    auto sent = h.engine->challenge(flows::flow_type::reset, h.ctx, flow, "email-0");
    REQUIRE(sent);
    CHECK(sent->code_sent);
    REQUIRE(h.messages_to("alice@example.org") == 1);
    const std::string c = h.sender->last_code();
    REQUIRE(c.size() == 6);

    CHECK_FALSE(h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password))));
    auto verified = h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0", code(c));
    REQUIRE(verified);
    CHECK(verified->gates_passed == 1);
    CHECK(verified->gates_required == 1);

    REQUIRE(h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password))));
    CHECK(h.directory->password_of(std::string(alice_dn)) == new_password);
    // The notice went to the registered address (code + notice).
    CHECK(h.messages_to("alice@example.org") == 2);
    CHECK(h.sender->messages().back().kind == delivery::message_kind::password_changed);

    // Single use: the same flow completes nothing again.
    auto again =
        h.engine->complete_reset(h.ctx, flow, common::secret(std::string("another one 123456")));
    REQUIRE_FALSE(again);
    CHECK(again.error().problem == problem::flow_not_found);
    CHECK(h.directory->password_of(std::string(alice_dn)) == new_password);
}

TEST_CASE("flows: unknown, unenrolled and real users look the same at start, challenge, verify",
          "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    auto real = h.engine->start(flows::flow_type::reset, h.ctx, "alice");
    auto unknown = h.engine->start(flows::flow_type::reset, h.ctx, "nobody-here");
    auto unenrolled = h.engine->start(flows::flow_type::reset, h.ctx, "bob");
    REQUIRE(real);
    REQUIRE(unknown);
    REQUIRE(unenrolled);
    for (const auto* r : {&*unknown, &*unenrolled}) {
        CHECK(r->gates_required == 1);
        CHECK_FALSE(r->methods.empty());
        CHECK(r->methods.front().kind == "email");
        CHECK_FALSE(r->methods.front().hint.empty());
        CHECK(r->flow.reveal().size() == 22);
    }
    // Stable hints: the same login gets the same methods and hints on every visit.
    auto unknown_again = h.engine->start(flows::flow_type::reset, h.ctx, "Nobody-Here");
    REQUIRE(unknown_again);
    REQUIRE(unknown_again->methods.size() == unknown->methods.size());
    for (std::size_t i = 0; i < unknown->methods.size(); ++i) {
        CHECK(unknown_again->methods[i].hint == unknown->methods[i].hint);
    }

    const std::string fake(unknown->flow.reveal());
    const auto before = h.sender->messages().size();
    auto sent = h.engine->challenge(flows::flow_type::reset, h.ctx, fake, "email-0");
    REQUIRE(sent);
    CHECK(sent->code_sent);
    CHECK(h.sender->messages().size() == before); // nothing goes out for a stand-in
    auto guessed =
        h.engine->verify(flows::flow_type::reset, h.ctx, fake, "email-0", code("123456"));
    REQUIRE_FALSE(guessed);
    CHECK(guessed.error().problem == problem::proof_invalid);
    auto done = h.engine->complete_reset(h.ctx, fake, common::secret(std::string(new_password)));
    REQUIRE_FALSE(done);
    CHECK(done.error().problem == problem::gates_missing);
}

TEST_CASE("flows: a wrong code is refused, and guessing gets the user blocked everywhere",
          "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    h.enrol_email(bob_dn, "bob@example.org");
    const std::string flow = h.challenged_reset("alice");
    const std::string right = h.sender->last_code();

    auto first =
        h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0", code(wrong_code(right)));
    REQUIRE_FALSE(first);
    CHECK(first.error().problem == problem::proof_invalid);

    // The validations bucket (5 per hour) and failed proofs (5 per day) lock the user out.
    bool throttled = false;
    for (int i = 0; i < 10 && !throttled; ++i) {
        auto r = h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0",
                                  code(wrong_code(right)));
        REQUIRE_FALSE(r);
        throttled = r.error().problem == problem::throttled;
        if (throttled) {
            CHECK(r.error().retry_after.count() > 0);
        }
    }
    CHECK(throttled);
    // Even the right code no longer helps, and a new flow is blocked too.
    auto late = h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0", code(right));
    REQUIRE_FALSE(late);
    CHECK(late.error().problem == problem::throttled);
    auto fresh = h.engine->start(flows::flow_type::reset, h.ctx, "alice");
    REQUIRE_FALSE(fresh);
    CHECK(fresh.error().problem == problem::throttled);
    // Another user is unaffected.
    CHECK(h.engine->start(flows::flow_type::reset, h.ctx, "bob"));
}

TEST_CASE("flows: a blocked address is refused before the directory is asked, from memory on "
          "this instance and from the store on another",
          "[flows]") {
    auto cfg = test_config();
    for (auto& b : cfg.throttles.buckets) {
        if (b.name == "flow_starts_per_ip") {
            b.limit = 3;
        }
    }
    harness h(cfg);
    // Nothing blocked yet: the early check lets the start through to the pool.
    CHECK_FALSE(h.engine->address_blocked(h.ctx).has_value());
    // Starts for different users from one address until the address's bucket blocks (bounded).
    const std::vector<std::string> logins{"alice", "bob", "carol", "nobody", "alice", "bob"};
    int allowed = 0;
    bool blocked = false;
    for (const auto& login : logins) {
        auto r = h.engine->start(flows::flow_type::reset, h.ctx, login);
        if (r) {
            ++allowed;
            continue;
        }
        CHECK(r.error().problem == problem::throttled);
        blocked = true;
        break;
    }
    REQUIRE(blocked);
    CHECK(allowed == 3);

    // The directory down now: a start from the blocked address is still a 429, not a 503, so it
    // never reached the directory; the I/O thread's check refuses it from memory, with a
    // Retry-After within the bucket's block.
    h.directory->fail_with(ldap::error::server_down);
    auto again = h.engine->start(flows::flow_type::reset, h.ctx, "bob");
    REQUIRE_FALSE(again);
    CHECK(again.error().problem == problem::throttled);
    const auto early = h.engine->address_blocked(h.ctx);
    REQUIRE(early.has_value());
    CHECK(early->problem == problem::throttled);
    CHECK(early->retry_after.count() > 0);
    CHECK(early->retry_after.count() <= 1800);
    CHECK(h.engine->early_refusals() == 1);
    // Another address is not refused early, and goes on to the (down) directory.
    flows::request_context other = h.ctx;
    other.client_ip = "198.51.100.7";
    CHECK_FALSE(h.engine->address_blocked(other).has_value());
    auto elsewhere = h.engine->start(flows::flow_type::reset, other, "bob");
    REQUIRE_FALSE(elsewhere);
    CHECK(elsewhere.error().problem == problem::directory_unavailable);

    // A second instance on the same store has no block in memory, so its early check lets the
    // request through; its start finds the block in the store, still before the directory.
    harness second(cfg, h.store);
    second.directory->fail_with(ldap::error::server_down);
    CHECK_FALSE(second.engine->address_blocked(second.ctx).has_value());
    auto there = second.engine->start(flows::flow_type::reset, second.ctx, "alice");
    REQUIRE_FALSE(there);
    CHECK(there.error().problem == problem::throttled);
    // ... and remembers it from then on.
    CHECK(second.engine->address_blocked(second.ctx).has_value());
}

TEST_CASE("flows: a code proves only the flow and user it was sent for", "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    h.enrol_email(bob_dn, "bob@example.org");
    auto a = h.engine->start(flows::flow_type::reset, h.ctx, "alice");
    auto b = h.engine->start(flows::flow_type::reset, h.ctx, "bob");
    REQUIRE(a);
    REQUIRE(b);
    const std::string fa(a->flow.reveal());
    const std::string fb(b->flow.reveal());
    REQUIRE(h.engine->challenge(flows::flow_type::reset, h.ctx, fa, "email-0"));
    const std::string alice_code = h.sender->last_code();
    REQUIRE(h.engine->challenge(flows::flow_type::reset, h.ctx, fb, "email-0"));
    const std::string bob_code = h.sender->last_code();
    if (alice_code != bob_code) {
        auto crossed =
            h.engine->verify(flows::flow_type::reset, h.ctx, fb, "email-0", code(alice_code));
        REQUIRE_FALSE(crossed);
        CHECK(crossed.error().problem == problem::proof_invalid);
    }
    // A reset flow is not an unlock flow.
    auto other_kind =
        h.engine->verify(flows::flow_type::unlock, h.ctx, fa, "email-0", code(alice_code));
    REQUIRE_FALSE(other_kind);
    CHECK(other_kind.error().problem == problem::flow_not_found);
    CHECK(h.engine->verify(flows::flow_type::reset, h.ctx, fb, "email-0", code(bob_code)));
}

TEST_CASE("flows: an admin-group member needs two different methods", "[flows]") {
    harness h;
    h.enrol_email(carol_dn, "carol@example.org");
    const auto key = h.enrol_totp("carol", carol_dn);
    auto started = h.engine->start(flows::flow_type::reset, h.ctx, "carol");
    REQUIRE(started);
    CHECK(started->gates_required == 2);
    const std::string flow(started->flow.reveal());
    REQUIRE(h.engine->challenge(flows::flow_type::reset, h.ctx, flow, "email-0"));
    REQUIRE(h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0",
                             code(h.sender->last_code())));
    auto early = h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password)));
    REQUIRE_FALSE(early);
    CHECK(early.error().problem == problem::gates_missing);
    auto twice = h.engine->challenge(flows::flow_type::reset, h.ctx, flow, "email-0");
    REQUIRE_FALSE(twice);
    CHECK(twice.error().problem == problem::method_already_used);

    h.clock->advance(std::chrono::seconds(31)); // the enrollment's own code step is spent
    REQUIRE(h.engine->challenge(flows::flow_type::reset, h.ctx, flow, "totp"));
    flows::proof p;
    p.code = h.totp_now(key);
    auto second = h.engine->verify(flows::flow_type::reset, h.ctx, flow, "totp", p);
    REQUIRE(second);
    CHECK(second->gates_passed == 2);
    REQUIRE(h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password))));
    CHECK(h.directory->password_of(std::string(carol_dn)) == new_password);
}

TEST_CASE("flows: a refused password names the rule and keeps the flow usable", "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    const std::string flow = h.challenged_reset("alice");
    REQUIRE(h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0",
                             code(h.sender->last_code())));
    auto short_one = h.engine->complete_reset(h.ctx, flow, common::secret(std::string("Ab1!x")));
    REQUIRE_FALSE(short_one);
    CHECK(short_one.error().problem == problem::password_too_short);
    CHECK(short_one.error().params.at("min") == "10");
    CHECK(h.directory->password_of(std::string(alice_dn)) == old_password);

    // The directory down at the last step: no success, and a later retry works.
    h.directory->fail_with(ldap::error::server_down);
    auto down = h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password)));
    REQUIRE_FALSE(down);
    CHECK(down.error().problem == problem::directory_unavailable);
    h.directory->fail_with(std::nullopt);
    CHECK(h.directory->password_of(std::string(alice_dn)) == old_password);
    REQUIRE(h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password))));
    CHECK(h.directory->password_of(std::string(alice_dn)) == new_password);
}

TEST_CASE("flows: a directory that acknowledges but does not hold the password is no success",
          "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    const std::string flow = h.challenged_reset("alice");
    REQUIRE(h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0",
                             code(h.sender->last_code())));
    h.directory->drop_writes(true);
    auto lied = h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password)));
    REQUIRE_FALSE(lied);
    CHECK(lied.error().problem == problem::directory_unavailable);
    h.directory->drop_writes(false);
    CHECK(h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password))));
}

TEST_CASE("flows: a reset whose answer was lost is asked about before it is sent again",
          "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    const auto verified = [&] {
        std::string flow = h.challenged_reset("alice");
        REQUIRE(h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0",
                                 code(h.sender->last_code())));
        return flow;
    };
    const std::string dn(alice_dn);

    // The directory set the password, but its answer timed out: no success is claimed...
    const auto flow = verified();
    h.directory->fail_resets_with(ldap::error::timeout, true);
    auto lost = h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password)));
    REQUIRE_FALSE(lost);
    CHECK(lost.error().problem == problem::directory_unavailable);
    CHECK(h.directory->password_of(dn) == new_password);
    // ...and the retry with the same password is told "changed" (one bind finds it set) instead
    // of a refusal of the password as the current one; the flow is then spent.
    h.directory->fail_resets_with(ldap::error::password_in_history);
    const auto binds = h.directory->verifications();
    REQUIRE(h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password))));
    CHECK(h.directory->verifications() == binds + 1);
    auto again = h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password)));
    REQUIRE_FALSE(again);
    CHECK(again.error().problem == problem::flow_not_found);

    // A plain refusal is an answer: the flow stays usable and no bind is spent on asking.
    const auto second = verified();
    const std::string other = "Another-Pass-77!";
    h.directory->fail_resets_with(ldap::error::password_in_history);
    auto refused = h.engine->complete_reset(h.ctx, second, common::secret(other));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().problem == problem::password_in_history);
    h.directory->fail_resets_with(std::nullopt);
    const auto before = h.directory->verifications();
    REQUIRE(h.engine->complete_reset(h.ctx, second, common::secret(other)));
    CHECK(h.directory->verifications() == before);
    CHECK(h.directory->password_of(dn) == other);
}

TEST_CASE("flows: security questions are drawn, checked with argon2id, and redrawn after a miss",
          "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    const auto token = h.enrol_session("alice");
    auto pool = h.engine->enroll_questions(h.ctx, token);
    REQUIRE(pool);
    REQUIRE(pool->size() == 4);
    std::vector<flows::answer> answers;
    answers.push_back({"school", common::secret(std::string("Hill Valley High"))});
    answers.push_back({"pet", common::secret(std::string("Einstein"))});
    answers.push_back({"city", common::secret(std::string("Hill Valley High"))});
    auto dup = h.engine->enroll_put_questions(h.ctx, token, answers);
    REQUIRE_FALSE(dup);
    CHECK(dup.error().problem == problem::answers_invalid);
    answers[2].text = common::secret(std::string("Seoul"));
    REQUIRE(h.engine->enroll_put_questions(h.ctx, token, answers));

    const auto answer_of = [&](const std::string& id) {
        for (const auto& a : answers) {
            if (a.id == id) {
                return std::string(a.text.reveal());
            }
        }
        return std::string("?");
    };
    auto started = h.engine->start(flows::flow_type::reset, h.ctx, "alice");
    REQUIRE(started);
    const std::string flow(started->flow.reveal());
    const auto has_questions = std::any_of(started->methods.begin(), started->methods.end(),
                                           [](const auto& m) { return m.id == "questions"; });
    REQUIRE(has_questions);
    auto asked = h.engine->challenge(flows::flow_type::reset, h.ctx, flow, "questions");
    REQUIRE(asked);
    REQUIRE(asked->questions.size() == 2);
    flows::proof wrong;
    for (const auto& q : asked->questions) {
        wrong.answers.push_back({q.id, common::secret(std::string("nope"))});
    }
    auto miss = h.engine->verify(flows::flow_type::reset, h.ctx, flow, "questions", wrong);
    REQUIRE_FALSE(miss);
    CHECK(miss.error().problem == problem::proof_invalid);
    // The draw is spent: answering again needs a new challenge.
    auto stale = h.engine->verify(flows::flow_type::reset, h.ctx, flow, "questions", wrong);
    REQUIRE_FALSE(stale);
    CHECK(stale.error().problem == problem::challenge_required);

    asked = h.engine->challenge(flows::flow_type::reset, h.ctx, flow, "questions");
    REQUIRE(asked);
    flows::proof right;
    for (const auto& q : asked->questions) {
        // Case and surrounding space do not matter.
        right.answers.push_back({q.id, common::secret("  " + answer_of(q.id) + " ")});
    }
    auto ok = h.engine->verify(flows::flow_type::reset, h.ctx, flow, "questions", right);
    REQUIRE(ok);
    CHECK(ok->gates_passed == 1);
}

TEST_CASE("flows: enrollment confirms an email with a code and lists it masked", "[flows]") {
    harness h;
    auto bad =
        h.engine->enroll_session(h.ctx, "alice", common::secret(std::string("wrong-password")));
    REQUIRE_FALSE(bad);
    CHECK(bad.error().problem == problem::credentials_invalid);
    auto nobody = h.engine->enroll_session(h.ctx, "nobody", common::secret(std::string("x")));
    REQUIRE_FALSE(nobody);
    CHECK(nobody.error().problem == problem::credentials_invalid);

    const auto token = h.enrol_session("alice");
    REQUIRE(h.engine->enroll_contact(h.ctx, token, "email", "alice.private@example.net"));
    const std::string c = h.sender->last_code();
    auto wrong = h.engine->enroll_contact_verify(h.ctx, token, "email", "alice.private@example.net",
                                                 common::secret(wrong_code(c)));
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().problem == problem::proof_invalid);
    // The code proves the address it was sent to, not another one.
    auto other = h.engine->enroll_contact_verify(h.ctx, token, "email", "mallory@example.net",
                                                 common::secret(c));
    REQUIRE_FALSE(other);
    CHECK(other.error().problem == problem::proof_invalid);
    // Two tries spent, three left: the right code for the right address still works, once.
    REQUIRE(h.engine->enroll_contact_verify(h.ctx, token, "email", "alice.private@example.net",
                                            common::secret(c)));
    auto reused = h.engine->enroll_contact_verify(h.ctx, token, "email",
                                                  "alice.private@example.net", common::secret(c));
    REQUIRE_FALSE(reused);
    CHECK(reused.error().problem == problem::challenge_required);
    auto listed = h.engine->enroll_methods(h.ctx, token);
    REQUIRE(listed);
    REQUIRE(listed->methods.size() == 1);
    CHECK(listed->methods[0].id == "email-0");
    CHECK(listed->methods[0].confirmed);
    CHECK(listed->methods[0].hint.find("alice.private") == std::string::npos);
    CHECK(listed->complete);

    REQUIRE(h.engine->enroll_delete_method(h.ctx, token, "email-0"));
    auto gone = h.engine->enroll_delete_method(h.ctx, token, "email-0");
    REQUIRE_FALSE(gone);
    CHECK(gone.error().problem == problem::method_not_found);
    auto invalid = h.engine->enroll_methods(h.ctx, "AAAAAAAAAAAAAAAAAAAAAA");
    REQUIRE_FALSE(invalid);
    CHECK(invalid.error().problem == problem::session_invalid);
}

TEST_CASE("flows: change needs the current password; unknown users get the same answer",
          "[flows]") {
    harness h;
    auto wrong = h.engine->change_password(h.ctx, "alice", common::secret(std::string("wrong one")),
                                           common::secret(std::string(new_password)));
    auto unknown =
        h.engine->change_password(h.ctx, "nobody", common::secret(std::string("wrong one")),
                                  common::secret(std::string(new_password)));
    REQUIRE_FALSE(wrong);
    REQUIRE_FALSE(unknown);
    CHECK(wrong.error().problem == problem::credentials_invalid);
    CHECK(unknown.error().problem == problem::credentials_invalid);
    REQUIRE(h.engine->change_password(h.ctx, "alice", common::secret(std::string(old_password)),
                                      common::secret(std::string(new_password))));
    CHECK(h.directory->password_of(std::string(alice_dn)) == new_password);
}

TEST_CASE("flows: unlock clears the lockout and leaves the password", "[flows]") {
    harness h;
    h.enrol_email(bob_dn, "bob@example.org");
    for (int i = 0; i < 3; ++i) {
        (void)h.directory->verify_password(bob_dn, "bad");
    }
    REQUIRE(h.directory->state_of(bob_dn)->locked);
    auto started = h.engine->start(flows::flow_type::unlock, h.ctx, "bob");
    REQUIRE(started);
    const std::string flow(started->flow.reveal());
    REQUIRE(h.engine->challenge(flows::flow_type::unlock, h.ctx, flow, "email-0"));
    REQUIRE(h.engine->verify(flows::flow_type::unlock, h.ctx, flow, "email-0",
                             code(h.sender->last_code())));
    REQUIRE(h.engine->complete_unlock(h.ctx, flow));
    CHECK_FALSE(h.directory->state_of(bob_dn)->locked);
    CHECK(h.directory->password_of(std::string(bob_dn)) == old_password);
    auto replay = h.engine->complete_unlock(h.ctx, flow);
    REQUIRE_FALSE(replay);
    CHECK(replay.error().problem == problem::flow_not_found);
}

TEST_CASE("flows: every step is audited with its reason, and no secret reaches the trail",
          "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    const std::string flow = h.challenged_reset("alice");
    const std::string c = h.sender->last_code();
    (void)h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0", code(wrong_code(c)));
    REQUIRE(h.engine->verify(flows::flow_type::reset, h.ctx, flow, "email-0", code(c)));
    REQUIRE(h.engine->complete_reset(h.ctx, flow, common::secret(std::string(new_password))));
    (void)h.engine->start(flows::flow_type::reset, h.ctx, "nobody-here");
    h.sender->complete_all();

    const std::string text = h.audit_text();
    for (const auto* step : {"\"reset.start\"", "\"reset.challenge\"", "\"reset.verify\"",
                             "\"reset.complete\"", "\"delivery.code\""}) {
        CHECK(text.find(step) != std::string::npos);
    }
    CHECK(text.find("\"proof.wrong\"") != std::string::npos);
    CHECK(text.find("\"password.reset\"") != std::string::npos);
    CHECK(text.find("\"user.unknown\"") != std::string::npos); // the real reason, for admins only
    CHECK(text.find(c) == std::string::npos);
    CHECK(text.find(wrong_code(c)) == std::string::npos);
    CHECK(text.find(new_password) == std::string::npos);
    CHECK(text.find(flow) == std::string::npos); // the token; the trail names the flow by its hash
    CHECK(text.find("alice@example.org") == std::string::npos);
    std::istringstream in(text);
    const auto report = audit::verify(in);
    CHECK(report.ok);
    CHECK(report.lines >= 7);
}

TEST_CASE("flows: a code whose delivery is retried is audited as failed at once, then as sent",
          "[flows]") {
    harness h;
    h.enrol_email(alice_dn, "alice@example.org");
    const std::string flow = h.challenged_reset("alice");
    const auto deliveries = [&h] {
        std::vector<std::string> out;
        std::istringstream in(h.audit_text());
        for (std::string line; std::getline(in, line);) {
            if (line.find("\"delivery.code\"") != std::string::npos) {
                out.push_back(line);
            }
        }
        return out;
    };
    CHECK(deliveries().empty());
    // Retried no longer than the code lives: the deadline is the stored code's expiry.
    const auto sent = h.sender->messages().back();
    CHECK(sent.deadline == h.clock->steady_now() + sent.params.code_lifetime);
    CHECK(sent.params.code_lifetime == test_config().methods.email.lifetime);
    REQUIRE(h.sender->defer_next(delivery::error::connect_failed));
    auto lines = deliveries();
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("\"outcome\":\"failed\"") != std::string::npos);
    CHECK(lines[0].find("\"reason\":\"delivery.retrying\"") != std::string::npos);
    CHECK(lines[0].find("could not connect to the server") != std::string::npos);
    REQUIRE(h.sender->complete_all() == 1);
    lines = deliveries();
    REQUIRE(lines.size() == 2);
    CHECK(lines[1].find("\"outcome\":\"ok\"") != std::string::npos);
    CHECK(lines[1].find("\"reason\":\"delivery.sent\"") != std::string::npos);
    const std::string text = h.audit_text();
    CHECK(text.find(h.sender->last_code()) == std::string::npos);
    CHECK(text.find("alice@example.org") == std::string::npos);
}

TEST_CASE("flows: answers wait for the configured floor plus a bounded jitter", "[flows]") {
    auto cfg = test_config();
    cfg.server.response_floor = std::chrono::milliseconds(300);
    cfg.server.response_jitter = std::chrono::milliseconds(40);
    harness h(cfg);
    const auto t0 = std::chrono::steady_clock::now();
    flows::request_context ctx = h.ctx;
    ctx.received = t0;
    std::set<std::int64_t> seen;
    for (int i = 0; i < 200; ++i) {
        const auto at = h.engine->respond_not_before(ctx);
        const auto after = std::chrono::duration_cast<std::chrono::milliseconds>(at - t0).count();
        CHECK(after >= 300);
        CHECK(after <= 340);
        seen.insert(after);
    }
    CHECK(seen.size() > 10); // jittered, not one fixed delay
}

TEST_CASE("flows: problem codes have stable names and statuses", "[flows]") {
    CHECK(flows::to_string(problem::proof_invalid) == "proof_invalid");
    CHECK(flows::http_status(problem::proof_invalid) == 400);
    CHECK(flows::http_status(problem::throttled) == 429);
    CHECK(flows::http_status(problem::password_in_history) == 422);
    CHECK(flows::http_status(problem::gates_missing) == 403);
    CHECK(flows::http_status(problem::credentials_invalid) == 401);
    CHECK(flows::http_status(problem::directory_unavailable) == 503);
    std::set<std::string_view> names;
    for (int p = 1; p <= static_cast<int>(problem::internal_error); ++p) {
        const auto name = flows::to_string(static_cast<problem>(p));
        CHECK(name != "invalid");
        CHECK(names.insert(name).second);
    }
}
