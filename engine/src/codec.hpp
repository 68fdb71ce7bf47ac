#pragma once
// Durable encoding of records, history, timers and keys by name, so that rows written under one
// definitions version read back correctly under another (fields reordered, users added…).
// Modules and fields by name, states by their text, users by id, field values as JSON.
// Shared by the durable stores and by `MemoryStore::bind` (which re-encodes what it holds).

#include "teamflow/engine/definitions.hpp"
#include "teamflow/engine/store.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace teamflow::engine::codec {

/// A parsed JSON value (numbers kept as their text, so decimals stay exact).
struct Json {
    enum class Kind : std::uint8_t { Null, Bool, Number, String, Array, Object };
    Kind kind = Kind::Null;
    bool boolean = false;
    std::string text; ///< Number: as written; String: the decoded text
    std::vector<Json> items;
    std::vector<std::pair<std::string, Json>> members;
};

/// Parses JSON text; false when malformed.
bool parse_json(std::string_view text, Json& out);

/// A user as stored: its id, `@system` for the system, "" for none.
std::string user_key(const Definitions& d, UserId user);
/// The user of a stored key (`no_user` when unknown or empty).
UserId user_of(const Definitions& d, std::string_view key);

/// A state's text in a module's blueprint ("" when none or out of range).
std::string state_text(const Definitions& d, std::uint32_t module, std::int32_t state);
/// A state's index in a module's blueprint (-1 when none).
std::int32_t state_of(const Definitions& d, std::uint32_t module, std::string_view text);

/// Appends one cell as a JSON value (by its own kind).
void append_cell(std::string& out, const Definitions& d, const Cell& cell);
/// Decodes a JSON value into a cell of `field`'s type; empty when it does not fit.
void decode_cell(const Definitions& d, const FieldDef& field, const Json& v, Cell& out);

/// A record's fields as a JSON object keyed by field name (empty fields left out).
void encode_fields(std::string& out, const Definitions& d, const Record& r);
/// Fills `r.fields` (sized to the module's layout) from a JSON object; false when malformed.
bool decode_fields(const Definitions& d, std::string_view json, Record& r);

/// The done parallel sub-transitions as a JSON array of their names.
void encode_parallel(std::string& out, const Definitions& d, const Record& r);
/// Bits of the done sub-transitions named in a JSON array.
std::uint64_t decode_parallel(const Definitions& d, std::uint32_t module, std::string_view json);

/// Field changes as `[["field", before, after], …]`.
void encode_changes(std::string& out, const Definitions& d, const HistoryEntry& h);
/// Field changes of a history entry (fields the module no longer has are dropped).
void decode_changes(const Definitions& d, std::string_view json, HistoryEntry& h);

/// A list of strings as a JSON array.
void encode_strings(std::string& out, const std::vector<std::string>& items);
/// A JSON array of strings.
std::vector<std::string> decode_strings(std::string_view json);

/// What a timer fires, by name: the transition's name, or the SLA's state with its ordinal.
struct TimerName {
    std::string blueprint;
    std::string what;
    std::int64_t ordinal = 0;
};
/// The names of a timer's blueprint and transition or SLA.
TimerName timer_name(const Definitions& d, const Timer& t);
/// Resolves names back to indices; false when the blueprint or transition is gone.
bool timer_of(const Definitions& d, const TimerName& n, Timer& t);

/// Translates a record from one version's indices to another's; false when its module is gone.
bool remap_record(const Definitions& from, const Definitions& to, Record& r);
/// Translates a history entry; false when its module is gone.
bool remap_history(const Definitions& from, const Definitions& to, HistoryEntry& h);
/// Translates a timer; false when what it fires is gone.
bool remap_timer(const Definitions& from, const Definitions& to, Timer& t);
/// Translates a user.
UserId remap_user(const Definitions& from, const Definitions& to, UserId u);
/// Translates a module (npos32 when gone).
std::uint32_t remap_module(const Definitions& from, const Definitions& to, std::uint32_t m);

} // namespace teamflow::engine::codec
