#include "vm.hpp"

#include <algorithm>
#include <cstring>

namespace teamflow::engine {

// --- arena ---------------------------------------------------------------------------------------

char* Arena::allocate(std::size_t n) {
    if (blocks_.empty() || used_ + n > blocks_.back().size) {
        const std::size_t size = std::max<std::size_t>(4096, n);
        blocks_.push_back({std::make_unique<char[]>(size), size});
        used_ = 0;
    }
    char* p = blocks_.back().data.get() + used_;
    used_ += n;
    return p;
}

std::string_view Arena::copy(std::string_view s) {
    if (s.empty()) {
        return {};
    }
    char* p = allocate(s.size());
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
}

void Arena::reset() {
    if (blocks_.size() > 1) {
        // Keep the biggest block only.
        auto biggest = std::max_element(blocks_.begin(), blocks_.end(),
                                        [](const Block& a, const Block& b) { return a.size < b.size; });
        Block keep = std::move(*biggest);
        blocks_.clear();
        blocks_.push_back(std::move(keep));
    }
    used_ = 0;
}

Arena& thread_arena() {
    thread_local Arena arena;
    return arena;
}

// --- helpers -------------------------------------------------------------------------------------

namespace {

__extension__ typedef __int128 Int128;


std::int64_t as_seconds(const Value& v) {
    return v.kind == ValueKind::Date ? v.i * seconds_per_day : v.i;
}

bool is_time(ValueKind k) { return k == ValueKind::Date || k == ValueKind::DateTime; }

/// Three-way comparison; false when the kinds do not compare.
bool compare(const Value& a, const Value& b, int& out) {
    if (a.kind == ValueKind::Empty || b.kind == ValueKind::Empty) {
        return false;
    }
    if (a.kind == ValueKind::Text && b.kind == ValueKind::Text) {
        const int c = a.s.compare(b.s);
        out = c < 0 ? -1 : (c > 0 ? 1 : 0);
        return true;
    }
    std::int64_t x = a.i;
    std::int64_t y = b.i;
    if (is_time(a.kind) && is_time(b.kind)) {
        x = as_seconds(a);
        y = as_seconds(b);
    } else if (a.kind != b.kind) {
        return false;
    }
    out = x < y ? -1 : (x > y ? 1 : 0);
    return true;
}

bool blank(const Value& v) {
    return v.kind == ValueKind::Empty || (v.kind == ValueKind::Text && v.s.empty());
}

Value concat(const Value& a, const Value& b, const EvalEnv& env) {
    // Most concatenations are short; build in a small local buffer then copy into the arena.
    thread_local std::string buf;
    buf.clear();
    append_value(buf, a, env.defs->user_ids);
    append_value(buf, b, env.defs->user_ids);
    return Value::text(env.arena->copy(buf));
}

Value add(const Value& a, const Value& b, const EvalEnv& env) {
    if (a.kind == ValueKind::Text || b.kind == ValueKind::Text) {
        return concat(a, b, env);
    }
    if (a.empty() || b.empty()) {
        return {};
    }
    std::int64_t r = 0;
    switch (a.kind) {
    case ValueKind::Number:
        if (b.kind == ValueKind::Number && !__builtin_add_overflow(a.i, b.i, &r)) {
            return Value::number_scaled(r);
        }
        return {};
    case ValueKind::Date:
        if (b.kind == ValueKind::Duration) {
            return Value::date(a.i + floor_div(b.i, seconds_per_day));
        }
        return {};
    case ValueKind::DateTime:
        if (b.kind == ValueKind::Duration && !__builtin_add_overflow(a.i, b.i, &r)) {
            return Value::datetime(r);
        }
        return {};
    case ValueKind::Duration:
        if (b.kind == ValueKind::Duration && !__builtin_add_overflow(a.i, b.i, &r)) {
            return Value::duration(r);
        }
        if (b.kind == ValueKind::Date) {
            return Value::date(b.i + floor_div(a.i, seconds_per_day));
        }
        if (b.kind == ValueKind::DateTime && !__builtin_add_overflow(a.i, b.i, &r)) {
            return Value::datetime(r);
        }
        return {};
    default: return {};
    }
}

Value sub(const Value& a, const Value& b) {
    if (a.empty() || b.empty()) {
        return {};
    }
    std::int64_t r = 0;
    switch (a.kind) {
    case ValueKind::Number:
        if (b.kind == ValueKind::Number && !__builtin_sub_overflow(a.i, b.i, &r)) {
            return Value::number_scaled(r);
        }
        return {};
    case ValueKind::Date:
        if (b.kind == ValueKind::Duration) {
            return Value::date(a.i - floor_div(b.i + seconds_per_day - 1, seconds_per_day));
        }
        if (is_time(b.kind)) {
            return Value::duration(as_seconds(a) - as_seconds(b));
        }
        return {};
    case ValueKind::DateTime:
        if (b.kind == ValueKind::Duration && !__builtin_sub_overflow(a.i, b.i, &r)) {
            return Value::datetime(r);
        }
        if (is_time(b.kind)) {
            return Value::duration(as_seconds(a) - as_seconds(b));
        }
        return {};
    case ValueKind::Duration:
        if (b.kind == ValueKind::Duration && !__builtin_sub_overflow(a.i, b.i, &r)) {
            return Value::duration(r);
        }
        return {};
    default: return {};
    }
}

/// Rounds num/den half away from zero; false on overflow or a zero divisor.
bool div_round(Int128 num, Int128 den, std::int64_t& out) {
    if (den == 0) {
        return false;
    }
    const bool neg = (num < 0) != (den < 0);
    Int128 n = num < 0 ? -num : num;
    const Int128 d = den < 0 ? -den : den;
    Int128 q = n / d;
    if ((n % d) * 2 >= d) {
        ++q;
    }
    if (neg) {
        q = -q;
    }
    if (q > INT64_MAX || q < INT64_MIN) {
        return false;
    }
    out = static_cast<std::int64_t>(q);
    return true;
}

Value mul(const Value& a, const Value& b) {
    if (a.empty() || b.empty()) {
        return {};
    }
    std::int64_t r = 0;
    if (a.kind == ValueKind::Number && b.kind == ValueKind::Number) {
        if (div_round(static_cast<Int128>(a.i) * b.i, decimal_scale, r)) {
            return Value::number_scaled(r);
        }
        return {};
    }
    if (a.kind == ValueKind::Duration && b.kind == ValueKind::Number) {
        if (div_round(static_cast<Int128>(a.i) * b.i, decimal_scale, r)) {
            return Value::duration(r);
        }
        return {};
    }
    if (a.kind == ValueKind::Number && b.kind == ValueKind::Duration) {
        return mul(b, a);
    }
    return {};
}

Value div(const Value& a, const Value& b) {
    if (a.empty() || b.empty() || b.kind != ValueKind::Number) {
        return {};
    }
    std::int64_t r = 0;
    if (a.kind == ValueKind::Number) {
        if (div_round(static_cast<Int128>(a.i) * decimal_scale, b.i, r)) {
            return Value::number_scaled(r);
        }
        return {};
    }
    if (a.kind == ValueKind::Duration) {
        if (div_round(static_cast<Int128>(a.i) * decimal_scale, b.i, r)) {
            return Value::duration(r);
        }
    }
    return {};
}

/// Maps ASCII and Latin-1 letters (2-byte UTF-8 C3 xx) to lower or upper case.
Value change_case(const Value& v, bool upper, const EvalEnv& env) {
    if (v.kind != ValueKind::Text) {
        return v.empty() ? Value{} : v;
    }
    char* p = env.arena->allocate(v.s.size());
    std::size_t n = v.s.size();
    for (std::size_t k = 0; k < n; ++k) {
        auto c = static_cast<unsigned char>(v.s[k]);
        if (c < 0x80) {
            if (upper && c >= 'a' && c <= 'z') {
                c = static_cast<unsigned char>(c - 32);
            } else if (!upper && c >= 'A' && c <= 'Z') {
                c = static_cast<unsigned char>(c + 32);
            }
            p[k] = static_cast<char>(c);
        } else if (c == 0xC3 && k + 1 < n) {
            auto d = static_cast<unsigned char>(v.s[k + 1]);
            if (upper && d >= 0xA0 && d <= 0xBE && d != 0xB7) {
                d = static_cast<unsigned char>(d - 0x20);
            } else if (!upper && d >= 0x80 && d <= 0x9E && d != 0x97) {
                d = static_cast<unsigned char>(d + 0x20);
            }
            p[k] = static_cast<char>(c);
            p[k + 1] = static_cast<char>(d);
            ++k;
        } else {
            p[k] = static_cast<char>(c);
        }
    }
    return Value::text({p, n});
}

std::int64_t code_points(std::string_view s) {
    std::int64_t n = 0;
    for (char c : s) {
        if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
            ++n;
        }
    }
    return n;
}

Value load_member(const Instr& in, const EvalEnv& env) {
    RecordId id = 0;
    if (in.b == 0) {
        if (env.record == nullptr) {
            return {};
        }
        const Cell& c = env.record->fields[in.a];
        if (c.kind != ValueKind::Record) {
            return {};
        }
        id = c.i;
    } else {
        if (in.a >= env.slot_count) {
            return {};
        }
        id = env.slots[in.a];
    }
    if (id == 0 || env.reader == nullptr) {
        return {};
    }
    // One member, not the whole record (c < 0: the built-in -c-1).
    thread_local Cell scratch;
    if (!env.reader->read_member(id, in.c, scratch)) {
        return {};
    }
    Value v = scratch.view();
    if (v.kind == ValueKind::Text) {
        v.s = env.arena->copy(v.s);
    }
    return v;
}

} // namespace

