#pragma once
/// The store interface. One engine operation computes a complete `ChangeSet` (record writes with
/// expected versions, history, outbox rows, timers, cursors, unique keys) and the store commits it
/// in one call, all or nothing. Reads needed during evaluation go through the store too.

#include "teamflow/engine/record.hpp"
#include "teamflow/engine/result.hpp"
#include "teamflow/engine/value.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace teamflow::engine {

class Definitions;

/// A vector whose elements are reused after `clear()` (their buffers keep their capacity).
/// `add()` returns an element reset with its `reset()`.
template <class T>
class Reuse {
public:
    /// A fresh (reset) element at the end.
    T& add() {
        if (n_ == items_.size()) {
            items_.emplace_back();
        } else {
            items_[n_].reset();
        }
        return items_[n_++];
    }
    void clear() { n_ = 0; }
    std::size_t size() const { return n_; }
    bool empty() const { return n_ == 0; }
    T& operator[](std::size_t k) { return items_[k]; }
    const T& operator[](std::size_t k) const { return items_[k]; }
    T* begin() { return items_.data(); }
    T* end() { return items_.data() + n_; }
    const T* begin() const { return items_.data(); }
    const T* end() const { return items_.data() + n_; }

private:
    std::vector<T> items_;
    std::size_t n_ = 0;
};

/// What a history entry records.
enum class HistoryKind : std::uint8_t {
    Created,      ///< the record was created (or filed as a request)
    Updated,      ///< a direct update
    Transition,   ///< a transition by a user
    ParallelStep, ///< one sub-transition of a parallel group (the record may not have moved)
    Automatic,    ///< an automatic transition fired by its timer
    Sla,          ///< an SLA escalation
    Moved,        ///< an admin move
    Deleted,
};

/// The stable name of a history kind (`transition`, `sla`, …).
std::string_view history_kind_name(HistoryKind kind);

/// A field's value before and after a change.
struct FieldChange {
    std::uint32_t field = 0;
    Cell before;
    Cell after;
};

/// One entry of a record's history.
struct HistoryEntry {
    std::int64_t id = 0; ///< assigned by the store at commit
    RecordId record = 0;
    std::uint32_t module = 0;
    HistoryKind kind = HistoryKind::Created;
    std::string name;          ///< transition, parallel sub-transition or SLA state name
    /// The transition's index in the record's blueprint when `name` is one (set by the engine,
    /// 0xFFFFFFFF otherwise): stores may keep it instead of the name; `name` stays authoritative.
    std::uint32_t transition = 0xFFFFFFFFu;
    std::int32_t from = -1;    ///< state index before, or -1
    std::int32_t to = -1;      ///< state index after, or -1
    UserId by = no_user;
    std::int64_t at = 0;
    std::int64_t version = 0;  ///< the record's version after this change
    std::string note;
    std::string reason;        ///< for moves
    std::vector<FieldChange> changes; ///< updates; fields supplied with a transition
    std::vector<std::string> checklist;

    void reset() {
        id = 0;
        record = 0;
        module = 0;
        kind = HistoryKind::Created;
        name.clear();
        transition = 0xFFFFFFFFu;
        from = to = -1;
        by = no_user;
        at = version = 0;
        note.clear();
        reason.clear();
        changes.clear();
        checklist.clear();
    }
};

/// What an outbox row delivers.
enum class OutboxKind : std::uint8_t { Notification, Webhook };
/// Delivery state of an outbox row.
enum class OutboxStatus : std::uint8_t { Pending, Delivered, Failed };

/// A queued notification or webhook, committed with the change that caused it.
struct OutboxRow {
    std::int64_t id = 0; ///< assigned by the store at commit
    OutboxKind kind = OutboxKind::Notification;
    RecordId record = 0;
    std::uint32_t module = 0;
    UserId user = no_user; ///< notification recipient
    std::string text;      ///< notification message
    std::string url;       ///< webhook URL
    std::string payload;   ///< webhook body (the record as JSON)
    std::int64_t created_at = 0;
    OutboxStatus status = OutboxStatus::Pending;
    int attempts = 0;
    std::string last_error;

