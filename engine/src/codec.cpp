#include "codec.hpp"

#include "teamflow/engine/engine.hpp"

#include <fmt/format.h>

namespace teamflow::engine::codec {

namespace {

class Parser {
public:
    explicit Parser(std::string_view t) : t_(t) {}

    bool document(Json& out) {
        if (!value(out, 0)) {
            return false;
        }
        skip();
        return p_ == t_.size();
    }

private:
    void skip() {
        while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\n' || t_[p_] == '\t' ||
                                  t_[p_] == '\r')) {
            ++p_;
        }
    }
    bool literal(std::string_view word) {
        if (t_.substr(p_, word.size()) != word) {
            return false;
        }
        p_ += word.size();
        return true;
    }
    static void append_utf8(std::string& out, std::uint32_t c) {
        if (c < 0x80) {
            out += static_cast<char>(c);
        } else if (c < 0x800) {
            out += static_cast<char>(0xC0 | (c >> 6));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            out += static_cast<char>(0xE0 | (c >> 12));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        } else {
            out += static_cast<char>(0xF0 | (c >> 18));
            out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
            out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (c & 0x3F));
        }
    }
    bool hex4(std::uint32_t& c) {
        if (p_ + 4 > t_.size()) {
            return false;
        }
        c = 0;
        for (int k = 0; k < 4; ++k) {
            const char h = t_[p_++];
            c <<= 4;
            if (h >= '0' && h <= '9') {
                c |= static_cast<std::uint32_t>(h - '0');
            } else if (h >= 'a' && h <= 'f') {
                c |= static_cast<std::uint32_t>(h - 'a' + 10);
            } else if (h >= 'A' && h <= 'F') {
                c |= static_cast<std::uint32_t>(h - 'A' + 10);
            } else {
                return false;
            }
        }
        return true;
    }
    bool string(std::string& out) {
        ++p_; // opening quote
        while (p_ < t_.size()) {
            const char c = t_[p_++];
            if (c == '"') {
                return true;
            }
            if (c != '\\') {
                out += c;
                continue;
            }
            if (p_ >= t_.size()) {
                return false;
            }
            const char e = t_[p_++];
            switch (e) {
            case '"': out += '"'; break;
            case '\\': out += '\\'; break;
            case '/': out += '/'; break;
            case 'b': out += '\b'; break;
            case 'f': out += '\f'; break;
            case 'n': out += '\n'; break;
            case 'r': out += '\r'; break;
            case 't': out += '\t'; break;
            case 'u': {
                std::uint32_t cp = 0;
                if (!hex4(cp)) {
                    return false;
                }
                if (cp >= 0xD800 && cp < 0xDC00 && t_.substr(p_, 2) == "\\u") {
                    p_ += 2;
                    std::uint32_t lo = 0;
                    if (!hex4(lo)) {
                        return false;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                append_utf8(out, cp);
                break;
            }
            default: return false;
            }
        }
        return false;
    }
    bool value(Json& out, int depth) {
        if (depth > 64) {
            return false;
        }
        skip();
        if (p_ >= t_.size()) {
            return false;
        }
        const char c = t_[p_];
        if (c == '"') {
            out.kind = Json::Kind::String;
            return string(out.text);
        }
        if (c == '{') {
            out.kind = Json::Kind::Object;
            ++p_;
            skip();
            if (p_ < t_.size() && t_[p_] == '}') {
                ++p_;
                return true;
            }
            for (;;) {
                skip();
                if (p_ >= t_.size() || t_[p_] != '"') {
                    return false;
                }
                auto& m = out.members.emplace_back();
                if (!string(m.first)) {
                    return false;
                }
                skip();
                if (p_ >= t_.size() || t_[p_] != ':') {
                    return false;
                }
                ++p_;
                if (!value(m.second, depth + 1)) {
                    return false;
                }
                skip();
                if (p_ < t_.size() && t_[p_] == ',') {
                    ++p_;
                    continue;
                }
                if (p_ < t_.size() && t_[p_] == '}') {
                    ++p_;
                    return true;
                }
                return false;
            }
        }
        if (c == '[') {
            out.kind = Json::Kind::Array;
            ++p_;
            skip();
            if (p_ < t_.size() && t_[p_] == ']') {
                ++p_;
                return true;
            }
            for (;;) {
                if (!value(out.items.emplace_back(), depth + 1)) {
                    return false;
                }
                skip();
                if (p_ < t_.size() && t_[p_] == ',') {
                    ++p_;
                    continue;
                }
                if (p_ < t_.size() && t_[p_] == ']') {
                    ++p_;
                    return true;
                }
                return false;
            }
        }
        if (literal("null")) {
            out.kind = Json::Kind::Null;
            return true;
        }
        if (literal("true")) {
            out.kind = Json::Kind::Bool;
            out.boolean = true;
            return true;
        }
        if (literal("false")) {
            out.kind = Json::Kind::Bool;
            return true;
        }
        const std::size_t start = p_;
        while (p_ < t_.size() && ((t_[p_] >= '0' && t_[p_] <= '9') || t_[p_] == '-' ||
                                  t_[p_] == '+' || t_[p_] == '.' || t_[p_] == 'e' ||
                                  t_[p_] == 'E')) {
            ++p_;
        }
        if (p_ == start) {
            return false;
        }
        out.kind = Json::Kind::Number;
        out.text.assign(t_.substr(start, p_ - start));
        return true;
    }

    std::string_view t_;
    std::size_t p_ = 0;
};

std::int64_t to_int(const Json& v) {
    if (v.kind != Json::Kind::Number) {
        return 0;
    }
    std::int64_t n = 0;
    bool neg = false;
    for (char c : v.text) {
        if (c == '-') {
            neg = true;
        } else if (c >= '0' && c <= '9') {
            n = n * 10 + (c - '0');
        } else {
            break;
        }
    }
    return neg ? -n : n;
}

const BlueprintDef* blueprint_of(const Definitions& d, std::uint32_t module) {
    return module < d.modules.size() ? d.blueprint_of(module) : nullptr;
}

} // namespace

