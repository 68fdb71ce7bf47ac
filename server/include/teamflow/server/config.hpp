#pragma once
/// The service configuration: a TOML file, overridden by the environment, overridden by flags.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace teamflow::server {

/// `[server]`: the HTTP listener and its limits.
struct ServerConfig {
    std::string listen = "127.0.0.1:8080";
    std::string host = "127.0.0.1"; ///< parsed from `listen`
    std::uint16_t port = 8080;      ///< parsed from `listen` (0: any free port)
    int threads = 2;                ///< I/O threads
    std::size_t max_body_bytes = 1048576;
    int request_timeout_ms = 30000; ///< to read one request, and to write its answer
    // Extensions beyond the documented keys:
    std::size_t max_connections = 1024;     ///< more are accepted and answered 503
    std::size_t header_limit_bytes = 16384; ///< request line and headers
    int idle_timeout_ms = 60000;            ///< a keep-alive connection waiting for a request
    int workers = 0;                        ///< handler threads (0: `store.pool`)
    std::size_t max_queued_requests = 1024; ///< requests waiting for a worker; more get 429
};

/// `[store]`.
struct StoreConfig {
    std::string url = "sqlite://teamflow.db";
    int pool = 8; ///< connections (PostgreSQL)
    /// "sqlite" or "postgresql", from the URL's scheme.
    std::string kind() const;
};

/// `[definitions]`.
struct DefinitionsConfig {
    std::string dir = "definitions"; ///< relative paths resolve against the file's folder
};

/// `[auth]`.
struct AuthConfig {
    std::vector<std::string> org_admins;
    std::map<std::string, std::string> tokens;       ///< user → token (development)
    std::map<std::string, std::string> token_hashes; ///< user → SHA-256 hex of the token
};

/// `[webhooks]`.
struct WebhooksConfig {
    int timeout_ms = 5000;
    int max_attempts = 10;
};

/// `[log]`.
struct LogConfig {
    std::string level = "info"; ///< trace, debug, info, warn, error, off
};

/// The whole configuration, every value validated.
struct Config {
    ServerConfig server;
    StoreConfig store;
    DefinitionsConfig definitions;
    AuthConfig auth;
    WebhooksConfig webhooks;
    LogConfig log;
    std::string file; ///< the file it was read from ("" for defaults only)
    /// Handler threads: `server.workers`, or `store.pool` when 0.
    int worker_threads() const;
};

/// Values given on the command line; they override the file and the environment.
struct ConfigOverrides {
    std::optional<std::string> listen;
    std::optional<std::string> store;
    std::optional<std::string> definitions;
};

/// Reads an environment variable (`std::getenv` by default); null when unset.
using EnvLookup = std::function<const char*(const char*)>;

/// A start-up error: one line naming the setting and what is wrong.
struct ConfigError {
    std::string message;
};

/// Either a configuration or the error that prevents it.
using ConfigResult = std::variant<Config, ConfigError>;

/// Parses TOML text (`file_name` is used in messages and to resolve relative paths), then
/// applies `TEAMFLOW_LISTEN` / `TEAMFLOW_STORE` and the overrides, and validates.
ConfigResult parse_config(std::string_view text, std::string_view file_name,
                          const ConfigOverrides& overrides = {}, const EnvLookup& env = nullptr);

/// Reads `path` (or only defaults when empty) and parses it as `parse_config` does.
ConfigResult load_config(const std::string& path, const ConfigOverrides& overrides = {},
                         const EnvLookup& env = nullptr);

/// Splits `HOST:PORT` (`[v6]:PORT` too); false with a reason when malformed.
bool parse_listen(std::string_view listen, std::string& host, std::uint16_t& port,
                  std::string& error);

} // namespace teamflow::server
