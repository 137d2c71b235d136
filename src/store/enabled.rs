//! The enabled stores of one glint process, as glance_store's single-store mode has them
//! (`[glance_store] stores` and `default_store`): new image data goes to the default store,
//! and a location is read (and its data deleted) by the enabled store of its URL's scheme, so
//! that images written before a change of `default_store` stay readable. The read-only http
//! store, when enabled, reads `http://` and `https://` locations and never deletes them.

use futures_util::StreamExt;

use super::{
    DataStream, FsStore, HttpStore, NamedStore, S3Location, S3Store, Store, StoreError,
    SwiftLocation, SwiftStore,
};

/// Every enabled store, and which one is written to.
#[derive(Debug, Clone)]
pub struct EnabledStores {
    default: Store,
    file: Option<FsStore>,
    s3: Option<S3Store>,
    swift: Option<SwiftStore>,
    /// Multi-store mode's backends (`store::named`).
    pub(super) named: Vec<NamedStore>,
    http: Option<HttpStore>,
}

/// The store kinds a location URL's scheme names (glance_store's scheme lists).
enum Scheme {
    File,
    S3,
    Swift,
    Http,
    Other,
}

fn scheme_of(url: &str) -> Scheme {
    match url.split_once("://").map(|(s, _)| s) {
        Some("file") => Scheme::File,
        Some("s3" | "s3+http" | "s3+https") => Scheme::S3,
        Some("swift" | "swift+http" | "swift+https" | "swift+config") => Scheme::Swift,
        Some("http" | "https") => Scheme::Http,
        _ => Scheme::Other,
    }
}

impl EnabledStores {
    /// `default` is written to; `file`, `s3` and `swift` are the enabled stores (the default
    /// among them or not: it is added where it belongs).
    pub fn new(
        default: Store,
        file: Option<FsStore>,
        s3: Option<S3Store>,
        swift: Option<SwiftStore>,
    ) -> Self {
        let (mut file, mut s3, mut swift) = (file, s3, swift);
        match &default {
            Store::File(f) => file = Some(f.clone()),
            Store::S3(s) => s3 = Some(s.clone()),
            Store::Swift(s) => swift = Some(s.clone()),
        }
        EnabledStores {
            default,
            file,
            s3,
            swift,
            named: Vec::new(),
            http: None,
        }
    }

    /// With the read-only http store enabled.
    pub fn with_http(mut self, http: Option<HttpStore>) -> Self {
        self.http = http;
        self
    }

    /// The http store, when enabled.
    pub fn http(&self) -> Option<&HttpStore> {
        self.http.as_ref()
    }

    /// The file store alone (the default configuration).
    pub fn file_only(store: FsStore) -> Self {
        Self::new(Store::File(store), None, None, None)
    }

    /// Where new image data goes (`default_store`).
    pub fn default_store(&self) -> &Store {
        &self.default
    }

    /// The file store, when enabled.
    pub fn file(&self) -> Option<&FsStore> {
        self.file.as_ref()
    }

    /// The S3 store, when enabled.
    pub fn s3(&self) -> Option<&S3Store> {
        self.s3.as_ref()
    }

    /// The Swift store, when enabled.
    pub fn swift(&self) -> Option<&SwiftStore> {
        self.swift.as_ref()
    }

    /// Data stored by image id (images without location rows): in the default store.
    pub async fn get(
        &self,
        image_id: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        self.default.get(image_id, range).await
    }

    /// Removes the data stored under the image id in the default store.
    pub async fn delete(&self, image_id: &str) -> Result<(), StoreError> {
        self.default.delete(image_id).await
    }

