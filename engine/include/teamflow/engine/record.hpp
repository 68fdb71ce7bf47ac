#pragma once
/// A record: built-in fields and its fields by index (the module's layout).

#include "teamflow/engine/value.hpp"

#include <cstdint>
#include <vector>

namespace teamflow::engine {

/// Built-in fields every record has, addressable by expressions.
enum class Builtin : std::uint8_t { Id, Owner, CreatedBy, CreatedAt, UpdatedAt, Version, Requester, Assignee };

/// One record of a module. Fields are stored by index in the module's field order.
struct Record {
    RecordId id = 0;
    std::uint32_t module = 0;
    std::int64_t version = 0;       ///< 1 when created, one more with every change
    UserId owner = no_user;
    UserId created_by = no_user;
    UserId requester = no_user;     ///< set when filed as a request
    UserId assignee = no_user;      ///< set by routing
    std::int64_t created_at = 0;    ///< seconds since the epoch
    std::int64_t updated_at = 0;
    bool governed = false;          ///< matches its blueprint's entry criteria
    bool deleted = false;
    std::int64_t state_version = 0; ///< the version at which the record entered its current state
    std::int64_t state_entered_at = 0;
    std::uint64_t parallel_done = 0; ///< bits of the parallel sub-transitions done in this state
    std::vector<Cell> fields;

    /// The value of a built-in field.
    Value builtin(Builtin b) const {
        switch (b) {
        case Builtin::Id: return Value::record(id);
        case Builtin::Owner: return Value::user(owner);
        case Builtin::CreatedBy: return Value::user(created_by);
        case Builtin::CreatedAt: return Value::datetime(created_at);
        case Builtin::UpdatedAt: return Value::datetime(updated_at);
        case Builtin::Version: return Value::integer(version);
        case Builtin::Requester: return Value::user(requester);
        case Builtin::Assignee: return Value::user(assignee);
        }
        return {};
    }
};

} // namespace teamflow::engine
