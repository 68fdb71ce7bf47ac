#pragma once
/// A small thread-safe metrics registry rendered in the Prometheus text format (0.0.4).

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace teamflow::server {

/// Label name/value pairs, in the order they are rendered.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// The kind of a metric family.
enum class MetricType { Counter, Gauge, Histogram };

/// Families and their series; every method may be called from any thread.
class Metrics {
public:
    /// The default latency buckets (seconds).
    static std::vector<double> default_buckets();

    /// Registers the service's families (HTTP, transitions, outbox, timers).
    Metrics();

    /// Declares a family; re-declaring an existing name is ignored. Histograms use `buckets`
    /// (ascending; `+Inf` is implicit).
    void describe(std::string name, MetricType type, std::string help,
                  std::vector<double> buckets = {});
    /// Adds `by` to a counter (or gauge) series.
    void inc(std::string_view name, const Labels& labels, double by = 1);
    /// Sets a gauge series.
    void set(std::string_view name, const Labels& labels, double value);
    /// Records one observation in a histogram series.
    void observe(std::string_view name, const Labels& labels, double value);
    /// The current value of a counter or gauge series (0 when absent), for tests.
    double value(std::string_view name, const Labels& labels) const;
    /// Runs before every `render` (e.g. to refresh the outbox backlog gauge from the store).
    void on_scrape(std::function<void(Metrics&)> hook);
    /// Everything, in the Prometheus text format.
    std::string render();

    /// One HTTP request: `teamflow_http_requests_total` and the duration histogram.
    void record_request(std::string_view route, std::string_view method, int status,
                        double seconds);
    /// One transition attempt: `teamflow_transitions_total{blueprint,outcome}`.
    void record_transition(std::string_view blueprint, std::string_view outcome);
    /// `teamflow_outbox_backlog{status}`: deliveries waiting (pending) or given up (failed).
    void set_outbox_backlog(std::string_view status, double count);
    /// `teamflow_timers_due`: timers whose time has come and that have not fired yet.
    void set_timers_due(double count);

private:
    struct Series {
        double value = 0;
        std::vector<std::uint64_t> buckets;
        double sum = 0;
        std::uint64_t count = 0;
    };
    struct Family {
        MetricType type = MetricType::Counter;
        std::string help;
        std::vector<double> buckets;
        std::map<std::string, Series> series; ///< key: rendered labels
    };
    Series* series_locked(std::string_view name, const Labels& labels, MetricType type);

    mutable std::mutex mutex_;
    std::map<std::string, Family, std::less<>> families_;
    std::vector<std::function<void(Metrics&)>> hooks_;
};

} // namespace teamflow::server
