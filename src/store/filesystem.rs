//! Glance's `file` store: one file per image, named by the image id, in
//! `[glance_store] filesystem_store_datadir`.
//!
//! Unlike glance_store (which writes straight into the final name and deletes
//! it on failure), an upload goes to a temporary file that is fsynced and then
//! renamed, so a reader or a crash never sees half an image under its id.
//!
//! Writing, hashing and format inspection run on tokio's blocking pool, one
//! batch of body chunks at a time, while the next batch is being received.
//! A blocking thread is held only while there is disk or hashing work: a slow
//! client cannot pin one for the length of its upload (which would starve the
//! pool that database calls share).

use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::task::JoinHandle;

use super::digest::DataDigest;
use super::inspect::FormatRules;
use super::{HashAlgo, StoreError, StoredData};

/// `spawn_blocking` that keeps the caller's span (the request's, with its id), so the store's
/// WARN and ERROR lines name the request they served.
fn in_span<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
}

/// Temporary upload files start with this; no valid image id does (ids may
/// not start with a dot), so they can be told apart and swept.
const TEMP_PREFIX: &str = ".glint-upload.";
/// A temporary file untouched this long belongs to no live upload (every write
/// refreshes its mtime). Keeping younger ones protects in-flight uploads of
/// other glint processes that share the directory (e.g. over NFS).
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);
/// Download chunk size: one blocking-pool round trip per chunk, so chunks must not be small (64 KiB
/// chunks measured at 0.6x Glance's download throughput). A download holds at most two: the one
/// being sent and the next one being read (with 1 MiB chunks and tokio's own file buffer as a
/// third, 64 parallel downloads took glint to 228 MiB of RSS).
const READ_CHUNK: usize = 256 * 1024;
/// Body bytes handed to the blocking pool at once; at most two batches (one
/// being written, one being received) are held per upload.
const BATCH: usize = 512 * 1024;
/// Write buffering: client chunks are often small; fewer, larger writes.
const WRITE_BUFFER: usize = 256 * 1024;

/// The filesystem image store.
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
    /// The other directories of `filesystem_store_datadirs`: data is read and deleted there
    /// (locations Glance wrote), never written.
    other_dirs: Vec<PathBuf>,
    algo: HashAlgo,
    rules: FormatRules,
}

impl FsStore {
    /// Creates the directory if needed; removes leftover temporary files from
    /// an earlier crash (those older than [`STALE_TEMP_AGE`]).
    pub fn open(root: PathBuf, algo: HashAlgo) -> Result<Self, StoreError> {
        fs::create_dir_all(&root).map_err(StoreError::from_write)?;
        let store = FsStore {
            root,
            other_dirs: Vec::new(),
            algo,
            rules: FormatRules::default(),
        };
        let removed = store.sweep_temp_files(STALE_TEMP_AGE)?;
        if removed > 0 {
            tracing::info!(removed, dir = %store.root.display(), "removed leftover temporary upload files");
        }
        Ok(store)
    }

    /// `[image_format] require_image_format_match` (default true): refuse
    /// uploads whose content is another inspectable format than `disk_format`.
    /// Failed safety checks are refused either way.
    pub fn with_format_match(mut self, required: bool) -> Self {
        self.rules.require_match = required;
        self
    }

