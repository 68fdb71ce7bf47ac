// The PostgreSQL store: rows keyed by names (see codec.hpp, shared with the SQLite store), a pool
// of connections with their prepared statements, one database transaction per commit.

#include "teamflow/engine/pg_store.hpp"

#include "codec.hpp"
#include "teamflow/engine/definitions.hpp"
#include "teamflow/engine/engine.hpp"

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace teamflow::engine {

namespace {

// The channel a publish is announced on (payload "<schema>:<version>").
constexpr std::string_view publish_channel = "teamflow_publish";

// --- schema ----------------------------------------------------------------------------------

// Each migration runs once, in order, inside the transaction that holds the advisory lock. The
// tables are the SQLite store's (same names, same columns, same encodings), with PostgreSQL
// types: a sequence for record ids, jsonb for the JSON columns, and a claim column on timers.
const char* const migrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE SEQUENCE record_ids;
CREATE TABLE records (
    id bigint PRIMARY KEY,
    module text NOT NULL,
    version bigint NOT NULL,
    owner text NOT NULL,
    created_by text NOT NULL,
    requester text NOT NULL,
    assignee text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    governed boolean NOT NULL,
    deleted boolean NOT NULL,
    state text NOT NULL,
    state_version bigint NOT NULL,
    state_entered_at bigint NOT NULL,
    parallel_done jsonb NOT NULL,
    fields jsonb NOT NULL
);
CREATE INDEX records_by_module ON records (module, id) WHERE NOT deleted;
CREATE INDEX records_by_requester ON records (requester, id) WHERE NOT deleted;
CREATE INDEX records_by_assignee ON records (assignee, module) WHERE NOT deleted;
CREATE TABLE history (
    id bigserial PRIMARY KEY,
    record bigint NOT NULL REFERENCES records (id),
    module text NOT NULL,
    kind text NOT NULL,
    name text NOT NULL,
    from_state text NOT NULL,
    to_state text NOT NULL,
    by_user text NOT NULL,
    at bigint NOT NULL,
    version bigint NOT NULL,
    note text NOT NULL,
    reason text NOT NULL,
    changes jsonb NOT NULL,
    checklist jsonb NOT NULL
);
CREATE INDEX history_by_record ON history (record, id);
CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    kind integer NOT NULL,
    record bigint NOT NULL,
    module text NOT NULL,
    recipient text NOT NULL,
    text text NOT NULL,
    url text NOT NULL,
    payload text NOT NULL,
    created_at bigint NOT NULL,
    status integer NOT NULL,
    attempts integer NOT NULL,
    last_error text NOT NULL
);
CREATE INDEX outbox_by_status ON outbox (status, id);
CREATE INDEX outbox_by_recipient ON outbox (recipient, id) WHERE kind = 0;
CREATE TABLE timers (
    id bigserial PRIMARY KEY,
    record bigint NOT NULL REFERENCES records (id),
    blueprint text NOT NULL,
    kind integer NOT NULL,
    what text NOT NULL,
    ordinal bigint NOT NULL,
    due bigint NOT NULL,
    state_version bigint NOT NULL,
    claimed_until bigint NOT NULL DEFAULT 0
);
CREATE INDEX timers_by_due ON timers (due, id);
CREATE INDEX timers_by_record ON timers (record);
CREATE TABLE cursors (key text PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE unique_keys (
    module text NOT NULL,
    field text NOT NULL,
    key text NOT NULL,
    record bigint NOT NULL,
    PRIMARY KEY (module, field, key)
);
CREATE TABLE idempotency (
    key text PRIMARY KEY,
    fingerprint text NOT NULL,
    response text NOT NULL
);
CREATE TABLE definitions (
    version bigint PRIMARY KEY,
    published_by text NOT NULL,
    published_at bigint NOT NULL,
    summary text NOT NULL
);
CREATE TABLE definition_files (
    version bigint NOT NULL REFERENCES definitions (version),
    position integer NOT NULL,
    name text NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (version, position)
);
)sql",
    // 2: outbox claims shared by several nodes: the next attempt (back-off, milliseconds since
    // the epoch) and the lease of the node delivering the row.
    R"sql(
ALTER TABLE outbox ADD COLUMN next_attempt_at bigint NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_until bigint NOT NULL DEFAULT 0;
CREATE INDEX outbox_deliverable ON outbox (id) WHERE status = 0;
)sql",
};

constexpr int migration_count = static_cast<int>(sizeof migrations / sizeof migrations[0]);

// Every connection prepares these when it opens.
struct Statement {
    const char* name;
    const char* sql;
};

#define TF_RECORD_COLUMNS                                                                          \
    "module, version, owner, created_by, requester, assignee, created_at, updated_at, governed, "  \
    "deleted, state_version, state_entered_at, parallel_done::text, fields::text"
#define TF_TIMER_COLUMNS "id, record, blueprint, kind, what, ordinal, due, state_version"
#define TF_HISTORY_COLUMNS                                                                         \
    "id, record, module, kind, name, from_state, to_state, by_user, at, version, note, reason, "   \
    "changes::text, checklist::text"
#define TF_OUTBOX_COLUMNS                                                                          \
    "id, kind, record, module, recipient, text, url, payload, created_at, status, attempts, "      \
    "last_error"

// The rest of a one-statement commit (after `u`, `ok` and the new records `i`): $18..$30 history
// columns, $31..$41 outbox columns, $42 records whose timers are cancelled, $43..$49 timers
// added. Foreign keys (history and timers → records) are checked at the end of the statement,
// so new records and their history go in together.
#define TF_FAST_REST                                                                               \
    "h AS (INSERT INTO history (record, module, kind, name, from_state, to_state, by_user, at, "    \
    "version, note, reason, changes, checklist) SELECT x.a, x.b, x.c, x.d, x.e, x.f, x.g, x.h, "    \
    "x.i, x.j, x.k, x.l::jsonb, x.m::jsonb FROM unnest($18::bigint[], $19::text[], $20::text[], "   \
    "$21::text[], $22::text[], $23::text[], $24::text[], $25::bigint[], $26::bigint[], "            \
    "$27::text[], $28::text[], $29::text[], $30::text[]) AS x(a, b, c, d, e, f, g, h, i, j, k, l, " \
    "m) WHERE (SELECT go FROM ok)), "                                                                \
    "o AS (INSERT INTO outbox (kind, record, module, recipient, text, url, payload, created_at, "    \
    "status, attempts, last_error) SELECT x.* FROM unnest($31::integer[], $32::bigint[], "          \
    "$33::text[], $34::text[], $35::text[], $36::text[], $37::text[], $38::bigint[], "              \
    "$39::integer[], $40::integer[], $41::text[]) AS x WHERE (SELECT go FROM ok)), "                \
    "c AS (DELETE FROM timers WHERE record = ANY ($42::bigint[]) AND (SELECT go FROM ok)), "        \
    "t AS (INSERT INTO timers (record, blueprint, kind, what, ordinal, due, state_version) "        \
    "SELECT x.* FROM unnest($43::bigint[], $44::text[], $45::integer[], $46::text[], "              \
    "$47::bigint[], $48::bigint[], $49::bigint[]) AS x WHERE (SELECT go FROM ok)) "                 \
    "SELECT go FROM ok"

