//! `raw_responses` without every body in memory: [`RawSpool`] keeps response bodies in a temporary file as they
//! arrive and only their metadata in memory, and one byte-bounded writer turns either a spool or plain rows into
//! `raw_responses.parquet`, so the same rows give the same bytes whichever way they came.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, RandomState};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use evidence::{RawResponseRow, Table};
use parquet::arrow::ArrowWriter;

use crate::Error;
use crate::parquet_writer::{HashingWriter, writer_properties};

/// Most body bytes in one Arrow batch (and row group) of `raw_responses`; a larger body is a batch of its own.
/// Bounds what writing holds: one batch of bodies read back, the batch, and its encoded row group.
pub const RAW_BATCH_BYTES: u64 = 32 * 1024 * 1024;
/// Most rows in one Arrow batch (and row group) of `raw_responses`.
pub const RAW_BATCH_ROWS: usize = 64 * 1024;

/// Write buffer of the spool file: bodies are a few KiB each, so this turns many small writes into few.
const SPOOL_BUFFER_BYTES: usize = 1024 * 1024;

/// Every column of a `raw_responses` row but the body, and where the body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponseMeta {
    /// Entra tenant the snapshot was taken from.
    pub tenant_id: String,
    /// Snapshot id.
    pub snapshot_id: String,
    /// SHA-256 of the body, lower-case hex.
    pub sha256: String,
    /// HTTP method.
    pub method: String,
    /// Request URL.
    pub url: String,
    /// `api-version` asked for.
    pub api_version: Option<String>,
    /// HTTP status of the response.
    pub http_status: i64,
    /// Length of the body in bytes.
    pub body_len: u64,
    /// Offset of the body in the spool file, or the row's position in a slice of plain rows.
    body_at: u64,
}

impl RawResponseMeta {
    fn split(row: RawResponseRow, body_at: u64) -> (Self, Vec<u8>) {
        let RawResponseRow { tenant_id, snapshot_id, sha256, method, url, api_version, http_status, body } = row;
        let meta = Self {
            tenant_id,
            snapshot_id,
            sha256,
            method,
            url,
            api_version,
            http_status,
            body_len: body.len() as u64,
            body_at,
        };
        (meta, body)
    }

    fn with_body(&self, body: Vec<u8>) -> RawResponseRow {
        RawResponseRow {
            tenant_id: self.tenant_id.clone(),
            snapshot_id: self.snapshot_id.clone(),
            sha256: self.sha256.clone(),
            method: self.method.clone(),
            url: self.url.clone(),
            api_version: self.api_version.clone(),
            http_status: self.http_status,
            body,
        }
    }

    fn has_key(&self, sha256: &str, url: &str) -> bool {
        self.sha256 == sha256 && self.url == url
    }

    /// The columns in table order, which is how the table's sort breaks a tie between rows of one key.
    fn columns(&self) -> (&str, &str, &str, &str, &str, Option<&str>, i64) {
        (
            &self.tenant_id,
            &self.snapshot_id,
            &self.sha256,
            &self.method,
            &self.url,
            self.api_version.as_deref(),
            self.http_status,
        )
    }
}

/// What becomes of a row offered to a [`RawIndex`].
enum Placement {
    /// Its key is new.
    New,
    /// Its key is there, but this row sorts first by every column, so it takes the place of row `.0`.
    Replaces(usize),
    /// Its key is there with a row that sorts first (or the same row): dropped.
    Dropped,
}

/// The metadata of `raw_responses` rows, one per primary key (sha256, url). Of rows sharing a key the one the
/// table's sort puts first is kept, so what is kept does not depend on the order rows arrive in.
#[derive(Debug, Default)]
struct RawIndex {
    rows: Vec<RawResponseMeta>,
    /// Hash of (sha256, url) → position in `rows`; keys are not stored twice.
    by_key: HashMap<u64, usize>,
    hasher: RandomState,
}

impl RawIndex {
    /// Plain rows: `body_at` is each row's position in `rows`.
    fn from_rows(rows: &[RawResponseRow]) -> Self {
        let mut index = Self::default();
        for (at, row) in rows.iter().enumerate() {
            let meta = RawResponseMeta { body_len: row.body.len() as u64, body_at: at as u64, ..meta_of(row) };
            let placement = index.place(&meta);
            index.insert(meta, placement);
        }
        index
    }

