#pragma once
/// The embedded durable store: one SQLite file in WAL mode (`synchronous=FULL`), one writer
/// connection serialised by a mutex, a small pool of reader connections. Created and migrated on
/// first open. Rows keep names (modules, fields, states, users), not indices: see `Store::bind`.

#include "teamflow/engine/store.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace teamflow::engine {

/// Settings of a SQLite store.
struct SqliteOptions {
    int readers = 4;            ///< reader connections (0: reads go through the writer)
    int busy_timeout_ms = 5000; ///< how long a connection waits for a lock
};

/// A `Store` in one SQLite database file. Thread-safe.
class SqliteStore final : public Store {
public:
    /// The schema version this build creates and migrates to.
    static constexpr int schema_version = 2;

    /// Opens `sqlite://path` (or a plain path), `sqlite::memory:` or `sqlite://:memory:`,
    /// creating and migrating the database; `store-unavailable` when it cannot be opened, is not
    /// a SQLite database, or was written by a newer schema.
    static Result<std::unique_ptr<SqliteStore>> open(std::string_view location,
                                                     SqliteOptions options = {});
    ~SqliteStore() override;
    SqliteStore(const SqliteStore&) = delete;
    SqliteStore& operator=(const SqliteStore&) = delete;

    void bind(std::shared_ptr<const Definitions> defs) override;
    std::optional<DefinitionsVersion> latest_definitions() const override;
    std::vector<DefinitionsVersion> definitions_versions() const override;
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

    // Outbox claims with a lease (schema 2), and counts without loading rows (additive).
    std::vector<OutboxRow> claim_outbox(std::int64_t now_ms, std::size_t limit,
                                        std::int64_t lease_ms) override;
    Status record_outbox_attempt(std::int64_t id, OutboxStatus status, std::string error,
                                 std::int64_t next_attempt_ms) override;
    std::int64_t count_outbox(OutboxStatus status) const override;
    std::int64_t count_due_timers(std::int64_t now) const override;
    std::int64_t latest_definitions_version() const override;

    // Several processes on one file (issue 4).
    Result<std::int64_t> take_turn(std::string_view key) override;
    std::int64_t history_id_at(RecordId record, std::int64_t version) const override;
    std::vector<Timer> claim_due_timers(std::int64_t now, std::size_t limit,
                                        std::int64_t lease) override;

    /// The last error of a read that could not report one (empty when none).
    std::string last_error() const;

    struct Impl;

private:
    explicit SqliteStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace teamflow::engine
