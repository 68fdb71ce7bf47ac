// `teamflow test`: each test block runs against a fresh in-memory store and a test clock.

#include "teamflow/engine/test_runner.hpp"

#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/engine.hpp"
#include "teamflow/engine/memory_store.hpp"
#include "vm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ostream>

namespace teamflow::engine {

namespace {

std::string lower_ascii(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

bool contains_text(std::string_view hay, std::string_view needle) {
    return lower_ascii(hay).find(lower_ascii(needle)) != std::string::npos;
}

/// A test failed at a step: where and what was seen.
struct Failure {
    dsl::SourceRange range;
    std::string message;
};

class TestRun {
public:
    TestRun(const dsl::DefinitionSet& set, std::shared_ptr<const Definitions> defs,
            const dsl::Test& test)
        : set_(set), defs_(std::move(defs)), d_(*defs_), test_(test),
          engine_(defs_, store_, clock_, EngineOptions{}) {}

    /// Runs the steps; returns the failure, if any.
    std::optional<Failure> run() {
        for (const dsl::Step& step : test_.steps) {
            std::optional<std::string> problem = run_step(step);
            if (problem) {
                return Failure{step.range, std::move(*problem)};
            }
        }
        return std::nullopt;
    }

private:
    using StepResult = std::optional<std::string>;

    std::uint32_t module_of(RecordId id) {
        Record r;
        return store_.read_record(id, r) ? r.module : npos32;
    }

    /// Compiles and evaluates an expression with the given context record.
    std::optional<Value> eval(const dsl::Expr& e, RecordId context, std::string& error) {
        Scope scope;
        scope.module = context != 0 ? module_of(context) : npos32;
        scope.slot_names = &names_;
        scope.slot_modules = &name_modules_;
        auto prog = compile_expression(d_, e, scope);
        if (!prog) {
            error = prog.error().detail;
            return std::nullopt;
        }
        programs_.push_back(std::move(prog.value()));
        if (context != 0) {
            store_.read_record(context, context_record_);
        }
        EvalEnv env;
        env.defs = &d_;
        env.record = context != 0 ? &context_record_ : nullptr;
        env.user = user_;
        env.now = clock_.now();
        env.reader = &store_;
        env.slots = slots_.data();
        env.slot_count = slots_.size();
        env.arena = &arena_;
        return evaluate(programs_.back(), env);
    }

    StepResult assignments(const std::vector<dsl::Assignment>& in, std::uint32_t module,
                           RecordId context, std::vector<FieldAssign>& out) {
        const ModuleDef& m = d_.modules[module];
        for (const dsl::Assignment& a : in) {
            const std::uint32_t f = m.find_assignable(a.field.text);
            if (f == npos32) {
                return fmt::format("module {} has no field \"{}\"", m.name, a.field.text);
            }
            std::string error;
            auto v = eval(*a.value, context, error);
            if (!v) {
                return error;
            }
            out.push_back({f, *v});
        }
        return std::nullopt;
    }

    void bind(const std::optional<dsl::Name>& as, RecordId id, std::uint32_t module) {
        if (!as) {
            return;
        }
        for (std::size_t k = 0; k < names_.size(); ++k) {
            if (names_[k] == as->text) {
                slots_[k] = id;
                name_modules_[k] = module;
                return;
            }
        }
        names_.push_back(as->text);
        name_modules_.push_back(module);
        slots_.push_back(id);
    }

    RecordId subject(const dsl::Step& step) const {
        if (step.on) {
            for (std::size_t k = 0; k < names_.size(); ++k) {
                if (names_[k] == step.on->text) {
                    return slots_[k];
                }
            }
            return 0;
        }
        return current_;
    }

    std::string refusal_text(const Error& e) const {
        return fmt::format("{}: {}", code_name(e.code), e.to_string());
    }

    StepResult make_call(const dsl::Step& step, TransitionCall& call) {
        const RecordId id = subject(step);
        if (id == 0) {
            return std::string("no current record");
        }
        const std::uint32_t module = module_of(id);
        call.record = id;
        call.name = step.transition.text;
        call.user = user_;
        if (auto p = assignments(step.assignments, module, id, call.fields)) {
            return p;
        }
        for (const auto& c : step.checklist) {
            call.checklist.push_back(c.value);
        }
        if (step.note) {
            call.note = step.note->value;
        }
        return std::nullopt;
    }

    std::string describe(const dsl::Expr& e, RecordId context) {
        // Shows the operands of a comparison (or the operand of `is empty`).
        std::string out;
        const auto show = [&](const dsl::Expr& x) {
            if (x.kind != dsl::ExprKind::Name && x.kind != dsl::ExprKind::Member &&
                x.kind != dsl::ExprKind::Call && x.kind != dsl::ExprKind::Binary) {
                return;
            }
            std::string error;
            auto v = eval(x, context, error);
            if (!v) {
                return;
            }
            if (!out.empty()) {
                out += ", ";
            }
            out += expression_text(x);
            out += " is ";
            if (v->empty()) {
                out += "empty";
            } else if (v->kind == ValueKind::Text) {
                out += fmt::format("\"{}\"", v->s);
            } else {
                out += format_value(*v, d_.user_ids, programs_.back().min_fraction);
            }
        };
        if (e.kind == dsl::ExprKind::Binary &&
            (e.op == dsl::Op::And || e.op == dsl::Op::Or)) {
            return {};
        }
        for (const auto& a : e.args) {
            if (a) {
                show(*a);
            }
        }
        return out;
    }

    StepResult run_step(const dsl::Step& step) {
        switch (step.kind) {
        case dsl::StepKind::Clock: {
            std::string error;
            auto v = eval(*step.expr, 0, error);
            if (!v) {
                return error;
            }
            clock_.set(v->kind == ValueKind::Date ? v->i * seconds_per_day : v->i);
            return std::nullopt;
        }
        case dsl::StepKind::As: {
            const std::uint32_t u = d_.find_user(step.user.text);
            if (u == npos32) {
                return fmt::format("unknown user {}", step.user.text);
            }
            user_ = u;
            return std::nullopt;
        }
        case dsl::StepKind::Create:
        case dsl::StepKind::Request: {
            const std::uint32_t module = d_.find_module(step.module.text);
            if (module == npos32) {
                return fmt::format("unknown module {}", step.module.text);
            }
            std::vector<FieldAssign> fields;
            if (auto p = assignments(step.assignments, module, 0, fields)) {
                return p;
            }
            Result<Record> r = step.kind == dsl::StepKind::Create
                                   ? engine_.create(module, user_, fields)
                                   : engine_.file_request(d_.find_teamspace(step.team.text), module,
                                                          user_, fields);
            if (!r) {
                return fmt::format("{} {} was refused: {}",
                                   step.kind == dsl::StepKind::Create ? "create" : "request",
                                   step.module.text, refusal_text(r.error()));
            }
            current_ = r->id;
            bind(step.as, r->id, module);
            return std::nullopt;
        }
        case dsl::StepKind::Update: {
            const RecordId id = subject(step);
            if (id == 0) {
                return std::string("no record to update");
            }
            std::vector<FieldAssign> fields;
            if (auto p = assignments(step.assignments, module_of(id), id, fields)) {
                return p;
            }
            auto r = engine_.update(id, user_, fields);
            if (!r) {
                return fmt::format("update was refused: {}", refusal_text(r.error()));
            }
            return std::nullopt;
        }
        case dsl::StepKind::Transition: {
            TransitionCall call;
            if (auto p = make_call(step, call)) {
                return p;
            }
            auto r = engine_.transition(call);
            if (!r) {
                return fmt::format("transition \"{}\" was refused: {}", call.name,
                                   refusal_text(r.error()));
            }
            return std::nullopt;
        }
        case dsl::StepKind::ExpectRefused: {
            TransitionCall call;
            if (auto p = make_call(step, call)) {
                return p;
            }
            auto r = engine_.dry_run(call);
            if (r) {
                return fmt::format("expected \"{}\" to be refused, but it was allowed", call.name);
            }
            if (step.text) {
                std::string all = r.error().detail;
                for (const auto& item : r.error().items) {
                    all += '\n';
                    all += item.message;
                }
                if (!contains_text(all, step.text->value)) {
                    return fmt::format("\"{}\" was refused, but no message mentions \"{}\": {}",
                                       call.name, step.text->value, refusal_text(r.error()));
                }
            }
            return std::nullopt;
        }
        case dsl::StepKind::Expect: {
            if (current_ == 0 && !names_.empty()) {
                // Named records only.
            }
            std::string error;
            auto v = eval(*step.expr, current_, error);
            if (!v) {
                return error;
            }
            if (!truthy(*v)) {
                std::string seen = describe(*step.expr, current_);
                return fmt::format("expected {}, but {}", expression_text(*step.expr),
                                   seen.empty() ? std::string("it is false") : seen);
            }
            return std::nullopt;
        }
        case dsl::StepKind::ExpectNotified: {
            const std::uint32_t u = d_.find_user(step.user.text);
            const auto notes = store_.notifications(u);
            for (const OutboxRow& n : notes) {
                if (!step.text || contains_text(n.text, step.text->value)) {
                    return std::nullopt;
                }
            }
            std::string seen;
            for (const OutboxRow& n : notes) {
                seen += fmt::format("\n    \"{}\"", n.text);
            }
            return fmt::format("expected a notification to {}{}; {}{}", step.user.text,
                               step.text ? fmt::format(" mentioning \"{}\"", step.text->value)
                                         : std::string(),
                               notes.empty() ? "they have none" : "they have:", seen);
        }
        case dsl::StepKind::ExpectAssigned: {
            Record r;
            if (current_ == 0 || !store_.read_record(current_, r)) {
                return std::string("no current record");
            }
            const std::uint32_t u = d_.find_user(step.user.text);
            if (r.assignee != u) {
                return fmt::format("expected the record to be assigned to {}, but {}",
                                   step.user.text,
                                   r.assignee == no_user
                                       ? std::string("it is unassigned")
                                       : fmt::format("it is assigned to {}",
                                                     d_.user_name(r.assignee)));
            }
            return std::nullopt;
        }
        case dsl::StepKind::ExpectWebhook: {
            const auto rows = store_.outbox(std::nullopt);
            for (const OutboxRow& o : rows) {
                if (o.kind == OutboxKind::Webhook && step.text && o.url == step.text->value) {
                    return std::nullopt;
                }
            }
            std::string seen;
            for (const OutboxRow& o : rows) {
                if (o.kind == OutboxKind::Webhook) {
                    seen += fmt::format(" \"{}\"", o.url);
                }
            }
            return fmt::format("expected a webhook to \"{}\"; queued:{}",
                               step.text ? step.text->value : "", seen.empty() ? " none" : seen);
        }
        case dsl::StepKind::ExpectState: {
            const RecordId id = subject(step);
            Record r;
            if (id == 0 || !store_.read_record(id, r)) {
                return std::string("no current record");
            }
            const BlueprintDef* bp = d_.blueprint_of(r.module);
            if (bp == nullptr) {
                return fmt::format("module {} has no blueprint", d_.modules[r.module].name);
            }
            const std::string_view state = r.fields[bp->field].s;
            if (!step.text || state != step.text->value) {
                return fmt::format("expected state \"{}\", but the record is in \"{}\"{}",
                                   step.text ? step.text->value : "", state,
                                   r.governed ? "" : " (not governed by the blueprint)");
            }
            return std::nullopt;
        }
        case dsl::StepKind::Advance: {
            const std::int64_t target = clock_.now() + step.duration.seconds;
            std::size_t guard = 0;
            for (;;) {
                const auto next = store_.next_timer();
                if (!next || next->due > target) {
                    break;
                }
                if (next->due > clock_.now()) {
                    clock_.set(next->due);
                }
                engine_.fire_due_timers();
                if (++guard > 100000) {
                    return std::string("timers keep firing: is there a loop of automatic "
                                       "transitions?");
                }
            }
            clock_.set(target);
            engine_.fire_due_timers();
            return std::nullopt;
        }
        }
        return std::nullopt;
    }

    const dsl::DefinitionSet& set_;
    std::shared_ptr<const Definitions> defs_;
    const Definitions& d_;
    const dsl::Test& test_;
    MemoryStore store_;
    TestClock clock_;
    Engine engine_;
    UserId user_ = system_user;
    RecordId current_ = 0;
    std::vector<std::string> names_;
    std::vector<std::uint32_t> name_modules_;
    std::vector<RecordId> slots_;
    std::vector<Program> programs_;
    Record context_record_;
    Arena arena_;
};

} // namespace

int run_tests(const dsl::DefinitionSet& set, std::ostream& out, const TestOptions& options) {
    if (!set.ok()) {
        out << dsl::render_diagnostics(set.sources, set.diagnostics.diagnostics(), false);
        out << "the definitions do not compile: no test was run\n";
        return 1;
    }
    auto compiled = compile_definitions(set);
    if (!compiled) {
        out << "the definitions do not compile: " << compiled.error().to_string() << "\n";
        return 1;
    }
    int passed = 0;
    int failed = 0;
    for (const dsl::Test& test : set.ast.tests) {
        if (!options.filter.empty() && test.name.value.find(options.filter) == std::string::npos) {
            continue;
        }
        TestRun run(set, compiled.value(), test);
        const auto failure = run.run();
        if (!failure) {
            ++passed;
            out << "PASS " << test.name.value << "\n";
            continue;
        }
        ++failed;
        out << "FAIL " << test.name.value << "\n";
        std::string where = "?";
        if (failure->range.file < set.sources.size()) {
            const dsl::SourceFile& file = set.sources.file(failure->range.file);
            const dsl::LineColumn lc = file.line_column(failure->range.begin);
            where = fmt::format("{}:{}:{}", file.path(), lc.line, lc.column);
        }
        out << "  " << where << ": " << failure->message << "\n";
    }
    out << passed << " passed, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
}

} // namespace teamflow::engine
