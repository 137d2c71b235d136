-- Names of projects glint has seen (from tokens it validated and from Keystone look-ups), so the
-- inbox can show whose offer it is without asking Keystone per item: one row per project, written
-- at most once per project per interval. And on a share, when its member last downloaded the
-- image (written at most once a minute per share).
CREATE TABLE glint_project_names (
    project_id VARCHAR(255) NOT NULL PRIMARY KEY,
    name VARCHAR(255) NOT NULL,
    domain_id VARCHAR(255),
    seen_at TIMESTAMP WITHOUT TIME ZONE NOT NULL
);
ALTER TABLE glint_member_ext ADD COLUMN last_download_at TIMESTAMP WITHOUT TIME ZONE;
