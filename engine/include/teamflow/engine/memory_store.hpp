#pragma once
/// The in-memory store, used by `teamflow test`, the unit tests and the benchmark. One mutex.

#include "teamflow/engine/store.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace teamflow::engine {

/// Keeps everything in memory; thread-safe with one mutex; commits are all or nothing.
class MemoryStore final : public Store {
public:
    MemoryStore();
    void bind(std::shared_ptr<const Definitions> defs) override;
    std::optional<DefinitionsVersion> latest_definitions() const override;
    std::vector<DefinitionsVersion> definitions_versions() const override;
    bool read_record(RecordId id, Record& out) const override;
    bool read_member(RecordId id, std::int32_t member, Cell& out) const override;
    RecordId allocate_id() override;
    Status commit(const ChangeSet& changes) override;
    /// Swaps the records of `changes` in instead of copying them.
    Status commit_and_take(ChangeSet& changes) override;
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

    // Outbox claims with a lease, and counts without copying rows (additive).
    std::vector<OutboxRow> claim_outbox(std::int64_t now_ms, std::size_t limit,
                                        std::int64_t lease_ms) override;
    Status record_outbox_attempt(std::int64_t id, OutboxStatus status, std::string error,
                                 std::int64_t next_attempt_ms) override;
    std::int64_t count_outbox(OutboxStatus status) const override;
    std::int64_t count_due_timers(std::int64_t now) const override;

    Result<std::int64_t> take_turn(std::string_view key) override;

    /// Number of live records.
    std::size_t record_count() const;
    /// Bytes held for records (struct, field cells and their text), excluding history.
    std::size_t record_bytes() const;
    /// Bytes held for history entries.
    std::size_t history_bytes() const;

private:
    struct Slot {
        Record record;
        bool live = false;
        std::int64_t last_history = -1;    ///< index in history_ of its newest entry
        std::vector<std::uint32_t> timers; ///< timer pool indices
    };
    struct StringHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct TimerSlot {
        Timer timer;
        std::uint32_t generation = 0;
        bool alive = false;
        std::int64_t claimed_until = 0; ///< claimed by `claim_due_timers` until then
    };
    struct HeapItem {
        std::int64_t due;
        std::int64_t seq;
        std::uint32_t index;
        std::uint32_t generation;
    };

    Slot* slot(RecordId id);
    const Slot* slot(RecordId id) const;
    void kill_timer(std::uint32_t index);
    /// `commit` and `commit_and_take`: checks, then applies (taking from `take` when given).
    Status commit_locked(const ChangeSet& cs, ChangeSet* take);
    void compact_heap();
    static std::string unique_key(std::uint32_t module, std::uint32_t field, std::string_view key);
    /// Translates everything held to `defs`'s indices (records, history, timers, keys).
    void rebind(std::shared_ptr<const Definitions> defs);

    mutable std::mutex mu_;
    std::atomic<RecordId> next_id_{1};
    std::vector<Slot> slots_;
    std::vector<std::vector<RecordId>> by_module_;
    std::vector<TimerSlot> timer_pool_;
    std::vector<std::uint32_t> timer_free_;
    std::vector<HeapItem> heap_;
    std::vector<std::uint32_t> cancel_scratch_; ///< timers of a record being cancelled
    std::size_t live_timers_ = 0;
    std::int64_t timer_seq_ = 0;
    std::int64_t next_history_id_ = 1;
    std::int64_t next_outbox_id_ = 1;
    std::deque<HistoryEntry> history_;          ///< every entry, in commit order
    std::deque<std::int64_t> history_prev_;     ///< per entry: the record's previous entry, or -1
    std::deque<OutboxRow> outbox_;
    std::unordered_map<std::string, std::int64_t, StringHash, std::equal_to<>> cursors_;
    std::unordered_map<std::string, RecordId> unique_;
    std::unordered_map<std::string, StoredResponse> idempotency_;
    std::shared_ptr<const Definitions> bound_;   ///< what the indices held refer to
    std::vector<DefinitionsVersion> versions_;   ///< oldest first
    /// Outbox rows claimed or waiting for their next attempt (milliseconds since the epoch).
    struct OutboxSchedule {
        std::int64_t next_attempt_at = 0;
        std::int64_t claimed_until = 0;
    };
    std::unordered_map<std::int64_t, OutboxSchedule> outbox_schedule_;
};

} // namespace teamflow::engine
