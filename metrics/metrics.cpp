#include "metrics/metrics.hpp"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <exception>
#include <sstream>

namespace sspr::metrics {

namespace {

/// Seconds: a healthy directory answers in a millisecond or two on a LAN; the top buckets catch
/// a stalled one up to the operation timeout's default of 10 s.
const prometheus::Histogram::BucketBoundaries directory_buckets{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

struct pull {
    std::string name;
    std::string help;
    kind type = kind::counter;
    std::function<std::vector<sample>()> read;
};

/// The families read at scrape time.
class pulled final : public prometheus::Collectable {
public:
    std::vector<pull> pulls;

    [[nodiscard]] std::vector<prometheus::MetricFamily> Collect() const override {
        std::vector<prometheus::MetricFamily> out;
        out.reserve(pulls.size());
        for (const pull& p : pulls) {
            prometheus::MetricFamily family;
            family.name = p.name;
            family.help = p.help;
            family.type = p.type == kind::counter ? prometheus::MetricType::Counter
                                                  : prometheus::MetricType::Gauge;
            std::vector<sample> samples;
            try {
                samples = p.read();
            } catch (const std::exception&) {
                continue; // a source that cannot answer now is left out of this scrape
            }
            for (const sample& s : samples) {
                prometheus::ClientMetric m;
                for (const auto& [name, value] : s.labels) {
                    m.label.push_back({name, value});
                }
                if (p.type == kind::counter) {
                    m.counter.value = s.value;
                } else {
                    m.gauge.value = s.value;
                }
                family.metric.push_back(std::move(m));
            }
            out.push_back(std::move(family));
        }
        return out;
    }
};

} // namespace

struct registry::impl {
    std::shared_ptr<prometheus::Registry> counted = std::make_shared<prometheus::Registry>();
    std::shared_ptr<pulled> on_scrape = std::make_shared<pulled>();

    prometheus::Family<prometheus::Counter>& steps =
        prometheus::BuildCounter()
            .Name("ssprd_flow_steps_total")
            .Help("Flow steps (the audit trail's events) by step and outcome")
            .Register(*counted);
    prometheus::Family<prometheus::Counter>& blocks =
        prometheus::BuildCounter()
            .Name("ssprd_throttle_blocks_total")
            .Help("Requests refused by a throttle, by bucket")
            .Register(*counted);
    prometheus::Family<prometheus::Histogram>& directory =
        prometheus::BuildHistogram()
            .Name("ssprd_directory_operation_seconds")
            .Help("Directory operations by server URI, operation and outcome "
                  "(ok, refused: the server said no, unavailable: no answer)")
            .Register(*counted);
    prometheus::Family<prometheus::Gauge>& server_up =
        prometheus::BuildGauge()
            .Name("ssprd_directory_server_up")
            .Help("1 when the last operation on this directory URI got an answer, else 0")
            .Register(*counted);
};

registry::registry() : impl_(std::make_unique<impl>()) {}
registry::~registry() = default;

void registry::flow_step(std::string_view step, std::string_view outcome) {
    impl_->steps.Add({{"step", std::string(step)}, {"outcome", std::string(outcome)}}).Increment();
}

void registry::throttle_block(std::string_view bucket) {
    impl_->blocks.Add({{"bucket", std::string(bucket)}}).Increment();
}

void registry::directory_operation(std::string_view uri, std::string_view operation,
                                   std::string_view outcome, std::chrono::nanoseconds took) {
    const std::string u(uri);
    impl_->directory
        .Add({{"uri", u}, {"operation", std::string(operation)}, {"outcome", std::string(outcome)}},
             directory_buckets)
        .Observe(std::chrono::duration<double>(took).count());
    impl_->server_up.Add({{"uri", u}}).Set(outcome == "unavailable" ? 0 : 1);
}

void registry::add_pull(std::string name, std::string help, kind type,
                        std::function<std::vector<sample>()> read) {
    impl_->on_scrape->pulls.push_back({std::move(name), std::move(help), type, std::move(read)});
}

std::string registry::text() const {
    auto families = impl_->counted->Collect();
    auto more = impl_->on_scrape->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, families);
    return out.str();
}

struct endpoint::impl {
    std::shared_ptr<registry> metrics;
    std::unique_ptr<prometheus::Exposer> exposer;
};

boost::system::result<std::unique_ptr<endpoint>, std::string>
endpoint::start(const std::string& listen, std::shared_ptr<registry> metrics) {
    std::unique_ptr<endpoint> e(new endpoint());
    e->impl_ = std::make_unique<impl>();
    e->impl_->metrics = std::move(metrics);
    try {
        // Two threads answer scrapes; a client that sends its request slowly is cut off.
        e->impl_->exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
            "listening_ports", listen, "num_threads", "2", "request_timeout_ms", "10000"});
    } catch (const std::exception& ex) {
        return std::string("cannot listen on ") + listen + ": " + ex.what();
    }
    auto& internals = e->impl_->metrics->internals();
    e->impl_->exposer->RegisterCollectable(internals.counted);
    e->impl_->exposer->RegisterCollectable(internals.on_scrape);
    return e;
}

endpoint::~endpoint() = default;

std::vector<int> endpoint::ports() const {
    return impl_->exposer->GetListeningPorts();
}

} // namespace sspr::metrics
