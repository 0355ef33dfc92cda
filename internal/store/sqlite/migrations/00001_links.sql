-- +goose Up
CREATE TABLE links (
    key             TEXT PRIMARY KEY,          -- links.Normalize(name): what lookups compare
    name            TEXT NOT NULL,             -- as typed
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    owner           TEXT NOT NULL DEFAULT '',
    clicks          INTEGER NOT NULL DEFAULT 0,
    last_clicked_at INTEGER,                   -- unix microseconds, NULL when never clicked
    created_at      INTEGER NOT NULL,          -- unix microseconds
    updated_at      INTEGER NOT NULL
);
CREATE INDEX links_by_clicks ON links (clicks DESC);
CREATE INDEX links_by_updated ON links (updated_at DESC);

-- A counter that every change of the link set (not clicks) increases.
CREATE TABLE link_set_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO link_set_version (id, version) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER links_version_insert AFTER INSERT ON links
BEGIN
    UPDATE link_set_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER links_version_delete AFTER DELETE ON links
BEGIN
    UPDATE link_set_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER links_version_update AFTER UPDATE OF key, name, url, description, owner ON links
BEGIN
    UPDATE link_set_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE link_set_version;
DROP TABLE links;
