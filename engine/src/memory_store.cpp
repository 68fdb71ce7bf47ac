#include "teamflow/engine/memory_store.hpp"

#include "codec.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace teamflow::engine {

std::string_view history_kind_name(HistoryKind kind) {
    switch (kind) {
    case HistoryKind::Created: return "created";
    case HistoryKind::Updated: return "updated";
    case HistoryKind::Transition: return "transition";
    case HistoryKind::ParallelStep: return "parallel-step";
    case HistoryKind::Automatic: return "automatic";
    case HistoryKind::Sla: return "sla";
    case HistoryKind::Moved: return "moved";
    case HistoryKind::Deleted: return "deleted";
    }
    return "created";
}

namespace {

// Min-heap order on (due, seq).
bool heap_after(const auto& a, const auto& b) {
    return a.due != b.due ? a.due > b.due : a.seq > b.seq;
}

std::int64_t timer_id(std::uint32_t index, std::uint32_t generation) {
    return (static_cast<std::int64_t>(generation) << 32) | (static_cast<std::int64_t>(index) + 1);
}

} // namespace

MemoryStore::MemoryStore() = default;

MemoryStore::Slot* MemoryStore::slot(RecordId id) {
    if (id <= 0 || static_cast<std::size_t>(id) > slots_.size()) {
        return nullptr;
    }
    return &slots_[static_cast<std::size_t>(id - 1)];
}

const MemoryStore::Slot* MemoryStore::slot(RecordId id) const {
    if (id <= 0 || static_cast<std::size_t>(id) > slots_.size()) {
        return nullptr;
    }
    return &slots_[static_cast<std::size_t>(id - 1)];
}

std::string MemoryStore::unique_key(std::uint32_t module, std::uint32_t field,
                                    std::string_view key) {
    return fmt::format("{}:{}:{}", module, field, key);
}

bool MemoryStore::read_record(RecordId id, Record& out) const {
    std::lock_guard lock(mu_);
    const Slot* s = slot(id);
    if (s == nullptr || !s->live) {
        return false;
    }
    out = s->record;
    return true;
}

bool MemoryStore::read_member(RecordId id, std::int32_t member, Cell& out) const {
    std::lock_guard lock(mu_);
    const Slot* s = slot(id);
    if (s == nullptr || !s->live) {
        return false;
    }
    if (member < 0) {
        out.assign(s->record.builtin(static_cast<Builtin>(-member - 1)));
        return true;
    }
    if (static_cast<std::size_t>(member) >= s->record.fields.size()) {
        return false;
    }
    out = s->record.fields[static_cast<std::size_t>(member)];
    return true;
}

RecordId MemoryStore::allocate_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

void MemoryStore::kill_timer(std::uint32_t index) {
    TimerSlot& t = timer_pool_[index];
    if (!t.alive) {
        return;
    }
    t.alive = false;
    ++t.generation;
    timer_free_.push_back(index);
    --live_timers_;
    if (Slot* s = slot(t.timer.record)) {
        auto& v = s->timers;
        v.erase(std::remove(v.begin(), v.end(), index), v.end());
    }
}

void MemoryStore::compact_heap() {
    std::vector<HeapItem> live;
    live.reserve(live_timers_);
    for (const HeapItem& h : heap_) {
        const TimerSlot& t = timer_pool_[h.index];
        if (t.alive && t.generation == h.generation) {
            live.push_back(h);
        }
    }
    heap_ = std::move(live);
    std::make_heap(heap_.begin(), heap_.end(),
                   [](const HeapItem& a, const HeapItem& b) { return heap_after(a, b); });
}

Status MemoryStore::commit(const ChangeSet& cs) {
    std::lock_guard lock(mu_);
    return commit_locked(cs, nullptr);
}

Status MemoryStore::commit_and_take(ChangeSet& cs) {
    std::lock_guard lock(mu_);
    return commit_locked(cs, &cs);
}

