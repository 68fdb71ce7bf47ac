// The SQLite store: rows keyed by names (see codec.hpp), one writer, a pool of readers.

#include "teamflow/engine/sqlite_store.hpp"

#include "codec.hpp"
#include "teamflow/engine/definitions.hpp"

#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <limits>
#include <mutex>
#include <unordered_map>

namespace teamflow::engine {

namespace {

/// A failed SQLite call (internal: converted to an `Error` at the API's edge).
struct SqlError {
    int code = SQLITE_ERROR;
    std::string message;
};

/// A refusal decided inside a transaction (rolls it back).
struct Refusal {
    Error error;
};

Error to_error(const SqlError& e) {
    switch (e.code & 0xFF) {
    case SQLITE_CONSTRAINT:
        return make_error(ErrorCode::Constraint, "sqlite: constraint failed: " + e.message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_PROTOCOL:
        return make_error(ErrorCode::StoreUnavailable, "sqlite: " + e.message);
    default: return make_error(ErrorCode::Internal, "sqlite: " + e.message);
    }
}

// Migrations: numbered steps, each applied once, all pending ones in one transaction.
constexpr const char* migrations[] = {
    // 1: the initial schema.
    R"sql(
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    module TEXT NOT NULL,
    version INTEGER NOT NULL,
    owner TEXT NOT NULL,
    created_by TEXT NOT NULL,
    requester TEXT NOT NULL,
    assignee TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    governed INTEGER NOT NULL,
    deleted INTEGER NOT NULL,
    state TEXT NOT NULL,
    state_version INTEGER NOT NULL,
    state_entered_at INTEGER NOT NULL,
    parallel_done TEXT NOT NULL,
    fields TEXT NOT NULL
);
CREATE INDEX records_by_module ON records (module, id) WHERE deleted = 0;
CREATE INDEX records_by_requester ON records (requester, id) WHERE deleted = 0;
CREATE INDEX records_by_assignee ON records (assignee, module) WHERE deleted = 0;
CREATE TABLE history (
    id INTEGER PRIMARY KEY,
    record INTEGER NOT NULL REFERENCES records (id),
    module TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    by_user TEXT NOT NULL,
    at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    note TEXT NOT NULL,
    reason TEXT NOT NULL,
    changes TEXT NOT NULL,
    checklist TEXT NOT NULL
);
CREATE INDEX history_by_record ON history (record, id);
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind INTEGER NOT NULL,
    record INTEGER NOT NULL,
    module TEXT NOT NULL,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    status INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL
);
CREATE INDEX outbox_by_status ON outbox (status, id);
CREATE INDEX outbox_by_recipient ON outbox (recipient, id) WHERE kind = 0;
CREATE TABLE timers (
    id INTEGER PRIMARY KEY,
    record INTEGER NOT NULL REFERENCES records (id),
    blueprint TEXT NOT NULL,
    kind INTEGER NOT NULL,
    what TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    due INTEGER NOT NULL,
    state_version INTEGER NOT NULL
);
CREATE INDEX timers_by_due ON timers (due, id);
CREATE INDEX timers_by_record ON timers (record);
CREATE TABLE cursors (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE unique_keys (
    module TEXT NOT NULL,
    field TEXT NOT NULL,
    key TEXT NOT NULL,
    record INTEGER NOT NULL,
    PRIMARY KEY (module, field, key)
) WITHOUT ROWID;
CREATE TABLE idempotency (
    key TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    response TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE definitions (
    version INTEGER PRIMARY KEY,
    published_by TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    summary TEXT NOT NULL
);
CREATE TABLE definition_files (
    version INTEGER NOT NULL REFERENCES definitions (version),
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (version, position)
) WITHOUT ROWID;
)sql",
    // 2: several processes on one file: record ids come from the database (`record_ids`, one
    // row, moved by each `allocate_id`), timers carry a claim lease (`claimed_until`), and outbox
    // rows the next attempt (back-off, milliseconds since the epoch) and the lease of the
    // dispatcher delivering them (a second process on the same file skips them).
    R"sql(
ALTER TABLE timers ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
CREATE TABLE record_ids (next INTEGER NOT NULL);
INSERT INTO record_ids (next) SELECT coalesce(max(id), 0) + 1 FROM records;
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
)sql",
};
static_assert(std::size(migrations) == SqliteStore::schema_version);

class Conn;

/// A cached prepared statement in use: bind, step, read columns; reset when it goes.
class Stmt {
public:
    Stmt(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    ~Stmt() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }
    Stmt& bind(int k, std::int64_t v) {
        check(sqlite3_bind_int64(s_, k, v));
        return *this;
    }
    Stmt& bind(int k, std::string_view v) {
        check(sqlite3_bind_text(s_, k, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
        return *this;
    }
    Stmt& bind(int k, const char* v) { return bind(k, std::string_view(v)); }
    Stmt& bind(int k, const std::string& v) { return bind(k, std::string_view(v)); }
    /// Steps once: true with a row, false when done.
    bool step() {
        const int rc = sqlite3_step(s_);
        if (rc == SQLITE_ROW) {
            return true;
        }
        if (rc == SQLITE_DONE) {
            return false;
        }
        throw SqlError{sqlite3_extended_errcode(db_), sqlite3_errmsg(db_)};
    }
    /// Runs to the end (a write).
    void run() {
        while (step()) {
        }
    }
    std::int64_t integer(int k) const { return sqlite3_column_int64(s_, k); }
    std::string_view text(int k) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, k));
        return p == nullptr ? std::string_view{}
                            : std::string_view(p, static_cast<std::size_t>(
                                                      sqlite3_column_bytes(s_, k)));
    }
    std::string string(int k) const { return std::string(text(k)); }
    bool null(int k) const { return sqlite3_column_type(s_, k) == SQLITE_NULL; }

private:
    void check(int rc) {
        if (rc != SQLITE_OK) {
            throw SqlError{rc, sqlite3_errmsg(db_)};
        }
    }
    sqlite3* db_;
    sqlite3_stmt* s_;
};

