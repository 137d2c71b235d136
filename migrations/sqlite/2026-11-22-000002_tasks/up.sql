-- Glance's task tables (glance/db/sqlalchemy/models.py Task, TaskInfo): the tasks API and the
-- records of interoperable image imports.
CREATE TABLE tasks (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    type VARCHAR(30) NOT NULL,
    status VARCHAR(30) NOT NULL,
    owner VARCHAR(255) NOT NULL,
    expires_at DATETIME,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    deleted_at DATETIME,
    deleted BOOLEAN NOT NULL DEFAULT 0,
    image_id VARCHAR(36),
    request_id VARCHAR(64),
    user_id VARCHAR(64)
);
CREATE INDEX ix_tasks_type ON tasks (type);
CREATE INDEX ix_tasks_status ON tasks (status);
CREATE INDEX ix_tasks_owner ON tasks (owner);
CREATE INDEX ix_tasks_deleted ON tasks (deleted);
CREATE INDEX ix_tasks_image_id ON tasks (image_id);
CREATE INDEX ix_tasks_updated_at ON tasks (updated_at);

CREATE TABLE task_info (
    task_id VARCHAR(36) NOT NULL PRIMARY KEY REFERENCES tasks (id),
    input TEXT,
    result TEXT,
    message TEXT
);
