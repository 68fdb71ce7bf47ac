#pragma once
// The expression machine: evaluates compiled programs over a fixed value stack, without allocating
// (text results go to a reusable arena).

#include "teamflow/engine/definitions.hpp"
#include "teamflow/engine/store.hpp"

#include <memory>
#include <string_view>
#include <vector>

namespace teamflow::engine {

/// Deepest value stack a program may use.
inline constexpr int max_stack = 64;

/// Bump storage for text built during evaluation; `reset` keeps the first block.
class Arena {
public:
    char* allocate(std::size_t n);
    std::string_view copy(std::string_view s);
    void reset();

private:
    struct Block {
        std::unique_ptr<char[]> data;
        std::size_t size = 0;
    };
    std::vector<Block> blocks_;
    std::size_t used_ = 0; ///< in the last block
};

/// What an evaluation sees.
struct EvalEnv {
    const Definitions* defs = nullptr;
    const Record* record = nullptr; ///< the context record (may be null)
    UserId user = no_user;          ///< current_user
    std::int64_t now = 0;           ///< seconds since the epoch
    const RecordReader* reader = nullptr;
    const RecordId* slots = nullptr; ///< named records
    std::size_t slot_count = 0;
    Arena* arena = nullptr;
};

/// Evaluates a program. Text in the result may point into the arena or the context record.
Value evaluate(const Program& prog, const EvalEnv& env);

/// A condition's truth: only a true boolean holds.
inline bool truthy(const Value& v) { return v.kind == ValueKind::Boolean && v.i != 0; }

/// Evaluates a condition.
inline bool holds(const Program& prog, const EvalEnv& env) {
    return prog.empty() || truthy(evaluate(prog, env));
}

/// Interpolates a message.
void render_message(const MessageDef& msg, const EvalEnv& env, std::string& out);

/// Per-thread arena for evaluations.
Arena& thread_arena();

} // namespace teamflow::engine