const Statement statements[] = {
    {"rec_get", "SELECT " TF_RECORD_COLUMNS " FROM records WHERE id = $1 AND NOT deleted"},
    {"rec_ins",
     "INSERT INTO records (id, module, version, owner, created_by, requester, assignee, "
     "created_at, updated_at, governed, deleted, state, state_version, state_entered_at, "
     "parallel_done, fields) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, "
     "$15::jsonb, $16::jsonb) ON CONFLICT (id) DO NOTHING"},
    {"rec_upd",
     "UPDATE records SET module = $3, version = $4, owner = $5, created_by = $6, requester = $7, "
     "assignee = $8, created_at = $9, updated_at = $10, governed = $11, deleted = $12, "
     "state = $13, state_version = $14, state_entered_at = $15, parallel_done = $16::jsonb, "
     "fields = $17::jsonb WHERE id = $1 AND version = $2 AND NOT EXISTS (SELECT 1 FROM "
     "definitions WHERE version > $18)"},
    {"rec_version", "SELECT version, deleted FROM records WHERE id = $1"},
    {"rec_next", "SELECT nextval('record_ids')"},
    {"rec_list",
     "SELECT id FROM records WHERE module = $1 AND id > $2 AND NOT deleted ORDER BY id LIMIT $3"},
    {"rec_open_count",
     "SELECT count(*) FROM records WHERE module = $1 AND assignee = $2 AND NOT deleted AND "
     "NOT (coalesce(fields ->> $3, '') = ANY ($4::text[]))"},
    {"hist_ins",
     "INSERT INTO history (record, module, kind, name, from_state, to_state, by_user, at, "
     "version, note, reason, changes, checklist) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
     "$11, $12::jsonb, $13::jsonb)"},
    {"hist_id_at",
     "SELECT id FROM history WHERE record = $1 AND version = $2 ORDER BY id DESC LIMIT 1"},
    {"out_ins",
     "INSERT INTO outbox (kind, record, module, recipient, text, url, payload, created_at, "
     "status, attempts, last_error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"},
    {"out_mark",
     "UPDATE outbox SET status = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1"},
    {"tm_cancel", "DELETE FROM timers WHERE record = $1"},
    {"tm_done", "DELETE FROM timers WHERE id = $1"},
    {"tm_add",
     "INSERT INTO timers (record, blueprint, kind, what, ordinal, due, state_version) "
     "VALUES ($1, $2, $3, $4, $5, $6, $7)"},
    {"tm_next", "SELECT " TF_TIMER_COLUMNS " FROM timers ORDER BY due, id LIMIT 1"},
    {"tm_due", "SELECT " TF_TIMER_COLUMNS " FROM timers WHERE due <= $1 ORDER BY due, id LIMIT $2"},
    {"tm_of", "SELECT " TF_TIMER_COLUMNS " FROM timers WHERE record = $1 ORDER BY id"},
    // Claimed rows are skipped by other claimers (SKIP LOCKED while the claim runs, then the
    // lease in claimed_until), so any number of nodes hand each due timer to one of them.
    {"tm_claim",
     "UPDATE timers t SET claimed_until = $2 FROM (SELECT id FROM timers WHERE due <= $1 AND "
     "claimed_until <= $1 ORDER BY due, id LIMIT $3 FOR UPDATE SKIP LOCKED) c WHERE t.id = c.id "
     "RETURNING t.id, t.record, t.blueprint, t.kind, t.what, t.ordinal, t.due, t.state_version"},
    {"cur_get", "SELECT value FROM cursors WHERE key = $1"},
    {"cur_first",
     "INSERT INTO cursors (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET "
     "value = excluded.value WHERE cursors.value = 0"},
    {"cur_move", "UPDATE cursors SET value = $3 WHERE key = $1 AND value = $2"},
    {"uq_taken",
     "SELECT 1 FROM unique_keys WHERE module = $1 AND field = $2 AND key = $3 AND record <> $4"},
    {"uq_release",
     "DELETE FROM unique_keys WHERE module = $1 AND field = $2 AND key = $3 AND record = $4"},
    // A key held by another record (committed, or being inserted by a concurrent commit, which
    // this one waits for) updates no row: `not-unique`.
    {"uq_claim",
     "INSERT INTO unique_keys (module, field, key, record) VALUES ($1, $2, $3, $4) ON CONFLICT "
     "(module, field, key) DO UPDATE SET record = excluded.record WHERE unique_keys.record = "
     "excluded.record"},
    {"idem_get", "SELECT fingerprint, response FROM idempotency WHERE key = $1"},
    {"idem_put",
     "INSERT INTO idempotency (key, fingerprint, response) VALUES ($1, $2, $3) ON CONFLICT (key) "
     "DO NOTHING"},
    {"def_latest",
     "SELECT version, published_by, published_at, summary FROM definitions ORDER BY version DESC "
     "LIMIT 1"},
    {"def_files", "SELECT name, text FROM definition_files WHERE version = $1 ORDER BY position"},
    {"def_ins",
     "INSERT INTO definitions (version, published_by, published_at, summary) SELECT "
     "$1::bigint, $2::text, $3::bigint, $4::text WHERE coalesce((SELECT max(version) FROM "
     "definitions), 0) = $1::bigint - 1"},
    // Group commit: the change sets of several concurrent commits (each with at most one record
    // update) as ONE autocommit statement, every row tagged with its change set's index `b`. A
    // change set's update, new records, history, outbox rows and timers are applied only when its
    // update matched its expected version (`ok`; change sets without an update always are), so a
    // lost race applies nothing of that change set and nothing else is affected; the statement
    // answers the indices applied. Any error fails the whole statement (the store then commits the
    // change sets one by one, for their exact errors). Rows go as parallel arrays.
    {"commit_batch",
     "WITH u AS (UPDATE records r SET module = x.module, version = x.version, owner = x.owner, "
     "created_by = x.created_by, requester = x.requester, assignee = x.assignee, "
     "created_at = x.created_at, updated_at = x.updated_at, governed = x.governed, "
     "deleted = x.deleted, state = x.state, state_version = x.state_version, "
     "state_entered_at = x.state_entered_at, parallel_done = x.parallel::jsonb, "
     "fields = x.fields::jsonb FROM unnest($1::integer[], $2::bigint[], $3::bigint[], "
     "$4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], "
     "$11::bigint[], $12::boolean[], $13::boolean[], $14::text[], $15::bigint[], $16::bigint[], "
     "$17::text[], $18::text[], $73::bigint[]) AS x(b, id, expected, module, version, owner, "
     "created_by, requester, assignee, created_at, updated_at, governed, deleted, state, "
     "state_version, state_entered_at, parallel, fields, defs) WHERE r.id = ANY ($2::bigint[]) "
     "AND r.id = x.id AND r.version = x.expected AND NOT EXISTS (SELECT 1 FROM definitions "
     "WHERE definitions.version > x.defs) RETURNING x.b), "
     "ok AS (SELECT b FROM u UNION ALL SELECT unnest($19::integer[])), "
     "i AS (INSERT INTO records (id, module, version, owner, created_by, requester, assignee, "
     "created_at, updated_at, governed, deleted, state, state_version, state_entered_at, "
     "parallel_done, fields) SELECT x.id, x.module, x.version, x.owner, x.created_by, "
     "x.requester, x.assignee, x.created_at, x.updated_at, x.governed, x.deleted, x.state, "
     "x.state_version, x.state_entered_at, x.parallel::jsonb, x.fields::jsonb FROM "
     "unnest($20::integer[], $21::bigint[], $22::text[], $23::bigint[], $24::text[], "
     "$25::text[], $26::text[], $27::text[], $28::bigint[], $29::bigint[], $30::boolean[], "
     "$31::boolean[], $32::text[], $33::bigint[], $34::bigint[], $35::text[], $36::text[]) AS "
     "x(b, id, module, version, owner, created_by, requester, assignee, created_at, updated_at, "
     "governed, deleted, state, state_version, state_entered_at, parallel, fields) WHERE x.b IN "
     "(SELECT b FROM ok)), "
     "h AS (INSERT INTO history (record, module, kind, name, from_state, to_state, by_user, at, "
     "version, note, reason, changes, checklist) SELECT x.record, x.module, x.kind, x.name, "
     "x.from_state, x.to_state, x.by_user, x.at, x.version, x.note, x.reason, x.changes::jsonb, "
     "x.checklist::jsonb FROM unnest($37::integer[], $38::bigint[], $39::text[], $40::text[], "
     "$41::text[], $42::text[], $43::text[], $44::text[], $45::bigint[], $46::bigint[], "
     "$47::text[], $48::text[], $49::text[], $50::text[]) AS x(b, record, module, kind, name, "
     "from_state, to_state, by_user, at, version, note, reason, changes, checklist) WHERE x.b IN "
     "(SELECT b FROM ok)), "
     "o AS (INSERT INTO outbox (kind, record, module, recipient, text, url, payload, created_at, "
     "status, attempts, last_error) SELECT x.kind, x.record, x.module, x.recipient, x.text, "
     "x.url, x.payload, x.created_at, x.status, x.attempts, x.last_error FROM "
     "unnest($51::integer[], $52::integer[], $53::bigint[], $54::text[], $55::text[], "
     "$56::text[], $57::text[], $58::text[], $59::bigint[], $60::integer[], $61::integer[], "
     "$62::text[]) AS x(b, kind, record, module, recipient, text, url, payload, created_at, "
     "status, attempts, last_error) WHERE x.b IN (SELECT b FROM ok)), "
     "c AS (DELETE FROM timers WHERE record = ANY ($64::bigint[]) AND record IN (SELECT "
     "x.record FROM unnest($63::integer[], $64::bigint[]) AS x(b, record) WHERE x.b IN (SELECT b "
     "FROM ok))), "
     "t AS (INSERT INTO timers (record, blueprint, kind, what, ordinal, due, state_version) "
     "SELECT x.record, x.blueprint, x.kind, x.what, x.ordinal, x.due, x.state_version FROM "
     "unnest($65::integer[], $66::bigint[], $67::text[], $68::integer[], $69::text[], "
     "$70::bigint[], $71::bigint[], $72::bigint[]) AS x(b, record, blueprint, kind, what, "
     "ordinal, due, state_version) WHERE x.b IN (SELECT b FROM ok)) "
     "SELECT b FROM ok"},
    // A change set with at most one record update as ONE autocommit statement (one round trip,
    // atomic): the update (skipped when $2 = 0), new records, history, outbox rows and timers,
    // every part after the update running only when the update did (a version that moved updates
    // no row, and nothing is applied). Rows go as parallel arrays. A new record whose id exists
    // fails the whole statement (records_pkey: `conflict`).
    {"fast",
     "WITH u AS (UPDATE records SET module = $3, version = $4, owner = $5, created_by = $6, "
     "requester = $7, assignee = $8, created_at = $9, updated_at = $10, governed = $11, "
     "deleted = $12, state = $13, state_version = $14, state_entered_at = $15, "
     "parallel_done = $16::jsonb, fields = $17::jsonb WHERE id = $1 AND version = $2 AND "
     "$2::bigint > 0 AND NOT EXISTS (SELECT 1 FROM definitions WHERE version > $66) "
     "RETURNING id), "
     "ok AS (SELECT ($2::bigint = 0 OR EXISTS (SELECT 1 FROM u)) AS go), "
     "i AS (INSERT INTO records (id, module, version, owner, created_by, requester, assignee, "
     "created_at, updated_at, governed, deleted, state, state_version, state_entered_at, "
     "parallel_done, fields) SELECT x.a, x.b, x.c, x.d, x.e, x.f, x.g, x.h, x.i, x.j, x.k, x.l, "
     "x.m, x.n, x.o::jsonb, x.p::jsonb FROM unnest($50::bigint[], $51::text[], $52::bigint[], "
     "$53::text[], $54::text[], $55::text[], $56::text[], $57::bigint[], $58::bigint[], "
     "$59::boolean[], $60::boolean[], $61::text[], $62::bigint[], $63::bigint[], $64::text[], "
     "$65::text[]) AS x(a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p) WHERE (SELECT go FROM "
     "ok) RETURNING id), " TF_FAST_REST},
    {"def_file_ins",
     "INSERT INTO definition_files (version, position, name, text) VALUES ($1, $2, $3, $4)"},
    // Paged reads ($2 the cursor, then the limit).
    {"hist_page",
     "SELECT " TF_HISTORY_COLUMNS " FROM history WHERE record = $1 AND id > $2 ORDER BY id "
     "LIMIT $3"},
    {"out_page",
     "SELECT " TF_OUTBOX_COLUMNS " FROM outbox WHERE id > $1::bigint AND "
     "($2::integer < 0 OR kind = $2::integer) ORDER BY id LIMIT $3"},
    {"out_status_page",
     "SELECT " TF_OUTBOX_COLUMNS " FROM outbox WHERE status = $4 AND id > $1::bigint AND "
     "($2::integer < 0 OR kind = $2::integer) ORDER BY id LIMIT $3"},
    {"out_user_page",
     "SELECT " TF_OUTBOX_COLUMNS " FROM outbox WHERE kind = 0 AND recipient = $1 AND "
     "($2::bigint <= 0 OR id < $2::bigint) ORDER BY id DESC LIMIT $3"},
    {"rec_requested_page",
     "SELECT id FROM records WHERE requester = $1 AND id > $2 AND NOT deleted ORDER BY id "
     "LIMIT $3"},
    {"rec_assigned_page",
     "SELECT id FROM records WHERE assignee = $1 AND id > $2 AND NOT deleted ORDER BY id "
     "LIMIT $3"},
    {"def_page",
     "SELECT version, published_by, published_at, summary FROM definitions WHERE "
     "($1::bigint <= 0 OR version < $1::bigint) ORDER BY version DESC LIMIT $2"},
    // Outbox claims (several nodes): SKIP LOCKED while the claim runs, then the lease in
    // claimed_until; the back-off in next_attempt_at.
    {"out_claim",
     "UPDATE outbox o SET claimed_until = $2 FROM (SELECT id FROM outbox WHERE status = 0 AND "
     "next_attempt_at <= $1 AND claimed_until <= $1 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) "
     "c WHERE o.id = c.id RETURNING o.id, o.kind, o.record, o.module, o.recipient, o.text, o.url, "
     "o.payload, o.created_at, o.status, o.attempts, o.last_error"},
    {"out_attempt",
     "UPDATE outbox SET status = $2, attempts = attempts + 1, last_error = $3, "
     "next_attempt_at = $4, claimed_until = 0 WHERE id = $1 AND status = 0"},
    {"out_exists", "SELECT status FROM outbox WHERE id = $1"},
    {"out_count", "SELECT count(*) FROM outbox WHERE status = $1"},
    {"tm_count", "SELECT count(*) FROM timers WHERE due <= $1"},
    {"def_version", "SELECT coalesce(max(version), 0) FROM definitions"},
    {"def_notify", "SELECT pg_notify($1, $2)"},
};

