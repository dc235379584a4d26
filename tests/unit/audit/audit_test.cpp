// Unit tests of audit/audit.hpp: the trail writes chained lines to a file in a private temporary
// directory, the tests edit the file the way an intruder or a crash would, and verify() must name
// the first broken line. Expected hashes are computed here with OpenSSL's SHA256() and expected
// line numbers from the edit made, never from the code under test.
#include "audit/audit.hpp"
#include "tests/support/stderr_capture.hpp"

#include <boost/json.hpp>
#include <catch2/catch.hpp>

#include <openssl/sha.h>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using sspr::audit::event;
using sspr::audit::run_audit_verify;
using sspr::audit::trail;
using sspr::audit::verify;
using sspr::audit::verify_report;
namespace audit = sspr::audit;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

const std::string zeros(64, '0');

/// 2026-12-06T21:00:00.123Z
const std::chrono::system_clock::time_point t0 =
    std::chrono::sys_days{std::chrono::year{2026} / 12 / 6} + 21h + 123ms;

/// A private directory removed at the end of the test.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "sspr-audit-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
};

std::string sha256_hex(const std::string& bytes) {
    std::array<unsigned char, SHA256_DIGEST_LENGTH> md{};
    SHA256(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), md.data());
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const unsigned char b : md) {
        out += digits[b >> 4U];
        out += digits[b & 0xFU];
    }
    return out;
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

void write_file(const fs::path& p, const std::string& content) {
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
}

/// The lines of `text`, each without its '\n'; `text` must end with one.
std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start < text.size()) {
        const auto nl = text.find('\n', start);
        REQUIRE(nl != std::string::npos);
        lines.push_back(text.substr(start, nl - start));
        start = nl + 1;
    }
    return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
    std::string s;
    for (const auto& l : lines) {
        s += l + '\n';
    }
    return s;
}

event sample(int i) {
    event e;
    e.time = t0 + std::chrono::milliseconds(i);
    e.request_id = "req-" + std::to_string(i);
    e.client_ip = "192.0.2.7";
    e.username = "user-" + std::to_string(i);
    e.user_dn = "uid=user-" + std::to_string(i) + ",ou=people,dc=example,dc=org";
    e.flow = "flow-" + std::to_string(i);
    e.step = "reset.verify";
    e.method = "email";
    e.outcome = "refused";
    e.reason = "challenge.wrong_code";
    e.hint = "u***@example.org";
    return e;
}

std::unique_ptr<trail> open_ok(const fs::path& p) {
    auto t = trail::open(p);
    if (!t) {
        FAIL("trail::open failed: " << t.error().message());
    }
    return std::move(*t);
}

/// A file of `n` lines written by a trail.
std::vector<std::string> write_chain(const fs::path& p, int n) {
    auto t = open_ok(p);
    for (int i = 1; i <= n; ++i) {
        t->record(sample(i));
    }
    REQUIRE(t->written() == static_cast<std::uint64_t>(n));
    REQUIRE(t->failed_writes() == 0);
    return split_lines(read_file(p));
}

verify_report verify_text(const std::string& text) {
    std::istringstream in(text);
    return verify(in);
}

void require_broken_at(const std::string& text, std::uint64_t line, const std::string& why) {
    const auto r = verify_text(text);
    CHECK_FALSE(r.ok);
    REQUIRE(r.first_broken_line.has_value());
    CHECK(*r.first_broken_line == line);
    CHECK(r.why == why);
    CHECK(r.lines == line - 1);
}

boost::json::object parse_object(const std::string& line) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    REQUIRE_FALSE(ec);
    REQUIRE(v.is_object());
    return v.as_object();
}

std::uint64_t seq_of(const std::string& line) {
    return parse_object(line).at("seq").to_number<std::uint64_t>();
}

std::string prev_of(const std::string& line) {
    return std::string(parse_object(line).at("prev").as_string());
}

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777U;
}

/// Sets the soft RLIMIT_FSIZE for the scope, with SIGXFSZ ignored so that a write past it fails
/// with EFBIG instead of killing the test.
class file_size_limit {
public:
    explicit file_size_limit(rlim_t bytes) {
        REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
        previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
        rlimit lowered = saved_;
        lowered.rlim_cur = bytes;
        REQUIRE(::setrlimit(RLIMIT_FSIZE, &lowered) == 0);
    }
    file_size_limit(const file_size_limit&) = delete;
    file_size_limit& operator=(const file_size_limit&) = delete;
    ~file_size_limit() { lift(); }
    void lift() {
        if (active_) {
            (void)::setrlimit(RLIMIT_FSIZE, &saved_); // raising back to what it was cannot fail
            (void)std::signal(SIGXFSZ, previous_handler_);
            active_ = false;
        }
    }

private:
    rlimit saved_{};
    void (*previous_handler_)(int) = nullptr;
    bool active_ = true;
};

} // namespace

