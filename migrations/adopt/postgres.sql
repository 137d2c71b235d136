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
-- The list's indexes (migration list_indexes).
CREATE INDEX ix_images_list_vis_created ON images (visibility, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_vis_id ON images (visibility, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_vis_name ON images (visibility, name NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_vis_status ON images (visibility, status, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_vis_container_format ON images (visibility, container_format NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_vis_disk_format ON images (visibility, disk_format NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_vis_size ON images (visibility, size NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_vis_updated ON images (visibility, updated_at NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_own_created ON images (owner, visibility, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_own_id ON images (owner, visibility, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_own_name ON images (owner, visibility, name NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_own_status ON images (owner, visibility, status, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_own_container_format ON images (owner, visibility, container_format NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_own_disk_format ON images (owner, visibility, disk_format NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_own_size ON images (owner, visibility, size NULLS FIRST, created_at, id) WHERE NOT deleted;
CREATE INDEX ix_images_list_own_updated ON images (owner, visibility, updated_at NULLS FIRST, created_at, id) WHERE NOT deleted;