#undef TF_RECORD_COLUMNS
#undef TF_TIMER_COLUMNS
#undef TF_HISTORY_COLUMNS
#undef TF_OUTBOX_COLUMNS
#undef TF_FAST_REST

// A PostgreSQL text[] literal.
std::string text_array(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t k = 0; k < items.size(); ++k) {
        if (k > 0) {
            out += ',';
        }
        out += '"';
        for (const char c : items[k]) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

// A PostgreSQL array literal of integers.
template <class T>
std::string int_array(const std::vector<T>& items) {
    std::string out = "{";
    for (std::size_t k = 0; k < items.size(); ++k) {
        if (k > 0) {
            out += ',';
        }
        out += std::to_string(items[k]);
    }
    out += '}';
    return out;
}

// A PostgreSQL array literal of booleans.
std::string bool_array(const std::vector<bool>& items) {
    std::string out = "{";
    for (std::size_t k = 0; k < items.size(); ++k) {
        out += k > 0 ? "," : "";
        out += items[k] ? 't' : 'f';
    }
    out += '}';
    return out;
}

std::string_view builtin_column(std::uint32_t field) {
    switch (static_cast<Builtin>(field & ~builtin_field)) {
    case Builtin::Owner: return "owner";
    case Builtin::Assignee: return "assignee";
    case Builtin::Requester: return "requester";
    case Builtin::CreatedBy: return "created_by";
    default: return {};
    }
}

std::string field_name(const Definitions& d, std::uint32_t module, std::uint32_t field) {
    if ((field & builtin_field) != 0) {
        return std::string(builtin_column(field));
    }
    if (module < d.modules.size() && field < d.modules[module].fields.size()) {
        return d.modules[module].fields[field].name;
    }
    return {};
}

HistoryKind history_kind_of(std::string_view s) {
    for (auto k : {HistoryKind::Created, HistoryKind::Updated, HistoryKind::Transition,
                   HistoryKind::ParallelStep, HistoryKind::Automatic, HistoryKind::Sla,
                   HistoryKind::Moved, HistoryKind::Deleted}) {
        if (history_kind_name(k) == s) {
            return k;
        }
    }
    return HistoryKind::Updated;
}

std::string_view text_of(const pqxx::field& f) { return {f.c_str(), f.size()}; }

/// Why an update that matched no row was refused, given the record's version now.
Error version_conflict(RecordId id, std::int64_t now, std::int64_t expected,
                       std::int64_t defs_version) {
    if (now == expected) {
        // Another node published a newer version: a write decoded under older definitions could
        // drop what it added. Refused until this node reloads.
        return make_error(ErrorCode::Conflict,
                          fmt::format("the definitions changed (a version newer than {} was "
                                      "published); retry",
                                      defs_version));
    }
    return make_error(ErrorCode::Conflict,
                      fmt::format("record {} is at version {}, not {}", id, now, expected));
}

// A refusal raised inside a transaction (rolls it back).
struct Refused {
    Error error;
};

// Where the failure came from, for messages.
Error store_error(ErrorCode code, std::string_view what) {
    std::string detail(what);
    while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) {
        detail.pop_back();
    }
    const auto nl = detail.find('\n');
    if (nl != std::string::npos) {
        detail.resize(nl);
    }
    return make_error(code, std::move(detail));
}

} // namespace

// --- the pool and the store ------------------------------------------------------------------

struct PgStore::Impl {
    PgStoreOptions options;
    std::vector<std::unique_ptr<pqxx::connection>> conns;
    std::vector<std::size_t> idle; ///< free slots of `conns`
    std::mutex pool_mu;
    std::condition_variable pool_cv;

    mutable std::mutex defs_mu;
    std::shared_ptr<const Definitions> defs;

    mutable std::mutex error_mu;
    std::string last_error;

    std::shared_ptr<const Definitions> definitions() const {
        std::lock_guard lock(defs_mu);
        return defs;
    }

    void note_error(std::string e) {
        std::lock_guard lock(error_mu);
        last_error = std::move(e);
    }

    std::size_t acquire() {
        std::unique_lock lock(pool_mu);
        pool_cv.wait(lock, [&] { return !idle.empty(); });
        const std::size_t slot = idle.back();
        idle.pop_back();
        return slot;
    }

    void release(std::size_t slot, bool broken) {
        if (broken) {
            conns[slot].reset(); // reopened on next use
        }
        {
            std::lock_guard lock(pool_mu);
            idle.push_back(slot);
        }
        pool_cv.notify_one();
    }

    pqxx::connection& connection(std::size_t slot) {
        if (!conns[slot]) {
            auto c = std::make_unique<pqxx::connection>(options.url);
            {
                pqxx::nontransaction tx(*c);
                if (!options.schema.empty()) {
                    tx.exec("SET search_path TO " + tx.quote_name(options.schema));
                }
            }
            for (const Statement& s : statements) {
                c->prepare(s.name, s.sql);
            }
            conns[slot] = std::move(c);
        }
        return *conns[slot];
    }

    /// Runs `f(connection)`, mapping database failures to errors; a broken connection is dropped
    /// and the call retried once on a fresh one (unless the commit was in flight).
    template <class F>
    auto run(F&& f) -> Result<decltype(f(std::declval<pqxx::connection&>()))> {
        for (int attempt = 0;; ++attempt) {
            const std::size_t slot = acquire();
            bool broken = false;
            try {
                auto value = f(connection(slot));
                release(slot, false);
                return value;
            } catch (const Refused& r) {
                release(slot, false);
                return r.error;
            } catch (const pqxx::in_doubt_error& e) {
                release(slot, true);
                return store_error(ErrorCode::StoreUnavailable,
                                   fmt::format("the connection was lost during a commit, which may "
                                               "or may not have been applied: {}",
                                               e.what()));
            } catch (const pqxx::broken_connection& e) {
                broken = true;
                release(slot, true);
                if (attempt >= 1) {
                    return store_error(ErrorCode::StoreUnavailable,
                                       fmt::format("the database is unreachable: {}", e.what()));
                }
            } catch (const pqxx::transaction_rollback& e) {
                // serialization failure, deadlock: the caller may retry
                release(slot, false);
                return store_error(ErrorCode::Conflict, e.what());
            } catch (const pqxx::unique_violation& e) {
                release(slot, false);
                const std::string_view w = e.what();
                if (w.find("unique_keys") != std::string_view::npos) {
                    return store_error(ErrorCode::NotUnique, "a unique value is already taken");
                }
                if (w.find("records_pkey") != std::string_view::npos ||
                    w.find("definitions_pkey") != std::string_view::npos) {
                    return store_error(ErrorCode::Conflict, w);
                }
                return store_error(ErrorCode::Constraint, w);
            } catch (const pqxx::integrity_constraint_violation& e) {
                release(slot, false);
                return store_error(ErrorCode::Constraint, e.what());
            } catch (const pqxx::sql_error& e) {
                // a statement that is refused on a live connection; a connection that went away
                // without libpq noticing comes back as "terminating connection" (57P01).
                const std::string state = e.sqlstate();
                broken = state.rfind("57P", 0) == 0 || state.rfind("08", 0) == 0;
                release(slot, broken);
                if (!broken) {
                    return store_error(ErrorCode::Internal, e.what());
                }
                if (attempt >= 1) {
                    return store_error(ErrorCode::StoreUnavailable, e.what());
                }
            } catch (const std::exception& e) {
                release(slot, true);
                return store_error(ErrorCode::Internal, e.what());
            }
            (void)broken;
        }
    }

    /// Runs a read; a failure is remembered and `fallback` returned.
    template <class T, class F>
    T read(F&& f, T fallback) const {
        auto r = const_cast<Impl*>(this)->run(std::forward<F>(f));
        if (!r) {
            const_cast<Impl*>(this)->note_error(r.error().to_string());
            return fallback;
        }
        return std::move(r.value());
    }

    // Row decoding.
    static bool decode_record(const Definitions& d, RecordId id, const pqxx::row& row,
                              Record& out);
    static Timer decode_timer(const Definitions& d, const pqxx::row& row);
    static HistoryEntry decode_history(const Definitions& d, const pqxx::row& row);
    static OutboxRow decode_outbox(const Definitions& d, const pqxx::row& row);

    static Status apply(pqxx::work& tx, const Definitions& d, const ChangeSet& cs);

    // Publish notices (LISTEN on a dedicated connection, outside the pool).
    struct Receiver;
    std::mutex listen_mu;
    std::unique_ptr<pqxx::connection> listen_conn;
    std::unique_ptr<Receiver> receiver;
    bool noticed = false;

