-- +goose Up
-- Every link gets an ID that survives renames (a deleted link that is
-- restored gets it back), a version that every change increases (with the
-- ID, the link's ETag), and tags.
CREATE SEQUENCE link_ids;
ALTER TABLE links ADD COLUMN id BIGINT NOT NULL DEFAULT nextval('link_ids');
ALTER SEQUENCE link_ids OWNED BY links.id;
ALTER TABLE links ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE links ADD COLUMN tags TEXT NOT NULL DEFAULT ''; -- links.NormalizeTags: "a b c"
CREATE UNIQUE INDEX links_by_id ON links (id);

-- One row per change of a link, written in the changing transaction after
-- the link's row. Every change of a link also updates link_set_version
-- (its trigger), whose row lock serialises writers until they commit, so
-- seq follows commit order and an audit reader paging by seq misses
-- nothing. (Tags need no trigger of their own: every write of a link names
-- its key, name, url, description and owner too, which fires
-- links_changed.)
CREATE TABLE link_history (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- the audit log's cursor
    link_id    BIGINT NOT NULL,
    version    BIGINT NOT NULL,           -- the link's version after the change
    action     TEXT NOT NULL,             -- create, update, rename, delete, restore, import
    actor      TEXT NOT NULL DEFAULT '',
    at         TIMESTAMPTZ NOT NULL,
    key        TEXT COLLATE "C" NOT NULL, -- after the change (before it, for a delete)
    name       TEXT NOT NULL,
    old_values TEXT,                      -- JSON links.Values; NULL for a create
    new_values TEXT                       -- NULL for a delete
);
CREATE INDEX link_history_by_link ON link_history (link_id, seq);
CREATE INDEX link_history_by_at ON link_history (at);
CREATE INDEX link_history_deletes ON link_history (key, seq) WHERE action = 'delete';

-- +goose Down
DROP TABLE link_history;
DROP INDEX links_by_id;
ALTER TABLE links DROP COLUMN tags;
ALTER TABLE links DROP COLUMN version;
ALTER TABLE links DROP COLUMN id;
DROP SEQUENCE IF EXISTS link_ids;