// ---- the line and the chain ------------------------------------------------------------------

TEST_CASE("audit: a line holds time, the non-empty fields in order, seq and prev", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    {
        auto t = open_ok(p);
        event e;
        e.time = t0;
        e.request_id = "r-1";
        e.username = "alice";
        e.step = "reset.start";
        e.outcome = "ok";
        t->record(e);
        event bare;
        bare.time = t0 + 1s;
        t->record(bare); // step and outcome stay, even empty
    }
    const auto lines = split_lines(read_file(p));
    REQUIRE(lines.size() == 2);
    const std::string first = R"({"time":"2026-12-06T21:00:00.123Z","request_id":"r-1",)"
                              R"("username":"alice","step":"reset.start","outcome":"ok",)"
                              R"("seq":1,"prev":")" +
                              zeros + "\"}";
    CHECK(lines[0] == first);
    CHECK(lines[1] == R"({"time":"2026-12-06T21:00:01.123Z","step":"","outcome":"",)"
                      R"("seq":2,"prev":")" +
                          sha256_hex(first) + "\"}");
}

TEST_CASE("audit: every field of the event is written under its name", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    event e = sample(1);
    e.diagnostic = "0000052D: Constraint violation";
    e.actor = "helpdesk-bob";
    open_ok(p)->record(e);
    const auto o = parse_object(split_lines(read_file(p)).at(0));
    const std::vector<std::pair<std::string, std::string>> expected{
        {"time", "2026-12-06T21:00:00.124Z"},
        {"request_id", "req-1"},
        {"client_ip", "192.0.2.7"},
        {"username", "user-1"},
        {"user_dn", "uid=user-1,ou=people,dc=example,dc=org"},
        {"flow", "flow-1"},
        {"step", "reset.verify"},
        {"method", "email"},
        {"outcome", "refused"},
        {"reason", "challenge.wrong_code"},
        {"diagnostic", "0000052D: Constraint violation"},
        {"actor", "helpdesk-bob"},
        {"hint", "u***@example.org"}};
    REQUIRE(o.size() == expected.size() + 2);
    auto it = o.begin();
    for (const auto& [key, value] : expected) {
        CHECK(it->key() == key);
        CHECK(it->value().as_string() == value);
        ++it;
    }
    CHECK(it->key() == "seq");
    CHECK((++it)->key() == "prev");
}

TEST_CASE("audit: the trail fills in the time when the event has none", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    const auto before =
        std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
    event e;
    e.step = "reset.start";
    e.outcome = "ok";
    open_ok(p)->record(e);
    const auto after = std::chrono::system_clock::now();
    const std::string time(parse_object(split_lines(read_file(p)).at(0)).at("time").as_string());
    // Parse it back by hand: 2026-12-06T21:00:00.123Z
    REQUIRE(time.size() == 24);
    const std::chrono::sys_days day{std::chrono::year{std::stoi(time.substr(0, 4))} /
                                    std::stoi(time.substr(5, 2)) / std::stoi(time.substr(8, 2))};
    const auto at = day + std::chrono::hours(std::stoi(time.substr(11, 2))) +
                    std::chrono::minutes(std::stoi(time.substr(14, 2))) +
                    std::chrono::seconds(std::stoi(time.substr(17, 2))) +
                    std::chrono::milliseconds(std::stoi(time.substr(20, 3)));
    CHECK(at >= before);
    CHECK(at <= after);
}

TEST_CASE("audit: a chain of many lines verifies, each prev the SHA-256 of the line before",
          "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    const auto lines = write_chain(p, 1000);
    REQUIRE(lines.size() == 1000);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        CHECK(seq_of(lines[i]) == i + 1);
        CHECK(prev_of(lines[i]) == (i == 0 ? zeros : sha256_hex(lines[i - 1])));
    }
    const auto r = verify_text(read_file(p));
    CHECK(r.ok);
    CHECK(r.lines == 1000);
    CHECK_FALSE(r.first_broken_line.has_value());
    CHECK_FALSE(r.continued);
    CHECK(verify_text("").ok); // an empty file is an empty chain
}