    /// `[image_format]` rules for inspected data (`require_image_format_match`,
    /// `vmdk_allowed_types`), the same for every store kind.
    pub fn with_format_rules(mut self, rules: FormatRules) -> Self {
        self.rules = rules;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Adds the other configured store directories (`filesystem_store_datadirs`), creating
    /// them as glance_store does; the root stays the one written to.
    pub fn with_other_dirs(mut self, dirs: &[PathBuf]) -> Result<Self, StoreError> {
        for d in dirs {
            if *d != self.root && !self.other_dirs.contains(d) {
                fs::create_dir_all(d).map_err(StoreError::from_write)?;
                self.other_dirs.push(d.clone());
            }
        }
        Ok(self)
    }

    /// Every directory of this store: the root, then the others.
    pub fn dirs(&self) -> impl Iterator<Item = &Path> {
        std::iter::once(self.root.as_path()).chain(self.other_dirs.iter().map(PathBuf::as_path))
    }

    /// The data file a `file://` location names, if it is a file inside one of this store's
    /// directories (symbolic links resolved: a link out of the store is outside it). `None`
    /// for a missing file, another scheme, a relative path, or a path outside every directory.
    fn within(&self, url: &str) -> Option<PathBuf> {
        let path = location_path(url)?;
        let real = fs::canonicalize(&path).ok()?;
        let inside = self.dirs().any(|d| {
            fs::canonicalize(d)
                .map(|d| real.starts_with(&d) && real != d)
                .unwrap_or(false)
        });
        if !inside {
            tracing::warn!(
                location = url,
                "image location outside every configured store directory: not used"
            );
            return None;
        }
        Some(real)
    }

    /// The data at a location (`file:///path`, as Glance records it), or the inclusive byte
    /// range `[start, end]` of it, as [`FsStore::get`]. A location that does not name a file
    /// inside one of the store's directories is [`StoreError::NotFound`], as a missing file.
    pub async fn get_location(
        &self,
        url: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, FileStream), StoreError> {
        let store = self.clone();
        let url = url.to_owned();
        let opened = in_span(move || {
            let path = store.within(&url).ok_or(StoreError::NotFound)?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            open_range(&path, range).map(|o| (name, o))
        })
        .await
        .map_err(|e| StoreError::Io(io::Error::other(e)))??;
        let (name, (total, file, len)) = opened;
        Ok((total, FileStream::new(name, file, len)))
    }

    /// Removes the data at a location; data already gone is not an error, and a location
    /// outside the store's directories is left alone (glint never deletes outside them).
    pub async fn delete_location(&self, url: &str) -> Result<(), StoreError> {
        let store = self.clone();
        let url = url.to_owned();
        let Some(path) = in_span(move || store.within(&url))
            .await
            .map_err(|e| StoreError::Io(io::Error::other(e)))?
        else {
            return Ok(());
        };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io(e)),
        }
    }

    pub fn hash_algo(&self) -> HashAlgo {
        self.algo
    }

    /// Removes temporary upload files not modified for `min_age`; returns how
    /// many. Files that vanish meanwhile or cannot be removed are skipped.
    pub fn sweep_temp_files(&self, min_age: Duration) -> Result<usize, StoreError> {
        let now = SystemTime::now();
        let mut removed = 0;
        for entry in fs::read_dir(&self.root).map_err(StoreError::Io)? {
            let entry = entry.map_err(StoreError::Io)?;
            if !entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                continue;
            }
            let modified = match entry.metadata().and_then(|m| m.modified()) {
                Ok(t) => t,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(StoreError::Io(e)),
            };
            if now.duration_since(modified).unwrap_or_default() < min_age {
                continue;
            }
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(path = %entry.path().display(), error = %e, "cannot remove temporary upload file");
                }
            }
        }
        Ok(removed)
    }

    /// Streams `body` into the image's file: a temporary file in the same
    /// directory is written while md5 and the configured hash are computed,
    /// more than `size_cap` bytes abort at once, then fsync, rename, fsync of
    /// the directory. An existing file for the id is replaced.
    ///
    /// `disk_format` turns on Glance's format inspection (virtual size,
    /// format match, safety checks): pass it only for `bare` containers, as
    /// Glance inspects nothing else; `None` gives `virtual_size: None`.
    ///
    /// On any error, and if the returned future is dropped before the end of
    /// the body, nothing is left behind.
    pub async fn put<S, E>(
        &self,
        image_id: &str,
        mut body: S,
        size_cap: u64,
        disk_format: Option<&str>,
    ) -> Result<StoredData, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let final_path = self.resolve(image_id)?;
        let plan = Plan {
            root: self.root.clone(),
            temp_path: self.root.join(format!(
                "{TEMP_PREFIX}{image_id}.{}",
                uuid::Uuid::new_v4().simple()
            )),
            final_path,
            algo: self.algo,
            inspect: disk_format.map(|f| (f.to_owned(), self.rules.clone())),
        };
        // The upload (file, digests) lives in the blocking job or in its
        // JoinHandle's output: dropping this future drops it, removing the file.
        let mut pending: Option<JoinHandle<Result<Upload, StoreError>>> = None;
        let mut batch = Batch::default();
        let mut received: u64 = 0;
        let fed: Result<(), StoreError> = async {
            while let Some(item) = body.next().await {
                let chunk = item.map_err(|e| StoreError::Client(e.to_string()))?;
                received = received.saturating_add(chunk.len() as u64);
                if received > size_cap {
                    return Err(StoreError::TooLarge { cap: size_cap });
                }
                if batch.push(chunk) >= BATCH {
                    let previous = match pending.take() {
                        Some(job) => Some(join(job).await?),
                        None => None,
                    };
                    let (plan, chunks) = (plan.clone(), batch.take());
                    pending = Some(in_span(move || {
                        let mut upload = Upload::resume(previous, &plan)?;
                        upload.write(&chunks)?;
                        Ok(upload)
                    }));
                }
            }
            Ok(())
        }
        .await;
        if let Err(e) = fed {
            // Wait for the job in flight so that no file outlives this call.
            if let Some(job) = pending {
                if let Ok(Ok(upload)) = job.await {
                    let _ = in_span(move || drop(upload)).await;
                }
            }
            return Err(e);
        }
        let previous = match pending {
            Some(job) => Some(join(job).await?),
            None => None,
        };
        let chunks = batch.take();
        join(in_span(move || {
            let mut upload = Upload::resume(previous, &plan)?;
            upload.write(&chunks)?;
            upload.commit(&plan)
        }))
        .await
    }

    /// Opens the image's data for reading, optionally only the inclusive byte
    /// range `[start, end]` (`end` is clamped to the last byte). Returns the
    /// full data length and a stream of chunks of up to 256 KiB, read ahead by one.
    ///
    /// A range starting at or past the end, or with `end < start`, is
    /// [`StoreError::RangeNotSatisfiable`].
    pub async fn get(
        &self,
        image_id: &str,
        range: Option<(u64, u64)>,
    ) -> Result<(u64, FileStream), StoreError> {
        let path = self.resolve(image_id)?;
        let id = image_id.to_owned();
        // Open, stat and seek in one trip to the blocking pool.
        let opened = in_span(move || open_range(&path, range))
            .await
            .map_err(|e| StoreError::Io(io::Error::other(e)))??;
        let (total, file, len) = opened;
        Ok((total, FileStream::new(id, file, len)))
    }

    /// Removes the image's data; a missing file is fine (Glance's delete path
    /// tolerates data that is already gone).
    pub async fn delete(&self, image_id: &str) -> Result<(), StoreError> {
        let path = self.resolve(image_id)?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StoreError::Io(e)),
        }
    }

    /// Copies image `from`'s data to image `to` inside this store (a shared image copied as the
    /// caller's own): `std::fs::copy` into a temporary file of the same directory, which lets
    /// the kernel copy without a trip through user space (`copy_file_range`, a reflink on
    /// filesystems that share extents), then fsync, rename, fsync of the directory, as `put`
    /// does. Returns the bytes copied. A failed or abandoned copy leaves at most a temporary
    /// file, which the temp-file sweep removes.
    pub async fn copy(&self, from: &str, to: &str) -> Result<u64, StoreError> {
        let source = self.resolve(from)?;
        let final_path = self.resolve(to)?;
        let root = self.root.clone();
        let temp = self.root.join(format!(
            "{TEMP_PREFIX}{to}.{}",
            uuid::Uuid::new_v4().simple()
        ));
        join(in_span(move || {
            let copied = (|| {
                let n = match fs::copy(&source, &temp) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::NotFound && !source.exists() => {
                        return Err(StoreError::NotFound)
                    }
                    Err(e) => return Err(StoreError::from_write(e)),
                };
                File::open(&temp)
                    .and_then(|f| f.sync_all())
                    .map_err(StoreError::from_write)?;
                fs::rename(&temp, &final_path).map_err(StoreError::from_write)?;
                if let Err(e) = File::open(&root).and_then(|d| d.sync_all()) {
                    let _ = fs::remove_file(&final_path);
                    return Err(StoreError::from_write(e));
                }
                Ok(n)
            })();
            if copied.is_err() {
                let _ = fs::remove_file(&temp);
            }
            copied
        }))
        .await
    }

    /// The image's location URL as glance_store's file driver writes it: `file://` and the
    /// absolute path of the data file.
    pub fn location(&self, image_id: &str) -> String {
        let path =
            std::path::absolute(self.path_of(image_id)).unwrap_or_else(|_| self.path_of(image_id));
        format!("file://{}", path.display())
    }

    /// Where the image's data lives (tests and diagnostics; no validation).
    pub fn path_of(&self, image_id: &str) -> PathBuf {
        self.root.join(image_id)
    }

    /// The image's path, for ids that can only name a file directly in the
    /// root. Ids come validated as UUIDs; this is the last line of defence.
    fn resolve(&self, image_id: &str) -> Result<PathBuf, StoreError> {
        let bad = image_id.is_empty()
            || image_id.starts_with('.')
            || image_id.contains("..")
            || image_id.contains(['/', '\\', '\0']);
        if bad {
            return Err(StoreError::NotFound);
        }
        Ok(self.root.join(image_id))
    }
}

