// Benchmark of the password rules (policy/password_rules.hpp) with the breached-password lookup on
// a generated file of 10M SHA-1 hashes, and of the lookup alone. Needs no servers.
//
// The file is written directly in the binary format through breached_writer: sorted random
// digests made by adding random gaps to the top 64 bits (no sort, no 10M-entry array), with the
// digests of the "hit" passwords merged in at their places. The text import is not on this path;
// its speed is printed separately from a smaller generated text file.
//
// Latency is measured per call with steady_clock (its own cost, ~20-30 ns, is included).
#include "policy/breached.hpp"
#include "policy/password_rules.hpp"

#include <boost/program_options.hpp>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace po = boost::program_options;
namespace fs = std::filesystem;
using sspr::policy::sha1_digest;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    std::uint64_t entries = 10'000'000;
    std::size_t evaluations = 200'000;
    std::size_t hits = 1000;
    std::size_t terms = 1000;
    unsigned threads = 1;
    std::string dir;
    std::uint64_t seed = 42;
    bool keep = false;
    bool cold = true;
};

struct temp_dir {
    fs::path path;
    bool keep = false;
    explicit temp_dir(const std::string& parent) {
        std::string pattern = (fs::path(parent) / "sspr-password-bench-XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) {
            throw std::runtime_error("mkdtemp in " + parent + " failed");
        }
        path = pattern;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        if (!keep) {
            std::error_code ec;
            fs::remove_all(path, ec);
        }
    }
};

struct stats {
    double per_second = 0;
    double p50_us = 0;
    double p90_us = 0;
    double p99_us = 0;
    double p999_us = 0;
    double max_us = 0;
};

stats summarise(std::vector<std::int64_t> ns, std::chrono::nanoseconds total) {
    std::sort(ns.begin(), ns.end());
    const auto at = [&](double q) {
        const auto i = static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1));
        return static_cast<double>(ns[i]) / 1000.0;
    };
    stats s;
    s.per_second = static_cast<double>(ns.size()) / (static_cast<double>(total.count()) / 1e9);
    s.p50_us = at(0.50);
    s.p90_us = at(0.90);
    s.p99_us = at(0.99);
    s.p999_us = at(0.999);
    s.max_us = static_cast<double>(ns.back()) / 1000.0;
    return s;
}

void print(const char* what, const stats& s) {
    std::printf("%-44s %12.0f /s   p50 %7.2f us   p90 %7.2f us   p99 %7.2f us   p99.9 %7.2f us   "
                "max %8.1f us\n",
                what, s.per_second, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us);
}

template <class F> stats measure(std::size_t n, F&& call) {
    std::vector<std::int64_t> ns(n);
    const auto start = steady::now();
    for (std::size_t i = 0; i < n; ++i) {
        const auto t0 = steady::now();
        call(i);
        ns[i] = std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0).count();
    }
    return summarise(std::move(ns), steady::now() - start);
}

std::string random_string(std::mt19937_64& rng, std::string_view alphabet, std::size_t min_len,
                          std::size_t max_len) {
    std::uniform_int_distribution<std::size_t> len(min_len, max_len);
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    std::string s(len(rng), ' ');
    for (char& c : s) {
        c = alphabet[pick(rng)];
    }
    return s;
}

sha1_digest random_digest(std::mt19937_64& rng) {
    sha1_digest d{};
    for (std::size_t i = 0; i < d.size(); i += 8) {
        const std::uint64_t v = rng();
        for (std::size_t k = 0; k < 8 && i + k < d.size(); ++k) {
            d[i + k] = static_cast<std::uint8_t>(v >> (8 * k));
        }
    }
    return d;
}

