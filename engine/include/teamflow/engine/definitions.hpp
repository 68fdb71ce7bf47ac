#pragma once
/// Compiled definitions: modules with field layouts, blueprints as dense state/transition tables,
/// expressions as flat postfix programs. Immutable once compiled; share as
/// `std::shared_ptr<const Definitions>`.

#include "teamflow/dsl/ast.hpp"
#include "teamflow/dsl/source.hpp"
#include "teamflow/engine/record.hpp"
#include "teamflow/engine/result.hpp"
#include "teamflow/engine/value.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace teamflow::dsl {
struct DefinitionSet;
}

namespace teamflow::engine {

/// "No index".
inline constexpr std::uint32_t npos32 = 0xFFFFFFFFu;

/// Field indices with this bit set name a writable built-in (`owner`, `assignee`, `requester`):
/// `builtin_field | Builtin::Owner`.
inline constexpr std::uint32_t builtin_field = 0x80000000u;

/// One instruction of an expression program.
enum class OpCode : std::uint8_t {
    PushConst,      ///< a: constant index
    LoadField,      ///< a: field index of the context record
    LoadBuiltin,    ///< a: Builtin of the context record
    LoadCurrentUser,
    LoadNamed,      ///< a: named-record slot (its id)
    LoadMember,     ///< one hop: b = 0 lookup field a / b = 1 named slot a; c: target field
                    ///< (c < 0: builtin -c-1)
    Today,
    Now,
    Not,
    Neg,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    IsEmpty,
    IsNotEmpty,
    In,             ///< a: element count (below them the operand); b = 1 for `not in`
    Lower,
    Upper,
    Len,
    Contains,
    StartsWith,
    DaysBetween,
    ToBool,
    JumpIfFalse,    ///< top is a boolean: when false jump to a (keeping it), else pop it
    JumpIfTrue,     ///< top is a boolean: when true jump to a (keeping it), else pop it
};

/// One instruction: 12 bytes.
struct Instr {
    OpCode op = OpCode::PushConst;
    std::uint8_t b = 0;
    std::uint16_t pad = 0;
    std::uint32_t a = 0;
    std::int32_t c = 0;
};

/// A constant of a program; text constants point into `Program::strings` by index.
struct Const {
    Value value;
    std::int32_t str = -1;
};

/// A compiled expression: a postfix program over a small value stack.
struct Program {
    std::vector<Instr> code;
    std::vector<Const> consts;
    std::vector<std::string> strings;
    std::uint16_t max_stack = 0;
    int min_fraction = 0;       ///< 2 when the value is a currency (for printing)
    std::string source;         ///< the expression as written, for messages
    std::string first_field;    ///< the first field it reads, for error items
    dsl::SourceRange range;

