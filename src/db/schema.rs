//! One portable schema for both backends (the migrations create identical shapes).

diesel::table! {
    images (id) {
        id -> Text,
        name -> Nullable<Text>,
        size -> Nullable<BigInt>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        deleted -> Bool,
        disk_format -> Nullable<Text>,
        container_format -> Nullable<Text>,
        checksum -> Nullable<Text>,
        owner -> Nullable<Text>,
        min_disk -> Integer,
        min_ram -> Integer,
        protected -> Bool,
        virtual_size -> Nullable<BigInt>,
        visibility -> Text,
        os_hidden -> Bool,
        os_hash_algo -> Nullable<Text>,
        os_hash_value -> Nullable<Text>,
    }
}

diesel::table! {
    image_properties (id) {
        id -> Integer,
        image_id -> Text,
        name -> Text,
        value -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        deleted -> Bool,
    }
}

diesel::table! {
    image_tags (id) {
        id -> Integer,
        image_id -> Text,
        value -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        deleted -> Bool,
    }
}

diesel::table! {
    image_members (id) {
        id -> Integer,
        image_id -> Text,
        member -> Text,
        can_share -> Bool,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        deleted -> Bool,
    }
}

diesel::table! {
    image_locations (id) {
        id -> Integer,
        image_id -> Text,
        value -> Text,
        meta_data -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Nullable<Timestamp>,
        deleted_at -> Nullable<Timestamp>,
        deleted -> Bool,
    }
}

diesel::joinable!(image_properties -> images (image_id));
diesel::joinable!(image_tags -> images (image_id));
diesel::joinable!(image_members -> images (image_id));
diesel::joinable!(image_locations -> images (image_id));
diesel::allow_tables_to_appear_in_same_query!(
    images,
    image_properties,
    image_tags,
    image_members,
    image_locations
);
