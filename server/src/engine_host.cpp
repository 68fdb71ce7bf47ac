// The store, the engine and the background work (timer scheduler, outbox dispatcher).

#include "teamflow/server/engine_host.hpp"

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/pg_store.hpp"
#include "teamflow/engine/sqlite_store.hpp"
#include "teamflow/server/log.hpp"
#include "teamflow/server/routes.hpp"

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <fmt/format.h>

namespace teamflow::server {

namespace {

/// The `.flow` files of the definitions folder as (path relative to it, text), sorted.
std::variant<std::vector<std::pair<std::string, std::string>>, std::string>
read_definitions_dir(const std::string& dir) {
    dsl::LoadError error;
    auto set = dsl::load_definition_set({dir}, error);
    if (!set) {
        return fmt::format("definitions.dir: {}", error.message);
    }
    if (!set->ok()) {
        return fmt::format("definitions.dir: \"{}\" does not compile ({} error{})", dir,
                           set->diagnostics.error_count(),
                           set->diagnostics.error_count() == 1 ? "" : "s");
    }
    std::vector<std::pair<std::string, std::string>> files;
    std::error_code ec;
    const bool is_dir = std::filesystem::is_directory(dir, ec);
    for (const dsl::SourceFile& f : set->sources.files()) {
        std::string name = f.path();
        if (is_dir) {
            name = std::filesystem::path(f.path()).lexically_relative(dir).generic_string();
            if (name.empty() || name.rfind("..", 0) == 0) {
                name = std::filesystem::path(f.path()).filename().string();
            }
        }
        files.emplace_back(std::move(name), f.text());
    }
    return files;
}

} // namespace

std::variant<std::unique_ptr<EngineHost>, std::string>
EngineHost::open(const Config& config, const std::string& pg_schema) {
    std::unique_ptr<EngineHost> host(new EngineHost());
    host->config_ = config;
    const std::string& url = config.store.url;
    if (engine::is_pg_url(url)) {
        host->kind_ = "postgresql";
        auto opened = engine::make_pg_store(
            url, static_cast<std::size_t>(std::max(1, config.store.pool)), pg_schema);
        if (!opened) {
            return fmt::format("store.url: cannot open the PostgreSQL store: {}",
                               opened.error().detail);
        }
        host->store_ = std::move(opened.value());
    } else if (url.rfind("sqlite:", 0) == 0) {
        host->kind_ = "sqlite";
        auto opened = engine::SqliteStore::open(url);
        if (!opened) {
            return fmt::format("store.url: cannot open the SQLite store \"{}\": {}", url,
                               opened.error().detail);
        }
        host->store_ = std::move(opened.value());
    } else {
        return fmt::format("store.url: \"{}\" is not sqlite://PATH or postgresql://…", url);
    }

    engine::EngineOptions options;
    options.org_admins = config.auth.org_admins;
    engine::Store& store = *host->store_;
    if (auto latest = store.latest_definitions()) {
        engine::PublishReport report;
        auto defs = engine::compile_version(*latest, &report);
        if (!defs) {
            return fmt::format(
                "store.url: definitions version {} in the store does not compile: {}",
                latest->version, defs.error().detail);
        }
        host->engine_ =
            std::make_unique<engine::Engine>(defs.value(), store, host->clock_, options);
        host->set_ = report.set;
        return host;
    }
    auto files = read_definitions_dir(config.definitions.dir);
    if (auto* error = std::get_if<std::string>(&files)) {
        return *error;
    }
    engine::DefinitionsVersion first;
    first.version = 1;
    first.files = std::get<0>(std::move(files));
    engine::PublishReport report;
    auto defs = engine::compile_version(first, &report);
    if (!defs) {
        return fmt::format("definitions.dir: {}", defs.error().to_string());
    }
    host->engine_ = std::make_unique<engine::Engine>(defs.value(), store, host->clock_, options);
    engine::PublishRequest request;
    request.files = first.files;
    request.user = "system";
    request.expected_version = 0;
    auto published = host->publish(request, report);
    if (!published) {
        // Another node may have published first: load what is there.
        if (published.error().code == engine::ErrorCode::Conflict) {
            auto loaded = host->engine_->load_latest();
            if (loaded) {
                auto latest = store.latest_definitions();
                if (latest) {
                    engine::PublishReport again;
                    (void)engine::compile_version(*latest, &again);
                    host->set_ = again.set;
                }
                return host;
            }
        }
        return fmt::format("store.url: cannot publish definitions.dir as version 1: {}",
                           published.error().detail);
    }
    return host;
}

EngineHost::~EngineHost() {
    stop_background();
}

StoreHealth EngineHost::health() const {
    StoreHealth h;
    h.kind = kind_;
    if (auto* pg = dynamic_cast<engine::PgStore*>(store_.get())) {
        auto ping = pg->ping();
        if (!ping) {
            h.up = false;
            h.detail = "the store is unreachable: " + ping.error().detail;
        }
        return h;
    }
    if (auto* sq = dynamic_cast<engine::SqliteStore*>(store_.get())) {
        // A published version is always there once open: no answer means the store failed.
        if (!sq->latest_definitions()) {
            h.up = false;
            h.detail = "the store is unreachable: " + sq->last_error();
        }
    }
    return h;
}

std::int64_t EngineHost::version() const {
    return engine_->definitions()->version;
}

std::shared_ptr<const dsl::DefinitionSet> EngineHost::published_set() const {
    std::lock_guard lock(set_mu_);
    return set_;
}

engine::Result<engine::PublishOutcome> EngineHost::publish(const engine::PublishRequest& request,
                                                           engine::PublishReport& report) {
    std::lock_guard lock(set_mu_);
    // Never publish from definitions older than the store's (another node published): the new
    // version is checked against, and records are migrated from, the engine's current version.
    engine::PublishRequest guarded = request;
    for (int attempt = 0;; ++attempt) {
        if (auto loaded = reload_locked(); !loaded) {
            return loaded.error();
        }
        if (request.expected_version < 0) {
            guarded.expected_version = engine_->definitions()->version;
        }
        report = engine::PublishReport{};
        auto out = engine_->publish(guarded, &report);
        if (out) {
            set_ = report.set;
            return out;
        }
        // Another node published meanwhile: load it; without If-Match, publish over it again.
        if (out.error().code != engine::ErrorCode::Conflict || request.expected_version >= 0 ||
            attempt >= 2) {
            (void)reload_locked();
            return out;
        }
    }
}

engine::Result<std::int64_t> EngineHost::reload_if_newer() {
    std::lock_guard lock(set_mu_);
    return reload_locked();
}

engine::Result<std::int64_t> EngineHost::reload_locked() {
    const std::int64_t current = engine_->definitions()->version;
    const std::int64_t latest = store_->latest_definitions_version();
    if (latest < 0) {
        return engine::make_error(engine::ErrorCode::StoreUnavailable,
                                  "the latest definitions version cannot be read from the store");
    }
    if (latest <= current) {
        return current;
    }
    const auto version = store_->latest_definitions();
    if (!version) {
        return engine::make_error(engine::ErrorCode::StoreUnavailable,
                                  fmt::format("definitions version {} cannot be read", latest));
    }
    if (version->version <= current) {
        return current;
    }
    engine::PublishReport report;
    auto defs = engine::compile_version(*version, &report);
    if (!defs) {
        return engine::make_error(
            defs.error().code, fmt::format("definitions version {} in the store does not compile: {}",
                                           version->version, defs.error().detail));
    }
    engine_->set_definitions(defs.value());
    set_ = report.set;
    log_event(LogLevel::Info, "definitions reloaded",
              {{"version", version->version}, {"previous", current}});
    return version->version;
}

engine::UserId EngineHost::user_id(const engine::Definitions& defs, std::string_view name) const {
    const std::uint32_t u = defs.find_user(name);
    return u == engine::npos32 ? engine::no_user : u;
}

void EngineHost::start_background() {
    std::lock_guard lock(bg_mu_);
    if (timer_thread_.joinable()) {
        return;
    }
    stopping_ = false;
    timer_thread_ = std::thread([this] { timer_loop(); });
    outbox_thread_ = std::thread([this] { outbox_loop(); });
    definitions_thread_ = std::thread([this] { definitions_loop(); });
}

void EngineHost::stop_background() {
    {
        std::lock_guard lock(bg_mu_);
        stopping_ = true;
    }
    bg_cv_.notify_all();
    if (timer_thread_.joinable()) {
        timer_thread_.join();
    }
    if (outbox_thread_.joinable()) {
        outbox_thread_.join();
    }
    if (definitions_thread_.joinable()) {
        definitions_thread_.join();
    }
}

bool EngineHost::stopping() {
    std::lock_guard lock(bg_mu_);
    return stopping_;
}

void EngineHost::poke() {
    {
        std::lock_guard lock(bg_mu_);
        poked_ = true;
    }
    bg_cv_.notify_all();
}

void EngineHost::timer_loop() {
    using namespace std::chrono_literals;
    while (true) {
        try {
            const std::size_t fired = engine_->fire_due_timers(256);
            if (fired > 0) {
                log_event(LogLevel::Debug, fmt::format("{} timer(s) fired", fired));
                poke();
            }
        } catch (const std::exception& e) {
            log_event(LogLevel::Error, fmt::format("timer scheduler: {}", e.what()));
        }
        auto wait = std::chrono::milliseconds(200);
        if (auto next = store_->next_timer()) {
            const std::int64_t in = next->due - clock_.now();
            if (in > 0) {
                wait =
                    std::min<std::chrono::milliseconds>(std::chrono::milliseconds(in * 1000), wait);
            }
        }
        std::unique_lock lock(bg_mu_);
        bg_cv_.wait_for(lock, wait, [this] { return stopping_; });
        if (stopping_) {
            return;
        }
    }
}

void EngineHost::outbox_loop() {
    // Every write pokes the dispatcher; passes start at most every `gap`, so that a busy node
    // claims once for many writes instead of once per write (a webhook waits at most `gap` more).
    constexpr auto gap = std::chrono::milliseconds(50);
    while (true) {
        const auto pass = std::chrono::steady_clock::now();
        try {
            deliver_pending();
        } catch (const std::exception& e) {
            log_event(LogLevel::Error, fmt::format("outbox dispatcher: {}", e.what()));
        }
        std::unique_lock lock(bg_mu_);
        bg_cv_.wait_for(lock, std::chrono::milliseconds(200),
                        [this] { return stopping_ || poked_; });
        bg_cv_.wait_until(lock, pass + gap, [this] { return stopping_; });
        poked_ = false;
        if (stopping_) {
            return;
        }
    }
}

std::chrono::milliseconds webhook_backoff(int attempt) {
    const int shift = std::clamp(attempt - 1, 0, 8);
    return std::min(std::chrono::milliseconds(250LL << shift), std::chrono::milliseconds(60000));
}

namespace {

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace

void EngineHost::deliver_pending() {
    // Rows are claimed from the store with a lease (several nodes never deliver one row at the
    // same time), and every attempt is recorded there with its back-off (shared by the nodes and
    // kept across restarts). The lease covers a whole batch of attempts that all time out.
    constexpr std::size_t batch = 8;
    const int max_attempts = std::max(1, config_.webhooks.max_attempts);
    const int timeout_ms = std::max(1, config_.webhooks.timeout_ms);
    const std::int64_t lease_ms = static_cast<std::int64_t>(batch) * (timeout_ms + 1000) + 30000;
    for (int round = 0; round < 64 && !stopping(); ++round) {
        const std::vector<engine::OutboxRow> rows = store_->claim_outbox(now_ms(), batch, lease_ms);
        for (const engine::OutboxRow& row : rows) {
            if (stopping()) {
                return; // the rest come back when their lease runs out
            }
            if (row.kind == engine::OutboxKind::Notification) {
                // In-app notifications are delivered by being listed (`/v1/me/notifications`).
                (void)store_->record_outbox_attempt(row.id, engine::OutboxStatus::Delivered, "", 0);
                continue;
            }
            const std::string error =
                post_webhook(row.url, row.payload, fmt::format("teamflow-outbox-{}", row.id),
                             timeout_ms);
            engine::Status recorded = engine::Ok{};
            const int attempts = row.attempts + 1;
            if (error.empty()) {
                recorded =
                    store_->record_outbox_attempt(row.id, engine::OutboxStatus::Delivered, "", 0);
            } else if (attempts >= max_attempts) {
                recorded =
                    store_->record_outbox_attempt(row.id, engine::OutboxStatus::Failed, error, 0);
                log_event(LogLevel::Warn,
                          fmt::format("webhook {} failed for good after {} attempts: {}", row.id,
                                      attempts, error));
            } else {
                recorded = store_->record_outbox_attempt(
                    row.id, engine::OutboxStatus::Pending, error,
                    now_ms() + webhook_backoff(attempts).count());
            }
            if (!recorded) {
                log_event(LogLevel::Warn, fmt::format("webhook {}: the attempt was not recorded: {}",
                                                      row.id, recorded.error().detail));
            }
        }
        if (rows.size() < batch) {
            return;
        }
    }
}

void EngineHost::definitions_loop() {
    // Another node's publish: PostgreSQL sends a notice (LISTEN on a connection of its own);
    // the latest version is also polled every few seconds in case the notice was missed (the
    // listening connection dropped, or another kind of store).
    using namespace std::chrono_literals;
    constexpr auto poll_every = 3s;
    auto* pg = dynamic_cast<engine::PgStore*>(store_.get());
    auto next_poll = std::chrono::steady_clock::now() + poll_every;
    bool listening = true;
    while (!stopping()) {
        bool check = false;
        if (pg != nullptr && listening) {
            auto noticed = pg->await_publish_notice(500);
            if (!noticed) {
                log_event(LogLevel::Warn, fmt::format("definitions watcher: {}; polling every {} s",
                                                      noticed.error().detail, poll_every.count()));
                listening = false; // try again after the next poll
            } else {
                check = *noticed;
            }
        } else {
            std::unique_lock lock(bg_mu_);
            bg_cv_.wait_for(lock, 500ms, [this] { return stopping_; });
        }
        if (std::chrono::steady_clock::now() >= next_poll) {
            check = true;
            listening = true;
            next_poll = std::chrono::steady_clock::now() + poll_every;
        }
        if (check && !stopping()) {
            auto loaded = reload_if_newer();
            if (!loaded) {
                log_event(LogLevel::Error,
                          fmt::format("definitions watcher: {}", loaded.error().detail));
            }
        }
    }
}

std::string post_webhook(const std::string& url, const std::string& body,
                         const std::string& idempotency_key, int timeout_ms) {
    namespace net = boost::asio;
    namespace beast = boost::beast;
    namespace http = beast::http;
    constexpr std::string_view scheme = "http://";
    if (url.rfind(scheme, 0) != 0) {
        return "only http:// URLs are supported";
    }
    const std::string rest = url.substr(scheme.size());
    const std::size_t slash = rest.find('/');
    const std::string authority = rest.substr(0, slash);
    const std::string target = slash == std::string::npos ? "/" : rest.substr(slash);
    std::string host = authority;
    std::string port = "80";
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string::npos) {
            return "malformed URL";
        }
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size() && authority[close + 1] == ':') {
            port = authority.substr(close + 2);
        }
    } else if (const std::size_t colon = authority.rfind(':'); colon != std::string::npos) {
        host = authority.substr(0, colon);
        port = authority.substr(colon + 1);
    }
    if (host.empty() || port.empty()) {
        return "malformed URL";
    }

    net::io_context ioc;
    net::ip::tcp::resolver resolver(ioc);
    beast::tcp_stream stream(ioc);
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, authority);
    req.set(http::field::content_type, "application/json; charset=utf-8");
    req.set(http::field::user_agent, "teamflow");
    req.set("Idempotency-Key", idempotency_key);
    req.body() = body;
    req.prepare_payload();
    http::response<http::string_body> res;
    beast::flat_buffer buffer;
    std::string error;
    const auto timeout = std::chrono::milliseconds(std::max(1, timeout_ms));
    const auto deadline = std::chrono::steady_clock::now() + timeout;

    resolver.async_resolve(host, port, [&](beast::error_code ec, auto results) {
        if (ec) {
            error = "resolve: " + ec.message();
            return;
        }
        stream.expires_at(deadline);
        stream.async_connect(results, [&](beast::error_code ec2, auto) {
            if (ec2) {
                error = "connect: " + ec2.message();
                return;
            }
            http::async_write(stream, req, [&](beast::error_code ec3, std::size_t) {
                if (ec3) {
                    error = "write: " + ec3.message();
                    return;
                }
                http::async_read(stream, buffer, res, [&](beast::error_code ec4, std::size_t) {
                    if (ec4) {
                        error = "read: " + ec4.message();
                    }
                });
            });
        });
    });
    ioc.run_for(timeout + std::chrono::milliseconds(100));
    if (!ioc.stopped()) {
        return "timed out";
    }
    if (!error.empty()) {
        return error;
    }
    const unsigned status = res.result_int();
    if (status < 200 || status >= 300) {
        return fmt::format("HTTP {}", status);
    }
    beast::error_code ignored;
    stream.socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
    return "";
}

} // namespace teamflow::server