TEST_CASE("audit: verify names the first line an edit broke", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    constexpr std::size_t n = 50;
    const auto original = write_chain(p, static_cast<int>(n));
    REQUIRE(original.size() == n);
    REQUIRE(verify_text(join_lines(original)).ok);
    auto lines = original;

    SECTION("one byte of a field's value changed: that line still parses, the next one's prev "
            "no longer matches it") {
        for (const std::size_t k : {1U, 17U, 49U}) {
            lines = original;
            auto& line = lines[k - 1];
            const auto at = line.find("\"user-") + 1;
            REQUIRE(line[at] == 'u');
            line[at] = 'v';
            require_broken_at(join_lines(lines), k + 1,
                              "prev does not match line " + std::to_string(k));
        }
    }
    SECTION("one byte of the JSON structure changed: that line is not JSON") {
        lines[16].front() = '[';
        require_broken_at(join_lines(lines), 17, "not JSON");
    }
    SECTION("a digit of a line's own prev changed: that line's prev does not match") {
        auto& line = lines[29];
        const auto at = line.find("\"prev\":\"") + 8;
        line[at] = line[at] == '0' ? '1' : '0';
        require_broken_at(join_lines(lines), 30, "prev does not match line 29");
    }
    SECTION("a line's seq changed: that line breaks") {
        auto& line = lines[9];
        const auto at = line.find("\"seq\":10,");
        REQUIRE(at != std::string::npos);
        line.replace(at, 9, "\"seq\":11,");
        require_broken_at(join_lines(lines), 10, "seq 11 does not follow seq 9 of line 9");
    }
    SECTION("line k deleted: the line now at k does not follow line k-1") {
        lines.erase(lines.begin() + 19); // line 20
        require_broken_at(join_lines(lines), 20, "prev does not match line 19");
    }
    SECTION("a copy of an earlier line inserted: the inserted line breaks") {
        lines.insert(lines.begin() + 25, original[3]); // becomes line 26
        require_broken_at(join_lines(lines), 26, "prev does not match line 25");
    }
    SECTION("a forged line with the right prev and seq inserted: the line after it breaks") {
        auto forged = parse_object(original[24]); // shaped like line 25
        forged["username"] = "mallory";
        forged["outcome"] = "ok";
        forged["seq"] = 26;
        forged["prev"] = sha256_hex(original[24]);
        lines.insert(lines.begin() + 25, boost::json::serialize(forged)); // line 26
        require_broken_at(join_lines(lines), 27, "prev does not match line 26");
    }
    SECTION("two lines swapped: the first of them breaks") {
        std::swap(lines[9], lines[39]); // lines 10 and 40
        require_broken_at(join_lines(lines), 10, "prev does not match line 9");
        lines = original;
        std::swap(lines[4], lines[5]); // neighbours 5 and 6
        require_broken_at(join_lines(lines), 5, "prev does not match line 4");
    }
    SECTION("a line re-serialized with spaces is refused although it is the same JSON") {
        auto& line = lines[11];
        line.replace(line.find("\"seq\":"), 6, "\"seq\": ");
        require_broken_at(join_lines(lines), 12,
                          "not in the form ssprd writes (reformatted, or a field given twice)");
    }
    SECTION("a field given twice is refused: readers disagree on which one counts") {
        auto& line = lines[11];
        line.insert(1, R"("outcome":"ok",)");
        require_broken_at(join_lines(lines), 12,
                          "not in the form ssprd writes (reformatted, or a field given twice)");
    }
    SECTION("an empty line inserted is not JSON") {
        lines.insert(lines.begin() + 2, "");
        require_broken_at(join_lines(lines), 3, "not JSON");
    }
    SECTION("the last line cut short (no newline) breaks there") {
        std::string text = join_lines(lines);
        text.resize(text.size() - 10);
        require_broken_at(text, n, "does not end with a newline (a write cut short?)");
    }
    SECTION("what a hash chain alone cannot show: the last line changed or removed, or the "
            "first line removed (the file then says it continues an earlier one)") {
        lines.back()[lines.back().find("\"user-") + 1] = 'v';
        auto r = verify_text(join_lines(lines));
        CHECK(r.ok);
        CHECK(r.lines == n);

        lines = original;
        lines.pop_back();
        r = verify_text(join_lines(lines));
        CHECK(r.ok);
        CHECK(r.lines == n - 1);

        lines = original;
        lines.erase(lines.begin());
        r = verify_text(join_lines(lines));
        CHECK(r.ok);
        CHECK(r.lines == n - 1);
        CHECK(r.continued);
        CHECK(r.note.find("line 1 (seq 2) continues a chain from an earlier file") == 0);
    }
}