Status MemoryStore::commit_locked(const ChangeSet& cs, ChangeSet* take) {
    // Check everything first: nothing is applied unless all of it can be.
    for (const RecordWrite& w : cs.writes) {
        const Slot* s = slot(w.record.id);
        if (w.expected_version == 0) {
            if (s != nullptr && s->live) {
                return make_error(ErrorCode::Conflict,
                                  fmt::format("record {} already exists", w.record.id));
            }
        } else if (s == nullptr || !s->live) {
            return make_error(ErrorCode::NotFound, fmt::format("no record {}", w.record.id));
        } else if (s->record.version != w.expected_version) {
            return make_error(ErrorCode::Conflict,
                              fmt::format("record {} is at version {}, not {}", w.record.id,
                                          s->record.version, w.expected_version));
        }
    }
    for (const CursorUpdate& c : cs.cursors) {
        const auto it = cursors_.find(c.key);
        const std::int64_t current = it == cursors_.end() ? 0 : it->second;
        if (current != c.expected) {
            return make_error(ErrorCode::Conflict, fmt::format("cursor {} moved", c.key));
        }
    }
    for (std::int64_t id : cs.timers_done) {
        const auto index = static_cast<std::uint32_t>((id & 0xFFFFFFFF) - 1);
        const auto generation = static_cast<std::uint32_t>(id >> 32);
        if (index >= timer_pool_.size() || timer_pool_[index].generation != generation ||
            !timer_pool_[index].alive) {
            return make_error(ErrorCode::Conflict,
                              fmt::format("timer {} is no longer pending", id));
        }
    }
    for (const UniqueKey& k : cs.claims) {
        const auto it = unique_.find(unique_key(k.module, k.field, k.key));
        if (it != unique_.end() && it->second != k.record) {
            const bool released =
                std::any_of(cs.releases.begin(), cs.releases.end(), [&](const UniqueKey& r) {
                    return r.module == k.module && r.field == k.field && r.key == k.key;
                });
            if (!released) {
                return make_error(ErrorCode::NotUnique,
                                  fmt::format("\"{}\" is already taken", k.key));
            }
        }
    }
    if (cs.publish) {
        const std::int64_t latest = versions_.empty() ? 0 : versions_.back().version;
        if (cs.publish->version != latest + 1) {
            return make_error(ErrorCode::Conflict,
                              fmt::format("definitions are at version {}, not {}", latest,
                                          cs.publish->version - 1));
        }
    }
    // Apply.
    if (cs.publish) {
        versions_.push_back(*cs.publish);
        if (cs.publish_defs) {
            rebind(cs.publish_defs);
        }
    }
    for (std::size_t k = 0; k < cs.writes.size(); ++k) {
        const RecordWrite& w = cs.writes[k];
        const auto index = static_cast<std::size_t>(w.record.id - 1);
        if (index >= slots_.size()) {
            slots_.resize(std::max(index + 1, slots_.size() * 2));
        }
        Slot& s = slots_[index];
        if (!s.live) {
            if (w.record.module >= by_module_.size()) {
                by_module_.resize(w.record.module + 1);
            }
            auto& ids = by_module_[w.record.module];
            ids.insert(std::upper_bound(ids.begin(), ids.end(), w.record.id), w.record.id);
        }
        s.live = !w.record.deleted;
        if (take != nullptr) {
            std::swap(s.record, take->writes[k].record); // `w` is not read after this
            if (s.record.fields.capacity() > s.record.fields.size()) {
                // Buffers circulate between modules: keep no spare cells per stored record.
                s.record.fields.shrink_to_fit();
            }
        } else {
            s.record = w.record;
        }
    }
    for (const UniqueKey& k : cs.releases) {
        const auto it = unique_.find(unique_key(k.module, k.field, k.key));
        if (it != unique_.end() && it->second == k.record) {
            unique_.erase(it);
        }
    }
    for (const UniqueKey& k : cs.claims) {
        unique_[unique_key(k.module, k.field, k.key)] = k.record;
    }
    // History and outbox rows are copied even when taking: the copies are sized to fit (short
    // names stay inline) and the change set keeps its buffers for the next operation.
    for (const HistoryEntry& h : cs.history) {
        if (Slot* s = slot(h.record)) {
            history_.push_back(h);
            history_.back().id = next_history_id_++;
            history_prev_.push_back(s->last_history);
            s->last_history = static_cast<std::int64_t>(history_.size()) - 1;
        }
    }
    for (const OutboxRow& o : cs.outbox) {
        outbox_.push_back(o);
        outbox_.back().id = next_outbox_id_++;
    }
    for (RecordId r : cs.timers_cancel) {
        if (Slot* s = slot(r)) {
            // `kill_timer` edits `s->timers`: go through a copy (in a reused buffer).
            cancel_scratch_.assign(s->timers.begin(), s->timers.end());
            for (std::uint32_t t : cancel_scratch_) {
                kill_timer(t);
            }
        }
    }
    for (std::int64_t id : cs.timers_done) {
        const auto index = static_cast<std::uint32_t>((id & 0xFFFFFFFF) - 1);
        const auto generation = static_cast<std::uint32_t>(id >> 32);
        if (index < timer_pool_.size() && timer_pool_[index].generation == generation) {
            kill_timer(index);
        }
    }
    for (const Timer& t : cs.timers_add) {
        std::uint32_t index = 0;
        if (!timer_free_.empty()) {
            index = timer_free_.back();
            timer_free_.pop_back();
        } else {
            index = static_cast<std::uint32_t>(timer_pool_.size());
            timer_pool_.emplace_back();
        }
        TimerSlot& ts = timer_pool_[index];
        ts.timer = t;
        ts.claimed_until = 0;
        ts.timer.id = timer_id(index, ts.generation);
        ts.alive = true;
        ++live_timers_;
        heap_.push_back({t.due, timer_seq_++, index, ts.generation});
        std::push_heap(heap_.begin(), heap_.end(),
                       [](const HeapItem& a, const HeapItem& b) { return heap_after(a, b); });
        if (Slot* s = slot(t.record)) {
            s->timers.push_back(index);
        }
    }
    if (heap_.size() > 1024 && heap_.size() > 4 * live_timers_) {
        compact_heap();
    }
    for (const CursorUpdate& c : cs.cursors) {
        cursors_[c.key] = c.value;
    }
    return Ok{};
}

