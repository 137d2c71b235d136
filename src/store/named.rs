//! Multi-store mode's named stores (`enabled_backends`): each backend id with its store and
//! `weight`. A location row naming a store (`{"store": "<id>"}`) is read and deleted by that
//! store (`EnabledStores::get_at`); other rows by the enabled store of their URL's scheme.

use futures_util::StreamExt;

use super::{DataStream, S3Location, Store, StoreError, SwiftLocation};

/// One backend of `enabled_backends`.
#[derive(Debug, Clone)]
pub struct NamedStore {
    pub id: String,
    pub store: Store,
    /// `[<id>] weight`: heavier stores are read first.
    pub weight: i64,
}

impl Store {
    /// The data at one of this store's location URLs (another store's URL, or one it cannot
    /// parse, is [`StoreError::NotFound`]).
    pub async fn get_url(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        match self {
            Store::File(f) => {
                let (total, stream) = f.get_location(url, range).await?;
                Ok((total, stream.boxed()))
            }
            Store::S3(s) => match S3Location::parse(url) {
                Ok(loc) => s.get_location(&loc, range).await,
                Err(_) => Err(StoreError::NotFound),
            },
            Store::Swift(s) => match SwiftLocation::parse(url) {
                Ok(loc) => s.get_location(&loc, range).await,
                Err(_) => Err(StoreError::NotFound),
            },
        }
    }

    /// Removes the data at one of this store's location URLs; data already gone, or a URL
    /// that is not this store's, is left as it is.
    pub async fn delete_url(&self, url: &str) -> Result<(), StoreError> {
        match self {
            Store::File(f) => f.delete_location(url).await,
            Store::S3(s) => match S3Location::parse(url) {
                Ok(loc) => s.delete_location(&loc).await,
                Err(_) => Ok(()),
            },
            Store::Swift(s) => match SwiftLocation::parse(url) {
                Ok(loc) => s.delete_location(&loc).await,
                Err(_) => Ok(()),
            },
        }
    }
}
