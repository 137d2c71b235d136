-- The sharing extensions' trust policies (one per recipient project that set one) and history
-- (append-only, one row per change of a share; kept after the member and the image are gone, so
-- no foreign keys), and on a share the trust policy's mark and the expiry reminders sent.
ALTER TABLE glint_member_ext ADD COLUMN policy VARCHAR(32);
ALTER TABLE glint_member_ext ADD COLUMN reminded_secs BIGINT;

CREATE TABLE glint_share_policy (
    project_id VARCHAR(255) NOT NULL PRIMARY KEY,
    domain_id VARCHAR(255),
    owners TEXT NOT NULL,
    domains TEXT NOT NULL,
    same_domain BOOLEAN NOT NULL DEFAULT false,
    untrusted VARCHAR(16) NOT NULL,
    mode VARCHAR(16) NOT NULL,
    updated_at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    updated_by VARCHAR(255)
);

CREATE TABLE glint_share_events (
    id BIGSERIAL PRIMARY KEY,
    at TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    action VARCHAR(32) NOT NULL,
    via VARCHAR(32) NOT NULL,
    image_id VARCHAR(36) NOT NULL,
    owner VARCHAR(255),
    member VARCHAR(255) NOT NULL,
    actor_user VARCHAR(255),
    actor_project VARCHAR(255),
    request_id VARCHAR(64),
    from_state TEXT,
    to_state TEXT
);
CREATE INDEX ix_glint_share_events_owner ON glint_share_events (owner, id);
CREATE INDEX ix_glint_share_events_member ON glint_share_events (member, id);
CREATE INDEX ix_glint_share_events_image ON glint_share_events (image_id, id);
CREATE INDEX ix_glint_share_events_at ON glint_share_events (at);