bool MemoryStore::unique_taken(std::uint32_t module, std::uint32_t field, std::string_view key,
                               RecordId except) const {
    std::lock_guard lock(mu_);
    const auto it = unique_.find(unique_key(module, field, key));
    return it != unique_.end() && it->second != except;
}

std::int64_t MemoryStore::cursor(std::string_view key) const {
    std::lock_guard lock(mu_);
    const auto it = cursors_.find(key);
    return it == cursors_.end() ? 0 : it->second;
}

Result<std::int64_t> MemoryStore::take_turn(std::string_view key) {
    std::lock_guard lock(mu_);
    auto it = cursors_.find(key);
    if (it == cursors_.end()) {
        it = cursors_.emplace(std::string(key), 0).first;
    }
    return it->second++;
}

std::int64_t MemoryStore::count_open_assigned(std::uint32_t module, UserId user,
                                              std::uint32_t state_field,
                                              const std::vector<std::uint8_t>& terminal) const {
    std::lock_guard lock(mu_);
    if (module >= by_module_.size()) {
        return 0;
    }
    std::int64_t n = 0;
    for (RecordId id : by_module_[module]) {
        const Slot* s = slot(id);
        if (s == nullptr || !s->live || s->record.assignee != user) {
            continue;
        }
        if (state_field < s->record.fields.size()) {
            const std::int32_t st = s->record.fields[state_field].aux;
            if (st >= 0 && static_cast<std::size_t>(st) < terminal.size() &&
                terminal[static_cast<std::size_t>(st)] != 0) {
                continue;
            }
        }
        ++n;
    }
    return n;
}

