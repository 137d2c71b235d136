-- Grants of the sharing extensions (POST /v2/glint/grants): an owner's images (by id, or by tag)
-- granted to a Keystone domain or a project subtree. A grant is materialised into ordinary member
-- rows (glint_member_ext.via = 'grant', grant_id), so every read path stays as it is; the tables
-- below say what each grant covers: which images and which recipient projects it has reached.
CREATE TABLE glint_grants (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    owner VARCHAR(255) NOT NULL,
    owner_domain_id VARCHAR(255),
    target_kind VARCHAR(16) NOT NULL,
    target_id VARCHAR(255) NOT NULL,
    target_domain_id VARCHAR(255) NOT NULL,
    tag VARCHAR(255),
    decision VARCHAR(16),
    decided_by VARCHAR(255),
    decided_at TIMESTAMP WITHOUT TIME ZONE,
    created_by VARCHAR(255),
    created_at TIMESTAMP WITHOUT TIME ZONE NOT NULL
);
CREATE INDEX ix_glint_grants_owner ON glint_grants (owner);
CREATE INDEX ix_glint_grants_target ON glint_grants (target_id);

CREATE TABLE glint_grant_images (
    grant_id VARCHAR(36) NOT NULL,
    image_id VARCHAR(36) NOT NULL,
    PRIMARY KEY (grant_id, image_id)
);
CREATE INDEX ix_glint_grant_images_image ON glint_grant_images (image_id);

CREATE TABLE glint_grant_projects (
    grant_id VARCHAR(36) NOT NULL,
    project_id VARCHAR(255) NOT NULL,
    PRIMARY KEY (grant_id, project_id)
);
CREATE INDEX ix_glint_grant_projects_project ON glint_grant_projects (project_id);

-- The grant a member row was materialised from (with via = 'grant').
ALTER TABLE glint_member_ext ADD COLUMN grant_id VARCHAR(36);
CREATE INDEX ix_glint_member_ext_grant ON glint_member_ext (grant_id);