    /// "<schema>:<version>": listeners of other schemas on the same database ignore it.
    std::string publish_payload(std::int64_t version) const {
        return fmt::format("{}:{}", options.schema.empty() ? "public" : options.schema, version);
    }
    void close_listener();
    ~Impl();

    /// Whether a change set can be group-committed (`commit_batch`): at most one record
    /// update, no cursors, unique keys, fired timers or definitions.
    static bool fits_one_statement(const Definitions& d, const ChangeSet& cs);

    /// A commit waiting in the group-commit queue.
    struct Pending {
        const Definitions* d = nullptr;
        const ChangeSet* cs = nullptr;
        bool done = false;
        bool applied = false;      ///< its rows are in (else: `error`, or a lost race to explain)
        std::optional<Error> error;
        std::condition_variable wake; ///< its batch is done, or it is first in line to lead
    };
    std::mutex batch_mu;
    std::vector<Pending*> batch_queue;
    int batch_leaders = 0; ///< batches in flight (at most `options.commit_batches`)

    /// Group commit: queues the change set; a committer that finds fewer than
    /// `options.commit_batches` batches in flight leads one, committing everything queued as one
    /// statement, while later ones queue for the next (PostgreSQL flushes the WAL of batches in
    /// flight together).
    Status commit_grouped(const Definitions& d, const ChangeSet& cs);
    /// Commits a batch with one statement; on an error, each change set alone (exact errors).
    void run_batch(const std::vector<Pending*>& batch);
    /// Commits one such change set with one autocommit statement (`fast`; a batch of one).
    static Status apply_one_statement(pqxx::connection& c, const Definitions& d,
                                      const ChangeSet& cs);
    /// Why an unapplied change set was refused: its update's record moved or is gone.
    Status explain_refusal(const ChangeSet& cs, std::int64_t defs_version);
};

struct PgStore::Impl::Receiver final : pqxx::notification_receiver {
    Receiver(pqxx::connection_base& c, Impl& impl)
        : pqxx::notification_receiver(c, std::string(publish_channel)), owner(impl),
          prefix((impl.options.schema.empty() ? std::string("public") : impl.options.schema) +
                 ":") {}
    void operator()(const std::string& payload, int) override {
        if (payload.rfind(prefix, 0) == 0) {
            owner.noticed = true;
        }
    }
    Impl& owner;
    std::string prefix;
};

void PgStore::Impl::close_listener() {
    receiver.reset(); // before its connection
    listen_conn.reset();
}

PgStore::Impl::~Impl() { close_listener(); }

bool PgStore::Impl::fits_one_statement(const Definitions& d, const ChangeSet& cs) {
    if (cs.writes.empty() || !cs.cursors.empty() || !cs.claims.empty() ||
        !cs.releases.empty() || !cs.timers_done.empty() || cs.publish) {
        return false;
    }
    int updates = 0;
    for (const RecordWrite& w : cs.writes) {
        if (w.record.module >= d.modules.size()) {
            return false; // the general path reports it
        }
        updates += w.expected_version != 0 ? 1 : 0;
    }
    return updates <= 1;
}

namespace {

// Rows as parallel arrays, the unnest parameters of the one-statement and group commits; `b`
// tags each row with its change set's index in a group commit.

std::string state_of(const Definitions& d, const Record& r) {
    const BlueprintDef* bp = d.blueprint_of(r.module);
    return bp != nullptr && bp->field < r.fields.size() ? r.fields[bp->field].s : std::string();
}

/// Records: new ones, or updates with the version they expect and the writer's definitions
/// version (a newer published version refuses the update).
struct RecordColumns {
    std::vector<int> b;
    std::vector<std::int64_t> id, expected, defs, version, created, updated, state_version,
        entered;
    std::vector<std::string> module, owner, created_by, requester, assignee, state, parallel,
        fields;
    std::vector<bool> governed, deleted;

    void add(const Definitions& d, const RecordWrite& w, int tag) {
        const Record& r = w.record;
        b.push_back(tag);
        id.push_back(r.id);
        expected.push_back(w.expected_version);
        defs.push_back(d.version);
        module.push_back(d.modules[r.module].name);
        version.push_back(r.version);
        owner.push_back(codec::user_key(d, r.owner));
        created_by.push_back(codec::user_key(d, r.created_by));
        requester.push_back(codec::user_key(d, r.requester));
        assignee.push_back(codec::user_key(d, r.assignee));
        created.push_back(r.created_at);
        updated.push_back(r.updated_at);
        governed.push_back(r.governed);
        deleted.push_back(r.deleted);
        state.push_back(state_of(d, r));
        state_version.push_back(r.state_version);
        entered.push_back(r.state_entered_at);
        codec::encode_parallel(parallel.emplace_back(), d, r);
        codec::encode_fields(fields.emplace_back(), d, r);
    }
};

struct HistoryColumns {
    std::vector<int> b;
    std::vector<std::int64_t> record, at, version;
    std::vector<std::string> module, kind, name, from, to, by, note, reason, changes, checklist;

    void add(const Definitions& d, const HistoryEntry& h, int tag) {
        if (h.module >= d.modules.size()) {
            return;
        }
        b.push_back(tag);
        record.push_back(h.record);
        module.push_back(d.modules[h.module].name);
        kind.emplace_back(history_kind_name(h.kind));
        name.push_back(h.name);
        from.push_back(codec::state_text(d, h.module, h.from));
        to.push_back(codec::state_text(d, h.module, h.to));
        by.push_back(codec::user_key(d, h.by));
        at.push_back(h.at);
        version.push_back(h.version);
        note.push_back(h.note);
        reason.push_back(h.reason);
        codec::encode_changes(changes.emplace_back(), d, h);
        codec::encode_strings(checklist.emplace_back(), h.checklist);
    }
};

struct OutboxColumns {
    std::vector<int> b, kind, status, attempts;
    std::vector<std::int64_t> record, created;
    std::vector<std::string> module, user, text, url, payload, error;

    void add(const Definitions& d, const OutboxRow& o, int tag) {
        b.push_back(tag);
        kind.push_back(o.kind == OutboxKind::Notification ? 0 : 1);
        record.push_back(o.record);
        module.push_back(o.module < d.modules.size() ? d.modules[o.module].name : std::string());
        user.push_back(codec::user_key(d, o.user));
        text.push_back(o.text);
        url.push_back(o.url);
        payload.push_back(o.payload);
        created.push_back(o.created_at);
        status.push_back(static_cast<int>(o.status));
        attempts.push_back(o.attempts);
        error.push_back(o.last_error);
    }
};

struct TimerColumns {
    std::vector<int> b, kind;
    std::vector<std::int64_t> record, ordinal, due, state;
    std::vector<std::string> blueprint, what;

    void add(const Definitions& d, const Timer& t, int tag) {
        const codec::TimerName n = codec::timer_name(d, t);
        b.push_back(tag);
        record.push_back(t.record);
        blueprint.push_back(n.blueprint);
        kind.push_back(t.kind == TimerKind::Transition ? 0 : 1);
        what.push_back(n.what);
        ordinal.push_back(n.ordinal);
        due.push_back(t.due);
        state.push_back(t.state_version);
    }
};

/// Runs a commit statement: a connection lost once the statement is sent leaves its outcome
/// unknown (`in_doubt_error`: it commits on its own). A connection the server closed while it sat
/// in the pool shows before anything is sent (no round trip): that one is retried on a fresh
/// connection by `run`.
template <class F>
pqxx::result exec_commit(pqxx::connection& c, F&& statement) {
    c.get_notifs();
    pqxx::nontransaction tx(c);
    try {
        return statement(tx);
    } catch (const pqxx::broken_connection& e) {
        throw pqxx::in_doubt_error(e.what());
    } catch (const pqxx::sql_error& e) {
        const std::string code = e.sqlstate();
        if (code.rfind("57P", 0) == 0 || code.rfind("08", 0) == 0) {
            throw pqxx::in_doubt_error(e.what());
        }
        throw;
    }
}

} // namespace

Status PgStore::Impl::apply_one_statement(pqxx::connection& c, const Definitions& d,
                                          const ChangeSet& cs) {
    // The update (at most one) as values, the rest as columns.
    static const RecordWrite none;
    const RecordWrite* update = &none;
    RecordColumns n;
    for (const RecordWrite& w : cs.writes) {
        if (w.expected_version != 0) {
            update = &w;
        } else {
            n.add(d, w, 0);
        }
    }
    const RecordWrite& w = *update;
    const Record& r = w.record;
    std::string fields = "{}";
    std::string parallel = "[]";
    std::string state;
    std::string module;
    if (w.expected_version != 0) {
        fields.clear();
        parallel.clear();
        codec::encode_fields(fields, d, r);
        codec::encode_parallel(parallel, d, r);
        state = state_of(d, r);
        module = d.modules[r.module].name;
    }
    HistoryColumns h;
    for (const HistoryEntry& e : cs.history) {
        h.add(d, e, 0);
    }
    OutboxColumns o;
    for (const OutboxRow& row : cs.outbox) {
        o.add(d, row, 0);
    }
    TimerColumns t;
    for (const Timer& timer : cs.timers_add) {
        t.add(d, timer, 0);
    }
    const pqxx::result res = exec_commit(c, [&](pqxx::nontransaction& tx) {
        return tx.exec_prepared(
            "fast", r.id, w.expected_version, module, r.version, codec::user_key(d, r.owner),
            codec::user_key(d, r.created_by), codec::user_key(d, r.requester),
            codec::user_key(d, r.assignee), r.created_at, r.updated_at, r.governed, r.deleted,
            state, r.state_version, r.state_entered_at, parallel, fields, int_array(h.record),
            text_array(h.module), text_array(h.kind), text_array(h.name), text_array(h.from),
            text_array(h.to), text_array(h.by), int_array(h.at), int_array(h.version),
            text_array(h.note), text_array(h.reason), text_array(h.changes),
            text_array(h.checklist), int_array(o.kind), int_array(o.record), text_array(o.module),
            text_array(o.user), text_array(o.text), text_array(o.url), text_array(o.payload),
            int_array(o.created), int_array(o.status), int_array(o.attempts),
            text_array(o.error), int_array(cs.timers_cancel), int_array(t.record),
            text_array(t.blueprint), int_array(t.kind), text_array(t.what), int_array(t.ordinal),
            int_array(t.due), int_array(t.state), int_array(n.id), text_array(n.module),
            int_array(n.version), text_array(n.owner), text_array(n.created_by),
            text_array(n.requester), text_array(n.assignee), int_array(n.created),
            int_array(n.updated), bool_array(n.governed), bool_array(n.deleted),
            text_array(n.state), int_array(n.state_version), int_array(n.entered),
            text_array(n.parallel), text_array(n.fields), d.version);
    });
    if (res[0][0].as<bool>()) {
        return Ok{};
    }
    pqxx::nontransaction tx(c);
    const pqxx::result now = tx.exec_prepared("rec_version", r.id);
    if (now.empty() || now[0][1].as<bool>()) {
        return make_error(ErrorCode::NotFound, fmt::format("no record {}", r.id));
    }
    return version_conflict(r.id, now[0][0].as<std::int64_t>(), w.expected_version, d.version);
}

