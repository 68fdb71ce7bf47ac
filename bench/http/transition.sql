-- pgbench script for bench/http-bench: the SQL one `POST .../transitions/Cycle` issues with the
-- PostgreSQL store, on a random seeded record: the route's read of the record (the engine starts
-- from it), the transaction (record UPDATE, history INSERT, timer DELETE: the store sends them as
-- one statement, here they are the plain statements in BEGIN … END), and the lookup of the new
-- history entry's id for the answer. Values are the ones the store sends for this blueprint;
-- `version = version` keeps every UPDATE matching.
-- Left out: the outbox dispatcher's wake-up claim after each write (background work).
\set id random(:min_id, :max_id)
SELECT module, version, owner, created_by, requester, assignee, created_at, updated_at, governed, deleted, state_version, state_entered_at, parallel_done::text, fields::text FROM records WHERE id = :id AND NOT deleted;
BEGIN;
UPDATE records SET module = 'Tickets', version = version + 1, owner = 'bench', created_by = 'bench', requester = '', assignee = '', created_at = created_at, updated_at = updated_at + 1, governed = true, deleted = false, state = 'Doing', state_version = version + 1, state_entered_at = updated_at, parallel_done = '[]'::jsonb, fields = '{"stage": "Doing", "title": "bench ticket"}'::jsonb WHERE id = :id AND version = version;
INSERT INTO history (record, module, kind, name, from_state, to_state, by_user, at, version, note, reason, changes, checklist) VALUES (:id, 'Tickets', 'transition', 'Cycle', 'Open', 'Doing', 'bench', 1795595751, 2, '', '', '[]'::jsonb, '[]'::jsonb);
DELETE FROM timers WHERE record = :id;
END;
SELECT id FROM history WHERE record = :id AND version = 2 ORDER BY id DESC LIMIT 1;