TEST_CASE("audit: verify checks line 1 and the required fields", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    const auto lines = write_chain(p, 3);
    auto first = parse_object(lines[0]);

    SECTION("zeros with a seq other than 1") {
        first["seq"] = 7;
        require_broken_at(boost::json::serialize(first) + "\n", 1,
                          "a chain starts with seq 1, this line has seq 7");
    }
    SECTION("seq 1 with a prev other than zeros") {
        first["prev"] = sha256_hex("x");
        require_broken_at(boost::json::serialize(first) + "\n", 1,
                          "seq 1 starts a chain, but prev is not zeros");
    }
    SECTION("a missing field") {
        first.erase("outcome");
        require_broken_at(boost::json::serialize(first) + "\n", 1, "missing field \"outcome\"");
    }
    SECTION("a field of the wrong type") {
        first["username"] = 5;
        require_broken_at(boost::json::serialize(first) + "\n", 1,
                          "field \"username\" is not a string");
    }
    SECTION("not an object") {
        require_broken_at("[1,2]\n", 1, "not a JSON object");
    }
    SECTION("a line too long to be one of ours, even without a newline") {
        require_broken_at(std::string(std::size_t{300} * 1024, 'x'), 1, "longer than 262144 bytes");
    }
}

// ---- restart, rotation -------------------------------------------------------------------------

TEST_CASE("audit: reopening the file continues its chain (seq and prev)", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    write_chain(p, 10);
    {
        auto t = open_ok(p);
        for (int i = 11; i <= 20; ++i) {
            t->record(sample(i));
        }
        CHECK(t->written() == 10);
    }
    const auto lines = split_lines(read_file(p));
    REQUIRE(lines.size() == 20);
    CHECK(seq_of(lines[10]) == 11);
    CHECK(prev_of(lines[10]) == sha256_hex(lines[9]));
    const auto r = verify_text(read_file(p));
    CHECK(r.ok);
    CHECK(r.lines == 20);
}

TEST_CASE("audit: an existing empty file starts a new chain", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    write_file(p, "");
    REQUIRE(::chmod(p.c_str(), 0640) == 0);
    open_ok(p)->record(sample(1));
    const auto lines = split_lines(read_file(p));
    REQUIRE(lines.size() == 1);
    CHECK(seq_of(lines[0]) == 1);
    CHECK(prev_of(lines[0]) == zeros);
}

TEST_CASE("audit: after a rename, reopen starts the new file where the old chain ended",
          "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    const auto old_path = dir.path / "audit.jsonl.1";
    auto t = open_ok(p);
    for (int i = 1; i <= 5; ++i) {
        t->record(sample(i));
    }
    REQUIRE(t->reopen()); // the path still names the open file: nothing changes
    t->record(sample(6));
    fs::rename(p, old_path);
    REQUIRE(t->reopen());
    for (int i = 7; i <= 10; ++i) {
        t->record(sample(i));
    }
    const auto old_lines = split_lines(read_file(old_path));
    const auto new_lines = split_lines(read_file(p));
    REQUIRE(old_lines.size() == 6);
    REQUIRE(new_lines.size() == 4);
    CHECK(mode_of(p) == 0640);
    CHECK(seq_of(new_lines[0]) == 7);
    CHECK(prev_of(new_lines[0]) == sha256_hex(old_lines.back()));

    const auto r = verify_text(read_file(p));
    CHECK(r.ok);
    CHECK(r.lines == 4);
    CHECK(r.continued);
    CHECK(r.note == "line 1 (seq 7) continues a chain from an earlier file (rotated away?); its "
                    "prev " +
                        sha256_hex(old_lines.back()) + " is not checked here");
    const auto both = verify_text(read_file(old_path) + read_file(p));
    CHECK(both.ok);
    CHECK(both.lines == 10);
    CHECK_FALSE(both.continued);
}

