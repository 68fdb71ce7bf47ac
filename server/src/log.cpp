// JSON lines through spdlog: the pattern writes `ts` and `level`, the event writes the rest.

#include "teamflow/server/log.hpp"

#include <boost/json/serialize.hpp>
#include <fmt/format.h>
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

void log_event(LogLevel level, std::string_view message, const boost::json::object& fields) {
    if (!log_enabled(level)) {
        return;
    }
    // The pattern supplies `{"ts":…,"level":…,`; doubles are written with three decimals.
    std::string text = "\"msg\":" + boost::json::serialize(boost::json::string(message));
    for (const auto& member : fields) {
        text += ',';
        text += boost::json::serialize(boost::json::string(member.key()));
        text += ':';
        if (member.value().is_double()) {
            text += fmt::format("{:.3f}", member.value().get_double());
        } else {
            text += boost::json::serialize(member.value());
        }
    }
    text += '}';
    logger().log(to_spdlog(level), "{}", text);
}

} // namespace teamflow::server
