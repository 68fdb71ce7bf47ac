#pragma once
/// The PEGTL grammar of `.flow` files, the rules the parser keeps as tree nodes, and the error
/// message raised where the input must continue a certain way.
///
/// Conventions: rules are small structs named after what they match. A rule with an entry in
/// `error_message` is used only inside `must<>` (the parser's control raises as soon as it fails,
/// and refuses to compile a `must<>` without a message); such
/// rules are thin wrappers (`struct module_open : one<'{'> {}`) so that the shared rule inside
/// stays quiet elsewhere. Whitespace (`ws`) sits between tokens, never at the end of a node, so
/// node ranges end at their last token.

#include <cstdint>
#include <tao/pegtl.hpp>

namespace teamflow::dsl::grammar {

using tao::pegtl::at;
using tao::pegtl::digit;
using tao::pegtl::eof;
using tao::pegtl::identifier_other;
using tao::pegtl::must;
using tao::pegtl::not_at;
using tao::pegtl::not_one;
using tao::pegtl::one;
using tao::pegtl::opt;
using tao::pegtl::plus;
using tao::pegtl::rep;
using tao::pegtl::seq;
using tao::pegtl::sor;
using tao::pegtl::star;
using tao::pegtl::string;

// ---------------------------------------------------------------------------------------------
// Lexical
// ---------------------------------------------------------------------------------------------

struct comment : seq<one<'#'>, star<not_one<'\n'>>> {};
struct blank : one<' ', '\t', '\r', '\n', '\f', '\v'> {};
/// Whitespace and comments between tokens (statements are separated by whitespace only).
struct ws : star<sor<plus<blank>, comment>> {};
struct comma_sep : seq<ws, one<','>, ws> {};
/// `Item, Item, …` with an optional trailing comma before one of `Stop` (the keywords that may
/// follow the list in its block, and `}`): a keyword after a trailing comma starts the next clause
/// instead of being read as one more item. `Stop` rules must have no error message (a failing
/// rule with one raises it).
template <class Item, class... Stop>
struct comma_list : seq<must<Item>, star<comma_sep, sor<at<sor<Stop...>>, must<Item>>>> {};

struct ident : tao::pegtl::identifier {};

// Keywords are reserved only where a keyword may stand: each is tried only in its own positions.
struct kw_accepts : TAO_PEGTL_KEYWORD("accepts") {};
struct kw_admins : TAO_PEGTL_KEYWORD("admins") {};
struct kw_advance : TAO_PEGTL_KEYWORD("advance") {};
struct kw_after : TAO_PEGTL_KEYWORD("after") {};
struct kw_and : TAO_PEGTL_KEYWORD("and") {};
struct kw_any : TAO_PEGTL_KEYWORD("any") {};
struct kw_anyone : TAO_PEGTL_KEYWORD("anyone") {};
struct kw_as : TAO_PEGTL_KEYWORD("as") {};
struct kw_assign : TAO_PEGTL_KEYWORD("assign") {};
struct kw_assigned : TAO_PEGTL_KEYWORD("assigned") {};
struct kw_assignee : TAO_PEGTL_KEYWORD("assignee") {};
struct kw_blueprint : TAO_PEGTL_KEYWORD("blueprint") {};
struct kw_boolean : TAO_PEGTL_KEYWORD("boolean") {};
struct kw_by : TAO_PEGTL_KEYWORD("by") {};
struct kw_checklist : TAO_PEGTL_KEYWORD("checklist") {};
struct kw_clock : TAO_PEGTL_KEYWORD("clock") {};
struct kw_create : TAO_PEGTL_KEYWORD("create") {};
struct kw_currency : TAO_PEGTL_KEYWORD("currency") {};
struct kw_date : TAO_PEGTL_KEYWORD("date") {};
struct kw_datetime : TAO_PEGTL_KEYWORD("datetime") {};
struct kw_default : TAO_PEGTL_KEYWORD("default") {};
struct kw_else : TAO_PEGTL_KEYWORD("else") {};
struct kw_email : TAO_PEGTL_KEYWORD("email") {};
struct kw_empty : TAO_PEGTL_KEYWORD("empty") {};
struct kw_expect : TAO_PEGTL_KEYWORD("expect") {};
struct kw_false : TAO_PEGTL_KEYWORD("false") {};
struct kw_field : TAO_PEGTL_KEYWORD("field") {};
struct kw_fields : TAO_PEGTL_KEYWORD("fields") {};
struct kw_from : TAO_PEGTL_KEYWORD("from") {};
struct kw_in : TAO_PEGTL_KEYWORD("in") {};
struct kw_is : TAO_PEGTL_KEYWORD("is") {};
struct kw_label : TAO_PEGTL_KEYWORD("label") {};
struct kw_least : TAO_PEGTL_KEYWORD("least") {};
struct kw_loaded : TAO_PEGTL_KEYWORD("loaded") {};
struct kw_lookup : TAO_PEGTL_KEYWORD("lookup") {};
struct kw_members : TAO_PEGTL_KEYWORD("members") {};
struct kw_migrate : TAO_PEGTL_KEYWORD("migrate") {};
struct kw_module : TAO_PEGTL_KEYWORD("module") {};
struct kw_modules : TAO_PEGTL_KEYWORD("modules") {};
struct kw_name : TAO_PEGTL_KEYWORD("name") {};
struct kw_not : TAO_PEGTL_KEYWORD("not") {};
struct kw_note : TAO_PEGTL_KEYWORD("note") {};
struct kw_notified : TAO_PEGTL_KEYWORD("notified") {};
struct kw_notify : TAO_PEGTL_KEYWORD("notify") {};
struct kw_number : TAO_PEGTL_KEYWORD("number") {};
struct kw_on : TAO_PEGTL_KEYWORD("on") {};
struct kw_or : TAO_PEGTL_KEYWORD("or") {};
struct kw_otherwise : TAO_PEGTL_KEYWORD("otherwise") {};
struct kw_owner : TAO_PEGTL_KEYWORD("owner") {};
struct kw_parallel : TAO_PEGTL_KEYWORD("parallel") {};
struct kw_percent : TAO_PEGTL_KEYWORD("percent") {};
struct kw_phone : TAO_PEGTL_KEYWORD("phone") {};
struct kw_picklist : TAO_PEGTL_KEYWORD("picklist") {};
struct kw_refused : TAO_PEGTL_KEYWORD("refused") {};
struct kw_request : TAO_PEGTL_KEYWORD("request") {};
struct kw_requester : TAO_PEGTL_KEYWORD("requester") {};
struct kw_requests : TAO_PEGTL_KEYWORD("requests") {};
struct kw_require : TAO_PEGTL_KEYWORD("require") {};
struct kw_required : TAO_PEGTL_KEYWORD("required") {};
struct kw_robin : TAO_PEGTL_KEYWORD("robin") {};
struct kw_role : TAO_PEGTL_KEYWORD("role") {};
struct kw_roles : TAO_PEGTL_KEYWORD("roles") {};
struct kw_round : TAO_PEGTL_KEYWORD("round") {};
struct kw_route : TAO_PEGTL_KEYWORD("route") {};
struct kw_set : TAO_PEGTL_KEYWORD("set") {};
struct kw_sla : TAO_PEGTL_KEYWORD("sla") {};
struct kw_state : TAO_PEGTL_KEYWORD("state") {};
struct kw_team : TAO_PEGTL_KEYWORD("team") {};
struct kw_teamspace : TAO_PEGTL_KEYWORD("teamspace") {};
struct kw_test : TAO_PEGTL_KEYWORD("test") {};
struct kw_text : TAO_PEGTL_KEYWORD("text") {};
struct kw_then : TAO_PEGTL_KEYWORD("then") {};
struct kw_to : TAO_PEGTL_KEYWORD("to") {};
struct kw_transition : TAO_PEGTL_KEYWORD("transition") {};
struct kw_true : TAO_PEGTL_KEYWORD("true") {};
struct kw_unique : TAO_PEGTL_KEYWORD("unique") {};
struct kw_update : TAO_PEGTL_KEYWORD("update") {};
struct kw_url : TAO_PEGTL_KEYWORD("url") {};
struct kw_user : TAO_PEGTL_KEYWORD("user") {};
struct kw_validate : TAO_PEGTL_KEYWORD("validate") {};
struct kw_webhook : TAO_PEGTL_KEYWORD("webhook") {};
struct kw_when : TAO_PEGTL_KEYWORD("when") {};
struct kw_with : TAO_PEGTL_KEYWORD("with") {};
struct kw_within : TAO_PEGTL_KEYWORD("within") {};

// Strings: `"…"` on one line, escapes `\" \\ \n \t \r \{ \}`.
struct escape_char : one<'"', '\\', 'n', 't', 'r', '{', '}'> {};
struct escape : seq<one<'\\'>, must<escape_char>> {};
struct string_char : not_one<'"', '\\', '\n', '\r'> {};
struct string_end : one<'"'> {};
struct string_body : seq<one<'"'>, star<sor<escape, plus<string_char>>>, must<string_end>> {};

/// A string literal (node: unescaped by the builder).
struct string_lit : seq<string_body> {};
/// A double-quoted name.
struct quoted_name : seq<string_body> {};
/// An identifier used as a name.
struct ident_name : seq<ident> {};
/// A name: identifier or quoted.
struct name : sor<quoted_name, ident_name> {};

// ---------------------------------------------------------------------------------------------
// Expressions
// ---------------------------------------------------------------------------------------------

struct expr;

struct digits : plus<digit> {};
struct two_digits : rep<2, digit> {};
struct date_part : seq<rep<4, digit>, one<'-'>, two_digits, one<'-'>, two_digits> {};
struct time_part
    : seq<two_digits, one<':'>, two_digits, opt<one<':'>, two_digits, opt<one<'.'>, digits>>> {};
struct time_zone : sor<one<'Z'>, seq<one<'+', '-'>, two_digits, opt<one<':'>>, two_digits>> {};

struct datetime_lit
    : seq<date_part, one<'T'>, time_part, opt<time_zone>, not_at<identifier_other>> {};
struct date_lit : seq<date_part, not_at<identifier_other>> {};
struct duration_unit : one<'w', 'd', 'h', 'm', 's'> {};
struct duration_lit : seq<plus<digits, duration_unit>, not_at<identifier_other>> {};
struct number_lit : seq<digits, opt<one<'.'>, digits>, not_at<identifier_other>> {};
struct true_lit : seq<kw_true> {};
struct false_lit : seq<kw_false> {};
struct empty_lit : seq<kw_empty> {};

struct list_close : one<']'> {};
/// `[a, b, c]` (a trailing comma is fine).
struct list_lit
    : seq<one<'['>, ws, opt<expr, star<comma_sep, expr>, opt<comma_sep>>, ws, must<list_close>> {};

struct call_close : one<')'> {};
/// `f(x, y)`
struct call : seq<ident, ws, one<'('>, ws, opt<expr, star<comma_sep, expr>, opt<comma_sep>>, ws,
                  must<call_close>> {};

struct member_name : seq<name> {};
/// `field`, `lookup.field` (a chain is kept; the checker allows one hop).
struct name_ref : seq<ident_name, star<one<'.'>, must<member_name>>> {};

struct paren_inner : seq<expr> {};
struct paren_close : one<')'> {};
struct paren_expr : seq<one<'('>, ws, must<paren_inner>, ws, must<paren_close>> {};

struct primary : sor<paren_expr, list_lit, string_lit, datetime_lit, date_lit, duration_lit,
                     number_lit, true_lit, false_lit, empty_lit, call, name_ref> {};

struct neg_op : one<'-'> {};
struct unary_expr : seq<star<neg_op, ws>, primary> {};

struct mul_op : one<'*', '/'> {};
struct mul_operand : seq<unary_expr> {};
struct mul_expr : seq<unary_expr, star<ws, mul_op, ws, must<mul_operand>>> {};

struct add_op : one<'+', '-'> {};
struct add_operand : seq<mul_expr> {};
struct add_expr : seq<mul_expr, star<ws, add_op, ws, must<add_operand>>> {};

struct cmp_op : sor<string<'=', '='>, string<'!', '='>, string<'<', '='>, string<'>', '='>,
                    one<'<'>, one<'>'>> {};
struct cmp_operand : seq<add_expr> {};
struct in_op : seq<kw_in> {};
struct not_in_op : seq<kw_not, ws, kw_in> {};
struct in_operand : seq<add_expr> {};
struct is_empty_op : seq<kw_empty> {};
struct is_not_empty_op : seq<kw_not, ws, kw_empty> {};
struct is_tail : sor<is_empty_op, is_not_empty_op> {};
struct cmp_suffix : sor<seq<cmp_op, ws, must<cmp_operand>>, seq<in_op, ws, must<in_operand>>,
                        seq<not_in_op, ws, must<in_operand>>, seq<kw_is, ws, must<is_tail>>> {};
struct cmp_expr : seq<add_expr, opt<ws, cmp_suffix>> {};

struct not_op : seq<kw_not> {};
struct not_expr : seq<star<not_op, ws>, cmp_expr> {};

struct and_operand : seq<not_expr> {};
struct and_expr : seq<not_expr, star<ws, kw_and, ws, must<and_operand>>> {};

struct or_operand : seq<and_expr> {};
struct or_expr : seq<and_expr, star<ws, kw_or, ws, must<or_operand>>> {};

/// A whole expression (its nesting depth is capped by the parser's control).
struct expr : seq<or_expr> {};

// Message strings: `"text {expr} more"`, the interpolated expression parsed by `expr`.
struct msg_text : plus<not_one<'"', '\\', '\n', '\r', '{'>> {};
struct msg_escape : seq<one<'\\'>, must<escape_char>> {};
struct interp_expr : seq<expr> {};
struct interp_close : one<'}'> {};
struct msg_interp : seq<one<'{'>, ws, must<interp_expr>, ws, must<interp_close>> {};
struct message_string
    : seq<one<'"'>, star<sor<msg_escape, msg_interp, msg_text>>, must<string_end>> {};

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

struct role_ref : seq<name> {};
struct user_ref : seq<name> {};
struct team_ref : seq<name> {};
struct module_ref : seq<name> {};
struct field_ref : seq<name> {};
struct state_name : seq<name> {};
struct record_name : seq<name> {};

struct condition : seq<expr> {};
/// `when <expr>` (transition, sla and blueprint entry criteria).
struct when_clause : seq<kw_when, ws, must<condition>> {};

struct label_string : seq<string_lit> {};
/// `label "…"`
struct label_clause : seq<kw_label, ws, must<label_string>> {};

struct assign_equals : one<'='> {};
struct assign_value : seq<expr> {};
/// `field = expr`
struct assignment : seq<name, ws, must<assign_equals>, ws, must<assign_value>> {};
struct block_open : one<'{'> {};
struct block_close : one<'}'> {};
/// `{ a = 1, b = 2 }`: commas optional between lines, trailing comma fine.
struct assign_block
    : seq<must<block_open>, ws, star<assignment, ws, opt<one<','>, ws>>, must<block_close>> {};

struct duration_expected : seq<duration_lit> {};

// ---------------------------------------------------------------------------------------------
// role, user
// ---------------------------------------------------------------------------------------------

struct top_level_keyword : sor<kw_role, kw_user, kw_module, kw_teamspace, kw_blueprint, kw_test> {};
struct role_name : seq<not_at<top_level_keyword>, name> {};
/// `role A, B, C`
struct role_decl : seq<kw_role, ws, comma_list<role_name, top_level_keyword, tao::pegtl::eof>> {};

struct user_display : seq<string_lit> {};
struct user_email : seq<string_lit> {};
struct user_name_item : seq<kw_name, ws, must<user_display>> {};
struct user_email_item : seq<kw_email, ws, must<user_email>> {};
struct user_roles_item
    : seq<kw_roles, ws, comma_list<role_ref, kw_name, kw_email, kw_roles, one<'}'>>> {};
struct user_item : sor<user_name_item, user_email_item, user_roles_item> {};
struct user_id : seq<name> {};
struct user_open : one<'{'> {};
struct user_close : one<'}'> {};
/// `user jeanne { name "…" email "…" roles A, B }`
struct user_decl : seq<kw_user, ws, must<user_id>, ws, must<user_open>, ws, star<user_item, ws>,
                       must<user_close>> {};

// ---------------------------------------------------------------------------------------------
// module
// ---------------------------------------------------------------------------------------------

struct field_name : seq<name> {};
struct field_colon : one<':'> {};
struct picklist_open : one<'['> {};
struct picklist_close : one<']'> {};
struct type_picklist
    : seq<kw_picklist, ws, must<picklist_open>, ws,
          opt<string_lit, star<comma_sep, string_lit>, opt<comma_sep>>, ws, must<picklist_close>> {
};
struct lookup_target : seq<name> {};
struct type_lookup : seq<kw_lookup, ws, must<lookup_target>> {};
struct type_simple : sor<kw_text, kw_number, kw_currency, kw_percent, kw_boolean, kw_datetime,
                         kw_date, kw_email, kw_phone, kw_url, kw_user> {};
struct field_type : sor<type_picklist, type_lookup, type_simple> {};
struct default_value : seq<expr> {};
struct mod_required : seq<kw_required> {};
struct mod_unique : seq<kw_unique> {};
struct mod_default : seq<kw_default, ws, must<default_value>> {};
struct field_flag : sor<mod_required, mod_unique, mod_default> {};
/// A field's `label "…"` stands on the field's line: a `label` that begins a line after a field
/// is the module's label.
struct field_label : seq<star<one<' ', '\t'>>, label_clause> {};
struct field_modifier : sor<seq<ws, field_flag>, field_label> {};
/// `field name: type [required] [unique] [default e] [label "…"]`
struct field_decl : seq<kw_field, ws, must<field_name>, ws, must<field_colon>, ws, must<field_type>,
                        star<field_modifier>> {};

struct accepts_requests : seq<kw_requests> {};
struct accepts_from : seq<kw_from> {};
struct accepts_fields : seq<kw_fields, ws, must<field_ref>, star<comma_sep, must<field_ref>>> {};
struct accepts_close : one<'}'> {};
struct accepts_block : seq<one<'{'>, ws, star<accepts_fields, ws>, must<accepts_close>> {};
/// `accepts requests from A, B { fields x, y }`
struct accepts_clause
    : seq<kw_accepts, ws, must<accepts_requests>, ws, must<accepts_from>, ws, must<team_ref>,
          star<comma_sep, must<team_ref>>, opt<ws, accepts_block>> {};

struct assign_kw : seq<kw_assign> {};
struct assign_role : seq<kw_role, ws, must<role_ref>> {};
struct rr_members : seq<kw_members> {};
struct rr_users : seq<name, star<comma_sep, must<user_ref>>> {};
struct rr_target : sor<rr_members, rr_users> {};
struct robin_kw : seq<kw_robin> {};
struct assign_round_robin : seq<kw_round, ws, must<robin_kw>, ws, must<rr_target>> {};
struct loaded_kw : seq<kw_loaded> {};
struct least_members : seq<kw_members> {};
struct assign_least : seq<kw_least, ws, must<loaded_kw>, ws, must<least_members>> {};
struct assign_user : seq<name> {};
struct assign_target : sor<assign_role, assign_round_robin, assign_least, assign_user> {};
/// `assign …`
struct assign_clause : seq<must<assign_kw>, ws, must<assign_target>> {};
struct route_when : seq<kw_when, ws, must<condition>, ws, assign_clause> {};
struct route_otherwise : seq<kw_otherwise, ws, assign_clause> {};
struct route_requests : seq<kw_requests> {};
struct route_open : one<'{'> {};
struct route_close : one<'}'> {};
/// `route requests { when e assign …  otherwise assign … }`
struct route_clause : seq<kw_route, ws, must<route_requests>, ws, must<route_open>, ws,
                          star<sor<route_when, route_otherwise>, ws>, must<route_close>> {};

struct module_name : seq<name> {};
struct module_open : one<'{'> {};
struct module_close : one<'}'> {};
struct module_item : sor<label_clause, field_decl, accepts_clause, route_clause> {};
/// `module Name { … }` (top level: an org module; inside a teamspace: a team module)
struct module_decl : seq<kw_module, ws, must<module_name>, ws, must<module_open>, ws,
                         star<module_item, ws>, must<module_close>> {};

// ---------------------------------------------------------------------------------------------
// teamspace
// ---------------------------------------------------------------------------------------------

struct teamspace_name : seq<name> {};
struct teamspace_open : one<'{'> {};
struct teamspace_close : one<'}'> {};
/// A teamspace's user or module list, ended by the next clause's keyword or `}`.
template <class Item>
using teamspace_list =
    comma_list<Item, kw_label, kw_members, kw_admins, kw_modules, kw_module, one<'}'>>;
struct members_clause : seq<kw_members, ws, teamspace_list<user_ref>> {};
struct admins_clause : seq<kw_admins, ws, teamspace_list<user_ref>> {};
struct modules_clause : seq<kw_modules, ws, teamspace_list<module_ref>> {};
struct teamspace_item
    : sor<label_clause, members_clause, admins_clause, modules_clause, module_decl> {};
/// `teamspace Name { label … members … admins … modules … module … }`
struct teamspace_decl : seq<kw_teamspace, ws, must<teamspace_name>, ws, must<teamspace_open>, ws,
                            star<teamspace_item, ws>, must<teamspace_close>> {};

// ---------------------------------------------------------------------------------------------
// blueprint
// ---------------------------------------------------------------------------------------------

struct owner_item
    : sor<seq<kw_user, ws, must<user_ref>>, seq<kw_role, ws, must<role_ref>>,
          seq<kw_team, ws, must<team_ref>>, kw_owner, kw_assignee, kw_requester, kw_anyone> {};
struct recipient_item : sor<seq<kw_user, ws, must<user_ref>>, seq<kw_role, ws, must<role_ref>>,
                            seq<kw_team, ws, must<team_ref>>, kw_owner, kw_assignee, kw_requester> {
};
struct owner_expected : seq<owner_item> {};
struct recipient_expected : seq<recipient_item> {};

/// `by owner, role R, …`
struct by_clause : seq<kw_by, ws, must<owner_expected>, star<comma_sep, must<owner_expected>>> {};
/// `require a, b`
struct require_clause : seq<kw_require, ws, must<field_ref>, star<comma_sep, must<field_ref>>> {};
struct validate_condition : seq<expr> {};
struct else_kw : seq<kw_else> {};
struct else_message : seq<message_string> {};
/// `validate e else "…"`
struct validate_clause
    : seq<kw_validate, ws, must<validate_condition>, ws, must<else_kw>, ws, must<else_message>> {};
struct checklist_item : seq<string_lit> {};
/// `checklist "a", "b"`
struct checklist_clause
    : seq<kw_checklist, ws, must<checklist_item>, star<comma_sep, must<checklist_item>>> {};
struct note_required : seq<kw_required> {};
/// `note required`
struct note_clause : seq<kw_note, ws, must<note_required>> {};
struct otherwise_mark : seq<kw_otherwise> {};
/// `to S`, `to S when e`, `to S otherwise`
struct to_line : seq<kw_to, ws, must<state_name>,
                     opt<ws, sor<seq<kw_when, ws, must<condition>>, otherwise_mark>>> {};

struct set_field : seq<name> {};
/// `set f = e`
struct set_action
    : seq<kw_set, ws, must<set_field>, ws, must<assign_equals>, ws, must<assign_value>> {};
struct notify_message : seq<message_string> {};
/// `notify <recipient> "…"`
struct notify_action : seq<kw_notify, ws, must<recipient_expected>, ws, must<notify_message>> {};
struct url_string : seq<string_lit> {};
/// `webhook "url"`
struct webhook_action : seq<kw_webhook, ws, must<url_string>> {};
/// `as name`
struct as_clause : seq<kw_as, ws, must<record_name>> {};
struct request_dot : one<'.'> {};
/// `request Team.Module [as n] { … }` (an action or a test step)
struct request_action : seq<kw_request, ws, must<team_ref>, ws, must<request_dot>, ws,
                            must<module_ref>, opt<ws, as_clause>, ws, assign_block> {};
/// `create Module [as n] { … }` (an action or a test step)
struct create_action : seq<kw_create, ws, must<module_ref>, opt<ws, as_clause>, ws, assign_block> {
};
struct action : sor<set_action, notify_action, webhook_action, request_action, create_action> {};
struct action_expected : seq<action> {};
/// `then <action>`
struct then_clause : seq<kw_then, ws, must<action_expected>> {};

struct transition_item : sor<by_clause, when_clause, require_clause, validate_clause,
                             checklist_clause, note_clause, to_line, then_clause> {};
struct sub_transition_item : sor<by_clause, when_clause, require_clause, validate_clause,
                                 checklist_clause, note_clause, then_clause> {};

struct transition_name : seq<name> {};
struct from_kw : seq<kw_from> {};
struct from_any : seq<kw_any> {};
struct from_spec : sor<from_any, seq<name, star<comma_sep, must<state_name>>>> {};
/// `from S`, `from S, T`, `from any`
struct from_clause : seq<must<from_kw>, ws, must<from_spec>> {};
/// `to S` in a transition header
struct to_header : seq<kw_to, ws, must<state_name>> {};
/// `after 30d`
struct after_clause : seq<kw_after, ws, must<duration_expected>> {};
struct transition_open : one<'{'> {};
struct transition_close : one<'}'> {};
/// `transition N from … [to S] [after d] { … }`
struct transition_decl : seq<kw_transition, ws, must<transition_name>, ws, from_clause,
                             opt<ws, to_header>, opt<ws, after_clause>, ws, must<transition_open>,
                             ws, star<transition_item, ws>, must<transition_close>> {};

struct sub_transition_open : one<'{'> {};
struct sub_transition_close : one<'}'> {};
/// `transition N { … }` inside a parallel
struct sub_transition : seq<kw_transition, ws, must<transition_name>, ws, must<sub_transition_open>,
                            ws, star<sub_transition_item, ws>, must<sub_transition_close>> {};

struct parallel_name : seq<name> {};
struct parallel_to : seq<kw_to> {};
struct parallel_open : one<'{'> {};
struct parallel_close : one<'}'> {};
/// `parallel N from S to T { transition … then … }`
struct parallel_decl : seq<kw_parallel, ws, must<parallel_name>, ws, from_clause, ws,
                           must<parallel_to>, ws, must<state_name>, ws, must<parallel_open>, ws,
                           star<sor<sub_transition, then_clause>, ws>, must<parallel_close>> {};

struct sla_state : seq<name> {};
struct within_kw : seq<kw_within> {};
struct sla_open : one<'{'> {};
struct sla_close : one<'}'> {};
/// `sla S within d { [when e] then … }`
struct sla_decl
    : seq<kw_sla, ws, must<sla_state>, ws, must<within_kw>, ws, must<duration_expected>, ws,
          must<sla_open>, ws, star<sor<when_clause, then_clause>, ws>, must<sla_close>> {};

struct migrate_to : seq<kw_to> {};
/// `migrate "A" to "B"`
struct migrate_decl
    : seq<kw_migrate, ws, must<state_name>, ws, must<migrate_to>, ws, must<state_name>> {};

struct blueprint_name : seq<name> {};
struct blueprint_on : seq<kw_on> {};
struct blueprint_dot : one<'.'> {};
struct blueprint_open : one<'{'> {};
struct blueprint_close : one<'}'> {};
struct blueprint_item : sor<transition_decl, parallel_decl, sla_decl, migrate_decl> {};
/// `blueprint N on Module.field [when e] { … }`
struct blueprint_decl
    : seq<kw_blueprint, ws, must<blueprint_name>, ws, must<blueprint_on>, ws, must<module_ref>, ws,
          must<blueprint_dot>, ws, must<field_ref>, opt<ws, when_clause>, ws, must<blueprint_open>,
          ws, star<blueprint_item, ws>, must<blueprint_close>> {};

// ---------------------------------------------------------------------------------------------
// test
// ---------------------------------------------------------------------------------------------

struct step_as : seq<kw_as, ws, must<user_ref>> {};
struct step_update : seq<kw_update, ws, opt<name, ws>, assign_block> {};
struct on_option : seq<kw_on, ws, must<record_name>> {};
struct with_option : seq<kw_with, ws, assign_block> {};
struct note_text : seq<string_lit> {};
struct note_option : seq<kw_note, ws, must<note_text>> {};
struct transition_ref : seq<name> {};
struct step_transition : seq<kw_transition, ws, must<transition_ref>,
                             star<ws, sor<on_option, with_option, checklist_clause, note_option>>> {
};
// The `expect` forms fall back to `expect <expr>` when their keyword is a field name instead.
struct expect_refused
    : seq<kw_refused, ws, name,
          star<ws, sor<on_option, with_option, checklist_clause, note_option, string_lit>>> {};
struct expect_notified : seq<kw_notified, ws, name, opt<ws, string_lit>> {};
struct expect_assigned : seq<kw_assigned, ws, name, not_at<ws, one<'.', '('>>> {};
struct expect_webhook : seq<kw_webhook, ws, string_lit> {};
struct expect_state : seq<kw_state, ws, name, not_at<ws, one<'.', '('>>> {};
struct expect_expr : seq<expr> {};
struct expect_body : sor<expect_refused, expect_notified, expect_assigned, expect_webhook,
                         expect_state, expect_expr> {};
struct step_expect : seq<kw_expect, ws, must<expect_body>> {};
struct step_advance : seq<kw_advance, ws, must<duration_expected>> {};
struct clock_datetime : seq<datetime_lit> {};
struct step_clock : seq<kw_clock, ws, must<clock_datetime>> {};
struct test_step : sor<step_as, create_action, request_action, step_update, step_transition,
                       step_expect, step_advance, step_clock> {};
struct test_name : seq<name> {};
struct test_open : one<'{'> {};
struct test_close : one<'}'> {};
/// `test "name" { steps }`
struct test_decl : seq<kw_test, ws, must<test_name>, ws, must<test_open>, ws, star<test_step, ws>,
                       must<test_close>> {};

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

struct declaration
    : sor<role_decl, user_decl, module_decl, teamspace_decl, blueprint_decl, test_decl> {};
/// One top-level declaration (or the end of the file), after whitespace.
struct next_declaration : seq<ws, sor<eof, must<declaration>>> {};

struct expression_expected : seq<expr> {};
struct expression_end : eof {};
/// A whole input holding one expression.
struct expression_only : seq<ws, must<expression_expected>, ws, must<expression_end>> {};

/// The whole language, for grammar analysis: declarations until the end of the input.
struct file : seq<star<ws, declaration>, ws, eof> {};

// ---------------------------------------------------------------------------------------------
// Error messages: one for every place where the input must continue a certain way.
// ---------------------------------------------------------------------------------------------

template <typename Rule> inline constexpr const char* error_message = nullptr;

template <>
inline constexpr const char* error_message<escape_char> =
    "unknown escape sequence (expected \\\", \\\\, \\n, \\t, \\r, \\{ or \\})";
template <>
inline constexpr const char* error_message<string_end> =
    "unterminated string (expected '\"' before the end of the line)";
template <>
inline constexpr const char* error_message<list_close> = "expected ',' or ']' in the list";
template <>
inline constexpr const char* error_message<call_close> = "expected ',' or ')' in the argument list";
template <>
inline constexpr const char* error_message<member_name> = "expected a field name after '.'";
template <>
inline constexpr const char* error_message<paren_inner> = "expected an expression after '('";
template <> inline constexpr const char* error_message<paren_close> = "expected ')'";
template <>
inline constexpr const char* error_message<mul_operand> =
    "expected an expression after the operator";
template <>
inline constexpr const char* error_message<add_operand> =
    "expected an expression after the operator";
template <>
inline constexpr const char* error_message<cmp_operand> =
    "expected an expression after the comparison operator";
template <> inline constexpr const char* error_message<in_operand> = "expected a list after 'in'";
template <>
inline constexpr const char* error_message<is_tail> = "expected 'empty' or 'not empty' after 'is'";
template <>
inline constexpr const char* error_message<and_operand> = "expected an expression after 'and'";
template <>
inline constexpr const char* error_message<or_operand> = "expected an expression after 'or'";
template <>
inline constexpr const char* error_message<interp_expr> =
    "expected an expression after '{' in the message (write \\{ for a literal brace)";
template <>
inline constexpr const char* error_message<interp_close> =
    "expected '}' to close the interpolated expression";
template <> inline constexpr const char* error_message<role_ref> = "expected a role name";
template <> inline constexpr const char* error_message<user_ref> = "expected a user id";
template <> inline constexpr const char* error_message<team_ref> = "expected a teamspace name";
template <> inline constexpr const char* error_message<module_ref> = "expected a module name";
template <> inline constexpr const char* error_message<field_ref> = "expected a field name";
template <> inline constexpr const char* error_message<state_name> = "expected a state name";
template <> inline constexpr const char* error_message<record_name> = "expected a record name";
template <>
inline constexpr const char* error_message<condition> = "expected a condition after 'when'";
template <>
inline constexpr const char* error_message<label_string> = "expected a string after 'label'";
template <>
inline constexpr const char* error_message<assign_equals> = "expected '=' after the field name";
template <>
inline constexpr const char* error_message<assign_value> = "expected an expression after '='";
template <>
inline constexpr const char* error_message<block_open> =
    "expected '{' and the field values ('{ field = value, … }')";
template <>
inline constexpr const char* error_message<block_close> = "expected 'field = value', ',' or '}'";
template <>
inline constexpr const char* error_message<duration_expected> =
    "expected a duration (e.g. 30d, 4h, 15m, 20s, 2w)";
template <>
inline constexpr const char* error_message<role_name> = "expected a role name after 'role' or ','";
template <>
inline constexpr const char* error_message<user_display> =
    "expected the user's name as a string after 'name'";
template <>
inline constexpr const char* error_message<user_email> =
    "expected an email address string after 'email'";
template <> inline constexpr const char* error_message<user_id> = "expected a user id after 'user'";
template <>
inline constexpr const char* error_message<user_open> = "expected '{' after the user id";
template <>
inline constexpr const char* error_message<user_close> =
    "expected 'name', 'email', 'roles' or '}' in the user";
template <>
inline constexpr const char* error_message<field_name> = "expected a field name after 'field'";
template <>
inline constexpr const char* error_message<field_colon> = "expected ':' after the field name";
template <>
inline constexpr const char* error_message<picklist_open> =
    "expected '[' and the picklist values after 'picklist'";
template <>
inline constexpr const char* error_message<picklist_close> =
    "expected a string value, ',' or ']' in the picklist values";
template <>
inline constexpr const char* error_message<lookup_target> = "expected a module name after 'lookup'";
template <>
inline constexpr const char* error_message<field_type> =
    "expected a field type (text, number, currency, percent, boolean, date, datetime, email, "
    "phone, url, picklist, lookup, user)";
template <>
inline constexpr const char* error_message<default_value> =
    "expected an expression after 'default'";
template <>
inline constexpr const char* error_message<accepts_requests> =
    "expected 'requests' after 'accepts'";
template <>
inline constexpr const char* error_message<accepts_from> =
    "expected 'from' after 'accepts requests'";
template <>
inline constexpr const char* error_message<accepts_close> =
    "expected 'fields' or '}' in the accepts block";
template <>
inline constexpr const char* error_message<assign_kw> =
    "expected 'assign' and an assignment target";
template <>
inline constexpr const char* error_message<rr_target> =
    "expected 'members' or user ids after 'round robin'";
template <> inline constexpr const char* error_message<robin_kw> = "expected 'robin' after 'round'";
template <>
inline constexpr const char* error_message<loaded_kw> = "expected 'loaded' after 'least'";
template <>
inline constexpr const char* error_message<least_members> =
    "expected 'members' after 'least loaded'";
template <>
inline constexpr const char* error_message<assign_target> =
    "expected an assignment target (a user, role <R>, round robin members, round robin <users>, "
    "least loaded members)";
template <>
inline constexpr const char* error_message<route_requests> = "expected 'requests' after 'route'";
template <>
inline constexpr const char* error_message<route_open> = "expected '{' after 'route requests'";
template <>
inline constexpr const char* error_message<route_close> =
    "expected 'when <condition> assign …', 'otherwise assign …' or '}' in the routing rules";
template <>
inline constexpr const char* error_message<module_name> = "expected a module name after 'module'";
template <>
inline constexpr const char* error_message<module_open> = "expected '{' after the module name";
template <>
inline constexpr const char* error_message<module_close> =
    "expected 'label', 'field', 'accepts', 'route' or '}' in the module";
template <>
inline constexpr const char* error_message<teamspace_name> =
    "expected a teamspace name after 'teamspace'";
template <>
inline constexpr const char* error_message<teamspace_open> =
    "expected '{' after the teamspace name";
template <>
inline constexpr const char* error_message<teamspace_close> =
    "expected 'label', 'members', 'admins', 'modules', 'module' or '}' in the teamspace";
template <>
inline constexpr const char* error_message<owner_expected> =
    "expected a transition owner (owner, assignee, requester, anyone, user <u>, role <R>, team "
    "<T>)";
template <>
inline constexpr const char* error_message<recipient_expected> =
    "expected a recipient (owner, assignee, requester, user <u>, role <R>, team <T>)";
template <>
inline constexpr const char* error_message<validate_condition> =
    "expected a condition after 'validate'";
template <>
inline constexpr const char* error_message<else_kw> =
    "expected 'else' and a message after the validation condition";
template <>
inline constexpr const char* error_message<else_message> = "expected a message string after 'else'";
template <>
inline constexpr const char* error_message<checklist_item> = "expected a checklist item (a string)";
template <>
inline constexpr const char* error_message<note_required> = "expected 'required' after 'note'";
template <>
inline constexpr const char* error_message<set_field> = "expected a field name after 'set'";
template <>
inline constexpr const char* error_message<notify_message> =
    "expected a message string after the recipient";
template <>
inline constexpr const char* error_message<url_string> = "expected a URL string after 'webhook'";
template <>
inline constexpr const char* error_message<request_dot> =
    "expected '.' and the module name after the teamspace name (Team.Module)";
template <>
inline constexpr const char* error_message<action_expected> =
    "expected an action after 'then' (set, notify, webhook, request, create)";
template <>
inline constexpr const char* error_message<transition_name> =
    "expected a transition name after 'transition'";
template <>
inline constexpr const char* error_message<from_kw> =
    "expected 'from' and the source states after the name";
template <>
inline constexpr const char* error_message<from_spec> =
    "expected a state name or 'any' after 'from'";
template <>
inline constexpr const char* error_message<transition_open> =
    "expected 'to', 'after' or '{' after the transition header";
template <>
inline constexpr const char* error_message<transition_close> =
    "expected a transition statement (by, when, require, validate, checklist, note, to, then) or "
    "'}'";
template <>
inline constexpr const char* error_message<sub_transition_open> =
    "expected '{' after the sub-transition name (a parallel's sub-transitions take no 'from' or "
    "'to')";
template <>
inline constexpr const char* error_message<sub_transition_close> =
    "expected a transition statement (by, when, require, validate, checklist, note, then) or '}'";
template <>
inline constexpr const char* error_message<parallel_name> = "expected a name after 'parallel'";
template <>
inline constexpr const char* error_message<parallel_to> =
    "expected 'to' and the target state after the source states";
template <>
inline constexpr const char* error_message<parallel_open> =
    "expected '{' after the parallel header";
template <>
inline constexpr const char* error_message<parallel_close> =
    "expected 'transition', 'then' or '}' in the parallel";
template <>
inline constexpr const char* error_message<sla_state> = "expected a state name after 'sla'";
template <>
inline constexpr const char* error_message<within_kw> =
    "expected 'within' and a duration after the state";
template <>
inline constexpr const char* error_message<sla_open> = "expected '{' after the sla header";
template <>
inline constexpr const char* error_message<sla_close> = "expected 'when', 'then' or '}' in the sla";
template <>
inline constexpr const char* error_message<migrate_to> =
    "expected 'to' and the new state after the old state";
template <>
inline constexpr const char* error_message<blueprint_name> =
    "expected a blueprint name after 'blueprint'";
template <>
inline constexpr const char* error_message<blueprint_on> =
    "expected 'on' and the governed Module.field after the blueprint name";
template <>
inline constexpr const char* error_message<blueprint_dot> =
    "expected '.' and the state field after the module name (Module.field)";
template <>
inline constexpr const char* error_message<blueprint_open> =
    "expected 'when' or '{' after the blueprint header";
template <>
inline constexpr const char* error_message<blueprint_close> =
    "expected 'transition', 'parallel', 'sla', 'migrate' or '}' in the blueprint";
template <>
inline constexpr const char* error_message<note_text> =
    "expected the note text (a string) after 'note'";
template <>
inline constexpr const char* error_message<transition_ref> = "expected a transition name";
template <>
inline constexpr const char* error_message<expect_body> =
    "expected an expression, or refused, notified, assigned, webhook or state, after 'expect'";
template <>
inline constexpr const char* error_message<clock_datetime> =
    "expected a date-time (e.g. 2026-01-05T09:00:00Z) after 'clock'";
template <>
inline constexpr const char* error_message<test_name> =
    "expected the test name (a string) after 'test'";
template <>
inline constexpr const char* error_message<test_open> = "expected '{' after the test name";
template <>
inline constexpr const char* error_message<test_close> =
    "expected a test statement (as, create, request, update, transition, expect, advance, clock) "
    "or '}'";
template <>
inline constexpr const char* error_message<declaration> =
    "expected a declaration (role, user, module, teamspace, blueprint, test)";
template <>
inline constexpr const char* error_message<expression_expected> = "expected an expression";
template <>
inline constexpr const char* error_message<expression_end> =
    "expected an operator or the end of the expression";

// ---------------------------------------------------------------------------------------------
// Tree nodes: the rules the parser records (begin, end) for, to build the AST from.
// ---------------------------------------------------------------------------------------------

/// What a recorded node is.
enum class NodeKind : std::uint8_t {
    None,
    // names and strings
    IdentName,
    QuotedName,
    String,
    Message,
    MsgText,
    MsgEscape,
    MsgInterp,
    // expressions
    Number,
    Date,
    DateTime,
    Duration,
    True,
    False,
    Empty,
    List,
    Call,
    NameRef,
    Paren,
    Neg,
    Unary,
    MulOp,
    Mul,
    AddOp,
    Add,
    CmpOp,
    InOp,
    NotInOp,
    IsEmpty,
    IsNotEmpty,
    Cmp,
    NotOp,
    Not,
    And,
    Or,
    // declarations
    Role,
    User,
    UserName,
    UserEmail,
    UserRoles,
    Label,
    Field,
    TypeSimple,
    TypePicklist,
    TypeLookup,
    Required,
    Unique,
    Default,
    Accepts,
    AcceptsFields,
    Route,
    RouteWhen,
    RouteOtherwise,
    Assign,
    AssignRole,
    AssignRoundRobinMembers,
    AssignRoundRobinUsers,
    AssignLeast,
    AssignUser,
    Module,
    Members,
    Admins,
    Modules,
    Teamspace,
    Blueprint,
    When,
    Transition,
    SubTransition,
    From,
    FromAny,
    HeaderTarget,
    Target,
    Otherwise,
    After,
    By,
    Owner,
    Require,
    Validate,
    Checklist,
    NoteRequired,
    Then,
    SetAction,
    NotifyAction,
    WebhookAction,
    RequestAction,
    CreateAction,
    As,
    Assignment,
    Parallel,
    Sla,
    Migrate,
    // tests
    Test,
    StepAs,
    StepUpdate,
    StepTransition,
    On,
    With,
    NoteText,
    StepExpect,
    ExpectRefused,
    ExpectNotified,
    ExpectAssigned,
    ExpectWebhook,
    ExpectState,
    StepAdvance,
    StepClock,
};

template <typename Rule> inline constexpr NodeKind node_kind = NodeKind::None;

// clang-format off
template <> inline constexpr NodeKind node_kind<ident_name> = NodeKind::IdentName;
template <> inline constexpr NodeKind node_kind<quoted_name> = NodeKind::QuotedName;
template <> inline constexpr NodeKind node_kind<string_lit> = NodeKind::String;
template <> inline constexpr NodeKind node_kind<message_string> = NodeKind::Message;
template <> inline constexpr NodeKind node_kind<msg_text> = NodeKind::MsgText;
template <> inline constexpr NodeKind node_kind<msg_escape> = NodeKind::MsgEscape;
template <> inline constexpr NodeKind node_kind<msg_interp> = NodeKind::MsgInterp;
template <> inline constexpr NodeKind node_kind<number_lit> = NodeKind::Number;
template <> inline constexpr NodeKind node_kind<date_lit> = NodeKind::Date;
template <> inline constexpr NodeKind node_kind<datetime_lit> = NodeKind::DateTime;
template <> inline constexpr NodeKind node_kind<duration_lit> = NodeKind::Duration;
template <> inline constexpr NodeKind node_kind<true_lit> = NodeKind::True;
template <> inline constexpr NodeKind node_kind<false_lit> = NodeKind::False;
template <> inline constexpr NodeKind node_kind<empty_lit> = NodeKind::Empty;
template <> inline constexpr NodeKind node_kind<list_lit> = NodeKind::List;
template <> inline constexpr NodeKind node_kind<call> = NodeKind::Call;
template <> inline constexpr NodeKind node_kind<name_ref> = NodeKind::NameRef;
template <> inline constexpr NodeKind node_kind<paren_expr> = NodeKind::Paren;
template <> inline constexpr NodeKind node_kind<neg_op> = NodeKind::Neg;
template <> inline constexpr NodeKind node_kind<unary_expr> = NodeKind::Unary;
template <> inline constexpr NodeKind node_kind<mul_op> = NodeKind::MulOp;
template <> inline constexpr NodeKind node_kind<mul_expr> = NodeKind::Mul;
template <> inline constexpr NodeKind node_kind<add_op> = NodeKind::AddOp;
template <> inline constexpr NodeKind node_kind<add_expr> = NodeKind::Add;
template <> inline constexpr NodeKind node_kind<cmp_op> = NodeKind::CmpOp;
template <> inline constexpr NodeKind node_kind<in_op> = NodeKind::InOp;
template <> inline constexpr NodeKind node_kind<not_in_op> = NodeKind::NotInOp;
template <> inline constexpr NodeKind node_kind<is_empty_op> = NodeKind::IsEmpty;
template <> inline constexpr NodeKind node_kind<is_not_empty_op> = NodeKind::IsNotEmpty;
template <> inline constexpr NodeKind node_kind<cmp_expr> = NodeKind::Cmp;
template <> inline constexpr NodeKind node_kind<not_op> = NodeKind::NotOp;
template <> inline constexpr NodeKind node_kind<not_expr> = NodeKind::Not;
template <> inline constexpr NodeKind node_kind<and_expr> = NodeKind::And;
template <> inline constexpr NodeKind node_kind<or_expr> = NodeKind::Or;
template <> inline constexpr NodeKind node_kind<role_decl> = NodeKind::Role;
template <> inline constexpr NodeKind node_kind<user_decl> = NodeKind::User;
template <> inline constexpr NodeKind node_kind<user_name_item> = NodeKind::UserName;
template <> inline constexpr NodeKind node_kind<user_email_item> = NodeKind::UserEmail;
template <> inline constexpr NodeKind node_kind<user_roles_item> = NodeKind::UserRoles;
template <> inline constexpr NodeKind node_kind<label_clause> = NodeKind::Label;
template <> inline constexpr NodeKind node_kind<field_decl> = NodeKind::Field;
template <> inline constexpr NodeKind node_kind<type_simple> = NodeKind::TypeSimple;
template <> inline constexpr NodeKind node_kind<type_picklist> = NodeKind::TypePicklist;
template <> inline constexpr NodeKind node_kind<type_lookup> = NodeKind::TypeLookup;
template <> inline constexpr NodeKind node_kind<mod_required> = NodeKind::Required;
template <> inline constexpr NodeKind node_kind<mod_unique> = NodeKind::Unique;
template <> inline constexpr NodeKind node_kind<mod_default> = NodeKind::Default;
template <> inline constexpr NodeKind node_kind<accepts_clause> = NodeKind::Accepts;
template <> inline constexpr NodeKind node_kind<accepts_fields> = NodeKind::AcceptsFields;
template <> inline constexpr NodeKind node_kind<route_clause> = NodeKind::Route;
template <> inline constexpr NodeKind node_kind<route_when> = NodeKind::RouteWhen;
template <> inline constexpr NodeKind node_kind<route_otherwise> = NodeKind::RouteOtherwise;
template <> inline constexpr NodeKind node_kind<assign_clause> = NodeKind::Assign;
template <> inline constexpr NodeKind node_kind<assign_role> = NodeKind::AssignRole;
template <> inline constexpr NodeKind node_kind<rr_members> = NodeKind::AssignRoundRobinMembers;
template <> inline constexpr NodeKind node_kind<rr_users> = NodeKind::AssignRoundRobinUsers;
template <> inline constexpr NodeKind node_kind<assign_least> = NodeKind::AssignLeast;
template <> inline constexpr NodeKind node_kind<assign_user> = NodeKind::AssignUser;
template <> inline constexpr NodeKind node_kind<module_decl> = NodeKind::Module;
template <> inline constexpr NodeKind node_kind<members_clause> = NodeKind::Members;
template <> inline constexpr NodeKind node_kind<admins_clause> = NodeKind::Admins;
template <> inline constexpr NodeKind node_kind<modules_clause> = NodeKind::Modules;
template <> inline constexpr NodeKind node_kind<teamspace_decl> = NodeKind::Teamspace;
template <> inline constexpr NodeKind node_kind<blueprint_decl> = NodeKind::Blueprint;
template <> inline constexpr NodeKind node_kind<when_clause> = NodeKind::When;
template <> inline constexpr NodeKind node_kind<transition_decl> = NodeKind::Transition;
template <> inline constexpr NodeKind node_kind<sub_transition> = NodeKind::SubTransition;
template <> inline constexpr NodeKind node_kind<from_clause> = NodeKind::From;
template <> inline constexpr NodeKind node_kind<from_any> = NodeKind::FromAny;
template <> inline constexpr NodeKind node_kind<to_header> = NodeKind::HeaderTarget;
template <> inline constexpr NodeKind node_kind<to_line> = NodeKind::Target;
template <> inline constexpr NodeKind node_kind<otherwise_mark> = NodeKind::Otherwise;
template <> inline constexpr NodeKind node_kind<after_clause> = NodeKind::After;
template <> inline constexpr NodeKind node_kind<by_clause> = NodeKind::By;
template <> inline constexpr NodeKind node_kind<owner_item> = NodeKind::Owner;
template <> inline constexpr NodeKind node_kind<recipient_item> = NodeKind::Owner;
template <> inline constexpr NodeKind node_kind<require_clause> = NodeKind::Require;
template <> inline constexpr NodeKind node_kind<validate_clause> = NodeKind::Validate;
template <> inline constexpr NodeKind node_kind<checklist_clause> = NodeKind::Checklist;
template <> inline constexpr NodeKind node_kind<note_clause> = NodeKind::NoteRequired;
template <> inline constexpr NodeKind node_kind<then_clause> = NodeKind::Then;
template <> inline constexpr NodeKind node_kind<set_action> = NodeKind::SetAction;
template <> inline constexpr NodeKind node_kind<notify_action> = NodeKind::NotifyAction;
template <> inline constexpr NodeKind node_kind<webhook_action> = NodeKind::WebhookAction;
template <> inline constexpr NodeKind node_kind<request_action> = NodeKind::RequestAction;
template <> inline constexpr NodeKind node_kind<create_action> = NodeKind::CreateAction;
template <> inline constexpr NodeKind node_kind<as_clause> = NodeKind::As;
template <> inline constexpr NodeKind node_kind<assignment> = NodeKind::Assignment;
template <> inline constexpr NodeKind node_kind<parallel_decl> = NodeKind::Parallel;
template <> inline constexpr NodeKind node_kind<sla_decl> = NodeKind::Sla;
template <> inline constexpr NodeKind node_kind<migrate_decl> = NodeKind::Migrate;
template <> inline constexpr NodeKind node_kind<test_decl> = NodeKind::Test;
template <> inline constexpr NodeKind node_kind<step_as> = NodeKind::StepAs;
template <> inline constexpr NodeKind node_kind<step_update> = NodeKind::StepUpdate;
template <> inline constexpr NodeKind node_kind<step_transition> = NodeKind::StepTransition;
template <> inline constexpr NodeKind node_kind<on_option> = NodeKind::On;
template <> inline constexpr NodeKind node_kind<with_option> = NodeKind::With;
template <> inline constexpr NodeKind node_kind<note_option> = NodeKind::NoteText;
template <> inline constexpr NodeKind node_kind<step_expect> = NodeKind::StepExpect;
template <> inline constexpr NodeKind node_kind<expect_refused> = NodeKind::ExpectRefused;
template <> inline constexpr NodeKind node_kind<expect_notified> = NodeKind::ExpectNotified;
template <> inline constexpr NodeKind node_kind<expect_assigned> = NodeKind::ExpectAssigned;
template <> inline constexpr NodeKind node_kind<expect_webhook> = NodeKind::ExpectWebhook;
template <> inline constexpr NodeKind node_kind<expect_state> = NodeKind::ExpectState;
template <> inline constexpr NodeKind node_kind<step_advance> = NodeKind::StepAdvance;
template <> inline constexpr NodeKind node_kind<step_clock> = NodeKind::StepClock;
// clang-format on

/// Rules recorded only when they hold more than one subtree (otherwise their child stands alone).
template <typename Rule> inline constexpr bool is_wrapper = false;

// clang-format off
template <> inline constexpr bool is_wrapper<name_ref> = true;
template <> inline constexpr bool is_wrapper<unary_expr> = true;
template <> inline constexpr bool is_wrapper<mul_expr> = true;
template <> inline constexpr bool is_wrapper<add_expr> = true;
template <> inline constexpr bool is_wrapper<cmp_expr> = true;
template <> inline constexpr bool is_wrapper<not_expr> = true;
template <> inline constexpr bool is_wrapper<and_expr> = true;
template <> inline constexpr bool is_wrapper<or_expr> = true;
// clang-format on

} // namespace teamflow::dsl::grammar
