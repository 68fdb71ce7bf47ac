#pragma once
/// The engine: records, transitions, requests and routing, timers and SLAs over a `Store`.
/// Every operation computes one `ChangeSet` and commits it in one call; refusals are values.

#include "teamflow/engine/clock.hpp"
#include "teamflow/engine/definitions.hpp"
#include "teamflow/engine/record.hpp"
#include "teamflow/engine/result.hpp"
#include "teamflow/engine/store.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace teamflow::dsl {
struct DefinitionSet;
}

namespace teamflow::engine {

/// A field value supplied by a caller, already resolved to the field's index.
struct FieldAssign {
    std::uint32_t field = 0;
    Value value; ///< text must outlive the call
};

/// A field value as JSON gives it (before it is checked against the field's type).
struct Input {
    enum class Kind { Null, Bool, Number, String };
    Kind kind = Kind::Null;
    bool boolean = false;
    std::string text; ///< Number: the decimal as written; String: the text
};

/// A named field value (`"discount": 25`).
struct NamedInput {
    std::string field;
    Input value;
};

/// Engine settings.
struct EngineOptions {
    std::vector<std::string> org_admins; ///< user ids of org admins (`move`, see everything)
    int conflict_retries = 3; ///< re-runs of an operation that lost a race (no If-Match given)
};

/// A transition request.
struct TransitionCall {
    RecordId record = 0;
    std::string name;                    ///< the transition's name, unless `transition` is set
    std::uint32_t transition = npos32;   ///< the transition's index in the record's blueprint
    UserId user = no_user;
    std::vector<FieldAssign> fields;     ///< fields supplied with the transition
    std::vector<std::string> checklist;  ///< ticked items
    std::string note;
    std::int64_t expected_version = 0;   ///< If-Match; 0: any
    /// The record as the caller has just read it from the store, under the definitions
    /// `current_defs`: the engine starts from it instead of reading it again when those are still
    /// its definitions (a retry after a conflict reads it afresh).
    const Record* current = nullptr;
    const Definitions* current_defs = nullptr;
    /// When set, receives the record as committed (saves the caller a read).
    Record* committed = nullptr;
};

/// What a transition did.
struct TransitionOutcome {
    RecordId record = 0;
    std::uint32_t blueprint = 0;
    std::uint32_t transition = 0;
    std::int32_t from = -1;
    std::int32_t to = -1;   ///< the new state (the same as `from` when a parallel step did not move)
    bool moved = false;
    std::int64_t version = 0;
    std::int64_t at = 0;
    UserId by = no_user;
};

/// What a dry run computed: the outcome, the record as it would be, and what it would queue.
struct DryRunResult {
    TransitionOutcome outcome;
    Record record;
    std::vector<FieldChange> changes;
    std::vector<OutboxRow> queued;
    std::vector<Record> created;
};

/// One transition in a listing.
struct AvailableTransition {
    std::uint32_t index = 0;
    bool available = true;
    ErrorCode reason_code = ErrorCode::Invalid;
    std::string reason; ///< why not (only when unavailable and asked for)
};

/// A publish: the whole set of source files, replacing the published one.
struct PublishRequest {
    std::vector<std::pair<std::string, std::string>> files; ///< file name → source text
    std::string user;                    ///< the publisher's user id (recorded, not checked here)
    std::int64_t expected_version = -1;  ///< If-Match: the latest version expected; -1: any
    std::string summary;                 ///< what changed; empty: computed from the sets
};

/// Records a publish would strand, for one reason.
struct StrandedRecords {
    std::string reason; ///< e.g. `state "Legal review" removed from blueprint DealPipeline`
    std::vector<RecordId> records;
};

/// What a publish did.
struct PublishOutcome {
    std::int64_t version = 0;
    std::vector<RecordId> migrated;               ///< records moved by `migrate`
    std::shared_ptr<const Definitions> definitions; ///< now current
};

/// Details of a publish, filled whether it succeeded or not: the compiled set (its diagnostics,
/// warnings included) and the records it would strand.
struct PublishReport {
    std::shared_ptr<const dsl::DefinitionSet> set;
    std::vector<StrandedRecords> stranded;
};

/// Compiles a stored definitions version; the result keeps its sources alive.
Result<std::shared_ptr<const Definitions>> compile_version(const DefinitionsVersion& version,
                                                           PublishReport* report = nullptr);

/// Per-thread scratch of one operation (internal).
struct OpContext;

/// Runs a compiled definition set against a store. Thread-safe: every operation loads the current
/// definitions once; `set_definitions` swaps in a new version atomically.
class Engine {
public:
    Engine(std::shared_ptr<const Definitions> defs, Store& store, const Clock& clock,
           EngineOptions options = {});