    fn find(&self, sha256: &str, url: &str) -> Option<usize> {
        match self.by_key.get(&self.hasher.hash_one((sha256, url))) {
            None => None,
            Some(&at) if self.rows[at].has_key(sha256, url) => Some(at),
            // Two keys with one 64-bit hash: so rare that a scan costs nothing overall.
            Some(_) => self.rows.iter().position(|m| m.has_key(sha256, url)),
        }
    }

    fn place(&self, meta: &RawResponseMeta) -> Placement {
        match self.find(&meta.sha256, &meta.url) {
            None => Placement::New,
            Some(at) if meta.columns() < self.rows[at].columns() => Placement::Replaces(at),
            Some(_) => Placement::Dropped,
        }
    }

    fn insert(&mut self, meta: RawResponseMeta, placement: Placement) {
        match placement {
            Placement::New => {
                let hash = self.hasher.hash_one((meta.sha256.as_str(), meta.url.as_str()));
                // On a hash collision the slot keeps the first key; `find` scans for the other.
                self.by_key.entry(hash).or_insert(self.rows.len());
                self.rows.push(meta);
            }
            Placement::Replaces(at) => self.rows[at] = meta,
            Placement::Dropped => {}
        }
    }

    /// The rows in primary-key order (keys are unique, so the order is total).
    fn sorted(&self) -> Vec<&RawResponseMeta> {
        let mut sorted: Vec<&RawResponseMeta> = self.rows.iter().collect();
        sorted.sort_unstable_by(|a, b| (&a.sha256, &a.url).cmp(&(&b.sha256, &b.url)));
        sorted
    }
}

fn meta_of(row: &RawResponseRow) -> RawResponseMeta {
    RawResponseMeta {
        tenant_id: row.tenant_id.clone(),
        snapshot_id: row.snapshot_id.clone(),
        sha256: row.sha256.clone(),
        method: row.method.clone(),
        url: row.url.clone(),
        api_version: row.api_version.clone(),
        http_status: row.http_status,
        body_len: 0,
        body_at: 0,
    }
}

/// Response bodies spooled to a temporary file as they arrive, with only each row's metadata in memory, until
/// [`crate::PackageWriter::write_raw_responses`] writes them as `raw_responses.parquet`.
///
/// The file is `<dir>/.raw-spool-<pid>-<n>` (a leading dot: never a tenant directory of a package archive). On
/// Unix it is unlinked as soon as it is open, so nothing is left behind even if the process is killed; elsewhere
/// it is removed when the spool is dropped, including when the run fails.
#[derive(Debug)]
pub struct RawSpool {
    path: PathBuf,
    file: BufWriter<File>,
    /// Where the next body goes: the bytes written so far.
    end: u64,
    /// False after bodies were read back, until the next write seeks back to `end`.
    at_end: bool,
    index: RawIndex,
    body_bytes: u64,
}

/// Tells apart the spools one process creates.
static SPOOLS_CREATED: AtomicU64 = AtomicU64::new(0);

