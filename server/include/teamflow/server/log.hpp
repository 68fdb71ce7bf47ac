#pragma once
/// Logging: JSON lines on stderr (spdlog), one object per event: `ts`, `level`, `msg`, fields.

#include <boost/json/object.hpp>
#include <string_view>

namespace teamflow::server {

/// Severity of a log event.
enum class LogLevel { Trace, Debug, Info, Warn, Error };

/// Sets the threshold: trace, debug, info, warn, error or off; false when unknown.
bool set_log_level(std::string_view level);

/// Whether events at `level` are written.
bool log_enabled(LogLevel level);

/// Writes one event (a no-op below the threshold).
void log_event(LogLevel level, std::string_view message, const boost::json::object& fields = {});

} // namespace teamflow::server
