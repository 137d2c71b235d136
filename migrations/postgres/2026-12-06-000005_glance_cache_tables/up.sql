-- Glance's image-cache tables (its Alembic revision 2024_1_expand01), as Glance 32 makes them on
-- PostgreSQL. glint does not use them; Glance's API registers its node in node_reference at start
-- and does not start without them, so a database glint made can be handed back to Glance.
-- IF NOT EXISTS: a Glance database adopted before this migration existed already has them.
CREATE TABLE IF NOT EXISTS node_reference (
    node_reference_id BIGSERIAL NOT NULL,
    node_reference_url VARCHAR(255) NOT NULL,
    PRIMARY KEY (node_reference_id),
    CONSTRAINT uq_node_reference_node_reference_url UNIQUE (node_reference_url)
);
CREATE TABLE IF NOT EXISTS cached_images (
    id BIGSERIAL NOT NULL,
    image_id VARCHAR(36) NOT NULL,
    last_accessed TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    last_modified TIMESTAMP WITHOUT TIME ZONE NOT NULL,
    size BIGINT NOT NULL,
    hits INTEGER NOT NULL,
    checksum VARCHAR(32),
    node_reference_id BIGINT NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY (node_reference_id) REFERENCES node_reference (node_reference_id),
    CONSTRAINT ix_cached_images_image_id_node_reference_id UNIQUE (image_id, node_reference_id)
);
