#pragma once
/// Private to the checker: symbol tables and the `Checker` whose passes are split across
/// `checker.cpp` (declarations), `checker_expr.cpp` (expressions and assignments),
/// `checker_blueprint.cpp` (blueprints, actions, warnings) and `checker_test_blocks.cpp` (tests).

#include "teamflow/dsl/ast.hpp"
#include "teamflow/dsl/checker.hpp"
#include "teamflow/dsl/diagnostics.hpp"

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace teamflow::dsl::checker_detail {

template <typename T>
using NameMap = std::unordered_map<std::string_view, T>;
using NameSet = std::unordered_set<std::string_view>;

/// The keys of a name map, for "did you mean" (error path only).
template <typename Map>
std::vector<std::string_view> keys_of(const Map& map) {
    std::vector<std::string_view> out;
    out.reserve(map.size());
    for (const auto& entry : map) {
        out.push_back(entry.first);
    }
    return out;
}

struct FieldInfo {
    const Field* decl = nullptr;
    /// Picklist values (first declaration of each), in declaration order.
    std::vector<std::string_view> values;
    /// Built for long picklists only; short ones are scanned.
    NameSet value_set;

    bool has_value(std::string_view value) const;
};

struct BlueprintInfo;
struct TeamInfo;

struct ModuleInfo {
    Module* decl = nullptr;
    NameMap<FieldInfo> fields;
    const TeamInfo* team = nullptr;   ///< the owning teamspace of a team module
    NameSet request_fields;           ///< `accepts … { fields … }`
    NameSet accepts_teams;            ///< `accepts requests from …`
    std::vector<BlueprintInfo*> blueprints; ///< blueprints governing a field of this module
    bool partial = false; ///< named in `Ast::partial_declarations`: its fields are not reported

    std::string_view name() const { return decl->name.text; }
    const FieldInfo* field(std::string_view name) const;
};

struct TeamInfo {
    const Teamspace* decl = nullptr;
    NameSet members;
    NameMap<ModuleInfo*> team_modules;
};

/// A name in a blueprint's transition namespace.
struct TransitionRef {
    const Transition* transition = nullptr; ///< null for a parallel group itself
    const Parallel* parallel = nullptr;     ///< the group, for a group or a sub-transition
    SourceRange range;
};

struct BlueprintInfo {
    Blueprint* decl = nullptr;
    ModuleInfo* module = nullptr;     ///< null when the module is unknown
    const FieldInfo* field = nullptr; ///< the governed picklist; null when unknown or not one
    bool governs = false;             ///< first blueprint on its field (not a duplicate)
    bool partial = false;             ///< named in `Ast::partial_declarations`
    NameMap<TransitionRef> transitions;
};

/// Named records visible to an expression: test records, or records created earlier by the
/// same transition. The module is null when it is unknown.
using RecordMap = NameMap<const ModuleInfo*>;

/// What an expression is evaluated against.
struct Scope {
    const ModuleInfo* module = nullptr; ///< the context module; null when there is none
    bool opaque = false;                ///< the context is unknown: unresolved names are silent
    const RecordMap* records = nullptr;
};

/// Where a value is assigned, for `assignment-type` and picklist literal checks.
struct AssignTarget {
    const FieldInfo* field = nullptr;        ///< a declared field, or
    const BuiltinField* builtin = nullptr;   ///< a built-in field
    std::string_view module;                 ///< the record's module (for `id`)
};

class Checker {
public:
    Checker(Ast& ast, const SourceManager& sources, DiagnosticSink& sink);
    void run();

    // --- checker.cpp: symbol tables and declarations ----------------------------------------
private:
    void collect();
    void collect_modules();
    void collect_blueprints();
    void check_users();
    void check_modules();
    void check_module(ModuleInfo& module);
    void check_teamspaces();
    void check_route(ModuleInfo& module);

public:
    /// Reports an unknown name unless it is a partial declaration; appends "did you mean".
    void unknown(const char* code, SourceRange range, std::string message, std::string_view name,
                 const std::vector<std::string_view>& candidates);
    void duplicate(const char* what, std::string_view name, SourceRange second, SourceRange first);
    const ModuleInfo* find_module(std::string_view name) const;
    const TeamInfo* find_team(std::string_view name) const;
    bool is_user(std::string_view name) const { return users_.count(name) != 0; }
    bool check_user(const Name& name);
    bool check_role(const Name& name);
    const TeamInfo* check_team(const Name& name);
    const ModuleInfo* check_module_name(const Name& name);
    /// Resolves a field of `module` (declared or built-in) to assign; reports unknown-field.
    bool resolve_field(const ModuleInfo& module, const Name& name, AssignTarget& out);

    // --- checker_expr.cpp --------------------------------------------------------------------
    Type infer(Expr& expr, const Scope& scope);
    /// Infers a condition and requires it to be boolean.
    void check_condition(Expr& expr, const Scope& scope);
    void check_message(std::vector<MessagePart>& parts, const Scope& scope);
    /// Infers `value` and checks that it fits `target`.
    void check_assignment(const AssignTarget& target, const Name& field, Expr& value,
                          const Scope& scope, bool is_default = false);
    /// The declared field an expression reads directly (`stage`, `deal.stage`), or null.
    const FieldInfo* field_of(const Expr& expr, const Scope& scope) const;

private:
    Type infer_name(Expr& expr, const Scope& scope);
    Type infer_member(Expr& expr, const Scope& scope);
    Type infer_call(Expr& expr, const Scope& scope);
    Type infer_unary(Expr& expr, const Scope& scope);
    Type infer_binary(Expr& expr, const Scope& scope);
    Type infer_in(Expr& expr, const Scope& scope);
    Type infer_list(Expr& expr, const Scope& scope);
    void check_picklist_literal(const Expr& maybe_field, const Expr& maybe_literal,
                                const Scope& scope);
    void check_literal_value(const FieldInfo& field, const Expr& literal);

    // --- checker_blueprint.cpp -----------------------------------------------------------------
    void check_blueprints();
    void check_blueprint(BlueprintInfo& bp);
    void check_transition(BlueprintInfo& bp, Transition& t, const Scope& scope, bool sub);
    void check_state(const BlueprintInfo& bp, const Name& state);
    void check_targets(BlueprintInfo& bp, Transition& t, const Scope& scope);
    void check_owner(const Owner& owner, bool recipient);
    void check_actions(BlueprintInfo& bp, std::vector<Action>& actions, const Scope& scope);
    void check_set(BlueprintInfo& bp, Action& action, const Scope& scope);
    void check_record_action(BlueprintInfo& bp, Action& action, const Scope& scope,
                             RecordMap& created);
    void warn_unreachable(const BlueprintInfo& bp);
    void warn_no_owner(const Transition& t);

public:
    /// `request Team.Module`: resolves both; null when either is unknown.
    const ModuleInfo* resolve_request_target(const Name& team, const Name& module);
    /// Checks `field = value` assignments into `module`; records the assigned names in `seen`.
    void check_record_assignments(const ModuleInfo* module, std::vector<Assignment>& assignments,
                                  const Scope& value_scope, bool creating, bool request,
                                  NameSet* seen);
    void check_required(const ModuleInfo& module, const NameSet& assigned, SourceRange where,
                        std::string_view action);

private:
    // --- checker_test_blocks.cpp ---------------------------------------------------------------
    void check_tests();
    void check_test(Test& test);

    Ast& ast_;
    const SourceManager& sources_;
    DiagnosticSink& sink_;

    NameSet partial_;
    NameMap<const Role*> roles_;
    NameSet held_roles_;
    NameMap<const User*> users_;
    std::vector<ModuleInfo> module_infos_; ///< aligned with ast_.modules
    NameMap<ModuleInfo*> modules_;
    std::vector<TeamInfo> team_infos_;     ///< aligned with ast_.teamspaces
    NameMap<TeamInfo*> teams_;
    /// Org module name → teamspaces that show it (`modules …`).
    NameMap<std::vector<const TeamInfo*>> shown_by_;
    std::vector<BlueprintInfo> blueprint_infos_; ///< aligned with ast_.blueprints
};

/// The built-in field called `name`, or null.
const BuiltinField* find_builtin(std::string_view name);
/// Whether `set`/update may write the built-in field.
bool builtin_writable(const BuiltinField& field);
/// The type a field's values have in expressions.
Type type_of_field(const Field& field);
/// A readable type name for messages (`number`, `record of Deals`, `list of text`).
std::string describe(const Type& type);
/// How a field's declared type reads in messages (`currency`, `lookup Accounts`).
std::string describe_field(const Field& field);

} // namespace teamflow::dsl::checker_detail
