-- Webhooks of the sharing extensions: a project's subscriptions (events about the shares it owns
-- or receives) and the log of every delivery attempt. Removed with the webhook.
CREATE TABLE glint_webhooks (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    project_id VARCHAR(255) NOT NULL,
    url TEXT NOT NULL,
    secret VARCHAR(128) NOT NULL,
    events TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX ix_glint_webhooks_project ON glint_webhooks (project_id);

CREATE TABLE glint_webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id VARCHAR(36) NOT NULL,
    event_id VARCHAR(36) NOT NULL,
    event_type VARCHAR(64) NOT NULL,
    attempt INTEGER NOT NULL,
    at DATETIME NOT NULL,
    status_code INTEGER,
    error TEXT,
    delivered BOOLEAN NOT NULL
);
CREATE INDEX ix_glint_webhook_deliveries_webhook ON glint_webhook_deliveries (webhook_id, id);
