-- +goose Up
-- Personal API tokens. Only the SHA-256 of each secret is kept.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,          -- public: names the token in lists and DELETE
    owner        TEXT NOT NULL,             -- the user it acts as
    groups       TEXT NOT NULL DEFAULT '[]', -- the owner's groups when it was made (JSON array)
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,             -- space-separated: links:read links:write admin
    hash         BLOB NOT NULL,             -- SHA-256 of the secret
    created_at   INTEGER NOT NULL,          -- unix microseconds
    last_used_at INTEGER,                   -- NULL when never used; written at most once a minute
    expires_at   INTEGER                    -- NULL when it never expires
);
CREATE INDEX api_tokens_by_owner ON api_tokens (owner, created_at DESC);

-- +goose Down
DROP TABLE api_tokens;