std::optional<Timer> MemoryStore::next_timer() const {
    std::lock_guard lock(mu_);
    // The heap may hold stale entries; find the earliest live one without popping.
    std::optional<Timer> best;
    std::int64_t best_seq = 0;
    for (const HeapItem& h : heap_) {
        const TimerSlot& t = timer_pool_[h.index];
        if (!t.alive || t.generation != h.generation) {
            continue;
        }
        if (!best || h.due < best->due || (h.due == best->due && h.seq < best_seq)) {
            best = t.timer;
            best_seq = h.seq;
        }
    }
    return best;
}

std::vector<Timer> MemoryStore::due_timers(std::int64_t now, std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::int64_t, const Timer*>> due;
    for (const HeapItem& h : heap_) {
        const TimerSlot& t = timer_pool_[h.index];
        if (t.alive && t.generation == h.generation && h.due <= now) {
            due.emplace_back(h.seq, &t.timer);
        }
    }
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
        return a.second->due != b.second->due ? a.second->due < b.second->due : a.first < b.first;
    });
    std::vector<Timer> out;
    for (std::size_t k = 0; k < due.size() && k < limit; ++k) {
        out.push_back(*due[k].second);
    }
    return out;
}

std::vector<Timer> MemoryStore::claim_due_timers(std::int64_t now, std::size_t limit,
                                                 std::int64_t lease) {
    std::lock_guard lock(mu_);
    std::vector<std::pair<std::int64_t, TimerSlot*>> due;
    for (const HeapItem& h : heap_) {
        TimerSlot& t = timer_pool_[h.index];
        if (t.alive && t.generation == h.generation && h.due <= now && t.claimed_until <= now) {
            due.emplace_back(h.seq, &t);
        }
    }
    std::sort(due.begin(), due.end(), [](const auto& a, const auto& b) {
        return a.second->timer.due != b.second->timer.due
                   ? a.second->timer.due < b.second->timer.due
                   : a.first < b.first;
    });
    std::vector<Timer> out;
    for (std::size_t k = 0; k < due.size() && k < limit; ++k) {
        due[k].second->claimed_until = now + lease;
        out.push_back(due[k].second->timer);
    }
    return out;
}

std::vector<Timer> MemoryStore::timers_of(RecordId record) const {
    std::lock_guard lock(mu_);
    std::vector<Timer> out;
    if (const Slot* s = slot(record)) {
        for (std::uint32_t t : s->timers) {
            out.push_back(timer_pool_[t].timer);
        }
    }
    return out;
}