namespace {

// The `commit_batch` parameters: the rows of every change set, tagged with its index.
struct BatchColumns {
    RecordColumns u;            ///< updates
    std::vector<int> no_update; ///< change sets without an update (always applied)
    RecordColumns n;            ///< new records
    HistoryColumns h;
    OutboxColumns o;
    std::vector<int> c_b;       ///< timers cancelled
    std::vector<std::int64_t> c_record;
    TimerColumns t;

    void add(const Definitions& d, const ChangeSet& cs, int b) {
        bool updates = false;
        for (const RecordWrite& w : cs.writes) {
            if (w.expected_version != 0) {
                updates = true;
                u.add(d, w, b);
            } else {
                n.add(d, w, b);
            }
        }
        if (!updates) {
            no_update.push_back(b);
        }
        for (const HistoryEntry& e : cs.history) {
            h.add(d, e, b);
        }
        for (const OutboxRow& row : cs.outbox) {
            o.add(d, row, b);
        }
        for (RecordId r : cs.timers_cancel) {
            c_b.push_back(b);
            c_record.push_back(r);
        }
        for (const Timer& timer : cs.timers_add) {
            t.add(d, timer, b);
        }
    }

    pqxx::result exec(pqxx::transaction_base& tx) const {
        return tx.exec_prepared(
            "commit_batch", int_array(u.b), int_array(u.id), int_array(u.expected),
            text_array(u.module), int_array(u.version), text_array(u.owner),
            text_array(u.created_by), text_array(u.requester), text_array(u.assignee),
            int_array(u.created), int_array(u.updated), bool_array(u.governed),
            bool_array(u.deleted), text_array(u.state), int_array(u.state_version),
            int_array(u.entered), text_array(u.parallel), text_array(u.fields),
            int_array(no_update), int_array(n.b), int_array(n.id), text_array(n.module),
            int_array(n.version), text_array(n.owner), text_array(n.created_by),
            text_array(n.requester), text_array(n.assignee), int_array(n.created),
            int_array(n.updated), bool_array(n.governed), bool_array(n.deleted),
            text_array(n.state), int_array(n.state_version), int_array(n.entered),
            text_array(n.parallel), text_array(n.fields), int_array(h.b), int_array(h.record),
            text_array(h.module), text_array(h.kind), text_array(h.name), text_array(h.from),
            text_array(h.to), text_array(h.by), int_array(h.at), int_array(h.version),
            text_array(h.note), text_array(h.reason), text_array(h.changes),
            text_array(h.checklist), int_array(o.b), int_array(o.kind), int_array(o.record),
            text_array(o.module), text_array(o.user), text_array(o.text), text_array(o.url),
            text_array(o.payload), int_array(o.created), int_array(o.status),
            int_array(o.attempts), text_array(o.error), int_array(c_b), int_array(c_record),
            int_array(t.b), int_array(t.record), text_array(t.blueprint), int_array(t.kind),
            text_array(t.what), int_array(t.ordinal), int_array(t.due), int_array(t.state),
            int_array(u.defs));
    }
};

} // namespace

Status PgStore::Impl::commit_grouped(const Definitions& d, const ChangeSet& cs) {
    Pending me;
    me.d = &d;
    me.cs = &cs;
    std::unique_lock lock(batch_mu);
    batch_queue.push_back(&me);
    const int most_leaders = static_cast<int>(std::max<std::size_t>(options.commit_batches, 1));
    // Only the committer first in line leads (when fewer than `most_leaders` batches are in
    // flight); the others sleep until their batch is done or they come first. Each is woken on
    // its own condition variable: no thundering herd of every waiting committer.
    const auto wake_next_leader = [&] {
        if (batch_leaders < most_leaders && !batch_queue.empty()) {
            batch_queue.front()->wake.notify_one();
        }
    };
    while (!me.done) {
        if (batch_leaders >= most_leaders || batch_queue.empty() || batch_queue.front() != &me) {
            me.wake.wait(lock);
            continue;
        }
        // Lead: take what is queued (this commit first), commit it, hand out the answers.
        ++batch_leaders;
        constexpr std::size_t most = 64;
        std::vector<Pending*> batch;
        const std::size_t n = std::min(most, batch_queue.size());
        batch.assign(batch_queue.begin(), batch_queue.begin() + static_cast<std::ptrdiff_t>(n));
        batch_queue.erase(batch_queue.begin(), batch_queue.begin() + static_cast<std::ptrdiff_t>(n));
        wake_next_leader(); // another batch may go in flight beside this one
        lock.unlock();
        run_batch(batch);
        lock.lock();
        --batch_leaders;
        for (Pending* p : batch) {
            p->done = true;
            if (p != &me) {
                p->wake.notify_one();
            }
        }
        wake_next_leader();
    }
    lock.unlock();
    if (me.applied) {
        return Ok{};
    }
    if (me.error) {
        return std::move(*me.error);
    }
    return explain_refusal(cs, d.version);
}

void PgStore::Impl::run_batch(const std::vector<Pending*>& batch) {
    if (batch.size() == 1) {
        // Alone: the single-change-set statement (cheaper to plan than the batch's join).
        Pending& p = *batch[0];
        auto r = run([&](pqxx::connection& c) -> Ok {
            Status st = apply_one_statement(c, *p.d, *p.cs);
            if (!st) {
                throw Refused{std::move(st.error())};
            }
            return Ok{};
        });
        if (r) {
            p.applied = true;
        } else {
            p.error = std::move(r.error());
        }
        return;
    }
    auto r = run([&](pqxx::connection& c) -> std::vector<int> {
        BatchColumns cols;
        for (std::size_t k = 0; k < batch.size(); ++k) {
            cols.add(*batch[k]->d, *batch[k]->cs, static_cast<int>(k));
        }
        const pqxx::result res =
            exec_commit(c, [&](pqxx::nontransaction& tx) { return cols.exec(tx); });
        std::vector<int> applied;
        for (const auto& row : res) {
            applied.push_back(row[0].as<int>());
        }
        return applied;
    });
    if (r) {
        for (int b : *r) {
            if (b >= 0 && static_cast<std::size_t>(b) < batch.size()) {
                batch[static_cast<std::size_t>(b)]->applied = true;
            }
        }
        return;
    }
    if (batch.size() == 1 || r.error().code == ErrorCode::StoreUnavailable) {
        // Alone already, or the database is unreachable / the outcome unknown: for everyone.
        for (Pending* p : batch) {
            p->error = r.error();
        }
        return;
    }
    // One change set failed the statement (a duplicate id, a constraint, a deadlock with
    // another node): each alone, so that each gets its own answer.
    for (Pending* p : batch) {
        run_batch({p});
    }
}

Status PgStore::Impl::explain_refusal(const ChangeSet& cs, std::int64_t defs_version) {
    for (const RecordWrite& w : cs.writes) {
        if (w.expected_version == 0) {
            continue;
        }
        const RecordId id = w.record.id;
        const std::int64_t expected = w.expected_version;
        // The record's version now, or -1 when it is gone.
        auto r = run([&](pqxx::connection& c) -> std::int64_t {
            pqxx::nontransaction tx(c);
            const pqxx::result now = tx.exec_prepared("rec_version", id);
            if (now.empty() || now[0][1].as<bool>()) {
                return -1;
            }
            return now[0][0].as<std::int64_t>();
        });
        if (!r) {
            return std::move(r.error());
        }
        if (*r < 0) {
            return make_error(ErrorCode::NotFound, fmt::format("no record {}", id));
        }
        return version_conflict(id, *r, expected, defs_version);
    }
    return make_error(ErrorCode::Conflict, "the change set was not applied");
}

bool PgStore::Impl::decode_record(const Definitions& d, RecordId id, const pqxx::row& row,
                                  Record& out) {
    // module, version, owner, created_by, requester, assignee, created_at, updated_at, governed,
    // deleted, state_version, state_entered_at, parallel_done, fields
    const std::uint32_t module = d.find_module(text_of(row[0]));
    if (module == npos32) {
        return false;
    }
    out.id = id;
    out.module = module;
    out.version = row[1].as<std::int64_t>();
    out.owner = codec::user_of(d, text_of(row[2]));
    out.created_by = codec::user_of(d, text_of(row[3]));
    out.requester = codec::user_of(d, text_of(row[4]));
    out.assignee = codec::user_of(d, text_of(row[5]));
    out.created_at = row[6].as<std::int64_t>();
    out.updated_at = row[7].as<std::int64_t>();
    out.governed = row[8].as<bool>();
    out.deleted = row[9].as<bool>();
    out.state_version = row[10].as<std::int64_t>();
    out.state_entered_at = row[11].as<std::int64_t>();
    out.parallel_done = codec::decode_parallel(d, module, text_of(row[12]));
    codec::decode_fields(d, text_of(row[13]), out);
    return true;
}

Timer PgStore::Impl::decode_timer(const Definitions& d, const pqxx::row& row) {
    // id, record, blueprint, kind, what, ordinal, due, state_version
    Timer t;
    t.id = row[0].as<std::int64_t>();
    t.record = row[1].as<std::int64_t>();
    t.kind = row[3].as<int>() == 0 ? TimerKind::Transition : TimerKind::Sla;
    t.due = row[6].as<std::int64_t>();
    t.state_version = row[7].as<std::int64_t>();
    const codec::TimerName n{row[2].c_str(), row[4].c_str(), row[5].as<std::int64_t>()};
    if (!codec::timer_of(d, n, t)) {
        t.blueprint = npos32; // what it fires is gone: the engine drops it
    }
    return t;
}

