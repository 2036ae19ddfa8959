//! The streaming comparison: both snapshots' `cmk_chain` tables are read as record batches in primary-key
//! order (resource id, encryption scope) and merged, so memory is bounded by the batch size and the small
//! tables, not by the number of bindings. Output comes out as record batches of `diff.parquet`.

use std::cmp::Ordering;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;

use crate::Error;
use crate::binding::{Binding, ChainColumns, RowView};
use crate::class::subject;
use crate::classify::{Sides, classify};
use crate::others::{OtherChange, SideTables, Watches, compare, settle};
use crate::output::{BindingRows, OUTPUT_BATCH_ROWS, OutputBuilder, OutputRow, SourceRow};
use crate::side::Side;
use crate::summary::{AttentionRow, Summary};

/// One snapshot as the diff reads it: context, small tables, and a stream of `cmk_chain` batches.
#[derive(Debug)]
pub struct Snapshot<I> {
    /// Tenant id.
    pub tenant_id: String,
    /// Snapshot context.
    pub side: Side,
    /// Vaults, keys, versions, role assignments.
    pub tables: SideTables,
    /// `cmk_chain` batches in file order, projected to [`crate::CHAIN_COLUMNS`] (or wider).
    pub chain: I,
}

struct Cursor<I> {
    name: &'static str,
    batches: I,
    current: Option<ChainColumns>,
    /// Sequence number of `current`.
    seq: u64,
    row: usize,
    /// Key of the last row of the previous batch, to check order across batches.
    last: Option<(String, String)>,
    exhausted: bool,
}

impl<I: Iterator<Item = Result<RecordBatch, ArrowError>>> Cursor<I> {
    fn new(name: &'static str, batches: I) -> Self {
        Self { name, batches, current: None, seq: 0, row: 0, last: None, exhausted: false }
    }

    /// Makes sure the cursor stands on a row, or is exhausted.
    fn fill(&mut self) -> Result<(), Error> {
        while !self.exhausted && self.current.as_ref().is_none_or(|c| self.row >= c.len()) {
            if let Some(c) = &self.current
                && !c.is_empty()
            {
                let r = c.row(c.len() - 1);
                self.last = Some((r.resource_id().to_string(), r.encryption_scope().to_string()));
            }
            match self.batches.next() {
                None => {
                    self.exhausted = true;
                    self.current = None;
                }
                Some(batch) => {
                    let batch = batch.map_err(|source| Error::Read { side: self.name, source })?;
                    let columns =
                        ChainColumns::new(&batch).map_err(|source| Error::Read { side: self.name, source })?;
                    self.current = Some(columns);
                    self.seq += 1;
                    self.row = 0;
                    if let (Some((id, scope)), Some(c)) = (&self.last, &self.current)
                        && !c.is_empty()
                    {
                        let first = c.row(0);
                        check_order(self.name, (id, scope), (first.resource_id(), first.encryption_scope()))?;
                    }
                }
            }
        }
        Ok(())
    }

    fn view(&self) -> Option<RowView<'_>> {
        self.current.as_ref().filter(|c| self.row < c.len()).map(|c| c.row(self.row))
    }

    fn source(&self) -> Option<SourceRow<'_>> {
        self.current.as_ref().filter(|c| self.row < c.len()).map(|c| SourceRow {
            seq: self.seq,
            batch: c.batch(),
            row: self.row,
        })
    }

    fn advance(&mut self) -> Result<(), Error> {
        if let Some(c) = &self.current
            && self.row + 1 < c.len()
        {
            let (this, next) = (c.row(self.row), c.row(self.row + 1));
            check_order(
                self.name,
                (this.resource_id(), this.encryption_scope()),
                (next.resource_id(), next.encryption_scope()),
            )?;
        }
        self.row += 1;
        Ok(())
    }
}

fn check_order(side: &'static str, previous: (&str, &str), next: (&str, &str)) -> Result<(), Error> {
    match previous.cmp(&next) {
        Ordering::Less => Ok(()),
        Ordering::Equal => Err(Error::Duplicate { side, resource_id: next.0.to_string(), scope: next.1.to_string() }),
        Ordering::Greater => Err(Error::NotSorted { side, resource_id: next.0.to_string(), scope: next.1.to_string() }),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Bindings,
    LastBindings,
    Others,
    Done,
}

/// The diff as an iterator of `diff.parquet` record batches: binding rows in key order while both tables
/// stream, then the vault, key version and role assignment rows. Call [`Differ::summary`] when it is done.
pub struct Differ<IB, IA> {
    before: Cursor<IB>,
    after: Cursor<IA>,
    sides: (Side, Side),
    others: Vec<OtherChange>,
    watches: Watches,
    bindings: BindingRows,
    out: OutputBuilder,
    summary: Summary,
    stage: Stage,
}

impl<IB, IA> std::fmt::Debug for Differ<IB, IA> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Differ").field("stage", &self.stage).field("bindings", &self.summary.bindings).finish()
    }
}