TEST_CASE("audit: a file truncated under the trail (copytruncate) goes on with the chain",
          "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    auto t = open_ok(p);
    for (int i = 1; i <= 3; ++i) {
        t->record(sample(i));
    }
    const auto before = split_lines(read_file(p));
    fs::resize_file(p, 0);
    t->record(sample(4));
    const auto lines = split_lines(read_file(p));
    REQUIRE(lines.size() == 1); // O_APPEND: at the new end, not at the old offset
    CHECK(seq_of(lines[0]) == 4);
    CHECK(prev_of(lines[0]) == sha256_hex(before.back()));
    CHECK(verify_text(read_file(p)).continued);
}

TEST_CASE("audit: a file ending in a partial line is refused, not continued", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    const auto lines = write_chain(p, 3);
    const std::string intact = join_lines(lines);

    SECTION("part of a line after the last newline") {
        write_file(p, intact + lines[2].substr(0, 40));
        sspr::testing::stderr_capture log;
        const auto t = trail::open(p);
        REQUIRE_FALSE(t);
        CHECK(t.error() == audit::error::torn_last_line);
        const std::string logged = log.text();
        CHECK(logged.find("ends in a partial line") != std::string::npos);
        CHECK(logged.find("complete_bytes=\"" + std::to_string(intact.size()) + "\"") !=
              std::string::npos);
        CHECK(read_file(p) == intact + lines[2].substr(0, 40)); // left as it was
        require_broken_at(read_file(p), 4, "does not end with a newline (a write cut short?)");
    }
    SECTION("a whole line but its newline") {
        write_file(p, intact.substr(0, intact.size() - 1));
        const auto t = trail::open(p);
        REQUIRE_FALSE(t);
        CHECK(t.error() == audit::error::torn_last_line);
        require_broken_at(read_file(p), 3, "does not end with a newline (a write cut short?)");
    }
}

TEST_CASE("audit: a last line that is not a chain line is refused", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    const auto lines = write_chain(p, 3);
    for (const std::string& last : {std::string("garbage"), std::string(""),
                                    std::string(R"({"time":"2026-12-06T21:00:00.123Z"})")}) {
        const std::string text = join_lines(lines) + last + "\n";
        write_file(p, text);
        sspr::testing::stderr_capture log;
        const auto t = trail::open(p);
        REQUIRE_FALSE(t);
        CHECK(t.error() == audit::error::bad_last_line);
        CHECK(log.text().find("not a chain line") != std::string::npos);
        CHECK(read_file(p) == text);
    }
}

// ---- many writers ------------------------------------------------------------------------------

TEST_CASE("audit: 8 threads x 500 events: every line intact, the chain verifies", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    constexpr int threads = 8;
    constexpr int per_thread = 500;
    constexpr std::size_t total = std::size_t{threads} * per_thread;
    {
        auto t = open_ok(p);
        std::vector<std::thread> workers;
        workers.reserve(threads);
        for (int w = 0; w < threads; ++w) {
            workers.emplace_back([&t, w] {
                for (int i = 0; i < per_thread; ++i) {
                    event e = sample(i);
                    e.username = "t" + std::to_string(w) + "-" + std::to_string(i);
                    t->record(std::move(e));
                }
            });
        }
        for (auto& worker : workers) {
            worker.join();
        }
        CHECK(t->written() == total);
        CHECK(t->failed_writes() == 0);
    }
    const std::string text = read_file(p);
    const auto lines = split_lines(text);
    REQUIRE(lines.size() == total);
    // Each thread's events appear once each, in the order that thread made them.
    std::map<int, int> next_of_thread;
    for (std::size_t k = 0; k < lines.size(); ++k) {
        const auto o = parse_object(lines[k]);
        CHECK(o.at("seq").to_number<std::uint64_t>() == k + 1);
        const std::string user(o.at("username").as_string());
        const auto dash = user.find('-');
        const int w = std::stoi(user.substr(1, dash - 1));
        const int i = std::stoi(user.substr(dash + 1));
        CHECK(i == next_of_thread[w]++);
    }
    for (int w = 0; w < threads; ++w) {
        CHECK(next_of_thread[w] == per_thread);
    }
    const auto r = verify_text(text);
    CHECK(r.ok);
    CHECK(r.lines == total);
}

// ---- hostile input ------------------------------------------------------------------------------

