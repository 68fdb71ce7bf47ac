// The spec's Acme example built by hand (no parser), shared by the engine tests.

#include "ast_builder.hpp"

namespace teamflow::testing {

using dsl::FieldKind;
using dsl::Op;
using dsl::OwnerKind;

namespace {

dsl::Transition transition(const std::string& n) {
    dsl::Transition t;
    t.name = nm(n);
    return t;
}

} // namespace

std::unique_ptr<dsl::Ast> acme_ast() {
    auto ast = std::make_unique<dsl::Ast>();
    for (const char* r : {"SalesRep", "SalesManager", "Marketer", "Counsel"}) {
        dsl::Role role;
        role.name = nm(r);
        ast->roles.push_back(role);
    }
    const auto user = [&](const std::string& id, std::vector<std::string> roles) {
        dsl::User u;
        u.id = nm(id);
        for (auto& r : roles) {
            u.roles.push_back(nm(r));
        }
        ast->users.push_back(std::move(u));
    };
    user("jeanne", {"SalesRep"});
    user("paul", {"SalesRep", "SalesManager"});
    user("lea", {"Counsel"});
    user("pierre", {"Marketer"});
    user("marie", {"Marketer", "SalesManager"});

    dsl::Module accounts;
    accounts.name = nm("Accounts");
    accounts.fields.push_back(field("name", FieldKind::Text, true));
    accounts.fields.back().unique = true;
    ast->modules.push_back(std::move(accounts));

    dsl::Module deals;
    deals.name = nm("Deals");
    deals.fields.push_back(field("name", FieldKind::Text, true));
    deals.fields.push_back(field("account", FieldKind::Lookup, true));
    deals.fields.back().type.target = nm("Accounts");
    deals.fields.push_back(field("amount", FieldKind::Currency, true));
    deals.fields.push_back(field("discount", FieldKind::Percent));
    deals.fields.push_back(field("close_date", FieldKind::Date));
    deals.fields.push_back(picklist("stage",
                                    {"Qualification", "Negotiation", "Discount approval",
                                     "Legal review", "Closed won", "Closed lost"},
                                    "Qualification"));
    deals.fields.push_back(field("loss_reason", FieldKind::Text));
    deals.fields.push_back(field("probability", FieldKind::Number));
    deals.fields.back().default_value = num("10");
    ast->modules.push_back(std::move(deals));

    dsl::Module mats;
    mats.name = nm("SalesMaterials");
    mats.teamspace = "Marketing";
    mats.fields.push_back(field("title", FieldKind::Text, true));
    mats.fields.push_back(picklist("kind", {"Brochure", "Case study", "Deck"}, ""));
    mats.fields.back().required = true;
    mats.fields.push_back(field("deal", FieldKind::Lookup));
    mats.fields.back().type.target = nm("Deals");
    mats.fields.push_back(field("due", FieldKind::Date, true));
    mats.fields.push_back(picklist("status", {"New", "In progress", "Delivered"}, "New"));
    dsl::Accepts acc;
    acc.teams = {nm("Sales"), nm("Legal")};
    acc.fields = {nm("title"), nm("kind"), nm("deal"), nm("due")};
    mats.accepts = std::move(acc);
    dsl::Route route;
    {
        dsl::RouteRule r1;
        r1.when = bin(Op::Eq, name("kind"), str("Deck"));
        r1.assign.kind = dsl::AssignKind::User;
        r1.assign.names = {nm("pierre")};
        route.rules.push_back(std::move(r1));
        dsl::RouteRule r2;
        r2.when = bin(Op::Ge, member(name("deal"), "amount"), num("100000"));
        r2.assign.kind = dsl::AssignKind::Role;
        r2.assign.names = {nm("SalesManager")};
        route.rules.push_back(std::move(r2));
        dsl::RouteRule r3;
        r3.assign.kind = dsl::AssignKind::RoundRobinMembers;
        route.rules.push_back(std::move(r3));
    }
    mats.route = std::move(route);
    ast->modules.push_back(std::move(mats));

    dsl::Teamspace sales;
    sales.name = nm("Sales");
    sales.members = {nm("jeanne"), nm("paul")};
    sales.admins = {nm("paul")};
    sales.shown_modules = {nm("Deals"), nm("Accounts")};
    ast->teamspaces.push_back(std::move(sales));
    dsl::Teamspace marketing;
    marketing.name = nm("Marketing");
    marketing.members = {nm("pierre"), nm("marie")};
    marketing.admins = {nm("marie")};
    marketing.shown_modules = {nm("Deals")};
    marketing.team_modules = {2};
    ast->teamspaces.push_back(std::move(marketing));
    dsl::Teamspace legal;
    legal.name = nm("Legal");
    legal.members = {nm("lea")};
    legal.shown_modules = {nm("Deals")};
    ast->teamspaces.push_back(std::move(legal));

    dsl::Blueprint bp;
    bp.name = nm("DealPipeline");
    bp.module = nm("Deals");
    bp.field = nm("stage");
    bp.when = bin(Op::Gt, name("amount"), num("0"));
    {
        auto t = transition("Qualify");
        t.from = from({"Qualification"});
        t.targets.push_back(to("Negotiation"));
        t.owners = {owner(OwnerKind::Owner), owner(OwnerKind::Role, "SalesManager")};
        t.when.push_back(is_empty(name("close_date"), true));
        t.require = {nm("amount"), nm("close_date")};
        dsl::Validation v;
        v.condition = bin(Op::Ge, name("close_date"), call("today"));
        std::vector<std::pair<std::string, ExprPtr>> parts;
        parts.emplace_back("The close date ", nullptr);
        parts.emplace_back("", name("close_date"));
        parts.emplace_back(" is in the past", nullptr);
        v.message = message(std::move(parts));
        t.validations.push_back(std::move(v));
        t.actions.push_back(set("probability", num("40")));
        bp.transitions.push_back(std::move(t));
    }
    {
        auto t = transition("Ask discount");
        t.from = from({"Negotiation"});
        t.owners = {owner(OwnerKind::Owner)};
        t.require = {nm("discount")};
        t.targets.push_back(to("Discount approval", bin(Op::Gt, name("discount"), num("10"))));
        t.targets.push_back(to("Legal review", nullptr, true));
        bp.transitions.push_back(std::move(t));
    }
    {
        dsl::Parallel p;
        p.name = nm("Approve");
        p.from = from({"Discount approval"});
        p.to = nm("Legal review");
        auto f = transition("Finance approves");
        f.owners = {owner(OwnerKind::Role, "SalesManager")};
        p.transitions.push_back(std::move(f));
        auto c = transition("Counsel approves");
        c.owners = {owner(OwnerKind::User, "lea")};
        c.checklist = {lit("Terms checked"), lit("Liability capped")};
        p.transitions.push_back(std::move(c));
        bp.parallels.push_back(std::move(p));
    }
    {
        auto t = transition("Win");
        t.from = from({"Legal review"});
        t.targets.push_back(to("Closed won"));
        t.owners = {owner(OwnerKind::Owner)};
        t.note_required = true;
        dsl::Action req;
        req.kind = dsl::ActionKind::Request;
        req.team = nm("Marketing");
        req.module = nm("SalesMaterials");
        req.assignments.push_back(assign("title", bin(Op::Add, str("Case study: "), name("name"))));
        req.assignments.push_back(assign("kind", str("Case study")));
        req.assignments.push_back(assign("deal", name("id")));
        req.assignments.push_back(assign("due", bin(Op::Add, call("today"), duration("30d"))));
        t.actions.push_back(std::move(req));
        dsl::Action hook;
        hook.kind = dsl::ActionKind::Webhook;
        hook.url = lit("http://127.0.0.1:9000/hooks/won");
        t.actions.push_back(std::move(hook));
        std::vector<std::pair<std::string, ExprPtr>> parts;
        parts.emplace_back("Deal ", nullptr);
        parts.emplace_back("", name("name"));
        parts.emplace_back(" won", nullptr);
        t.actions.push_back(notify(owner(OwnerKind::Owner), message(std::move(parts))));
        bp.transitions.push_back(std::move(t));
    }
    {
        auto t = transition("Lose");
        t.from = from_any();
        t.targets.push_back(to("Closed lost"));
        t.owners = {owner(OwnerKind::Owner), owner(OwnerKind::Role, "SalesManager")};
        t.require = {nm("loss_reason")};
        bp.transitions.push_back(std::move(t));
    }
    {
        auto t = transition("Expire");
        t.from = from({"Negotiation"});
        t.targets.push_back(to("Closed lost"));
        dsl::Duration d;
        d.seconds = 30 * 86400;
        t.after = d;
        t.when.push_back(is_empty(name("discount")));
        t.actions.push_back(set("loss_reason", str("No answer in 30 days")));
        bp.transitions.push_back(std::move(t));
    }
    {
        dsl::Sla sla;
        sla.state = nm("Legal review");
        sla.within.seconds = 5 * 86400;
        std::vector<std::pair<std::string, ExprPtr>> parts;
        parts.emplace_back("Legal review of ", nullptr);
        parts.emplace_back("", name("name"));
        parts.emplace_back(" is late", nullptr);
        sla.actions.push_back(notify(owner(OwnerKind::Role, "SalesManager"), message(std::move(parts))));
        bp.slas.push_back(std::move(sla));
    }
    ast->blueprints.push_back(std::move(bp));
    return ast;
}

} // namespace teamflow::testing
