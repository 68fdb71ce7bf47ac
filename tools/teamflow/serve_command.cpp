// `teamflow serve [--config FILE] [--listen HOST:PORT] [--store URL] [--definitions DIR]
//  [--port-file FILE]`

#include "commands.hpp"
#include "teamflow/dsl/diagnostics.hpp"
#include "teamflow/server/config.hpp"
#include "teamflow/server/engine_host.hpp"
#include "teamflow/server/log.hpp"
#include "teamflow/server/routes.hpp"
#include "teamflow/server/server.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <iostream>
#include <memory>

namespace teamflow::tools {

namespace {

struct ServeOptions {
    std::string config;
    std::string listen;
    std::string store;
    std::string definitions;
    std::string port_file;
    CLI::Option* listen_option = nullptr;
    CLI::Option* store_option = nullptr;
    CLI::Option* definitions_option = nullptr;
};

/// The default configuration file, used when `--config` is not given and it exists.
constexpr const char* default_config_file = "teamflow.toml";

int startup_error(const std::string& message) {
    fmt::print(stderr, "teamflow: error: {}\n", message);
    return exit_failed;
}

/// Writes the bound port (and a newline) to `path` atomically: a reader sees the whole file or
/// none. "" or what went wrong.
std::string write_port_file(const std::string& path, std::uint16_t port) {
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::trunc);
        out << port << '\n';
        out.close();
        if (!out) {
            return fmt::format("--port-file: cannot write \"{}\"", tmp);
        }
    }
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        return fmt::format("--port-file: cannot write \"{}\": {}", path, ec.message());
    }
    return {};
}

int run_serve(const ServeOptions& o) {
    std::string path = o.config;
    std::error_code ec;
    if (path.empty() && std::filesystem::is_regular_file(default_config_file, ec)) {
        path = default_config_file;
    }
    server::ConfigOverrides overrides;
    if (o.listen_option->count() > 0) {
        overrides.listen = o.listen;
    }
    if (o.store_option->count() > 0) {
        overrides.store = o.store;
    }
    if (o.definitions_option->count() > 0) {
        overrides.definitions = o.definitions;
    }
    server::ConfigResult loaded = server::load_config(path, overrides);
    if (auto* error = std::get_if<server::ConfigError>(&loaded)) {
        return startup_error(error->message);
    }
    server::Config config = std::get<server::Config>(std::move(loaded));
    server::set_log_level(config.log.level);
    if (config.auth.tokens.empty() && config.auth.token_hashes.empty()) {
        server::log_event(server::LogLevel::Warn, "no tokens configured",
                          {{"detail", "[auth] tokens and token_hashes are empty: every "
                                      "authenticated route answers 401"}});
    }

    // The store, the engine over it, and the published definitions (version 1 from
    // `[definitions] dir` when the store has none yet).
    auto opened = server::EngineHost::open(config);
    if (auto* error = std::get_if<std::string>(&opened)) {
        return startup_error(*error);
    }
    std::shared_ptr<server::EngineHost> host =
        std::get<std::unique_ptr<server::EngineHost>>(std::move(opened));

    server::Service service(config);
    server::RouteDeps deps;
    deps.host = host;
    deps.store_health = [host] { return host->health(); };
    deps.definitions_version = [host] { return host->version(); };
    deps.published_set = [host] { return host->published_set(); };
    server::register_routes(service, deps);

    server::Server http(service);
    http.stop_on_signals();
    if (auto error = http.start()) {
        return startup_error(*error);
    }
    if (!o.port_file.empty()) {
        if (auto error = write_port_file(o.port_file, http.port()); !error.empty()) {
            http.stop();
            http.wait();
            return startup_error(error);
        }
    }
    host->start_background();
    http.wait();
    host->stop_background();
    server::log_event(server::LogLevel::Info, "stopped");
    return exit_ok;
}

} // namespace

void register_serve(CLI::App& app, int& exit_code) {
    auto opts = std::make_shared<ServeOptions>();
    CLI::App* cmd = app.add_subcommand("serve", "Run the HTTP service");
    cmd->add_option("--config", opts->config,
                    "TOML configuration file (default: ./teamflow.toml when it exists)");
    opts->listen_option =
        cmd->add_option("--listen", opts->listen, "HOST:PORT to listen on (overrides the file)");
    opts->store_option = cmd->add_option(
        "--store", opts->store, "Store URL: sqlite://PATH or postgresql://… (overrides the file)");
    opts->definitions_option = cmd->add_option("--definitions", opts->definitions,
                                               "Definitions folder (overrides the file)");
    cmd->add_option("--port-file", opts->port_file,
                    "Once listening, write the bound port to this file (for listen = \"HOST:0\")");
    cmd->callback([opts, &exit_code] { exit_code = run_serve(*opts); });
}

} // namespace teamflow::tools
