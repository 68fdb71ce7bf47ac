#pragma once
// `.flow` sources shared by the parser and round-trip tests: the language page's example and a
// sample that uses every construct of the grammar at least once.

namespace teamflow::dsl::samples {

/// The example of the language contract (spec/language.md), verbatim.
inline constexpr const char* spec_example = R"flow(
role SalesRep, SalesManager, Marketer, Counsel

user jeanne { name "Jeanne Durand"  email "jeanne@acme.test"  roles SalesRep }
user paul   { name "Paul Bernard"   roles SalesRep, SalesManager }
user lea    { name "Léa Moreau"     roles Counsel }

module Accounts {
  field name: text required unique
}

module Deals {
  label "Transactions"
  field name: text required
  field account: lookup Accounts required
  field amount: currency required
  field discount: percent
  field close_date: date
  field stage: picklist ["Qualification", "Negotiation", "Discount approval",
                         "Legal review", "Closed won", "Closed lost"] default "Qualification"
  field loss_reason: text
  field probability: number default 10
}

teamspace Marketing {
  label "Marketing"
  members pierre, marie
  admins marie
  modules Deals                      # org modules shown in this teamspace

  module SalesMaterials {            # a team module: only Marketing's members see its records
    label "Supports de vente"
    field title: text required
    field kind: picklist ["Brochure", "Case study", "Deck"] required
    field deal: lookup Deals
    field due: date required
    field status: picklist ["New", "In progress", "Delivered"] default "New"

    accepts requests from Sales, Legal {
      fields title, kind, deal, due  # what the requester may fill in
    }

    route requests {
      when kind == "Deck" assign pierre
      when deal.amount >= 100000 assign role SalesManager
      otherwise assign round robin members
    }
  }
}

blueprint DealPipeline on Deals.stage when amount > 0 {

  transition Qualify from "Qualification" to "Negotiation" {
    by owner, role SalesManager
    when close_date is not empty                  # before: who sees the transition, and when
    require amount, close_date                    # during: fields the caller must supply
    validate close_date >= today() else "The close date {close_date} is in the past"
    then set probability = 40                     # after: actions, in order, in the same transaction
  }

  transition "Ask discount" from "Negotiation" {   # conditional: the first matching `to` wins
    by owner
    require discount
    to "Discount approval" when discount > 10
    to "Legal review" otherwise
  }

  parallel Approve from "Discount approval" to "Legal review" {
    transition "Finance approves" { by role SalesManager }
    transition "Counsel approves" { by user lea  checklist "Terms checked", "Liability capped" }
  }

  transition Win from "Legal review" to "Closed won" {
    by owner
    note required
    then request Marketing.SalesMaterials { title = "Case study: " + name, kind = "Case study",
                                            deal = id, due = today() + 30d }
    then webhook "http://127.0.0.1:9000/hooks/won"
    then notify owner "Deal {name} won"
  }

  transition Lose from any to "Closed lost" {      # common transition: from every state but the target
    by owner, role SalesManager
    require loss_reason
  }

  transition Expire from "Negotiation" to "Closed lost" after 30d {   # automatic, by the system
    when discount is empty
    then set loss_reason = "No answer in 30 days"
  }

  sla "Legal review" within 5d {
    then notify role SalesManager "Legal review of {name} is late"
  }
}

test "a big discount needs approval" {
  as jeanne
  create Accounts as acme { name = "Acme" }
  create Deals as big { name = "Big deal", account = acme, amount = 50000, close_date = 2030-01-01 }
  transition Qualify
  transition "Ask discount" with { discount = 25 }
  expect stage == "Discount approval"
  expect refused Win
  as paul
  transition "Finance approves"
  as lea
  transition "Counsel approves" checklist "Terms checked", "Liability capped"
  expect stage == "Legal review"
  advance 6d                        # the test clock moves on; timers and SLAs fire
  expect notified paul "late"
}
)flow";

/// Every construct of the grammar, including the liberal forms.
inline constexpr const char* every_construct = R"flow(
# comments anywhere
role Agent, "Team lead", Reviewer
role Solo

