#pragma once
/// The PostgreSQL store: a connection pool, prepared statements, one database transaction per
/// commit, rows keyed by names (module and field names, user ids, state text) so that they read
/// back under any later definitions version. Several nodes may share one database.

#include "teamflow/engine/store.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace teamflow::engine {

/// How to reach and use the database.
struct PgStoreOptions {
    std::string url;            ///< `postgresql://…` or `postgres://…` (libpq URI)
    std::size_t pool_size = 8;  ///< connections opened on demand, at most this many
    std::string schema;         ///< a PostgreSQL schema to keep the tables in; empty: the default
    /// Group commit: concurrent commits (each with at most one record update) are sent together
    /// as one statement, each applied only if its own update matched; at most this many such
    /// statements in flight at once. 0: every commit is its own transaction.
    std::size_t commit_batches = 4;
};

/// A store in PostgreSQL. Thread-safe. Connection failures are `store-unavailable`; a broken
/// connection is dropped from the pool and reopened on next use (a statement that failed before
/// its commit was sent is retried once on a fresh connection).
class PgStore final : public Store {
public:
    /// Connects, and applies the schema migrations (serialized across nodes by an advisory lock).
    static Result<std::unique_ptr<PgStore>> open(PgStoreOptions options);
    ~PgStore() override;
    PgStore(const PgStore&) = delete;
    PgStore& operator=(const PgStore&) = delete;

    void bind(std::shared_ptr<const Definitions> defs) override;
    std::optional<DefinitionsVersion> latest_definitions() const override;
    std::vector<DefinitionsVersion> definitions_versions() const override;
    std::vector<RecordId> list_where(std::uint32_t module, const std::vector<FieldFilter>& filters,
                                     RecordId after, std::size_t limit) const override;
    bool read_record(RecordId id, Record& out) const override;
    RecordId allocate_id() override;
    Status commit(const ChangeSet& changes) override;
    bool unique_taken(std::uint32_t module, std::uint32_t field, std::string_view key,
                      RecordId except) const override;
    std::int64_t cursor(std::string_view key) const override;
    std::int64_t count_open_assigned(std::uint32_t module, UserId user, std::uint32_t state_field,
                                     const std::vector<std::uint8_t>& terminal) const override;
    std::optional<Timer> next_timer() const override;
    std::vector<Timer> due_timers(std::int64_t now, std::size_t limit) const override;
    std::vector<Timer> claim_due_timers(std::int64_t now, std::size_t limit,
                                        std::int64_t lease) override;
    std::vector<Timer> timers_of(RecordId record) const override;
    std::vector<HistoryEntry> history(RecordId record) const override;
    std::vector<OutboxRow> outbox(std::optional<OutboxStatus> status) const override;
    std::vector<OutboxRow> notifications(UserId user) const override;
    Status mark_outbox(std::int64_t id, OutboxStatus status, std::string error) override;
    std::vector<RecordId> list(std::uint32_t module, RecordId after,
                               std::size_t limit) const override;
    std::vector<RecordId> requested_by(UserId user) const override;
    std::vector<RecordId> assigned_to(UserId user) const override;
    std::optional<StoredResponse> recall(std::string_view key) const override;
    void remember(std::string_view key, StoredResponse response) override;
    // Paged reads (indexed).
    std::vector<HistoryEntry> history_page(RecordId record, std::int64_t after,
                                           std::size_t limit) const override;
    std::vector<OutboxRow> outbox_page(std::optional<OutboxKind> kind,
                                       std::optional<OutboxStatus> status, std::int64_t after,
                                       std::size_t limit) const override;
    std::vector<OutboxRow> notifications_page(UserId user, std::int64_t before,
                                              std::size_t limit) const override;
    std::vector<RecordId> requested_by_page(UserId user, RecordId after,
                                            std::size_t limit) const override;
    std::vector<RecordId> assigned_to_page(UserId user, RecordId after,
                                           std::size_t limit) const override;
    std::vector<DefinitionsVersion> definitions_versions_page(std::int64_t before,
                                                              std::size_t limit) const override;

    // Several nodes (additive): outbox claims with `FOR UPDATE SKIP LOCKED` and a lease, counts.
    std::vector<OutboxRow> claim_outbox(std::int64_t now_ms, std::size_t limit,
                                        std::int64_t lease_ms) override;
    Status record_outbox_attempt(std::int64_t id, OutboxStatus status, std::string error,
                                 std::int64_t next_attempt_ms) override;
    std::int64_t count_outbox(OutboxStatus status) const override;
    std::int64_t count_due_timers(std::int64_t now) const override;
    std::int64_t latest_definitions_version() const override;

    /// Waits up to `timeout_ms` for a publish committed through any store on this database and
    /// schema (every publish commit sends `NOTIFY teamflow_publish`): true when one arrived. The
    /// first call opens a dedicated listening connection (outside the pool); a failure is
    /// `store-unavailable` and closes it (the next call reopens it). One caller at a time.
    Result<bool> await_publish_notice(int timeout_ms);

    Result<std::int64_t> take_turn(std::string_view key) override;
    std::int64_t history_id_at(RecordId record, std::int64_t version) const override;

    /// Whether the database answers (`store-unavailable` otherwise); for health checks.
    Status ping() const;
    /// The last error a read swallowed (reads without an error channel return "nothing").
    std::string last_read_error() const;
    /// The schema version applied.
    static int schema_version();

    struct Impl;

private:
    explicit PgStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Opens a PostgreSQL store (for the store conformance suite and the server); `schema` empty
/// uses the database's default schema.
Result<std::unique_ptr<Store>> make_pg_store(const std::string& url, std::size_t pool_size = 8,
                                             const std::string& schema = {});

/// Whether a store URL names PostgreSQL (`postgresql://` or `postgres://`).
bool is_pg_url(std::string_view url);

} // namespace teamflow::engine
