// The metrics registry: one mutex, families keyed by name, series keyed by their rendered labels.

#include "teamflow/server/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <iterator>

namespace teamflow::server {

namespace {

void append_escaped_label(std::string& out, std::string_view v) {
    for (const char c : v) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
}

std::string escape_label(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    append_escaped_label(out, v);
    return out;
}

std::string render_labels(const Labels& labels) {
    std::string out;
    for (const auto& [name, value] : labels) {
        if (!out.empty()) {
            out.push_back(',');
        }
        out += fmt::format("{}=\"{}\"", name, escape_label(value));
    }
    return out;
}

std::string number(double v) {
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    if (std::isnan(v)) {
        return "NaN";
    }
    return fmt::format("{}", v);
}

std::string with_labels(std::string_view name, std::string_view labels, std::string_view extra) {
    if (labels.empty() && extra.empty()) {
        return std::string(name);
    }
    if (labels.empty() || extra.empty()) {
        return fmt::format("{}{{{}{}}}", name, labels, extra);
    }
    return fmt::format("{}{{{},{}}}", name, labels, extra);
}

} // namespace

std::vector<double> Metrics::default_buckets() {
    return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

Metrics::Metrics() {
    describe("teamflow_http_requests_total", MetricType::Counter,
             "HTTP requests by route pattern, method and status");
    describe("teamflow_http_request_duration_seconds", MetricType::Histogram,
             "HTTP request duration by route pattern", default_buckets());
    describe("teamflow_transitions_total", MetricType::Counter,
             "Transition attempts by blueprint and outcome");
    describe("teamflow_outbox_backlog", MetricType::Gauge,
             "Webhook deliveries not delivered yet, by status");
    describe("teamflow_timers_due", MetricType::Gauge, "Timers due and not fired yet");
    set_timers_due(0);
    set_outbox_backlog("pending", 0);
    set_outbox_backlog("failed", 0);
}

void Metrics::describe(std::string name, MetricType type, std::string help,
                       std::vector<double> buckets) {
    std::lock_guard lock(mutex_);
    if (families_.find(name) != families_.end()) {
        return;
    }
    std::sort(buckets.begin(), buckets.end());
    Family f;
    f.type = type;
    f.help = std::move(help);
    f.buckets = std::move(buckets);
    families_.emplace(std::move(name), std::move(f));
}

Metrics::Series* Metrics::series_locked(std::string_view name, const Labels& labels,
                                        MetricType type) {
    auto it = families_.find(name);
    if (it == families_.end()) {
        Family f;
        f.type = type;
        if (type == MetricType::Histogram) {
            f.buckets = default_buckets();
        }
        it = families_.emplace(std::string(name), std::move(f)).first;
    }
    Family& family = it->second;
    if (family.type != type && !(type == MetricType::Counter && family.type == MetricType::Gauge)) {
        return nullptr;
    }
    Series& s = family.series[render_labels(labels)];
    if (family.type == MetricType::Histogram && s.buckets.size() != family.buckets.size()) {
        s.buckets.assign(family.buckets.size(), 0);
    }
    return &s;
}

void Metrics::inc(std::string_view name, const Labels& labels, double by) {
    std::lock_guard lock(mutex_);
    if (Series* s = series_locked(name, labels, MetricType::Counter)) {
        s->value += by;
    }
}

void Metrics::set(std::string_view name, const Labels& labels, double value) {
    std::lock_guard lock(mutex_);
    if (Series* s = series_locked(name, labels, MetricType::Gauge)) {
        s->value = value;
    }
}

void Metrics::observe(std::string_view name, const Labels& labels, double value) {
    std::lock_guard lock(mutex_);
    Series* s = series_locked(name, labels, MetricType::Histogram);
    if (s == nullptr) {
        return;
    }
    const std::vector<double>& bounds = families_.find(name)->second.buckets;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
        if (value <= bounds[i]) {
            ++s->buckets[i];
        }
    }
    s->sum += value;
    ++s->count;
}

double Metrics::value(std::string_view name, const Labels& labels) const {
    std::lock_guard lock(mutex_);
    const auto it = families_.find(name);
    if (it == families_.end()) {
        return 0;
    }
    const auto s = it->second.series.find(render_labels(labels));
    return s == it->second.series.end() ? 0 : s->second.value;
}

void Metrics::on_scrape(std::function<void(Metrics&)> hook) {
    std::lock_guard lock(mutex_);
    hooks_.push_back(std::move(hook));
}

std::string Metrics::render() {
    std::vector<std::function<void(Metrics&)>> hooks;
    {
        std::lock_guard lock(mutex_);
        hooks = hooks_;
    }
    for (const auto& hook : hooks) {
        hook(*this);
    }
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& [name, family] : families_) {
        const char* type = family.type == MetricType::Counter ? "counter"
                           : family.type == MetricType::Gauge ? "gauge"
                                                              : "histogram";
        out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, family.help, name, type);
        for (const auto& [labels, s] : family.series) {
            if (family.type != MetricType::Histogram) {
                out += fmt::format("{} {}\n", with_labels(name, labels, ""), number(s.value));
                continue;
            }
            const std::string bucket = name + "_bucket";
            for (std::size_t i = 0; i < family.buckets.size(); ++i) {
                out += fmt::format("{} {}\n",
                                   with_labels(bucket, labels,
                                               fmt::format("le=\"{}\"", number(family.buckets[i]))),
                                   s.buckets[i]);
            }
            out += fmt::format("{} {}\n", with_labels(bucket, labels, "le=\"+Inf\""), s.count);
            out += fmt::format("{} {}\n", with_labels(name + "_sum", labels, ""), number(s.sum));
            out += fmt::format("{} {}\n", with_labels(name + "_count", labels, ""), s.count);
        }
    }
    return out;
}

