-- +goose Up
-- Every link gets an ID that survives renames (a deleted link that is
-- restored gets it back), a version that every change increases (with the
-- ID, the link's ETag), and tags.
ALTER TABLE links ADD COLUMN id INTEGER;
ALTER TABLE links ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE links ADD COLUMN tags TEXT NOT NULL DEFAULT ''; -- links.NormalizeTags: "a b c"
UPDATE links SET id = rowid;
CREATE UNIQUE INDEX links_by_id ON links (id);

-- The last ID given out; IDs are never reused, so a history entry names
-- one link for good.
CREATE TABLE link_ids (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    last INTEGER NOT NULL
);
INSERT INTO link_ids (id, last) SELECT 1, coalesce(max(id), 0) FROM links;

-- A row inserted without an ID (by a binary from before this migration,
-- after a rollback, or by hand) gets the next one, as PostgreSQL's column
-- default gives it there: no link is unreadable for lacking one.
-- +goose StatementBegin
CREATE TRIGGER links_id_insert AFTER INSERT ON links WHEN NEW.id IS NULL
BEGIN
    UPDATE link_ids SET last = last + 1 WHERE id = 1;
    UPDATE links SET id = (SELECT last FROM link_ids WHERE id = 1) WHERE rowid = NEW.rowid;
END;
-- +goose StatementEnd

-- One row per change of a link, written in the changing transaction.
-- (Tags need no trigger of their own: every write of a link names its key,
-- name, url, description and owner too, which fires the change triggers.)
CREATE TABLE link_history (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: the audit log's cursor
    link_id    INTEGER NOT NULL,
    version    INTEGER NOT NULL,                  -- the link's version after the change
    action     TEXT NOT NULL,                     -- create, update, rename, delete, restore, import
    actor      TEXT NOT NULL DEFAULT '',
    at         INTEGER NOT NULL,                  -- unix microseconds
    key        TEXT NOT NULL,                     -- after the change (before it, for a delete)
    name       TEXT NOT NULL,
    old_values TEXT,                              -- JSON links.Values; NULL for a create
    new_values TEXT                               -- NULL for a delete
);
CREATE INDEX link_history_by_link ON link_history (link_id, seq);
CREATE INDEX link_history_by_at ON link_history (at);
CREATE INDEX link_history_deletes ON link_history (key, seq) WHERE action = 'delete';

-- +goose Down
DROP TRIGGER links_id_insert;
DROP TABLE link_history;
DROP TABLE link_ids;
DROP INDEX links_by_id;
ALTER TABLE links DROP COLUMN tags;
ALTER TABLE links DROP COLUMN version;
ALTER TABLE links DROP COLUMN id;
