#pragma once
/// The abstract syntax tree of a definition set. Every node carries its source range.
///
/// The parser fills one `Ast` from all files of a set (declarations may come in any order and in
/// any file). The checker resolves names and annotates expressions with their types (`Expr::type`);
/// the engine compiles a checked `Ast`.

#include "teamflow/dsl/source.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace teamflow::dsl {

/// An identifier or a double-quoted name (`Qualify`, `"Discount approval"`), unescaped.
struct Name {
    std::string text;
    SourceRange range;
    bool quoted = false;
};

/// A string literal, unescaped.
struct StringLit {
    std::string value;
    SourceRange range;
};

/// A duration literal (`30d`, `4h`, `15m`, `20s`, `2w`).
struct Duration {
    std::int64_t seconds = 0;
    SourceRange range;
};

// ---------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------

/// The declared type of a field.
enum class FieldKind {
    Text,
    Number,
    Currency,
    Percent,
    Boolean,
    Date,
    DateTime,
    Email,
    Phone,
    Url,
    Picklist,
    Lookup,
    User,
};

/// The static type of an expression, as the checker infers it.
enum class TypeKind {
    Unknown, ///< not yet inferred, or after an error (suppresses follow-up errors)
    Empty,   ///< the literal `empty`: fits every type
    Text,    ///< text, email, phone, url, picklist values
    Number,  ///< number, currency, percent (exact decimals)
    Boolean,
    Date,
    DateTime,
    Duration,
    User,   ///< a user identifier
    Record, ///< a record id (a lookup, `id`, a test's record name); `module` says of which module
    List,   ///< a list literal; `element` is the element kind
};

struct Type {
    TypeKind kind = TypeKind::Unknown;
    TypeKind element = TypeKind::Unknown; ///< for List
    FieldKind field = FieldKind::Text;    ///< the field kind when the value comes from a field
    bool from_field = false;              ///< `field` is meaningful
    std::string module;                   ///< for Record: the module's name
    friend bool operator==(const Type&, const Type&) = default;
};

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

enum class ExprKind {
    Number,   ///< `text` holds the literal as written (`12.5`)
    String,   ///< `text` holds the unescaped value
    Message,  ///< an interpolated message: `parts` alternate; see MessagePart
    Bool,     ///< `boolean`
    Empty,    ///< `empty`
    Date,     ///< `int_value` = days since 1970-01-01; `text` as written
    DateTime, ///< `int_value` = seconds since the epoch (UTC); `text` as written
    Duration, ///< `int_value` = seconds; `text` as written
    List,     ///< `args` are the elements
    Name,     ///< a field, `id`, `current_user` or a test's record name: `text`
    Member,   ///< `args[0].member`: one hop through a lookup (or a test record's field)
    Call,     ///< `text(args...)`: today, now, lower, upper, len, contains, starts_with, days_between
    Unary,    ///< `op` is Neg or Not; `args[0]`
    Binary,   ///< `op`; `args[0]`, `args[1]`
    IsEmpty,  ///< `args[0] is empty` (`negated`: `is not empty`)
    In,       ///< `args[0] in args[1]` (`negated`: `not in`)
};

enum class Op { None, Or, And, Not, Eq, Ne, Lt, Le, Gt, Ge, Add, Sub, Mul, Div, Neg };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

/// A piece of an interpolated message: literal text, or `{expr}`.
struct MessagePart {
    std::string text; ///< used when `expr` is null
    ExprPtr expr;
};

struct Expr {
    ExprKind kind = ExprKind::Empty;
    SourceRange range;
    Op op = Op::None;
    bool boolean = false;
    bool negated = false;
    std::int64_t int_value = 0;
    std::string text;   ///< literal text, name, or function name
    Name member;        ///< for Member
    std::vector<ExprPtr> args;
    std::vector<MessagePart> parts; ///< for Message
    Type type;          ///< filled by the checker
};

/// A message string with `{expr}` interpolations (validate … else "…", notify … "…").
struct Message {
    std::vector<MessagePart> parts;
    SourceRange range;
};

