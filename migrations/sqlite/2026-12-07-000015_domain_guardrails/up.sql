-- Per-domain guardrails (`/v2/glint/domains/{domain_id}/guardrails`): one row per domain whose
-- admin set any, as a comma-separated list of guardrail names, with who set them and when. Read
-- by primary key on each guarded action (a visibility made public or community, a share).
CREATE TABLE glint_domain_guardrails (
    domain_id VARCHAR(255) NOT NULL PRIMARY KEY,
    guardrails VARCHAR(64) NOT NULL,
    updated_at DATETIME NOT NULL,
    updated_by VARCHAR(255)
);