TEST_CASE("audit: nothing in a field can end the line or forge a field", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    struct attempt {
        std::string input;
        std::string stored; // the value read back from the JSON
    };
    const std::string fffd = "\xEF\xBF\xBD";
    const std::vector<attempt> attempts{
        {"a\nb", "a\nb"},
        {"a\r\nb", "a\r\nb"},
        {"x\",\"outcome\":\"ok", "x\",\"outcome\":\"ok"},
        {"x\"}\n{\"step\":\"reset.complete\",\"outcome\":\"ok\"}",
         "x\"}\n{\"step\":\"reset.complete\",\"outcome\":\"ok\"}"},
        {"back\\slash", "back\\slash"},
        {std::string("nul\0byte", 8), std::string("nul\0byte", 8)},
        {"ls\xE2\x80\xA8ps\xE2\x80\xA9", "ls\xE2\x80\xA8ps\xE2\x80\xA9"},
        {"nel\xC2\x85"
         "del\x7F",
         "nel\xC2\x85"
         "del\x7F"},
        {"bidi\xE2\x80\xAEgnp.exe", "bidi\xE2\x80\xAEgnp.exe"},
        {"bad\xFF\xFE", "bad" + fffd + fffd},
        {"overlong\xC0\xAF", "overlong" + fffd + fffd},
        {"surrogate\xED\xA0\x80", "surrogate" + fffd + fffd + fffd},
        {"cut\xE2\x82", "cut" + fffd},
        {"cut\xF0\x9F\x98x", "cut" + fffd + "x"},
        {"ok \xC3\xA9\xED\x95\x9C\xF0\x9F\x98\x80", "ok \xC3\xA9\xED\x95\x9C\xF0\x9F\x98\x80"},
    };
    {
        auto t = open_ok(p);
        for (const auto& a : attempts) {
            event e = sample(1);
            e.username = a.input;
            e.outcome = "refused";
            t->record(e);
        }
    }
    const std::string text = read_file(p);
    CHECK(std::count(text.begin(), text.end(), '\n') ==
          static_cast<std::ptrdiff_t>(attempts.size()));
    // None of the characters a reader could take for a line break is in the file raw.
    for (const std::string& raw :
         {std::string("\r"), std::string("\xC2\x85"), std::string("\xE2\x80\xA8"),
          std::string("\xE2\x80\xA9"), std::string("\xE2\x80\xAE"), std::string(1, '\0'),
          std::string("\x7F")}) {
        CHECK(text.find(raw) == std::string::npos);
    }
    CHECK(text.find(R"(ls\u2028ps\u2029)") != std::string::npos);
    CHECK(text.find(R"(nel\u0085del\u007f)") != std::string::npos);
    const auto lines = split_lines(text);
    REQUIRE(lines.size() == attempts.size());
    for (std::size_t k = 0; k < lines.size(); ++k) {
        const auto o = parse_object(lines[k]);
        CHECK(o.at("username").as_string() == attempts[k].stored);
        CHECK(o.at("outcome").as_string() == "refused");
        CHECK(o.at("step").as_string() == "reset.verify");
        CHECK(o.size() == 13); // sample's 11 fields, seq and prev: nothing added
    }
    CHECK(verify_text(text).ok);
}

TEST_CASE("audit: a long field is cut at a character boundary and marked", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    {
        auto t = open_ok(p);
        event e = sample(1);
        e.username = std::string(5000, 'a');
        t->record(e);
        std::string accents;
        for (int i = 0; i < 3000; ++i) {
            accents += "\xC3\xA9"; // é, two bytes
        }
        e.username = accents;
        e.diagnostic = std::string(100000, '\n'); // would be 600 kB escaped
        t->record(e);
    }
    const auto lines = split_lines(read_file(p));
    REQUIRE(lines.size() == 2);
    const std::string ellipsis = "\xE2\x80\xA6";
    CHECK(parse_object(lines[0]).at("username").as_string() == std::string(1021, 'a') + ellipsis);
    std::string kept;
    for (int i = 0; i < 510; ++i) { // 1020 bytes: the 1021st would split an é
        kept += "\xC3\xA9";
    }
    CHECK(parse_object(lines[1]).at("username").as_string() == kept + ellipsis);
    CHECK(parse_object(lines[1]).at("diagnostic").as_string() ==
          std::string(1021, '\n') + ellipsis);
    CHECK(verify_text(read_file(p)).ok);
}

// ---- the file ----------------------------------------------------------------------------------