bool parse_json(std::string_view text, Json& out) {
    out = Json{};
    return Parser(text).document(out);
}

std::string user_key(const Definitions& d, UserId user) {
    if (user == system_user) {
        return "@system";
    }
    if (user >= d.users.size()) {
        return {};
    }
    return d.users[user].id;
}

UserId user_of(const Definitions& d, std::string_view key) {
    if (key.empty()) {
        return no_user;
    }
    if (key == "@system") {
        return system_user;
    }
    const std::uint32_t u = d.find_user(key);
    return u == npos32 ? no_user : u;
}

std::string state_text(const Definitions& d, std::uint32_t module, std::int32_t state) {
    const BlueprintDef* bp = blueprint_of(d, module);
    if (bp == nullptr || state < 0 || static_cast<std::size_t>(state) >= bp->states.size()) {
        return {};
    }
    return bp->states[static_cast<std::size_t>(state)];
}

std::int32_t state_of(const Definitions& d, std::uint32_t module, std::string_view text) {
    const BlueprintDef* bp = blueprint_of(d, module);
    if (bp == nullptr || text.empty()) {
        return -1;
    }
    const std::uint32_t s = bp->find_state(text);
    return s == npos32 ? -1 : static_cast<std::int32_t>(s);
}

void append_cell(std::string& out, const Definitions& d, const Cell& c) {
    switch (c.kind) {
    case ValueKind::Empty: out += "null"; return;
    case ValueKind::Text: append_json_string(out, c.s); return;
    case ValueKind::Number: append_decimal(out, c.i); return;
    case ValueKind::Boolean: out += c.i != 0 ? "true" : "false"; return;
    case ValueKind::Date: {
        std::string t;
        append_date(t, c.i);
        append_json_string(out, t);
        return;
    }
    case ValueKind::DateTime: {
        std::string t;
        append_datetime(t, c.i);
        append_json_string(out, t);
        return;
    }
    case ValueKind::Duration: out += fmt::format("{}", c.i); return;
    case ValueKind::User: append_json_string(out, user_key(d, static_cast<UserId>(c.i))); return;
    case ValueKind::Record: out += fmt::format("{}", c.i); return;
    }
    out += "null";
}