// ---------------------------------------------------------------------------------------------
// Declarations
// ---------------------------------------------------------------------------------------------

struct Role {
    Name name;
};

struct User {
    Name id;
    std::optional<StringLit> display_name; ///< `name "…"`
    std::optional<StringLit> email;
    std::vector<Name> roles;
    SourceRange range;
};

struct FieldType {
    FieldKind kind = FieldKind::Text;
    std::vector<StringLit> values; ///< picklist values
    Name target;                   ///< lookup target module
    SourceRange range;
};

struct Field {
    Name name;
    FieldType type;
    bool required = false;
    bool unique = false;
    ExprPtr default_value;
    std::optional<StringLit> label;
    SourceRange range;
};

/// `accepts requests from A, B { fields x, y }`
struct Accepts {
    std::vector<Name> teams;
    std::vector<Name> fields;
    SourceRange range;
};

enum class AssignKind {
    User,               ///< `assign <user>`
    Role,               ///< `assign role <Role>`
    RoundRobinMembers,  ///< `assign round robin members`
    RoundRobinUsers,    ///< `assign round robin <user>, <user>`
    LeastLoadedMembers, ///< `assign least loaded members`
};

struct Assign {
    AssignKind kind = AssignKind::RoundRobinMembers;
    std::vector<Name> names; ///< the user, the role, or the round-robin users
    SourceRange range;
};

/// `when <expr> assign …` or `otherwise assign …` (when == nullptr).
struct RouteRule {
    ExprPtr when;
    Assign assign;
    SourceRange range;
};

struct Route {
    std::vector<RouteRule> rules;
    SourceRange range;
};

struct Module {
    Name name;
    std::optional<StringLit> label;
    std::vector<Field> fields;
    std::string teamspace; ///< empty for an org module; the owning teamspace's name otherwise
    std::optional<Accepts> accepts;
    std::optional<Route> route;
    SourceRange range;
};

struct Teamspace {
    Name name;
    std::optional<StringLit> label;
    std::vector<Name> members;
    std::vector<Name> admins;
    std::vector<Name> shown_modules;     ///< `modules A, B`: org modules shown in this teamspace
    std::vector<std::size_t> team_modules; ///< indices into Ast::modules
    SourceRange range;
};

// ---------------------------------------------------------------------------------------------
// Blueprints
// ---------------------------------------------------------------------------------------------

enum class OwnerKind { Owner, Assignee, Requester, User, Role, Team, Anyone };

/// A transition owner (`by …`) or a notification recipient.
struct Owner {
    OwnerKind kind = OwnerKind::Owner;
    Name name; ///< for User, Role, Team
    SourceRange range;
};

/// `field = expr` inside `create`, `request`, a test's `with {…}` …
struct Assignment {
    Name field;
    ExprPtr value;
    SourceRange range;
};

enum class ActionKind { Set, Notify, Webhook, Request, Create };

struct Action {
    ActionKind kind = ActionKind::Set;
    Name field;                          ///< Set: the field
    ExprPtr value;                       ///< Set: the value
    Owner recipient;                     ///< Notify
    Message message;                     ///< Notify
    StringLit url;                       ///< Webhook
    Name team;                           ///< Request: the teamspace
    Name module;                         ///< Request, Create: the module
    std::optional<Name> as;              ///< Create: `as <name>`
    std::vector<Assignment> assignments; ///< Request, Create
    SourceRange range;
};

/// `from "A"`, `from "A", "B"`, `from any`.
struct FromSpec {
    bool any = false;
    std::vector<Name> states;
    SourceRange range;
};

/// A target: `to "X"` (when == nullptr, otherwise == false), `to "X" when …`, `to "X" otherwise`.
struct Target {
    Name state;
    ExprPtr when;
    bool otherwise = false;
    SourceRange range;
};

struct Validation {
    ExprPtr condition;
    Message message;
    SourceRange range;
};

