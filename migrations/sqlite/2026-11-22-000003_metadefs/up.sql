-- Metadata definitions (metadefs) with Glance's table, column, constraint and index names.
CREATE TABLE metadef_namespaces (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    namespace VARCHAR(80) NOT NULL,
    display_name VARCHAR(80),
    description TEXT,
    visibility VARCHAR(32),
    protected BOOLEAN,
    owner VARCHAR(255) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    CONSTRAINT uq_metadef_namespaces_namespace UNIQUE (namespace)
);
CREATE INDEX ix_metadef_namespaces_owner ON metadef_namespaces (owner);

CREATE TABLE metadef_resource_types (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(80) NOT NULL,
    protected BOOLEAN NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    CONSTRAINT uq_metadef_resource_types_name UNIQUE (name)
);

CREATE TABLE metadef_namespace_resource_types (
    resource_type_id INTEGER NOT NULL REFERENCES metadef_resource_types (id),
    namespace_id INTEGER NOT NULL REFERENCES metadef_namespaces (id),
    properties_target VARCHAR(80),
    prefix VARCHAR(80),
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    PRIMARY KEY (resource_type_id, namespace_id)
);
CREATE INDEX ix_metadef_ns_res_types_namespace_id ON metadef_namespace_resource_types (namespace_id);

CREATE TABLE metadef_objects (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    namespace_id INTEGER NOT NULL REFERENCES metadef_namespaces (id),
    name VARCHAR(80) NOT NULL,
    description TEXT,
    required TEXT,
    json_schema TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    CONSTRAINT uq_metadef_objects_namespace_id_name UNIQUE (namespace_id, name)
);
CREATE INDEX ix_metadef_objects_name ON metadef_objects (name);

CREATE TABLE metadef_properties (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    namespace_id INTEGER NOT NULL REFERENCES metadef_namespaces (id),
    name VARCHAR(80) NOT NULL,
    json_schema TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    CONSTRAINT uq_metadef_properties_namespace_id_name UNIQUE (namespace_id, name)
);
CREATE INDEX ix_metadef_properties_name ON metadef_properties (name);

CREATE TABLE metadef_tags (
    id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    namespace_id INTEGER NOT NULL REFERENCES metadef_namespaces (id),
    name VARCHAR(80) NOT NULL,
    created_at DATETIME NOT NULL,
    updated_at DATETIME,
    CONSTRAINT uq_metadef_tags_namespace_id_name UNIQUE (namespace_id, name)
);
CREATE INDEX ix_metadef_tags_name ON metadef_tags (name);