impl RawSpool {
    /// Creates an empty spool file in `dir` (created if missing).
    pub fn create(dir: &Path) -> Result<Self, Error> {
        fs::create_dir_all(dir).map_err(|source| Error::Io { action: "creating", path: dir.to_path_buf(), source })?;
        let (path, file) = loop {
            let n = SPOOLS_CREATED.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".raw-spool-{}-{n}", std::process::id()));
            match OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                // Left by a killed process that had the same id: take the next name.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(source) => return Err(Error::Io { action: "creating the response spool", path, source }),
            }
        };
        #[cfg(unix)]
        fs::remove_file(&path).map_err(|source| Error::Io {
            action: "unlinking the open response spool",
            path: path.clone(),
            source,
        })?;
        Ok(Self {
            path,
            file: BufWriter::with_capacity(SPOOL_BUFFER_BYTES, file),
            end: 0,
            at_end: true,
            index: RawIndex::default(),
            body_bytes: 0,
        })
    }

    /// Adds a row: its body goes to the file. A row whose key (sha256, url) is already spooled is dropped, as
    /// the table's primary key demands (of two such rows, the one the table's sort puts first is kept).
    pub fn push(&mut self, row: RawResponseRow) -> Result<(), Error> {
        let (meta, body) = RawResponseMeta::split(row, self.end);
        let placement = self.index.place(&meta);
        if matches!(placement, Placement::Dropped) {
            return Ok(());
        }
        let write_err = |source| Error::Io { action: "spooling a response body to", path: self.path.clone(), source };
        if !self.at_end {
            self.file.seek(SeekFrom::Start(self.end)).map_err(write_err)?;
        }
        // Until the body is written whole: after a failed write the next one seeks back to `end` first.
        self.at_end = false;
        self.file.write_all(&body).map_err(write_err)?;
        self.at_end = true;
        self.end += meta.body_len;
        if let Placement::Replaces(at) = placement {
            self.body_bytes -= self.index.rows[at].body_len;
        }
        self.body_bytes += meta.body_len;
        self.index.insert(meta, placement);
        Ok(())
    }

    /// Adds every row of `rows` (see [`RawSpool::push`]).
    pub fn extend(&mut self, rows: impl IntoIterator<Item = RawResponseRow>) -> Result<(), Error> {
        rows.into_iter().try_for_each(|row| self.push(row))
    }

    /// Rows spooled (one per key).
    pub fn len(&self) -> usize {
        self.index.rows.len()
    }

    /// True when no row was spooled.
    pub fn is_empty(&self) -> bool {
        self.index.rows.is_empty()
    }

    /// Body bytes of the rows spooled.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// Every spooled row's metadata, without its body, in no particular order.
    pub fn metadata(&self) -> impl Iterator<Item = &RawResponseMeta> {
        self.index.rows.iter()
    }

    /// The spool file (already unlinked on Unix).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the spooled rows as Parquet to `out`, reading the bodies back one batch at a time.
    pub(crate) fn write_parquet<W: Write + Send>(
        &mut self,
        out: W,
        path_for_errors: &Path,
    ) -> Result<WrittenParquet<W>, Error> {
        self.file.flush().map_err(|source| Error::Io {
            action: "spooling a response body to",
            path: self.path.clone(),
            source,
        })?;
        self.at_end = false;
        let bodies = Bodies::Spool { file: self.file.get_mut(), path: &self.path };
        write_raw(&self.index, bodies, out, path_for_errors)
    }
}

impl Drop for RawSpool {
    fn drop(&mut self) {
        // Already gone on Unix; elsewhere the file is removed here (Rust opens files shareable for deletion on
        // Windows, so this works while the handle is still open).
        #[cfg(not(unix))]
        let _ = fs::remove_file(&self.path);
    }
}

/// Where the bodies of a [`RawIndex`]'s rows are.
enum Bodies<'a> {
    /// `body_at` is the position in this slice.
    Rows(&'a [RawResponseRow]),
    /// `body_at` is the offset in this file.
    Spool { file: &'a mut File, path: &'a Path },
}

impl Bodies<'_> {
    fn row(&mut self, meta: &RawResponseMeta) -> Result<RawResponseRow, Error> {
        match self {
            Self::Rows(rows) => Ok(meta.with_body(rows[meta.body_at as usize].body.clone())),
            Self::Spool { file, path } => {
                let mut body = vec![0u8; meta.body_len as usize];
                file.seek(SeekFrom::Start(meta.body_at)).and_then(|_| file.read_exact(&mut body)).map_err(
                    |source| Error::Io {
                        action: "reading a spooled response body from",
                        path: path.to_path_buf(),
                        source,
                    },
                )?;
                Ok(meta.with_body(body))
            }
        }
    }
}

/// Splits rows in write order into batches of at most [`RAW_BATCH_ROWS`] rows and [`RAW_BATCH_BYTES`] body
/// bytes (a larger body alone). Depends on nothing but the rows' body lengths, so the same rows give the same
/// batches.
fn batch_ranges(sorted: &[&RawResponseMeta]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (at, meta) in sorted.iter().enumerate() {
        let full = at - start == RAW_BATCH_ROWS || (at > start && bytes + meta.body_len > RAW_BATCH_BYTES);
        if full {
            ranges.push(start..at);
            (start, bytes) = (at, 0);
        }
        bytes += meta.body_len;
    }
    if start < sorted.len() {
        ranges.push(start..sorted.len());
    }
    ranges
}