TEST_CASE("audit: a new file is created with mode 0640 whatever the umask", "[audit]") {
    temp_dir dir;
    for (const mode_t mask : {mode_t{022}, mode_t{077}, mode_t{0}}) {
        const auto p = dir.path / ("audit-" + std::to_string(mask) + ".jsonl");
        const mode_t saved = ::umask(mask);
        auto t = trail::open(p);
        ::umask(saved);
        REQUIRE(t);
        CHECK(mode_of(p) == 0640);
    }
}

TEST_CASE("audit: a symbolic link at the path is refused", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    const auto target = dir.path / "elsewhere.jsonl";
    SECTION("to an existing file, which stays untouched") {
        write_file(target, "");
        REQUIRE(::chmod(target.c_str(), 0640) == 0);
        fs::create_symlink(target, p);
        const auto t = trail::open(p);
        REQUIRE_FALSE(t);
        CHECK(t.error() == audit::error::symlink);
        CHECK(read_file(target).empty());
    }
    SECTION("dangling: the target is not created") {
        fs::create_symlink(target, p);
        const auto t = trail::open(p);
        REQUIRE_FALSE(t);
        CHECK(t.error() == audit::error::symlink);
        CHECK_FALSE(fs::exists(target));
    }
}

TEST_CASE("audit: a file that others may write is refused", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    const auto lines = write_chain(p, 2);
    for (const unsigned mode : {0646U, 0666U, 0660U, 0620U}) {
        REQUIRE(::chmod(p.c_str(), mode) == 0);
        const auto t = trail::open(p);
        REQUIRE_FALSE(t);
        CHECK(t.error() == audit::error::unsafe_permissions);
        CHECK(split_lines(read_file(p)) == lines);
    }
    REQUIRE(::chmod(p.c_str(), 0600) == 0);
    CHECK(trail::open(p)); // stricter than 0640 is fine
    // Only root can give a file away to test the owner check.
    if (::geteuid() == 0) {
        SECTION("a file owned by another user") {
            REQUIRE(::chown(p.c_str(), 65534, 65534) == 0);
            const auto t = trail::open(p);
            REQUIRE_FALSE(t);
            CHECK(t.error() == audit::error::unsafe_permissions);
        }
    }
}

TEST_CASE("audit: a directory at the path is refused", "[audit]") {
    temp_dir dir;
    const auto t = trail::open(dir.path);
    REQUIRE_FALSE(t);
    CHECK(t.error() == audit::error::not_regular_file);
    const auto missing = trail::open(dir.path / "no-such-dir" / "audit.jsonl");
    REQUIRE_FALSE(missing);
    CHECK(missing.error() == audit::error::cannot_open);
}

TEST_CASE("audit: two trails on one file write one chain", "[audit]") {
    // The gateway and an `ssprd helpdesk` command write the same file: every line's prev must be
    // the SHA-256 of the line before it, whichever trail wrote that one.
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    auto first = open_ok(p);
    first->record(sample(1));
    auto second = open_ok(p);
    second->record(sample(2));
    first->record(sample(3));
    first->record(sample(4));
    second->record(sample(5));
    const auto lines = split_lines(read_file(p));
    REQUIRE(lines.size() == 5);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        CHECK(seq_of(lines[i]) == i + 1);
        CHECK(parse_object(lines[i]).at("request_id").as_string() ==
              "req-" + std::to_string(i + 1));
        if (i > 0) {
            CHECK(prev_of(lines[i]) == sha256_hex(lines[i - 1]));
        }
    }
    CHECK(verify_text(read_file(p)).ok);
}

TEST_CASE("audit: a flock held by another process is waited for, then not honoured forever",
          "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    write_chain(p, 1);
    const int other = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    REQUIRE(other >= 0);
    REQUIRE(::flock(other, LOCK_EX | LOCK_NB) == 0);
    SECTION("open refuses after waiting") {
        const auto start = std::chrono::steady_clock::now();
        const auto t = trail::open(p);
        REQUIRE_FALSE(t);
        CHECK(t.error() == audit::error::in_use);
        CHECK(std::chrono::steady_clock::now() - start >= 200ms);
    }
    SECTION("a trail opened before still writes, chained, after the wait") {
        ::flock(other, LOCK_UN);
        auto t = open_ok(p);
        REQUIRE(::flock(other, LOCK_EX | LOCK_NB) == 0);
        sspr::testing::stderr_capture log;
        t->record(sample(2));
        CHECK(t->written() == 1);
        CHECK(log.text().find("locked by another process") != std::string::npos);
        CHECK(verify_text(read_file(p)).ok);
    }
    ::close(other);
}