// Sorted, distinct, uniformly spread digests: the top 64 bits grow by random gaps whose mean
// spreads `count` entries over ~99% of the space; the low 96 bits are random.
std::uint64_t generate_file(const std::string& path, std::uint64_t count,
                            const std::vector<sha1_digest>& hits, std::mt19937_64& rng) {
    auto writer = sspr::policy::breached_writer::create(path);
    if (!writer) {
        throw std::runtime_error(writer.error().describe());
    }
    const std::uint64_t mean_gap = (~std::uint64_t{0} / (count + count / 100 + 1));
    std::uniform_int_distribution<std::uint64_t> gap(1, 2 * mean_gap - 1);
    std::uint64_t top = 0;
    auto next_hit = hits.begin();
    std::uint64_t written = 0;
    sha1_digest last{};
    const auto put = [&](const sha1_digest& d) {
        if (written > 0 && !(last < d)) {
            return; // a collision with a hit digest: keep one
        }
        if (auto added = writer->add(d); !added) {
            throw std::runtime_error(added.error().describe());
        }
        last = d;
        ++written;
    };
    for (std::uint64_t i = 0; i + hits.size() < count; ++i) {
        const std::uint64_t step = gap(rng);
        if (top > ~std::uint64_t{0} - step) {
            break;
        }
        top += step;
        sha1_digest d = random_digest(rng);
        for (std::size_t k = 0; k < 8; ++k) {
            d[k] = static_cast<std::uint8_t>(top >> (56 - 8 * k));
        }
        while (next_hit != hits.end() && *next_hit < d) {
            put(*next_hit++);
        }
        put(d);
    }
    while (next_hit != hits.end()) {
        put(*next_hit++);
    }
    auto committed = writer->commit();
    if (!committed) {
        throw std::runtime_error(committed.error().describe());
    }
    return *committed;
}

double seconds_since(steady::time_point t0) {
    return std::chrono::duration<double>(steady::now() - t0).count();
}

void drop_from_page_cache(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        ::close(fd);
    }
}

// Reads the whole file once so that the warm measurements find it in the page cache.
void load_into_page_cache(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    std::vector<char> buffer(std::size_t{1} << 20);
    while (::read(fd, buffer.data(), buffer.size()) > 0) {
    }
    ::close(fd);
}

