// `teamflow-bench render [--repeat R] [--states N,N,…]`: blueprint diagrams on generated blueprints
// of 10, 100 and 500 states (plain, conditional, parallel, automatic and `from any` transitions,
// SLAs): DOT generation time and Graphviz SVG layout time, best of R runs, as JSON lines.

#include "bench.hpp"

#include "teamflow/engine/diagram.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
namespace dsl = teamflow::dsl;
namespace engine = teamflow::engine;

dsl::Name name(std::string text) {
    dsl::Name n;
    n.text = std::move(text);
    n.quoted = true;
    return n;
}

dsl::ExprPtr amount_above(int n) {
    auto field = std::make_unique<dsl::Expr>();
    field->kind = dsl::ExprKind::Name;
    field->text = "amount";
    auto number = std::make_unique<dsl::Expr>();
    number->kind = dsl::ExprKind::Number;
    number->text = std::to_string(n);
    auto e = std::make_unique<dsl::Expr>();
    e->kind = dsl::ExprKind::Binary;
    e->op = dsl::Op::Gt;
    e->args.push_back(std::move(field));
    e->args.push_back(std::move(number));
    return e;
}

dsl::Target target(const std::string& state) {
    dsl::Target t;
    t.state = name(state);
    return t;
}

dsl::Owner role(const char* r) {
    dsl::Owner o;
    o.kind = dsl::OwnerKind::Role;
    o.name = name(r);
    return o;
}

struct Generated {
    dsl::Module module;
    dsl::Blueprint blueprint;
};

/// A blueprint of `n` states "Step 0" … in a chain: every 10 steps one conditional, one parallel
/// and one automatic transition; an SLA every 7 states; one `from any` transition.
Generated generate(int n) {
    Generated g;
    auto state = [](int i) { return fmt::format("Step {}", i); };
    g.module.name = name("Cases");
    dsl::Field f;
    f.name = name("stage");
    f.type.kind = dsl::FieldKind::Picklist;
    for (int i = 0; i < n; ++i) {
        f.type.values.push_back({state(i), {}});
    }
    g.module.fields.push_back(std::move(f));
    dsl::Blueprint& bp = g.blueprint;
    bp.name = name(fmt::format("Generated{}", n));
    bp.module = name("Cases");
    bp.field = name("stage");
    bp.when = amount_above(0);
    for (int i = 0; i + 1 < n; ++i) {
        if (i % 10 == 6) {
            dsl::Parallel p;
            p.name = name(fmt::format("Approve {}", i));
            p.from.states.push_back(name(state(i)));
            p.to = name(state(i + 1));
            for (const char* who : {"Finance", "Legal"}) {
                dsl::Transition t;
                t.name = name(fmt::format("{} approves {}", who, i));
                t.owners.push_back(role(who));
                p.transitions.push_back(std::move(t));
            }
            bp.parallels.push_back(std::move(p));
            continue;
        }
        dsl::Transition t;
        t.name = name(fmt::format("Move {}", i));
        t.from.states.push_back(name(state(i)));
        t.owners.push_back(role("Manager"));
        if (i % 10 == 3) {
            dsl::Target when = target(state(i + 1));
            when.when = amount_above(i * 100);
            t.targets.push_back(std::move(when));
            dsl::Target otherwise = target(state(std::min(i + 2, n - 1)));
            otherwise.otherwise = true;
            t.targets.push_back(std::move(otherwise));
        } else {
            t.targets.push_back(target(state(i + 1)));
        }
        if (i % 10 == 8) {
            t.after = dsl::Duration{3 * 86400, {}};
            t.owners.clear();
        }
        bp.transitions.push_back(std::move(t));
    }
    dsl::Transition cancel;
    cancel.name = name("Cancel");
    cancel.from.any = true;
    cancel.targets.push_back(target(state(n - 1)));
    bp.transitions.push_back(std::move(cancel));
    for (int i = 0; i < n; i += 7) {
        dsl::Sla sla;
        sla.state = name(state(i));
        sla.within = dsl::Duration{5 * 86400, {}};
        bp.slas.push_back(std::move(sla));
    }
    return g;
}

/// Our error messages hold no control characters; quotes and backslashes become safe look-alikes.
std::string json_safe(std::string s) {
    std::replace(s.begin(), s.end(), '"', '\'');
    std::replace(s.begin(), s.end(), '\\', '/');
    return s;
}

double ms_since(Clock::time_point t0) {
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

} // namespace

int run_render_bench(int argc, char** argv) {
    int repeat = 3;
    std::vector<int> sizes = {10, 100, 500};
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--repeat") == 0) {
            repeat = std::atoi(argv[i + 1]);
        } else if (std::strcmp(argv[i], "--states") == 0) {
            sizes.clear();
            const std::string list = argv[i + 1];
            for (std::size_t at = 0; at <= list.size();) {
                const std::size_t comma = std::min(list.find(',', at), list.size());
                sizes.push_back(std::atoi(list.substr(at, comma - at).c_str()));
                at = comma + 1;
            }
        }
    }
    if (repeat < 1 || sizes.empty() ||
        std::any_of(sizes.begin(), sizes.end(), [](int n) { return n < 2; })) {
        fmt::print(stderr, "teamflow-bench render: --repeat must be positive and --states a "
                           "comma-separated list of numbers of at least 2\n");
        return 2;
    }
    int code = 0;
    for (int n : sizes) {
        const Generated g = generate(n);
        double dot_ms = 1e300;
        double svg_ms = 1e300;
        engine::DotGraph dot;
        engine::DiagramResult svg;
        for (int r = 0; r < repeat; ++r) {
            auto t0 = Clock::now();
            dot = engine::blueprint_to_dot(g.blueprint, g.module);
            dot_ms = std::min(dot_ms, ms_since(t0));
            t0 = Clock::now();
            svg = engine::layout_dot(dot.text, engine::DiagramFormat::Svg);
            svg_ms = std::min(svg_ms, ms_since(t0));
        }
        fmt::print("{{\"bench\": \"render\", \"states\": {}, \"nodes\": {}, \"edges\": {}, "
                   "\"dot_bytes\": {}, \"dot_ms\": {:.3f}, \"svg_ok\": {}, \"svg_bytes\": {}, "
                   "\"svg_ms\": {:.1f}{}}}\n",
                   n, dot.nodes, dot.edges, dot.text.size(), dot_ms, svg.ok ? "true" : "false",
                   svg.data.size(), svg_ms,
                   svg.ok ? std::string() : ", \"error\": \"" + json_safe(svg.error) + "\"");
        std::fflush(stdout);
        code = svg.ok ? code : 1;
    }
    return code;
}