// ---- write failures ----------------------------------------------------------------------------

TEST_CASE("audit: a failed write is counted and logged without the event, the chain survives",
          "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    auto t = open_ok(p);
    for (int i = 1; i <= 3; ++i) {
        t->record(sample(i));
    }
    const auto size = static_cast<rlim_t>(fs::file_size(p));
    event secret_looking = sample(4);
    secret_looking.username = "do-not-log-me";

    SECTION("nothing written: the event is lost, the next line follows the last one written") {
        std::string logged;
        {
            file_size_limit limit(size);
            sspr::testing::stderr_capture log;
            t->record(secret_looking);
            t->record(secret_looking); // same burst: logged once
            logged = log.text();
        }
        CHECK(t->failed_writes() == 2);
        CHECK(t->written() == 3);
        CHECK(logged.find("cannot write to the audit file") != std::string::npos);
        CHECK(logged.find("File too large") != std::string::npos);
        CHECK(logged.find("do-not-log-me") == std::string::npos);
        CHECK(std::count(logged.begin(), logged.end(), '\n') == 1);
        CHECK(fs::file_size(p) == size);

        sspr::testing::stderr_capture log;
        t->record(sample(5));
        const std::string recovered = log.text();
        CHECK(recovered.find("writing to the audit file works again") != std::string::npos);
        CHECK(recovered.find("failed_writes=\"2\"") != std::string::npos);
        const auto lines = split_lines(read_file(p));
        REQUIRE(lines.size() == 4);
        CHECK(seq_of(lines[3]) == 4);
        CHECK(parse_object(lines[3]).at("username").as_string() == "user-5");
        CHECK(verify_text(read_file(p)).ok);
    }
    SECTION("part of a line written: the next record finishes it before its own") {
        {
            file_size_limit limit(size + 20);
            sspr::testing::stderr_capture log;
            t->record(secret_looking);
            CHECK(log.text().find("do-not-log-me") == std::string::npos);
        }
        CHECK(t->failed_writes() == 1);
        CHECK(fs::file_size(p) == size + 20);
        REQUIRE_FALSE(verify_text(read_file(p)).ok); // torn for now

        t->record(sample(5));
        CHECK(t->written() == 5); // the finished line and the new one
        const auto lines = split_lines(read_file(p));
        REQUIRE(lines.size() == 5);
        CHECK(parse_object(lines[3]).at("username").as_string() == "do-not-log-me");
        CHECK(seq_of(lines[4]) == 5);
        const auto r = verify_text(read_file(p));
        CHECK(r.ok);
        CHECK(r.lines == 5);
    }
}

// ---- ssprd audit verify ------------------------------------------------------------------------

TEST_CASE("audit: run_audit_verify exits 0, 1 or 2 and says why", "[audit]") {
    temp_dir dir;
    const auto p = dir.path / "audit.jsonl";
    auto lines = write_chain(p, 42);
    std::ostringstream out;
    std::ostringstream err;

    SECTION("an intact file") {
        CHECK(run_audit_verify(p.string(), out, err) == 0);
        CHECK(out.str() == "ok: 42 lines\n");
        CHECK(err.str().empty());
    }
    SECTION("a continued file gets a note") {
        lines.erase(lines.begin());
        write_file(p, join_lines(lines));
        CHECK(run_audit_verify(p.string(), out, err) == 0);
        CHECK(out.str().rfind("ok: 41 lines\nnote: line 1 (seq 2) continues a chain", 0) == 0);
    }
    SECTION("a broken file") {
        lines.erase(lines.begin() + 40); // line 41
        write_file(p, join_lines(lines));
        CHECK(run_audit_verify(p.string(), out, err) == 1);
        CHECK(out.str() == "broken at line 41: prev does not match line 40\n");
        CHECK(err.str().empty());
    }
    SECTION("a missing file") {
        const auto missing = (dir.path / "missing.jsonl").string();
        CHECK(run_audit_verify(missing, out, err) == 2);
        CHECK(out.str().empty());
        CHECK(err.str() ==
              "ssprd audit verify: cannot read " + missing + ": No such file or directory\n");
    }
    SECTION("a directory") {
        CHECK(run_audit_verify(dir.path.string(), out, err) == 2);
        CHECK(err.str().find(dir.path.string()) != std::string::npos);
    }
}