HistoryEntry PgStore::Impl::decode_history(const Definitions& d, const pqxx::row& row) {
    // id, record, module, kind, name, from_state, to_state, by_user, at, version, note, reason,
    // changes, checklist
    HistoryEntry h;
    h.id = row[0].as<std::int64_t>();
    h.record = row[1].as<std::int64_t>();
    const std::uint32_t module = d.find_module(text_of(row[2]));
    h.kind = history_kind_of(text_of(row[3]));
    h.name = row[4].c_str();
    h.by = codec::user_of(d, text_of(row[7]));
    h.at = row[8].as<std::int64_t>();
    h.version = row[9].as<std::int64_t>();
    h.note = row[10].c_str();
    h.reason = row[11].c_str();
    h.checklist = codec::decode_strings(text_of(row[13]));
    if (module != npos32) {
        h.module = module;
        h.from = codec::state_of(d, module, text_of(row[5]));
        h.to = codec::state_of(d, module, text_of(row[6]));
        codec::decode_changes(d, text_of(row[12]), h);
    }
    return h;
}

OutboxRow PgStore::Impl::decode_outbox(const Definitions& d, const pqxx::row& row) {
    // id, kind, record, module, recipient, text, url, payload, created_at, status, attempts,
    // last_error
    OutboxRow o;
    o.id = row[0].as<std::int64_t>();
    o.kind = row[1].as<int>() == 0 ? OutboxKind::Notification : OutboxKind::Webhook;
    o.record = row[2].as<std::int64_t>();
    const std::uint32_t module = d.find_module(text_of(row[3]));
    o.module = module == npos32 ? 0 : module;
    o.user = codec::user_of(d, text_of(row[4]));
    o.text = row[5].c_str();
    o.url = row[6].c_str();
    o.payload = row[7].c_str();
    o.created_at = row[8].as<std::int64_t>();
    o.status = static_cast<OutboxStatus>(row[9].as<int>());
    o.attempts = row[10].as<int>();
    o.last_error = row[11].c_str();
    return o;
}

Status PgStore::Impl::apply(pqxx::work& tx, const Definitions& d, const ChangeSet& cs) {
    const auto module_name = [&](std::uint32_t m) -> std::string {
        return m < d.modules.size() ? d.modules[m].name : std::string();
    };
    // Records first, in id order (two commits touching the same records lock them in the same
    // order); a version that moved meanwhile is a conflict, never a lost update.
    std::vector<const RecordWrite*> writes;
    writes.reserve(cs.writes.size());
    for (const RecordWrite& w : cs.writes) {
        writes.push_back(&w);
    }
    std::sort(writes.begin(), writes.end(), [](const RecordWrite* a, const RecordWrite* b) {
        return a->record.id < b->record.id;
    });
    std::string fields;
    std::string parallel;
    for (const RecordWrite* w : writes) {
        const Record& r = w->record;
        if (r.module >= d.modules.size()) {
            return make_error(ErrorCode::Internal,
                              fmt::format("record {} of an unknown module", r.id));
        }
        fields.clear();
        parallel.clear();
        codec::encode_fields(fields, d, r);
        codec::encode_parallel(parallel, d, r);
        std::string state;
        if (const BlueprintDef* bp = d.blueprint_of(r.module);
            bp != nullptr && bp->field < r.fields.size()) {
            state = r.fields[bp->field].s;
        }
        const std::string& module = d.modules[r.module].name;
        if (w->expected_version == 0) {
            const pqxx::result res = tx.exec_prepared(
                "rec_ins", r.id, module, r.version, codec::user_key(d, r.owner),
                codec::user_key(d, r.created_by), codec::user_key(d, r.requester),
                codec::user_key(d, r.assignee), r.created_at, r.updated_at, r.governed, r.deleted,
                state, r.state_version, r.state_entered_at, parallel, fields);
            if (res.affected_rows() == 0) {
                return make_error(ErrorCode::Conflict,
                                  fmt::format("record {} already exists", r.id));
            }
            continue;
        }
        const pqxx::result res = tx.exec_prepared(
            "rec_upd", r.id, w->expected_version, module, r.version, codec::user_key(d, r.owner),
            codec::user_key(d, r.created_by), codec::user_key(d, r.requester),
            codec::user_key(d, r.assignee), r.created_at, r.updated_at, r.governed, r.deleted,
            state, r.state_version, r.state_entered_at, parallel, fields, d.version);
        if (res.affected_rows() == 0) {
            const pqxx::result now = tx.exec_prepared("rec_version", r.id);
            if (now.empty() || now[0][1].as<bool>()) {
                return make_error(ErrorCode::NotFound, fmt::format("no record {}", r.id));
            }
            return version_conflict(r.id, now[0][0].as<std::int64_t>(), w->expected_version,
                                    d.version);
        }
    }
    for (const CursorUpdate& c : cs.cursors) {
        const pqxx::result res = c.expected == 0
                                     ? tx.exec_prepared("cur_first", c.key, c.value)
                                     : tx.exec_prepared("cur_move", c.key, c.expected, c.value);
        if (res.affected_rows() == 0) {
            return make_error(ErrorCode::Conflict, fmt::format("cursor {} moved", c.key));
        }
    }
    // Done timers before cancelled ones: a fired timer is cancelled with its record's others.
    std::vector<std::int64_t> done = cs.timers_done;
    std::sort(done.begin(), done.end());
    done.erase(std::unique(done.begin(), done.end()), done.end());
    for (std::int64_t id : done) {
        if (tx.exec_prepared("tm_done", id).affected_rows() == 0) {
            return make_error(ErrorCode::Conflict,
                              fmt::format("timer {} is no longer pending", id));
        }
    }
    for (const UniqueKey& k : cs.releases) {
        tx.exec_prepared("uq_release", module_name(k.module), field_name(d, k.module, k.field),
                         k.key, k.record);
    }
    for (const UniqueKey& k : cs.claims) {
        const std::string field = field_name(d, k.module, k.field);
        if (tx.exec_prepared("uq_claim", module_name(k.module), field, k.key, k.record)
                .affected_rows() == 0) {
            return make_error(ErrorCode::NotUnique, fmt::format("\"{}\" is already taken", k.key));
        }
    }
    if (cs.publish) {
        const DefinitionsVersion& v = *cs.publish;
        if (tx.exec_prepared("def_ins", v.version, v.published_by, v.published_at, v.summary)
                .affected_rows() == 0) {
            return make_error(ErrorCode::Conflict,
                              fmt::format("version {} is not the next definitions version",
                                          v.version));
        }
        for (std::size_t k = 0; k < v.files.size(); ++k) {
            tx.exec_prepared("def_file_ins", v.version, static_cast<int>(k), v.files[k].first,
                             v.files[k].second);
        }
    }
    std::string changes;
    std::string checklist;
    for (const HistoryEntry& h : cs.history) {
        if (h.module >= d.modules.size()) {
            continue;
        }
        changes.clear();
        checklist.clear();
        codec::encode_changes(changes, d, h);
        codec::encode_strings(checklist, h.checklist);
        tx.exec_prepared("hist_ins", h.record, d.modules[h.module].name,
                         std::string(history_kind_name(h.kind)), h.name,
                         codec::state_text(d, h.module, h.from),
                         codec::state_text(d, h.module, h.to), codec::user_key(d, h.by), h.at,
                         h.version, h.note, h.reason, changes, checklist);
    }
    for (const OutboxRow& o : cs.outbox) {
        tx.exec_prepared("out_ins", o.kind == OutboxKind::Notification ? 0 : 1, o.record,
                         module_name(o.module), codec::user_key(d, o.user), o.text, o.url,
                         o.payload, o.created_at, static_cast<int>(o.status), o.attempts,
                         o.last_error);
    }
    for (RecordId r : cs.timers_cancel) {
        tx.exec_prepared("tm_cancel", r);
    }
    for (const Timer& t : cs.timers_add) {
        const codec::TimerName n = codec::timer_name(d, t);
        tx.exec_prepared("tm_add", t.record, n.blueprint, t.kind == TimerKind::Transition ? 0 : 1,
                         n.what, n.ordinal, t.due, t.state_version);
    }
    return Ok{};
}

// --- PgStore ---------------------------------------------------------------------------------

PgStore::PgStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

PgStore::~PgStore() = default;

int PgStore::schema_version() { return migration_count; }