/// One connection with its statement cache (keyed by the SQL literal's address).
class Conn {
public:
    Conn() = default;
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    ~Conn() {
        for (auto& [sql, s] : cache_) {
            sqlite3_finalize(s);
        }
        if (db_ != nullptr) {
            sqlite3_close_v2(db_);
        }
    }
    void open(const std::string& path, int busy_ms) {
        const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                           SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI,
                                       nullptr);
        if (rc != SQLITE_OK) {
            throw SqlError{rc, db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc)};
        }
        sqlite3_extended_result_codes(db_, 1);
        sqlite3_busy_timeout(db_, busy_ms);
    }
    /// Runs SQL without results (pragmas, schema, BEGIN/COMMIT).
    void exec(const char* sql) {
        char* msg = nullptr;
        const int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &msg);
        if (rc != SQLITE_OK) {
            SqlError e{sqlite3_extended_errcode(db_), msg != nullptr ? msg : sqlite3_errstr(rc)};
            sqlite3_free(msg);
            throw e;
        }
    }
    Stmt prepare(const char* sql) {
        auto it = cache_.find(sql);
        if (it == cache_.end()) {
            sqlite3_stmt* s = nullptr;
            const int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
            if (rc != SQLITE_OK) {
                throw SqlError{rc, sqlite3_errmsg(db_)};
            }
            it = cache_.emplace(sql, s).first;
        }
        return Stmt(db_, it->second);
    }
    int changes() const { return sqlite3_changes(db_); }
    sqlite3* db() const { return db_; }

private:
    sqlite3* db_ = nullptr;
    std::unordered_map<const char*, sqlite3_stmt*> cache_;
};

constexpr const char* record_columns =
    "module, version, owner, created_by, requester, assignee, created_at, updated_at, governed, "
    "deleted, state_version, state_entered_at, parallel_done, fields";

std::string strip_location(std::string_view location) {
    if (location == "sqlite::memory:" || location == "sqlite://:memory:" ||
        location == ":memory:") {
        return ":memory:";
    }
    if (location.starts_with("sqlite://")) {
        location.remove_prefix(9);
    } else if (location.starts_with("sqlite:")) {
        location.remove_prefix(7);
    }
    return std::string(location);
}

} // namespace

struct SqliteStore::Impl {
    std::string path;
    bool memory = false;
    SqliteOptions options;
    mutable std::mutex write_mu;
    mutable Conn writer;
    std::vector<std::unique_ptr<Conn>> readers;
    mutable std::mutex pool_mu;
    mutable std::condition_variable pool_cv;
    mutable std::vector<Conn*> free_readers;
    mutable std::mutex defs_mu;
    std::shared_ptr<const Definitions> defs;
    mutable std::mutex error_mu;
    mutable std::string last_error;

    std::shared_ptr<const Definitions> bound() const {
        std::lock_guard lock(defs_mu);
        return defs;
    }

    void note(const SqlError& e) const {
        std::lock_guard lock(error_mu);
        last_error = e.message;
    }

    /// Runs `fn(conn)` on a reader (or on the writer when there are none).
    template <class F>
    auto read(F&& fn) const {
        if (readers.empty()) {
            std::lock_guard lock(write_mu);
            return fn(writer);
        }
        Conn* c = nullptr;
        {
            std::unique_lock lock(pool_mu);
            pool_cv.wait(lock, [&] { return !free_readers.empty(); });
            c = free_readers.back();
            free_readers.pop_back();
        }
        struct Back {
            const Impl& self;
            Conn* c;
            ~Back() {
                {
                    std::lock_guard lock(self.pool_mu);
                    self.free_readers.push_back(c);
                }
                self.pool_cv.notify_one();
            }
        } back{*this, c};
        return fn(*c);
    }

    void configure(Conn& c, bool is_writer) {
        c.open(path, options.busy_timeout_ms);
        if (is_writer) {
            // Also the first read of the file: a file that is not a database fails here.
            Stmt s = c.prepare("PRAGMA journal_mode=WAL");
            s.step();
        }
        c.exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
    }

