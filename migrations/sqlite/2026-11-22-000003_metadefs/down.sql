DROP TABLE metadef_tags;
DROP TABLE metadef_properties;
DROP TABLE metadef_objects;
DROP TABLE metadef_namespace_resource_types;
DROP TABLE metadef_resource_types;
DROP TABLE metadef_namespaces;
