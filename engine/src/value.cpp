#include "teamflow/engine/result.hpp"
#include "teamflow/engine/value.hpp"

#include <charconv>

namespace teamflow::engine {

std::string_view code_name(ErrorCode code) {
    switch (code) {
    case ErrorCode::NotOwner: return "not-owner";
    case ErrorCode::NotAllowed: return "not-allowed";
    case ErrorCode::NotVisible: return "not-visible";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::NoSuchTransition: return "no-such-transition";
    case ErrorCode::Conflict: return "conflict";
    case ErrorCode::AlreadyDone: return "already-done";
    case ErrorCode::CriteriaFailed: return "criteria-failed";
    case ErrorCode::RequiredMissing: return "required-missing";
    case ErrorCode::ValidationFailed: return "validation-failed";
    case ErrorCode::ChecklistIncomplete: return "checklist-incomplete";
    case ErrorCode::NoteRequired: return "note-required";
    case ErrorCode::GovernedByBlueprint: return "governed-by-blueprint";
    case ErrorCode::UnknownField: return "unknown-field";
    case ErrorCode::WrongType: return "wrong-type";
    case ErrorCode::NotUnique: return "not-unique";
    case ErrorCode::NotRequestable: return "not-requestable";
    case ErrorCode::UnknownState: return "unknown-state";
    case ErrorCode::Invalid: return "invalid";
    case ErrorCode::Internal: return "internal";
    case ErrorCode::StoreUnavailable: return "store-unavailable";
    case ErrorCode::Constraint: return "constraint";
    }
    return "internal";
}

int http_status(ErrorCode code) {
    switch (code) {
    case ErrorCode::NotOwner:
    case ErrorCode::NotAllowed: return 403;
    case ErrorCode::NotVisible:
    case ErrorCode::NotFound:
    case ErrorCode::NoSuchTransition: return 404;
    case ErrorCode::Conflict:
    case ErrorCode::AlreadyDone:
    case ErrorCode::Constraint: return 409;
    case ErrorCode::Internal: return 500;
    case ErrorCode::StoreUnavailable: return 503;
    default: return 422;
    }
}

std::string Error::to_string() const {
    std::string out = detail;
    for (const ErrorItem& item : items) {
        if (item.message == detail) {
            continue;
        }
        if (!out.empty()) {
            out += "; ";
        }
        out += item.message;
    }
    return out;
}

std::string_view value_kind_name(ValueKind kind) {
    switch (kind) {
    case ValueKind::Empty: return "empty";
    case ValueKind::Text: return "text";
    case ValueKind::Number: return "number";
    case ValueKind::Boolean: return "boolean";
    case ValueKind::Date: return "date";
    case ValueKind::DateTime: return "datetime";
    case ValueKind::Duration: return "duration";
    case ValueKind::User: return "user";
    case ValueKind::Record: return "record";
    }
    return "empty";
}

namespace {

std::int64_t as_seconds(const Value& v) {
    return v.kind == ValueKind::Date ? v.i * seconds_per_day : v.i;
}

} // namespace

bool values_equal(const Value& a, const Value& b, const std::vector<std::string>& user_ids) {
    if (a.kind == ValueKind::Empty || b.kind == ValueKind::Empty) {
        return a.kind == b.kind;
    }
    if (a.kind == b.kind) {
        return a.kind == ValueKind::Text ? a.s == b.s : a.i == b.i;
    }
    const auto user_text = [&](const Value& u, const Value& t) {
        return u.i >= 0 && static_cast<std::size_t>(u.i) < user_ids.size() &&
               user_ids[static_cast<std::size_t>(u.i)] == t.s;
    };
    if (a.kind == ValueKind::User && b.kind == ValueKind::Text) {
        return user_text(a, b);
    }
    if (a.kind == ValueKind::Text && b.kind == ValueKind::User) {
        return user_text(b, a);
    }
    const bool a_time = a.kind == ValueKind::Date || a.kind == ValueKind::DateTime;
    const bool b_time = b.kind == ValueKind::Date || b.kind == ValueKind::DateTime;
    if (a_time && b_time) {
        return as_seconds(a) == as_seconds(b);
    }
    return false;
}

// --- decimals --------------------------------------------------------------------------------

std::optional<std::int64_t> parse_decimal(std::string_view t) {
    if (t.empty()) {
        return std::nullopt;
    }
    bool neg = false;
    std::size_t p = 0;
    if (t[0] == '-' || t[0] == '+') {
        neg = t[0] == '-';
        p = 1;
    }
    std::int64_t whole = 0;
    std::size_t digits = 0;
    for (; p < t.size() && t[p] >= '0' && t[p] <= '9'; ++p, ++digits) {
        if (__builtin_mul_overflow(whole, 10, &whole) ||
            __builtin_add_overflow(whole, t[p] - '0', &whole)) {
            return std::nullopt;
        }
    }
    std::int64_t frac = 0;
    int frac_digits = 0;
    if (p < t.size() && t[p] == '.') {
        ++p;
        std::size_t fd = 0;
        for (; p < t.size() && t[p] >= '0' && t[p] <= '9'; ++p, ++fd) {
            if (frac_digits < 6) {
                frac = frac * 10 + (t[p] - '0');
                ++frac_digits;
            } else if (t[p] != '0') {
                return std::nullopt; // more precision than we keep exactly
            }
        }
        if (fd == 0 && digits == 0) {
            return std::nullopt;
        }
    }
    if (digits == 0 && frac_digits == 0) {
        return std::nullopt;
    }
    if (p != t.size()) {
        return std::nullopt;
    }
    for (int k = frac_digits; k < 6; ++k) {
        frac *= 10;
    }
    std::int64_t out = 0;
    if (__builtin_mul_overflow(whole, decimal_scale, &out) ||
        __builtin_add_overflow(out, frac, &out)) {
        return std::nullopt;
    }
    return neg ? -out : out;
}

void append_decimal(std::string& out, std::int64_t v, int min_fraction) {
    const bool neg = v < 0;
    // Work with unsigned magnitude to survive INT64_MIN.
    std::uint64_t mag = neg ? (~static_cast<std::uint64_t>(v) + 1) : static_cast<std::uint64_t>(v);
    const std::uint64_t whole = mag / static_cast<std::uint64_t>(decimal_scale);
    std::uint64_t frac = mag % static_cast<std::uint64_t>(decimal_scale);
    if (neg) {
        out += '-';
    }
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, whole);
    out.append(buf, r.ptr);
    char fd[6];
    for (int k = 5; k >= 0; --k) {
        fd[k] = static_cast<char>('0' + frac % 10);
        frac /= 10;
    }
    int n = 6;
    while (n > min_fraction && fd[n - 1] == '0') {
        --n;
    }
    if (n > 0) {
        out += '.';
        out.append(fd, static_cast<std::size_t>(n));
    }
}