    /// Back to a default row, keeping the text buffers' capacity (rows are reused).
    void reset() {
        id = 0;
        kind = OutboxKind::Notification;
        record = 0;
        module = 0;
        user = no_user;
        text.clear();
        url.clear();
        payload.clear();
        created_at = 0;
        status = OutboxStatus::Pending;
        attempts = 0;
        last_error.clear();
    }
};

/// What a timer does when it fires.
enum class TimerKind : std::uint8_t { Transition, Sla };

/// A timer set when a record entered a state; ignored if the record has left that state since
/// (its `state_version` no longer matches the record's).
struct Timer {
    std::int64_t id = 0; ///< assigned by the store at commit
    RecordId record = 0;
    std::uint32_t blueprint = 0;
    TimerKind kind = TimerKind::Transition;
    std::uint32_t index = 0; ///< transition or SLA index
    std::int64_t due = 0;
    std::int64_t state_version = 0;
};

/// A new or updated record, with the version expected in the store (0: a new record).
struct RecordWrite {
    Record record;
    std::int64_t expected_version = 0;
    void reset() { expected_version = 0; }
};

/// A round-robin cursor moved from `expected` to `value` (a mismatch is a conflict).
struct CursorUpdate {
    std::string key;
    std::int64_t expected = 0;
    std::int64_t value = 0;
    void reset() {
        key.clear();
        expected = value = 0;
    }
};

/// A unique field value claimed (or released) by a record.
struct UniqueKey {
    std::uint32_t module = 0;
    std::uint32_t field = 0;
    std::string key;
    RecordId record = 0;
    void reset() {
        module = field = 0;
        key.clear();
        record = 0;
    }
};

/// One published version of the definitions: every source file, who published it, when, and why.
struct DefinitionsVersion {
    std::int64_t version = 0; ///< 1, 2, … (the next one must be exactly the latest plus one)
    std::vector<std::pair<std::string, std::string>> files; ///< file name → source text
    std::string published_by;  ///< the publisher's user id
    std::int64_t published_at = 0;
    std::string summary;       ///< a short description of what changed
};

/// Everything one operation changes, committed atomically.
struct ChangeSet {
    Reuse<RecordWrite> writes;
    Reuse<HistoryEntry> history;
    Reuse<OutboxRow> outbox;
    std::vector<RecordId> timers_cancel; ///< drop every pending timer of these records (first)
    std::vector<Timer> timers_add;
    /// Fired (or found stale): remove. A timer that is no longer pending (fired or cancelled by
    /// another commit) makes the commit a `conflict`, so a timer never fires twice.
    std::vector<std::int64_t> timers_done;
    Reuse<CursorUpdate> cursors;
    Reuse<UniqueKey> claims;
    Reuse<UniqueKey> releases;
    /// A new definitions version committed with the rest (a `conflict` unless it is the latest
    /// plus one). `publish_defs` is its compiled form: the indices of this change set refer to it,
    /// and the store binds it (see `Store::bind`) once the commit succeeded.
    std::optional<DefinitionsVersion> publish;
    std::shared_ptr<const Definitions> publish_defs;

    void clear() {
        writes.clear();
        history.clear();
        outbox.clear();
        timers_cancel.clear();
        timers_add.clear();
        timers_done.clear();
        cursors.clear();
        claims.clear();
        releases.clear();
        publish.reset();
        publish_defs.reset();
    }
};

/// Equality on one field in a filtered listing (`?stage=Negotiation`); an empty cell matches
/// records where the field is empty.
struct FieldFilter {
    std::uint32_t field = 0; ///< a field index, or `builtin_field | Builtin` (owner, assignee…)
    Cell value;
};

/// A remembered answer for an idempotency key.
struct StoredResponse {
    std::string fingerprint; ///< what the request looked like (e.g. a hash of its body)
    std::string response;
};

/// Reads records by id (for one-hop lookups during evaluation).
class RecordReader {
public:
    virtual ~RecordReader() = default;
    /// Copies a record into `out` (reusing its buffers); false when there is none.
    virtual bool read_record(RecordId id, Record& out) const = 0;
    /// Copies one member of a live record into `out`: field `member` (>= 0), or the built-in
    /// `-member - 1`; false when there is no such record (or field). The default reads the
    /// whole record; readers may do better (one-hop lookups in expressions read one member).
    virtual bool read_member(RecordId id, std::int32_t member, Cell& out) const;
};

