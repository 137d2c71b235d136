//! Row types and their conversion to domain types.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::error::DbError;
use super::schema::{image_locations, image_members, images};
use super::timestamp::{DbTime, OptDbTime, OptTs, Ts};
use crate::domain::image::Image;
use crate::domain::member::{Member, MemberStatus};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = images, treat_none_as_null = true)]
pub struct ImageRow {
    pub id: String,
    pub name: Option<String>,
    pub size: Option<i64>,
    pub status: String,
    #[diesel(deserialize_as = Ts, serialize_as = DbTime)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = OptTs, serialize_as = OptDbTime)]
    pub updated_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = OptTs, serialize_as = OptDbTime)]
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted: bool,
    pub disk_format: Option<String>,
    pub container_format: Option<String>,
    pub checksum: Option<String>,
    pub owner: Option<String>,
    pub min_disk: i32,
    pub min_ram: i32,
    pub protected: bool,
    pub virtual_size: Option<i64>,
    pub visibility: String,
    pub os_hidden: bool,
    pub os_hash_algo: Option<String>,
    pub os_hash_value: Option<String>,
}

impl ImageRow {
    pub fn from_domain(img: &Image) -> Self {
        ImageRow {
            id: img.id.clone(),
            name: img.name.clone(),
            size: img.size,
            status: img.status.as_str().to_owned(),
            created_at: img.created_at,
            updated_at: Some(img.updated_at),
            deleted_at: None,
            deleted: false,
            disk_format: img.disk_format.clone(),
            container_format: img.container_format.clone(),
            checksum: img.checksum.clone(),
            owner: img.owner.clone(),
            min_disk: img.min_disk,
            min_ram: img.min_ram,
            protected: img.protected,
            virtual_size: img.virtual_size,
            visibility: img.visibility.as_str().to_owned(),
            os_hidden: img.os_hidden,
            os_hash_algo: img.os_hash_algo.clone(),
            os_hash_value: img.os_hash_value.clone(),
        }
    }

    /// Tags and properties are filled in by the caller.
    pub fn into_domain(self) -> Result<Image, DbError> {
        let status = self.status.parse().map_err(|()| {
            DbError::Other(format!(
                "image {} has unknown status {}",
                self.id, self.status
            ))
        })?;
        let visibility = self.visibility.parse().map_err(|()| {
            DbError::Other(format!(
                "image {} has unknown visibility {}",
                self.id, self.visibility
            ))
        })?;
        Ok(Image {
            updated_at: self.updated_at.unwrap_or(self.created_at),
            id: self.id,
            name: self.name,
            disk_format: self.disk_format,
            container_format: self.container_format,
            size: self.size,
            virtual_size: self.virtual_size,
            status,
            visibility,
            checksum: self.checksum,
            os_hash_algo: self.os_hash_algo,
            os_hash_value: self.os_hash_value,
            min_disk: self.min_disk,
            min_ram: self.min_ram,
            owner: self.owner,
            protected: self.protected,
            os_hidden: self.os_hidden,
            created_at: self.created_at,
            tags: Default::default(),
            properties: Default::default(),
        })
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = image_members)]
pub struct MemberRow {
    pub id: i32,
    pub image_id: String,
    pub member: String,
    pub status: String,
    #[diesel(deserialize_as = Ts)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = OptTs)]
    pub updated_at: Option<NaiveDateTime>,
    pub deleted: bool,
}

impl MemberRow {
    pub fn into_domain(self) -> Result<Member, DbError> {
        let status: MemberStatus = self.status.parse().map_err(|()| {
            DbError::Other(format!(
                "member row {} has unknown status {}",
                self.id, self.status
            ))
        })?;
        Ok(Member {
            updated_at: self.updated_at.unwrap_or(self.created_at),
            image_id: self.image_id,
            member_id: self.member,
            status,
            created_at: self.created_at,
            ext: None,
        })
    }
}

/// One row of Glance's `image_locations`: where an image's data is (`value`, a store URL),
/// the store's metadata about it (`meta_data`, JSON text) and its `status` (`active`,
/// `pending_delete`, `deleted`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = image_locations)]
pub struct LocationRow {
    pub id: i32,
    pub image_id: String,
    pub value: String,
    pub meta_data: Option<String>,
    pub status: String,
    #[diesel(deserialize_as = Ts)]
    pub created_at: NaiveDateTime,
    #[diesel(deserialize_as = OptTs)]
    pub updated_at: Option<NaiveDateTime>,
    #[diesel(deserialize_as = OptTs)]
    pub deleted_at: Option<NaiveDateTime>,
    pub deleted: bool,
}