bool is_pg_url(std::string_view url) {
    return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

Result<std::unique_ptr<PgStore>> PgStore::open(PgStoreOptions options) {
    if (!is_pg_url(options.url)) {
        return make_error(ErrorCode::Invalid,
                          fmt::format("\"{}\" is not a postgresql:// URL", options.url));
    }
    auto impl = std::make_unique<Impl>();
    impl->options = std::move(options);
    const std::size_t n = std::max<std::size_t>(impl->options.pool_size, 1);
    impl->conns.resize(n);
    for (std::size_t k = n; k-- > 0;) {
        impl->idle.push_back(k);
    }
    const std::string schema = impl->options.schema;
    auto migrated = impl->run([&](pqxx::connection& c) -> int {
        pqxx::work tx(c);
        // Several nodes may start at once: one migrates, the others wait and then find it done.
        tx.exec_params("SELECT pg_advisory_xact_lock(7423501, hashtext($1))",
                       schema.empty() ? std::string("public") : schema);
        if (!schema.empty()) {
            tx.exec("CREATE SCHEMA IF NOT EXISTS " + tx.quote_name(schema));
        }
        tx.exec("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)");
        const pqxx::result cur = tx.exec("SELECT version FROM schema_version");
        int at = 0;
        if (cur.empty()) {
            tx.exec("INSERT INTO schema_version (version) VALUES (0)");
        } else {
            at = cur[0][0].as<int>();
        }
        if (at > migration_count) {
            throw Refused{make_error(ErrorCode::Invalid,
                                     fmt::format("the database schema is version {}, newer than "
                                                 "this build's {}",
                                                 at, migration_count))};
        }
        for (int k = at; k < migration_count; ++k) {
            tx.exec(migrations[k]);
        }
        tx.exec("UPDATE schema_version SET version = " + std::to_string(migration_count));
        tx.commit();
        return migration_count;
    });
    if (!migrated) {
        return migrated.error();
    }
    return std::unique_ptr<PgStore>(new PgStore(std::move(impl)));
}

void PgStore::bind(std::shared_ptr<const Definitions> defs) {
    std::lock_guard lock(impl_->defs_mu);
    impl_->defs = std::move(defs);
}

std::optional<DefinitionsVersion> PgStore::latest_definitions() const {
    return impl_->read<std::optional<DefinitionsVersion>>(
        [&](pqxx::connection& c) -> std::optional<DefinitionsVersion> {
            pqxx::work tx(c);
            const pqxx::result r = tx.exec_prepared("def_latest");
            if (r.empty()) {
                return std::nullopt;
            }
            DefinitionsVersion v;
            v.version = r[0][0].as<std::int64_t>();
            v.published_by = r[0][1].c_str();
            v.published_at = r[0][2].as<std::int64_t>();
            v.summary = r[0][3].c_str();
            for (const auto& row : tx.exec_prepared("def_files", v.version)) {
                v.files.emplace_back(row[0].c_str(), row[1].c_str());
            }
            tx.commit();
            return v;
        },
        std::nullopt);
}

std::vector<DefinitionsVersion> PgStore::definitions_versions() const {
    return definitions_versions_page(0, std::numeric_limits<std::size_t>::max());
}

std::vector<RecordId> PgStore::list_where(std::uint32_t module,
                                          const std::vector<FieldFilter>& filters, RecordId after,
                                          std::size_t limit) const {
    const auto d = impl_->definitions();
    if (!d || module >= d->modules.size()) {
        return {};
    }
    return impl_->read<std::vector<RecordId>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            // Values go as parameters: $1 the module, then one per filter.
            std::vector<std::string> params{d->modules[module].name};
            const auto param = [&](std::string v) {
                params.push_back(std::move(v));
                return fmt::format("${}", params.size());
            };
            std::string sql = fmt::format(
                "SELECT id FROM records WHERE module = $1 AND id > {} AND NOT deleted", after);
            for (const FieldFilter& f : filters) {
                const std::string name = field_name(*d, module, f.field);
                if (name.empty()) {
                    sql += " AND false";
                    continue;
                }
                if ((f.field & builtin_field) != 0) {
                    const std::string u = f.value.kind == ValueKind::User
                                              ? codec::user_key(*d, static_cast<UserId>(f.value.i))
                                              : std::string();
                    sql += fmt::format(" AND {} = {}", name, param(u));
                    continue;
                }
                if (f.value.empty()) {
                    sql += fmt::format(" AND NOT (fields ? {})", param(name));
                    continue;
                }
                std::string obj = "{";
                append_json_string(obj, name);
                obj += ':';
                codec::append_cell(obj, *d, f.value);
                obj += '}';
                sql += fmt::format(" AND fields @> {}::jsonb", param(obj));
            }
            sql += fmt::format(" ORDER BY id LIMIT {}",
                               std::min<std::size_t>(limit, static_cast<std::size_t>(INT64_MAX)));
            std::vector<RecordId> out;
            const pqxx::result r =
                tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
            for (const auto& row : r) {
                out.push_back(row[0].as<std::int64_t>());
            }
            return out;
        },
        {});
}

bool PgStore::read_record(RecordId id, Record& out) const {
    const auto d = impl_->definitions();
    if (!d) {
        return false;
    }
    return impl_->read<bool>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            const pqxx::result r = tx.exec_prepared("rec_get", id);
            return !r.empty() && impl_->decode_record(*d, id, r[0], out);
        },
        false);
}

RecordId PgStore::allocate_id() {
    return impl_->read<RecordId>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec_prepared("rec_next")[0][0].as<std::int64_t>();
        },
        0);
}

Status PgStore::commit(const ChangeSet& changes) {
    std::shared_ptr<const Definitions> d = changes.publish_defs;
    if (!d) {
        d = impl_->definitions();
    }
    if (!d) {
        return make_error(ErrorCode::Internal, "no definitions are bound to the store");
    }
    if (impl_->options.commit_batches > 0 && Impl::fits_one_statement(*d, changes)) {
        return impl_->commit_grouped(*d, changes);
    }
    auto r = impl_->run([&](pqxx::connection& c) -> Ok {
        pqxx::work tx(c);
        Status s = impl_->apply(tx, *d, changes);
        if (!s) {
            throw Refused{std::move(s.error())};
        }
        if (changes.publish) {
            // Delivered to the other nodes' listeners when (and only if) this commits.
            tx.exec_prepared("def_notify", std::string(publish_channel),
                             impl_->publish_payload(changes.publish->version));
        }
        tx.commit();
        return Ok{};
    });
    if (!r) {
        return r.error();
    }
    if (changes.publish_defs) {
        bind(changes.publish_defs);
    }
    return Ok{};
}

bool PgStore::unique_taken(std::uint32_t module, std::uint32_t field, std::string_view key,
                           RecordId except) const {
    const auto d = impl_->definitions();
    if (!d || module >= d->modules.size()) {
        return false;
    }
    return impl_->read<bool>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return !tx.exec_prepared("uq_taken", d->modules[module].name,
                                     field_name(*d, module, field), std::string(key), except)
                        .empty();
        },
        false);
}

std::int64_t PgStore::cursor(std::string_view key) const {
    return impl_->read<std::int64_t>(
        [&](pqxx::connection& c) -> std::int64_t {
            pqxx::nontransaction tx(c);
            const pqxx::result r = tx.exec_prepared("cur_get", std::string(key));
            return r.empty() ? 0 : r[0][0].as<std::int64_t>();
        },
        0);
}

Result<std::int64_t> PgStore::take_turn(std::string_view key) {
    // One implicit transaction (one round trip) that does not wait for its WAL flush, so the
    // cursor's row is locked for microseconds, not for an fsync. Safe: a turn only matters once
    // a commit uses it, and that commit's flush covers this earlier WAL record too.
    return impl_->run([&](pqxx::connection& c) -> std::int64_t {
        pqxx::nontransaction tx(c);
        return tx
            .exec("SET LOCAL synchronous_commit TO off; INSERT INTO cursors (key, value) VALUES (" +
                  tx.quote(std::string(key)) +
                  ", 1) ON CONFLICT (key) DO UPDATE SET value = cursors.value + 1 RETURNING "
                  "value - 1")[0][0]
            .as<std::int64_t>();
    });
}

std::int64_t PgStore::count_open_assigned(std::uint32_t module, UserId user,
                                          std::uint32_t state_field,
                                          const std::vector<std::uint8_t>& terminal) const {
    const auto d = impl_->definitions();
    if (!d || module >= d->modules.size()) {
        return 0;
    }
    const std::string who = codec::user_key(*d, user);
    if (who.empty()) {
        return 0;
    }
    std::string state_name;
    std::vector<std::string> closed;
    const ModuleDef& m = d->modules[module];
    if (state_field < m.fields.size()) {
        state_name = m.fields[state_field].name;
        const auto& values = m.fields[state_field].values;
        for (std::size_t k = 0; k < terminal.size() && k < values.size(); ++k) {
            if (terminal[k] != 0) {
                closed.push_back(values[k]);
            }
        }
    }
    return impl_->read<std::int64_t>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            const pqxx::result r =
                tx.exec_prepared("rec_open_count", m.name, who, state_name, text_array(closed));
            return r[0][0].as<std::int64_t>();
        },
        0);
}

std::optional<Timer> PgStore::next_timer() const {
    const auto d = impl_->definitions();
    if (!d) {
        return std::nullopt;
    }
    return impl_->read<std::optional<Timer>>(
        [&](pqxx::connection& c) -> std::optional<Timer> {
            pqxx::nontransaction tx(c);
            const pqxx::result r = tx.exec_prepared("tm_next");
            if (r.empty()) {
                return std::nullopt;
            }
            return impl_->decode_timer(*d, r[0]);
        },
        std::nullopt);
}

std::vector<Timer> PgStore::due_timers(std::int64_t now, std::size_t limit) const {
    const auto d = impl_->definitions();
    if (!d) {
        return {};
    }
    return impl_->read<std::vector<Timer>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            std::vector<Timer> out;
            const auto n = static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
            for (const auto& row : tx.exec_prepared("tm_due", now, n)) {
                out.push_back(impl_->decode_timer(*d, row));
            }
            return out;
        },
        {});
}

std::vector<Timer> PgStore::claim_due_timers(std::int64_t now, std::size_t limit,
                                             std::int64_t lease) {
    const auto d = impl_->definitions();
    if (!d) {
        return {};
    }
    return impl_->read<std::vector<Timer>>(
        [&](pqxx::connection& c) {
            pqxx::work tx(c);
            std::vector<Timer> out;
            const auto n = static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
            for (const auto& row : tx.exec_prepared("tm_claim", now, now + lease, n)) {
                out.push_back(impl_->decode_timer(*d, row));
            }
            tx.commit();
            std::sort(out.begin(), out.end(), [](const Timer& a, const Timer& b) {
                return a.due != b.due ? a.due < b.due : a.id < b.id;
            });
            return out;
        },
        {});
}

std::vector<Timer> PgStore::timers_of(RecordId record) const {
    const auto d = impl_->definitions();
    if (!d) {
        return {};
    }
    return impl_->read<std::vector<Timer>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            std::vector<Timer> out;
            for (const auto& row : tx.exec_prepared("tm_of", record)) {
                out.push_back(impl_->decode_timer(*d, row));
            }
            return out;
        },
        {});
}

std::int64_t PgStore::history_id_at(RecordId record, std::int64_t version) const {
    return impl_->read<std::int64_t>(
        [&](pqxx::connection& c) -> std::int64_t {
            pqxx::nontransaction tx(c);
            const pqxx::result r = tx.exec_prepared("hist_id_at", record, version);
            return r.empty() ? 0 : r[0][0].as<std::int64_t>();
        },
        0);
}

std::vector<HistoryEntry> PgStore::history(RecordId record) const {
    return history_page(record, 0, std::numeric_limits<std::size_t>::max());
}

std::vector<OutboxRow> PgStore::outbox(std::optional<OutboxStatus> status) const {
    return outbox_page(std::nullopt, status, 0, std::numeric_limits<std::size_t>::max());
}

std::vector<OutboxRow> PgStore::notifications(UserId user) const {
    return notifications_page(user, 0, std::numeric_limits<std::size_t>::max());
}

