-- +goose Up
CREATE TABLE links (
    key             TEXT COLLATE "C" PRIMARY KEY, -- links.Normalize(name); "C": byte order, as on SQLite
    name            TEXT NOT NULL,                -- as typed
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    owner           TEXT NOT NULL DEFAULT '',
    clicks          BIGINT NOT NULL DEFAULT 0,
    last_clicked_at TIMESTAMPTZ,                  -- NULL when never clicked
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX links_by_clicks ON links (clicks DESC);
CREATE INDEX links_by_updated ON links (updated_at DESC);

-- A counter that every change of the link set (not clicks) increases, in
-- the changing transaction: a replica that reads version v and then the
-- links sees at least every change up to v.
CREATE TABLE link_set_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO link_set_version (id, version) VALUES (1, 0);

-- Every change bumps the counter and tells the listening replicas which key
-- changed (both keys for a rename), on channel signpost_links. NOTIFY is
-- transactional: it is delivered on commit and dropped on rollback.
-- A bulk writer (Import) sets signpost.bulk for its transaction and sends
-- one empty payload instead, which means "resync everything"; so does a key
-- too long for a payload (the limit is 8000 bytes).
-- +goose StatementBegin
CREATE FUNCTION signpost_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE link_set_version SET version = version + 1 WHERE id = 1;
    IF coalesce(current_setting('signpost.bulk', true), '') <> '' THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' OR TG_OP = 'DELETE' THEN
        PERFORM pg_notify('signpost_links', CASE WHEN octet_length(OLD.key) < 7000 THEN OLD.key ELSE '' END);
    END IF;
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('signpost_links', CASE WHEN octet_length(NEW.key) < 7000 THEN NEW.key ELSE '' END);
    ELSIF TG_OP = 'UPDATE' THEN
        IF NEW.key <> OLD.key THEN
            PERFORM pg_notify('signpost_links', CASE WHEN octet_length(NEW.key) < 7000 THEN NEW.key ELSE '' END);
        END IF;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Clicks (clicks, last_clicked_at) are not part of the link set: updates of
-- those columns alone fire nothing.
CREATE TRIGGER links_changed
    AFTER INSERT OR DELETE OR UPDATE OF key, name, url, description, owner ON links
    FOR EACH ROW EXECUTE FUNCTION signpost_link_changed();

-- +goose Down
DROP TRIGGER links_changed ON links;
DROP FUNCTION signpost_link_changed();
DROP TABLE link_set_version;
DROP TABLE links;
