//! Image locations as Glance shows and changes them: `direct_url` (`show_image_direct_url`),
//! `locations` (`show_multiple_locations`) on image views, and what a JSON-patch of
//! `/locations` reads and writes.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::db;
use crate::domain::context::RequestContext;
use crate::domain::image::{Image, ImageStatus};
use crate::domain::location_patch::{LocationEdit, PatchLocation};
use crate::error::Error;

/// One location as an image view shows it: Glance's location dict without `id` and `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShownLocation {
    pub url: String,
    /// The row's `meta_data`, a JSON object (`{}` when the text is not one).
    pub metadata: Value,
}

impl ShownLocation {
    pub fn from_row(url: String, meta_data: Option<&str>) -> Self {
        let metadata = meta_data
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| Value::Object(Map::new()));
        ShownLocation { url, metadata }
    }

    /// The store its metadata names (multi-store mode), if any.
    pub fn store(&self) -> Option<&str> {
        self.metadata.get("store").and_then(Value::as_str)
    }
}

/// What image views show of their images' locations, for one caller.
#[derive(Debug, Default)]
pub struct Shown {
    direct_url: bool,
    multiple: bool,
    /// Multi-store mode: images show `stores`.
    multi_store: bool,
    by_image: HashMap<String, Vec<ShownLocation>>,
    /// `stores` per image: the stores its locations name, in read order, comma-separated.
    stores: HashMap<String, String>,
}

impl Shown {
    /// What the views of images without locations show (a new image): no query is needed.
    pub fn without_locations(state: &AppState) -> Self {
        Shown {
            direct_url: state.config.show_image_direct_url,
            multiple: state.config.show_multiple_locations,
            multi_store: state.config.backend.is_some(),
            by_image: HashMap::new(),
            stores: HashMap::new(),
        }
    }

    /// `stores` (multi-store mode): the stores holding the image's data, heaviest first, as
    /// Glance lists them from the image's locations; none for an image without any.
    pub fn stores(&self, image_id: &str) -> Option<&str> {
        self.stores.get(image_id).map(String::as_str)
    }

    /// `direct_url`: the first location, when `show_image_direct_url` is on and the caller may
    /// read the image's locations.
    pub fn direct_url(&self, image_id: &str) -> Option<&str> {
        if !self.direct_url {
            return None;
        }
        Some(self.by_image.get(image_id)?.first()?.url.as_str())
    }

    /// `locations`: with `show_multiple_locations`, the image's locations, or none when it
    /// has none or the caller may not read them (Glance shows `[]` then, not a 403).
    pub fn locations(&self, image_id: &str) -> Option<&[ShownLocation]> {
        if !self.multiple {
            return None;
        }
        Some(self.by_image.get(image_id).map_or(&[], Vec::as_slice))
    }
}

/// Whether the caller reads `img`'s locations, as Glance's location proxy and db layer decide:
/// the `get_image_location` rule, and never a deactivated image's unless an admin.
pub fn readable(state: &AppState, ctx: &RequestContext, img: &Image) -> bool {
    if img.status == ImageStatus::Deactivated && !ctx.is_admin() {
        return false;
    }
    let target = crate::policy::image_target(img, ctx, false);
    state.policy.allows("get_image_location", ctx, &target)
}

/// The locations views of `images` show to the caller. With both options off (the
/// defaults) nothing is shown and no query is made; otherwise one query for all images.
pub async fn shown(
    state: &AppState,
    ctx: &RequestContext,
    images: &[Image],
) -> Result<Shown, Error> {
    let mut shown = Shown::without_locations(state);
    if !shown.direct_url && !shown.multiple && !shown.multi_store {
        return Ok(shown);
    }
    let ids: Vec<String> = images
        .iter()
        .filter(|img| readable(state, ctx, img))
        .map(|img| img.id.clone())
        .collect();
    if ids.is_empty() {
        return Ok(shown);
    }
    let rows = state
        .read(move |c| {
            let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
            Ok(db::locations::live_by_image(c, &ids)?)
        })
        .await?;
    // Glance sorts an image's locations by store weight when it loads them
    // (`sort_image_locations`): `direct_url`, `locations` and `stores` follow that order.
    shown.by_image = rows
        .into_iter()
        .map(|(id, locs)| {
            let mut locs: Vec<ShownLocation> = locs
                .into_iter()
                .map(|(url, meta)| ShownLocation::from_row(url, meta.as_deref()))
                .collect();
            state.store.by_weight(&mut locs, ShownLocation::store);
            (id, locs)
        })
        .collect();
    if shown.multi_store {
        for (id, locs) in &shown.by_image {
            let names: Vec<&str> = locs.iter().filter_map(ShownLocation::store).collect();
            if !names.is_empty() {
                shown.stores.insert(id.clone(), names.join(","));
            }
        }
    }
    Ok(shown)
}

/// At most this many distinct new URLs of one patch are sized (one `HEAD` each, in turn);
/// any further one is refused as a URL no store can use.
const MAX_SIZED: usize = 16;