    /// The data at a location URL, read by the enabled store of its scheme. A location no
    /// enabled store reads (another scheme, a disabled store, a malformed URL) is
    /// [`StoreError::NotFound`], as glance_store's "unknown scheme" makes it unreadable.
    pub async fn get_location(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, DataStream), StoreError> {
        match (scheme_of(url), &self.file, &self.s3) {
            (Scheme::File, Some(f), _) => {
                let (total, stream) = f.get_location(url, range).await?;
                Ok((total, stream.boxed()))
            }
            (Scheme::S3, _, Some(s)) => {
                let loc = S3Location::parse(url).map_err(|e| {
                    tracing::warn!(error = %e, "unreadable S3 location");
                    StoreError::NotFound
                })?;
                s.get_location(&loc, range).await
            }
            (Scheme::Swift, _, _) if self.swift.is_some() => {
                let loc = SwiftLocation::parse(url).map_err(|e| {
                    tracing::warn!(error = %e, "unreadable Swift location");
                    StoreError::NotFound
                })?;
                match &self.swift {
                    Some(s) => s.get_location(&loc, range).await,
                    None => Err(StoreError::NotFound),
                }
            }
            (Scheme::Http, _, _) => match &self.http {
                Some(h) => h.get(url, range).await,
                None => Err(StoreError::NotFound),
            },
            _ => Err(StoreError::NotFound),
        }
    }

    /// Removes the data at a location URL through the enabled store of its scheme; data
    /// already gone, or at a location no enabled store handles, is left as it is.
    pub async fn delete_location(&self, url: &str) -> Result<(), StoreError> {
        match (scheme_of(url), &self.file, &self.s3) {
            (Scheme::File, Some(f), _) => f.delete_location(url).await,
            (Scheme::S3, _, Some(s)) => match S3Location::parse(url) {
                Ok(loc) => s.delete_location(&loc).await,
                Err(e) => {
                    tracing::warn!(error = %e, "S3 location not deleted: malformed");
                    Ok(())
                }
            },
            (Scheme::Swift, _, _) if self.swift.is_some() => {
                match (SwiftLocation::parse(url), &self.swift) {
                    (Ok(loc), Some(s)) => s.delete_location(&loc).await,
                    (Err(e), _) => {
                        tracing::warn!(error = %e, "Swift location not deleted: malformed");
                        Ok(())
                    }
                    (Ok(_), None) => Ok(()),
                }
            }
            // glance_store's http store is read-only: Glance drops the location, the data stays.
            (Scheme::Http, _, _) => Ok(()),
            _ => {
                tracing::warn!(
                    "image location of a store that is not enabled: its data is left alone"
                );
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_pick_the_store() {
        assert!(matches!(scheme_of("file:///var/lib/x"), Scheme::File));
        for url in ["s3://a:b@h/b/k", "s3+https://h/b/k", "s3+http://h/b/k"] {
            assert!(matches!(scheme_of(url), Scheme::S3), "{url}");
        }
        for url in ["swift://h/c/o", "swift+config://ref1/c/o"] {
            assert!(matches!(scheme_of(url), Scheme::Swift), "{url}");
        }
        for url in ["http://h/x", "https://h/x"] {
            assert!(matches!(scheme_of(url), Scheme::Http), "{url}");
        }
        for url in ["/plain/path", "S3://h/b/k", "rbd://x", "HTTP://h/x"] {
            assert!(matches!(scheme_of(url), Scheme::Other), "{url}");
        }
    }

    #[tokio::test]
    async fn locations_of_disabled_stores_are_not_found_and_not_deleted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fs =
            FsStore::open(dir.path().to_owned(), super::super::HashAlgo::Sha512).expect("open");
        let stores = EnabledStores::file_only(fs);
        let url = "s3://ak:sk@127.0.0.1:1/bucket/id";
        assert!(matches!(
            stores.get_location(url, None).await,
            Err(StoreError::NotFound)
        ));
        assert!(stores.delete_location(url).await.is_ok());
        assert!(stores.s3().is_none() && stores.file().is_some());
        // No http store: an http location is unreadable, and never deleted.
        let url = "http://127.0.0.1:1/x";
        assert!(matches!(
            stores.get_location(url, None).await,
            Err(StoreError::NotFound)
        ));
        assert!(stores.delete_location(url).await.is_ok());
        assert_eq!(stores.default_store().kind(), "file");
    }
}

// Multi-store mode's named backends (`store::named`).
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
mod named_tests {
    use super::*;
    use crate::store::{FsStore, HashAlgo, NamedStore};

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