    /// The current definitions.
    std::shared_ptr<const Definitions> definitions() const;
    /// Swaps in a new version (atomic; running operations finish on the old one).
    void set_definitions(std::shared_ptr<const Definitions> defs);
    Store& store() const { return store_; }
    const Clock& clock() const { return clock_; }

    /// Reads a record the user may see (`not-visible` otherwise).
    Result<Record> get(RecordId id, UserId user) const;
    /// Creates a record: defaults, required, unique, entry criteria, initial state and its timers.
    Result<Record> create(std::uint32_t module, UserId user, const std::vector<FieldAssign>& fields);
    /// Updates fields directly; a governed state field is refused (`governed-by-blueprint`).
    Result<Record> update(RecordId id, UserId user, const std::vector<FieldAssign>& fields,
                          std::int64_t expected_version = 0);
    /// Files a request into a team module: teamspace and field checks, then routing.
    Result<Record> file_request(std::uint32_t team, std::uint32_t module, UserId user,
                                const std::vector<FieldAssign>& fields);
    /// Performs a transition (or one parallel sub-transition).
    Result<TransitionOutcome> transition(const TransitionCall& call);
    /// Computes everything a transition would do and commits nothing.
    Result<DryRunResult> dry_run(const TransitionCall& call);
    /// The transitions from the record's state: available ones, and with `all` the others too.
    Status list_transitions(RecordId id, UserId user, bool all,
                            std::vector<AvailableTransition>& out);
    /// Admin move of a record to any state of its blueprint, with a reason in its history.
    Result<Record> move(RecordId id, UserId user, std::uint32_t state, std::string reason);
    /// Deletes a record (its owner, or an admin).
    Status remove(RecordId id, UserId user);
    /// Publishes a new definitions version: compiles it (`invalid` with every diagnostic), refuses
    /// when records would be stranded (`invalid`, the count and the records in `report`) unless
    /// a `migrate` moves them (in the same commit as the version row), `conflict` when the latest
    /// version is not `expected_version`; then swaps the new definitions in.
    Result<PublishOutcome> publish(const PublishRequest& request, PublishReport* report = nullptr);
    /// Swaps in the latest version published in the store; its number (0 when there is none).
    Result<std::int64_t> load_latest();
    /// Fires due timers (automatic transitions, SLAs) in due order; returns how many fired.
    std::size_t fire_due_timers(std::size_t limit = SIZE_MAX);

    /// The pending parallel sub-transitions of a record (transition indices).
    std::vector<std::uint32_t> pending(const Record& record) const;
    /// Resolves named JSON-like inputs to a module's fields (`unknown-field`, `wrong-type`).
    /// Text in the result points into `inputs`.
    Result<std::vector<FieldAssign>> resolve_inputs(std::uint32_t module,
                                                    const std::vector<NamedInput>& inputs) const;
    /// Whether a user may see a record.
    bool can_see(const Definitions& defs, const Record& record, UserId user) const;
    /// Whether a user is an org admin.
    bool is_org_admin(const Definitions& defs, UserId user) const;

private:
    Result<TransitionOutcome> perform(const Definitions& d, OpContext& ctx, const TransitionCall& call,
                                      bool automatic, DryRunResult* dry);
    bool fire(const Definitions& d, const Timer& timer);

    /// Every version published to this engine stays alive with it (versions are few), so the hot
    /// path loads a plain atomic pointer instead of an atomic shared_ptr.
    const Definitions* current() const { return current_.load(std::memory_order_acquire); }
    mutable std::mutex versions_mu_;
    std::vector<std::shared_ptr<const Definitions>> versions_;
    std::atomic<const Definitions*> current_{nullptr};
    Store& store_;
    const Clock& clock_;
    EngineOptions options_;
};

/// The record as JSON, in the HTTP API's shape.
std::string record_json(const Definitions& defs, const Record& record);
/// Appends the record as JSON to `out` (a reused buffer: webhook payloads).
void append_record_json(std::string& out, const Definitions& defs, const Record& record);
/// A JSON string literal.
void append_json_string(std::string& out, std::string_view s);
/// One field value as JSON (`null`, a number, a string…).
void append_json_value(std::string& out, const Definitions& defs, const FieldDef& field,
                       const Cell& cell);

} // namespace teamflow::engine
