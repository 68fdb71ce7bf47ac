#pragma once
/// Timers a record gets when it enters a state (internal to the engine).

#include "teamflow/engine/definitions.hpp"
#include "teamflow/engine/store.hpp"

namespace teamflow::engine {

/// Queues the automatic transitions and SLAs of `state` for record `r`, due from `now`.
void schedule_state_timers(ChangeSet& cs, const BlueprintDef& bp, std::uint32_t bp_index,
                           const Record& r, std::uint32_t state, std::int64_t now);

} // namespace teamflow::engine
