// Figures for challenge/: one-time code issue+verify operations per second (one thread and
// several), TOTP verifications per second, and argon2id hash and verify time of a security answer
// at the default cost (64 MiB, t=3, p=1). Prints timings only: never a code, secret or answer.
#include "challenge/code.hpp"
#include "challenge/questions.hpp"
#include "challenge/totp.hpp"
#include "common/random.hpp"
#include "config/config.hpp"

#include <boost/program_options.hpp>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace challenge = sspr::challenge;
using steady = std::chrono::steady_clock;

/// CPU time of the calling thread: on a shared machine wall time measures the neighbours too.
double thread_cpu_seconds() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct rate {
    double per_wall_second = 0;
    double per_cpu_second = 0;
};

struct options {
    double seconds = 2.0;
    unsigned argon2_runs = 10;
    unsigned threads = 0; // 0 = hardware concurrency
};

sspr::common::secret random_key(sspr::common::random& random) {
    std::string bytes(32, '\0');
    random.fill(std::as_writable_bytes(std::span(bytes.data(), bytes.size())));
    return sspr::common::secret(std::move(bytes));
}

/// Issue a code and verify it, as often as possible for `seconds` on each of `threads` threads.
/// Returns pairs per second over all threads (and per CPU-second of the workers); throws if a
/// right code is ever refused.
rate code_ops_per_second(const challenge::code_issuer& issuer, double seconds, unsigned threads) {
    sspr::config::code_method_config cfg;
    cfg.enabled = true;
    std::atomic<std::uint64_t> total{0};
    std::atomic<double> cpu{0};
    std::atomic<bool> failed{false};
    const auto deadline = steady::now() + std::chrono::duration_cast<steady::duration>(
                                              std::chrono::duration<double>(seconds));
    const auto start = steady::now();
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            const challenge::code_binding binding{"uid=bench" + std::to_string(t) + ",dc=example",
                                                  "flow-" + std::to_string(t),
                                                  sspr::config::method::email, "bench@example.org"};
            std::uint64_t n = 0;
            const double cpu_start = thread_cpu_seconds();
            while (steady::now() < deadline) {
                const auto now = std::chrono::system_clock::now();
                const auto issued = issuer.issue(binding, cfg, now);
                if (!issued) {
                    failed = true;
                    return;
                }
                const auto v = issuer.verify(issued->record, binding, issued->code.reveal(), now);
                if (v.status != challenge::code_status::ok) {
                    failed = true;
                    return;
                }
                ++n;
            }
            total += n;
            cpu += thread_cpu_seconds() - cpu_start;
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    if (failed) {
        throw std::runtime_error("a freshly issued code was refused");
    }
    const std::chrono::duration<double> elapsed = steady::now() - start;
    const auto n = static_cast<double>(total.load());
    return {n / elapsed.count(), n / cpu.load()};
}

rate totp_verifies_per_second(double seconds) {
    const sspr::common::secret key{"12345678901234567890"};
    const auto params = challenge::make_totp_params(sspr::config::totp_config{}).value();
    const auto deadline = steady::now() + std::chrono::duration_cast<steady::duration>(
                                              std::chrono::duration<double>(seconds));
    const auto start = steady::now();
    const double cpu_start = thread_cpu_seconds();
    std::uint64_t n = 0;
    while (steady::now() < deadline) {
        // A wrong code: the worst case, every step of the window is computed and compared.
        const auto v = challenge::verify_totp(key, "000000x", std::chrono::system_clock::now(),
                                              std::nullopt, params);
        if (v.status != challenge::totp_status::wrong) {
            throw std::runtime_error("malformed TOTP accepted");
        }
        ++n;
    }
    const std::chrono::duration<double> elapsed = steady::now() - start;
    const double cpu = thread_cpu_seconds() - cpu_start;
    return {static_cast<double>(n) / elapsed.count(), static_cast<double>(n) / cpu};
}

struct timing {
    double min_ms = 0;
    double median_ms = 0;
    double max_ms = 0;
};

timing summarise(std::vector<double> ms) {
    std::sort(ms.begin(), ms.end());
    return {ms.front(), ms[ms.size() / 2], ms.back()};
}