std::string format_decimal(std::int64_t scaled, int min_fraction) {
    std::string s;
    append_decimal(s, scaled, min_fraction);
    return s;
}

// --- dates -----------------------------------------------------------------------------------

// Civil calendar conversions (proleptic Gregorian), era-based arithmetic.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = floor_div(y, 400);
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = floor_div(z, 146097);
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2 ? 1 : 0);
}

namespace {

bool digits(std::string_view t, std::size_t at, std::size_t n, unsigned& out) {
    if (at + n > t.size()) {
        return false;
    }
    out = 0;
    for (std::size_t k = 0; k < n; ++k) {
        const char c = t[at + k];
        if (c < '0' || c > '9') {
            return false;
        }
        out = out * 10 + static_cast<unsigned>(c - '0');
    }
    return true;
}

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2) {
        const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        return leap ? 29 : 28;
    }
    return dm[m - 1];
}

std::optional<std::int64_t> parse_date_prefix(std::string_view t) {
    unsigned y = 0;
    unsigned m = 0;
    unsigned d = 0;
    if (t.size() < 10 || !digits(t, 0, 4, y) || t[4] != '-' || !digits(t, 5, 2, m) ||
        t[7] != '-' || !digits(t, 8, 2, d)) {
        return std::nullopt;
    }
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m)) {
        return std::nullopt;
    }
    return days_from_civil(y, m, d);
}

void append_2(std::string& out, unsigned v) {
    out += static_cast<char>('0' + v / 10);
    out += static_cast<char>('0' + v % 10);
}

} // namespace

std::optional<std::int64_t> parse_date(std::string_view t) {
    if (t.size() != 10) {
        return std::nullopt;
    }
    return parse_date_prefix(t);
}

std::optional<std::int64_t> parse_datetime(std::string_view t) {
    auto day = parse_date_prefix(t);
    if (!day) {
        return std::nullopt;
    }
    if (t.size() == 10) {
        return *day * seconds_per_day;
    }
    unsigned hh = 0;
    unsigned mm = 0;
    unsigned ss = 0;
    if (t.size() < 20 || (t[10] != 'T' && t[10] != 't' && t[10] != ' ') || !digits(t, 11, 2, hh) ||
        t[13] != ':' || !digits(t, 14, 2, mm) || t[16] != ':' || !digits(t, 17, 2, ss)) {
        return std::nullopt;
    }
    if (hh > 23 || mm > 59 || ss > 60) {
        return std::nullopt;
    }
    std::size_t p = 19;
    if (p < t.size() && t[p] == '.') {
        ++p;
        while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
            ++p;
        }
    }
    std::int64_t offset = 0;
    if (p < t.size() && (t[p] == 'Z' || t[p] == 'z')) {
        ++p;
    } else if (p < t.size() && (t[p] == '+' || t[p] == '-')) {
        unsigned oh = 0;
        unsigned om = 0;
        if (!digits(t, p + 1, 2, oh) || p + 3 >= t.size() || t[p + 3] != ':' ||
            !digits(t, p + 4, 2, om)) {
            return std::nullopt;
        }
        offset = (t[p] == '+' ? 1 : -1) * static_cast<std::int64_t>(oh * 3600 + om * 60);
        p += 6;
    } else {
        return std::nullopt;
    }
    if (p != t.size()) {
        return std::nullopt;
    }
    return *day * seconds_per_day + hh * 3600 + mm * 60 + ss - offset;
}