/// Where records, history, outbox, timers, cursors and idempotency keys live. Thread-safe.
/// Indices in records, history, timers and keys refer to the definitions last bound; durable
/// stores keep names instead (module and field names, state text, user ids) so that rows read
/// back correctly under a later version.
class Store : public RecordReader {
public:
    /// The definitions that indices refer to from now on (the engine calls it on construction
    /// and on every swap). Stores that keep indices translate what they hold.
    virtual void bind(std::shared_ptr<const Definitions> defs) = 0;
    /// The latest published definitions version, if any.
    virtual std::optional<DefinitionsVersion> latest_definitions() const = 0;
    /// Every published version, newest first, without their files.
    virtual std::vector<DefinitionsVersion> definitions_versions() const = 0;
    /// Ids of a module's live records after `after` whose fields equal every filter, ascending,
    /// at most `limit`. The default reads the records one by one; stores may do better.
    virtual std::vector<RecordId> list_where(std::uint32_t module,
                                             const std::vector<FieldFilter>& filters,
                                             RecordId after, std::size_t limit) const;

    /// Reserves a new record id.
    virtual RecordId allocate_id() = 0;
    /// Commits a change set atomically: `conflict` when a record's version differs from the one
    /// expected (or a cursor moved), `not-unique` when a unique key is taken; nothing is applied
    /// then.
    virtual Status commit(const ChangeSet& changes) = 0;
    /// Commits like `commit`, and may take the contents of the change set instead of copying
    /// them (the engine calls it when it no longer needs them): afterwards `changes` is only fit
    /// for `clear()` and reuse. The default calls `commit`.
    virtual Status commit_and_take(ChangeSet& changes) { return commit(changes); }
    /// Whether a unique key is held by a record other than `except`.
    virtual bool unique_taken(std::uint32_t module, std::uint32_t field, std::string_view key,
                              RecordId except) const = 0;
    /// The current value of a round-robin cursor (0 when never moved).
    virtual std::int64_t cursor(std::string_view key) const = 0;
    /// Records of `module` assigned to `user` that are open: not in a state flagged in
    /// `terminal` of the picklist field `state_field` (npos: every record is open).
    virtual std::int64_t count_open_assigned(std::uint32_t module, UserId user,
                                             std::uint32_t state_field,
                                             const std::vector<std::uint8_t>& terminal) const = 0;
    /// The pending timer due first, if any.
    virtual std::optional<Timer> next_timer() const = 0;
    /// Pending timers due at or before `now`, in due order (ties by id).
    virtual std::vector<Timer> due_timers(std::int64_t now, std::size_t limit) const = 0;
    /// Claims up to `limit` due timers for `lease` seconds: a claimed timer is not handed to any
    /// other claimer (node) until `now + lease`, so each fires once; one whose firing did not
    /// commit comes back when its lease runs out. Stores shared by several nodes override this.
    virtual std::vector<Timer> claim_due_timers(std::int64_t now, std::size_t limit,
                                                std::int64_t lease) {
        (void)lease;
        return due_timers(now, limit);
    }
    /// Pending timers of a record.
    virtual std::vector<Timer> timers_of(RecordId record) const = 0;
    /// A record's history, oldest first.
    virtual std::vector<HistoryEntry> history(RecordId record) const = 0;
    /// Outbox rows, oldest first; `status` filters when given.
    virtual std::vector<OutboxRow> outbox(std::optional<OutboxStatus> status) const = 0;
    /// Notifications addressed to a user, newest first.
    virtual std::vector<OutboxRow> notifications(UserId user) const = 0;
    /// Marks an outbox row delivered or failed (one more attempt).
    virtual Status mark_outbox(std::int64_t id, OutboxStatus status, std::string error) = 0;
    /// Ids of a module's live records after `after`, ascending, at most `limit`.
    virtual std::vector<RecordId> list(std::uint32_t module, RecordId after,
                                       std::size_t limit) const = 0;
    /// Ids of records filed by (requester) or assigned to a user.
    virtual std::vector<RecordId> requested_by(UserId user) const = 0;
    virtual std::vector<RecordId> assigned_to(UserId user) const = 0;
    /// The answer remembered for an idempotency key.
    virtual std::optional<StoredResponse> recall(std::string_view key) const = 0;
    /// Remembers an answer (the first one wins).
    virtual void remember(std::string_view key, StoredResponse response) = 0;

