-- +goose Up
-- A bulk transaction (signpost.bulk set: an import, or an operator's silent
-- change) bumps the link-set version once, not once per row: PostgreSQL
-- keeps every version of the one counter row a transaction updates, and
-- each update walked all of them, so an import of n links cost O(n^2)
-- (50k links: 30 s, 100k: 113 s). The counter still moves, so replicas
-- still resync after it; a single write still bumps it by one.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION signpost_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bulk text := coalesce(current_setting('signpost.bulk', true), '');
BEGIN
    IF bulk <> '' THEN
        IF bulk <> 'bumped' THEN
            UPDATE link_set_version SET version = version + 1 WHERE id = 1;
            PERFORM set_config('signpost.bulk', 'bumped', true);
        END IF;
        RETURN NULL;
    END IF;
    UPDATE link_set_version SET version = version + 1 WHERE id = 1;
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

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION signpost_link_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