void decode_cell(const Definitions& d, const FieldDef& f, const Json& v, Cell& out) {
    out.clear();
    using K = Json::Kind;
    switch (f.value_kind) {
    case ValueKind::Text:
        if (v.kind == K::String) {
            out.assign(Value::text(v.text), f.kind == dsl::FieldKind::Picklist
                                                ? f.value_index(v.text)
                                                : -1);
        }
        return;
    case ValueKind::Number:
        if (v.kind == K::Number) {
            if (const auto n = parse_decimal(v.text)) {
                out.assign(Value::number_scaled(*n));
            }
        }
        return;
    case ValueKind::Boolean:
        if (v.kind == K::Bool) {
            out.assign(Value::boolean(v.boolean));
        }
        return;
    case ValueKind::Date:
        if (v.kind == K::String) {
            if (const auto n = parse_date(v.text)) {
                out.assign(Value::date(*n));
            }
        }
        return;
    case ValueKind::DateTime:
        if (v.kind == K::String) {
            if (const auto n = parse_datetime(v.text)) {
                out.assign(Value::datetime(*n));
            } else if (const auto day = parse_date(v.text)) {
                out.assign(Value::datetime(*day * seconds_per_day));
            }
        }
        return;
    case ValueKind::Duration:
        if (v.kind == K::Number) {
            out.assign(Value::duration(to_int(v)));
        }
        return;
    case ValueKind::User:
        if (v.kind == K::String) {
            const UserId u = user_of(d, v.text);
            if (u != no_user) {
                out.assign(Value::user(u));
            }
        }
        return;
    case ValueKind::Record:
        if (v.kind == K::Number && to_int(v) > 0) {
            out.assign(Value::record(to_int(v)));
        }
        return;
    case ValueKind::Empty: return;
    }
}

void encode_fields(std::string& out, const Definitions& d, const Record& r) {
    out += '{';
    bool first = true;
    if (r.module < d.modules.size()) {
        const ModuleDef& m = d.modules[r.module];
        for (std::size_t k = 0; k < r.fields.size() && k < m.fields.size(); ++k) {
            if (r.fields[k].empty()) {
                continue;
            }
            if (!first) {
                out += ',';
            }
            first = false;
            append_json_string(out, m.fields[k].name);
            out += ':';
            append_cell(out, d, r.fields[k]);
        }
    }
    out += '}';
}

bool decode_fields(const Definitions& d, std::string_view json, Record& r) {
    if (r.module >= d.modules.size()) {
        r.fields.clear();
        return false;
    }
    const ModuleDef& m = d.modules[r.module];
    r.fields.resize(m.fields.size());
    for (Cell& c : r.fields) {
        c.clear();
    }
    Json v;
    if (!parse_json(json, v) || v.kind != Json::Kind::Object) {
        return false;
    }
    for (const auto& [name, value] : v.members) {
        const std::uint32_t f = m.find_field(name);
        if (f != npos32) {
            decode_cell(d, m.fields[f], value, r.fields[f]);
        }
    }
    return true;
}

void encode_parallel(std::string& out, const Definitions& d, const Record& r) {
    out += '[';
    const BlueprintDef* bp = blueprint_of(d, r.module);
    bool first = true;
    if (bp != nullptr && r.parallel_done != 0) {
        for (const TransitionDef& t : bp->transitions) {
            if (t.parallel != npos32 && (r.parallel_done & t.parallel_bit) != 0) {
                if (!first) {
                    out += ',';
                }
                first = false;
                append_json_string(out, t.name);
            }
        }
    }
    out += ']';
}

std::uint64_t decode_parallel(const Definitions& d, std::uint32_t module, std::string_view json) {
    const BlueprintDef* bp = blueprint_of(d, module);
    if (bp == nullptr || json.size() <= 2) {
        return 0;
    }
    std::uint64_t bits = 0;
    for (const std::string& name : decode_strings(json)) {
        const std::uint32_t t = bp->find_transition(name);
        if (t != npos32 && bp->transitions[t].parallel != npos32) {
            bits |= bp->transitions[t].parallel_bit;
        }
    }
    return bits;
}

void encode_changes(std::string& out, const Definitions& d, const HistoryEntry& h) {
    out += '[';
    bool first = true;
    if (h.module < d.modules.size()) {
        const ModuleDef& m = d.modules[h.module];
        for (const FieldChange& c : h.changes) {
            if (c.field >= m.fields.size()) {
                continue;
            }
            if (!first) {
                out += ',';
            }
            first = false;
            out += '[';
            append_json_string(out, m.fields[c.field].name);
            out += ',';
            append_cell(out, d, c.before);
            out += ',';
            append_cell(out, d, c.after);
            out += ']';
        }
    }
    out += ']';
}