/// A Parquet file written: the writer given, the file's SHA-256, bytes and rows.
#[derive(Debug)]
pub(crate) struct WrittenParquet<W> {
    pub out: W,
    pub sha256: String,
    pub bytes: u64,
    pub rows: u64,
    /// Rows and body bytes of each batch of `raw_responses` (each is one row group); what tests count.
    #[cfg_attr(not(test), expect(dead_code, reason = "read by the tests that check the batch bound"))]
    pub batches: Vec<(usize, u64)>,
}

/// Writes plain rows (any order; one row per key is kept, as a spool keeps it) exactly as a spool of the same
/// rows would be written.
pub(crate) fn write_raw_rows<W: Write + Send>(
    rows: &[RawResponseRow],
    out: W,
    path_for_errors: &Path,
) -> Result<WrittenParquet<W>, Error> {
    write_raw(&RawIndex::from_rows(rows), Bodies::Rows(rows), out, path_for_errors)
}

/// The one writer of `raw_responses`: rows in primary-key order, batches cut by [`batch_ranges`], one row group
/// per batch. Only one batch's bodies are read at a time, and flushing each batch as its own row group means
/// the Parquet writer never holds more than one batch encoded; the boundaries depend only on the rows, so the
/// bytes do too.
fn write_raw<W: Write + Send>(
    index: &RawIndex,
    mut bodies: Bodies<'_>,
    out: W,
    path_for_errors: &Path,
) -> Result<WrittenParquet<W>, Error> {
    let table = RawResponseRow::NAME;
    let parquet_err = |source| Error::Parquet { table, path: path_for_errors.to_path_buf(), source };
    let mut writer = ArrowWriter::try_new(HashingWriter::new(out), RawResponseRow::schema(), Some(writer_properties()))
        .map_err(parquet_err)?;
    let sorted = index.sorted();
    let mut batches = Vec::new();
    for range in batch_ranges(&sorted) {
        let rows = sorted[range].iter().map(|meta| bodies.row(meta)).collect::<Result<Vec<_>, _>>()?;
        let batch = RawResponseRow::to_batch(&rows)
            .map_err(|source| Error::Evidence(evidence::Error::Arrow { table, source }))?;
        batches.push((rows.len(), rows.iter().map(|r| r.body.len() as u64).sum()));
        drop(rows);
        writer.write(&batch).map_err(parquet_err)?;
        writer.flush().map_err(parquet_err)?;
    }
    let (out, sha256, bytes) = writer.into_inner().map_err(parquet_err)?.finish();
    Ok(WrittenParquet { out, sha256, bytes, rows: sorted.len() as u64, batches })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PackageWriter;
    use evidence::Tables;

    fn row(sha: &str, url: &str, body: Vec<u8>) -> RawResponseRow {
        RawResponseRow {
            tenant_id: "t1".into(),
            snapshot_id: "20231114T221320Z".into(),
            sha256: sha.into(),
            method: "GET".into(),
            url: url.into(),
            api_version: Some("2024-01-01".into()),
            http_status: 200,
            body,
        }
    }

    /// Rows with distinct keys, bodies of different sizes, given out of key order.
    fn rows(n: usize) -> Vec<RawResponseRow> {
        (0..n)
            .rev()
            .map(|i| {
                row(&format!("{:064x}", i * 7919 % n), &format!("/r/{i}"), vec![b'a' + (i % 26) as u8; 100 + i * 37])
            })
            .collect()
    }

    fn spool_of(dir: &Path, rows: &[RawResponseRow]) -> RawSpool {
        let mut spool = RawSpool::create(dir).unwrap();
        spool.extend(rows.iter().cloned()).unwrap();
        spool
    }

    fn package_with(out: &Path, write: impl FnOnce(&mut PackageWriter)) -> crate::WrittenPackage {
        let mut w = PackageWriter::create(out, "t1", "20231114T221320Z").unwrap();
        write(&mut w);
        let time = "2023-11-14T22:13:20Z".to_string();
        w.write_manifest(crate::CollectionInfo {
            cloud: "AzureCloud".into(),
            scopes: Vec::new(),
            api_versions: Default::default(),
            snapshot_time: time.clone(),
            started_at: time.clone(),
            finished_at: time,
            coverage_summary: Default::default(),
        })
        .unwrap();
        w.commit().unwrap()
    }

    fn spool_files(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".raw-spool-"))
            .collect()
    }

    #[test]
    fn a_spool_and_plain_rows_give_byte_identical_files() {
        let dir = tempfile::tempdir().unwrap();
        // Enough body bytes for more than one batch, so batch boundaries are compared too.
        let mut rows = rows(500);
        rows.extend((0..40u8).map(|i| row(&format!("{i:02x}"), "/big", vec![i; 1024 * 1024])));
        let mut tables = Tables { raw_responses: rows.clone(), ..Tables::default() };
        tables.sort_and_dedup();

        let plain = package_with(&dir.path().join("plain"), |w| w.write_tables(&tables).unwrap());
        // Most rows spooled, some still in the tables (as `import` leaves them): the same file.
        let (spooled_rows, left) = rows.split_at(400);
        let mut spool = spool_of(dir.path(), spooled_rows);
        let rest = Tables { raw_responses: left.to_vec(), ..Tables::default() };
        let spooled = package_with(&dir.path().join("spooled"), |w| w.write_tables_spooled(&rest, &mut spool).unwrap());
        let file = "tables/raw_responses.parquet";
        assert_eq!(fs::read(plain.dir.join(file)).unwrap(), fs::read(spooled.dir.join(file)).unwrap());
        // Every table, in the same order, with the same hashes and row counts.
        assert_eq!(plain.files, spooled.files);
        let raw = plain.files.iter().find(|f| f.table == "raw_responses").unwrap();
        assert_eq!(raw.rows, 540);

        let back = crate::read_table::<RawResponseRow>(&spooled.dir).unwrap();
        assert_eq!(back, tables.raw_responses, "rows read back in primary-key order, bodies exact");
        let report = crate::verify_package(&spooled.dir, &crate::TrustAnchors::default());
        let unexpected: Vec<_> = report.problems_if_unsigned_accepted().collect();
        assert!(unexpected.is_empty(), "{unexpected:?}");
    }

    #[test]
    fn rows_of_a_key_already_spooled_are_dropped_whatever_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let first = row("aa", "/x", b"body".to_vec());
        let mut other_status = first.clone();
        other_status.http_status = 203;
        let kept = row("bb", "/x", b"other".to_vec());
        let mut spool = spool_of(dir.path(), &[other_status.clone(), first.clone(), kept.clone(), first.clone()]);
        assert_eq!(spool.len(), 2);
        assert_eq!(spool.body_bytes(), 4 + 5);
        let mut reversed = spool_of(dir.path(), &[first.clone(), other_status, kept.clone()]);

        let a = package_with(&dir.path().join("a"), |w| w.write_raw_responses(&mut spool).unwrap()).dir;
        let b = package_with(&dir.path().join("b"), |w| w.write_raw_responses(&mut reversed).unwrap()).dir;
        let back = crate::read_table::<RawResponseRow>(&a).unwrap();
        assert_eq!(back, vec![first, kept], "the row the table's sort puts first is kept");
        let file = "tables/raw_responses.parquet";
        assert_eq!(fs::read(a.join(file)).unwrap(), fs::read(b.join(file)).unwrap());
    }

    #[test]
    fn a_body_of_several_mib_round_trips_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let big: Vec<u8> =
            (0..5 * 1024 * 1024 + 17).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let rows = vec![row("01", "/small", b"{}".to_vec()), row("02", "/big", big.clone())];
        let mut spool = spool_of(dir.path(), &rows);
        let pkg = package_with(&dir.path().join("out"), |w| w.write_raw_responses(&mut spool).unwrap()).dir;
        let back = crate::read_table::<RawResponseRow>(&pkg).unwrap();
        assert_eq!(back.len(), 2);
        assert!(back[1].body == big, "the 5 MiB body differs after the round trip");
        // The spool stays usable after writing: a body pushed later lands after the others, not over them.
        spool.push(row("03", "/later", b"later".to_vec())).unwrap();
        let again = package_with(&dir.path().join("again"), |w| w.write_raw_responses(&mut spool).unwrap()).dir;
        let back = crate::read_table::<RawResponseRow>(&again).unwrap();
        assert!(back[1].body == big && back[2].body == b"later");
    }

    #[test]
    fn the_spool_file_is_gone_after_drop_and_never_collides_with_a_package() {
        let dir = tempfile::tempdir().unwrap();
        let first = spool_of(dir.path(), &rows(3));
        let second = RawSpool::create(dir.path()).unwrap();
        assert_ne!(first.path(), second.path());
        let name = first.path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".raw-spool-"), "{name}");
        assert!(PackageWriter::create(dir.path(), &name, "s").is_err(), "a spool name is never a tenant id");
        drop((first, second));
        assert!(spool_files(dir.path()).is_empty(), "left behind: {:?}", spool_files(dir.path()));

        let missing = dir.path().join("not/yet");
        let spool = RawSpool::create(&missing).unwrap();
        drop(spool);
        assert!(spool_files(&missing).is_empty());
    }

    #[test]
    fn writing_200_mib_of_bodies_holds_one_bounded_batch_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = RawSpool::create(dir.path()).unwrap();
        for i in 0..200u32 {
            let mut body = vec![(i % 251) as u8; 1024 * 1024];
            body[..4].copy_from_slice(&i.to_be_bytes());
            spool.push(row(&format!("{i:064x}"), "/blob", body)).unwrap();
        }
        assert_eq!(spool.body_bytes(), 200 * 1024 * 1024);
        let path = dir.path().join("raw_responses.parquet");
        let written = spool.write_parquet(File::create(&path).unwrap(), &path).unwrap();

        let per_batch = (RAW_BATCH_BYTES / (1024 * 1024)) as usize;
        assert_eq!(written.rows, 200);
        assert_eq!(written.batches.len(), 200_usize.div_ceil(per_batch));
        for (rows, bytes) in &written.batches {
            assert!(*rows <= per_batch && *bytes <= RAW_BATCH_BYTES, "a batch of {rows} bodies, {bytes} bytes");
        }
        assert_eq!(written.batches.iter().map(|b| b.0).sum::<usize>(), 200);
        // One row group per batch: the Parquet writer never buffers more than one batch either.
        let reader = parquet::file::reader::SerializedFileReader::new(File::open(&path).unwrap()).unwrap();
        use parquet::file::reader::FileReader;
        let groups: Vec<usize> = reader.metadata().row_groups().iter().map(|g| g.num_rows() as usize).collect();
        assert_eq!(groups, written.batches.iter().map(|b| b.0).collect::<Vec<_>>());
    }

    #[test]
    fn batches_are_cut_by_rows_and_bytes() {
        let meta = |len: u64| RawResponseMeta { body_len: len, ..meta_of(&row("a", "/", Vec::new())) };
        let lens = |metas: &[RawResponseMeta]| batch_ranges(&metas.iter().collect::<Vec<_>>());
        assert!(lens(&[]).is_empty());
        let huge = [meta(1), meta(RAW_BATCH_BYTES + 1), meta(1)];
        assert_eq!(lens(&huge), vec![0..1, 1..2, 2..3], "a body over the bound is a batch of its own");
        let exact = [meta(RAW_BATCH_BYTES / 2), meta(RAW_BATCH_BYTES / 2), meta(0)];
        assert_eq!(lens(&exact), vec![0..3]);
        let many: Vec<RawResponseMeta> = (0..RAW_BATCH_ROWS * 2 + 1).map(|_| meta(0)).collect();
        assert_eq!(
            lens(&many),
            vec![0..RAW_BATCH_ROWS, RAW_BATCH_ROWS..RAW_BATCH_ROWS * 2, RAW_BATCH_ROWS * 2..RAW_BATCH_ROWS * 2 + 1]
        );
    }
}