void Metrics::record_request(std::string_view route, std::string_view method, int status,
                             double seconds) {
    // Every request comes here: the two series keys are built as `render_labels` would, in
    // buffers the thread reuses, and both series are updated under one lock.
    thread_local std::string counter_key;
    thread_local std::string duration_key;
    duration_key.assign("route=\"");
    append_escaped_label(duration_key, route);
    duration_key.push_back('"');
    counter_key.assign(duration_key);
    counter_key.append(",method=\"");
    append_escaped_label(counter_key, method);
    counter_key.append("\",status=\"");
    fmt::format_to(std::back_inserter(counter_key), "{}\"", status);

    std::lock_guard lock(mutex_);
    const auto counters = families_.find(std::string_view("teamflow_http_requests_total"));
    if (counters != families_.end() && counters->second.type == MetricType::Counter) {
        auto it = counters->second.series.find(counter_key);
        if (it == counters->second.series.end()) {
            it = counters->second.series.emplace(counter_key, Series{}).first;
        }
        it->second.value += 1;
    }
    const auto durations =
        families_.find(std::string_view("teamflow_http_request_duration_seconds"));
    if (durations != families_.end() && durations->second.type == MetricType::Histogram) {
        Family& family = durations->second;
        auto it = family.series.find(duration_key);
        if (it == family.series.end()) {
            it = family.series.emplace(duration_key, Series{}).first;
            it->second.buckets.assign(family.buckets.size(), 0);
        }
        Series& series = it->second;
        for (std::size_t i = 0; i < family.buckets.size(); ++i) {
            if (seconds <= family.buckets[i]) {
                ++series.buckets[i];
            }
        }
        series.sum += seconds;
        ++series.count;
    }
}

void Metrics::record_transition(std::string_view blueprint, std::string_view outcome) {
    inc("teamflow_transitions_total",
        {{"blueprint", std::string(blueprint)}, {"outcome", std::string(outcome)}});
}

void Metrics::set_outbox_backlog(std::string_view status, double count) {
    set("teamflow_outbox_backlog", {{"status", std::string(status)}}, count);
}

void Metrics::set_timers_due(double count) {
    set("teamflow_timers_due", {}, count);
}

} // namespace teamflow::server
