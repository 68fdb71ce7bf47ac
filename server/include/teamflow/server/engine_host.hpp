#pragma once
/// The engine side of the service: the store opened from `[store] url`, the engine over it with the
/// system clock, the published definition set, and the background work (timers, webhooks).

#include "teamflow/engine/clock.hpp"
#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/store.hpp"
#include "teamflow/server/config.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>

namespace teamflow::dsl {
struct DefinitionSet;
}

namespace teamflow::server {

struct StoreHealth;

/// Owns the store and the engine shared by every handler. Thread-safe.
class EngineHost {
public:
    /// Opens the store, loads the latest definitions version, or publishes `[definitions] dir`
    /// as version 1 when the store has none. The error is one line naming the setting.
    /// `pg_schema` keeps a PostgreSQL store's tables in that schema (tests: one per test).
    static std::variant<std::unique_ptr<EngineHost>, std::string>
    open(const Config& config, const std::string& pg_schema = {});
    ~EngineHost();
    EngineHost(const EngineHost&) = delete;
    EngineHost& operator=(const EngineHost&) = delete;

    engine::Engine& engine() { return *engine_; }
    engine::Store& store() { return *store_; }
    /// "sqlite" or "postgresql".
    const std::string& kind() const { return kind_; }
    /// The store's state (a cheap query).
    StoreHealth health() const;
    /// The current definitions version.
    std::int64_t version() const;
    /// The current definition set, compiled (never null once open).
    std::shared_ptr<const dsl::DefinitionSet> published_set() const;
    /// Publishes through the engine, keeping the published set in step.
    engine::Result<engine::PublishOutcome> publish(const engine::PublishRequest& request,
                                                   engine::PublishReport& report);
    /// The user id of a name, `no_user` when the definitions do not declare it.
    engine::UserId user_id(const engine::Definitions& defs, std::string_view name) const;

    /// Loads the store's latest definitions version when it is newer than the engine's (another
    /// node published it): swaps the engine's definitions and the published set. Answers the
    /// version in use; an error when the newer version cannot be read or does not compile.
    engine::Result<std::int64_t> reload_if_newer();

    /// Starts the timer scheduler, the outbox dispatcher and the definitions watcher.
    void start_background();
    /// Stops them and joins their threads (idempotent).
    void stop_background();
    /// Wakes the background threads (after a write that may have queued work).
    void poke();

private:
    EngineHost() = default;
    void timer_loop();
    void outbox_loop();
    void deliver_pending();
    void definitions_loop();
    /// `reload_if_newer` with `set_mu_` held.
    engine::Result<std::int64_t> reload_locked();
    bool stopping();

    Config config_;
    std::string kind_;
    std::unique_ptr<engine::Store> store_;
    engine::SystemClock clock_;
    std::unique_ptr<engine::Engine> engine_;
    mutable std::mutex set_mu_;
    std::shared_ptr<const dsl::DefinitionSet> set_;

    std::mutex bg_mu_;
    std::condition_variable bg_cv_;
    bool stopping_ = false;
    bool poked_ = false;
    std::thread timer_thread_;
    std::thread outbox_thread_;
    std::thread definitions_thread_;
};

/// How long the outbox dispatcher waits before attempt `attempt + 1` of a webhook after
/// `attempt` failed ones (1, 2, …): 250 ms, doubling, at most one minute.
std::chrono::milliseconds webhook_backoff(int attempt);

/// Posts `body` as JSON to an `http://` URL with an `Idempotency-Key` header; "" on a 2xx answer,
/// otherwise what went wrong. Gives up after `timeout_ms`.
std::string post_webhook(const std::string& url, const std::string& body,
                         const std::string& idempotency_key, int timeout_ms);

} // namespace teamflow::server
