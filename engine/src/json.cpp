// The record as JSON, in the HTTP API's shape (also the body of webhooks).

#include "teamflow/engine/engine.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstring>

namespace teamflow::engine {

void append_json_string(std::string& out, std::string_view s) {
    std::size_t plain = 0;
    while (plain < s.size()) {
        const auto u = static_cast<unsigned char>(s[plain]);
        if (u < 0x20 || u == '"' || u == '\\') {
            break;
        }
        ++plain;
    }
    if (plain == s.size()) {
        // Nothing to escape (the common case): one append, then the text over the middle.
        const std::size_t at = out.size();
        out.append(s.size() + 2, '"');
        if (!s.empty()) {
            std::memcpy(out.data() + at + 1, s.data(), s.size());
        }
        return;
    }
    out += '"';
    // Fast path: runs of characters that need no escape are appended at once.
    std::size_t run = 0;
    for (std::size_t k = 0; k < s.size(); ++k) {
        const auto u = static_cast<unsigned char>(s[k]);
        if (u >= 0x20 && u != '"' && u != '\\') {
            continue;
        }
        out.append(s.data() + run, k - run);
        run = k + 1;
        const char c = s[k];
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += fmt::format("\\u{:04x}", u); break;
        }
    }
    out.append(s.data() + run, s.size() - run);
    out += '"';
}

namespace {

void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

} // namespace

void append_json_value(std::string& out, const Definitions& d, const FieldDef& f, const Cell& c) {
    switch (c.kind) {
    case ValueKind::Empty: out += "null"; return;
    case ValueKind::Number: append_decimal(out, c.i, 0); return;
    case ValueKind::Boolean: out += c.i != 0 ? "true" : "false"; return;
    case ValueKind::Record:
        out += '"';
        append_int(out, c.i);
        out += '"';
        return;
    case ValueKind::Text: append_json_string(out, c.s); return;
    case ValueKind::User: append_json_string(out, d.user_name(static_cast<UserId>(c.i))); return;
    case ValueKind::Date:
    case ValueKind::DateTime:
    case ValueKind::Duration:
        out += '"';
        append_value(out, c.view(), d.user_ids);
        out += '"';
        return;
    default: break;
    }
    (void)f;
}

namespace {

void user_member(std::string& out, const Definitions& d, const char* name, UserId u) {
    out += ",\"";
    out += name;
    out += "\":";
    if (u == no_user) {
        out += "null";
    } else {
        append_json_string(out, d.user_name(u));
    }
}

} // namespace

std::string record_json(const Definitions& d, const Record& r) {
    std::string out;
    out.reserve(256 + 48 * d.modules[r.module].fields.size());
    append_record_json(out, d, r);
    return out;
}

void append_record_json(std::string& out, const Definitions& d, const Record& r) {
    const ModuleDef& m = d.modules[r.module];
    out += "{\"id\":\"";
    append_int(out, r.id);
    out += "\",\"module\":";
    append_json_string(out, m.name);
    out += ",\"version\":";
    append_int(out, r.version);
    out += ",\"fields\":{";
    for (std::size_t f = 0; f < m.fields.size(); ++f) {
        if (f != 0) {
            out += ',';
        }
        append_json_string(out, m.fields[f].name);
        out += ':';
        append_json_value(out, d, m.fields[f], r.fields[f]);
    }
    out += '}';
    user_member(out, d, "owner", r.owner);
    user_member(out, d, "created_by", r.created_by);
    out += ",\"created_at\":\"";
    append_datetime(out, r.created_at);
    out += "\",\"updated_at\":\"";
    append_datetime(out, r.updated_at);
    out += '"';
    user_member(out, d, "requester", r.requester);
    user_member(out, d, "assignee", r.assignee);
    out += ",\"blueprint\":";
    const BlueprintDef* bp = d.blueprint_of(r.module);
    if (bp == nullptr || !r.governed || r.fields[bp->field].aux < 0) {
        out += "null";
    } else {
        const auto state = static_cast<std::size_t>(r.fields[bp->field].aux);
        out += "{\"name\":";
        append_json_string(out, bp->name);
        out += ",\"state\":";
        append_json_string(out, bp->states[state]);
        out += ",\"pending\":[";
        bool first = true;
        for (const ParallelDef& p : bp->parallels) {
            if (p.from[state] == 0) {
                continue;
            }
            for (std::uint32_t t : p.subs) {
                if ((r.parallel_done & bp->transitions[t].parallel_bit) == 0) {
                    if (!first) {
                        out += ',';
                    }
                    first = false;
                    append_json_string(out, bp->transitions[t].name);
                }
            }
        }
        out += "]}";
    }
    out += '}';
}

} // namespace teamflow::engine
