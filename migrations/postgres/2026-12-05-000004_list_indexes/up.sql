-- The list's indexes (src/db/list.rs): a page is a UNION ALL of streams, each an equality
-- on visibility (every image of one visibility) or on owner and visibility (a project's own)
-- walked in sort order and stopped after `limit` rows. One index per sort key Glance allows
-- (the key, then the tie-breakers created_at and id) for each of the two prefixes; live rows only.
-- NULL sorts lowest in glint's order, as on SQLite: nullable keys are NULLS FIRST (a backward
-- scan gives the descending order, NULLS LAST).
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
-- Superseded by ix_images_list_{vis,own}_created (the same keys after the stream's equality):
-- alone, a planner could walk every image in created_at order testing each against the stream.
DROP INDEX created_at_image_idx;
DROP INDEX ix_images_created_at_id;