std::optional<std::int64_t> parse_duration(std::string_view t) {
    if (t.empty()) {
        return std::nullopt;
    }
    std::int64_t total = 0;
    std::size_t p = 0;
    while (p < t.size()) {
        std::int64_t n = 0;
        std::size_t start = p;
        while (p < t.size() && t[p] >= '0' && t[p] <= '9') {
            if (__builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, t[p] - '0', &n)) {
                return std::nullopt;
            }
            ++p;
        }
        if (p == start || p == t.size()) {
            return std::nullopt;
        }
        std::int64_t unit = 0;
        switch (t[p]) {
        case 'w': unit = 7 * seconds_per_day; break;
        case 'd': unit = seconds_per_day; break;
        case 'h': unit = 3600; break;
        case 'm': unit = 60; break;
        case 's': unit = 1; break;
        default: return std::nullopt;
        }
        ++p;
        std::int64_t part = 0;
        if (__builtin_mul_overflow(n, unit, &part) || __builtin_add_overflow(total, part, &total)) {
            return std::nullopt;
        }
    }
    return total;
}

void append_date(std::string& out, std::int64_t days) {
    std::int64_t y = 0;
    unsigned m = 0;
    unsigned d = 0;
    civil_from_days(days, y, m, d);
    if (y >= 0 && y <= 9999) {
        const auto uy = static_cast<unsigned>(y);
        append_2(out, uy / 100);
        append_2(out, uy % 100);
    } else {
        out += std::to_string(y);
    }
    out += '-';
    append_2(out, m);
    out += '-';
    append_2(out, d);
}

void append_datetime(std::string& out, std::int64_t seconds) {
    const std::int64_t days = floor_div(seconds, seconds_per_day);
    const auto rem = static_cast<unsigned>(seconds - days * seconds_per_day);
    append_date(out, days);
    out += 'T';
    append_2(out, rem / 3600);
    out += ':';
    append_2(out, rem / 60 % 60);
    out += ':';
    append_2(out, rem % 60);
    out += 'Z';
}

void append_duration(std::string& out, std::int64_t s) {
    if (s < 0) {
        out += '-';
        s = -s;
    }
    static constexpr struct {
        std::int64_t secs;
        char unit;
    } units[] = {{7 * seconds_per_day, 'w'}, {seconds_per_day, 'd'}, {3600, 'h'}, {60, 'm'}};
    for (const auto& u : units) {
        if (s != 0 && s % u.secs == 0) {
            out += std::to_string(s / u.secs);
            out += u.unit;
            return;
        }
    }
    out += std::to_string(s);
    out += 's';
}

std::string format_date(std::int64_t days) {
    std::string s;
    append_date(s, days);
    return s;
}

std::string format_datetime(std::int64_t seconds) {
    std::string s;
    append_datetime(s, seconds);
    return s;
}

void append_value(std::string& out, const Value& v, const std::vector<std::string>& user_ids,
                  int min_fraction) {
    switch (v.kind) {
    case ValueKind::Empty: break;
    case ValueKind::Text: out.append(v.s); break;
    case ValueKind::Number: append_decimal(out, v.i, min_fraction); break;
    case ValueKind::Boolean: out += v.i != 0 ? "true" : "false"; break;
    case ValueKind::Date: append_date(out, v.i); break;
    case ValueKind::DateTime: append_datetime(out, v.i); break;
    case ValueKind::Duration: append_duration(out, v.i); break;
    case ValueKind::User:
        if (v.i >= 0 && static_cast<std::size_t>(v.i) < user_ids.size()) {
            out += user_ids[static_cast<std::size_t>(v.i)];
        } else {
            out += "system";
        }
        break;
    case ValueKind::Record: out += std::to_string(v.i); break;
    }
}

std::string format_value(const Value& v, const std::vector<std::string>& user_ids,
                         int min_fraction) {
    std::string s;
    append_value(s, v, user_ids, min_fraction);
    return s;
}

} // namespace teamflow::engine