    bool empty() const { return code.empty(); }
};

/// A message with `{expr}` interpolations, pre-split.
struct MessageDef {
    struct Part {
        std::string text;
        Program expr; ///< used when non-empty
    };
    std::vector<Part> parts;
};

/// A compiled field.
struct FieldDef {
    std::string name;
    std::string label;
    dsl::FieldKind kind = dsl::FieldKind::Text;
    ValueKind value_kind = ValueKind::Text;
    bool required = false;
    bool unique = false;
    std::vector<std::string> values;     ///< picklist values
    std::uint32_t lookup_module = npos32; ///< lookup target
    Program default_value;               ///< empty when none
    int min_fraction = 0;                ///< 2 for currency
    /// Index of a picklist value, or -1.
    std::int32_t value_index(std::string_view v) const;
};

/// A transition owner or a notification recipient.
struct OwnerDef {
    dsl::OwnerKind kind = dsl::OwnerKind::Owner;
    std::uint32_t index = npos32; ///< user, role or teamspace index
};

/// One routing rule of a team module.
struct RouteRuleDef {
    Program when; ///< empty for `otherwise`
    dsl::AssignKind kind = dsl::AssignKind::RoundRobinMembers;
    std::vector<UserId> users; ///< `assign <user>` / `assign round robin <users>`
    std::uint32_t role = npos32;
    std::string cursor_key; ///< durable round-robin cursor name
};

/// A compiled module.
struct ModuleDef {
    std::string name;
    std::string label;
    std::uint32_t teamspace = npos32; ///< npos32 for an org module
    std::vector<FieldDef> fields;
    std::unordered_map<std::string, std::uint32_t> field_index;
    std::uint32_t blueprint = npos32;
    bool accepts_requests = false;
    std::vector<std::uint32_t> accepts_from;  ///< teamspaces
    std::vector<std::uint8_t> requestable;    ///< per field: a request may fill it
    std::vector<RouteRuleDef> routes;
    /// Index of a field by name, or npos32.
    std::uint32_t find_field(std::string_view name) const;
    /// A field, or a writable built-in as `builtin_field | b`, by name; npos32 when neither.
    std::uint32_t find_assignable(std::string_view name) const;
};

/// A compiled after-action.
struct ActionDef {
    dsl::ActionKind kind = dsl::ActionKind::Set;
    std::uint32_t field = npos32; ///< Set
    Program value;                ///< Set
    OwnerDef recipient;           ///< Notify
    MessageDef message;           ///< Notify
    std::string url;              ///< Webhook
    std::uint32_t team = npos32;  ///< Request
    std::uint32_t module = npos32;///< Request, Create
    std::int32_t slot = -1;       ///< Create `as`: the named slot it binds
    std::vector<std::pair<std::uint32_t, Program>> assignments; ///< Request, Create
};

/// One conditional (or plain) target.
struct TargetDef {
    std::uint32_t state = 0;
    Program when; ///< empty for a plain target or `otherwise`
};

/// A `validate … else "…"`.
struct ValidationDef {
    Program condition;
    MessageDef message;
};

/// A compiled transition (parallel sub-transitions included, with `parallel` set).
struct TransitionDef {
    std::string name;
    std::vector<std::uint8_t> from; ///< per state: may start there
    std::vector<TargetDef> targets;
    std::int64_t after = -1;        ///< automatic after these seconds; -1 when manual
    std::vector<OwnerDef> owners;   ///< empty: the record's owner
    std::vector<Program> when;
    std::vector<std::uint32_t> require;
    std::vector<ValidationDef> validations;
    std::vector<std::string> checklist;
    bool note_required = false;
    std::vector<ActionDef> actions;
    std::uint32_t parallel = npos32;
    std::uint64_t parallel_bit = 0;
    std::vector<std::uint32_t> slot_modules; ///< module of each `create … as` slot
    std::vector<std::string> slot_names;
};

/// A parallel group: its sub-transitions must all be done before the record moves.
struct ParallelDef {
    std::string name;
    std::vector<std::uint8_t> from;
    std::uint32_t to = 0;
    std::vector<std::uint32_t> subs; ///< transition indices
    std::uint64_t mask = 0;
    std::vector<ActionDef> actions;
    std::vector<std::uint32_t> slot_modules;
    std::vector<std::string> slot_names;
};

/// An SLA: actions run once when a record has been in `state` for `within` seconds.
struct SlaDef {
    std::uint32_t state = 0;
    std::int64_t within = 0;
    std::vector<Program> when;
    std::vector<ActionDef> actions;
    std::vector<std::uint32_t> slot_modules;
    std::vector<std::string> slot_names;
};

/// A compiled blueprint: states are the governed picklist's values.
struct BlueprintDef {
    std::string name;
    std::uint32_t module = 0;
    std::uint32_t field = 0;
    Program when; ///< entry criteria; empty: every record
    std::vector<std::string> states;
    std::uint32_t initial = 0;
    std::vector<TransitionDef> transitions;
    std::vector<ParallelDef> parallels;
    std::vector<SlaDef> slas;
    std::vector<std::vector<std::uint32_t>> from_state;   ///< transitions startable per state
    std::vector<std::vector<std::uint32_t>> auto_on_enter;///< automatic transitions per state
    std::vector<std::vector<std::uint32_t>> sla_on_enter; ///< SLAs per state
    std::vector<std::uint8_t> terminal;                   ///< per state: no way out
    /// `migrate "Old" to "New"`: a removed state's name and where its records go.
    std::vector<std::pair<std::string, std::uint32_t>> migrations;
    std::unordered_map<std::string, std::uint32_t> transition_index;
    std::unordered_map<std::string, std::uint32_t> parallel_index;
    /// Index of a transition by name, or npos32.
    std::uint32_t find_transition(std::string_view name) const;
    /// Index of a state by name, or npos32.
    std::uint32_t find_state(std::string_view name) const;
};

/// A declared user.
struct UserDef {
    std::string id;
    std::string name;
    std::string email;
    std::vector<std::uint32_t> roles;
};

/// A teamspace.
struct TeamspaceDef {
    std::string name;
    std::string label;
    std::vector<UserId> members;
    std::vector<UserId> admins;
    std::vector<UserId> everyone; ///< members, then admins who are not members
    std::vector<std::uint32_t> shown_modules;
    std::vector<std::uint32_t> team_modules;
};

/// The whole compiled, immutable definition set.
class Definitions {
public:
    std::int64_t version = 1;
    std::vector<std::string> roles;
    std::vector<UserDef> users;
    std::vector<std::string> user_ids; ///< users[i].id, for printing values
    std::vector<ModuleDef> modules;
    std::vector<TeamspaceDef> teamspaces;
    std::vector<BlueprintDef> blueprints;
    std::unordered_map<std::string, std::uint32_t> module_index;
    std::unordered_map<std::string, std::uint32_t> user_index;
    std::unordered_map<std::string, std::uint32_t> role_index;
    std::unordered_map<std::string, std::uint32_t> teamspace_index;
    std::unordered_map<std::string, std::uint32_t> blueprint_index;
    const dsl::SourceManager* sources = nullptr; ///< for locations in messages (may be null)