std::vector<HistoryEntry> MemoryStore::history(RecordId record) const {
    std::lock_guard lock(mu_);
    std::vector<HistoryEntry> out;
    const Slot* s = slot(record);
    for (std::int64_t k = s == nullptr ? -1 : s->last_history; k >= 0;
         k = history_prev_[static_cast<std::size_t>(k)]) {
        out.push_back(history_[static_cast<std::size_t>(k)]);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<OutboxRow> MemoryStore::outbox(std::optional<OutboxStatus> status) const {
    std::lock_guard lock(mu_);
    std::vector<OutboxRow> out;
    for (const OutboxRow& o : outbox_) {
        if (!status || o.status == *status) {
            out.push_back(o);
        }
    }
    return out;
}

std::vector<OutboxRow> MemoryStore::notifications(UserId user) const {
    std::lock_guard lock(mu_);
    std::vector<OutboxRow> out;
    for (auto it = outbox_.rbegin(); it != outbox_.rend(); ++it) {
        if (it->kind == OutboxKind::Notification && it->user == user) {
            out.push_back(*it);
        }
    }
    return out;
}

Status MemoryStore::mark_outbox(std::int64_t id, OutboxStatus status, std::string error) {
    std::lock_guard lock(mu_);
    for (OutboxRow& o : outbox_) {
        if (o.id == id) {
            o.status = status;
            ++o.attempts;
            o.last_error = std::move(error);
            return Ok{};
        }
    }
    return make_error(ErrorCode::NotFound, fmt::format("no outbox row {}", id));
}

// --- several nodes: outbox claims and counts (additive) ------------------------------------

std::vector<OutboxRow> MemoryStore::claim_outbox(std::int64_t now_ms, std::size_t limit,
                                                 std::int64_t lease_ms) {
    std::lock_guard lock(mu_);
    std::vector<OutboxRow> out;
    for (const OutboxRow& o : outbox_) {
        if (out.size() >= limit) {
            break;
        }
        if (o.status != OutboxStatus::Pending) {
            continue;
        }
        OutboxSchedule& when = outbox_schedule_[o.id];
        if (when.next_attempt_at <= now_ms && when.claimed_until <= now_ms) {
            when.claimed_until = now_ms + lease_ms;
            out.push_back(o);
        }
    }
    return out;
}

Status MemoryStore::record_outbox_attempt(std::int64_t id, OutboxStatus status, std::string error,
                                          std::int64_t next_attempt_ms) {
    std::lock_guard lock(mu_);
    for (OutboxRow& o : outbox_) {
        if (o.id != id) {
            continue;
        }
        if (o.status != OutboxStatus::Pending) {
            return make_error(ErrorCode::Conflict,
                              fmt::format("outbox row {} is no longer pending", id));
        }
        o.status = status;
        ++o.attempts;
        o.last_error = std::move(error);
        if (status == OutboxStatus::Pending) {
            outbox_schedule_[id] = OutboxSchedule{next_attempt_ms, 0};
        } else {
            outbox_schedule_.erase(id);
        }
        return Ok{};
    }
    return make_error(ErrorCode::NotFound, fmt::format("no outbox row {}", id));
}

std::int64_t MemoryStore::count_outbox(OutboxStatus status) const {
    std::lock_guard lock(mu_);
    return static_cast<std::int64_t>(std::count_if(
        outbox_.begin(), outbox_.end(), [&](const OutboxRow& o) { return o.status == status; }));
}

std::int64_t MemoryStore::count_due_timers(std::int64_t now) const {
    std::lock_guard lock(mu_);
    std::int64_t n = 0;
    for (const TimerSlot& t : timer_pool_) {
        n += t.alive && t.timer.due <= now ? 1 : 0;
    }
    return n;
}

std::vector<RecordId> MemoryStore::list(std::uint32_t module, RecordId after,
                                        std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<RecordId> out;
    if (module >= by_module_.size()) {
        return out;
    }
    const auto& ids = by_module_[module];
    for (auto it = std::upper_bound(ids.begin(), ids.end(), after);
         it != ids.end() && out.size() < limit; ++it) {
        const Slot* s = slot(*it);
        if (s != nullptr && s->live) {
            out.push_back(*it);
        }
    }
    return out;
}

std::vector<RecordId> MemoryStore::requested_by(UserId user) const {
    std::lock_guard lock(mu_);
    std::vector<RecordId> out;
    for (const Slot& s : slots_) {
        if (s.live && s.record.requester == user) {
            out.push_back(s.record.id);
        }
    }
    return out;
}

std::vector<RecordId> MemoryStore::assigned_to(UserId user) const {
    std::lock_guard lock(mu_);
    std::vector<RecordId> out;
    for (const Slot& s : slots_) {
        if (s.live && s.record.assignee == user) {
            out.push_back(s.record.id);
        }
    }
    return out;
}

std::optional<StoredResponse> MemoryStore::recall(std::string_view key) const {
    std::lock_guard lock(mu_);
    const auto it = idempotency_.find(std::string(key));
    if (it == idempotency_.end()) {
        return std::nullopt;
    }
    return it->second;
}

void MemoryStore::remember(std::string_view key, StoredResponse response) {
    std::lock_guard lock(mu_);
    idempotency_.emplace(std::string(key), std::move(response));
}

std::size_t MemoryStore::record_count() const {
    std::lock_guard lock(mu_);
    return static_cast<std::size_t>(
        std::count_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.live; }));
}

