-- +goose Up
-- A link may be an alias of another: alias_of holds the target's ID (so
-- that a rename of the target needs no change of its aliases), NULL for a
-- link with a URL of its own. The store checks, in the writing transaction
-- with the target's row locked, that the target exists and is no alias
-- itself, and refuses to delete a target while aliases lead to it; the
-- foreign key holds that line for any other writer too.
ALTER TABLE links ADD COLUMN alias_of BIGINT REFERENCES links (id);
CREATE INDEX links_aliases ON links (alias_of) WHERE alias_of IS NOT NULL;

-- +goose Down
DROP INDEX links_aliases;
ALTER TABLE links DROP COLUMN alias_of;
