// Defaults of the `Store` interface that any store can rely on.

#include "teamflow/engine/definitions.hpp"
#include "teamflow/engine/store.hpp"

#include <fmt/format.h>

namespace teamflow::engine {

bool RecordReader::read_member(RecordId id, std::int32_t member, Cell& out) const {
    thread_local Record r;
    if (!read_record(id, r)) {
        return false;
    }
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

std::vector<RecordId> Store::list_where(std::uint32_t module,
                                        const std::vector<FieldFilter>& filters, RecordId after,
                                        std::size_t limit) const {
    std::vector<RecordId> out;
    Record r;
    constexpr std::size_t page = 256;
    while (out.size() < limit) {
        const std::vector<RecordId> ids = list(module, after, page);
        for (RecordId id : ids) {
            after = id;
            if (!read_record(id, r)) {
                continue;
            }
            bool match = true;
            for (const FieldFilter& f : filters) {
                Value v;
                if ((f.field & builtin_field) != 0) {
                    v = r.builtin(static_cast<Builtin>(f.field & ~builtin_field));
                } else if (f.field < r.fields.size()) {
                    v = r.fields[f.field].view();
                }
                const Value w = f.value.view();
                if (v.kind != w.kind || v.i != w.i || v.s != w.s) {
                    match = false;
                    break;
                }
            }
            if (match) {
                out.push_back(id);
                if (out.size() == limit) {
                    break;
                }
            }
        }
        if (ids.size() < page) {
            break;
        }
    }
    return out;
}

// Paged reads: the defaults cut the unpaged reads (stores override them with indexed queries).

std::vector<HistoryEntry> Store::history_page(RecordId record, std::int64_t after,
                                              std::size_t limit) const {
    std::vector<HistoryEntry> out;
    for (HistoryEntry& h : history(record)) {
        if (out.size() == limit) {
            break;
        }
        if (h.id > after) {
            out.push_back(std::move(h));
        }
    }
    return out;
}

std::vector<OutboxRow> Store::outbox_page(std::optional<OutboxKind> kind,
                                          std::optional<OutboxStatus> status, std::int64_t after,
                                          std::size_t limit) const {
    std::vector<OutboxRow> out;
    for (OutboxRow& o : outbox(status)) {
        if (out.size() == limit) {
            break;
        }
        if (o.id > after && (!kind || o.kind == *kind)) {
            out.push_back(std::move(o));
        }
    }
    return out;
}

std::vector<OutboxRow> Store::notifications_page(UserId user, std::int64_t before,
                                                 std::size_t limit) const {
    std::vector<OutboxRow> out;
    for (OutboxRow& o : notifications(user)) {
        if (out.size() == limit) {
            break;
        }
        if (before <= 0 || o.id < before) {
            out.push_back(std::move(o));
        }
    }
    return out;
}

namespace {

std::vector<RecordId> cut_ids(const std::vector<RecordId>& ids, RecordId after, std::size_t limit) {
    std::vector<RecordId> out;
    for (RecordId id : ids) {
        if (out.size() == limit) {
            break;
        }
        if (id > after) {
            out.push_back(id);
        }
    }
    return out;
}

} // namespace

std::vector<RecordId> Store::requested_by_page(UserId user, RecordId after,
                                               std::size_t limit) const {
    return cut_ids(requested_by(user), after, limit);
}

std::vector<RecordId> Store::assigned_to_page(UserId user, RecordId after,
                                              std::size_t limit) const {
    return cut_ids(assigned_to(user), after, limit);
}

std::vector<DefinitionsVersion> Store::definitions_versions_page(std::int64_t before,
                                                                 std::size_t limit) const {
    std::vector<DefinitionsVersion> out;
    for (DefinitionsVersion& v : definitions_versions()) {
        if (out.size() == limit) {
            break;
        }
        if (before <= 0 || v.version < before) {
            out.push_back(std::move(v));
        }
    }
    return out;
}

// --- Background work shared by several nodes (additive) ---------------------------------------

std::vector<OutboxRow> Store::claim_outbox(std::int64_t now_ms, std::size_t limit,
                                           std::int64_t lease_ms) {
    (void)now_ms;
    (void)lease_ms;
    std::vector<OutboxRow> rows = outbox(OutboxStatus::Pending);
    if (rows.size() > limit) {
        rows.resize(limit);
    }
    return rows;
}

Status Store::record_outbox_attempt(std::int64_t id, OutboxStatus status, std::string error,
                                    std::int64_t next_attempt_ms) {
    (void)next_attempt_ms;
    return mark_outbox(id, status, std::move(error));
}

std::int64_t Store::count_outbox(OutboxStatus status) const {
    return static_cast<std::int64_t>(outbox(status).size());
}

std::int64_t Store::count_due_timers(std::int64_t now) const {
    return static_cast<std::int64_t>(due_timers(now, static_cast<std::size_t>(-1)).size());
}

std::int64_t Store::latest_definitions_version() const {
    const auto latest = latest_definitions();
    return latest ? latest->version : 0;
}

std::int64_t Store::history_id_at(RecordId record, std::int64_t version) const {
    const std::vector<HistoryEntry> all = history(record);
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (it->version == version) {
            return it->id;
        }
    }
    return 0;
}

Result<std::int64_t> Store::take_turn(std::string_view key) {
    // Compare-and-set until it sticks; a commit with only a cursor move touches nothing else.
    ChangeSet cs;
    for (int attempt = 0; attempt < 1000; ++attempt) {
        const std::int64_t at = cursor(key);
        cs.clear();
        CursorUpdate& c = cs.cursors.add();
        c.key = std::string(key);
        c.expected = at;
        c.value = at + 1;
        Status s = commit(cs);
        if (s) {
            return at;
        }
        if (s.error().code != ErrorCode::Conflict) {
            return std::move(s.error());
        }
    }
    return make_error(ErrorCode::Conflict,
                      fmt::format("round-robin cursor {} kept moving", key));
}

} // namespace teamflow::engine