Status PgStore::mark_outbox(std::int64_t id, OutboxStatus status, std::string error) {
    auto r = impl_->run([&](pqxx::connection& c) -> bool {
        pqxx::nontransaction tx(c);
        return tx.exec_prepared("out_mark", id, static_cast<int>(status), error)
                   .affected_rows() > 0;
    });
    if (!r) {
        return r.error();
    }
    if (!*r) {
        return make_error(ErrorCode::NotFound, fmt::format("no outbox row {}", id));
    }
    return Ok{};
}

std::vector<RecordId> PgStore::list(std::uint32_t module, RecordId after,
                                    std::size_t limit) const {
    const auto d = impl_->definitions();
    if (!d || module >= d->modules.size()) {
        return {};
    }
    return impl_->read<std::vector<RecordId>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            std::vector<RecordId> out;
            const auto n = static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
            const std::string& name = d->modules[module].name;
            for (const auto& row : tx.exec_prepared("rec_list", name, after, n)) {
                out.push_back(row[0].as<std::int64_t>());
            }
            return out;
        },
        {});
}

std::vector<RecordId> PgStore::requested_by(UserId user) const {
    return requested_by_page(user, 0, std::numeric_limits<std::size_t>::max());
}

std::vector<RecordId> PgStore::assigned_to(UserId user) const {
    return assigned_to_page(user, 0, std::numeric_limits<std::size_t>::max());
}

std::optional<StoredResponse> PgStore::recall(std::string_view key) const {
    return impl_->read<std::optional<StoredResponse>>(
        [&](pqxx::connection& c) -> std::optional<StoredResponse> {
            pqxx::nontransaction tx(c);
            const pqxx::result r = tx.exec_prepared("idem_get", std::string(key));
            if (r.empty()) {
                return std::nullopt;
            }
            return StoredResponse{r[0][0].c_str(), r[0][1].c_str()};
        },
        std::nullopt);
}

void PgStore::remember(std::string_view key, StoredResponse response) {
    (void)impl_->read<bool>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            tx.exec_prepared("idem_put", std::string(key), response.fingerprint,
                             response.response);
            return true;
        },
        false);
}

Status PgStore::ping() const {
    auto r = impl_->run([&](pqxx::connection& c) {
        pqxx::nontransaction tx(c);
        tx.exec("SELECT 1");
        return Ok{};
    });
    if (!r) {
        return r.error();
    }
    return Ok{};
}

// --- several nodes: outbox claims, counts, publish notices (additive) -------------------------

std::vector<OutboxRow> PgStore::claim_outbox(std::int64_t now_ms, std::size_t limit,
                                             std::int64_t lease_ms) {
    const auto d = impl_->definitions();
    if (!d) {
        return {};
    }
    return impl_->read<std::vector<OutboxRow>>(
        [&](pqxx::connection& c) {
            pqxx::work tx(c);
            std::vector<OutboxRow> out;
            const auto n = static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
            for (const auto& row : tx.exec_prepared("out_claim", now_ms, now_ms + lease_ms, n)) {
                out.push_back(impl_->decode_outbox(*d, row));
            }
            tx.commit();
            std::sort(out.begin(), out.end(),
                      [](const OutboxRow& a, const OutboxRow& b) { return a.id < b.id; });
            return out;
        },
        {});
}

Status PgStore::record_outbox_attempt(std::int64_t id, OutboxStatus status, std::string error,
                                      std::int64_t next_attempt_ms) {
    auto r = impl_->run([&](pqxx::connection& c) -> int {
        pqxx::nontransaction tx(c);
        if (tx.exec_prepared("out_attempt", id, static_cast<int>(status), error, next_attempt_ms)
                .affected_rows() > 0) {
            return 1;
        }
        return tx.exec_prepared("out_exists", id).empty() ? 0 : -1;
    });
    if (!r) {
        return r.error();
    }
    if (*r == 0) {
        return make_error(ErrorCode::NotFound, fmt::format("no outbox row {}", id));
    }
    if (*r < 0) {
        return make_error(ErrorCode::Conflict, fmt::format("outbox row {} is no longer pending", id));
    }
    return Ok{};
}

std::int64_t PgStore::count_outbox(OutboxStatus status) const {
    return impl_->read<std::int64_t>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec_prepared("out_count", static_cast<int>(status))[0][0]
                .as<std::int64_t>();
        },
        0);
}

std::int64_t PgStore::count_due_timers(std::int64_t now) const {
    return impl_->read<std::int64_t>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec_prepared("tm_count", now)[0][0].as<std::int64_t>();
        },
        0);
}

std::int64_t PgStore::latest_definitions_version() const {
    return impl_->read<std::int64_t>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            return tx.exec_prepared("def_version")[0][0].as<std::int64_t>();
        },
        -1);
}

Result<bool> PgStore::await_publish_notice(int timeout_ms) {
    std::lock_guard lock(impl_->listen_mu);
    try {
        if (!impl_->listen_conn) {
            impl_->listen_conn = std::make_unique<pqxx::connection>(impl_->options.url);
            impl_->receiver = std::make_unique<Impl::Receiver>(*impl_->listen_conn, *impl_);
            impl_->noticed = false;
        }
        const long ms = std::max(0, timeout_ms);
        impl_->listen_conn->await_notification(ms / 1000, (ms % 1000) * 1000);
        // libpq does not always notice a server that went away while waiting: ask.
        if (!impl_->listen_conn->is_open()) {
            throw pqxx::broken_connection("the listening connection was closed");
        }
        const bool noticed = impl_->noticed;
        impl_->noticed = false;
        return noticed;
    } catch (const std::exception& e) {
        impl_->close_listener();
        return store_error(ErrorCode::StoreUnavailable,
                           fmt::format("the listening connection failed: {}", e.what()));
    }
}

std::string PgStore::last_read_error() const {
    std::lock_guard lock(impl_->error_mu);
    return impl_->last_error;
}

Result<std::unique_ptr<Store>> make_pg_store(const std::string& url, std::size_t pool_size,
                                             const std::string& schema) {
    auto s = PgStore::open(PgStoreOptions{url, pool_size, schema});
    if (!s) {
        return s.error();
    }
    return std::unique_ptr<Store>(std::move(s.value()));
}

// Paged reads (indexed: history_by_record, outbox_by_status, outbox_by_recipient,
// records_by_requester, records_by_assignee, the definitions' primary key).

namespace {

std::int64_t pg_limit(std::size_t limit) {
    return static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX));
}

std::vector<RecordId> ids_by_user_page(const PgStore::Impl& impl, const char* statement,
                                       const std::string& who, RecordId after,
                                       std::size_t limit) {
    if (who.empty() || limit == 0) {
        return {};
    }
    return impl.read<std::vector<RecordId>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            std::vector<RecordId> out;
            for (const auto& row : tx.exec_prepared(statement, who, after, pg_limit(limit))) {
                out.push_back(row[0].as<std::int64_t>());
            }
            return out;
        },
        {});
}

} // namespace

std::vector<HistoryEntry> PgStore::history_page(RecordId record, std::int64_t after,
                                                std::size_t limit) const {
    const auto d = impl_->definitions();
    if (!d || limit == 0) {
        return {};
    }
    return impl_->read<std::vector<HistoryEntry>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            std::vector<HistoryEntry> out;
            for (const auto& row : tx.exec_prepared("hist_page", record, after, pg_limit(limit))) {
                out.push_back(impl_->decode_history(*d, row));
            }
            return out;
        },
        {});
}

std::vector<OutboxRow> PgStore::outbox_page(std::optional<OutboxKind> kind,
                                            std::optional<OutboxStatus> status, std::int64_t after,
                                            std::size_t limit) const {
    const auto d = impl_->definitions();
    if (!d || limit == 0) {
        return {};
    }
    const int k = kind ? (*kind == OutboxKind::Notification ? 0 : 1) : -1;
    return impl_->read<std::vector<OutboxRow>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            std::vector<OutboxRow> out;
            const pqxx::result r =
                status ? tx.exec_prepared("out_status_page", after, k, pg_limit(limit),
                                          static_cast<int>(*status))
                       : tx.exec_prepared("out_page", after, k, pg_limit(limit));
            for (const auto& row : r) {
                out.push_back(impl_->decode_outbox(*d, row));
            }
            return out;
        },
        {});
}

std::vector<OutboxRow> PgStore::notifications_page(UserId user, std::int64_t before,
                                                   std::size_t limit) const {
    const auto d = impl_->definitions();
    if (!d || limit == 0) {
        return {};
    }
    const std::string who = codec::user_key(*d, user);
    if (who.empty()) {
        return {};
    }
    return impl_->read<std::vector<OutboxRow>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            std::vector<OutboxRow> out;
            for (const auto& row :
                 tx.exec_prepared("out_user_page", who, before, pg_limit(limit))) {
                out.push_back(impl_->decode_outbox(*d, row));
            }
            return out;
        },
        {});
}

std::vector<RecordId> PgStore::requested_by_page(UserId user, RecordId after,
                                                 std::size_t limit) const {
    const auto d = impl_->definitions();
    return d ? ids_by_user_page(*impl_, "rec_requested_page", codec::user_key(*d, user), after,
                                limit)
             : std::vector<RecordId>{};
}

std::vector<RecordId> PgStore::assigned_to_page(UserId user, RecordId after,
                                                std::size_t limit) const {
    const auto d = impl_->definitions();
    return d ? ids_by_user_page(*impl_, "rec_assigned_page", codec::user_key(*d, user), after,
                                limit)
             : std::vector<RecordId>{};
}

std::vector<DefinitionsVersion> PgStore::definitions_versions_page(std::int64_t before,
                                                                   std::size_t limit) const {
    if (limit == 0) {
        return {};
    }
    return impl_->read<std::vector<DefinitionsVersion>>(
        [&](pqxx::connection& c) {
            pqxx::nontransaction tx(c);
            std::vector<DefinitionsVersion> out;
            for (const auto& row : tx.exec_prepared("def_page", before, pg_limit(limit))) {
                DefinitionsVersion& v = out.emplace_back();
                v.version = row[0].as<std::int64_t>();
                v.published_by = row[1].c_str();
                v.published_at = row[2].as<std::int64_t>();
                v.summary = row[3].c_str();
            }
            return out;
        },
        {});
}

} // namespace teamflow::engine
