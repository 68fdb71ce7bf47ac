// Publishing definitions versions: compile, find stranded records, migrate, commit, swap.

#include "codec.hpp"
#include "timers.hpp"
#include "teamflow/dsl/frontend.hpp"
#include "teamflow/engine/engine.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace teamflow::engine {

namespace {

/// Keeps a definition set (its sources) alive as long as the definitions compiled from it.
struct Compiled {
    std::shared_ptr<const dsl::DefinitionSet> set;
    std::shared_ptr<const Definitions> defs;
};

std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }


std::string summarize(const Definitions* old, const Definitions& next, std::size_t migrated) {
    std::vector<std::string> parts;
    if (old == nullptr) {
        parts.push_back(fmt::format("{} modules, {} blueprints", next.modules.size(),
                                    next.blueprints.size()));
    } else {
        for (const ModuleDef& m : next.modules) {
            if (old->find_module(m.name) == npos32) {
                parts.push_back("module " + m.name + " added");
            }
        }
        for (const ModuleDef& m : old->modules) {
            if (next.find_module(m.name) == npos32) {
                parts.push_back("module " + m.name + " removed");
            }
        }
        for (const BlueprintDef& b : next.blueprints) {
            const std::uint32_t o = old->find_blueprint(b.name);
            if (o == npos32) {
                parts.push_back("blueprint " + b.name + " added");
            } else if (old->blueprints[o].states != b.states ||
                       old->blueprints[o].transitions.size() != b.transitions.size()) {
                parts.push_back("blueprint " + b.name + " changed");
            }
        }
        for (const BlueprintDef& b : old->blueprints) {
            if (next.find_blueprint(b.name) == npos32) {
                parts.push_back("blueprint " + b.name + " removed");
            }
        }
    }
    if (migrated > 0) {
        parts.push_back(fmt::format("{} records migrated", migrated));
    }
    if (parts.empty()) {
        return "no structural change";
    }
    std::string out;
    for (const std::string& p : parts) {
        out += out.empty() ? "" : "; ";
        out += p;
    }
    return out;
}

} // namespace

Result<std::shared_ptr<const Definitions>> compile_version(const DefinitionsVersion& version,
                                                           PublishReport* report) {
    std::shared_ptr<const dsl::DefinitionSet> set = dsl::compile_sources(version.files);
    if (report != nullptr) {
        report->set = set;
    }
    if (!set->ok()) {
        Error e = make_error(ErrorCode::Invalid,
                             fmt::format("the definitions do not compile ({} errors)",
                                         set->diagnostics.error_count()));
        for (const dsl::Diagnostic& d : set->diagnostics.diagnostics()) {
            if (d.severity == dsl::Severity::Error) {
                e.add("", first_line(dsl::render_diagnostic(set->sources, d, false)));
            }
        }
        return e;
    }
    auto defs = compile_definitions(*set, version.version);
    if (!defs) {
        return std::move(defs.error());
    }
    auto holder = std::make_shared<Compiled>(Compiled{set, defs.value()});
    return std::shared_ptr<const Definitions>(holder, holder->defs.get());
}

Result<std::int64_t> Engine::load_latest() {
    const auto latest = store_.latest_definitions();
    if (!latest) {
        return std::int64_t{0};
    }
    auto defs = compile_version(*latest);
    if (!defs) {
        return std::move(defs.error());
    }
    set_definitions(defs.value());
    return latest->version;
}