/// The new `http(s)` URLs of a patch's `/locations` operations, sized by the http store
/// before the patch is applied under the row lock (no I/O happens there). Nothing is fetched
/// unless the caller could change the image's locations: `show_multiple_locations` on, the
/// image visible, `set_image_location` allowed. A URL the store cannot size is left out:
/// the patch then refuses it (`Invalid location`), as Glance does.
pub async fn size_new_urls(
    state: &AppState,
    ctx: &RequestContext,
    id: &crate::domain::id::ImageId,
    ops: &[crate::domain::patch::Operation],
) -> Result<HashMap<String, u64>, Error> {
    use crate::domain::patch::Op;
    let mut sizes = HashMap::new();
    let Some(http) = state.store.http() else {
        return Ok(sizes);
    };
    let mut urls: Vec<String> = Vec::new();
    for o in ops.iter().filter(|o| o.root() == "locations") {
        let values: Vec<&Value> = match (o.op, &o.value) {
            (Op::Add, Some(v)) => vec![v],
            (Op::Replace, Some(Value::Array(items))) => items.iter().collect(),
            _ => vec![],
        };
        for url in values.iter().filter_map(|v| v.get("url")?.as_str()) {
            if crate::store::http::is_http(url) && !urls.iter().any(|u| u == url) {
                urls.push(url.to_owned());
            }
        }
    }
    if urls.is_empty() || !state.config.show_multiple_locations {
        return Ok(sizes);
    }
    let (st, c2, id2) = (state.clone(), ctx.clone(), id.clone());
    let may = state
        .read(move |c| {
            let msg = format!("No image found with ID {id2}");
            let v = super::access::load_visible(c, &st, &c2, &id2, &msg, false)?;
            Ok(st.policy.allows("set_image_location", &c2, &v.target(&c2)))
        })
        .await?;
    if !may {
        return Ok(sizes);
    }
    for url in urls.into_iter().take(MAX_SIZED) {
        match http.size(&url).await {
            Ok(size) => {
                sizes.insert(url, size);
            }
            Err(e) => tracing::info!(url = %url, error = %e, "location URL refused"),
        }
    }
    Ok(sizes)
}

/// Where a JSON-patch of the image starts from when it has `/locations` operations: the
/// rules that allow the caller to change locations and, with `show_multiple_locations`, the
/// image's live locations.
pub fn edit_for(
    conn: &mut db::DbConn,
    state: &AppState,
    ctx: &RequestContext,
    img: &Image,
    sizes: HashMap<String, u64>,
) -> Result<LocationEdit, Error> {
    let target = crate::policy::image_target(img, ctx, false);
    let mut edit = LocationEdit {
        shown: state.config.show_multiple_locations,
        may_set: state.policy.allows("set_image_location", ctx, &target),
        may_delete: state.policy.allows("delete_image_location", ctx, &target),
        quota: state.config.image_location_quota,
        hashing_algorithm: state.config.hashing_algorithm.clone(),
        sizes,
        http_store_id: state.config.stores.http_backend.clone(),
        ..LocationEdit::default()
    };
    if edit.shown {
        edit.locations = db::locations::live_rows(conn, &img.id)?
            .into_iter()
            .map(|r| {
                let shown = ShownLocation::from_row(r.value, r.meta_data.as_deref());
                PatchLocation {
                    id: Some(r.id),
                    url: shown.url,
                    metadata: shown.metadata,
                }
            })
            .collect();
    }
    Ok(edit)
}

/// Writes what a patch did to the image's locations, at `at`: removed rows marked deleted,
/// rows the patch wrote added. Returns the URLs whose data is to be deleted once committed.
pub fn save_edit(
    conn: &mut db::DbConn,
    image_id: &str,
    edit: &LocationEdit,
    at: chrono::NaiveDateTime,
) -> Result<Vec<String>, Error> {
    let mut data_to_delete = Vec::new();
    for (loc, data_too) in &edit.removed {
        if let Some(id) = loc.id {
            db::locations::delete_one(conn, image_id, id, at)?;
        }
        if *data_too && !edit.locations.iter().any(|l| l.url == loc.url) {
            data_to_delete.push(loc.url.clone());
        }
    }
    for loc in edit.locations.iter().filter(|l| l.id.is_none()) {
        let meta = crate::domain::pyjson::dumps(&loc.metadata, true).unwrap_or_else(|| "{}".into());
        db::locations::add_with_meta(conn, image_id, &loc.url, &meta, at)?;
    }
    Ok(data_to_delete)
}

/// Deletes the data of locations a patch removed, as Glance's `StoreLocations.pop` does; only
/// inside the configured store directories (the store refuses anything else). A failure is
/// logged: the rows are already gone.
pub async fn delete_data(state: &AppState, image_id: &str, urls: &[String]) {
    for url in urls {
        if let Err(e) = state.store.delete_location(url).await {
            tracing::warn!(image_id, url, error = %e, "could not delete a removed location's data");
        }
    }
}