int run(const options& opt) {
    temp_dir dir(opt.dir.empty() ? fs::temp_directory_path().string() : opt.dir);
    dir.keep = opt.keep;
    std::mt19937_64 rng(opt.seed);
    const std::string breached_path = (dir.path / "breached.bin").string();

    // Passwords whose hashes are in the file: strong-looking, so only the breached rule fails.
    std::vector<std::string> hit_passwords;
    std::vector<sha1_digest> hit_digests;
    for (std::size_t i = 0; i < opt.hits; ++i) {
        hit_passwords.push_back("Hx" + std::to_string(i * 7919 + 13) + "-Vq!Zr");
        hit_digests.push_back(sspr::policy::sha1(hit_passwords.back()));
    }
    std::sort(hit_digests.begin(), hit_digests.end());

    std::printf(
        "ssprd password bench: %llu entries, %zu evaluations, %zu banned terms, seed %llu\n",
        static_cast<unsigned long long>(opt.entries), opt.evaluations, opt.terms,
        static_cast<unsigned long long>(opt.seed));
    auto t0 = steady::now();
    const std::uint64_t written = generate_file(breached_path, opt.entries, hit_digests, rng);
    const double generate_s = seconds_since(t0);
    const auto file_size = fs::file_size(breached_path);
    std::printf("generated %llu entries (%.1f MB) in %.2f s (binary writer, no text import)\n",
                static_cast<unsigned long long>(written), static_cast<double>(file_size) / 1e6,
                generate_s);

    // The text import on a 1M-line slice, for the admin's expectation of `ssprd breached import`.
    {
        std::vector<sha1_digest> sample(1'000'000);
        for (auto& d : sample) {
            d = random_digest(rng);
        }
        std::sort(sample.begin(), sample.end());
        sample.erase(std::unique(sample.begin(), sample.end()), sample.end());
        std::string text;
        text.reserve(sample.size() * 46);
        for (const auto& d : sample) {
            text += sspr::policy::to_hex(d);
            text += ":12\r\n";
        }
        std::istringstream in(std::move(text));
        t0 = steady::now();
        const auto imported = sspr::policy::import_pwned(in, (dir.path / "import.bin").string());
        const double import_s = seconds_since(t0);
        if (!imported) {
            throw std::runtime_error(imported.error().describe());
        }
        std::printf("text import: %llu lines in %.2f s (%.2f M lines/s; ~900M lines: ~%.0f min)\n",
                    static_cast<unsigned long long>(imported->lines), import_s,
                    static_cast<double>(imported->lines) / import_s / 1e6,
                    900.0 * import_s / (static_cast<double>(imported->lines) / 1e6) / 60.0);
        fs::remove(dir.path / "import.bin");
    }

    // Lookups straight after dropping the file from the page cache: what lookups cost when the
    // file is not in memory (a restart, or a full corpus larger than RAM): page reads from the
    // disk that backs --dir.
    if (opt.cold) {
        drop_from_page_cache(breached_path);
        auto cold_list = sspr::policy::breached_list::open(breached_path);
        if (!cold_list) {
            throw std::runtime_error(cold_list.error().describe());
        }
        std::vector<sha1_digest> probes(5000);
        for (auto& d : probes) {
            d = random_digest(rng);
        }
        std::size_t found = 0;
        print("breached lookup, cold (file not cached)", measure(probes.size(), [&](std::size_t i) {
                  found += cold_list->contains(probes[i]) ? 1U : 0U;
              }));
        if (found > 2) {
            std::printf("  (unexpected: %zu random digests found)\n", found);
        }
    }

    t0 = steady::now();
    load_into_page_cache(breached_path);
    std::printf("read the file into the page cache in %.2f s; all that follows is warm\n",
                seconds_since(t0));

    // The checker as the gateway builds it: AD complexity on, built-in + generated banned terms.
    sspr::config::password_config config;
    config.ad_complexity = true;
    config.breached_file = breached_path;
    for (std::size_t i = 0; i < opt.terms; ++i) {
        config.banned_terms.push_back(random_string(rng, "abcdefghijklmnopqrstuvwxyz", 5, 10));
    }
    t0 = steady::now();
    const sspr::policy::password_checker checker(config);
    std::printf("checker built in %.1f ms (%zu normalised terms)\n", seconds_since(t0) * 1e3,
                checker.banned_term_count());

    // A bounded pool of candidates, cycled: a third breached, a third strong misses, the rest
    // banned-term variants and non-ASCII passwords that take the ICU path.
    std::vector<std::string> pool;
    const std::string printable =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&*+-.:;<=>?@^_~";
    const std::vector<std::string> weak{"P@ssw0rd2024!", "Welcome123!", "Qwerty!2345",
                                        "Summer2024!",   "Letmein!99",  "JohnDoe2024!",
                                        "Adm1n!str@tor", "Contoso#1"};
    const std::vector<std::string> unicode{"Gr\xC3\xB6\xC3\x9F"
                                           "e-Stra\xC3\x9F"
                                           "e-7",
                                           "\xEB\xB9\x84\xEB\xB0\x80\xEB\xB2\x88\xED\x98\xB8-2024!",
                                           "\xD0\x9F\xD0\xB0\xD1\x80\xD0\xBE\xD0\xBB\xD1\x8C-"
                                           "\xD0\x92\xD0\xB5\xD1\x81\xD0\xBD\xD0\xB0-9",
                                           "Caf\xC3\xA9-cr\xC3\xA8me-br\xC3\xBB\xC3\xBB"
                                           "l\xC3\xA9"
                                           "e"};
    std::uniform_int_distribution<std::size_t> pick_hit(0, hit_passwords.size() - 1);
    for (std::size_t i = 0; i < 10'000; ++i) {
        switch (i % 6) {
        case 0:
        case 1:
            pool.push_back(hit_passwords[pick_hit(rng)]);
            break;
        case 2:
        case 3:
            pool.push_back(random_string(rng, printable, 10, 20));
            break;
        case 4:
            pool.push_back(weak[i / 6 % weak.size()]);
            break;
        default:
            pool.push_back(unicode[i / 6 % unicode.size()]);
            break;
        }
    }
    const sspr::policy::password_context context{"jdoe", "Doe, John"};

    std::size_t failures = 0;
    for (const auto& candidate : pool) { // warm-up, and a sanity count
        failures += checker.check(candidate, context).empty() ? 0U : 1U;
    }
    std::printf("candidates: a pool of %zu (1/3 breached, 1/3 random strong, 1/6 weak, 1/6 "
                "non-ASCII), %zu fail at least one rule\n",
                pool.size(), failures);

    print("check() incl. breached lookup, 1 thread", measure(opt.evaluations, [&](std::size_t i) {
              failures += checker.check(pool[i % pool.size()], context).size();
          }));

    // Hostile sizes: the longest password that is scored (max_length, built from term prefixes so
    // that many probes hit), and a body-sized one that is only measured and refused.
    {
        std::string longest;
        for (std::size_t i = 0; longest.size() < config.max_length; ++i) {
            longest += config.banned_terms[i % config.banned_terms.size()].substr(0, 3);
        }
        longest.resize(config.max_length);
        print("check(), 256 chars of banned-term prefixes", measure(2000, [&](std::size_t) {
                  failures += checker.check(longest, context).size();
              }));
        const std::string body(std::size_t{64} * 1024, 'a');
        print("check(), 64 KiB candidate (refused too long)",
              measure(200, [&](std::size_t) { failures += checker.check(body, context).size(); }));
    }

    const auto* list = checker.breached();
    std::vector<sha1_digest> digests;
    for (std::size_t i = 0; i < 100'000; ++i) {
        digests.push_back(i % 2 == 0 ? hit_digests[i / 2 % hit_digests.size()]
                                     : random_digest(rng));
    }
    std::size_t found = 0;
    print("breached lookup alone (digest given)", measure(opt.evaluations, [&](std::size_t i) {
              found += list->contains(digests[i % digests.size()]) ? 1U : 0U;
          }));
    print("breached lookup alone incl. SHA-1", measure(opt.evaluations, [&](std::size_t i) {
              found += list->contains_password(pool[i % pool.size()]) ? 1U : 0U;
          }));
    {
        const auto start = steady::now();
        for (std::size_t i = 0; i < opt.evaluations; ++i) {
            found += list->contains(digests[i % digests.size()]) ? 1U : 0U;
        }
        const double s = seconds_since(start);
        std::printf("%-44s %12.0f /s   mean %.3f us (no clock per call)\n",
                    "breached lookup alone, batch", static_cast<double>(opt.evaluations) / s,
                    s * 1e6 / static_cast<double>(opt.evaluations));
    }

    if (opt.threads > 1) {
        std::atomic<std::size_t> total{0};
        std::vector<std::thread> threads;
        const std::size_t per_thread = opt.evaluations;
        const auto start = steady::now();
        for (unsigned t = 0; t < opt.threads; ++t) {
            threads.emplace_back([&, t] {
                std::size_t local = 0;
                for (std::size_t i = 0; i < per_thread; ++i) {
                    local += checker.check(pool[(i + std::size_t{t} * 997) % pool.size()], context)
                                 .size();
                }
                total += local;
            });
        }
        for (auto& thread : threads) {
            thread.join();
        }
        const double s = seconds_since(start);
        std::printf("%-44s %12.0f /s   (%u threads, %zu evaluations each)\n", "check() aggregate",
                    static_cast<double>(per_thread * opt.threads) / s, opt.threads, per_thread);
        failures += total;
    }
    std::printf("(checksum %zu %zu)\n", failures, found);
    if (opt.keep) {
        std::printf("kept %s\n", dir.path.c_str());
    }
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    options opt;
    po::options_description desc("Usage: sspr_password_bench [options]\n\nOptions");
    desc.add_options()("help,h", "show this help")(
        "entries", po::value(&opt.entries)->default_value(opt.entries),
        "hashes in the generated breached file")(
        "evaluations", po::value(&opt.evaluations)->default_value(opt.evaluations),
        "timed calls per measurement")("hits", po::value(&opt.hits)->default_value(opt.hits),
                                       "candidate passwords whose hashes are in the file")(
        "terms", po::value(&opt.terms)->default_value(opt.terms),
        "configured banned terms (Entra allows 1000)")(
        "threads", po::value(&opt.threads)->default_value(opt.threads),
        "also run check() on this many threads")(
        "dir", po::value(&opt.dir),
        "where the temporary directory goes (default: the system temp dir)")(
        "seed", po::value(&opt.seed)->default_value(opt.seed),
        "random seed")("no-cold", "skip the lookups after dropping the file from the page cache")(
        "keep", "keep the generated files");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "sspr_password_bench: " << e.what() << "\n" << desc << "\n";
        return 2;
    }
    if (vm.count("help") != 0U) {
        std::cout << desc << "\n";
        return 0;
    }
    opt.keep = vm.count("keep") != 0U;
    opt.cold = vm.count("no-cold") == 0U;
    if (opt.entries < opt.hits || opt.evaluations == 0 || opt.hits == 0) {
        std::cerr << "sspr_password_bench: need evaluations > 0 and 0 < hits <= entries\n";
        return 2;
    }
    try {
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "sspr_password_bench: " << e.what() << "\n";
        return 1;
    }
}