Result<PublishOutcome> Engine::publish(const PublishRequest& request, PublishReport* report) {
    PublishReport local;
    PublishReport& rep = report != nullptr ? *report : local;
    for (int attempt = 0;; ++attempt) {
        const auto latest = store_.latest_definitions();
        const std::int64_t current = latest ? latest->version : 0;
        if (request.expected_version >= 0 && request.expected_version != current) {
            return make_error(ErrorCode::Conflict,
                              fmt::format("the definitions are at version {}, not {}", current,
                                          request.expected_version));
        }
        ChangeSet cs;
        DefinitionsVersion& v = cs.publish.emplace();
        v.version = current + 1;
        v.files = request.files;
        v.published_by = request.user;
        v.published_at = clock_.now();
        auto compiled = compile_version(v, &rep);
        if (!compiled) {
            return std::move(compiled.error());
        }
        const std::shared_ptr<const Definitions> next = compiled.value();
        const std::shared_ptr<const Definitions> old = definitions();
        const Definitions& o = *old;
        const Definitions& n = *next;
        const std::int64_t now = clock_.now();

        // Every record under the new definitions: stranded, migrated or fine.
        std::map<std::string, std::vector<RecordId>> stranded;
        struct Move {
            Record record;
            std::string from;
            std::uint32_t to = 0;
        };
        std::vector<Move> moves;
        Record r;
        for (std::uint32_t m = 0; m < o.modules.size(); ++m) {
            const ModuleDef& om = o.modules[m];
            const std::uint32_t nm = n.find_module(om.name);
            std::vector<std::uint32_t> added_required;
            if (nm != npos32) {
                const ModuleDef& mod = n.modules[nm];
                for (std::uint32_t f = 0; f < mod.fields.size(); ++f) {
                    const FieldDef& fd = mod.fields[f];
                    const std::uint32_t before = om.find_field(fd.name);
                    if (fd.required && fd.default_value.empty() &&
                        (before == npos32 || !om.fields[before].required)) {
                        added_required.push_back(f);
                    }
                }
            }
            const BlueprintDef* bp = nm == npos32 ? nullptr : n.blueprint_of(nm);
            RecordId after = 0;
            for (;;) {
                const std::vector<RecordId> ids = store_.list(m, after, 512);
                for (RecordId id : ids) {
                    after = id;
                    if (!store_.read_record(id, r)) {
                        continue;
                    }
                    if (nm == npos32) {
                        stranded[fmt::format("module {} removed", om.name)].push_back(id);
                        continue;
                    }
                    codec::remap_record(o, n, r);
                    bool ok = true;
                    for (std::uint32_t f : added_required) {
                        if (r.fields[f].empty()) {
                            stranded[fmt::format("required field {} of {} added without a default",
                                                 n.modules[nm].fields[f].name, om.name)]
                                .push_back(id);
                            ok = false;
                        }
                    }
                    if (bp == nullptr) {
                        continue;
                    }
                    const Cell& state = r.fields[bp->field];
                    if (state.empty() || state.aux >= 0) {
                        continue;
                    }
                    const auto mig = std::find_if(
                        bp->migrations.begin(), bp->migrations.end(),
                        [&](const auto& x) { return x.first == state.s; });
                    if (mig == bp->migrations.end()) {
                        stranded[fmt::format("state \"{}\" removed from blueprint {}", state.s,
                                             bp->name)]
                            .push_back(id);
                    } else if (ok) {
                        moves.push_back(Move{r, state.s, mig->second});
                    }
                }
                if (ids.size() < 512) {
                    break;
                }
            }
        }
        rep.stranded.clear();
        std::size_t count = 0;
        for (auto& [reason, ids] : stranded) {
            count += ids.size();
            rep.stranded.push_back(StrandedRecords{reason, ids});
        }
        if (count > 0) {
            Error e = make_error(ErrorCode::Invalid,
                                 fmt::format("publishing would strand {} record{}", count,
                                             count == 1 ? "" : "s"));
            for (const StrandedRecords& s : rep.stranded) {
                std::string ids;
                for (std::size_t k = 0; k < s.records.size() && k < 20; ++k) {
                    ids += fmt::format("{}{}", k == 0 ? "" : ", ", s.records[k]);
                }
                if (s.records.size() > 20) {
                    ids += ", …";
                }
                e.add("", fmt::format("{}: {} record{} ({})", s.reason, s.records.size(),
                                      s.records.size() == 1 ? "" : "s", ids));
            }
            return e;
        }

        // Migrations, in the same commit as the version row.
        const UserId by = n.find_user(request.user);
        PublishOutcome outcome;
        for (Move& mv : moves) {
            Record& rec = mv.record;
            const std::uint32_t b = n.modules[rec.module].blueprint;
            const BlueprintDef& bp = n.blueprints[b];
            const std::int64_t expected = rec.version;
            rec.version = expected + 1;
            rec.updated_at = now;
            Cell& c = rec.fields[bp.field];
            c.kind = ValueKind::Text;
            c.i = 0;
            c.s = bp.states[mv.to];
            c.aux = static_cast<std::int32_t>(mv.to);
            rec.parallel_done = 0;
            rec.state_version = rec.version;
            rec.state_entered_at = now;
            cs.timers_cancel.push_back(rec.id);
            if (rec.governed) {
                schedule_state_timers(cs, bp, b, rec, mv.to, now);
            }
            HistoryEntry& h = cs.history.add();
            h.record = rec.id;
            h.module = rec.module;
            h.kind = HistoryKind::Moved;
            h.name = "migrate";
            h.to = static_cast<std::int32_t>(mv.to);
            h.by = by == npos32 ? no_user : by;
            h.at = now;
            h.version = rec.version;
            h.reason = fmt::format("migrate \"{}\" to \"{}\" (definitions version {})", mv.from,
                                   bp.states[mv.to], v.version);
            RecordWrite& w = cs.writes.add();
            w.record = rec;
            w.expected_version = expected;
            outcome.migrated.push_back(rec.id);
        }
        v.summary = request.summary.empty() ? summarize(latest ? &o : nullptr, n, moves.size())
                                            : request.summary;
        cs.publish_defs = next;
        Status c = store_.commit(cs);
        if (!c) {
            if (c.error().code == ErrorCode::Conflict && attempt < options_.conflict_retries) {
                continue;
            }
            return std::move(c.error());
        }
        set_definitions(next);
        outcome.version = v.version;
        outcome.definitions = next;
        return outcome;
    }
}

} // namespace teamflow::engine