Value evaluate(const Program& prog, const EvalEnv& env) {
    if (prog.code.empty()) {
        return {};
    }
    // Uninitialised on purpose: only the slots below `sp` are ever read.
    alignas(Value) unsigned char raw[sizeof(Value) * max_stack];
    auto* stack = reinterpret_cast<Value*>(raw);
    int sp = 0;
    const Instr* code = prog.code.data();
    const std::size_t n = prog.code.size();
    const auto& users = env.defs->user_ids;
    for (std::size_t pc = 0; pc < n; ++pc) {
        const Instr& in = code[pc];
        switch (in.op) {
        case OpCode::PushConst: {
            const Const& c = prog.consts[in.a];
            stack[sp] = c.value;
            if (c.str >= 0) {
                stack[sp].s = prog.strings[static_cast<std::size_t>(c.str)];
            }
            ++sp;
            break;
        }
        case OpCode::LoadField:
            stack[sp++] = env.record != nullptr ? env.record->fields[in.a].view() : Value{};
            break;
        case OpCode::LoadBuiltin:
            stack[sp++] = env.record != nullptr
                              ? env.record->builtin(static_cast<Builtin>(in.a))
                              : Value{};
            break;
        case OpCode::LoadCurrentUser: stack[sp++] = Value::user(env.user); break;
        case OpCode::LoadNamed:
            stack[sp++] = in.a < env.slot_count ? Value::record(env.slots[in.a]) : Value{};
            break;
        case OpCode::LoadMember: stack[sp++] = load_member(in, env); break;
        case OpCode::Today: stack[sp++] = Value::date(floor_div(env.now, seconds_per_day)); break;
        case OpCode::Now: stack[sp++] = Value::datetime(env.now); break;
        case OpCode::Not: stack[sp - 1] = Value::boolean(!truthy(stack[sp - 1])); break;
        case OpCode::ToBool: stack[sp - 1] = Value::boolean(truthy(stack[sp - 1])); break;
        case OpCode::Neg: {
            Value& v = stack[sp - 1];
            if (v.kind == ValueKind::Number || v.kind == ValueKind::Duration) {
                v.i = -v.i;
            } else {
                v = {};
            }
            break;
        }
        case OpCode::Eq:
        case OpCode::Ne: {
            const bool eq = values_equal(stack[sp - 2], stack[sp - 1], users);
            --sp;
            stack[sp - 1] = Value::boolean(in.op == OpCode::Eq ? eq : !eq);
            break;
        }
        case OpCode::Lt:
        case OpCode::Le:
        case OpCode::Gt:
        case OpCode::Ge: {
            int c = 0;
            bool r = false;
            if (compare(stack[sp - 2], stack[sp - 1], c)) {
                switch (in.op) {
                case OpCode::Lt: r = c < 0; break;
                case OpCode::Le: r = c <= 0; break;
                case OpCode::Gt: r = c > 0; break;
                default: r = c >= 0; break;
                }
            }
            --sp;
            stack[sp - 1] = Value::boolean(r);
            break;
        }
        case OpCode::Add:
            stack[sp - 2] = add(stack[sp - 2], stack[sp - 1], env);
            --sp;
            break;
        case OpCode::Sub:
            stack[sp - 2] = sub(stack[sp - 2], stack[sp - 1]);
            --sp;
            break;
        case OpCode::Mul:
            stack[sp - 2] = mul(stack[sp - 2], stack[sp - 1]);
            --sp;
            break;
        case OpCode::Div:
            stack[sp - 2] = div(stack[sp - 2], stack[sp - 1]);
            --sp;
            break;
        case OpCode::IsEmpty: stack[sp - 1] = Value::boolean(blank(stack[sp - 1])); break;
        case OpCode::IsNotEmpty: stack[sp - 1] = Value::boolean(!blank(stack[sp - 1])); break;
        case OpCode::In: {
            const int count = static_cast<int>(in.a);
            const Value& x = stack[sp - count - 1];
            bool found = false;
            for (int k = sp - count; k < sp && !found; ++k) {
                found = values_equal(x, stack[k], users);
            }
            sp -= count;
            stack[sp - 1] = Value::boolean(in.b != 0 ? !found : found);
            break;
        }
        case OpCode::Lower: stack[sp - 1] = change_case(stack[sp - 1], false, env); break;
        case OpCode::Upper: stack[sp - 1] = change_case(stack[sp - 1], true, env); break;
        case OpCode::Len: {
            const Value& v = stack[sp - 1];
            stack[sp - 1] = Value::integer(v.kind == ValueKind::Text ? code_points(v.s) : 0);
            break;
        }
        case OpCode::Contains:
        case OpCode::StartsWith: {
            const Value& s = stack[sp - 2];
            const Value& part = stack[sp - 1];
            bool r = false;
            if (s.kind == ValueKind::Text && part.kind == ValueKind::Text) {
                r = in.op == OpCode::Contains ? s.s.find(part.s) != std::string_view::npos
                                              : s.s.substr(0, part.s.size()) == part.s;
            }
            --sp;
            stack[sp - 1] = Value::boolean(r);
            break;
        }
        case OpCode::DaysBetween: {
            const Value& a = stack[sp - 2];
            const Value& b = stack[sp - 1];
            Value r;
            if (is_time(a.kind) && is_time(b.kind)) {
                r = Value::integer((as_seconds(b) - as_seconds(a)) / seconds_per_day);
            }
            --sp;
            stack[sp - 1] = r;
            break;
        }
        case OpCode::JumpIfFalse:
            if (!truthy(stack[sp - 1])) {
                pc = in.a - 1;
            } else {
                --sp;
            }
            break;
        case OpCode::JumpIfTrue:
            if (truthy(stack[sp - 1])) {
                pc = in.a - 1;
            } else {
                --sp;
            }
            break;
        }
    }
    return sp > 0 ? stack[sp - 1] : Value{};
}

void render_message(const MessageDef& msg, const EvalEnv& env, std::string& out) {
    for (const auto& part : msg.parts) {
        if (part.expr.empty()) {
            out += part.text;
        } else {
            append_value(out, evaluate(part.expr, env), env.defs->user_ids, part.expr.min_fraction);
        }
    }
}

} // namespace teamflow::engine
