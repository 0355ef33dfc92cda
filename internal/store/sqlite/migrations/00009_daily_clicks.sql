-- +goose Up
-- Clicks per link and UTC day: the trends (the link page's chart,
-- /api/v1/links/{name}/stats, the directory's 30-day sort). The click
-- flusher adds to them in the transaction that adds to the totals; days
-- older than CLICK_HISTORY_DAYS are pruned. Keyed by the link's ID, which
-- survives renames; no foreign key, so that a deleted link that is
-- restored (with its ID) gets its days back, until they are pruned.
CREATE TABLE link_clicks_daily (
    link_id INTEGER NOT NULL,
    day     INTEGER NOT NULL, -- UTC days since 1970-01-01 (links.Day)
    clicks  INTEGER NOT NULL,
    PRIMARY KEY (link_id, day)
) WITHOUT ROWID;
CREATE INDEX link_clicks_daily_by_day ON link_clicks_daily (day);

-- +goose Down
DROP TABLE link_clicks_daily;