std::size_t MemoryStore::record_bytes() const {
    std::lock_guard lock(mu_);
    std::size_t bytes = slots_.capacity() * sizeof(Slot);
    for (const Slot& s : slots_) {
        bytes += s.record.fields.capacity() * sizeof(Cell);
        for (const Cell& c : s.record.fields) {
            if (c.s.capacity() > 15) {
                bytes += c.s.capacity() + 1;
            }
        }
        bytes += s.timers.capacity() * sizeof(std::uint32_t);
    }
    for (const auto& m : by_module_) {
        bytes += m.capacity() * sizeof(RecordId);
    }
    bytes += timer_pool_.capacity() * sizeof(TimerSlot) + heap_.capacity() * sizeof(HeapItem);
    return bytes;
}

std::size_t MemoryStore::history_bytes() const {
    std::lock_guard lock(mu_);
    std::size_t bytes = history_.size() * (sizeof(HistoryEntry) + sizeof(std::int64_t));
    for (const HistoryEntry& h : history_) {
        bytes += h.changes.capacity() * sizeof(FieldChange);
        bytes += h.checklist.capacity() * sizeof(std::string);
        if (h.name.capacity() > 15) {
            bytes += h.name.capacity() + 1;
        }
    }
    return bytes;
}

void MemoryStore::bind(std::shared_ptr<const Definitions> defs) {
    std::lock_guard lock(mu_);
    rebind(std::move(defs));
}

void MemoryStore::rebind(std::shared_ptr<const Definitions> defs) {
    if (!defs || defs == bound_) {
        return;
    }
    std::shared_ptr<const Definitions> old = std::exchange(bound_, std::move(defs));
    if (!old) {
        return;
    }
    const Definitions& from = *old;
    const Definitions& to = *bound_;
    std::vector<std::vector<RecordId>> by_module(to.modules.size());
    for (Slot& s : slots_) {
        if (s.record.id == 0) {
            continue;
        }
        if (!codec::remap_record(from, to, s.record)) {
            s.live = false;
            continue;
        }
        if (s.live) {
            by_module[s.record.module].push_back(s.record.id);
        }
    }
    by_module_ = std::move(by_module);
    for (HistoryEntry& h : history_) {
        codec::remap_history(from, to, h);
        if (h.transition != npos32) {
            // The index follows the name into the new version (npos32 when it is gone).
            const BlueprintDef* bp = h.module < to.modules.size() ? to.blueprint_of(h.module)
                                                                  : nullptr;
            h.transition = bp == nullptr ? npos32 : bp->find_transition(h.name);
        }
    }
    for (OutboxRow& o : outbox_) {
        const std::uint32_t m = codec::remap_module(from, to, o.module);
        o.module = m == npos32 ? 0 : m;
        o.user = codec::remap_user(from, to, o.user);
    }
    for (std::uint32_t k = 0; k < timer_pool_.size(); ++k) {
        if (timer_pool_[k].alive && !codec::remap_timer(from, to, timer_pool_[k].timer)) {
            kill_timer(k);
        }
    }
    std::unordered_map<std::string, RecordId> unique;
    for (auto& [key, record] : unique_) {
        // module:field:text
        const auto a = key.find(':');
        const auto b = key.find(':', a + 1);
        const auto module = static_cast<std::uint32_t>(std::stoul(key.substr(0, a)));
        const auto field = static_cast<std::uint32_t>(std::stoul(key.substr(a + 1, b - a - 1)));
        const std::uint32_t m = codec::remap_module(from, to, module);
        if (m == npos32 || field >= from.modules[module].fields.size()) {
            continue;
        }
        const std::uint32_t f = to.modules[m].find_field(from.modules[module].fields[field].name);
        if (f != npos32) {
            unique.emplace(unique_key(m, f, std::string_view(key).substr(b + 1)), record);
        }
    }
    unique_ = std::move(unique);
}

std::optional<DefinitionsVersion> MemoryStore::latest_definitions() const {
    std::lock_guard lock(mu_);
    if (versions_.empty()) {
        return std::nullopt;
    }
    return versions_.back();
}

