DROP INDEX ix_glint_member_ext_grant;
ALTER TABLE glint_member_ext DROP COLUMN grant_id;
DROP TABLE glint_grant_projects;
DROP TABLE glint_grant_images;
DROP TABLE glint_grants;
