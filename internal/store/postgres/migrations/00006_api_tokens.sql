-- +goose Up
-- Personal API tokens. Only the SHA-256 of each secret is kept. Tokens are
-- not part of the link set: no trigger, no notification.
CREATE TABLE api_tokens (
    id           TEXT COLLATE "C" PRIMARY KEY, -- public: names the token in lists and DELETE
    owner        TEXT NOT NULL,                -- the user it acts as
    groups       TEXT NOT NULL DEFAULT '[]',   -- the owner's groups when it was made (JSON array)
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,                -- space-separated: links:read links:write admin
    hash         BYTEA NOT NULL,               -- SHA-256 of the secret
    created_at   TIMESTAMPTZ NOT NULL,
    last_used_at TIMESTAMPTZ,                  -- NULL when never used; written at most once a minute
    expires_at   TIMESTAMPTZ                   -- NULL when it never expires
);
CREATE INDEX api_tokens_by_owner ON api_tokens (owner, created_at DESC);

-- +goose Down
DROP TABLE api_tokens;
