// The metrics of a running ssprd in the Prometheus text format, served on audit.metrics_listen.
//
// Counted as things happen (cheap, from the threads that do them):
//   ssprd_flow_steps_total{step,outcome}        every audit event: "reset.start" / "ok", ...
//   ssprd_throttle_blocks_total{bucket}         a request refused by a throttle bucket
//   ssprd_directory_operation_seconds{uri,operation,outcome}   histogram per directory URI
//   ssprd_directory_server_up{uri}              1 when the URI's last operation got an answer
// Read when scraped, from the pulls added with add_pull (the sender's and engine's counters, the
// health of the directory and store, how many users registered which method).
//
// Label values come from code (step names, outcomes, bucket names, configured URIs), never from a
// request, so the number of series is bounded and no user input reaches the output.
#pragma once

#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sspr::metrics {

/// One value read at scrape time.
struct sample {
    std::vector<std::pair<std::string, std::string>> labels;
    double value = 0;
};

enum class kind {
    counter,
    gauge,
};

class registry {
public:
    registry();
    ~registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;

    void flow_step(std::string_view step, std::string_view outcome);
    void throttle_block(std::string_view bucket);
    void directory_operation(std::string_view uri, std::string_view operation,
                             std::string_view outcome, std::chrono::nanoseconds took);

    /// A family whose samples `read` gives at every scrape (on the endpoint's thread; it may
    /// block briefly, e.g. ask the store). Add before the endpoint starts; not thread-safe.
    void add_pull(std::string name, std::string help, kind type,
                  std::function<std::vector<sample>()> read);

    /// Everything in the text exposition format (what a scrape gets).
    [[nodiscard]] std::string text() const;

    struct impl;
    [[nodiscard]] impl& internals() const { return *impl_; }

private:
    std::unique_ptr<impl> impl_;
};

/// The HTTP endpoint: GET /metrics on `listen` ("127.0.0.1:9464", "[::1]:9464"; port 0 picks a
/// free one). Plain HTTP: keep it on loopback or a management network.
class endpoint {
public:
    /// Fails with the reason (a port in use, an address that is not an IP literal).
    static boost::system::result<std::unique_ptr<endpoint>, std::string>
    start(const std::string& listen, std::shared_ptr<registry> metrics);
    ~endpoint();
    endpoint(const endpoint&) = delete;
    endpoint& operator=(const endpoint&) = delete;

    /// The ports it listens on (the chosen one for port 0).
    [[nodiscard]] std::vector<int> ports() const;

private:
    endpoint() = default;
    struct impl;
    std::unique_ptr<impl> impl_;
};

} // namespace sspr::metrics