    std::uint32_t find_module(std::string_view name) const;
    std::uint32_t find_user(std::string_view id) const;
    std::uint32_t find_role(std::string_view name) const;
    std::uint32_t find_teamspace(std::string_view name) const;
    std::uint32_t find_blueprint(std::string_view name) const;
    /// Whether a user has a role.
    bool has_role(UserId user, std::uint32_t role) const;
    /// Whether a user is a member (or admin) of a teamspace.
    bool is_member(UserId user, std::uint32_t team) const;
    /// Whether a user is an admin of a teamspace.
    bool is_team_admin(UserId user, std::uint32_t team) const;
    /// The printable id of a user (`system` for the system, "" for none).
    std::string_view user_name(UserId user) const;
    /// The blueprint governing a module, or null.
    const BlueprintDef* blueprint_of(std::uint32_t module) const {
        const std::uint32_t b = modules[module].blueprint;
        return b == npos32 ? nullptr : &blueprints[b];
    }
};

/// Where a compiled expression may look names up.
struct Scope {
    std::uint32_t module = npos32; ///< the context module (fields and built-ins), or none
    const std::vector<std::string>* slot_names = nullptr;   ///< named records, by slot
    const std::vector<std::uint32_t>* slot_modules = nullptr;
};

/// Compiles one checked expression against a scope.
Result<Program> compile_expression(const Definitions& defs, const dsl::Expr& expr,
                                   const Scope& scope);

/// Compiles a checked AST into definitions; `sources` (optional) gives expression source text.
Result<std::shared_ptr<const Definitions>> compile_definitions(const dsl::Ast& ast,
                                                               const dsl::SourceManager* sources,
                                                               std::int64_t version = 1);

/// Compiles a checked definition set (refused when it has errors).
Result<std::shared_ptr<const Definitions>> compile_definitions(const dsl::DefinitionSet& set,
                                                               std::int64_t version = 1);

/// The expression as text, in the language's syntax.
std::string expression_text(const dsl::Expr& expr);

} // namespace teamflow::engine