std::vector<DefinitionsVersion> MemoryStore::definitions_versions() const {
    std::lock_guard lock(mu_);
    std::vector<DefinitionsVersion> out;
    for (auto it = versions_.rbegin(); it != versions_.rend(); ++it) {
        DefinitionsVersion& v = out.emplace_back();
        v.version = it->version;
        v.published_by = it->published_by;
        v.published_at = it->published_at;
        v.summary = it->summary;
    }
    return out;
}

// Paged reads.

std::vector<HistoryEntry> MemoryStore::history_page(RecordId record, std::int64_t after,
                                                    std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<std::size_t> newer; // entries past `after`, newest first
    const Slot* s = slot(record);
    for (std::int64_t k = s == nullptr ? -1 : s->last_history; k >= 0;
         k = history_prev_[static_cast<std::size_t>(k)]) {
        if (history_[static_cast<std::size_t>(k)].id <= after) {
            break;
        }
        newer.push_back(static_cast<std::size_t>(k));
    }
    std::vector<HistoryEntry> out;
    for (auto it = newer.rbegin(); it != newer.rend() && out.size() < limit; ++it) {
        out.push_back(history_[*it]);
    }
    return out;
}

std::vector<OutboxRow> MemoryStore::outbox_page(std::optional<OutboxKind> kind,
                                                std::optional<OutboxStatus> status,
                                                std::int64_t after, std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<OutboxRow> out;
    auto it = std::upper_bound(outbox_.begin(), outbox_.end(), after,
                               [](std::int64_t id, const OutboxRow& o) { return id < o.id; });
    for (; it != outbox_.end() && out.size() < limit; ++it) {
        if ((!kind || it->kind == *kind) && (!status || it->status == *status)) {
            out.push_back(*it);
        }
    }
    return out;
}

std::vector<OutboxRow> MemoryStore::notifications_page(UserId user, std::int64_t before,
                                                       std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<OutboxRow> out;
    auto end = before <= 0 ? outbox_.end()
                           : std::lower_bound(outbox_.begin(), outbox_.end(), before,
                                              [](const OutboxRow& o, std::int64_t id) {
                                                  return o.id < id;
                                              });
    for (auto it = std::make_reverse_iterator(end); it != outbox_.rend() && out.size() < limit;
         ++it) {
        if (it->kind == OutboxKind::Notification && it->user == user) {
            out.push_back(*it);
        }
    }
    return out;
}

std::vector<RecordId> MemoryStore::requested_by_page(UserId user, RecordId after,
                                                     std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<RecordId> out;
    for (std::size_t k = after > 0 ? static_cast<std::size_t>(after) : 0;
         k < slots_.size() && out.size() < limit; ++k) {
        if (slots_[k].live && slots_[k].record.requester == user) {
            out.push_back(slots_[k].record.id);
        }
    }
    return out;
}

std::vector<RecordId> MemoryStore::assigned_to_page(UserId user, RecordId after,
                                                    std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<RecordId> out;
    for (std::size_t k = after > 0 ? static_cast<std::size_t>(after) : 0;
         k < slots_.size() && out.size() < limit; ++k) {
        if (slots_[k].live && slots_[k].record.assignee == user) {
            out.push_back(slots_[k].record.id);
        }
    }
    return out;
}

std::vector<DefinitionsVersion> MemoryStore::definitions_versions_page(std::int64_t before,
                                                                       std::size_t limit) const {
    std::lock_guard lock(mu_);
    std::vector<DefinitionsVersion> out;
    for (auto it = versions_.rbegin(); it != versions_.rend() && out.size() < limit; ++it) {
        if (before > 0 && it->version >= before) {
            continue;
        }
        DefinitionsVersion& v = out.emplace_back();
        v.version = it->version;
        v.published_by = it->published_by;
        v.published_at = it->published_at;
        v.summary = it->summary;
    }
    return out;
}

} // namespace teamflow::engine
