#pragma once
/// Run-time values: exact decimals, dates, date-times, durations, text, users and record ids.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace teamflow::engine {

/// A record identifier (positive; 0 means none).
using RecordId = std::int64_t;
/// A user: an index into `Definitions::users`.
using UserId = std::uint32_t;
/// No user (an empty user field).
inline constexpr UserId no_user = 0xFFFFFFFFu;
/// The system, which performs automatic transitions and SLAs.
inline constexpr UserId system_user = 0xFFFFFFFEu;

/// Exact decimals are int64 scaled by 10^6 (six decimal places).
inline constexpr std::int64_t decimal_scale = 1'000'000;
/// Seconds in a day.
inline constexpr std::int64_t seconds_per_day = 86'400;

/// The run-time kind of a value; `Empty` is the absence of a value.
enum class ValueKind : std::uint8_t { Empty, Text, Number, Boolean, Date, DateTime, Duration, User, Record };

/// The name of a value kind (`text`, `number`, …).
std::string_view value_kind_name(ValueKind kind);

/// A non-owning value, as the expression machine handles it: 32 bytes, no allocation.
/// Number: `i` scaled by 10^6; Date: days since 1970-01-01; DateTime: seconds since the epoch;
/// Duration: seconds; Boolean: 0/1; User: a UserId; Record: a RecordId; Text: `s`.
struct Value {
    std::int64_t i = 0;
    std::string_view s;
    ValueKind kind = ValueKind::Empty;

    bool empty() const { return kind == ValueKind::Empty; }
    static Value none() { return {}; }
    static Value text(std::string_view t) { return {0, t, ValueKind::Text}; }
    static Value number_scaled(std::int64_t v) { return {v, {}, ValueKind::Number}; }
    static Value integer(std::int64_t v) { return {v * decimal_scale, {}, ValueKind::Number}; }
    static Value boolean(bool b) { return {b ? 1 : 0, {}, ValueKind::Boolean}; }
    static Value date(std::int64_t days) { return {days, {}, ValueKind::Date}; }
    static Value datetime(std::int64_t secs) { return {secs, {}, ValueKind::DateTime}; }
    static Value duration(std::int64_t secs) { return {secs, {}, ValueKind::Duration}; }
    static Value user(UserId u) { return u == no_user ? Value{} : Value{u, {}, ValueKind::User}; }
    static Value record(RecordId r) { return r == 0 ? Value{} : Value{r, {}, ValueKind::Record}; }
};

/// An owning field value stored in a record. For a picklist, `aux` is the value's index.
struct Cell {
    std::int64_t i = 0;
    std::string s;
    std::int32_t aux = -1;
    ValueKind kind = ValueKind::Empty;

    bool empty() const { return kind == ValueKind::Empty; }
    /// A view of this cell (valid while the cell is unchanged).
    Value view() const { return {i, s, kind}; }
    /// Copies a value in (reusing this cell's buffer).
    void assign(const Value& v, std::int32_t aux_value = -1) {
        kind = v.kind;
        i = v.i;
        aux = aux_value;
        if (v.kind == ValueKind::Text) {
            s.assign(v.s.data(), v.s.size());
        } else {
            s.clear();
        }
    }
    void clear() {
        kind = ValueKind::Empty;
        i = 0;
        aux = -1;
        s.clear();
    }
    friend bool operator==(const Cell& a, const Cell& b) {
        return a.kind == b.kind && a.i == b.i && a.s == b.s;
    }
};

/// Equality as `==` means it: empty equals only empty; text compares with a user's id.
bool values_equal(const Value& a, const Value& b, const std::vector<std::string>& user_ids);

// --- decimals --------------------------------------------------------------------------------

/// Parses `12`, `-12.5`, `0.125` exactly (at most 6 decimals); nullopt when malformed or too big.
std::optional<std::int64_t> parse_decimal(std::string_view text);
/// Appends a decimal without trailing zeros, but with at least `min_fraction` decimals.
void append_decimal(std::string& out, std::int64_t scaled, int min_fraction = 0);
/// A decimal as text (`12.5`; `12.50` with min_fraction 2).
std::string format_decimal(std::int64_t scaled, int min_fraction = 0);

// --- dates and times -------------------------------------------------------------------------

/// Days since 1970-01-01 of a proleptic Gregorian date.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d);
/// The date of a day number.
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d);
/// Parses `2026-03-11`.
std::optional<std::int64_t> parse_date(std::string_view text);
/// Parses RFC 3339 `2026-03-11T09:30:00Z` (also `+02:00` offsets, fractions ignored).
std::optional<std::int64_t> parse_datetime(std::string_view text);
/// Parses `30d`, `4h`, `15m`, `20s`, `2w` (also combinations like `1d12h`).
std::optional<std::int64_t> parse_duration(std::string_view text);
/// Appends `2026-03-11`.
void append_date(std::string& out, std::int64_t days);
/// Appends `2026-03-11T09:30:00Z`.
void append_datetime(std::string& out, std::int64_t seconds);
/// Appends a duration in its largest exact unit (`30d`, `36h`, `90s`).
void append_duration(std::string& out, std::int64_t seconds);
/// A day number as `2026-03-11`.
std::string format_date(std::int64_t days);
/// Seconds as `2026-03-11T09:30:00Z`.
std::string format_datetime(std::int64_t seconds);

/// Floor division (towards negative infinity).
inline std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        --q;
    }
    return q;
}

/// Appends a value as messages show it; users by id, empty as "". `min_fraction` for numbers.
void append_value(std::string& out, const Value& v, const std::vector<std::string>& user_ids,
                  int min_fraction = 0);
/// A value as messages show it.
std::string format_value(const Value& v, const std::vector<std::string>& user_ids,
                         int min_fraction = 0);

} // namespace teamflow::engine
