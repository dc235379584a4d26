// The reloadable configuration (config/holder.hpp): a reload swaps in a new configuration only
// when it has no error, readers keep the snapshot they took, and readers running during many
// reloads always see one whole configuration.
#include "config/holder.hpp"

#include "tests/support/config_test_support.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace sspr::config;
using namespace sspr::config::testing;

namespace {

/// A valid configuration whose organisation and minimum password length both encode `n`, so a
/// reader can tell a whole configuration from a mixture of two.
std::string numbered(int n) {
    return document::minimal()
        .set("ui", "  organisation: org-" + std::to_string(n) + "\n")
        .set("password", "  min_length: " + std::to_string(8 + n % 200) + "\n")
        .text();
}

config load_numbered(int n) {
    auto r = load(numbered(n));
    REQUIRE(r);
    return std::move(r->value);
}

/// A source that loads whatever `next` holds when reload() calls it.
struct scripted_source {
    std::shared_ptr<std::string> next = std::make_shared<std::string>();
    holder::source source() const {
        return [next = next] { return load(*next); };
    }
};

} // namespace

TEST_CASE("holder: starts at generation 1 with the initial configuration", "[config]") {
    scripted_source src;
    holder h(load_numbered(1), src.source());
    CHECK(h.generation() == 1);
    CHECK(h.snapshot()->ui.organisation == "org-1");
}

TEST_CASE("holder: a valid reload swaps; a snapshot taken before keeps the old", "[config]") {
    scripted_source src;
    holder h(load_numbered(1), src.source());
    const std::shared_ptr<const config> before = h.snapshot();

    *src.next = numbered(2);
    const reload_report report = h.reload();
    CHECK(report.applied);
    CHECK(report.errors.empty());
    CHECK(report.generation == 2);
    CHECK(h.generation() == 2);
    CHECK(h.snapshot()->ui.organisation == "org-2");
    // Work that started before the reload finishes on what it started with.
    CHECK(before->ui.organisation == "org-1");
    CHECK(before->password.min_length == 9);
}

TEST_CASE("holder: a reload with errors keeps the configuration in force", "[config]") {
    scripted_source src;
    holder h(load_numbered(1), src.source());
    *src.next = numbered(2) + "typo_section: {}\n";
    const reload_report report = h.reload();
    CHECK_FALSE(report.applied);
    CHECK(report.generation == 1);
    REQUIRE(report.errors.size() == 1);
    CHECK(report.errors[0].path == "typo_section");
    CHECK(h.generation() == 1);
    CHECK(h.snapshot()->ui.organisation == "org-1");

    // The next good file applies as usual.
    *src.next = numbered(3);
    CHECK(h.reload().applied);
    CHECK(h.generation() == 2);
    CHECK(h.snapshot()->ui.organisation == "org-3");
}

TEST_CASE("holder: settings read only at start-up are flagged when they change", "[config]") {
    scripted_source src;
    holder h(load_numbered(1), src.source(), "ssprd.yaml");
    *src.next = document::minimal()
                    .set("server", R"(  listen: ["0.0.0.0:9443"]
  public_url: https://sspr.example.org
  tls:
    certificate_file: /etc/ssprd/cert.pem
    key_file: /etc/ssprd/key.pem
  workers: 16
  idle_timeout: 30s
)")
                    .set("audit", "  metrics_listen: 127.0.0.1:9464\n")
                    .text();
    const reload_report report = h.reload();
    CHECK(report.applied);
    std::vector<std::string> lines;
    lines.reserve(report.warnings.size());
    for (const auto& w : report.warnings) {
        lines.push_back(to_string(w));
    }
    CHECK(lines == std::vector<std::string>{
                       "ssprd.yaml: server.listen: warning: changed, but takes effect only after "
                       "a restart",
                       "ssprd.yaml: server.workers: warning: changed, but takes effect only after "
                       "a restart",
                       "ssprd.yaml: audit.metrics_listen: warning: changed, but takes effect only "
                       "after a restart"});
}

TEST_CASE("holder: file_source reads the file again on every reload", "[config]") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sspr-holder-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    const std::filesystem::path dir = tmpl;
    const std::string path = (dir / "ssprd.yaml").string();
    const auto write = [&](const std::string& text) { std::ofstream(path) << text; };

    write(numbered(1));
    const load_options fake = fake_system::with_standard_files().options();
    auto first = load_file(path, fake);
    REQUIRE(first);
    holder h(std::move(first->value), file_source(path, fake), path);

    write(numbered(5));
    CHECK(h.reload().applied);
    CHECK(h.snapshot()->ui.organisation == "org-5");

    write("ui: [broken\n");
    const auto bad = h.reload();
    CHECK_FALSE(bad.applied);
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].path == "yaml");
    CHECK(bad.errors[0].file == path);
    CHECK(h.snapshot()->ui.organisation == "org-5");

    std::filesystem::remove_all(dir);
}

TEST_CASE("holder: readers during reloads always see one whole configuration", "[config]") {
    // Valid and invalid files alternate; four readers check every snapshot they take.
    constexpr int reloads = 200;
    constexpr int readers = 4;
    constexpr int max_reads = 200000; // bound, should the writer stall

    std::vector<std::string> files;
    files.reserve(reloads);
    for (int i = 0; i < reloads; ++i) {
        files.push_back(i % 3 == 2 ? numbered(i) + "unknown: 1\n" : numbered(i + 2));
    }
    std::atomic<int> next{0};
    holder h(load_numbered(1), [&] { return load(files[static_cast<std::size_t>(next++)]); });

    std::atomic<bool> done{false};
    std::atomic<int> torn{0};
    std::atomic<int> backwards{0};
    std::atomic<long> reads{0};
    std::vector<std::thread> threads;
    threads.reserve(readers);
    for (int r = 0; r < readers; ++r) {
        threads.emplace_back([&] {
            std::uint64_t last_generation = 0;
            for (int i = 0; i < max_reads && !done.load(); ++i) {
                const std::uint64_t generation = h.generation();
                const std::shared_ptr<const config> snap = h.snapshot();
                const int n = std::stoi(snap->ui.organisation.substr(4));
                if (snap->password.min_length != static_cast<unsigned>(8 + n % 200)) {
                    ++torn;
                }
                if (generation < last_generation) {
                    ++backwards;
                }
                last_generation = generation;
                ++reads;
            }
        });
    }
    int applied = 0;
    int refused = 0;
    for (int i = 0; i < reloads; ++i) {
        const reload_report report = h.reload();
        (report.applied ? applied : refused) += 1;
    }
    done = true;
    for (auto& t : threads) {
        t.join();
    }
    CHECK(torn == 0);
    CHECK(backwards == 0);
    CHECK(reads > 0);
    CHECK(refused == reloads / 3);
    CHECK(applied == reloads - reloads / 3);
    CHECK(h.generation() == static_cast<std::uint64_t>(1 + applied));
    // The last file (i = 199, valid) is in force.
    CHECK(h.snapshot()->ui.organisation == "org-" + std::to_string(reloads - 1 + 2));
}

TEST_CASE("holder: concurrent reloads are applied one after the other", "[config]") {
    std::atomic<int> counter{10};
    holder h(load_numbered(1), [&] { return load(numbered(counter++)); });
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 25; ++i) {
                h.reload();
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(h.generation() == 101);
    // Serialised: the last load (the 100th, number 109) is the one in force.
    CHECK(h.snapshot()->ui.organisation == "org-109");
}