void decode_changes(const Definitions& d, std::string_view json, HistoryEntry& h) {
    h.changes.clear();
    if (h.module >= d.modules.size() || json.size() <= 2) {
        return;
    }
    const ModuleDef& m = d.modules[h.module];
    Json v;
    if (!parse_json(json, v) || v.kind != Json::Kind::Array) {
        return;
    }
    for (const Json& item : v.items) {
        if (item.kind != Json::Kind::Array || item.items.size() != 3 ||
            item.items[0].kind != Json::Kind::String) {
            continue;
        }
        const std::uint32_t f = m.find_field(item.items[0].text);
        if (f == npos32) {
            continue;
        }
        FieldChange& c = h.changes.emplace_back();
        c.field = f;
        decode_cell(d, m.fields[f], item.items[1], c.before);
        decode_cell(d, m.fields[f], item.items[2], c.after);
    }
}

void encode_strings(std::string& out, const std::vector<std::string>& items) {
    out += '[';
    for (std::size_t k = 0; k < items.size(); ++k) {
        if (k > 0) {
            out += ',';
        }
        append_json_string(out, items[k]);
    }
    out += ']';
}

std::vector<std::string> decode_strings(std::string_view json) {
    std::vector<std::string> out;
    if (json.size() <= 2) {
        return out;
    }
    Json v;
    if (!parse_json(json, v) || v.kind != Json::Kind::Array) {
        return out;
    }
    for (Json& item : v.items) {
        if (item.kind == Json::Kind::String) {
            out.push_back(std::move(item.text));
        }
    }
    return out;
}

TimerName timer_name(const Definitions& d, const Timer& t) {
    TimerName n;
    if (t.blueprint >= d.blueprints.size()) {
        return n;
    }
    const BlueprintDef& bp = d.blueprints[t.blueprint];
    n.blueprint = bp.name;
    if (t.kind == TimerKind::Transition) {
        if (t.index < bp.transitions.size()) {
            n.what = bp.transitions[t.index].name;
        }
    } else if (t.index < bp.slas.size()) {
        const std::uint32_t state = bp.slas[t.index].state;
        n.what = bp.states[state];
        for (std::uint32_t k = 0; k < t.index; ++k) {
            n.ordinal += bp.slas[k].state == state ? 1 : 0;
        }
    }
    return n;
}

bool timer_of(const Definitions& d, const TimerName& n, Timer& t) {
    const std::uint32_t b = d.find_blueprint(n.blueprint);
    if (b == npos32) {
        return false;
    }
    const BlueprintDef& bp = d.blueprints[b];
    t.blueprint = b;
    if (t.kind == TimerKind::Transition) {
        const std::uint32_t k = bp.find_transition(n.what);
        if (k == npos32) {
            return false;
        }
        t.index = k;
        return true;
    }
    const std::uint32_t state = bp.find_state(n.what);
    std::int64_t seen = 0;
    for (std::uint32_t k = 0; state != npos32 && k < bp.slas.size(); ++k) {
        if (bp.slas[k].state == state && seen++ == n.ordinal) {
            t.index = k;
            return true;
        }
    }
    return false;
}

UserId remap_user(const Definitions& from, const Definitions& to, UserId u) {
    if (u == no_user || u == system_user) {
        return u;
    }
    return user_of(to, user_key(from, u));
}

std::uint32_t remap_module(const Definitions& from, const Definitions& to, std::uint32_t m) {
    return m < from.modules.size() ? to.find_module(from.modules[m].name) : npos32;
}

bool remap_record(const Definitions& from, const Definitions& to, Record& r) {
    const std::uint32_t m = remap_module(from, to, r.module);
    if (m == npos32) {
        return false;
    }
    std::string fields;
    std::string parallel;
    encode_fields(fields, from, r);
    encode_parallel(parallel, from, r);
    r.owner = remap_user(from, to, r.owner);
    r.created_by = remap_user(from, to, r.created_by);
    r.requester = remap_user(from, to, r.requester);
    r.assignee = remap_user(from, to, r.assignee);
    r.module = m;
    decode_fields(to, fields, r);
    r.parallel_done = decode_parallel(to, m, parallel);
    return true;
}

bool remap_history(const Definitions& from, const Definitions& to, HistoryEntry& h) {
    const std::uint32_t m = remap_module(from, to, h.module);
    if (m == npos32) {
        return false;
    }
    std::string changes;
    encode_changes(changes, from, h);
    const std::string before = state_text(from, h.module, h.from);
    const std::string after = state_text(from, h.module, h.to);
    h.module = m;
    h.from = state_of(to, m, before);
    h.to = state_of(to, m, after);
    h.by = remap_user(from, to, h.by);
    decode_changes(to, changes, h);
    return true;
}

bool remap_timer(const Definitions& from, const Definitions& to, Timer& t) {
    return timer_of(to, timer_name(from, t), t);
}

} // namespace teamflow::engine::codec