/// Waits for a blocking job; a panic in it becomes an I/O error.
async fn join<T>(job: JoinHandle<Result<T, StoreError>>) -> Result<T, StoreError> {
    job.await
        .map_err(|e| StoreError::Io(io::Error::other(format!("image writer failed: {e}"))))?
}

/// Body chunks waiting to be written.
#[derive(Default)]
struct Batch {
    chunks: Vec<Bytes>,
    len: usize,
}

impl Batch {
    /// Adds a chunk; returns the bytes now held.
    fn push(&mut self, chunk: Bytes) -> usize {
        if !chunk.is_empty() {
            self.len += chunk.len();
            self.chunks.push(chunk);
        }
        self.len
    }

    fn take(&mut self) -> Vec<Bytes> {
        self.len = 0;
        std::mem::take(&mut self.chunks)
    }
}

/// Where and how one upload is written.
#[derive(Clone)]
struct Plan {
    root: PathBuf,
    temp_path: PathBuf,
    final_path: PathBuf,
    algo: HashAlgo,
    /// `(disk_format, [image_format] rules)` when inspecting.
    inspect: Option<(String, crate::store::inspect::FormatRules)>,
}

/// An upload in progress: its temporary file and running digests. Dropping
/// it before [`Upload::commit`] removes the temporary file.
struct Upload {
    temp_path: PathBuf,
    out: Option<BufWriter<File>>,
    /// Taken by [`Upload::commit`].
    digest: Option<DataDigest>,
}

