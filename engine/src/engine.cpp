#include "teamflow/engine/engine.hpp"

#include "timers.hpp"
#include "vm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

namespace teamflow::engine {

// --- per-operation context ---------------------------------------------------------------------

/// Reads records through the pending change set first (records created earlier in the same
/// operation), then the store.
class PendingReader final : public RecordReader {
public:
    PendingReader(const ChangeSet& cs, const Store& store) : cs_(cs), store_(store) {}
    bool read_record(RecordId id, Record& out) const override {
        for (const RecordWrite& w : cs_.writes) {
            if (w.record.id == id) {
                out = w.record;
                return true;
            }
        }
        return store_.read_record(id, out);
    }
    bool read_member(RecordId id, std::int32_t member, Cell& out) const override {
        for (const RecordWrite& w : cs_.writes) {
            if (w.record.id == id) {
                return member_of(w.record, member, out);
            }
        }
        return store_.read_member(id, member, out);
    }
    static bool member_of(const Record& r, std::int32_t member, Cell& out) {
        if (member < 0) {
            out.assign(r.builtin(static_cast<Builtin>(-member - 1)));
            return true;
        }
        if (static_cast<std::size_t>(member) >= r.fields.size()) {
            return false;
        }
        out = r.fields[static_cast<std::size_t>(member)];
        return true;
    }

private:
    const ChangeSet& cs_;
    const Store& store_;
};

struct OpContext {
    ChangeSet cs;
    Record work;
    Record fresh;                      ///< a record being created (buffers reused)
    std::vector<std::uint8_t> supplied;
    std::vector<RecordId> slots;
    std::vector<std::size_t> webhooks; ///< outbox rows waiting for the final record as payload
    std::string text;
    std::int64_t now = 0;

