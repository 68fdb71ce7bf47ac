// JSON lines through spdlog: the pattern writes `ts` and `level`, the event writes the rest.

#include "teamflow/server/log.hpp"

#include <boost/json/serializer.hpp>
#include <fmt/format.h>
#include <iterator>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace teamflow::server {

namespace {

spdlog::logger& logger() {
    static const std::shared_ptr<spdlog::logger> instance = [] {
        auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        auto l = std::make_shared<spdlog::logger>("teamflow", std::move(sink));
        l->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v)",
                       spdlog::pattern_time_type::utc);
        l->set_level(spdlog::level::info);
        l->flush_on(spdlog::level::trace);
        return l;
    }();
    return *instance;
}

spdlog::level::level_enum to_spdlog(LogLevel level) {
    switch (level) {
    case LogLevel::Trace:
        return spdlog::level::trace;
    case LogLevel::Debug:
        return spdlog::level::debug;
    case LogLevel::Info:
        return spdlog::level::info;
    case LogLevel::Warn:
        return spdlog::level::warn;
    case LogLevel::Error:
        return spdlog::level::err;
    }
    return spdlog::level::info;
}

} // namespace

bool set_log_level(std::string_view level) {
    static const std::pair<std::string_view, spdlog::level::level_enum> levels[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},   {"off", spdlog::level::off},
    };
    for (const auto& [name, value] : levels) {
        if (name == level) {
            logger().set_level(value);
            return true;
        }
    }
    return false;
}

bool log_enabled(LogLevel level) {
    return logger().should_log(to_spdlog(level));
}

namespace {

/// Appends what `sr` (reset to a value or a string) serializes.
void append_serialized(std::string& out, boost::json::serializer& sr) {
    char buf[512];
    while (!sr.done()) {
        const boost::json::string_view part = sr.read(buf, sizeof buf);
        out.append(part.data(), part.size());
    }
}

} // namespace

void log_event(LogLevel level, std::string_view message, const boost::json::object& fields) {
    if (!log_enabled(level)) {
        return;
    }
    // The pattern supplies `{"ts":…,"level":…,`; doubles are written with three decimals. The
    // line is built in a buffer the thread reuses, with one reused serializer (one line per
    // request at info: no allocation once the buffer has grown).
    thread_local std::string text;
    thread_local boost::json::serializer sr;
    text.assign("\"msg\":");
    sr.reset(boost::json::string_view(message.data(), message.size()));
    append_serialized(text, sr);
    for (const auto& member : fields) {
        text += ',';
        sr.reset(member.key());
        append_serialized(text, sr);
        text += ':';
        if (member.value().is_double()) {
            fmt::format_to(std::back_inserter(text), "{:.3f}", member.value().get_double());
        } else {
            sr.reset(&member.value());
            append_serialized(text, sr);
        }
    }
    text += '}';
    logger().log(to_spdlog(level), spdlog::string_view_t(text.data(), text.size()));
}

} // namespace teamflow::server