impl Upload {
    /// Continues `previous`, or starts the upload (creating its file).
    fn resume(previous: Option<Upload>, plan: &Plan) -> Result<Upload, StoreError> {
        if let Some(upload) = previous {
            return Ok(upload);
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&plan.temp_path)
            .map_err(StoreError::from_write)?;
        Ok(Upload {
            temp_path: plan.temp_path.clone(),
            out: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            digest: Some(DataDigest::new(plan.algo, plan.inspect.clone())),
        })
    }

    fn write(&mut self, chunks: &[Bytes]) -> Result<(), StoreError> {
        let out = self.out.as_mut().ok_or_else(closed)?;
        let digest = self.digest.as_mut().ok_or_else(closed)?;
        for chunk in chunks {
            digest.update(chunk);
            out.write_all(chunk).map_err(StoreError::from_write)?;
        }
        Ok(())
    }

    /// Checks the format, makes the data durable under its final name.
    fn commit(mut self, plan: &Plan) -> Result<StoredData, StoreError> {
        let file = self
            .out
            .take()
            .ok_or_else(closed)?
            .into_inner()
            .map_err(|e| StoreError::from_write(e.into_error()))?;
        let data = self.digest.take().ok_or_else(closed)?.finish()?;
        file.sync_all().map_err(StoreError::from_write)?;
        drop(file);
        fs::rename(&self.temp_path, &plan.final_path).map_err(StoreError::from_write)?;
        if let Err(e) = File::open(&plan.root).and_then(|d| d.sync_all()) {
            // Not durable: do not report success, and leave nothing behind.
            let _ = fs::remove_file(&plan.final_path);
            return Err(StoreError::from_write(e));
        }
        tracing::debug!(
            path = %plan.final_path.display(),
            size = data.size,
            checksum = %data.checksum,
            "wrote image data"
        );
        Ok(data)
    }
}

fn closed() -> StoreError {
    StoreError::Io(io::Error::other("upload file already closed"))
}

impl Drop for Upload {
    fn drop(&mut self) {
        // Close without flushing: the data is being thrown away.
        if let Some(out) = self.out.take() {
            drop(out.into_parts());
        }
        // After a successful commit the temporary name no longer exists.
        if let Err(e) = fs::remove_file(&self.temp_path) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(path = %self.temp_path.display(), error = %e, "cannot remove temporary upload file");
            }
        }
    }
}

/// Opens `path` at the start of `range` (see [`FsStore::get`]): the data length, the file,
/// and the number of bytes to send.
/// The path of a filesystem location as glance_store's file driver reads it: the URL after
/// `file://` (or `filesystem://`), up to a query or fragment. Only absolute paths: a relative
/// one would depend on the process's working directory.
pub fn location_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("file://")
        .or_else(|| url.strip_prefix("filesystem://"))?;
    let path = rest.split(['?', '#']).next().unwrap_or_default().trim();
    let path = Path::new(path);
    path.is_absolute().then(|| path.to_path_buf())
}

fn open_range(path: &Path, range: Option<(u64, u64)>) -> Result<(u64, File, u64), StoreError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(StoreError::NotFound),
        Err(e) => return Err(StoreError::Io(e)),
    };
    let meta = file.metadata().map_err(StoreError::Io)?;
    if !meta.is_file() {
        return Err(StoreError::NotFound);
    }
    let total = meta.len();
    let (start, len) = match range {
        None => (0, total),
        Some((start, end)) => {
            if start >= total || end < start {
                return Err(StoreError::RangeNotSatisfiable { size: total });
            }
            (start, end.min(total - 1) - start + 1)
        }
    };
    if start > 0 {
        file.seek(SeekFrom::Start(start)).map_err(StoreError::Io)?;
    }
    Ok((total, file, len))
}

type ChunkRead = JoinHandle<(File, io::Result<Vec<u8>>)>;

/// Image data being read from disk, chunk by chunk. Each chunk is read on the blocking pool
/// straight into the buffer that is sent (no intermediate file buffer, no zeroing), and the
/// next chunk is read while the current one is being sent.
#[derive(Debug)]
pub struct FileStream {
    /// For the log when a read fails mid-download.
    image_id: String,
    /// Bytes not yet handed to a read.
    unread: u64,
    /// Bytes not yet yielded.
    remaining: u64,
    /// The file, while no read holds it.
    file: Option<File>,
    reading: Option<ChunkRead>,
}

impl FileStream {
    fn new(image_id: String, file: File, len: u64) -> Self {
        let mut stream = FileStream {
            image_id,
            unread: len,
            remaining: len,
            file: Some(file),
            reading: None,
        };
        stream.start_read();
        stream
    }

    /// Bytes not yet yielded.
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    fn start_read(&mut self) {
        if self.unread == 0 || self.reading.is_some() {
            return;
        }
        let Some(mut file) = self.file.take() else {
            return;
        };
        let want = self.unread.min(READ_CHUNK as u64);
        self.unread -= want;
        self.reading = Some(in_span(move || {
            // `Vec::with_capacity` + `read_to_end`: the file reads into the spare capacity.
            let mut buf = Vec::with_capacity(want as usize);
            let read = (&mut file).take(want).read_to_end(&mut buf).map(|_| buf);
            (file, read)
        }));
    }