user ann { name "Ann \"A\" O'Neil" email "ann@x.test" roles Agent, "Team lead" }
user bob { }
user "carl.d" { roles Reviewer }

module Tickets {
  label "Tickets \{braces\}"
  field title: text required unique label "Title"
  field count: number default -1
  field price: currency default 12.50
  field ratio: percent
  field done: boolean default false
  field due: date default 2026-03-11
  field at: datetime default 2026-03-11T09:30:00Z
  field mail: email
  field phone: phone
  field site: url
  field level: picklist ["Low", "High",] default "Low"
  field parent: lookup Tickets
  field reviewer: user
  field status: text
  field kind: text
  field order: number
  field state: picklist ["Open", "Waiting", "Closed", "any"]
}

teamspace Support {
  label "Support desk"
  members ann, bob, "carl.d"
  admins ann
  modules Tickets, Other
  module Requests {
    field subject: text required
    field size: number
    accepts requests from Support, Sales { fields subject, size }
    route requests {
      when size > 10 and subject != "" assign role Agent
      when size > 5 assign round robin ann, bob
      when size in [1, 2, 3] assign least loaded members
      when subject is empty assign ann
      otherwise assign round robin members
    }
  }
  module Plain {
    accepts requests from Support
  }
}

blueprint Flow on Tickets.state when not done and count >= 0 {
  transition Start from "Open" to "Waiting" after 1w2d {
    by owner, assignee, requester, user ann, role "Team lead", team Support
    when status is not empty
    when kind not in ["a", "b"] or -count < -(1 + 2) * 3 / 4 - 5
    require title, due
    validate due >= today() else "Due {due} is before today \{not a field\} {lower(title) + "!"}"
    validate len(title) <= 80 else "too long"
    checklist "One", "Two"
    note required
    then set count = count + 1
    then set at = now() + 4h + 15m + 20s
    then notify owner "Hi {title}"
    then notify user ann "x"
    then notify role Agent "y"
    then notify team Support "z"
    then notify assignee "a"
    then notify requester "r"
    then webhook "http://127.0.0.1:9000/x"
    then create Tickets as t2 { title = "child", parent = id, }
    then create Tickets { title = "no name" count = 2 }
    then request Support.Requests { subject = title, size = days_between(due, today()) }
  }
  transition "Any" from any to "Closed" {
    by anyone
  }
  transition Route from "Open", "Waiting" {
    to "Closed" when contains(title, "x") or starts_with(upper(title), "Y")
    to "Waiting" when parent.title == "p" and due == 2026-03-11 and at > 2026-03-11T09:30:00.5+02:00
    to "Open" otherwise
  }
  transition Empty from "Closed" to "Open" { }
  parallel Both from "Waiting" to "Closed" {
    transition "A side" { by user ann }
    transition B {
      when true
      require title
      validate count > 0 else "count {count}"
      checklist "c"
      note required
      then set count = 0
    }
    then notify owner "both done"
  }
  sla "Waiting" within 2h {
    when count > 1
    then notify assignee "late {title}"
  }
  sla Open within 30m { }
  migrate "Old" to "Open"
  migrate Gone to "Closed"
}

test "every statement" {
  clock 2026-01-05T09:00:00Z
  as ann
  create Tickets as t { title = "T", due = 2026-03-11 }
  request Support.Requests as r { subject = "S" }
  update t { count = 3 }
  update { count = 4 }
  transition Start on t with { title = "x" } checklist "One", "Two" note "done"
  transition "Any"
  expect count == 3 and title == "T"
  expect t.title == "T"
  expect state == "Open"
  expect refused Start on t with { count = 1 } checklist "One" note "n" "refused text"
  expect refused "Any"
  expect notified ann "Hi"
  expect notified bob
  expect assigned ann
  expect webhook "http://127.0.0.1:9000/x"
  expect state "Waiting"
  advance 2h
  advance 1w
  expect count is empty
}

test unquoted_name { as bob }
)flow";

} // namespace teamflow::dsl::samples