void print_timing(const char* what, const timing& t) {
    std::printf("  %-30s min %7.1f ms   median %7.1f ms   max %7.1f ms\n", what, t.min_ms,
                t.median_ms, t.max_ms);
}

void print_rate(const char* what, const rate& r) {
    std::printf("  %-12s %10.0f ops/s   (%10.0f per CPU-second)\n", what, r.per_wall_second,
                r.per_cpu_second);
}

int run(const options& opt) {
    auto random = sspr::common::make_system_random();
    const challenge::code_issuer issuer(random_key(*random), random);
    const unsigned threads =
        opt.threads != 0 ? opt.threads : std::max(1U, std::thread::hardware_concurrency());

    std::printf("one-time codes (6 digits, HMAC-SHA-256, issue + verify = 1 op)\n");
    print_rate("1 thread", code_ops_per_second(issuer, opt.seconds, 1));
    if (threads > 1) {
        const std::string label = std::to_string(threads) + " threads";
        print_rate(label.c_str(), code_ops_per_second(issuer, opt.seconds, threads));
    }
    std::printf("TOTP (SHA-1, 6 digits, window of 3 steps, 1 thread)\n");
    print_rate("verify", totp_verifies_per_second(opt.seconds));

    const sspr::config::argon2_cost cost; // the defaults: 64 MiB, t=3, p=1
    std::printf("argon2id at the default cost (m=%u KiB, t=%u, p=%u), %u runs\n", cost.memory_kib,
                cost.iterations, cost.parallelism, opt.argon2_runs);
    std::vector<double> hash_ms;
    std::vector<double> verify_ms;
    std::vector<double> hash_cpu_ms;
    std::vector<double> verify_cpu_ms;
    const std::string answer = "the answer used by the benchmark";
    std::string encoded;
    for (unsigned i = 0; i < opt.argon2_runs; ++i) {
        auto t0 = steady::now();
        auto c0 = thread_cpu_seconds();
        auto h = challenge::hash_answer(answer, 3, cost, *random);
        hash_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
        hash_cpu_ms.push_back((thread_cpu_seconds() - c0) * 1000.0);
        if (!h) {
            throw std::runtime_error("hash_answer: " + h.error().message());
        }
        encoded = std::move(*h);

        t0 = steady::now();
        c0 = thread_cpu_seconds();
        const auto ok = challenge::verify_answer(encoded, answer);
        verify_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - t0).count());
        verify_cpu_ms.push_back((thread_cpu_seconds() - c0) * 1000.0);
        if (!ok || !*ok) {
            throw std::runtime_error("verify_answer refused the right answer");
        }
    }
    print_timing("hash (normalise+argon2), wall", summarise(hash_ms));
    print_timing("hash, CPU", summarise(hash_cpu_ms));
    print_timing("verify, wall", summarise(verify_ms));
    print_timing("verify, CPU", summarise(verify_cpu_ms));
    const double per_core = 1000.0 / summarise(verify_cpu_ms).median_ms;
    std::printf("  => about %.1f answer checks per second per core\n", per_core);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    namespace po = boost::program_options;
    options opt;
    po::options_description desc("sspr_challenge_bench");
    desc.add_options()("help", "this text")("seconds",
                                            po::value(&opt.seconds)->default_value(opt.seconds),
                                            "seconds per throughput run")(
        "argon2-runs", po::value(&opt.argon2_runs)->default_value(opt.argon2_runs),
        "argon2id hashes and verifications to time")(
        "threads", po::value(&opt.threads)->default_value(opt.threads),
        "threads for the multi-thread code run (0 = one per core)");
    try {
        po::variables_map vm;
        po::store(po::parse_command_line(argc, argv, desc), vm);
        po::notify(vm);
        if (vm.count("help") != 0) {
            std::cout << desc << '\n';
            return 0;
        }
        if (opt.seconds <= 0 || opt.argon2_runs == 0) {
            std::cerr << "--seconds and --argon2-runs must be positive\n";
            return 2;
        }
        return run(opt);
    } catch (const std::exception& e) {
        std::cerr << "sspr_challenge_bench: " << e.what() << '\n';
        return 1;
    }
}