    /// Ends the stream with `e`: the client sees its response cut short (the status and length
    /// are already sent), so the cause is logged here.
    fn fail(&mut self, e: io::Error) -> Poll<Option<io::Result<Bytes>>> {
        tracing::error!(
            image_id = %self.image_id,
            unsent = self.remaining,
            error = %e,
            "reading image data failed during a download; the response was cut short"
        );
        self.remaining = 0;
        self.unread = 0;
        self.reading = None;
        Poll::Ready(Some(Err(e)))
    }
}

impl Stream for FileStream {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        this.start_read();
        let Some(reading) = this.reading.as_mut() else {
            return this.fail(io::Error::other("image file read lost"));
        };
        let (file, read) = match Pin::new(reading).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return this.fail(io::Error::other(e)),
            Poll::Ready(Ok(done)) => done,
        };
        this.reading = None;
        this.file = Some(file);
        match read {
            Err(e) => this.fail(e),
            Ok(buf) if buf.is_empty() => this.fail(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "image file ended before its expected length",
            )),
            Ok(buf) => {
                this.remaining = this.remaining.saturating_sub(buf.len() as u64);
                // No read is in flight now: everything not yielded is unread (after a short
                // read, the next one meets the end of the file and reports it).
                this.unread = this.remaining;
                this.start_read();
                Poll::Ready(Some(Ok(Bytes::from(buf))))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let chunks =
            usize::try_from(self.remaining.div_ceil(READ_CHUNK as u64)).unwrap_or(usize::MAX);
        (usize::from(self.remaining > 0), Some(chunks))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::inspect::tests::qcow2_image;
    use futures_util::stream;
    use md5::{Digest, Md5};
    use std::collections::BTreeSet;
    use std::convert::Infallible;

    const FOX: &[u8] = b"The quick brown fox jumps over the lazy dog";
    const FOX_MD5: &str = "9e107d9d372bb6826bd81d3542a419d6";
    const FOX_SHA512: &str = "07e547d9586f6a73f73fbac0435ed76951218fb7d0c8d788a309d785436bbb642e93a252a954f23912547d1e8a3b5ed6e1bfd7097821233fa0538f3db854fee6";
    const FOX_SHA256: &str = "d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592";
    const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const EMPTY_SHA512: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    const ID: &str = "6f1c1e54-3a8e-4f2c-9b1e-2f7f3c8e9d01";
    const CAP: u64 = 1 << 40;

    fn store() -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::open(dir.path().join("images"), HashAlgo::Sha512).expect("open");
        (dir, store)
    }

    fn body(parts: Vec<&[u8]>) -> impl Stream<Item = Result<Bytes, Infallible>> + Unpin {
        stream::iter(
            parts
                .into_iter()
                .map(|p| Ok(Bytes::copy_from_slice(p)))
                .collect::<Vec<_>>(),
        )
    }

    fn entries(store: &FsStore) -> BTreeSet<String> {
        fs::read_dir(store.root())
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }

    async fn read_all(store: &FsStore, id: &str, range: Option<(u64, u64)>) -> (u64, Vec<u8>) {
        let (total, mut s) = store.get(id, range).await.expect("get");
        let mut out = Vec::new();
        while let Some(chunk) = s.next().await {
            let chunk = chunk.expect("chunk");
            assert!(!chunk.is_empty() && chunk.len() <= READ_CHUNK);
            out.extend_from_slice(&chunk);
        }
        (total, out)
    }

    #[tokio::test]
    async fn round_trip_with_known_digests() {
        let (_dir, store) = store();
        let data = store
            .put(ID, body(vec![FOX]), CAP, Some("raw"))
            .await
            .expect("put");
        assert_eq!(
            data,
            StoredData {
                size: FOX.len() as u64,
                checksum: FOX_MD5.to_owned(),
                hash_algo: "sha512".to_owned(),
                hash_value: FOX_SHA512.to_owned(),
                virtual_size: Some(FOX.len() as u64),
            }
        );
        assert_eq!(fs::read(store.path_of(ID)).expect("read"), FOX);
        assert_eq!(entries(&store), BTreeSet::from([ID.to_owned()]));
        assert_eq!(
            read_all(&store, ID, None).await,
            (FOX.len() as u64, FOX.to_vec())
        );
    }

    #[tokio::test]
    async fn chunked_body_and_other_algorithm() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::open(dir.path().to_path_buf(), HashAlgo::Sha256).expect("open");
        let parts: Vec<&[u8]> = vec![
            b"The ",
            b"",
            b"quick brown",
            b" fox jumps over the lazy",
            b" dog",
        ];
        let data = store.put(ID, body(parts), CAP, None).await.expect("put");
        assert_eq!(data.size, FOX.len() as u64);
        assert_eq!(data.checksum, FOX_MD5);
        assert_eq!(
            (data.hash_algo.as_str(), data.hash_value.as_str()),
            ("sha256", FOX_SHA256)
        );
        assert_eq!(data.virtual_size, None, "no disk_format, no inspection");
        assert_eq!(fs::read(store.path_of(ID)).expect("read"), FOX);
    }

    #[tokio::test]
    async fn large_multi_chunk_round_trip() {
        let (_dir, store) = store();
        let big: Vec<u8> = (0..=250u8).cycle().take(1_000_003).collect();
        let parts: Vec<&[u8]> = big.chunks(7_777).collect();
        let data = store
            .put(ID, body(parts), CAP, Some("raw"))
            .await
            .expect("put");
        assert_eq!(data.size, big.len() as u64);
        assert_eq!(data.virtual_size, Some(big.len() as u64));
        let mut md5 = Md5::new();
        md5.update(&big);
        assert_eq!(data.checksum, hex::encode(md5.finalize()));
        let (total, back) = read_all(&store, ID, None).await;
        assert_eq!(total, big.len() as u64);
        assert!(back == big);
    }

    #[tokio::test]
    async fn empty_upload() {
        let (_dir, store) = store();
        let data = store
            .put(ID, body(vec![]), CAP, Some("raw"))
            .await
            .expect("put");
        assert_eq!(data.size, 0);
        assert_eq!(data.checksum, EMPTY_MD5);
        assert_eq!(data.hash_value, EMPTY_SHA512);
        assert_eq!(
            data.virtual_size, None,
            "Glance stores a zero virtual size as null"
        );
        assert_eq!(read_all(&store, ID, None).await, (0, Vec::new()));
    }

    #[tokio::test]
    async fn size_cap() {
        let (_dir, store) = store();
        // Exactly at the cap is fine.
        let ok = store
            .put(ID, body(vec![b"12345", b"67890"]), 10, None)
            .await
            .expect("put");
        assert_eq!(ok.size, 10);
        store.delete(ID).await.expect("delete");
        // One byte more, in any chunk, is not; nothing is left behind.
        for parts in [
            vec![&b"12345"[..], b"678901"],
            vec![b"12345678901"],
            vec![b"1234567890", b"1"],
        ] {
            let err = store
                .put(ID, body(parts), 10, None)
                .await
                .expect_err("too large");
            assert!(matches!(err, StoreError::TooLarge { cap: 10 }), "{err:?}");
            assert!(entries(&store).is_empty(), "{:?}", entries(&store));
        }
    }

    #[tokio::test]
    async fn cap_aborts_without_reading_the_rest() {
        let (_dir, store) = store();
        // An endless body: only the cap can end this upload.
        let endless = stream::repeat_with(|| Ok::<_, Infallible>(Bytes::from_static(&[7u8; 4096])));
        let err = store
            .put(ID, endless, 100_000, None)
            .await
            .expect_err("too large");
        assert!(matches!(err, StoreError::TooLarge { .. }));
        assert!(entries(&store).is_empty());
    }

    #[tokio::test]
    async fn client_stream_error_leaves_nothing() {
        let (_dir, store) = store();
        let items: Vec<Result<Bytes, String>> = vec![
            Ok(Bytes::from_static(&[1u8; 100_000])),
            Ok(Bytes::from_static(b"more")),
            Err("connection reset by peer".to_owned()),
            Ok(Bytes::from_static(b"never read")),
        ];
        let err = store
            .put(ID, stream::iter(items), CAP, Some("raw"))
            .await
            .expect_err("client");
        match err {
            StoreError::Client(m) => assert_eq!(m, "connection reset by peer"),
            other => panic!("unexpected {other:?}"),
        }
        assert!(entries(&store).is_empty());
        assert!(matches!(
            store.get(ID, None).await,
            Err(StoreError::NotFound)
        ));
    }

    async fn wait_for(
        store: &FsStore,
        done: impl Fn(&BTreeSet<String>) -> bool,
    ) -> BTreeSet<String> {
        let mut seen = entries(store);
        for _ in 0..200 {
            if done(&seen) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            seen = entries(store);
        }
        seen
    }

    #[tokio::test]
    async fn dropped_upload_leaves_nothing() {
        let (_dir, store) = store();
        // Enough data to start writing, then a body that never ends: the
        // request is abandoned (client gone, handler future dropped).
        let first = Bytes::from(vec![5u8; BATCH + 1]);
        let body = stream::iter(vec![Ok::<_, Infallible>(first)]).chain(stream::pending());
        let task = {
            let store = store.clone();
            tokio::spawn(async move { store.put(ID, body, CAP, Some("raw")).await })
        };
        let during = wait_for(&store, |s| !s.is_empty()).await;
        assert_eq!(during.len(), 1, "the upload started writing");
        task.abort();
        assert!(task.await.expect_err("aborted").is_cancelled());
        let after = wait_for(&store, BTreeSet::is_empty).await;
        assert!(after.is_empty(), "temporary file left behind: {after:?}");
    }

    #[tokio::test]
    async fn vanished_directory_is_an_io_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("gone");
        let store = FsStore::open(root.clone(), HashAlgo::Sha512).expect("open");
        fs::remove_dir(&root).expect("rmdir");
        let err = store
            .put(ID, body(vec![FOX]), CAP, None)
            .await
            .expect_err("no dir");
        assert!(matches!(err, StoreError::Io(_)), "{err:?}");
    }

    #[tokio::test]
    async fn upload_in_progress_uses_a_temporary_name() {
        let (_dir, store) = store();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Result<Bytes, Infallible>>();
        let body = Box::pin(stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let writer = {
            let store = store.clone();
            tokio::spawn(async move { store.put(ID, body, CAP, None).await })
        };
        tx.send(Ok(Bytes::from(vec![1u8; 2 * BATCH])))
            .expect("send");
        let seen = wait_for(&store, |s| !s.is_empty()).await;
        assert_eq!(seen.len(), 1);
        assert!(seen.iter().all(|n| n.starts_with(TEMP_PREFIX)), "{seen:?}");
        assert!(
            !store.path_of(ID).exists(),
            "no data under the id before the end"
        );
        drop(tx);
        let data = writer.await.expect("join").expect("put");
        assert_eq!(data.size, 2 * BATCH as u64);
        assert_eq!(entries(&store), BTreeSet::from([ID.to_owned()]));
    }

    #[tokio::test]
    async fn replaces_existing_data() {
        let (_dir, store) = store();
        store
            .put(ID, body(vec![b"first version"]), CAP, None)
            .await
            .expect("put");
        store
            .put(ID, body(vec![FOX]), CAP, None)
            .await
            .expect("put");
        assert_eq!(fs::read(store.path_of(ID)).expect("read"), FOX);
        assert_eq!(entries(&store).len(), 1);
    }

    #[tokio::test]
    async fn range_reads() {
        let (_dir, store) = store();
        let data: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
        store
            .put(ID, body(vec![&data]), CAP, None)
            .await
            .expect("put");
        let len = data.len() as u64;
        let ok_cases: [(u64, u64, std::ops::RangeInclusive<usize>); 6] = [
            (0, 0, 0..=0),
            (0, 9, 0..=9),
            (10, 19, 10..=19),
            (len - 1, len - 1, 199_999..=199_999),
            (1023, 150_000, 1023..=150_000),
            (199_990, u64::MAX, 199_990..=199_999),
        ];
        for (start, end, want) in ok_cases {
            let (total, got) = read_all(&store, ID, Some((start, end))).await;
            assert_eq!(total, len);
            assert!(got == data[want.clone()], "{start}-{end}");
        }
        for (start, end) in [(len, len + 10), (len + 5, u64::MAX), (10, 9)] {
            match store.get(ID, Some((start, end))).await {
                Err(StoreError::RangeNotSatisfiable { size }) => assert_eq!(size, len),
                Err(e) => panic!("{start}-{end}: {e:?}"),
                Ok(_) => panic!("{start}-{end}: accepted"),
            }
        }
        // A range on empty data is never satisfiable.
        store.put(ID, body(vec![]), CAP, None).await.expect("put");
        assert!(matches!(
            store.get(ID, Some((0, 0))).await,
            Err(StoreError::RangeNotSatisfiable { size: 0 })
        ));
    }

    #[tokio::test]
    async fn download_is_lazy_and_survives_delete() {
        let (_dir, store) = store();
        let data = vec![42u8; 3 * READ_CHUNK + 5];
        store
            .put(ID, body(vec![&data]), CAP, None)
            .await
            .expect("put");
        let (_, mut s) = store.get(ID, None).await.expect("get");
        assert_eq!(s.size_hint(), (1, Some(4)));
        let first = s.next().await.expect("some").expect("ok");
        assert_eq!(first.len(), READ_CHUNK);
        // Deleting (or replacing) the image does not break a download in progress.
        store.delete(ID).await.expect("delete");
        let mut rest = first.len();
        while let Some(chunk) = s.next().await {
            rest += chunk.expect("chunk").len();
        }
        assert_eq!(rest, data.len());
        assert_eq!(s.remaining(), 0);
    }

    #[tokio::test]
    async fn a_file_cut_short_under_a_download_ends_it_with_an_error() {
        let (_dir, store) = store();
        let data = vec![7u8; 4 * READ_CHUNK];
        store
            .put(ID, body(vec![&data]), CAP, None)
            .await
            .expect("put");
        let (total, mut s) = store.get(ID, None).await.expect("get");
        assert_eq!(total, data.len() as u64);
        // The first chunk and the one read ahead may already be in memory; cut the file after
        // the second chunk, so the third read meets its end.
        let first = s.next().await.expect("some").expect("ok");
        assert_eq!(first.len(), READ_CHUNK);
        let file = OpenOptions::new()
            .write(true)
            .open(store.path_of(ID))
            .expect("open");
        file.set_len(2 * READ_CHUNK as u64 + 10).expect("truncate");
        let mut got = first.len();
        let mut failed = None;
        while let Some(chunk) = s.next().await {
            match chunk {
                Ok(c) => got += c.len(),
                Err(e) => {
                    failed = Some(e.kind());
                    break;
                }
            }
        }
        assert_eq!(got, 2 * READ_CHUNK + 10);
        assert_eq!(failed, Some(io::ErrorKind::UnexpectedEof));
        // A failed stream is over: no more chunks, nothing owed.
        assert!(s.next().await.is_none());
        assert_eq!(s.remaining(), 0);
    }

    #[tokio::test]
    async fn delete_is_idempotent() {
        let (_dir, store) = store();
        store
            .put(ID, body(vec![FOX]), CAP, None)
            .await
            .expect("put");
        store.delete(ID).await.expect("delete");
        assert!(!store.path_of(ID).exists());
        store.delete(ID).await.expect("second delete");
        assert!(matches!(
            store.get(ID, None).await,
            Err(StoreError::NotFound)
        ));
    }

    #[tokio::test]
    async fn ids_cannot_escape_the_root() {
        let (dir, store) = store();
        fs::write(dir.path().join("outside"), b"secret").expect("write");
        let bad = [
            "",
            "..",
            "../outside",
            "a/b",
            "a\\b",
            "/etc/passwd",
            ".hidden",
            ".glint-upload.x",
            "x\0y",
        ];
        for id in bad {
            let put = store.put(id, body(vec![FOX]), CAP, None).await;
            assert!(matches!(put, Err(StoreError::NotFound)), "put {id:?}");
            assert!(
                matches!(store.get(id, None).await, Err(StoreError::NotFound)),
                "get {id:?}"
            );
            assert!(
                matches!(store.delete(id).await, Err(StoreError::NotFound)),
                "delete {id:?}"
            );
        }
        assert!(entries(&store).is_empty());
        assert_eq!(
            fs::read(dir.path().join("outside")).expect("read"),
            b"secret"
        );
    }

    #[tokio::test]
    async fn open_sweeps_stale_temp_files_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let stale = dir.path().join(format!("{TEMP_PREFIX}{ID}.0123"));
        let fresh = dir.path().join(format!("{TEMP_PREFIX}{ID}.4567"));
        let image = dir.path().join(ID);
        for p in [&stale, &fresh, &image] {
            fs::write(p, b"x").expect("write");
        }
        let old = SystemTime::now() - STALE_TEMP_AGE - Duration::from_secs(60);
        File::options()
            .write(true)
            .open(&stale)
            .and_then(|f| f.set_modified(old))
            .expect("set mtime");
        let store = FsStore::open(dir.path().to_path_buf(), HashAlgo::Sha512).expect("open");
        assert!(!stale.exists(), "a leftover from a crash is removed");
        assert!(
            fresh.exists(),
            "a possibly live upload of another process is kept"
        );
        assert!(image.exists());
        assert_eq!(store.sweep_temp_files(Duration::ZERO).expect("sweep"), 1);
        assert_eq!(entries(&store), BTreeSet::from([ID.to_owned()]));
    }

    #[tokio::test]
    async fn qcow2_virtual_size_from_header() {
        let (_dir, store) = store();
        let image = qcow2_image(3, 20 << 30, 0, 0, 196_608);
        let parts: Vec<&[u8]> = image.chunks(1000).collect();
        let data = store
            .put(ID, body(parts), CAP, Some("qcow2"))
            .await
            .expect("put");
        assert_eq!(data.size, image.len() as u64);
        assert_eq!(data.virtual_size, Some(20 << 30));
        // The same bytes claimed raw: the byte count, as Glance does.
        let data = store
            .put(ID, body(vec![&image]), CAP, Some("raw"))
            .await
            .expect("put");
        assert_eq!(data.virtual_size, Some(image.len() as u64));
    }

    #[tokio::test]
    async fn format_mismatch_and_unsafe_images_are_refused() {
        let (_dir, store) = store();
        let err = store
            .put(ID, body(vec![FOX]), CAP, Some("qcow2"))
            .await
            .expect_err("mismatch");
        match err {
            StoreError::InvalidImageData(m) => {
                assert_eq!(m, "Image disk_format qcow2 does not match stream data raw")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(entries(&store).is_empty());

        let backing = qcow2_image(3, 1 << 30, 0x1000, 0, 4096);
        let err = store
            .put(ID, body(vec![&backing]), CAP, Some("raw"))
            .await
            .expect_err("unsafe");
        assert_eq!(err.to_string(), "Image failed safety checks");
        assert!(entries(&store).is_empty());

        // Without require_image_format_match a mismatch only loses the virtual size.
        let lenient = store.clone().with_format_match(false);
        let data = lenient
            .put(ID, body(vec![FOX]), CAP, Some("qcow2"))
            .await
            .expect("put");
        assert_eq!(data.virtual_size, None);
        assert!(lenient
            .put(ID, body(vec![&backing]), CAP, Some("raw"))
            .await
            .is_err());
    }

    #[tokio::test]
    async fn open_creates_nested_directories() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("a/b/c");
        let store = FsStore::open(root.clone(), HashAlgo::default()).expect("open");
        assert!(root.is_dir());
        assert_eq!(store.root(), root);
        assert_eq!(store.hash_algo(), HashAlgo::Sha512);
        // A root that is a file cannot be opened.
        let file = dir.path().join("file");
        fs::write(&file, b"").expect("write");
        assert!(FsStore::open(file, HashAlgo::Sha512).is_err());
    }
}