struct Transition {
    Name name;
    FromSpec from;                  ///< empty for a parallel's sub-transition (it inherits)
    std::vector<Target> targets;    ///< one plain target, or the conditional list; empty in a parallel
    std::optional<Duration> after;  ///< automatic transition
    std::vector<Owner> owners;      ///< `by …`; empty means the record's owner
    std::vector<ExprPtr> when;      ///< before-criteria; several lines are and-ed
    std::vector<Name> require;
    std::vector<Validation> validations;
    std::vector<StringLit> checklist;
    bool note_required = false;
    std::vector<Action> actions;
    SourceRange range;
};

/// `parallel Approve from "A" to "B" { transition … }`
struct Parallel {
    Name name;
    FromSpec from;
    Name to;
    std::vector<Transition> transitions;
    std::vector<Action> actions; ///< extension: `then …` run when the record moves
    SourceRange range;
};

struct Sla {
    Name state;
    Duration within;
    std::vector<ExprPtr> when; ///< extension: only escalate when this holds
    std::vector<Action> actions;
    SourceRange range;
};

struct Migrate {
    Name from;
    Name to;
    SourceRange range;
};

struct Blueprint {
    Name name;
    Name module;
    Name field;
    ExprPtr when; ///< entry criteria; null means every record
    std::vector<Transition> transitions;
    std::vector<Parallel> parallels;
    std::vector<Sla> slas;
    std::vector<Migrate> migrations;
    SourceRange range;
};

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

enum class StepKind {
    As,             ///< `as <user>`: user
    Create,         ///< `create <Module> [as <name>] {…}`: module, as, assignments
    Request,        ///< `request <Team>.<Module> [as <name>] {…}`: team, module, as, assignments
    Update,         ///< `update [<name>] {…}`: on, assignments
    Transition,     ///< `transition <T> [on <n>] [with {…}] [checklist …] [note "…"]`
    Expect,         ///< `expect <expr>`
    ExpectRefused,  ///< `expect refused <T> [on <n>] [with {…}] ["text"]`
    ExpectNotified, ///< `expect notified <user> ["text"]`
    ExpectAssigned, ///< `expect assigned <user>`
    ExpectWebhook,  ///< `expect webhook "<url>"`
    ExpectState,    ///< `expect state "<state>"`
    Advance,        ///< `advance <duration>`
    Clock,          ///< `clock <datetime>` (first statement only)
};

struct Step {
    StepKind kind = StepKind::Expect;
    Name user;                           ///< As, ExpectNotified, ExpectAssigned
    Name team;                           ///< Request
    Name module;                         ///< Create, Request
    std::optional<Name> as;              ///< Create, Request
    std::optional<Name> on;              ///< Update, Transition, ExpectRefused
    Name transition;                     ///< Transition, ExpectRefused
    std::vector<Assignment> assignments; ///< Create, Request, Update, `with {…}`
    bool has_with = false;
    std::vector<StringLit> checklist;    ///< Transition, ExpectRefused
    std::optional<StringLit> note;       ///< Transition, ExpectRefused
    std::optional<StringLit> text;       ///< ExpectRefused, ExpectNotified, ExpectWebhook, ExpectState
    ExprPtr expr;                        ///< Expect; Clock holds its DateTime literal here
    Duration duration;                   ///< Advance
    SourceRange range;
};

struct Test {
    StringLit name;
    std::vector<Step> steps;
    SourceRange range;
};

// ---------------------------------------------------------------------------------------------
// The whole set
// ---------------------------------------------------------------------------------------------

struct Ast {
    std::vector<Role> roles;
    std::vector<User> users;
    std::vector<Module> modules; ///< org modules and team modules (Module::teamspace says which)
    std::vector<Teamspace> teamspaces;
    std::vector<Blueprint> blueprints;
    std::vector<Test> tests;
    /// Names of declarations that failed to parse; the checker does not report them as unknown.
    std::vector<std::string> partial_declarations;
};

/// The text of an operator as written (`==`, `and`, …).
const char* op_text(Op op);
/// The keyword of a field kind (`text`, `lookup`, …).
const char* field_kind_name(FieldKind kind);
/// A readable name of a type (`number`, `date`, `record of Deals`, …).
std::string type_name(const Type& type);

} // namespace teamflow::dsl