impl<IB, IA> Differ<IB, IA>
where
    IB: Iterator<Item = Result<RecordBatch, ArrowError>>,
    IA: Iterator<Item = Result<RecordBatch, ArrowError>>,
{
    /// Prepares the comparison (the small tables are compared now; the bindings as the iterator is pulled).
    pub fn new(before: Snapshot<IB>, after: Snapshot<IA>) -> Self {
        let (others, watches) = compare(&before.tables, &after.tables, (&before.side, &after.side));
        let tenant = if after.tenant_id.is_empty() { before.tenant_id.clone() } else { after.tenant_id.clone() };
        Self {
            bindings: BindingRows::new(&tenant, &before.side.snapshot_id, &after.side.snapshot_id),
            out: OutputBuilder::new(&tenant, &before.side.snapshot_id, &after.side.snapshot_id),
            summary: Summary::new(&tenant, &before.side.snapshot_id, &after.side.snapshot_id),
            before: Cursor::new("before", before.chain),
            after: Cursor::new("after", after.chain),
            sides: (before.side, after.side),
            others,
            watches,
            stage: Stage::Bindings,
        }
    }

    /// The summary so far; complete once the iterator has returned `None`.
    pub fn summary(&self) -> &Summary {
        &self.summary
    }

    /// Takes the summary (complete once the iterator has returned `None`).
    pub fn into_summary(self) -> Summary {
        self.summary
    }

    /// Compares one binding; returns false when both tables are exhausted.
    fn step(&mut self) -> Result<bool, Error> {
        self.before.fill()?;
        self.after.fill()?;
        let sides = Sides { before: &self.sides.0, after: &self.sides.1 };
        let (b, a) = (self.before.view(), self.after.view());
        let order = match (&b, &a) {
            (None, None) => return Ok(false),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(b), Some(a)) => (b.resource_id(), b.encryption_scope()).cmp(&(a.resource_id(), a.encryption_scope())),
        };
        let (b, a) = match order {
            Ordering::Less => (b, None),
            Ordering::Greater => (None, a),
            Ordering::Equal => (b, a),
        };
        let verdict = classify(b.as_ref(), a.as_ref(), sides);
        let Some(key) = a.or(b) else { return Ok(false) };
        if let Some(a) = &a {
            self.watches.observe(&self.others, a);
        }
        let (source_b, source_a) =
            (b.is_some().then(|| self.before.source()).flatten(), a.is_some().then(|| self.after.source()).flatten());
        self.bindings.push(source_b, source_a, &verdict);
        self.summary.binding(verdict.class, verdict.severity, || AttentionRow {
            subject: subject::BINDING.to_string(),
            resource_id: key.resource_id().to_string(),
            encryption_scope: Some(key.encryption_scope().to_string()),
            class: verdict.class.as_str().to_string(),
            severity: verdict.severity,
            changes: verdict.changes.clone(),
        });
        let (advance_b, advance_a) = (b.is_some(), a.is_some());
        if advance_b {
            self.before.advance()?;
        }
        if advance_a {
            self.after.advance()?;
        }
        Ok(true)
    }

    fn emit_others(&mut self) {
        settle(&mut self.others, std::mem::take(&mut self.watches));
        for c in &self.others {
            let row = OutputRow {
                subject: c.subject,
                resource_id: &c.resource_id,
                encryption_scope: None,
                resource_type: Some(&c.resource_type),
                subscription_id: c.subscription_id.as_deref(),
                class: c.kind.as_str(),
                severity: c.severity,
                changes: &c.changes,
                adoption_window_seconds: None,
                new_version_age_seconds: None,
            };
            self.out.append(row, c.before.as_ref(), c.after.as_ref());
            self.summary.other(c.subject, c.kind.as_str(), c.severity, || AttentionRow {
                subject: c.subject.to_string(),
                resource_id: c.resource_id.clone(),
                encryption_scope: None,
                class: c.kind.as_str().to_string(),
                severity: c.severity,
                changes: c.changes.clone(),
            });
        }
        self.summary.finish();
    }

    fn flush(&mut self) -> Result<RecordBatch, Error> {
        self.out.finish().map_err(|source| Error::Output { source })
    }
}

impl<IB, IA> Iterator for Differ<IB, IA>
where
    IB: Iterator<Item = Result<RecordBatch, ArrowError>>,
    IA: Iterator<Item = Result<RecordBatch, ArrowError>>,
{
    type Item = Result<RecordBatch, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.stage {
                Stage::Done => return None,
                Stage::Bindings => {
                    match self.step() {
                        Ok(true) => {}
                        Ok(false) => self.stage = Stage::LastBindings,
                        Err(e) => {
                            self.stage = Stage::Done;
                            return Some(Err(e));
                        }
                    }
                    if self.bindings.len() >= OUTPUT_BATCH_ROWS {
                        return Some(self.bindings.finish().map_err(|source| Error::Output { source }));
                    }
                }
                Stage::LastBindings => {
                    self.stage = Stage::Others;
                    if !self.bindings.is_empty() {
                        return Some(self.bindings.finish().map_err(|source| Error::Output { source }));
                    }
                }
                Stage::Others => {
                    self.emit_others();
                    self.stage = Stage::Done;
                    if !self.out.is_empty() {
                        return Some(self.flush());
                    }
                }
            }
        }
    }
}
