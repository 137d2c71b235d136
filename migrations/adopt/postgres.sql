-- glint's additions to a database that Glance 32's `glance-manage db_sync` made (src/db/takeover.rs):
-- what glint's own migrations up to list_indexes create beyond Glance's schema, under Glance's
-- names for what both have. Nothing of Glance's is dropped or changed, so Glance can serve the
-- database again; its own migrations do not know these indexes and leave them alone.
-- Glance keeps images.visibility in an enum type; glint sends the value as text, which
-- PostgreSQL assigns to the column only through an assignment cast.
CREATE CAST (text AS image_visibility) WITH INOUT AS ASSIGNMENT;
CREATE INDEX ix_image_properties_name ON image_properties (name);
CREATE INDEX ix_image_members_member ON image_members (member);
-- One live row per (image, tag) and per (image, member), which Glance's keys do not ensure.
CREATE UNIQUE INDEX ux_image_tags_live ON image_tags (image_id, value) WHERE NOT deleted;
CREATE UNIQUE INDEX ux_image_members_live ON image_members (image_id, member) WHERE NOT deleted;
