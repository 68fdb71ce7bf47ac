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