    // Paged reads for the HTTP API's lists (additive). Each answers at most `limit` items past a
    // cursor, in the order of the unpaged read above. The defaults read everything through those
    // methods and cut; stores override them with indexed queries.
    /// A record's history entries with id > `after`, oldest first.
    virtual std::vector<HistoryEntry> history_page(RecordId record, std::int64_t after,
                                                   std::size_t limit) const;
    /// Outbox rows with id > `after`, oldest first; `kind` and `status` filter when given.
    virtual std::vector<OutboxRow> outbox_page(std::optional<OutboxKind> kind,
                                               std::optional<OutboxStatus> status,
                                               std::int64_t after, std::size_t limit) const;
    /// Notifications addressed to `user` with id < `before` (0: from the newest), newest first.
    virtual std::vector<OutboxRow> notifications_page(UserId user, std::int64_t before,
                                                      std::size_t limit) const;
    /// Ids of live records filed by `user` (requester) with id > `after`, ascending.
    virtual std::vector<RecordId> requested_by_page(UserId user, RecordId after,
                                                    std::size_t limit) const;
    /// Ids of live records assigned to `user` with id > `after`, ascending.
    virtual std::vector<RecordId> assigned_to_page(UserId user, RecordId after,
                                                   std::size_t limit) const;
    /// Published versions below `before` (0: from the latest), newest first, without files.
    virtual std::vector<DefinitionsVersion> definitions_versions_page(std::int64_t before,
                                                                      std::size_t limit) const;

    // --- Background work shared by several nodes (additive) ---------------------------------
    // Outbox times are in milliseconds since the epoch (back-off starts below one second).

    /// Claims up to `limit` deliverable outbox rows (pending, next attempt due at `now_ms`, not
    /// held by another claimer), oldest first, for `lease_ms`: until `now_ms + lease_ms` no other
    /// claimer (node) gets them; a row whose attempt was not recorded comes back after that.
    /// The default (one node) hands out pending rows without leases or back-off.
    virtual std::vector<OutboxRow> claim_outbox(std::int64_t now_ms, std::size_t limit,
                                                std::int64_t lease_ms);
    /// Records one attempt of a pending row and releases its claim: `Delivered` or `Failed`, or
    /// `Pending` again with its next attempt not before `next_attempt_ms`; one more attempt and
    /// `error` as its last error. A row that is no longer pending is left alone (`conflict`); no
    /// such row is `not-found`. The default calls `mark_outbox`.
    virtual Status record_outbox_attempt(std::int64_t id, OutboxStatus status, std::string error,
                                         std::int64_t next_attempt_ms);
    /// The number of outbox rows (notifications and webhooks) with a status, without loading
    /// them. The default counts `outbox(status)`.
    virtual std::int64_t count_outbox(OutboxStatus status) const;
    /// The number of pending timers due at or before `now`. The default counts `due_timers`.
    virtual std::int64_t count_due_timers(std::int64_t now) const;
    /// The latest published definitions version (0: none), without its files; a failed read is
    /// -1. The default reads `latest_definitions()`.
    virtual std::int64_t latest_definitions_version() const;

    // --- round-robin turns and several processes (issue 4) ---
    /// Takes the next turn of a round-robin cursor: moves it by one and returns the value it had
    /// (0 first), atomically and on its own, outside any commit, so no lock on the cursor is held
    /// while a record's transaction runs. Each value is handed out once across every thread and
    /// node sharing the store; an operation that takes a turn and then does not commit skips that
    /// turn. The default moves the cursor by compare-and-set commits (retried on `conflict`).
    virtual Result<std::int64_t> take_turn(std::string_view key);

    /// The id of the newest history entry of `record` at `version` (0 when there is none), e.g.
    /// the entry a transition just wrote. The default reads the whole history; stores do better.
    virtual std::int64_t history_id_at(RecordId record, std::int64_t version) const;
};

} // namespace teamflow::engine