    void begin(std::int64_t t) {
        cs.clear();
        slots.clear();
        webhooks.clear();
        now = t;
        thread_arena().reset();
    }
};

namespace {

OpContext& thread_ctx_storage();

EvalEnv make_env(const Definitions& d, const Record* rec, UserId user, std::int64_t now,
                 const RecordReader* reader, const std::vector<RecordId>* slots) {
    EvalEnv env;
    env.defs = &d;
    env.record = rec;
    env.user = user;
    env.now = now;
    env.reader = reader;
    if (slots != nullptr) {
        env.slots = slots->data();
        env.slot_count = slots->size();
    }
    env.arena = &thread_arena();
    return env;
}

std::string key_text(const Definitions& d, const Cell& c) {
    std::string s;
    append_value(s, c.view(), d.user_ids);
    return s;
}

/// Checks a value against a field's type and stores it into `out`; "" or the reason it does not fit.
std::string coerce(const Definitions& d, const FieldDef& f, const Value& v, Cell& out,
                   const RecordReader& reader) {
    if (v.kind == ValueKind::Empty || (v.kind == ValueKind::Text && v.s.empty())) {
        out.clear();
        return {};
    }
    switch (f.kind) {
    case dsl::FieldKind::Text:
    case dsl::FieldKind::Email:
    case dsl::FieldKind::Phone:
    case dsl::FieldKind::Url:
        if (v.kind != ValueKind::Text) {
            return fmt::format("{} takes text, not {}", f.name, value_kind_name(v.kind));
        }
        out.assign(v);
        return {};
    case dsl::FieldKind::Picklist: {
        if (v.kind != ValueKind::Text) {
            return fmt::format("{} takes one of its values, not {}", f.name,
                               value_kind_name(v.kind));
        }
        const std::int32_t k = f.value_index(v.s);
        if (k < 0) {
            std::string values;
            for (const auto& x : f.values) {
                values += values.empty() ? "" : ", ";
                values += '"' + x + '"';
            }
            return fmt::format("\"{}\" is not one of the values of {} ({})", v.s, f.name, values);
        }
        out.assign(v, k);
        return {};
    }
    case dsl::FieldKind::Number:
    case dsl::FieldKind::Currency:
    case dsl::FieldKind::Percent:
        if (v.kind != ValueKind::Number) {
            return fmt::format("{} takes a number, not {}", f.name, value_kind_name(v.kind));
        }
        out.assign(v);
        return {};
    case dsl::FieldKind::Boolean:
        if (v.kind != ValueKind::Boolean) {
            return fmt::format("{} takes true or false, not {}", f.name, value_kind_name(v.kind));
        }
        out.assign(v);
        return {};
    case dsl::FieldKind::Date:
        if (v.kind != ValueKind::Date) {
            return fmt::format("{} takes a date, not {}", f.name, value_kind_name(v.kind));
        }
        out.assign(v);
        return {};
    case dsl::FieldKind::DateTime:
        if (v.kind == ValueKind::Date) {
            out.assign(Value::datetime(v.i * seconds_per_day));
            return {};
        }
        if (v.kind != ValueKind::DateTime) {
            return fmt::format("{} takes a date-time, not {}", f.name, value_kind_name(v.kind));
        }
        out.assign(v);
        return {};
    case dsl::FieldKind::User:
        if (v.kind == ValueKind::Text) {
            const std::uint32_t u = d.find_user(v.s);
            if (u == npos32) {
                return fmt::format("no user \"{}\"", v.s);
            }
            out.assign(Value::user(u));
            return {};
        }
        if (v.kind != ValueKind::User) {
            return fmt::format("{} takes a user, not {}", f.name, value_kind_name(v.kind));
        }
        out.assign(v);
        return {};
    case dsl::FieldKind::Lookup: {
        if (v.kind != ValueKind::Record) {
            return fmt::format("{} takes a record of {}, not {}", f.name,
                               d.modules[f.lookup_module].name, value_kind_name(v.kind));
        }
        thread_local Record target;
        if (!reader.read_record(v.i, target) || target.deleted) {
            return fmt::format("{}: no record {}", f.name, v.i);
        }
        if (target.module != f.lookup_module) {
            return fmt::format("{} takes a record of {}, not of {}", f.name,
                               d.modules[f.lookup_module].name, d.modules[target.module].name);
        }
        out.assign(v);
        return {};
    }
    }
    return {};
}

/// Resolves a user for a writable built-in; "" or why the value does not fit.
std::string builtin_user(const Definitions& d, const Value& v, UserId& out) {
    out = no_user;
    if (v.kind == ValueKind::Empty) {
        return {};
    }
    if (v.kind == ValueKind::Text) {
        const std::uint32_t u = d.find_user(v.s);
        if (u == npos32) {
            return fmt::format("no user \"{}\"", v.s);
        }
        out = u;
        return {};
    }
    if (v.kind != ValueKind::User) {
        return fmt::format("a user is needed, not {}", value_kind_name(v.kind));
    }
    out = static_cast<UserId>(v.i);
    return {};
}

/// Assigns a writable built-in (`owner`, `assignee`, `requester`); "" or why not.
std::string set_builtin(const Definitions& d, Record& r, std::uint32_t field, const Value& v) {
    UserId u = no_user;
    std::string why = builtin_user(d, v, u);
    if (!why.empty()) {
        return why;
    }
    switch (static_cast<Builtin>(field & ~builtin_field)) {
    case Builtin::Owner: r.owner = u; return {};
    case Builtin::Assignee: r.assignee = u; return {};
    case Builtin::Requester: r.requester = u; return {};
    default: return "this built-in field is read-only";
    }
}

std::string owners_text(const Definitions& d, const std::vector<OwnerDef>& owners) {
    if (owners.empty()) {
        return "owner";
    }
    std::string s;
    for (const OwnerDef& o : owners) {
        if (!s.empty()) {
            s += ", ";
        }
        switch (o.kind) {
        case dsl::OwnerKind::Owner: s += "owner"; break;
        case dsl::OwnerKind::Assignee: s += "assignee"; break;
        case dsl::OwnerKind::Requester: s += "requester"; break;
        case dsl::OwnerKind::User: s += "user " + d.users[o.index].id; break;
        case dsl::OwnerKind::Role: s += "role " + d.roles[o.index]; break;
        case dsl::OwnerKind::Team: s += "team " + d.teamspaces[o.index].name; break;
        case dsl::OwnerKind::Anyone: s += "anyone"; break;
        }
    }
    return s;
}

bool matches_owner(const Definitions& d, const OwnerDef& o, const Record& r, UserId user) {
    switch (o.kind) {
    case dsl::OwnerKind::Owner: return r.owner == user;
    case dsl::OwnerKind::Assignee: return r.assignee == user;
    case dsl::OwnerKind::Requester: return r.requester == user;
    case dsl::OwnerKind::User: return o.index == user;
    case dsl::OwnerKind::Role: return d.has_role(user, o.index);
    case dsl::OwnerKind::Team: return d.is_member(user, o.index);
    case dsl::OwnerKind::Anyone: return user != no_user;
    }
    return false;
}

bool may_perform(const Definitions& d, const TransitionDef& t, const Record& r, UserId user) {
    if (user == no_user || user == system_user) {
        return false;
    }
    if (t.owners.empty()) {
        return r.owner == user;
    }
    return std::any_of(t.owners.begin(), t.owners.end(),
                       [&](const OwnerDef& o) { return matches_owner(d, o, r, user); });
}

void add_recipients(const Definitions& d, const OwnerDef& o, const Record& r,
                    std::vector<UserId>& out) {
    const auto add = [&](UserId u) {
        if (u != no_user && u != system_user && std::find(out.begin(), out.end(), u) == out.end()) {
            out.push_back(u);
        }
    };
    switch (o.kind) {
    case dsl::OwnerKind::Owner: add(r.owner); break;
    case dsl::OwnerKind::Assignee: add(r.assignee); break;
    case dsl::OwnerKind::Requester: add(r.requester); break;
    case dsl::OwnerKind::User: add(o.index); break;
    case dsl::OwnerKind::Role:
        for (UserId u = 0; u < d.users.size(); ++u) {
            if (d.has_role(u, o.index)) {
                add(u);
            }
        }
        break;
    case dsl::OwnerKind::Team:
        for (UserId u : d.teamspaces[o.index].members) {
            add(u);
        }
        for (UserId u : d.teamspaces[o.index].admins) {
            add(u);
        }
        break;
    case dsl::OwnerKind::Anyone: break;
    }
}

void set_state(Record& r, const BlueprintDef& bp, std::uint32_t state) {
    Cell& c = r.fields[bp.field];
    c.kind = ValueKind::Text;
    c.i = 0;
    c.s.assign(bp.states[state]);
    c.aux = static_cast<std::int32_t>(state);
}

} // namespace

void schedule_state_timers(ChangeSet& cs, const BlueprintDef& bp, std::uint32_t bp_index,
                           const Record& r,
                           std::uint32_t state, std::int64_t now) {
    for (std::uint32_t t : bp.auto_on_enter[state]) {
        Timer tm;
        tm.record = r.id;
        tm.blueprint = bp_index;
        tm.kind = TimerKind::Transition;
        tm.index = t;
        tm.due = now + bp.transitions[t].after;
        tm.state_version = r.state_version;
        cs.timers_add.push_back(tm);
    }
    for (std::uint32_t k : bp.sla_on_enter[state]) {
        Timer tm;
        tm.record = r.id;
        tm.blueprint = bp_index;
        tm.kind = TimerKind::Sla;
        tm.index = k;
        tm.due = now + bp.slas[k].within;
        tm.state_version = r.state_version;
        cs.timers_add.push_back(tm);
    }
}

namespace {

/// Enters `state` (at the record's current version): timers of the old state go, new ones come.
void enter_state(ChangeSet& cs, const BlueprintDef& bp, std::uint32_t bp_index, Record& r,
                 std::uint32_t state, std::int64_t now, bool cancel_old) {
    set_state(r, bp, state);
    r.parallel_done = 0;
    r.state_version = r.version;
    r.state_entered_at = now;
    if (cancel_old) {
        cs.timers_cancel.push_back(r.id);
    }
    schedule_state_timers(cs, bp, bp_index, r, state, now);
}

Error refusal(ErrorCode code, std::string detail) { return make_error(code, std::move(detail)); }

} // namespace

// --- engine ------------------------------------------------------------------------------------------

Engine::Engine(std::shared_ptr<const Definitions> defs, Store& store, const Clock& clock,
               EngineOptions options)
    : store_(store), clock_(clock), options_(std::move(options)) {
    set_definitions(std::move(defs));
}

std::shared_ptr<const Definitions> Engine::definitions() const {
    std::lock_guard lock(versions_mu_);
    return versions_.back();
}

void Engine::set_definitions(std::shared_ptr<const Definitions> defs) {
    std::lock_guard lock(versions_mu_);
    store_.bind(defs);
    versions_.push_back(defs);
    current_.store(defs.get(), std::memory_order_release);
}

bool Engine::is_org_admin(const Definitions& d, UserId user) const {
    const std::string_view name = d.user_name(user);
    return std::find(options_.org_admins.begin(), options_.org_admins.end(), name) !=
           options_.org_admins.end();
}

bool Engine::can_see(const Definitions& d, const Record& r, UserId user) const {
    if (r.deleted) {
        return false;
    }
    const ModuleDef& m = d.modules[r.module];
    if (m.teamspace == npos32 || user == system_user) {
        return true;
    }
    return d.is_member(user, m.teamspace) || r.requester == user || is_org_admin(d, user);
}

std::vector<std::uint32_t> Engine::pending(const Record& r) const {
    std::vector<std::uint32_t> out;
    const Definitions* d = current();
    const BlueprintDef* bp = d->blueprint_of(r.module);
    if (bp == nullptr || !r.governed || r.fields[bp->field].aux < 0) {
        return out;
    }
    const auto state = static_cast<std::size_t>(r.fields[bp->field].aux);
    for (const ParallelDef& p : bp->parallels) {
        if (p.from[state] == 0) {
            continue;
        }
        for (std::uint32_t t : p.subs) {
            if ((r.parallel_done & bp->transitions[t].parallel_bit) == 0) {
                out.push_back(t);
            }
        }
    }
    return out;
}

Result<Record> Engine::get(RecordId id, UserId user) const {
    const auto d = definitions();
    Record r;
    if (!store_.read_record(id, r) || r.deleted) {
        return refusal(ErrorCode::NotFound, fmt::format("no record {}", id));
    }
    if (!can_see(*d, r, user)) {
        return refusal(ErrorCode::NotVisible, fmt::format("no record {}", id));
    }
    return r;
}

Result<std::vector<FieldAssign>> Engine::resolve_inputs(std::uint32_t module,
                                                        const std::vector<NamedInput>& inputs) const {
    const auto d = definitions();
    const ModuleDef& m = d->modules[module];
    std::vector<FieldAssign> out;
    Error err;
    for (const NamedInput& in : inputs) {
        const std::uint32_t f = m.find_field(in.field);
        if (f == npos32) {
            if (err.items.empty()) {
                err.code = ErrorCode::UnknownField;
            }
            err.add(in.field, fmt::format("{} has no field \"{}\"", m.name, in.field));
            continue;
        }
        const FieldDef& fd = m.fields[f];
        Value v;
        bool ok = true;
        switch (in.value.kind) {
        case Input::Kind::Null: break;
        case Input::Kind::Bool:
            v = Value::boolean(in.value.boolean);
            ok = fd.value_kind == ValueKind::Boolean;
            break;
        case Input::Kind::Number: {
            const auto n = parse_decimal(in.value.text);
            ok = n.has_value() && fd.value_kind == ValueKind::Number;
            v = Value::number_scaled(n.value_or(0));
            break;
        }
        case Input::Kind::String:
            switch (fd.value_kind) {
            case ValueKind::Number: {
                const auto n = parse_decimal(in.value.text);
                ok = n.has_value() && fd.kind == dsl::FieldKind::Currency;
                v = Value::number_scaled(n.value_or(0));
                break;
            }
            case ValueKind::Date: {
                const auto n = parse_date(in.value.text);
                ok = n.has_value();
                v = Value::date(n.value_or(0));
                break;
            }
            case ValueKind::DateTime: {
                const auto n = parse_datetime(in.value.text);
                ok = n.has_value();
                v = Value::datetime(n.value_or(0));
                break;
            }
            case ValueKind::User: {
                const std::uint32_t u = d->find_user(in.value.text);
                ok = u != npos32;
                v = Value::user(u);
                break;
            }
            case ValueKind::Record: {
                const auto n = parse_decimal(in.value.text);
                ok = n.has_value() && *n > 0 && *n % decimal_scale == 0;
                v = Value::record(n.value_or(0) / decimal_scale);
                break;
            }
            case ValueKind::Text: v = Value::text(in.value.text); break;
            default: ok = false; break;
            }
            break;
        }
        if (!ok) {
            if (err.items.empty()) {
                err.code = ErrorCode::WrongType;
            }
            err.add(in.field, fmt::format("this value does not fit {} (a {} field)", in.field,
                                          value_kind_name(fd.value_kind)));
            continue;
        }
        out.push_back({f, v});
    }
    if (!err.items.empty()) {
        err.detail = err.code == ErrorCode::UnknownField ? "unknown field" : "wrong type";
        return err;
    }
    return out;
}

// --- building new records ------------------------------------------------------------------------

namespace {

struct NewRecord {
    std::uint32_t module = 0;
    UserId owner = no_user;
    UserId created_by = no_user;
    UserId requester = no_user;
    UserId assignee = no_user; ///< set explicitly: no routing
    bool request = false;
};

} // namespace

/// Fills a new record from values already coerced into `rec.fields` (with `supplied` marking
/// which were given): defaults, required, unique claims, entry criteria, initial state, timers,
/// routing for requests, history. Appends the write to the change set.
static Status finish_new_record(const Definitions& d, ChangeSet& cs, Store& store, Record& rec,
                                const std::vector<std::uint8_t>& supplied, const NewRecord& nr,
                                std::int64_t now, UserId performer,
                                Result<UserId> (*route)(const Definitions&, ChangeSet&, Store&,
                                                const Record&, std::int64_t)) {
    const ModuleDef& m = d.modules[nr.module];
    PendingReader reader(cs, store);
    rec.module = nr.module;
    rec.owner = nr.owner;
    rec.created_by = nr.created_by;
    rec.requester = nr.requester;
    rec.created_at = rec.updated_at = now;
    rec.version = 1;
    rec.deleted = false;
    rec.parallel_done = 0;
    rec.state_version = 0;
    rec.state_entered_at = 0;
    rec.governed = false;
    // Defaults, in field order; a default may read fields before it.
    for (std::size_t f = 0; f < m.fields.size(); ++f) {
        if (supplied[f] != 0 || m.fields[f].default_value.empty()) {
            continue;
        }
        const EvalEnv env = make_env(d, &rec, performer, now, &reader, nullptr);
        const Value v = evaluate(m.fields[f].default_value, env);
        std::string why = coerce(d, m.fields[f], v, rec.fields[f], reader);
        if (!why.empty()) {
            return refusal(ErrorCode::WrongType, "default of " + m.fields[f].name + ": " + why);
        }
    }
    const BlueprintDef* bp = d.blueprint_of(nr.module);
    if (bp != nullptr) {
        const EvalEnv env = make_env(d, &rec, performer, now, &reader, nullptr);
        rec.governed = holds(bp->when, env);
        if (rec.governed) {
            const Cell& st = rec.fields[bp->field];
            if (supplied[bp->field] != 0 && !st.empty() &&
                st.aux != static_cast<std::int32_t>(bp->initial)) {
                Error e = refusal(ErrorCode::GovernedByBlueprint,
                                  fmt::format("{} is governed by blueprint {}: a new record "
                                              "starts in \"{}\"",
                                              m.fields[bp->field].name, bp->name,
                                              bp->states[bp->initial]));
                e.add(m.fields[bp->field].name, e.detail);
                return e;
            }
            set_state(rec, *bp, bp->initial);
            rec.state_version = 1;
            rec.state_entered_at = now;
            schedule_state_timers(cs, *bp, m.blueprint, rec, bp->initial, now);
        }
    }
    Error missing;
    for (std::size_t f = 0; f < m.fields.size(); ++f) {
        if (m.fields[f].required && rec.fields[f].empty()) {
            if (missing.items.empty()) {
                missing = refusal(ErrorCode::RequiredMissing, "required fields are missing");
            }
            missing.add(m.fields[f].name, fmt::format("{} is required", m.fields[f].name));
        }
    }
    if (!missing.items.empty()) {
        return missing;
    }
    for (std::size_t f = 0; f < m.fields.size(); ++f) {
        if (!m.fields[f].unique || rec.fields[f].empty()) {
            continue;
        }
        std::string key = key_text(d, rec.fields[f]);
        const bool pending_clash =
            std::any_of(cs.claims.begin(), cs.claims.end(), [&](const UniqueKey& k) {
                return k.module == nr.module && k.field == f && k.key == key;
            });
        if (pending_clash || store.unique_taken(nr.module, static_cast<std::uint32_t>(f), key, 0)) {
            Error e = refusal(ErrorCode::NotUnique,
                              fmt::format("{} \"{}\" is already taken", m.fields[f].name, key));
            e.add(m.fields[f].name, e.detail);
            return e;
        }
        UniqueKey& k = cs.claims.add();
        k.module = nr.module;
        k.field = static_cast<std::uint32_t>(f);
        k.key = std::move(key);
        k.record = rec.id;
    }
    rec.assignee = nr.assignee;
    if (nr.request && route != nullptr && nr.assignee == no_user) {
        Result<UserId> routed = route(d, cs, store, rec, now);
        if (!routed) {
            return std::move(routed.error());
        }
        rec.assignee = *routed;
        if (rec.assignee != no_user) {
            rec.owner = rec.assignee;
        }
    }
    HistoryEntry& h = cs.history.add();
    h.record = rec.id;
    h.module = rec.module;
    h.kind = HistoryKind::Created;
    h.by = performer;
    h.at = now;
    h.version = 1;
    h.to = bp != nullptr && rec.governed ? static_cast<std::int32_t>(bp->initial) : -1;
    RecordWrite& w = cs.writes.add();
    // Moved in: `rec` gets the write's old buffers (callers read nothing from it afterwards).
    std::swap(w.record, rec);
    w.expected_version = 0;
    return Ok{};
}

// --- routing -------------------------------------------------------------------------------------------

// Set while a dry run evaluates: round-robin routing peeks at the cursor instead of taking a
// turn (a dry run commits nothing, so it must not move a cursor either).
thread_local bool peek_turns = false;

static Result<UserId> route_request(const Definitions& d, ChangeSet& cs, Store& store,
                                    const Record& rec, std::int64_t now) {
    const ModuleDef& m = d.modules[rec.module];
    if (m.teamspace == npos32) {
        return no_user;
    }
    const std::vector<UserId>& members = d.teamspaces[m.teamspace].everyone;
    // A turn is taken from the store on its own (`Store::take_turn`), not moved inside this
    // operation's commit: no lock on the cursor is held while the record's transaction runs, and
    // an operation that does not commit skips its turn. A dry run only peeks.
    const auto round_robin = [&](const std::string& key,
                                 const std::vector<UserId>& among) -> Result<UserId> {
        std::int64_t at = 0;
        if (peek_turns) {
            CursorUpdate* pending = nullptr;
            for (CursorUpdate& c : cs.cursors) {
                if (c.key == key) {
                    pending = &c;
                }
            }
            if (pending != nullptr) {
                at = pending->value;
                pending->value = at + 1;
            } else {
                at = store.cursor(key);
                CursorUpdate& c = cs.cursors.add();
                c.key = key;
                c.expected = at;
                c.value = at + 1;
            }
        } else {
            Result<std::int64_t> turn = store.take_turn(key);
            if (!turn) {
                Error e = std::move(turn.error());
                e.detail = fmt::format("routing {}: {}", m.name, e.detail);
                return e;
            }
            at = *turn;
        }
        const auto n = static_cast<std::int64_t>(among.size());
        return among[static_cast<std::size_t>(((at % n) + n) % n)];
    };
    PendingReader reader(cs, store);
    for (const RouteRuleDef& rule : m.routes) {
        const EvalEnv env = make_env(d, &rec, rec.requester, now, &reader, nullptr);
        if (!holds(rule.when, env)) {
            continue;
        }
        switch (rule.kind) {
        case dsl::AssignKind::User:
            if (!rule.users.empty()) {
                return rule.users[0];
            }
            break;
        case dsl::AssignKind::Role: {
            thread_local std::vector<UserId> with_role;
            with_role.clear();
            for (UserId u : members) {
                if (d.has_role(u, rule.role)) {
                    with_role.push_back(u);
                }
            }
            if (!with_role.empty()) {
                return round_robin(rule.cursor_key, with_role);
            }
            break;
        }
        case dsl::AssignKind::RoundRobinMembers:
            if (!members.empty()) {
                return round_robin(rule.cursor_key, members);
            }
            break;
        case dsl::AssignKind::RoundRobinUsers:
            if (!rule.users.empty()) {
                return round_robin(rule.cursor_key, rule.users);
            }
            break;
        case dsl::AssignKind::LeastLoadedMembers: {
            if (members.empty()) {
                break;
            }
            const BlueprintDef* bp = d.blueprint_of(rec.module);
            static const std::vector<std::uint8_t> none;
            UserId best = no_user;
            std::int64_t best_load = 0;
            for (UserId u : members) {
                std::int64_t load = store.count_open_assigned(
                    rec.module, u, bp != nullptr ? bp->field : npos32,
                    bp != nullptr ? bp->terminal : none);
                // Requests routed earlier in this same operation count too.
                for (const RecordWrite& w : cs.writes) {
                    if (w.expected_version == 0 && w.record.module == rec.module &&
                        w.record.assignee == u) {
                        ++load;
                    }
                }
                if (best == no_user || load < best_load) {
                    best = u;
                    best_load = load;
                }
            }
            return best;
        }
        }
    }
    // Never unassigned while the teamspace has members.
    if (!members.empty()) {
        return round_robin("route:" + m.name + ":fallback", members);
    }
    return no_user;
}

// --- actions ---------------------------------------------------------------------------------------------

namespace {

struct ActionRun {
    const Definitions& d;
    ChangeSet& cs;
    Store& store;
    Record& work;
    std::vector<RecordId>& slots;
    std::vector<std::size_t>& webhooks;
    UserId performer;
    std::int64_t now;
};

Status run_actions(ActionRun& run, const std::vector<ActionDef>& actions) {
    const Definitions& d = run.d;
    PendingReader reader(run.cs, run.store);
    const ModuleDef& m = d.modules[run.work.module];
    for (const ActionDef& a : actions) {
        const EvalEnv env = make_env(d, &run.work, run.performer, run.now, &reader, &run.slots);
        switch (a.kind) {
        case dsl::ActionKind::Set: {
            const Value v = evaluate(a.value, env);
            if ((a.field & builtin_field) != 0) {
                std::string why = set_builtin(d, run.work, a.field, v);
                if (!why.empty()) {
                    return refusal(ErrorCode::WrongType, "set: " + why);
                }
                break;
            }
            std::string why = coerce(d, m.fields[a.field], v, run.work.fields[a.field], reader);
            if (!why.empty()) {
                Error e = refusal(ErrorCode::WrongType, "set " + m.fields[a.field].name + ": " + why);
                e.add(m.fields[a.field].name, e.detail);
                return e;
            }
            break;
        }
        case dsl::ActionKind::Notify: {
            thread_local std::vector<UserId> to;
            to.clear();
            add_recipients(d, a.recipient, run.work, to);
            for (UserId u : to) {
                OutboxRow& o = run.cs.outbox.add();
                o.kind = OutboxKind::Notification;
                o.record = run.work.id;
                o.module = run.work.module;
                o.user = u;
                render_message(a.message, env, o.text);
                o.created_at = run.now;
            }
            break;
        }
        case dsl::ActionKind::Webhook: {
            OutboxRow& o = run.cs.outbox.add();
            o.kind = OutboxKind::Webhook;
            o.record = run.work.id;
            o.module = run.work.module;
            o.url = a.url;
            o.created_at = run.now;
            run.webhooks.push_back(run.cs.outbox.size() - 1);
            break;
        }
        case dsl::ActionKind::Request:
        case dsl::ActionKind::Create: {
            const ModuleDef& tm = d.modules[a.module];
            thread_local Record rec; // buffers reused from one operation to the next
            thread_local std::vector<std::uint8_t> supplied;
            rec.id = run.store.allocate_id();
            if (rec.id == 0) {
                return make_error(ErrorCode::StoreUnavailable,
                                  "the store could not allocate a record id");
            }
            rec.fields.assign(tm.fields.size(), Cell{});
            supplied.assign(tm.fields.size(), 0);
            Record builtins;
            builtins.owner = run.performer == system_user ? run.work.owner : run.performer;
            for (const auto& [f, prog] : a.assignments) {
                const Value v = evaluate(prog, env);
                if ((f & builtin_field) != 0) {
                    std::string why = set_builtin(d, builtins, f, v);
                    if (!why.empty()) {
                        return refusal(ErrorCode::WrongType, tm.name + ": " + why);
                    }
                    continue;
                }
                std::string why = coerce(d, tm.fields[f], v, rec.fields[f], reader);
                if (!why.empty()) {
                    Error e = refusal(ErrorCode::WrongType,
                                      fmt::format("{} {}: {}",
                                                  a.kind == dsl::ActionKind::Create ? "create"
                                                                                    : "request",
                                                  tm.name, why));
                    e.add(tm.fields[f].name, e.detail);
                    return e;
                }
                supplied[f] = 1;
            }
            NewRecord nr;
            nr.module = a.module;
            nr.owner = builtins.owner;
            nr.assignee = builtins.assignee;
            nr.created_by = run.performer;
            if (a.kind == dsl::ActionKind::Request) {
                nr.request = true;
                nr.requester = run.performer;
            }
            const RecordId new_id = rec.id;
            Status st = finish_new_record(d, run.cs, run.store, rec, supplied, nr, run.now,
                                          run.performer, &route_request);
            if (!st) {
                Error e = std::move(st.error());
                e.detail = fmt::format("{} {}: {}",
                                       a.kind == dsl::ActionKind::Create ? "create" : "request",
                                       tm.name, e.detail);
                return e;
            }
            if (a.slot >= 0) {
                if (run.slots.size() <= static_cast<std::size_t>(a.slot)) {
                    run.slots.resize(static_cast<std::size_t>(a.slot) + 1, 0);
                }
                run.slots[static_cast<std::size_t>(a.slot)] = new_id;
            }
            break;
        }
        }
    }
    return Ok{};
}

} // namespace

// --- create / update / request -------------------------------------------------------------------

namespace {

OpContext& thread_ctx_storage() {
    thread_local OpContext ctx;
    return ctx;
}

void finish_webhooks(const Definitions& d, OpContext& ctx) {
    // Payloads are the record as committed by this operation.
    for (std::size_t k : ctx.webhooks) {
        OutboxRow& o = ctx.cs.outbox[k];
        for (const RecordWrite& w : ctx.cs.writes) {
            if (w.record.id == o.record) {
                o.payload.clear();
                o.payload.reserve(256 + 48 * d.modules[w.record.module].fields.size());
                append_record_json(o.payload, d, w.record);
            }
        }
    }
}

} // namespace

Result<Record> Engine::create(std::uint32_t module, UserId user,
                              const std::vector<FieldAssign>& fields) {
    const Definitions& d = *current();
    if (module >= d.modules.size()) {
        return refusal(ErrorCode::NotFound, "no such module");
    }
    const ModuleDef& m = d.modules[module];
    if (m.teamspace != npos32 && user != system_user && !d.is_member(user, m.teamspace) &&
        !is_org_admin(d, user)) {
        return refusal(ErrorCode::NotVisible,
                       fmt::format("module {} belongs to teamspace {}", m.name,
                                   d.teamspaces[m.teamspace].name));
    }
    for (int attempt = 0;; ++attempt) {
        OpContext& ctx = thread_ctx_storage();
        ctx.begin(clock_.now());
        PendingReader reader(ctx.cs, store_);
        Record& rec = ctx.fresh;
        rec.fields.assign(m.fields.size(), Cell{});
        std::vector<std::uint8_t>& supplied = ctx.supplied;
        supplied.assign(m.fields.size(), 0);
        Error err;
        Record builtins;
        builtins.owner = user;
        for (const FieldAssign& fa : fields) {
            if ((fa.field & builtin_field) != 0) {
                std::string why = set_builtin(d, builtins, fa.field, fa.value);
                if (!why.empty()) {
                    err.code = ErrorCode::WrongType;
                    err.add("owner", why);
                }
                continue;
            }
            if (fa.field >= m.fields.size()) {
                return refusal(ErrorCode::UnknownField, "unknown field");
            }
            std::string why = coerce(d, m.fields[fa.field], fa.value, rec.fields[fa.field], reader);
            if (!why.empty()) {
                err.code = ErrorCode::WrongType;
                err.add(m.fields[fa.field].name, why);
            }
            supplied[fa.field] = 1;
        }
        if (!err.items.empty()) {
            err.detail = "a value does not fit its field";
            return err;
        }
        rec.id = store_.allocate_id();
        if (rec.id == 0) {
            return make_error(ErrorCode::StoreUnavailable,
                              "the store could not allocate a record id");
        }
        NewRecord nr;
        nr.module = module;
        nr.owner = builtins.owner;
        nr.assignee = builtins.assignee;
        nr.requester = builtins.requester;
        nr.created_by = user;
        Status st = finish_new_record(d, ctx.cs, store_, rec, supplied, nr, ctx.now, user, nullptr);
        if (!st) {
            return std::move(st.error());
        }
        finish_webhooks(d, ctx);
        Record created = ctx.cs.writes[0].record; // the store takes the change set's own copy
        Status c = store_.commit_and_take(ctx.cs);
        if (!c) {
            if (c.error().code == ErrorCode::Conflict && attempt < options_.conflict_retries) {
                continue;
            }
            return std::move(c.error());
        }
        return created;
    }
}

Result<Record> Engine::file_request(std::uint32_t team, std::uint32_t module, UserId user,
                                    const std::vector<FieldAssign>& fields) {
    const auto defs = definitions();
    const Definitions& d = *defs;
    if (module >= d.modules.size() || team >= d.teamspaces.size() ||
        d.modules[module].teamspace != team) {
        return refusal(ErrorCode::NotFound, "no such team module");
    }
    const ModuleDef& m = d.modules[module];
    if (!m.accepts_requests) {
        return refusal(ErrorCode::NotAllowed, fmt::format("{} does not accept requests", m.name));
    }
    const bool allowed = std::any_of(m.accepts_from.begin(), m.accepts_from.end(),
                                     [&](std::uint32_t t) { return d.is_member(user, t); });
    if (!allowed) {
        std::string teams;
        for (std::uint32_t t : m.accepts_from) {
            teams += teams.empty() ? "" : ", ";
            teams += d.teamspaces[t].name;
        }
        return refusal(ErrorCode::NotAllowed,
                       fmt::format("{}.{} accepts requests only from members of {}",
                                   d.teamspaces[team].name, m.name, teams));
    }
    Error bad = refusal(ErrorCode::NotRequestable, "fields a request may not fill");
    for (const FieldAssign& fa : fields) {
        if ((fa.field & builtin_field) != 0) {
            bad.add("", "built-in fields are set by routing, not by the requester");
            continue;
        }
        if (fa.field >= m.fields.size()) {
            return refusal(ErrorCode::UnknownField, "unknown field");
        }
        if (m.requestable[fa.field] == 0) {
            bad.add(m.fields[fa.field].name,
                    fmt::format("{} is not a request field of {}", m.fields[fa.field].name, m.name));
        }
    }
    if (!bad.items.empty()) {
        return bad;
    }
    for (int attempt = 0;; ++attempt) {
        OpContext& ctx = thread_ctx_storage();
        ctx.begin(clock_.now());
        PendingReader reader(ctx.cs, store_);
        Record rec;
        rec.fields.assign(m.fields.size(), Cell{});
        std::vector<std::uint8_t> supplied(m.fields.size(), 0);
        Error err;
        for (const FieldAssign& fa : fields) {
            std::string why = coerce(d, m.fields[fa.field], fa.value, rec.fields[fa.field], reader);
            if (!why.empty()) {
                err.code = ErrorCode::WrongType;
                err.add(m.fields[fa.field].name, why);
            }
            supplied[fa.field] = 1;
        }
        if (!err.items.empty()) {
            err.detail = "a value does not fit its field";
            return err;
        }
        rec.id = store_.allocate_id();
        if (rec.id == 0) {
            return make_error(ErrorCode::StoreUnavailable,
                              "the store could not allocate a record id");
        }
        NewRecord nr;
        nr.module = module;
        nr.owner = user;
        nr.created_by = user;
        nr.requester = user;
        nr.request = true;
        Status st =
            finish_new_record(d, ctx.cs, store_, rec, supplied, nr, ctx.now, user, &route_request);
        if (!st) {
            return std::move(st.error());
        }
        Status c = store_.commit(ctx.cs);
        if (!c) {
            if (c.error().code == ErrorCode::Conflict && attempt < options_.conflict_retries) {
                continue;
            }
            return std::move(c.error());
        }
        return ctx.cs.writes[0].record;
    }
}

Result<Record> Engine::update(RecordId id, UserId user, const std::vector<FieldAssign>& fields,
                              std::int64_t expected_version) {
    const auto defs = definitions();
    const Definitions& d = *defs;
    for (int attempt = 0;; ++attempt) {
        OpContext& ctx = thread_ctx_storage();
        ctx.begin(clock_.now());
        Record& r = ctx.work;
        if (!store_.read_record(id, r) || r.deleted) {
            return refusal(ErrorCode::NotFound, fmt::format("no record {}", id));
        }
        if (!can_see(d, r, user)) {
            return refusal(ErrorCode::NotVisible, fmt::format("no record {}", id));
        }
        if (expected_version != 0 && r.version != expected_version) {
            return refusal(ErrorCode::Conflict,
                           fmt::format("record {} is at version {}, not {}", id, r.version,
                                       expected_version));
        }
        const ModuleDef& m = d.modules[r.module];
        const BlueprintDef* bp = d.blueprint_of(r.module);
        PendingReader reader(ctx.cs, store_);
        HistoryEntry& h = ctx.cs.history.add();
        Error err;
        const std::int64_t old_version = r.version;
        const bool was_governed = r.governed;
        const std::int32_t old_state = bp != nullptr ? r.fields[bp->field].aux : -1;
        for (const FieldAssign& fa : fields) {
            if ((fa.field & builtin_field) != 0) {
                std::string why = set_builtin(d, r, fa.field, fa.value);
                if (!why.empty()) {
                    return refusal(ErrorCode::WrongType, why);
                }
                continue;
            }
            if (fa.field >= m.fields.size()) {
                return refusal(ErrorCode::UnknownField, "unknown field");
            }
            Cell after;
            std::string why = coerce(d, m.fields[fa.field], fa.value, after, reader);
            if (!why.empty()) {
                if (err.items.empty()) {
                    err.code = ErrorCode::WrongType;
                }
                err.add(m.fields[fa.field].name, why);
                continue;
            }
            if (bp != nullptr && r.governed && fa.field == bp->field &&
                !(after == r.fields[fa.field])) {
                Error e = refusal(ErrorCode::GovernedByBlueprint,
                                  fmt::format("{} is governed by blueprint {}: it changes only "
                                              "through transitions",
                                              m.fields[fa.field].name, bp->name));
                e.add(m.fields[fa.field].name, e.detail);
                return e;
            }
            if (after == r.fields[fa.field]) {
                continue;
            }
            FieldChange& fc = h.changes.emplace_back();
            fc.field = fa.field;
            fc.before = r.fields[fa.field];
            fc.after = after;
            r.fields[fa.field] = std::move(after);
        }
        if (!err.items.empty()) {
            err.detail = "a value does not fit its field";
            return err;
        }
        Error missing = refusal(ErrorCode::RequiredMissing, "required fields are missing");
        for (const FieldChange& fc : h.changes) {
            if (m.fields[fc.field].required && fc.after.empty()) {
                missing.add(m.fields[fc.field].name,
                            fmt::format("{} is required", m.fields[fc.field].name));
            }
        }
        if (!missing.items.empty()) {
            return missing;
        }
        for (const FieldChange& fc : h.changes) {
            const FieldDef& f = m.fields[fc.field];
            if (!f.unique) {
                continue;
            }
            if (!fc.after.empty()) {
                std::string key = key_text(d, fc.after);
                if (store_.unique_taken(r.module, fc.field, key, r.id)) {
                    Error e = refusal(ErrorCode::NotUnique,
                                      fmt::format("{} \"{}\" is already taken", f.name, key));
                    e.add(f.name, e.detail);
                    return e;
                }
                UniqueKey& k = ctx.cs.claims.add();
                k.module = r.module;
                k.field = fc.field;
                k.key = std::move(key);
                k.record = r.id;
            }
            if (!fc.before.empty()) {
                UniqueKey& k = ctx.cs.releases.add();
                k.module = r.module;
                k.field = fc.field;
                k.key = key_text(d, fc.before);
                k.record = r.id;
            }
        }
        r.version = old_version + 1;
        r.updated_at = ctx.now;
        if (bp != nullptr) {
            const EvalEnv env = make_env(d, &r, user, ctx.now, &reader, nullptr);
            r.governed = holds(bp->when, env);
            if (r.governed && !was_governed) {
                // The record becomes governed: it enters its current state (or the initial one).
                std::uint32_t st = r.fields[bp->field].aux >= 0
                                       ? static_cast<std::uint32_t>(r.fields[bp->field].aux)
                                       : bp->initial;
                enter_state(ctx.cs, *bp, m.blueprint, r, st, ctx.now, true);
            } else if (!r.governed && was_governed) {
                ctx.cs.timers_cancel.push_back(r.id);
            }
        }
        h.record = r.id;
        h.module = r.module;
        h.kind = HistoryKind::Updated;
        h.by = user;
        h.at = ctx.now;
        h.version = r.version;
        h.from = old_state;
        h.to = bp != nullptr ? r.fields[bp->field].aux : -1;
        RecordWrite& w = ctx.cs.writes.add();
        w.record = r;
        w.expected_version = old_version;
        Status c = store_.commit(ctx.cs);
        if (!c) {
            if (c.error().code == ErrorCode::Conflict && expected_version == 0 &&
                attempt < options_.conflict_retries) {
                continue;
            }
            return std::move(c.error());
        }
        return ctx.cs.writes[0].record;
    }
}

// --- transitions ------------------------------------------------------------------------------------

Result<TransitionOutcome> Engine::perform(const Definitions& d, OpContext& ctx,
                                          const TransitionCall& call, bool automatic,
                                          DryRunResult* dry) {
    Record& work = ctx.work;
    if (call.current != nullptr && call.current_defs == &d && call.current->id == call.record) {
        work = *call.current;
    } else if (!store_.read_record(call.record, work)) {
        return refusal(ErrorCode::NotFound, fmt::format("no record {}", call.record));
    }
    if (work.deleted) {
        return refusal(ErrorCode::NotFound, fmt::format("no record {}", call.record));
    }
    if (!automatic && !can_see(d, work, call.user)) {
        return refusal(ErrorCode::NotVisible, fmt::format("no record {}", call.record));
    }
    const ModuleDef& m = d.modules[work.module];
    const BlueprintDef* bpp = d.blueprint_of(work.module);
    if (bpp == nullptr) {
        return refusal(ErrorCode::NoSuchTransition,
                       fmt::format("module {} has no blueprint", m.name));
    }
    const BlueprintDef& bp = *bpp;
    std::uint32_t ti = call.transition;
    if (ti == npos32 || ti >= bp.transitions.size()) {
        ti = bp.find_transition(call.name);
    }
    if (ti == npos32) {
        if (bp.parallel_index.count(call.name) != 0) {
            return refusal(ErrorCode::NoSuchTransition,
                           fmt::format("\"{}\" is a parallel group: perform its transitions",
                                       call.name));
        }
        return refusal(ErrorCode::NoSuchTransition,
                       fmt::format("blueprint {} has no transition \"{}\"", bp.name, call.name));
    }
    const TransitionDef& t = bp.transitions[ti];
    if (call.expected_version != 0 && work.version != call.expected_version) {
        return refusal(ErrorCode::Conflict,
                       fmt::format("record {} is at version {}, not {}", work.id, work.version,
                                   call.expected_version));
    }
    if (!work.governed) {
        Error e = refusal(ErrorCode::CriteriaFailed,
                          fmt::format("the record does not meet the entry criteria of blueprint {}",
                                      bp.name));
        e.add("", fmt::format("entry criteria not met: {}", bp.when.source));
        return e;
    }
    const std::int32_t from = work.fields[bp.field].aux;
    if (from < 0 || t.from[static_cast<std::size_t>(from)] == 0) {
        return refusal(ErrorCode::NoSuchTransition,
                       fmt::format("\"{}\" is not available from state \"{}\"", t.name,
                                   from < 0 ? std::string_view("")
                                            : std::string_view(bp.states[static_cast<std::size_t>(from)])));
    }
    if (t.parallel != npos32 && (work.parallel_done & t.parallel_bit) != 0) {
        return refusal(ErrorCode::AlreadyDone, fmt::format("\"{}\" was already done", t.name));
    }
    const UserId performer = automatic ? system_user : call.user;
    if (!automatic) {
        if (t.after >= 0 && t.owners.empty()) {
            return refusal(ErrorCode::NotOwner,
                           fmt::format("\"{}\" is automatic: only the system performs it", t.name));
        }
        if (!may_perform(d, t, work, call.user)) {
            Error e = refusal(ErrorCode::NotOwner,
                              fmt::format("only {} may perform \"{}\"", owners_text(d, t.owners),
                                          t.name));
            e.add("", e.detail);
            return e;
        }
    }
    PendingReader reader(ctx.cs, store_);
    {
        const EvalEnv env = make_env(d, &work, performer, ctx.now, &reader, nullptr);
        Error e;
        for (const Program& w : t.when) {
            if (!holds(w, env)) {
                e.add(w.first_field, fmt::format("criteria not met: {}", w.source));
            }
        }
        if (!e.items.empty()) {
            e.code = ErrorCode::CriteriaFailed;
            e.detail = fmt::format("the criteria of \"{}\" are not met", t.name);
            return e;
        }
    }
    const std::int64_t old_version = work.version;
    // Actions may add history entries (created records): address this one by index.
    const std::size_t hi = ctx.cs.history.size();
    ctx.cs.history.add();
    const auto entry = [&ctx, hi]() -> HistoryEntry& { return ctx.cs.history[hi]; };
    HistoryEntry* hp = &entry();
    // During: supplied fields, then require, validations, checklist, note — reported together.
    Error err;
    const auto fail = [&](ErrorCode code, std::string field, std::string msg) {
        if (err.items.empty()) {
            err.code = code;
        }
        err.add(std::move(field), std::move(msg));
    };
    for (const FieldAssign& fa : call.fields) {
        if ((fa.field & builtin_field) != 0) {
            std::string why = set_builtin(d, work, fa.field, fa.value);
            if (!why.empty()) {
                return refusal(ErrorCode::WrongType, why);
            }
            continue;
        }
        if (fa.field >= m.fields.size()) {
            return refusal(ErrorCode::UnknownField, "unknown field");
        }
        const FieldDef& f = m.fields[fa.field];
        if (fa.field == bp.field) {
            Error e = refusal(ErrorCode::GovernedByBlueprint,
                              fmt::format("{} is governed by blueprint {}", f.name, bp.name));
            e.add(f.name, e.detail);
            return e;
        }
        thread_local Cell after;
        std::string why = coerce(d, f, fa.value, after, reader);
        if (!why.empty()) {
            Error e = refusal(ErrorCode::WrongType, why);
            e.add(f.name, why);
            return e;
        }
        FieldChange& fc = hp->changes.emplace_back();
        fc.field = fa.field;
        fc.before = work.fields[fa.field];
        fc.after = after;
        work.fields[fa.field] = after;
        if (f.required && after.empty()) {
            fail(ErrorCode::RequiredMissing, f.name, fmt::format("{} is required", f.name));
        }
    }
    for (std::uint32_t f : t.require) {
        if (work.fields[f].empty() ||
            (work.fields[f].kind == ValueKind::Text && work.fields[f].s.empty())) {
            fail(ErrorCode::RequiredMissing, m.fields[f].name,
                 fmt::format("{} is required", m.fields[f].name));
        }
    }
    {
        const EvalEnv env = make_env(d, &work, performer, ctx.now, &reader, nullptr);
        for (const ValidationDef& v : t.validations) {
            if (!holds(v.condition, env)) {
                std::string msg;
                render_message(v.message, env, msg);
                fail(ErrorCode::ValidationFailed, v.condition.first_field, std::move(msg));
            }
        }
    }
    for (const std::string& item : t.checklist) {
        if (std::find(call.checklist.begin(), call.checklist.end(), item) == call.checklist.end()) {
            fail(ErrorCode::ChecklistIncomplete, "checklist",
                 fmt::format("checklist item \"{}\" is not ticked", item));
        }
    }
    if (t.note_required && call.note.empty() && !automatic) {
        fail(ErrorCode::NoteRequired, "note", "a note is required");
    }
    if (!err.items.empty()) {
        switch (err.code) {
        case ErrorCode::RequiredMissing: err.detail = "required fields are missing"; break;
        case ErrorCode::ValidationFailed: err.detail = "validation failed"; break;
        case ErrorCode::ChecklistIncomplete: err.detail = "the checklist is incomplete"; break;
        default: err.detail = "a note is required"; break;
        }
        return err;
    }
    for (const FieldChange& fc : hp->changes) {
        const FieldDef& f = m.fields[fc.field];
        if (!f.unique || fc.after == fc.before) {
            continue;
        }
        if (!fc.after.empty()) {
            std::string key = key_text(d, fc.after);
            if (store_.unique_taken(work.module, fc.field, key, work.id)) {
                Error e = refusal(ErrorCode::NotUnique,
                                  fmt::format("{} \"{}\" is already taken", f.name, key));
                e.add(f.name, e.detail);
                return e;
            }
            UniqueKey& k = ctx.cs.claims.add();
            k.module = work.module;
            k.field = fc.field;
            k.key = std::move(key);
            k.record = work.id;
        }
        if (!fc.before.empty()) {
            UniqueKey& k = ctx.cs.releases.add();
            k.module = work.module;
            k.field = fc.field;
            k.key = key_text(d, fc.before);
            k.record = work.id;
        }
    }
    // Target.
    std::uint32_t to = static_cast<std::uint32_t>(from);
    bool moved = false;
    if (t.parallel != npos32) {
        const ParallelDef& p = bp.parallels[t.parallel];
        work.parallel_done |= t.parallel_bit;
        if ((work.parallel_done & p.mask) == p.mask) {
            to = p.to;
            moved = true;
        }
    } else {
        const EvalEnv env = make_env(d, &work, performer, ctx.now, &reader, nullptr);
        for (const TargetDef& tg : t.targets) {
            if (holds(tg.when, env)) {
                to = tg.state;
                moved = true;
                break;
            }
        }
        if (!moved) {
            return refusal(ErrorCode::Internal, fmt::format("\"{}\" has no target", t.name));
        }
    }
    work.version = old_version + 1;
    work.updated_at = ctx.now;
    if (moved) {
        set_state(work, bp, to);
        work.parallel_done = 0;
        work.state_version = work.version;
        work.state_entered_at = ctx.now;
        ctx.cs.timers_cancel.push_back(work.id);
        schedule_state_timers(ctx.cs, bp, m.blueprint, work, to, ctx.now);
    }
    // After: actions in order (a parallel group's own actions once it moves).
    ActionRun run{d, ctx.cs, store_, work, ctx.slots, ctx.webhooks, performer, ctx.now};
    ctx.slots.assign(t.slot_names.size(), 0);
    Status st = run_actions(run, t.actions);
    if (st && moved && t.parallel != npos32) {
        ctx.slots.assign(bp.parallels[t.parallel].slot_names.size(), 0);
        st = run_actions(run, bp.parallels[t.parallel].actions);
    }
    if (!st) {
        return std::move(st.error());
    }
    HistoryEntry& h = entry();
    h.record = work.id;
    h.module = work.module;
    h.kind = automatic ? HistoryKind::Automatic
                       : (t.parallel != npos32 ? HistoryKind::ParallelStep : HistoryKind::Transition);
    h.name = t.name;
    h.from = from;
    h.to = moved ? static_cast<std::int32_t>(to) : -1;
    h.by = performer;
    h.at = ctx.now;
    h.version = work.version;
    h.transition = ti;
    h.note = call.note;
    h.checklist = call.checklist;
    const RecordId record_id = work.id;
    const std::int64_t new_version = work.version;
    RecordWrite& w = ctx.cs.writes.add();
    std::swap(w.record, work); // moved, not copied: `work` is not read below
    w.expected_version = old_version;
    // The current record goes last among writes; move it first so readers find it easily.
    if (ctx.cs.writes.size() > 1) {
        std::swap(ctx.cs.writes[0], ctx.cs.writes[ctx.cs.writes.size() - 1]);
    }
    finish_webhooks(d, ctx);

    TransitionOutcome out;
    out.record = record_id;
    out.blueprint = m.blueprint;
    out.transition = ti;
    out.from = from;
    out.to = static_cast<std::int32_t>(to);
    out.moved = moved;
    out.version = new_version;
    out.at = ctx.now;
    out.by = performer;
    if (dry != nullptr) {
        dry->outcome = out;
        dry->record = ctx.cs.writes[0].record;
        dry->changes.assign(h.changes.begin(), h.changes.end());
        dry->queued.assign(ctx.cs.outbox.begin(), ctx.cs.outbox.end());
        for (std::size_t k = 1; k < ctx.cs.writes.size(); ++k) {
            dry->created.push_back(ctx.cs.writes[k].record);
        }
        return out;
    }
    if (call.committed != nullptr) {
        *call.committed = ctx.cs.writes[0].record; // before the store may take it
    }
    Status c = store_.commit_and_take(ctx.cs);
    if (!c) {
        return std::move(c.error());
    }
    return out;
}

Result<TransitionOutcome> Engine::transition(const TransitionCall& call) {
    const Definitions& d = *current();
    const TransitionCall* use = &call;
    TransitionCall afresh;
    for (int attempt = 0;; ++attempt) {
        OpContext& ctx = thread_ctx_storage();
        ctx.begin(clock_.now());
        auto r = perform(d, ctx, *use, false, nullptr);
        if (!r && r.error().code == ErrorCode::Conflict && call.expected_version == 0 &&
            attempt < options_.conflict_retries) {
            if (use->current != nullptr) {
                // The caller's copy is stale: read the record again.
                afresh = call;
                afresh.current = nullptr;
                use = &afresh;
            }
            continue;
        }
        return r;
    }
}

Result<DryRunResult> Engine::dry_run(const TransitionCall& call) {
    const auto defs = definitions();
    OpContext& ctx = thread_ctx_storage();
    ctx.begin(clock_.now());
    DryRunResult dry;
    peek_turns = true;
    auto r = perform(*defs, ctx, call, false, &dry);
    peek_turns = false;
    if (!r) {
        return std::move(r.error());
    }
    return dry;
}

Status Engine::list_transitions(RecordId id, UserId user, bool all,
                                std::vector<AvailableTransition>& out) {
    out.clear();
    const Definitions& d = *current();
    OpContext& ctx = thread_ctx_storage();
    ctx.begin(clock_.now());
    Record& r = ctx.work;
    if (!store_.read_record(id, r) || r.deleted) {
        return refusal(ErrorCode::NotFound, fmt::format("no record {}", id));
    }
    if (!can_see(d, r, user)) {
        return refusal(ErrorCode::NotVisible, fmt::format("no record {}", id));
    }
    const BlueprintDef* bp = d.blueprint_of(r.module);
    if (bp == nullptr || !r.governed || r.fields[bp->field].aux < 0) {
        return Ok{};
    }
    const auto state = static_cast<std::size_t>(r.fields[bp->field].aux);
    PendingReader reader(ctx.cs, store_);
    const EvalEnv env = make_env(d, &r, user, ctx.now, &reader, nullptr);
    for (std::uint32_t ti : bp->from_state[state]) {
        const TransitionDef& t = bp->transitions[ti];
        ErrorCode code = ErrorCode::Invalid;
        bool ok = true;
        const Program* failed = nullptr;
        if (t.parallel != npos32 && (r.parallel_done & t.parallel_bit) != 0) {
            ok = false;
            code = ErrorCode::AlreadyDone;
        } else if (t.after >= 0 && t.owners.empty()) {
            ok = false;
            code = ErrorCode::NotOwner;
        } else if (!may_perform(d, t, r, user)) {
            ok = false;
            code = ErrorCode::NotOwner;
        } else {
            for (const Program& w : t.when) {
                if (!holds(w, env)) {
                    ok = false;
                    code = ErrorCode::CriteriaFailed;
                    failed = &w;
                    break;
                }
            }
        }
        if (!ok && !all) {
            continue;
        }
        AvailableTransition& a = out.emplace_back();
        a.index = ti;
        a.available = ok;
        if (!ok) {
            a.reason_code = code;
            switch (code) {
            case ErrorCode::AlreadyDone: a.reason = "already done"; break;
            case ErrorCode::CriteriaFailed:
                a.reason = fmt::format("criteria not met: {}", failed->source);
                break;
            default:
                a.reason = t.after >= 0 && t.owners.empty()
                               ? std::string("automatic: performed by the system")
                               : fmt::format("only {} may perform it", owners_text(d, t.owners));
                break;
            }
        }
    }
    return Ok{};
}

Result<Record> Engine::move(RecordId id, UserId user, std::uint32_t state, std::string reason) {
    const auto defs = definitions();
    const Definitions& d = *defs;
    for (int attempt = 0;; ++attempt) {
        OpContext& ctx = thread_ctx_storage();
        ctx.begin(clock_.now());
        Record& r = ctx.work;
        if (!store_.read_record(id, r) || r.deleted) {
            return refusal(ErrorCode::NotFound, fmt::format("no record {}", id));
        }
        if (!can_see(d, r, user)) {
            return refusal(ErrorCode::NotVisible, fmt::format("no record {}", id));
        }
        const ModuleDef& m = d.modules[r.module];
        const bool admin = is_org_admin(d, user) ||
                           (m.teamspace != npos32 && d.is_team_admin(user, m.teamspace));
        if (!admin) {
            return refusal(ErrorCode::NotAllowed,
                           "only an org admin or the admin of the module's teamspace may move "
                           "a record");
        }
        const BlueprintDef* bp = d.blueprint_of(r.module);
        if (bp == nullptr) {
            return refusal(ErrorCode::NoSuchTransition,
                           fmt::format("module {} has no blueprint", m.name));
        }
        if (state >= bp->states.size()) {
            return refusal(ErrorCode::UnknownState, "no such state");
        }
        const std::int64_t old_version = r.version;
        const std::int32_t from = r.fields[bp->field].aux;
        r.version = old_version + 1;
        r.updated_at = ctx.now;
        r.governed = true;
        enter_state(ctx.cs, *bp, m.blueprint, r, state, ctx.now, true);
        HistoryEntry& h = ctx.cs.history.add();
        h.record = r.id;
        h.module = r.module;
        h.kind = HistoryKind::Moved;
        h.from = from;
        h.to = static_cast<std::int32_t>(state);
        h.by = user;
        h.at = ctx.now;
        h.version = r.version;
        h.reason = reason;
        RecordWrite& w = ctx.cs.writes.add();
        w.record = r;
        w.expected_version = old_version;
        Status c = store_.commit(ctx.cs);
        if (!c) {
            if (c.error().code == ErrorCode::Conflict && attempt < options_.conflict_retries) {
                continue;
            }
            return std::move(c.error());
        }
        return ctx.cs.writes[0].record;
    }
}

Status Engine::remove(RecordId id, UserId user) {
    const auto defs = definitions();
    const Definitions& d = *defs;
    OpContext& ctx = thread_ctx_storage();
    ctx.begin(clock_.now());
    Record& r = ctx.work;
    if (!store_.read_record(id, r) || r.deleted) {
        return refusal(ErrorCode::NotFound, fmt::format("no record {}", id));
    }
    if (!can_see(d, r, user)) {
        return refusal(ErrorCode::NotVisible, fmt::format("no record {}", id));
    }
    const ModuleDef& m = d.modules[r.module];
    const bool admin = is_org_admin(d, user) ||
                       (m.teamspace != npos32 && d.is_team_admin(user, m.teamspace));
    if (r.owner != user && !admin) {
        return refusal(ErrorCode::NotAllowed, "only the owner or an admin may delete a record");
    }
    const std::int64_t old_version = r.version;
    r.version = old_version + 1;
    r.updated_at = ctx.now;
    r.deleted = true;
    for (std::size_t f = 0; f < m.fields.size(); ++f) {
        if (m.fields[f].unique && !r.fields[f].empty()) {
            UniqueKey& k = ctx.cs.releases.add();
            k.module = r.module;
            k.field = static_cast<std::uint32_t>(f);
            k.key = key_text(d, r.fields[f]);
            k.record = r.id;
        }
    }
    ctx.cs.timers_cancel.push_back(r.id);
    HistoryEntry& h = ctx.cs.history.add();
    h.record = r.id;
    h.module = r.module;
    h.kind = HistoryKind::Deleted;
    h.by = user;
    h.at = ctx.now;
    h.version = r.version;
    RecordWrite& w = ctx.cs.writes.add();
    w.record = r;
    w.expected_version = old_version;
    return store_.commit(ctx.cs);
}

// --- timers ---------------------------------------------------------------------------------------------

bool Engine::fire(const Definitions& d, const Timer& timer) {
    for (int attempt = 0; attempt <= options_.conflict_retries; ++attempt) {
        OpContext& ctx = thread_ctx_storage();
        ctx.begin(clock_.now());
        Record& r = ctx.work;
        const auto consume = [&]() {
            ctx.cs.clear();
            ctx.cs.timers_done.push_back(timer.id);
            return store_.commit(ctx.cs).ok();
        };
        if (!store_.read_record(timer.record, r) || r.deleted || !r.governed ||
            r.state_version != timer.state_version || timer.blueprint >= d.blueprints.size() ||
            d.modules[r.module].blueprint != timer.blueprint) {
            consume();
            return false;
        }
        const BlueprintDef& bp = d.blueprints[timer.blueprint];
        if (timer.kind == TimerKind::Transition) {
            if (timer.index >= bp.transitions.size()) {
                consume();
                return false;
            }
            TransitionCall call;
            call.record = r.id;
            call.transition = timer.index;
            call.user = system_user;
            call.expected_version = r.version;
            const std::int64_t version = r.version;
            ctx.cs.timers_done.push_back(timer.id);
            auto res = perform(d, ctx, call, true, nullptr);
            if (res) {
                return true;
            }
            if (res.error().code == ErrorCode::Conflict) {
                Record now;
                if (store_.read_record(timer.record, now) && now.version != version) {
                    continue; // the record changed meanwhile: look again
                }
            }
            consume(); // its `when` (or a validation) does not hold now: the timer is spent
            return false;
        }
        if (timer.index >= bp.slas.size()) {
            consume();
            return false;
        }
        const SlaDef& sla = bp.slas[timer.index];
        PendingReader reader(ctx.cs, store_);
        const EvalEnv env = make_env(d, &r, system_user, ctx.now, &reader, nullptr);
        bool ok = true;
        for (const Program& w : sla.when) {
            ok = ok && holds(w, env);
        }
        if (!ok) {
            consume();
            return false;
        }
        const std::int64_t old_version = r.version;
        r.version = old_version + 1;
        r.updated_at = ctx.now;
        ctx.slots.assign(sla.slot_names.size(), 0);
        ActionRun run{d, ctx.cs, store_, r, ctx.slots, ctx.webhooks, system_user, ctx.now};
        Status st = run_actions(run, sla.actions);
        if (!st) {
            consume();
            return false;
        }
        HistoryEntry& h = ctx.cs.history.add();
        h.record = r.id;
        h.module = r.module;
        h.kind = HistoryKind::Sla;
        h.name = bp.states[sla.state];
        h.from = h.to = static_cast<std::int32_t>(sla.state);
        h.by = system_user;
        h.at = ctx.now;
        h.version = r.version;
        RecordWrite& w = ctx.cs.writes.add();
        w.record = r;
        w.expected_version = old_version;
        if (ctx.cs.writes.size() > 1) {
            std::swap(ctx.cs.writes[0], ctx.cs.writes[ctx.cs.writes.size() - 1]);
        }
        finish_webhooks(d, ctx);
        ctx.cs.timers_done.push_back(timer.id);
        Status c = store_.commit(ctx.cs);
        if (c) {
            return true;
        }
        if (c.error().code != ErrorCode::Conflict) {
            consume();
            return false;
        }
    }
    return false;
}

std::size_t Engine::fire_due_timers(std::size_t limit) {
    const auto defs = definitions();
    std::size_t fired = 0;
    std::size_t seen = 0;
    // Timers are claimed (leased) in small batches, so several nodes sharing a store fire each
    // one once; one whose firing did not commit comes back when its lease runs out.
    constexpr std::int64_t lease_seconds = 60;
    // A store without leases hands back a timer that did not fire; this call tries it once.
    std::unordered_set<std::int64_t> tried;
    while (seen < limit) {
        const std::size_t batch = std::min<std::size_t>(limit - seen, 16);
        const auto due = store_.claim_due_timers(clock_.now(), batch, lease_seconds);
        bool fresh = false;
        for (const Timer& t : due) {
            if (!tried.insert(t.id).second) {
                continue;
            }
            fresh = true;
            ++seen;
            if (fire(*defs, t)) {
                ++fired;
            }
        }
        if (!fresh) {
            break;
        }
    }
    return fired;
}

} // namespace teamflow::engine
