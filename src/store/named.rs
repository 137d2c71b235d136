//! Multi-store mode's named stores (`enabled_backends`): each backend id with its store and
//! `weight`. A location row naming a store (`{"store": "<id>"}`) is read and deleted by that
//! store; other rows by the enabled store of their URL's scheme ([`EnabledStores::get_location`]).

use futures_util::StreamExt;

use super::{DataStream, EnabledStores, S3Location, Store, StoreError, SwiftLocation};

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

impl EnabledStores {
    /// Adds the named backends of multi-store mode.
    pub fn with_named(mut self, named: Vec<NamedStore>) -> Self {
        self.named = named;
        self
    }

    /// The backends of multi-store mode, in `enabled_backends` order (none in single-store mode).
    pub fn backends(&self) -> &[NamedStore] {
        &self.named
    }

    /// The named backend `id`.
    pub fn named(&self, id: &str) -> Option<&Store> {
        self.named.iter().find(|n| n.id == id).map(|n| &n.store)
    }

    /// A store's weight (glance's `get_store_weight`): 0 for no store or an unknown one.
    pub fn weight(&self, id: Option<&str>) -> i64 {
        id.and_then(|id| self.named.iter().find(|n| n.id == id))
            .map_or(0, |n| n.weight)
    }

    /// The data at a location: read by its named store when it names an enabled one, else by
    /// the store of its URL's scheme.
    pub async fn get_at(
        &self,
        store: Option<&str>,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        match store.and_then(|id| self.named(id)) {
            Some(s) => s.get_url(url, range).await,
            None => self.get_location(url, range).await,
        }
    }

    /// Removes the data at a location, through its named store when it names an enabled one.
    pub async fn delete_at(&self, store: Option<&str>, url: &str) -> Result<(), StoreError> {
        match store.and_then(|id| self.named(id)) {
            Some(s) => s.delete_url(url).await,
            None => self.delete_location(url).await,
        }
    }

    /// `items` (anything naming a store) in Glance's read order: heaviest store first, the
    /// recorded order among equals (glance's `sort_image_locations`, a stable sort).
    pub fn by_weight<T>(&self, items: &mut [T], store_of: impl Fn(&T) -> Option<&str>) {
        items.sort_by_key(|t| std::cmp::Reverse(self.weight(store_of(t))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{FsStore, HashAlgo};

    #[tokio::test]
    async fn named_stores_read_their_own_locations() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let fa = FsStore::open(a.path().to_owned(), HashAlgo::Sha512).unwrap();
        let fb = FsStore::open(b.path().to_owned(), HashAlgo::Sha512).unwrap();
        let body = futures_util::stream::iter([Ok::<_, String>(bytes::Bytes::from_static(b"abc"))]);
        fb.put("img", body, 10, None).await.unwrap();
        let url = fb.location("img");
        let stores = EnabledStores::file_only(fa.clone()).with_named(vec![
            NamedStore {
                id: "a".into(),
                store: Store::File(fa),
                weight: 1,
            },
            NamedStore {
                id: "b".into(),
                store: Store::File(fb),
                weight: 5,
            },
        ]);
        // By scheme, the default file store does not reach b's directory; by name it does.
        assert!(matches!(
            stores.get_at(None, &url, None).await,
            Err(StoreError::NotFound)
        ));
        assert!(matches!(
            stores.get_at(Some("a"), &url, None).await,
            Err(StoreError::NotFound)
        ));
        let (n, _) = stores.get_at(Some("b"), &url, None).await.unwrap();
        assert_eq!(n, 3);
        let mut order = vec![Some("a"), None, Some("b"), Some("x")];
        stores.by_weight(&mut order, |s| *s);
        assert_eq!(order, [Some("b"), Some("a"), None, Some("x")]);
        stores.delete_at(Some("b"), &url).await.unwrap();
        assert!(!b.path().join("img").exists());
    }
}