    void migrate() {
        writer.exec("BEGIN IMMEDIATE");
        try {
            writer.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
            std::int64_t current = 0;
            bool has_row = false;
            {
                Stmt s = writer.prepare("SELECT version FROM schema_version");
                if (s.step()) {
                    current = s.integer(0);
                    has_row = true;
                }
            }
            if (current > SqliteStore::schema_version) {
                throw SqlError{SQLITE_NOTADB,
                               fmt::format("the database has schema version {}, newer than this "
                                           "build's {}",
                                           current, SqliteStore::schema_version)};
            }
            for (std::int64_t k = current; k < SqliteStore::schema_version; ++k) {
                writer.exec(migrations[k]);
            }
            if (!has_row) {
                writer.prepare("INSERT INTO schema_version (version) VALUES (?)")
                    .bind(1, std::int64_t{SqliteStore::schema_version})
                    .run();
            } else if (current < SqliteStore::schema_version) {
                writer.prepare("UPDATE schema_version SET version = ?")
                    .bind(1, std::int64_t{SqliteStore::schema_version})
                    .run();
            }
            writer.exec("COMMIT");
        } catch (...) {
            sqlite3_exec(writer.db(), "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
    }

    bool decode_record(const Definitions& d, const Stmt& s, int base, Record& r) const {
        const std::uint32_t m = d.find_module(s.text(base));
        if (m == npos32) {
            return false;
        }
        r.module = m;
        r.version = s.integer(base + 1);
        r.owner = codec::user_of(d, s.text(base + 2));
        r.created_by = codec::user_of(d, s.text(base + 3));
        r.requester = codec::user_of(d, s.text(base + 4));
        r.assignee = codec::user_of(d, s.text(base + 5));
        r.created_at = s.integer(base + 6);
        r.updated_at = s.integer(base + 7);
        r.governed = s.integer(base + 8) != 0;
        r.deleted = s.integer(base + 9) != 0;
        r.state_version = s.integer(base + 10);
        r.state_entered_at = s.integer(base + 11);
        r.parallel_done = codec::decode_parallel(d, m, s.text(base + 12));
        codec::decode_fields(d, s.text(base + 13), r);
        return true;
    }

    Timer decode_timer(const Definitions& d, const Stmt& s) const {
        // id, record, blueprint, kind, what, ordinal, due, state_version
        Timer t;
        t.id = s.integer(0);
        t.record = s.integer(1);
        t.kind = s.integer(3) == 0 ? TimerKind::Transition : TimerKind::Sla;
        t.due = s.integer(6);
        t.state_version = s.integer(7);
        codec::TimerName n{s.string(2), s.string(4), s.integer(5)};
        if (!codec::timer_of(d, n, t)) {
            t.blueprint = npos32; // what it fires is gone: the engine drops it
        }
        return t;
    }

    OutboxRow decode_outbox(const Definitions& d, const Stmt& s) const {
        // id, kind, record, module, recipient, text, url, payload, created_at, status, attempts,
        // last_error
        OutboxRow o;
        o.id = s.integer(0);
        o.kind = s.integer(1) == 0 ? OutboxKind::Notification : OutboxKind::Webhook;
        o.record = s.integer(2);
        const std::uint32_t m = d.find_module(s.text(3));
        o.module = m == npos32 ? 0 : m;
        o.user = codec::user_of(d, s.text(4));
        o.text = s.string(5);
        o.url = s.string(6);
        o.payload = s.string(7);
        o.created_at = s.integer(8);
        o.status = static_cast<OutboxStatus>(s.integer(9));
        o.attempts = static_cast<int>(s.integer(10));
        o.last_error = s.string(11);
        return o;
    }

    void write_record(const Definitions& d, const RecordWrite& w, std::string& fields,
                      std::string& parallel) {
        const Record& r = w.record;
        if (r.module >= d.modules.size()) {
            throw Refusal{make_error(ErrorCode::Internal,
                                     fmt::format("record {} of an unknown module", r.id))};
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
        if (w.expected_version == 0) {
            Stmt s = writer.prepare(
                "INSERT INTO records (id, module, version, owner, created_by, requester, "
                "assignee, created_at, updated_at, governed, deleted, state, state_version, "
                "state_entered_at, parallel_done, fields) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO NOTHING");
            s.bind(1, r.id).bind(2, module).bind(3, r.version);
            s.bind(4, codec::user_key(d, r.owner)).bind(5, codec::user_key(d, r.created_by));
            s.bind(6, codec::user_key(d, r.requester)).bind(7, codec::user_key(d, r.assignee));
            s.bind(8, r.created_at).bind(9, r.updated_at).bind(10, std::int64_t{r.governed});
            s.bind(11, std::int64_t{r.deleted}).bind(12, state).bind(13, r.state_version);
            s.bind(14, r.state_entered_at).bind(15, parallel).bind(16, fields);
            s.run();
            if (writer.changes() == 0) {
                throw Refusal{make_error(ErrorCode::Conflict,
                                         fmt::format("record {} already exists", r.id))};
            }
            return;
        }
        if (!r.deleted) {
            // Most updates leave the indexed columns (module, requester, assignee, deleted) as
            // they were: set only the others, so SQLite rewrites no index entry. When one of them
            // changes (or the version moved), the full UPDATE below decides.
            Stmt n = writer.prepare(
                "UPDATE records SET version = ?, owner = ?, created_by = ?, created_at = ?, "
                "updated_at = ?, governed = ?, state = ?, state_version = ?, "
                "state_entered_at = ?, parallel_done = ?, fields = ? WHERE id = ? AND "
                "version = ? AND deleted = 0 AND module = ? AND requester = ? AND assignee = ?");
            n.bind(1, r.version).bind(2, codec::user_key(d, r.owner));
            n.bind(3, codec::user_key(d, r.created_by)).bind(4, r.created_at);
            n.bind(5, r.updated_at).bind(6, std::int64_t{r.governed}).bind(7, state);
            n.bind(8, r.state_version).bind(9, r.state_entered_at).bind(10, parallel);
            n.bind(11, fields).bind(12, r.id).bind(13, w.expected_version).bind(14, module);
            n.bind(15, codec::user_key(d, r.requester)).bind(16, codec::user_key(d, r.assignee));
            n.run();
            if (writer.changes() == 1) {
                return;
            }
        }
        Stmt s = writer.prepare(
            "UPDATE records SET module = ?, version = ?, owner = ?, created_by = ?, requester = ?, "
            "assignee = ?, created_at = ?, updated_at = ?, governed = ?, deleted = ?, state = ?, "
            "state_version = ?, state_entered_at = ?, parallel_done = ?, fields = ? "
            "WHERE id = ? AND version = ? AND deleted = 0");
        s.bind(1, module).bind(2, r.version);
        s.bind(3, codec::user_key(d, r.owner)).bind(4, codec::user_key(d, r.created_by));
        s.bind(5, codec::user_key(d, r.requester)).bind(6, codec::user_key(d, r.assignee));
        s.bind(7, r.created_at).bind(8, r.updated_at).bind(9, std::int64_t{r.governed});
        s.bind(10, std::int64_t{r.deleted}).bind(11, state).bind(12, r.state_version);
        s.bind(13, r.state_entered_at).bind(14, parallel).bind(15, fields);
        s.bind(16, r.id).bind(17, w.expected_version);
        s.run();
        if (writer.changes() == 1) {
            return;
        }
        Stmt q = writer.prepare("SELECT version, deleted FROM records WHERE id = ?");
        q.bind(1, r.id);
        if (!q.step() || q.integer(1) != 0) {
            throw Refusal{make_error(ErrorCode::NotFound, fmt::format("no record {}", r.id))};
        }
        throw Refusal{make_error(ErrorCode::Conflict,
                                 fmt::format("record {} is at version {}, not {}", r.id,
                                             q.integer(0), w.expected_version))};
    }

    static std::pair<std::string, std::string> key_names(const Definitions& d, const UniqueKey& k) {
        if (k.module >= d.modules.size() || k.field >= d.modules[k.module].fields.size()) {
            throw Refusal{make_error(ErrorCode::Internal, "a unique key of an unknown field")};
        }
        return {d.modules[k.module].name, d.modules[k.module].fields[k.field].name};
    }

    void apply(const Definitions& d, const ChangeSet& cs) {
        std::string a;
        std::string b;
        for (const RecordWrite& w : cs.writes) {
            write_record(d, w, a, b);
        }
        for (const UniqueKey& k : cs.releases) {
            const auto [module, field] = key_names(d, k);
            writer
                .prepare("DELETE FROM unique_keys WHERE module = ? AND field = ? AND key = ? "
                         "AND record = ?")
                .bind(1, module)
                .bind(2, field)
                .bind(3, k.key)
                .bind(4, k.record)
                .run();
        }
        for (const UniqueKey& k : cs.claims) {
            const auto [module, field] = key_names(d, k);
            writer
                .prepare("INSERT INTO unique_keys (module, field, key, record) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT DO NOTHING")
                .bind(1, module)
                .bind(2, field)
                .bind(3, k.key)
                .bind(4, k.record)
                .run();
            if (writer.changes() == 0) {
                Stmt q = writer.prepare(
                    "SELECT record FROM unique_keys WHERE module = ? AND field = ? AND key = ?");
                q.bind(1, module).bind(2, field).bind(3, k.key);
                if (q.step() && q.integer(0) != k.record) {
                    throw Refusal{make_error(ErrorCode::NotUnique,
                                             fmt::format("\"{}\" is already taken", k.key))};
                }
            }
        }
        if (cs.publish) {
            std::int64_t latest = 0;
            {
                Stmt q = writer.prepare("SELECT coalesce(max(version), 0) FROM definitions");
                if (q.step()) {
                    latest = q.integer(0);
                }
            }
            const DefinitionsVersion& v = *cs.publish;
            if (v.version != latest + 1) {
                throw Refusal{make_error(ErrorCode::Conflict,
                                         fmt::format("definitions are at version {}, not {}",
                                                     latest, v.version - 1))};
            }
            writer
                .prepare("INSERT INTO definitions (version, published_by, published_at, summary) "
                         "VALUES (?, ?, ?, ?)")
                .bind(1, v.version)
                .bind(2, v.published_by)
                .bind(3, v.published_at)
                .bind(4, v.summary)
                .run();
            std::int64_t position = 0;
            for (const auto& [name, text] : v.files) {
                writer
                    .prepare("INSERT INTO definition_files (version, position, name, text) "
                             "VALUES (?, ?, ?, ?)")
                    .bind(1, v.version)
                    .bind(2, position++)
                    .bind(3, name)
                    .bind(4, text)
                    .run();
            }
        }
        for (const HistoryEntry& h : cs.history) {
            if (h.module >= d.modules.size()) {
                continue;
            }
            a.clear();
            b.clear();
            codec::encode_changes(a, d, h);
            codec::encode_strings(b, h.checklist);
            Stmt s = writer.prepare(
                "INSERT INTO history (record, module, kind, name, from_state, to_state, by_user, "
                "at, version, note, reason, changes, checklist) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            s.bind(1, h.record).bind(2, d.modules[h.module].name);
            s.bind(3, history_kind_name(h.kind)).bind(4, h.name);
            s.bind(5, codec::state_text(d, h.module, h.from));
            s.bind(6, codec::state_text(d, h.module, h.to));
            s.bind(7, codec::user_key(d, h.by)).bind(8, h.at).bind(9, h.version);
            s.bind(10, h.note).bind(11, h.reason).bind(12, a).bind(13, b);
            s.run();
        }
        for (const OutboxRow& o : cs.outbox) {
            Stmt s = writer.prepare(
                "INSERT INTO outbox (kind, record, module, recipient, text, url, payload, "
                "created_at, status, attempts, last_error) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
            s.bind(1, std::int64_t{o.kind == OutboxKind::Notification ? 0 : 1}).bind(2, o.record);
            s.bind(3, o.module < d.modules.size() ? d.modules[o.module].name : std::string());
            s.bind(4, codec::user_key(d, o.user)).bind(5, o.text).bind(6, o.url);
            s.bind(7, o.payload).bind(8, o.created_at);
            s.bind(9, static_cast<std::int64_t>(o.status)).bind(10, std::int64_t{o.attempts});
            s.bind(11, o.last_error);
            s.run();
        }
        for (std::int64_t id : cs.timers_done) {
            writer.prepare("DELETE FROM timers WHERE id = ?").bind(1, id).run();
            if (writer.changes() == 0) {
                throw Refusal{make_error(ErrorCode::Conflict,
                                         fmt::format("timer {} is no longer pending", id))};
            }
        }
        for (RecordId r : cs.timers_cancel) {
            writer.prepare("DELETE FROM timers WHERE record = ?").bind(1, r).run();
        }
        for (const Timer& t : cs.timers_add) {
            const codec::TimerName n = codec::timer_name(d, t);
            Stmt s = writer.prepare(
                "INSERT INTO timers (record, blueprint, kind, what, ordinal, due, state_version) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)");
            s.bind(1, t.record).bind(2, n.blueprint);
            s.bind(3, std::int64_t{t.kind == TimerKind::Transition ? 0 : 1});
            s.bind(4, n.what).bind(5, n.ordinal).bind(6, t.due).bind(7, t.state_version);
            s.run();
        }
        for (const CursorUpdate& c : cs.cursors) {
            writer.prepare("UPDATE cursors SET value = ? WHERE key = ? AND value = ?")
                .bind(1, c.value)
                .bind(2, c.key)
                .bind(3, c.expected)
                .run();
            if (writer.changes() == 1) {
                continue;
            }
            if (c.expected == 0) {
                writer.prepare("INSERT INTO cursors (key, value) VALUES (?, ?) "
                               "ON CONFLICT DO NOTHING")
                    .bind(1, c.key)
                    .bind(2, c.value)
                    .run();
                if (writer.changes() == 1) {
                    continue;
                }
            }
            throw Refusal{make_error(ErrorCode::Conflict, fmt::format("cursor {} moved", c.key))};
        }
    }
};

SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SqliteStore::~SqliteStore() = default;

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(std::string_view location,
                                                       SqliteOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->path = strip_location(location);
    impl->memory = impl->path == ":memory:";
    impl->options = options;
    if (impl->path.empty()) {
        return make_error(ErrorCode::StoreUnavailable, "sqlite: no database path given");
    }
    try {
        impl->configure(impl->writer, true);
        impl->migrate();
        const int readers = impl->memory ? 0 : std::max(0, options.readers);
        for (int k = 0; k < readers; ++k) {
            auto c = std::make_unique<Conn>();
            impl->configure(*c, false);
            impl->free_readers.push_back(c.get());
            impl->readers.push_back(std::move(c));
        }
    } catch (const SqlError& e) {
        if ((e.code & 0xFF) == SQLITE_NOTADB || (e.code & 0xFF) == SQLITE_CORRUPT) {
            return make_error(ErrorCode::StoreUnavailable,
                              fmt::format("sqlite: {} is not a usable teamflow database: {}",
                                          impl->path, e.message));
        }
        Error err = to_error(e);
        err.code = ErrorCode::StoreUnavailable;
        err.detail = fmt::format("sqlite: cannot open {}: {}", impl->path, e.message);
        return err;
    }
    return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

void SqliteStore::bind(std::shared_ptr<const Definitions> defs) {
    std::lock_guard lock(impl_->defs_mu);
    impl_->defs = std::move(defs);
}

std::string SqliteStore::last_error() const {
    std::lock_guard lock(impl_->error_mu);
    return impl_->last_error;
}

RecordId SqliteStore::allocate_id() {
    // From the database, so that several processes on one file never hand out one id twice. The
    // move is its own small write with `synchronous=NORMAL`: not synced by itself, but the WAL
    // is sequential, so the commit that first uses the id (synced) makes the move durable too.
    std::lock_guard lock(impl_->write_mu);
    Conn& w = impl_->writer;
    try {
        w.exec("PRAGMA synchronous=NORMAL");
        RecordId id = 0;
        {
            Stmt s = w.prepare("UPDATE record_ids SET next = next + 1 RETURNING next - 1");
            if (s.step()) {
                id = s.integer(0);
            }
            while (s.step()) {
            }
        }
        w.exec("PRAGMA synchronous=FULL");
        if (id == 0) {
            impl_->note(SqlError{SQLITE_CORRUPT, "sqlite: the record_ids row is missing"});
        }
        return id;
    } catch (const SqlError& e) {
        sqlite3_exec(w.db(), "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
        impl_->note(e);
        return 0;
    }
}

Result<std::int64_t> SqliteStore::take_turn(std::string_view key) {
    // One statement in its own write transaction: atomic across the processes on the file. Not
    // synced by itself (like `allocate_id`): the commit that uses the turn syncs it too.
    std::lock_guard lock(impl_->write_mu);
    Conn& w = impl_->writer;
    try {
        w.exec("PRAGMA synchronous=NORMAL");
        std::int64_t at = 0;
        {
            Stmt s = w.prepare(
                "INSERT INTO cursors (key, value) VALUES (?, 1) ON CONFLICT (key) DO UPDATE SET "
                "value = value + 1 RETURNING value - 1");
            s.bind(1, key);
            if (s.step()) {
                at = s.integer(0);
            }
            while (s.step()) {
            }
        }
        w.exec("PRAGMA synchronous=FULL");
        return at;
    } catch (const SqlError& e) {
        sqlite3_exec(w.db(), "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
        return to_error(e);
    }
}

std::vector<Timer> SqliteStore::claim_due_timers(std::int64_t now, std::size_t limit,
                                                 std::int64_t lease) {
    const auto defs = impl_->bound();
    std::vector<Timer> out;
    if (!defs || limit == 0) {
        return out;
    }
    // One UPDATE under SQLite's write lock: a timer claimed by one process (or thread) is
    // skipped by every other claimer until its lease runs out.
    std::lock_guard lock(impl_->write_mu);
    try {
        Stmt s = impl_->writer.prepare(
            "UPDATE timers SET claimed_until = ? WHERE id IN (SELECT id FROM timers WHERE "
            "due <= ? AND claimed_until <= ? ORDER BY due, id LIMIT ?) RETURNING id, record, "
            "blueprint, kind, what, ordinal, due, state_version");
        s.bind(1, now + lease).bind(2, now).bind(3, now);
        s.bind(4, static_cast<std::int64_t>(
                      std::min<std::size_t>(limit, static_cast<std::size_t>(INT64_MAX))));
        while (s.step()) {
            out.push_back(impl_->decode_timer(*defs, s));
        }
    } catch (const SqlError& e) {
        impl_->note(e);
        return {};
    }
    std::sort(out.begin(), out.end(), [](const Timer& a, const Timer& b) {
        return a.due != b.due ? a.due < b.due : a.id < b.id;
    });
    return out;
}

Status SqliteStore::commit(const ChangeSet& cs) {
    std::shared_ptr<const Definitions> defs = cs.publish_defs ? cs.publish_defs : impl_->bound();
    if (!defs) {
        return make_error(ErrorCode::Internal, "sqlite: no definitions bound to the store");
    }
    {
        std::lock_guard lock(impl_->write_mu);
        Conn& w = impl_->writer;
        try {
            w.prepare("BEGIN IMMEDIATE").run();
        } catch (const SqlError& e) {
            return to_error(e);
        }
        try {
            impl_->apply(*defs, cs);
            w.prepare("COMMIT").run();
        } catch (const Refusal& r) {
            sqlite3_exec(w.db(), "ROLLBACK", nullptr, nullptr, nullptr);
            return r.error;
        } catch (const SqlError& e) {
            if (sqlite3_get_autocommit(w.db()) == 0) {
                sqlite3_exec(w.db(), "ROLLBACK", nullptr, nullptr, nullptr);
            }
            Error err = to_error(e);
            if (err.code == ErrorCode::Constraint &&
                (e.code == SQLITE_CONSTRAINT_UNIQUE || e.code == SQLITE_CONSTRAINT_PRIMARYKEY)) {
                err.code = ErrorCode::Conflict;
            }
            return err;
        }
    }
    if (cs.publish_defs) {
        bind(cs.publish_defs);
    }
    return Ok{};
}

bool SqliteStore::read_record(RecordId id, Record& out) const {
    const auto defs = impl_->bound();
    if (!defs) {
        return false;
    }
    try {
        return impl_->read([&](Conn& c) {
            Stmt s = c.prepare(
                "SELECT module, version, owner, created_by, requester, assignee, created_at, "
                "updated_at, governed, deleted, state_version, state_entered_at, parallel_done, "
                "fields FROM records WHERE id = ? AND deleted = 0");
            s.bind(1, id);
            if (!s.step()) {
                return false;
            }
            out.id = id;
            return impl_->decode_record(*defs, s, 0, out);
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return false;
    }
}

bool SqliteStore::unique_taken(std::uint32_t module, std::uint32_t field, std::string_view key,
                               RecordId except) const {
    const auto defs = impl_->bound();
    if (!defs || module >= defs->modules.size() ||
        field >= defs->modules[module].fields.size()) {
        return false;
    }
    try {
        return impl_->read([&](Conn& c) {
            Stmt s = c.prepare(
                "SELECT record FROM unique_keys WHERE module = ? AND field = ? AND key = ?");
            s.bind(1, defs->modules[module].name).bind(2, defs->modules[module].fields[field].name);
            s.bind(3, key);
            return s.step() && s.integer(0) != except;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return false;
    }
}

std::int64_t SqliteStore::cursor(std::string_view key) const {
    try {
        return impl_->read([&](Conn& c) -> std::int64_t {
            Stmt s = c.prepare("SELECT value FROM cursors WHERE key = ?");
            s.bind(1, key);
            return s.step() ? s.integer(0) : 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return 0;
    }
}

std::int64_t SqliteStore::count_open_assigned(std::uint32_t module, UserId user,
                                              std::uint32_t state_field,
                                              const std::vector<std::uint8_t>& terminal) const {
    const auto defs = impl_->bound();
    if (!defs || module >= defs->modules.size()) {
        return 0;
    }
    const ModuleDef& m = defs->modules[module];
    const FieldDef* f = state_field < m.fields.size() ? &m.fields[state_field] : nullptr;
    const BlueprintDef* bp = defs->blueprint_of(module);
    const bool by_state_column = bp != nullptr && bp->field == state_field;
    try {
        return impl_->read([&](Conn& c) -> std::int64_t {
            Stmt s = c.prepare("SELECT state, fields FROM records "
                               "WHERE assignee = ? AND module = ? AND deleted = 0");
            s.bind(1, codec::user_key(*defs, user)).bind(2, m.name);
            std::int64_t n = 0;
            Record r;
            r.module = module;
            while (s.step()) {
                std::int32_t st = -1;
                if (f != nullptr && by_state_column) {
                    st = f->value_index(s.text(0));
                } else if (f != nullptr) {
                    codec::decode_fields(*defs, s.text(1), r);
                    st = r.fields[state_field].aux;
                }
                if (st >= 0 && static_cast<std::size_t>(st) < terminal.size() &&
                    terminal[static_cast<std::size_t>(st)] != 0) {
                    continue;
                }
                ++n;
            }
            return n;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return 0;
    }
}

std::optional<Timer> SqliteStore::next_timer() const {
    const auto defs = impl_->bound();
    if (!defs) {
        return std::nullopt;
    }
    try {
        return impl_->read([&](Conn& c) -> std::optional<Timer> {
            Stmt s = c.prepare("SELECT id, record, blueprint, kind, what, ordinal, due, "
                               "state_version FROM timers ORDER BY due, id LIMIT 1");
            if (!s.step()) {
                return std::nullopt;
            }
            return impl_->decode_timer(*defs, s);
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return std::nullopt;
    }
}

std::vector<Timer> SqliteStore::due_timers(std::int64_t now, std::size_t limit) const {
    const auto defs = impl_->bound();
    std::vector<Timer> out;
    if (!defs || limit == 0) {
        return out;
    }
    try {
        impl_->read([&](Conn& c) {
            Stmt s = c.prepare("SELECT id, record, blueprint, kind, what, ordinal, due, "
                               "state_version FROM timers WHERE due <= ? ORDER BY due, id "
                               "LIMIT ?");
            s.bind(1, now).bind(2, static_cast<std::int64_t>(std::min<std::size_t>(
                                       limit, static_cast<std::size_t>(INT64_MAX))));
            while (s.step()) {
                out.push_back(impl_->decode_timer(*defs, s));
            }
            return 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
    }
    return out;
}

std::vector<Timer> SqliteStore::timers_of(RecordId record) const {
    const auto defs = impl_->bound();
    std::vector<Timer> out;
    if (!defs) {
        return out;
    }
    try {
        impl_->read([&](Conn& c) {
            Stmt s = c.prepare("SELECT id, record, blueprint, kind, what, ordinal, due, "
                               "state_version FROM timers WHERE record = ? ORDER BY id");
            s.bind(1, record);
            while (s.step()) {
                out.push_back(impl_->decode_timer(*defs, s));
            }
            return 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
    }
    return out;
}

std::int64_t SqliteStore::history_id_at(RecordId record, std::int64_t version) const {
    std::int64_t id = 0;
    try {
        impl_->read([&](Conn& c) {
            Stmt s = c.prepare("SELECT id FROM history WHERE record = ? AND version = ? ORDER BY "
                               "id DESC LIMIT 1");
            s.bind(1, record);
            s.bind(2, version);
            if (s.step()) {
                id = s.integer(0);
            }
        });
    } catch (const SqlError& e) {
        impl_->note(e);
    }
    return id;
}

std::vector<HistoryEntry> SqliteStore::history(RecordId record) const {
    return history_page(record, 0, std::numeric_limits<std::size_t>::max());
}

std::vector<OutboxRow> SqliteStore::outbox(std::optional<OutboxStatus> status) const {
    return outbox_page(std::nullopt, status, 0, std::numeric_limits<std::size_t>::max());
}

std::vector<OutboxRow> SqliteStore::notifications(UserId user) const {
    return notifications_page(user, 0, std::numeric_limits<std::size_t>::max());
}

Status SqliteStore::mark_outbox(std::int64_t id, OutboxStatus status, std::string error) {
    std::lock_guard lock(impl_->write_mu);
    try {
        Conn& w = impl_->writer;
        w.prepare("UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ? "
                  "WHERE id = ?")
            .bind(1, static_cast<std::int64_t>(status))
            .bind(2, error)
            .bind(3, id)
            .run();
        if (w.changes() == 0) {
            return make_error(ErrorCode::NotFound, fmt::format("no outbox row {}", id));
        }
        return Ok{};
    } catch (const SqlError& e) {
        return to_error(e);
    }
}

// --- several nodes: outbox claims and counts (additive) ------------------------------------

std::vector<OutboxRow> SqliteStore::claim_outbox(std::int64_t now_ms, std::size_t limit,
                                                 std::int64_t lease_ms) {
    const auto defs = impl_->bound();
    std::vector<OutboxRow> out;
    if (!defs) {
        return out;
    }
    std::lock_guard lock(impl_->write_mu);
    Conn& w = impl_->writer;
    try {
        w.prepare("BEGIN IMMEDIATE").run();
        {
            Stmt s = w.prepare(
                "SELECT id, kind, record, module, recipient, text, url, payload, created_at, "
                "status, attempts, last_error FROM outbox WHERE status = 0 AND "
                "next_attempt_at <= ? AND claimed_until <= ? ORDER BY id LIMIT ?");
            s.bind(1, now_ms).bind(2, now_ms);
            s.bind(3, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
            while (s.step()) {
                out.push_back(impl_->decode_outbox(*defs, s));
            }
        }
        for (const OutboxRow& o : out) {
            w.prepare("UPDATE outbox SET claimed_until = ? WHERE id = ?")
                .bind(1, now_ms + lease_ms)
                .bind(2, o.id)
                .run();
        }
        w.prepare("COMMIT").run();
    } catch (const SqlError& e) {
        if (sqlite3_get_autocommit(w.db()) == 0) {
            sqlite3_exec(w.db(), "ROLLBACK", nullptr, nullptr, nullptr);
        }
        impl_->note(e);
        out.clear();
    }
    return out;
}

Status SqliteStore::record_outbox_attempt(std::int64_t id, OutboxStatus status, std::string error,
                                          std::int64_t next_attempt_ms) {
    std::lock_guard lock(impl_->write_mu);
    try {
        Conn& w = impl_->writer;
        w.prepare("UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, "
                  "next_attempt_at = ?, claimed_until = 0 WHERE id = ? AND status = 0")
            .bind(1, static_cast<std::int64_t>(status))
            .bind(2, error)
            .bind(3, next_attempt_ms)
            .bind(4, id)
            .run();
        if (w.changes() > 0) {
            return Ok{};
        }
        Stmt q = w.prepare("SELECT status FROM outbox WHERE id = ?");
        q.bind(1, id);
        if (!q.step()) {
            return make_error(ErrorCode::NotFound, fmt::format("no outbox row {}", id));
        }
        return make_error(ErrorCode::Conflict,
                          fmt::format("outbox row {} is no longer pending", id));
    } catch (const SqlError& e) {
        return to_error(e);
    }
}

std::int64_t SqliteStore::count_outbox(OutboxStatus status) const {
    try {
        return impl_->read([&](Conn& c) -> std::int64_t {
            Stmt s = c.prepare("SELECT count(*) FROM outbox WHERE status = ?");
            s.bind(1, static_cast<std::int64_t>(status));
            return s.step() ? s.integer(0) : 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return 0;
    }
}

std::int64_t SqliteStore::count_due_timers(std::int64_t now) const {
    try {
        return impl_->read([&](Conn& c) -> std::int64_t {
            Stmt s = c.prepare("SELECT count(*) FROM timers WHERE due <= ?");
            s.bind(1, now);
            return s.step() ? s.integer(0) : 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return 0;
    }
}

std::int64_t SqliteStore::latest_definitions_version() const {
    try {
        return impl_->read([&](Conn& c) -> std::int64_t {
            Stmt s = c.prepare("SELECT coalesce(max(version), 0) FROM definitions");
            return s.step() ? s.integer(0) : 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return -1;
    }
}

namespace {

template <class F>
std::vector<RecordId> collect_ids(Stmt& s) {
    std::vector<RecordId> out;
    while (s.step()) {
        out.push_back(s.integer(0));
    }
    return out;
}

} // namespace

std::vector<RecordId> SqliteStore::list(std::uint32_t module, RecordId after,
                                        std::size_t limit) const {
    const auto defs = impl_->bound();
    if (!defs || module >= defs->modules.size() || limit == 0) {
        return {};
    }
    try {
        return impl_->read([&](Conn& c) {
            Stmt s = c.prepare("SELECT id FROM records WHERE module = ? AND deleted = 0 AND id > ? "
                               "ORDER BY id LIMIT ?");
            s.bind(1, defs->modules[module].name).bind(2, after);
            s.bind(3, static_cast<std::int64_t>(
                          std::min<std::size_t>(limit, static_cast<std::size_t>(INT64_MAX))));
            return collect_ids<void>(s);
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return {};
    }
}

std::vector<RecordId> SqliteStore::requested_by(UserId user) const {
    return requested_by_page(user, 0, std::numeric_limits<std::size_t>::max());
}

std::vector<RecordId> SqliteStore::assigned_to(UserId user) const {
    return assigned_to_page(user, 0, std::numeric_limits<std::size_t>::max());
}

std::optional<StoredResponse> SqliteStore::recall(std::string_view key) const {
    try {
        return impl_->read([&](Conn& c) -> std::optional<StoredResponse> {
            Stmt s = c.prepare("SELECT fingerprint, response FROM idempotency WHERE key = ?");
            s.bind(1, key);
            if (!s.step()) {
                return std::nullopt;
            }
            return StoredResponse{s.string(0), s.string(1)};
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return std::nullopt;
    }
}

void SqliteStore::remember(std::string_view key, StoredResponse response) {
    std::lock_guard lock(impl_->write_mu);
    try {
        impl_->writer
            .prepare("INSERT INTO idempotency (key, fingerprint, response) VALUES (?, ?, ?) "
                     "ON CONFLICT DO NOTHING")
            .bind(1, key)
            .bind(2, response.fingerprint)
            .bind(3, response.response)
            .run();
    } catch (const SqlError& e) {
        impl_->note(e);
    }
}

std::optional<DefinitionsVersion> SqliteStore::latest_definitions() const {
    try {
        return impl_->read([&](Conn& c) -> std::optional<DefinitionsVersion> {
            DefinitionsVersion v;
            {
                Stmt s = c.prepare("SELECT version, published_by, published_at, summary "
                                   "FROM definitions ORDER BY version DESC LIMIT 1");
                if (!s.step()) {
                    return std::nullopt;
                }
                v.version = s.integer(0);
                v.published_by = s.string(1);
                v.published_at = s.integer(2);
                v.summary = s.string(3);
            }
            Stmt f = c.prepare(
                "SELECT name, text FROM definition_files WHERE version = ? ORDER BY position");
            f.bind(1, v.version);
            while (f.step()) {
                v.files.emplace_back(f.string(0), f.string(1));
            }
            return v;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
        return std::nullopt;
    }
}

std::vector<DefinitionsVersion> SqliteStore::definitions_versions() const {
    return definitions_versions_page(0, std::numeric_limits<std::size_t>::max());
}

// Paged reads (indexed: history_by_record, outbox_by_status, outbox_by_recipient,
// records_by_requester, records_by_assignee, the definitions' primary key).

namespace {

std::int64_t sql_limit(std::size_t limit) {
    return static_cast<std::int64_t>(
        std::min<std::size_t>(limit, static_cast<std::size_t>(INT64_MAX)));
}

HistoryKind history_kind_of(std::string_view name) {
    static const std::pair<std::string_view, HistoryKind> kinds[] = {
        {"created", HistoryKind::Created},   {"updated", HistoryKind::Updated},
        {"transition", HistoryKind::Transition}, {"parallel-step", HistoryKind::ParallelStep},
        {"automatic", HistoryKind::Automatic}, {"sla", HistoryKind::Sla},
        {"moved", HistoryKind::Moved},       {"deleted", HistoryKind::Deleted},
    };
    for (const auto& [n, kind] : kinds) {
        if (n == name) {
            return kind;
        }
    }
    return HistoryKind::Created;
}

} // namespace

std::vector<HistoryEntry> SqliteStore::history_page(RecordId record, std::int64_t after,
                                                    std::size_t limit) const {
    const auto defs = impl_->bound();
    std::vector<HistoryEntry> out;
    if (!defs || limit == 0) {
        return out;
    }
    try {
        impl_->read([&](Conn& c) {
            Stmt s = c.prepare("SELECT id, module, kind, name, from_state, to_state, by_user, at, "
                               "version, note, reason, changes, checklist FROM history "
                               "WHERE record = ? AND id > ? ORDER BY id LIMIT ?");
            s.bind(1, record).bind(2, after).bind(3, sql_limit(limit));
            while (s.step()) {
                const std::uint32_t m = defs->find_module(s.text(1));
                if (m == npos32) {
                    continue;
                }
                HistoryEntry& h = out.emplace_back();
                h.id = s.integer(0);
                h.record = record;
                h.module = m;
                h.kind = history_kind_of(s.text(2));
                h.name = s.string(3);
                h.from = codec::state_of(*defs, m, s.text(4));
                h.to = codec::state_of(*defs, m, s.text(5));
                h.by = codec::user_of(*defs, s.text(6));
                h.at = s.integer(7);
                h.version = s.integer(8);
                h.note = s.string(9);
                h.reason = s.string(10);
                codec::decode_changes(*defs, s.text(11), h);
                h.checklist = codec::decode_strings(s.text(12));
            }
            return 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
    }
    return out;
}

std::vector<OutboxRow> SqliteStore::outbox_page(std::optional<OutboxKind> kind,
                                                std::optional<OutboxStatus> status,
                                                std::int64_t after, std::size_t limit) const {
    const auto defs = impl_->bound();
    std::vector<OutboxRow> out;
    if (!defs || limit == 0) {
        return out;
    }
    try {
        impl_->read([&](Conn& c) {
            // Two statements, so that a status filter uses outbox_by_status (status, id).
            Stmt s = c.prepare(
                status ? "SELECT id, kind, record, module, recipient, text, url, payload, "
                         "created_at, status, attempts, last_error FROM outbox WHERE status = ? "
                         "AND id > ? AND (? < 0 OR kind = ?) ORDER BY id LIMIT ?"
                       : "SELECT id, kind, record, module, recipient, text, url, payload, "
                         "created_at, status, attempts, last_error FROM outbox WHERE ? < 0 "
                         "AND id > ? AND (? < 0 OR kind = ?) ORDER BY id LIMIT ?");
            const std::int64_t k = kind ? (*kind == OutboxKind::Notification ? 0 : 1) : -1;
            s.bind(1, status ? static_cast<std::int64_t>(*status) : -1)
                .bind(2, after)
                .bind(3, k)
                .bind(4, k)
                .bind(5, sql_limit(limit));
            while (s.step()) {
                out.push_back(impl_->decode_outbox(*defs, s));
            }
            return 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
    }
    return out;
}

std::vector<OutboxRow> SqliteStore::notifications_page(UserId user, std::int64_t before,
                                                       std::size_t limit) const {
    const auto defs = impl_->bound();
    std::vector<OutboxRow> out;
    if (!defs || limit == 0) {
        return out;
    }
    try {
        impl_->read([&](Conn& c) {
            Stmt s = c.prepare(
                "SELECT id, kind, record, module, recipient, text, url, payload, created_at, "
                "status, attempts, last_error FROM outbox WHERE kind = 0 AND recipient = ? "
                "AND (? <= 0 OR id < ?) ORDER BY id DESC LIMIT ?");
            s.bind(1, codec::user_key(*defs, user))
                .bind(2, before)
                .bind(3, before)
                .bind(4, sql_limit(limit));
            while (s.step()) {
                out.push_back(impl_->decode_outbox(*defs, s));
            }
            return 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
    }
    return out;
}

namespace {

std::vector<RecordId> ids_of_user_page(const SqliteStore::Impl& impl, const char* sql,
                                       const std::string& key, RecordId after,
                                       std::size_t limit) {
    if (key.empty()) {
        return {};
    }
    try {
        return impl.read([&](Conn& c) {
            Stmt s = c.prepare(sql);
            s.bind(1, key).bind(2, after).bind(3, sql_limit(limit));
            return collect_ids<void>(s);
        });
    } catch (const SqlError& e) {
        impl.note(e);
        return {};
    }
}

} // namespace

std::vector<RecordId> SqliteStore::requested_by_page(UserId user, RecordId after,
                                                     std::size_t limit) const {
    const auto defs = impl_->bound();
    if (!defs || limit == 0) {
        return {};
    }
    return ids_of_user_page(*impl_,
                            "SELECT id FROM records WHERE requester = ? AND deleted = 0 "
                            "AND id > ? ORDER BY id LIMIT ?",
                            codec::user_key(*defs, user), after, limit);
}

std::vector<RecordId> SqliteStore::assigned_to_page(UserId user, RecordId after,
                                                    std::size_t limit) const {
    const auto defs = impl_->bound();
    if (!defs || limit == 0) {
        return {};
    }
    return ids_of_user_page(*impl_,
                            "SELECT id FROM records WHERE assignee = ? AND deleted = 0 "
                            "AND id > ? ORDER BY id LIMIT ?",
                            codec::user_key(*defs, user), after, limit);
}

std::vector<DefinitionsVersion> SqliteStore::definitions_versions_page(std::int64_t before,
                                                                       std::size_t limit) const {
    std::vector<DefinitionsVersion> out;
    if (limit == 0) {
        return out;
    }
    try {
        impl_->read([&](Conn& c) {
            Stmt s = c.prepare("SELECT version, published_by, published_at, summary "
                               "FROM definitions WHERE ? <= 0 OR version < ? "
                               "ORDER BY version DESC LIMIT ?");
            s.bind(1, before).bind(2, before).bind(3, sql_limit(limit));
            while (s.step()) {
                DefinitionsVersion& v = out.emplace_back();
                v.version = s.integer(0);
                v.published_by = s.string(1);
                v.published_at = s.integer(2);
                v.summary = s.string(3);
            }
            return 0;
        });
    } catch (const SqlError& e) {
        impl_->note(e);
    }
    return out;
}


} // namespace teamflow::engine
